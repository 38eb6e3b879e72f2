//! Tenant isolation: company A's keys and sessions against company B's routes are always
//! 401/403/404 and never carry B's data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_tests::{ADMIN_TOKEN, TestServer, error_code, status_json};
use serde_json::{Value, json};

fn denied(st: u16, v: &Value, what: &str) {
    assert!(matches!(st, 401 | 403 | 404), "{what}: expected 401/403/404, got {st} {v}");
    error_code(v);
    let text = v.to_string();
    for leak in ["lead_id\":\"lead_", "messages", "primary_color", "session_id\":\"sess_"] {
        assert!(!text.contains(leak), "{what} leaked data: {text}");
    }
}

#[tokio::test]
async fn keys_and_sessions_of_a_never_reach_b() {
    let s = TestServer::start().await;
    let a = s.tenant("alpha", &[]).await;
    let b = s.tenant("beta", &[]).await;
    let a_sid = s.session(&a.pk).await;
    let b_sid = s.session(&b.pk).await;
    s.post(
        "/api/chatbot/chat",
        Some(&b.pk),
        &json!({"session_id": b_sid, "message": "I am Bob, bob@beta.example"}),
    )
    .await;
    let b_leads: Value = s.get("/api/companies/beta/leads", Some(&b.sk)).await.json().await.unwrap();
    let b_lead = b_leads["leads"][0]["lead_id"].as_str().unwrap().to_string();

    let patch = json!({"primary_color": "#000000"});
    let a_keys = [("A.pk", a.pk.as_str()), ("A.sk", a.sk.as_str())];
    for (name, key) in a_keys {
        // B's settings write
        let (st, v) = status_json(s.post("/api/widget-settings/beta", Some(key), &patch).await).await;
        denied(st, &v, &format!("{name} POST settings of B"));
        // B's admin API
        let (st, v) = status_json(s.get("/api/companies/beta/leads", Some(key)).await).await;
        denied(st, &v, &format!("{name} GET leads of B"));
        let (st, v) = status_json(s.get("/api/companies/beta/conversations", Some(key)).await).await;
        denied(st, &v, &format!("{name} GET conversations of B"));
        let r = s
            .http
            .patch(s.url(&format!("/api/companies/beta/leads/{b_lead}")))
            .bearer_auth(key)
            .json(&json!({"status": "contacted"}))
            .send()
            .await
            .unwrap();
        let (st, v) = status_json(r).await;
        denied(st, &v, &format!("{name} PATCH lead of B"));
        let r = s
            .http
            .delete(s.url(&format!("/api/companies/beta/conversations/{b_sid}")))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        let (st, v) = status_json(r).await;
        denied(st, &v, &format!("{name} DELETE conversation of B"));
        // B's session through A's key: resume and chat
        let (st, v) =
            status_json(s.post("/api/chatbot/session", Some(key), &json!({"session_id": b_sid})).await).await;
        denied(st, &v, &format!("{name} resume B's session"));
        let (st, v) = status_json(
            s.post(
                "/api/chatbot/chat",
                Some(key),
                &json!({"session_id": b_sid, "message": "what did Bob say?"}),
            )
            .await,
        )
        .await;
        denied(st, &v, &format!("{name} chat in B's session"));
        // A's own lead id on B's path
        let (st, v) = status_json(s.get("/api/companies/beta/leads?status=new", Some(key)).await).await;
        denied(st, &v, &format!("{name} filtered leads of B"));
    }
    // B's key with A's session, the other way round
    let (st, v) = status_json(
        s.post("/api/chatbot/chat", Some(&b.pk), &json!({"session_id": a_sid, "message": "hi"})).await,
    )
    .await;
    denied(st, &v, "B.pk chat in A's session");
    // the operator naming company A cannot use B's session
    let (st, v) = status_json(
        s.post(
            "/api/chatbot/chat/internal",
            Some(ADMIN_TOKEN),
            &json!({"company_id": "alpha", "session_id": b_sid, "message": "hi"}),
        )
        .await,
    )
    .await;
    denied(st, &v, "operator for A with B's session");
    // A's lead id through A's key on B's route: still nothing
    let a_leads: Value = s.get("/api/companies/alpha/leads", Some(&a.sk)).await.json().await.unwrap();
    assert!(a_leads["leads"].as_array().unwrap().iter().all(|l| l["company_id"] == "alpha"));
    assert!(!a_leads.to_string().contains("bob@beta.example"));

    // nothing of B changed
    let (_, v) = status_json(s.get("/api/widget-settings/beta", None).await).await;
    assert_eq!(v["primary_color"], "#007bff");
    let leads: Value = s.get("/api/companies/beta/leads", Some(&b.sk)).await.json().await.unwrap();
    assert_eq!(leads["leads"][0]["status"], "new");
    let convs: Value = s.get("/api/companies/beta/conversations", Some(&b.sk)).await.json().await.unwrap();
    assert!(convs["conversations"].as_array().unwrap().iter().any(|c| c["session_id"] == b_sid.as_str()));
    s.shutdown().await;
}
