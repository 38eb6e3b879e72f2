//! Visitor identity on partner chat (issue 12): a client's `user_id` is a label, never a key to
//! a conversation. Visitor tokens continue a conversation (stored hashed, per company, sliding
//! expiry, surviving restarts); identity secrets let an integrator's backend bind a known user;
//! leads start only with contact details; new conversations are capped per company.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::auth::{KeyKind, hash_key, identity_signature};
use chatbot_core::lead::LeadFilter;
use chatbot_core::{
    AiConfig, ChatEvent, ChatInput, ChatReply, Chatbot, ClientInfo, Config, Error, NewCompany, PartnerChat,
    Role, TenantContext,
};
use futures::StreamExt as _;

async fn bot_at(dir: &std::path::Path) -> Chatbot {
    let bot = Chatbot::builder().config(Config::offline(dir.to_path_buf())).build().await.unwrap();
    bot.seed_demo().await.unwrap();
    bot
}

fn say(message: &str, user_id: &str, token: Option<&str>) -> PartnerChat {
    PartnerChat {
        user_id: Some(user_id.into()),
        visitor_token: token.map(str::to_string),
        ..PartnerChat::new(message)
    }
}

async fn chat(bot: &Chatbot, ctx: &TenantContext, input: PartnerChat) -> ChatReply {
    bot.partner_chat(ctx, input).await.unwrap()
}

async fn admin_leads(bot: &Chatbot, company: &str) -> Vec<chatbot_core::lead::Lead> {
    let op = bot.operator_context(company).await.unwrap();
    bot.list_leads(&op, &LeadFilter::default()).await.unwrap()
}

/// The reproduction: a second caller reusing `visitor-1` learns nothing of the first
/// and changes nothing of theirs.
#[tokio::test]
async fn a_reused_user_id_learns_nothing_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    let ctx = bot.public_context("123").await.unwrap();
    let first = chat(
        &bot,
        &ctx,
        say("Hi, my name is Jane Doe and I would like a quote for a sofa", "visitor-1", None),
    )
    .await;
    let r2 = chat(&bot, &ctx, say("please call me", "visitor-1", None)).await;
    let r3 = chat(&bot, &ctx, say("my email is mallory@evil.example", "visitor-1", None)).await;
    for r in [&r2, &r3] {
        assert!(!r.message.to_lowercase().contains("jane"), "{}", r.message);
        assert_ne!(r.session_id, first.session_id, "a new conversation each time");
        assert_eq!(r.user_id, "visitor-1", "the label is kept");
        let l = r.lead.as_ref().expect("contact request / details make a lead");
        assert_ne!(l.name, "Jane Doe");
    }
    let leads = admin_leads(&bot, "123").await;
    assert!(
        !leads.iter().any(|l| l.name.contains("Jane") && l.email.contains("mallory")),
        "no hijacked lead: {leads:?}"
    );
    let jane = leads.iter().find(|l| l.name == "Jane Doe").unwrap();
    assert!(jane.email.is_empty() && !jane.is_lead_ready, "Jane's lead untouched: {jane:?}");
    assert!(leads.iter().all(|l| l.user_id == "visitor-1"), "user_id kept as the label");
}

/// The token continues the conversation, plain and streamed; it is issued once per
/// conversation, stored only hashed.
#[tokio::test]
async fn the_visitor_token_continues_the_conversation_json_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    let ctx = bot.public_context("123").await.unwrap();
    let r1 = chat(&bot, &ctx, say("Hi, I'm Jane Doe. Do you ship to Belgium?", "visitor-1", None)).await;
    let token = r1.visitor_token.clone().unwrap();
    assert!(token.starts_with("vt_") && token.len() == 46, "{token}");
    let stored = bot.store_unchecked().find_visitor_token("123", &hash_key(&token)).await.unwrap().unwrap();
    assert_eq!((stored.session_id.as_str(), stored.user_id.as_str()), (r1.session_id.as_str(), "visitor-1"));
    assert_ne!(stored.token_hash, token, "stored hashed");

    // Plain: same conversation, same token, the name given earlier in it may be used.
    let r2 = chat(&bot, &ctx, say("my email is jane@example.com", "someone-else", Some(&token))).await;
    assert_eq!(
        (r2.session_id.as_str(), r2.visitor_token.as_deref()),
        (r1.session_id.as_str(), Some(token.as_str()))
    );
    assert_eq!(r2.user_id, "visitor-1", "the conversation's label, not the new user_id");
    assert!(r2.lead.as_ref().unwrap().is_lead_ready);
    assert!(r2.message.contains("Jane Doe"), "{}", r2.message);

    // Streamed: the done event carries the token and the same conversation.
    let mut stream = bot.partner_chat_stream(&ctx, say("thanks!", "visitor-1", Some(&token))).await.unwrap();
    let mut done = None;
    while let Some(ev) = stream.next().await {
        match ev {
            ChatEvent::Done(r) => done = Some(r),
            ChatEvent::Error(e) => panic!("{e}"),
            ChatEvent::Delta(_) => {}
        }
    }
    let done = done.unwrap();
    assert_eq!(
        (done.session_id.as_str(), done.visitor_token.as_deref()),
        (r1.session_id.as_str(), Some(token.as_str()))
    );
    let conv = bot.store_unchecked().get_conversation("123", &r1.session_id).await.unwrap().unwrap();
    assert_eq!(conv.messages.iter().filter(|m| m.role == Role::User).count(), 3);
    assert_eq!(admin_leads(&bot, "123").await.len(), 1);

    // A new stream without a token: a new conversation whose done event has its own token.
    let mut stream = bot.partner_chat_stream(&ctx, PartnerChat::new("Hello")).await.unwrap();
    let mut fresh = None;
    while let Some(ev) = stream.next().await {
        if let ChatEvent::Done(r) = ev {
            fresh = Some(r);
        }
    }
    let fresh = fresh.unwrap();
    assert_ne!(fresh.session_id, r1.session_id);
    assert!(fresh.visitor_token.is_some_and(|t| t != token));
}

