//! Load and isolation, small: 50 concurrent sessions in each of 3 companies, 4 messages each,
//! over real TCP against the server; then everything stored is read back with the operator token:
//! no error, no lost, duplicated or reordered message, nothing in another company's or session's
//! conversation, one lead per session with only its own e-mail. (The full-size run, 1,000
//! sessions across 10 companies against the release build, is `bench/load/run.sh`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::AiConfigPatch;
use chatbot_tests::load::{self, Plan};
use chatbot_tests::{ADMIN_TOKEN, TestServer};

const COMPANIES: usize = 3;
const SESSIONS: usize = 50;
const MESSAGES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sessions_across_companies_lose_and_mix_nothing() {
    let s = TestServer::start().await;
    let mut tenants = Vec::new();
    for c in 0..COMPANIES {
        let id = format!("loadco{c}");
        let t = s.tenant(&id, &[]).await;
        // Every client is 127.0.0.1: raise the per-IP limit for the run, as the benchmark does.
        let ctx = s.bot.operator_context(&id).await.unwrap();
        let patch = AiConfigPatch { rate_limit_per_ip: Some(1_000_000), ..AiConfigPatch::default() };
        s.bot.set_ai_config(&ctx, &patch.apply_to(&ctx.company().ai_config)).await.unwrap();
        tenants.push((id, t.pk));
    }
    let plan = Plan {
        base: s.base.clone(),
        admin_token: ADMIN_TOKEN.into(),
        tenants,
        sessions_per_company: SESSIONS,
        messages_per_session: MESSAGES,
    };
    let outcome = load::run(&plan).await;
    assert!(
        outcome.errors.is_empty(),
        "{} errors, first: {:?}",
        outcome.errors.len(),
        &outcome.errors[..5.min(outcome.errors.len())]
    );
    assert_eq!(outcome.sessions.len(), COMPANIES * SESSIONS);
    assert!(outcome.sessions.iter().all(|l| l.turns.len() == MESSAGES));
    let distinct: std::collections::HashSet<&str> =
        outcome.sessions.iter().map(|l| l.session_id.as_str()).collect();
    assert_eq!(distinct.len(), COMPANIES * SESSIONS, "every session has its own id");

    let check = load::verify(&plan, &outcome).await;
    assert!(
        check.problems.is_empty(),
        "{} problems, first: {:#?}",
        check.problems.len(),
        &check.problems[..5.min(check.problems.len())]
    );
    assert_eq!(check.conversations, COMPANIES * SESSIONS);
    assert_eq!(check.user_messages, COMPANIES * SESSIONS * MESSAGES);
    assert_eq!(check.replies, COMPANIES * SESSIONS * MESSAGES);
    assert_eq!(check.leads, COMPANIES * SESSIONS);
    s.shutdown().await;
}

/// The checker itself finds what it must: a message moved into another session, a lost reply and
/// a conversation listed under the wrong company (so a clean run above means something).
#[tokio::test]
async fn the_checker_finds_lost_duplicated_and_misplaced_messages() {
    let s = TestServer::start().await;
    let a = s.tenant("chka", &[]).await;
    let b = s.tenant("chkb", &[]).await;
    let plan = Plan {
        base: s.base.clone(),
        admin_token: ADMIN_TOKEN.into(),
        tenants: vec![("chka".into(), a.pk.clone()), ("chkb".into(), b.pk.clone())],
        sessions_per_company: 2,
        messages_per_session: 2,
    };
    let outcome = load::run(&plan).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert!(load::verify(&plan, &outcome).await.problems.is_empty());

    // A message of chka's session 0 said in chka's session 1: misplaced.
    let s1 = outcome.sessions.iter().find(|l| l.company == "chka" && l.index == 1).unwrap();
    let text = load::message_text("chka", 0, 1);
    let r = s
        .post(
            "/api/chatbot/chat",
            Some(&a.pk),
            &serde_json::json!({"session_id": s1.session_id, "message": text}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let problems = load::verify(&plan, &outcome).await.problems;
    assert!(
        problems.iter().any(|p| p.contains("misplaced") && p.contains("zz-chka-s0-m1-zz")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("chka session 1: 6 messages stored, 4 acknowledged")),
        "{problems:#?}"
    );

    // A reply the client was given that is not stored: lost.
    let mut forged = load::run(&Plan { tenants: vec![("chkb".into(), b.pk.clone())], ..plan.clone() }).await;
    forged.sessions[0].turns.push(("never sent".into(), "never answered".into()));
    let only_b = Plan { tenants: vec![("chkb".into(), b.pk.clone())], ..plan.clone() };
    let problems = load::verify(&only_b, &forged).await.problems;
    assert!(
        problems.iter().any(|p| p.contains("chkb session 0: 4 messages stored, 6 acknowledged")),
        "{problems:#?}"
    );

    // chkb's sessions read as if they were chka's: every conversation is misplaced.
    let mut swapped = forged;
    for l in &mut swapped.sessions {
        l.company = "chka".into();
    }
    let problems = load::verify(&only_b, &swapped).await.problems;
    assert!(problems.iter().any(|p| p.contains("listed under chkb")), "{problems:#?}");
    s.shutdown().await;
}
