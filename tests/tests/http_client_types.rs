//! Client types end to end on the embedded defaults (no model): a realtor and a business owner
//! each get a visitor conversation in English (partner chat) and in Dutch (session chat); their
//! leads carry the type's profile fields, `profile_complete` and an AI summary naming them.
//! Prices of the shop's own products and dates of an order never become a visitor's budget or
//! timeline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_tests::{Tenant, TestServer, status_json};
use serde_json::{Value, json};

async fn set_type(s: &TestServer, t: &Tenant, client_type: &str) {
    let r = s
        .http
        .patch(s.url(&format!("/api/companies/{}", t.id)))
        .bearer_auth(&t.sk)
        .json(&json!({ "client_type": client_type }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A partner-chat visitor's messages (the visitor token continues the conversation).
async fn partner(s: &TestServer, t: &Tenant, messages: &[&str]) {
    let mut token: Option<String> = None;
    for m in messages {
        let mut body = json!({ "message": m });
        if let Some(tok) = &token {
            body["visitor_token"] = json!(tok);
        }
        let (st, v) = status_json(s.post(&format!("/api/partner-chat/{}", t.id), None, &body).await).await;
        assert_eq!(st, 200, "{m}: {v}");
        assert!(!v["message"].as_str().unwrap().trim().is_empty(), "{m}: an empty reply");
        token = v["visitor_token"].as_str().map(String::from).or(token);
    }
}

/// A session visitor's messages (`000`'s flow).
async fn session(s: &TestServer, t: &Tenant, messages: &[&str]) {
    let sid = s.session(&t.pk).await;
    for m in messages {
        let (st, v) = status_json(
            s.post("/api/chatbot/chat", Some(&t.pk), &json!({ "session_id": sid, "message": m })).await,
        )
        .await;
        assert_eq!(st, 200, "{m}: {v}");
    }
}

/// The company's ready leads, by the visitor's e-mail address.
async fn lead_of(s: &TestServer, t: &Tenant, email: &str) -> Value {
    let (st, v) = status_json(s.get(&format!("/api/companies/{}/leads", t.id), Some(&t.sk)).await).await;
    assert_eq!(st, 200, "{v}");
    v["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["email"] == email)
        .cloned()
        .unwrap_or_else(|| panic!("no lead for {email}: {v}"))
}

fn summary_names(lead: &Value, words: &[&str]) {
    let s = lead["ai_summary"].as_str().unwrap();
    for w in words {
        assert!(s.contains(w), "the AI summary names {w}: {s}");
    }
}

#[tokio::test]
async fn realtor_leads_carry_their_profile_in_english_and_dutch() {
    let s = TestServer::start().await;
    let t = s.tenant("homes", &[]).await;
    set_type(&s, &t, "realtor").await;

    partner(
        &s,
        &t,
        &[
            "Hi! We want to buy a 3-bedroom apartment in Utrecht.",
            "Our budget is up to €400k and we'd like to move next spring.",
            "I'm Jane Doe, jane@example.com",
        ],
    )
    .await;
    let l = lead_of(&s, &t, "jane@example.com").await;
    let p = &l["profile"];
    assert_eq!(p["intent"], "buy", "{l}");
    assert_eq!(p["property_type"], "apartment", "{l}");
    assert_eq!(p["location"], "Utrecht", "{l}");
    assert_eq!(p["bedrooms"], 3, "{l}");
    assert_eq!(p["budget_max"].as_f64(), Some(400_000.0), "{l}");
    assert_eq!(p["currency"], "EUR", "{l}");
    assert!(p["timeline"].as_str().unwrap_or_default().contains("spring"), "{l}");
    assert_eq!(l["profile_complete"], true, "{l}");
    summary_names(&l, &["Utrecht", "400000", "buy"]);

    session(
        &s,
        &t,
        &[
            "Goedemiddag, wij willen een huis huren in Amersfoort.",
            "Maximaal 1500 euro per maand, met drie slaapkamers.",
            "Ik ben Piet Jansen, piet@example.nl",
        ],
    )
    .await;
    let l = lead_of(&s, &t, "piet@example.nl").await;
    let p = &l["profile"];
    assert_eq!(p["intent"], "rent", "{l}");
    assert_eq!(p["property_type"], "house", "{l}");
    assert_eq!(p["location"], "Amersfoort", "{l}");
    assert_eq!(p["budget_max"].as_f64(), Some(1500.0), "{l}");
    assert_eq!(p["bedrooms"], 3, "{l}");
    assert_eq!(l["profile_complete"], true, "{l}");
    summary_names(&l, &["Amersfoort", "1500"]);
}

#[tokio::test]
async fn business_owner_leads_carry_their_profile_in_english_and_dutch() {
    let s = TestServer::start().await;
    let t = s.tenant("studio", &[]).await;

    partner(
        &s,
        &t,
        &[
            "We need a new website for our dental practice, we are 12 employees.",
            "Budget is around 5k euros, ideally within 3 months.",
            "My name is Sam Lee, sam@example.com",
        ],
    )
    .await;
    let l = lead_of(&s, &t, "sam@example.com").await;
    let p = &l["profile"];
    assert!(p["service"].as_str().unwrap_or_default().contains("website"), "{l}");
    assert_eq!(p["company_size"], 12, "{l}");
    assert_eq!(p["budget_max"].as_f64(), Some(5000.0), "{l}");
    assert!(p["timeline"].as_str().unwrap_or_default().contains('3'), "{l}");
    assert_eq!(l["profile_complete"], true, "{l}");
    summary_names(&l, &["website", "5000"]);

    session(
        &s,
        &t,
        &[
            "Wij zoeken een boekhouder voor ons bedrijf met 8 medewerkers.",
            "Ik ben Eva de Vries, eva@example.nl",
        ],
    )
    .await;
    let l = lead_of(&s, &t, "eva@example.nl").await;
    let p = &l["profile"];
    assert!(p["service"].as_str().unwrap_or_default().contains("boekhouder"), "{l}");
    assert_eq!(p["company_size"], 8, "{l}");
    assert_eq!(l["profile_complete"], true, "{l}");
}

#[tokio::test]
async fn shop_prices_and_order_dates_are_no_budget_or_timeline() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    session(
        &s,
        &t,
        &[
            "How much is the teapot? Is it still 59 euros?",
            "I ordered on 3 May and it has not arrived, order 12345678.",
            "I'm Kim Ray, kim@example.com",
        ],
    )
    .await;
    let l = lead_of(&s, &t, "kim@example.com").await;
    let p = &l["profile"];
    for k in ["budget_min", "budget_max", "timeline"] {
        assert!(p.get(k).is_none(), "{k} must not come from a product price or an order date: {l}");
    }
    assert_eq!(l["profile_complete"], false, "no service asked for: {l}");
}

#[tokio::test]
async fn the_bot_asks_for_the_missing_profile_field_every_third_message() {
    let s = TestServer::start().await;
    let t = s.tenant("agents", &[]).await;
    set_type(&s, &t, "realtor").await;
    let sid = s.session(&t.pk).await;
    let mut asked = Vec::new();
    for m in ["Hello", "Do you have anything available?", "Thanks", "And in the centre?", "Ok", "Great"] {
        let (_, v) = status_json(
            s.post("/api/chatbot/chat", Some(&t.pk), &json!({ "session_id": sid, "message": m })).await,
        )
        .await;
        asked.push(v["message"].as_str().unwrap().contains("buy, rent or sell"));
    }
    // Turns 3 and 6 ask for the intent (the realtor's first key field); no other turn does.
    assert_eq!(asked, [false, false, true, false, false, true], "{asked:?}");

    // In Dutch, once the intent is known, the next missing field: the location.
    let sid = s.session(&t.pk).await;
    let mut last = String::new();
    for m in ["Wij willen kopen", "Hebben jullie iets?", "Dank je"] {
        let (_, v) = status_json(
            s.post("/api/chatbot/chat", Some(&t.pk), &json!({ "session_id": sid, "message": m })).await,
        )
        .await;
        last = v["message"].as_str().unwrap().to_string();
    }
    assert!(last.contains("In welke buurt of plaats"), "{last}");
}