/// Company A's token on company B starts a new conversation at B and touches nothing of A's.
#[tokio::test]
async fn a_token_of_another_company_starts_a_new_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    bot.create_company(NewCompany {
        company_id: "b".into(),
        company_name: "B".into(),
        email: "o@b.example".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let a = bot.public_context("123").await.unwrap();
    let b = bot.public_context("b").await.unwrap();
    let ra = chat(&bot, &a, say("I'm Jane Doe, jane@example.com", "v", None)).await;
    let token = ra.visitor_token.unwrap();
    let rb = chat(&bot, &b, say("please call me", "v", Some(&token))).await;
    assert_ne!(rb.session_id, ra.session_id);
    assert_ne!(rb.visitor_token.as_deref(), Some(token.as_str()), "B issues its own token");
    assert!(!rb.message.contains("Jane"), "{}", rb.message);
    assert!(bot.store_unchecked().find_visitor_token("b", &hash_key(&token)).await.unwrap().is_none());
    let conv = bot.store_unchecked().get_conversation("123", &ra.session_id).await.unwrap().unwrap();
    assert_eq!(conv.messages.len(), 2, "A's conversation untouched");
}

/// Tokens live in the database: a new `Chatbot` on the same SQLite file (a restart, or another
/// instance) continues the conversation.
#[tokio::test]
async fn a_token_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (token, sid) = {
        let bot = bot_at(dir.path()).await;
        let ctx = bot.public_context("123").await.unwrap();
        let r = chat(&bot, &ctx, say("Do you ship to Belgium?", "v", None)).await;
        (r.visitor_token.unwrap(), r.session_id)
    };
    let bot = Chatbot::builder().config(Config::offline(dir.path().to_path_buf())).build().await.unwrap();
    let ctx = bot.public_context("123").await.unwrap();
    let r = chat(&bot, &ctx, say("And to Germany?", "v", Some(&token))).await;
    assert_eq!(r.session_id, sid);
    let conv = bot.store_unchecked().get_conversation("123", &sid).await.unwrap().unwrap();
    assert_eq!(conv.messages.len(), 4);
}

