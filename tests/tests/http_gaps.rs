//! The gap report through HTTP: `GET /api/companies/{companyId}/gaps` with the secret key or
//! the operator token (a publishable key, an owner token, a visitor token, none: 401; another
//! company's key: 403; an unknown company: 404); `since` and `limit` parsed strictly (422 naming
//! the field, never a 500); the JSON as docs/openapi.yaml describes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_tests::{ADMIN_TOKEN, TestServer, encode_segment, error_code, status_json};
use serde_json::{Value, json};

async fn say(s: &TestServer, message: &str) -> Value {
    let (st, v) =
        status_json(s.post("/api/partner-chat/123", None, &json!({ "message": message })).await).await;
    assert_eq!(st, 200, "{v}");
    v
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn the_gap_report_groups_unanswered_questions_for_the_company_only() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let acme = s.tenant("acme", &[]).await;
    say(&s, "Do you have a student discount?").await;
    say(&s, "What are your opening hours?").await;
    say(&s, "Are there discounts for students?").await;
    say(&s, "Do you offer a loyalty programme?").await;

    let r = s.get("/api/companies/123/gaps", Some(&t.sk)).await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (st, v) = status_json(r).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(keys(&v), ["company_id", "gaps", "grouping", "groups", "since", "turns"], "{v}");
    assert_eq!((v["company_id"].as_str(), v["grouping"].as_str()), (Some("123"), Some("lexical")));
    assert_eq!((v["turns"].as_u64(), v["gaps"].as_u64()), (Some(4), Some(3)));
    let since = chrono::DateTime::parse_from_rfc3339(v["since"].as_str().unwrap()).unwrap();
    let week = chrono::Utc::now() - chrono::TimeDelta::days(7);
    assert!((since.to_utc() - week).num_seconds().abs() < 60, "default window 7d: {since}");
    let groups = v["groups"].as_array().unwrap();
    let counts: Vec<u64> = groups.iter().map(|g| g["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [2, 1], "{v}");
    let g = &groups[0];
    assert_eq!(keys(g), ["count", "examples", "id", "last_seen", "questions", "reasons"], "{g}");
    assert_eq!(g["id"], 1);
    assert_eq!(g["reasons"], json!(["no_knowledge"]));
    assert_eq!(
        g["questions"],
        json!(["Are there discounts for students?", "Do you have a student discount?"])
    );
    assert_eq!(groups[1]["questions"], json!(["Do you offer a loyalty programme?"]));

    // The operator token too; limit and since.
    let (st, v) =
        status_json(s.get("/api/companies/123/gaps?since=24h&limit=1", Some(ADMIN_TOKEN)).await).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["groups"].as_array().unwrap().len(), 1);
    for ok in ["30m", "3650d", "2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01T00%3A00%3A00%2B01%3A00", ""]
    {
        let (st, v) =
            status_json(s.get(&format!("/api/companies/123/gaps?since={ok}"), Some(&t.sk)).await).await;
        assert_eq!(st, 200, "since={ok}: {v}");
    }
    let (_, v) = status_json(s.get("/api/companies/123/gaps?limit=", Some(&t.sk)).await).await;
    assert_eq!(v["groups"].as_array().unwrap().len(), 2, "an empty limit takes the default");

    // Another company's report is its own (empty), and its key cannot read 123's.
    let (st, v) = status_json(s.get("/api/companies/acme/gaps", Some(&acme.sk)).await).await;
    assert_eq!((st, v["groups"].clone(), v["turns"].as_u64()), (200, json!([]), Some(0)), "{v}");
    let (st, v) = status_json(s.get("/api/companies/123/gaps", Some(&acme.sk)).await).await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = status_json(s.get("/api/companies/nope/gaps", Some(ADMIN_TOKEN)).await).await;
    assert_eq!(st, 404, "{v}");
    let (st, _) = status_json(s.get("/api/companies/nope/gaps", Some(&acme.sk)).await).await;
    assert_eq!(st, 404, "an unknown company is 404 for a valid key too");
}

#[tokio::test]
async fn only_the_secret_key_or_the_operator_reads_the_gap_report() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let reply = say(&s, "Do you have a student discount?").await;
    let visitor = reply["visitor_token"].as_str().unwrap().to_string();
    let (st, v) =
        status_json(s.post("/api/widget-settings/123/owner-token", Some(&t.sk), &json!({})).await).await;
    assert_eq!(st, 200, "{v}");
    let owner = v["token"].as_str().unwrap().to_string();
    for (who, token) in [
        ("publishable key", Some(t.pk.as_str())),
        ("owner token", Some(owner.as_str())),
        ("visitor token", Some(visitor.as_str())),
        ("garbage", Some("sk_not-a-key")),
        ("none", None),
    ] {
        let (st, v) = status_json(s.get("/api/companies/123/gaps", token).await).await;
        assert_eq!(st, 401, "{who}: {v}");
        assert!(v.get("groups").is_none(), "{who}: {v}");
    }
}

#[tokio::test]
async fn hostile_since_and_limit_are_clear_4xx() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    for bad in [
        "999999999999d",
        "99999999999999999999999999999999d",
        "12345678d",
        "-7d",
        "7w",
        "7",
        "d",
        "2026-13-01",
        "1d1h",
        "🙂",
        "７d",
        "١d",
        "7d\u{0}",
        "%00",
        "%C3%28",
        &"9".repeat(5000),
        &"é".repeat(100),
    ] {
        let q = if bad.starts_with('%') { bad.to_string() } else { encode_segment(bad) };
        let r = s.get(&format!("/api/companies/123/gaps?since={q}"), Some(&t.sk)).await;
        let (st, v) = status_json(r).await;
        assert!(st == 422 || st == 400, "since={bad:?}: {st} {v}");
        assert_eq!(v["error"]["field"].as_str(), Some("since"), "since={bad:?}: {v}");
        assert!(!error_code(&v).is_empty());
    }
    // Further back than anything is kept, or a start in the future: a window, not an error.
    for fine in ["9999999d", "2999-01-01", "1000-01-01T00:00:00Z"] {
        let (st, v) = status_json(
            s.get(&format!("/api/companies/123/gaps?since={}", encode_segment(fine)), Some(&t.sk)).await,
        )
        .await;
        assert_eq!(st, 200, "since={fine:?}: {v}");
    }
    let (st, _) = status_json(s.get("/api/companies/123/gaps?since=1d&since=2d", Some(&t.sk)).await).await;
    assert_eq!(st, 422, "given twice");
    for bad in ["0", "501", "-1", "1.5", "abc", "99999999999999999999", "%F0%9F%99%82"] {
        let (st, v) =
            status_json(s.get(&format!("/api/companies/123/gaps?limit={bad}"), Some(&t.sk)).await).await;
        assert!(st == 422 || st == 400, "limit={bad}: {st} {v}");
        assert_eq!(v["error"]["field"].as_str(), Some("limit"), "limit={bad}: {v}");
    }
    // Still serving.
    let (st, _) = status_json(s.get("/api/companies/123/gaps", Some(&t.sk)).await).await;
    assert_eq!(st, 200);
}
