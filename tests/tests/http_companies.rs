//! `GET`/`PATCH /api/companies/{companyId}`: a company's own fields and client type, with its
//! secret key or the operator token; the client type shows in the widget settings; another
//! company's keys, a publishable key and bad bodies are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_tests::{ADMIN_TOKEN, TestServer, error_code, status_json};
use serde_json::{Value, json};

async fn patch(s: &TestServer, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let r = s.http.patch(s.url(path)).bearer_auth(token).json(body).send().await.unwrap();
    status_json(r).await
}

#[tokio::test]
async fn client_type_is_read_and_changed_by_the_owner_or_operator() {
    let s = TestServer::start().await;
    let a = s.tenant("alpha", &[]).await;
    let b = s.tenant("beta", &[]).await;

    let (st, v) = status_json(s.get("/api/companies/alpha", Some(&a.sk)).await).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["company_id"], "alpha");
    assert_eq!(v["client_type"], "business_owner", "the default");
    let text = v.to_string();
    assert!(!text.contains("sk_") && !text.contains("pk_"), "no key in the company view: {text}");

    // The owner switches to realtor; the widget settings carry it at once.
    let (st, v) = patch(&s, "/api/companies/alpha", &a.sk, &json!({"client_type": "realtor"})).await;
    assert_eq!((st, v["client_type"].as_str()), (200, Some("realtor")), "{v}");
    let (st, v) = status_json(s.get("/api/widget-settings/alpha", None).await).await;
    assert_eq!((st, v["client_type"].as_str()), (200, Some("realtor")), "{v}");
    let (_, v) = status_json(s.get("/api/widget-settings/beta", None).await).await;
    assert_eq!(v["client_type"], "business_owner", "beta is untouched");

    // The operator may change it too, and other fields; "" clears the phone.
    let (st, v) = patch(
        &s,
        "/api/companies/alpha",
        ADMIN_TOKEN,
        &json!({"client_type": "business_owner", "company_name": "Alpha BV", "phone": ""}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["client_type"].as_str(), v["company_name"].as_str()),
        (Some("business_owner"), Some("Alpha BV"))
    );
    assert!(v["phone"].is_null(), "{v}");

    // Bad values name their field; an empty patch and unknown fields are refused.
    let (st, v) = patch(&s, "/api/companies/alpha", &a.sk, &json!({"client_type": "landlord"})).await;
    assert!(matches!(st, 400 | 422), "{st} {v}");
    error_code(&v);
    let (st, v) = patch(&s, "/api/companies/alpha", &a.sk, &json!({"website": "ftp://alpha.example"})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("website")), "{v}");
    let (st, v) = patch(&s, "/api/companies/alpha", &a.sk, &json!({"email": "new@alpha.example"})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("email")), "the e-mail is the operator's: {v}");
    // Nothing to change: the company as it is.
    let (st, v) = patch(&s, "/api/companies/alpha", &a.sk, &json!({"website": null})).await;
    assert_eq!((st, v["company_name"].as_str()), (200, Some("Alpha BV")), "{v}");
    let (st, v) = patch(&s, "/api/companies/alpha", &a.sk, &json!({"is_active": false})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("is_active")), "{v}");

    // Another company's secret key, a publishable key, no key: never alpha's data.
    for (what, token) in
        [("beta's sk", Some(b.sk.as_str())), ("alpha's pk", Some(a.pk.as_str())), ("none", None)]
    {
        let (st, v) = status_json(s.get("/api/companies/alpha", token).await).await;
        assert!(matches!(st, 401 | 403 | 404), "{what}: {st} {v}");
        assert!(!v.to_string().contains("Alpha BV"), "{what} leaked: {v}");
        if let Some(t) = token {
            let (st, v) = patch(&s, "/api/companies/alpha", t, &json!({"client_type": "realtor"})).await;
            assert!(matches!(st, 401 | 403 | 404), "{what}: {st} {v}");
        }
    }
    // An owner token (owner mode in the widget) is for the widget settings only.
    let (st, v) =
        status_json(s.post("/api/widget-settings/alpha/owner-token", Some(&a.sk), &json!({})).await).await;
    assert_eq!(st, 200, "{v}");
    let ot = v["token"].as_str().unwrap().to_string();
    let (st, v) = status_json(s.get("/api/companies/alpha", Some(&ot)).await).await;
    assert!(matches!(st, 401 | 403), "owner token on GET company: {st} {v}");
    let (st, v) = patch(&s, "/api/companies/alpha", &ot, &json!({"client_type": "realtor"})).await;
    assert!(matches!(st, 401 | 403), "owner token on PATCH company: {st} {v}");

    let (_, v) = status_json(s.get("/api/companies/alpha", Some(&a.sk)).await).await;
    assert_eq!(v["client_type"], "business_owner", "the refused patches changed nothing");
}