/// An expired token starts a new conversation (not an error); a malformed one is a 422 naming
/// `visitor_token`; an unknown well-formed one starts a new conversation.
#[tokio::test]
async fn expired_unknown_and_malformed_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    let ctx = bot.public_context("123").await.unwrap();
    let r = chat(&bot, &ctx, say("Do you ship to Belgium?", "v", None)).await;
    let token = r.visitor_token.unwrap();
    // Still valid: continues, and a use slides nothing backwards.
    assert_eq!(chat(&bot, &ctx, say("ok", "v", Some(&token))).await.session_id, r.session_id);
    // Expire it in the store (as 30 idle days would).
    let past = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    let store = bot.store_unchecked();
    assert!(store.touch_visitor_token("123", &hash_key(&token), past, past).await.unwrap());
    let again = chat(&bot, &ctx, say("hello again", "v", Some(&token))).await;
    assert_ne!(again.session_id, r.session_id, "an expired token starts a new conversation");
    assert_ne!(again.visitor_token.as_deref(), Some(token.as_str()));

    let unknown = chatbot_core::auth::generate_visitor_token();
    let fresh = chat(&bot, &ctx, say("hi", "v", Some(&unknown))).await;
    assert_ne!(fresh.session_id, r.session_id);
    for bad in ["nope", "vt_short", &format!("{token}x"), &format!("pk_{}", &token[3..])] {
        let e = bot.partner_chat(&ctx, say("hi", "v", Some(bad))).await.unwrap_err();
        assert!(matches!(e, Error::Invalid { ref field, .. } if field == "visitor_token"), "{bad}: {e}");
    }
    // An empty token counts as none.
    assert!(bot.partner_chat(&ctx, say("hi", "v", Some("  "))).await.is_ok());

    // Deleting a conversation deletes its tokens: the next request starts afresh.
    let r = chat(&bot, &ctx, say("Do you ship to Belgium?", "v", None)).await;
    let token = r.visitor_token.unwrap();
    let op = bot.operator_context("123").await.unwrap();
    bot.delete_conversation(&op, &r.session_id).await.unwrap();
    assert!(bot.store_unchecked().find_visitor_token("123", &hash_key(&token)).await.unwrap().is_none());
    let after = chat(&bot, &ctx, say("hello?", "v", Some(&token))).await;
    assert_ne!(after.session_id, r.session_id);
}

/// `chatbot keys create ID --kind identity`: signed user ids continue their conversation (and
/// get a token too); a wrong or missing signature is refused; two secrets at once (rotation).
#[tokio::test]
async fn identity_signatures_bind_a_user_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    let op = bot.operator_context("123").await.unwrap();
    let ctx = bot.public_context("123").await.unwrap();
    let signed = |m: &str, user: &str, sig: &str| PartnerChat {
        user_id: Some(user.into()),
        user_signature: Some(sig.into()),
        ..PartnerChat::new(m)
    };
    // No secret yet: a signature cannot be checked.
    let e = bot.partner_chat(&ctx, signed("hi", "crm-42", &"0".repeat(64))).await.unwrap_err();
    assert!(matches!(e, Error::Unauthorized(ref m) if m.contains("identity secret")), "{e}");

    let old = bot.create_key(&op, KeyKind::Identity).await.unwrap();
    assert!(old.token.starts_with("idsec_"));
    let sig = identity_signature(&old.token, "crm-42");
    let r1 = chat(&bot, &ctx, signed("Hi, I'm Jane Doe. Do you ship to Belgium?", "crm-42", &sig)).await;
    assert_eq!((r1.session_id.as_str(), r1.user_id.as_str()), ("pc_crm-42", "crm-42"));
    assert!(r1.visitor_token.is_some(), "signed requests get a token too");
    // Another device of the same user (signed, no token) continues the conversation.
    let r2 = chat(&bot, &ctx, signed("my email is jane@example.com", "crm-42", &sig)).await;
    assert_eq!(r2.session_id, r1.session_id);
    assert!(r2.lead.unwrap().is_lead_ready);

    // Wrong signatures: another user's, a forged one, an unsigned claim.
    for bad in [identity_signature(&old.token, "crm-43"), "00".repeat(32), "not hex".into(), String::new()] {
        let e = bot.partner_chat(&ctx, signed("hi", "crm-42", &bad)).await.unwrap_err();
        assert!(matches!(e, Error::Unauthorized(ref m) if m.contains("user_signature")), "{bad}: {e}");
    }
    let e = bot
        .partner_chat(&ctx, PartnerChat { user_signature: Some(sig.clone()), ..PartnerChat::new("hi") })
        .await
        .unwrap_err();
    // a signature of no user id cannot verify: the same 401 as a wrong one
    assert!(matches!(e, Error::Unauthorized(ref m) if m.contains("user_signature")), "{e}");
    let unsigned = chat(&bot, &ctx, say("hi", "crm-42", None)).await;
    assert_ne!(unsigned.session_id, r1.session_id, "the bare user id opens nothing");

    // Rotation: a second secret works alongside; a third is refused until one is revoked.
    let new = bot.create_key(&op, KeyKind::Identity).await.unwrap();
    let r3 = chat(&bot, &ctx, signed("thanks", "crm-42", &identity_signature(&new.token, "crm-42"))).await;
    assert_eq!(r3.session_id, r1.session_id);
    let third = bot.create_key(&op, KeyKind::Identity).await;
    assert!(matches!(third, Err(Error::Conflict(_))), "{third:?}");
    let listed = bot.list_keys(&op).await.unwrap();
    let ids: Vec<_> = listed.iter().filter(|k| k.kind == KeyKind::Identity).collect();
    assert_eq!(ids.len(), 2, "identity secrets are listed: {listed:?}");
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(!shown.contains(&old.token) && !shown.contains(&new.token), "listings never show a secret");
    bot.revoke_key(&old.record.key_id).await.unwrap();
    let e = bot.partner_chat(&ctx, signed("hi", "crm-42", &sig)).await.unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)), "a revoked secret's signature is refused");
    bot.create_key(&op, KeyKind::Identity).await.unwrap();
}

/// Leads start when the visitor gives contact details or asks for contact, not for every hello.
#[tokio::test]
async fn anonymous_hellos_make_no_leads() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    let ctx = bot.public_context("123").await.unwrap();
    for i in 0..12 {
        chat(&bot, &ctx, say("Hello", &format!("v{i}"), None)).await;
    }
    let r = chat(&bot, &ctx, say("Do you ship to Belgium?", "v", None)).await;
    assert!(r.lead.is_none());
    assert!(admin_leads(&bot, "123").await.is_empty(), "13 anonymous requests, no lead");
    let token = r.visitor_token.unwrap();
    let r = chat(&bot, &ctx, say("please call me back", "v", Some(&token))).await;
    let lead = r.lead.unwrap();
    assert_eq!(lead.name, "Anonymous");
    let r = chat(&bot, &ctx, say("I'm Piet, +31 6 12345678", "v", Some(&token))).await;
    assert_eq!(r.lead.unwrap().lead_id, lead.lead_id, "the lead keeps accumulating");
    let leads = admin_leads(&bot, "123").await;
    assert_eq!(leads.len(), 1);
    assert!(leads[0].is_lead_ready && leads[0].message.contains("Belgium"), "{:?}", leads[0]);
}

/// The per-company cap on new conversations: 429 (RateLimited) past it; continuing
/// conversations and the operator's terminal chat are not counted.
#[tokio::test]
async fn new_conversations_are_capped_per_company() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    let op = bot.operator_context("123").await.unwrap();
    let bad = AiConfig { max_new_conversations_per_minute: Some(0), ..AiConfig::default() };
    let e = bot.set_ai_config(&op, &bad).await.unwrap_err();
    assert!(
        matches!(e, Error::Invalid { ref field, .. } if field == "ai_config.max_new_conversations_per_minute")
    );
    let patch =
        chatbot_core::AiConfigPatch { max_new_conversations_per_minute: Some(2), ..Default::default() };
    bot.update_ai_config(&op, &patch).await.unwrap();
    let ctx = bot.public_context("123").await.unwrap();
    let r = chat(&bot, &ctx, PartnerChat::new("Hello")).await;
    chat(&bot, &ctx, PartnerChat::new("Hello")).await;
    let e = bot.partner_chat(&ctx, PartnerChat::new("Hello")).await.unwrap_err();
    assert!(matches!(e, Error::RateLimited { retry_after } if retry_after.as_secs() >= 1), "{e}");
    // New sessions count too; the operator's own chat does not.
    let e = bot.open_session(&ctx, None, None, ClientInfo::default()).await.unwrap_err();
    assert!(matches!(e, Error::RateLimited { .. }), "{e}");
    let s = bot.open_session(&op, Some("terminal".into()), None, ClientInfo::default()).await.unwrap();
    let input =
        ChatInput { session_id: s.session_id, message: "Hello".into(), client: ClientInfo::default() };
    bot.chat(&op, input).await.unwrap();
    // A continuing conversation is not new.
    let again = chat(&bot, &ctx, say("and shipping?", "x", r.visitor_token.as_deref())).await;
    assert_eq!(again.session_id, r.session_id);
}

/// The session route answers with the visitor-safe lead view only.
#[tokio::test]
async fn the_session_reply_shows_only_the_visitor_safe_lead() {
    let dir = tempfile::tempdir().unwrap();
    let bot = bot_at(dir.path()).await;
    let ctx = bot.public_context("123").await.unwrap();
    let s = bot.open_session(&ctx, Some("v".into()), None, ClientInfo::default()).await.unwrap();
    let input = ChatInput {
        session_id: s.session_id.clone(),
        message: "I'm Jane Doe, jane@example.com. Do you ship to Belgium?".into(),
        client: ClientInfo::default(),
    };
    let r = bot.chat(&ctx, input).await.unwrap();
    assert!(r.visitor_token.is_none(), "sessions have their own token");
    let v = serde_json::to_value(r.lead.unwrap()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["email", "is_lead_ready", "lead_id", "name", "phone", "source", "status"]);
    assert_eq!((v["name"].as_str(), v["email"].as_str()), (Some("Jane Doe"), Some("jane@example.com")));
}
