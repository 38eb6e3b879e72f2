//! Lead extraction, readiness and summary through the core API, on a tricky corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::lead::extract::{
    Contacts, apply_message, extract_contacts, extract_email, extract_name, extract_phone,
    is_contact_message, is_small_talk, offline_summary,
};
use chatbot_core::lead::{ANONYMOUS, Lead};

fn lead() -> Lead {
    Lead::new("lead_t".into(), "123", "sess_t", "u1")
}

#[test]
fn names_from_self_introductions() {
    let cases: &[(&str, Option<&str>)] = &[
        ("I'm Jane", Some("Jane")),
        ("Hi, I'm Jane Doe, do you ship to Belgium?", Some("Jane Doe")),
        ("I am Pieter de Vries", Some("Pieter")),
        ("my name is Maria Garcia Lopez and I have a question", Some("Maria Garcia Lopez")),
        ("my name is jane", Some("Jane")),
        ("My name's Tom.", Some("Tom")),
        ("this is Anne-Marie from Rotterdam", Some("Anne-Marie")),
        ("Hello, this is Ahmed", Some("Ahmed")),
        ("you can call me Bob", Some("Bob")),
        ("Call me Ishmael.", Some("Ishmael")),
        ("Name: Sophie Martin", Some("Sophie Martin")),
        ("I’m Zoë", Some("Zoë")),
        // Not names.
        ("I'm looking for a teapot", None),
        ("I'm interested in your mugs", None),
        ("I am interested", None),
        ("I'm not sure which size to pick", None),
        ("call me on +31 6 12345678", None),
        ("call me tomorrow please", None),
        ("call me back", None),
        ("I'm in Amsterdam next week", None),
        ("I'm a returning customer", None),
        ("I am Dutch", None),
        ("I think this is Broken", None),
        ("this is great, thanks", None),
        ("I'm OK", None),
        ("Is this the right shop?", None),
        ("What is Klarna?", None),
        ("I'm 34 years old", None),
        ("i'm wondering about shipping", None),
        ("It's broken", None),
    ];
    let mut bad = Vec::new();
    for (text, want) in cases {
        let got = extract_name(text);
        if got.as_deref() != *want {
            bad.push(format!("{text:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "name extraction errors:\n{}", bad.join("\n"));
}

#[test]
fn emails_strict_and_never_inside_urls() {
    let cases: &[(&str, Option<&str>)] = &[
        ("my email is jane@example.com", Some("jane@example.com")),
        ("Email: Jane.Doe+shop@Mail.Example.NL.", Some("Jane.Doe+shop@mail.example.nl")),
        ("reach me at (j_o-e@sub.domain.co.uk)", Some("j_o-e@sub.domain.co.uk")),
        ("mailto:anna@example.org", Some("anna@example.org")),
        ("<piet@example.nl>", Some("piet@example.nl")),
        // Not e-mails.
        ("https://user@host.example/path", None),
        ("see example.com/a@b.com", None),
        ("http://example.com/?email=jane@example.com", None),
        ("www.example.com/contact@us.html", None),
        ("ftp://admin@files.example.net", None),
        ("send it to @jane on twitter", None),
        ("jane@localhost", None),
        ("price is 5@10 euros", None),
        ("jane@@example.com", None),
        ("file: C:\\Users\\jane@example.com\\doc", None),
    ];
    let mut bad = Vec::new();
    for (text, want) in cases {
        let got = extract_email(text);
        if got.as_deref() != *want {
            bad.push(format!("{text:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "email extraction errors:\n{}", bad.join("\n"));
}

#[test]
fn phones_international_and_not_other_numbers() {
    let cases: &[(&str, Option<&str>)] = &[
        ("call me on +31 6 12345678", Some("+31612345678")),
        ("my number is +1 (555) 123-4567", Some("+15551234567")),
        ("0031 6 1234 5678", Some("+31612345678")),
        ("06-12345678", Some("06-12345678")),
        ("bel me op 0612345678", Some("0612345678")),
        ("phone: 020 123 4567", Some("020 123 4567")),
        ("+44 20 7946 0958 is my office", Some("+442079460958")),
        ("+31 (0)6 1234 5678", Some("+31612345678")),
        ("you can reach me at +49 30 901820", Some("+4930901820")),
        ("call me on 612345678", Some("612345678")),
        // Not phones.
        ("order 123456789 has not arrived", None),
        ("my order number is 0012345678", None),
        ("tracking code 3SABCD123456789", None),
        ("it was delivered on 2024-05-12", None),
        ("on 12/05/2024 I ordered", None),
        ("our budget is 450000 - 500000", None),
        ("it costs €1.250.000", None),
        ("1250000 euros max", None),
        ("back in 1998 and 2004", None),
        ("postcode 1017 AB", None),
        ("IBAN NL91ABNA0417164300", None),
        ("card 4111 1111 1111 1111", None),
        ("open 9:00 to 17:00", None),
        ("I bought 3 mugs for 72 euros", None),
        ("invoice #20240512", None),
        ("the range 10000000 to 20000000 is fine", None),
        ("version 1.2.3.4567", None),
    ];
    let mut bad = Vec::new();
    for (text, want) in cases {
        let got = extract_phone(text);
        if got.as_deref() != *want {
            bad.push(format!("{text:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "phone extraction errors:\n{}", bad.join("\n"));
}

#[test]
fn nothing_invented_from_tricky_text() {
    let tricky = [
        "Check https://shop.example/u/jane@example.com and https://admin@shop.example/login",
        "I'm looking for a gift, budget 50 euros, order 987654321 was fine",
        "What is the capital of France? Paris 75001",
        "My order from 12-05-2024 (order #A12345) arrived broken",
        "I'm interested in teapots; is 1.0 litre the biggest?",
        "Ref: 2024/05/12-0001",
        // The company's own contact details, quoted by the visitor, are not the visitor's.
        "Is +31 20 123 4567 your number?",
        "I called your +31 20 123 4567 twice and mailed your support@demo-shop.example",
        "is support@demo-shop.example still your e-mail address?",
    ];
    for t in tricky {
        assert_eq!(extract_contacts(t), Contacts::default(), "invented contacts from {t:?}");
    }
}

#[test]
fn full_message_with_everything() {
    let c = extract_contacts("Hi! I'm Jane Doe, my email is jane@example.com and call me on +31 6 12345678.");
    assert_eq!(c.name.as_deref(), Some("Jane Doe"));
    assert_eq!(c.email.as_deref(), Some("jane@example.com"));
    assert_eq!(c.phone.as_deref(), Some("+31612345678"));
    // "your" earlier in the sentence does not hide the visitor's own details.
    let c = extract_contacts("Your teapot is lovely! You can reach me at jane@example.com or 06-12345678");
    assert_eq!(c.email.as_deref(), Some("jane@example.com"));
    assert_eq!(c.phone.as_deref(), Some("06-12345678"));
}

#[test]
fn readiness_needs_name_and_a_contact_never_before() {
    let mut l = lead();
    let u = apply_message(&mut l, "Hi");
    assert!(!u.became_ready && !l.is_lead_ready);
    let u = apply_message(&mut l, "my email is jane@example.com");
    assert!(!u.became_ready && !l.is_lead_ready, "a contact without a name is not ready");
    assert_eq!(l.email, "jane@example.com");
    assert_eq!(l.name, ANONYMOUS);
    let u = apply_message(&mut l, "I'm Jane");
    assert!(u.became_ready && l.is_lead_ready);
    // Only once.
    let u = apply_message(&mut l, "thanks");
    assert!(!u.became_ready && l.is_lead_ready);

    let mut l = lead();
    apply_message(&mut l, "My name is Karel");
    assert!(!l.is_lead_ready, "a name without a contact is not ready");
    let u = apply_message(&mut l, "06-12345678");
    assert!(u.became_ready && l.is_lead_ready);
    assert_eq!(l.phone, "06-12345678");
}

#[test]
fn later_messages_correct_earlier_ones() {
    let mut l = lead();
    apply_message(&mut l, "I'm Jane, jane@exmaple.com");
    assert_eq!(l.email, "jane@exmaple.com");
    let u = apply_message(&mut l, "sorry, my email is actually jane@example.com");
    assert!(u.changed && !u.became_ready);
    assert_eq!(l.email, "jane@example.com");
    assert_eq!(l.name, "Jane");
    apply_message(&mut l, "Actually my name is Janet");
    assert_eq!(l.name, "Janet");
    apply_message(&mut l, "new number: +31 6 87654321");
    assert_eq!(l.phone, "+31687654321");
    // A message without contacts changes nothing.
    let u = apply_message(&mut l, "ok");
    assert!(!u.changed);
    assert_eq!((l.name.as_str(), l.email.as_str()), ("Janet", "jane@example.com"));
}

#[test]
fn message_is_the_first_real_request() {
    let mut l = lead();
    apply_message(&mut l, "Hello!");
    assert_eq!(l.message, "");
    apply_message(&mut l, "I'm Jane, jane@example.com");
    assert_eq!(l.message, "", "a pure contact message is not the request");
    apply_message(&mut l, "Do you ship teapots to Belgium?");
    assert_eq!(l.message, "Do you ship teapots to Belgium?");
    apply_message(&mut l, "And what about Germany?");
    assert_eq!(l.message, "Do you ship teapots to Belgium?", "the first request is kept");

    let mut l = lead();
    apply_message(&mut l, "Hi, I'm Tom and my order 123456 arrived broken, what can I do?");
    assert!(l.message.contains("arrived broken"));
    assert_eq!(l.name, "Tom");
    assert_eq!(l.phone, "");
    assert_eq!(l.profile.get("order_number").and_then(|v| v.as_str()), Some("123456"));
}

#[test]
fn small_talk_and_contact_messages() {
    for t in ["hi", "Hello!", "thanks", "Thank you so much!", "good morning", "hey there", "ok", "bye"] {
        assert!(is_small_talk(t), "{t:?} is small talk");
    }
    for t in ["hi, do you ship to Germany?", "what are your opening hours", "thanks, and the price?"] {
        assert!(!is_small_talk(t), "{t:?} is a request");
    }
    for t in
        ["jane@example.com", "I'm Jane, call me on 06-12345678", "please call me back", "my email is a@b.nl"]
    {
        assert!(is_contact_message(t), "{t:?} is a contact message");
    }
    for t in ["I'm Jane, do you sell teapots?", "what is your phone number?", "how much is shipping"] {
        assert!(!is_contact_message(t), "{t:?} is not a contact message");
    }
}

#[test]
fn offline_summary_is_short_and_built_from_fields() {
    let mut l = lead();
    apply_message(&mut l, "Hi, I'm Jane Doe. My order 55501234 arrived damaged, can you replace the mug?");
    apply_message(&mut l, "jane@example.com");
    assert!(l.is_lead_ready);
    let s = offline_summary(&l);
    assert!(s.starts_with("Jane Doe (jane@example.com)."), "{s}");
    assert!(s.contains("arrived damaged"), "{s}");
    assert!(s.contains("order number: 55501234"), "{s}");
    assert!(s.chars().count() < 400, "{s}");
    // Long requests are shortened.
    let mut l = lead();
    apply_message(&mut l, &format!("Can you tell me about {}", "your teapots and mugs ".repeat(40)));
    let s = offline_summary(&l);
    assert!(s.starts_with("Anonymous visitor (no contact details yet)."), "{s}");
    assert!(s.contains('…') && s.chars().count() < 300, "{s}");
}

// ----- webhook wire tests (wiremock on 127.0.0.1) -----

mod webhook {
    use std::time::Duration;

    use chatbot_core::lead::Lead;
    use chatbot_core::lead::extract::apply_message;
    use chatbot_core::providers::webhook::{
        WebhookClient, WebhookPolicy, WebhookRules, payload, send_signed, verify,
    };
    use wiremock::matchers::{header, header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fast() -> WebhookPolicy {
        WebhookPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        }
    }

    /// The receivers here listen on 127.0.0.1 over http: the development opt-in.
    fn dev_client() -> WebhookClient {
        WebhookClient::new(WebhookRules::DEVELOPMENT)
    }

    fn ready_lead() -> Lead {
        let mut l = Lead::new("lead_w".into(), "123", "sess_w", "u");
        apply_message(&mut l, "Hi, I'm Jane Doe, jane@example.com. Do you ship teapots to Belgium?");
        assert!(l.is_lead_ready);
        l.ai_summary = "Jane Doe wants a teapot shipped to Belgium.".into();
        l
    }

    fn body_of(l: &Lead) -> Vec<u8> {
        serde_json::to_vec(&payload("123", l, chrono::Utc::now())).unwrap()
    }

    #[tokio::test]
    async fn signed_post_with_the_documented_body() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hook"))
            .and(header("content-type", "application/json"))
            .and(header("x-chatbot-event", "lead.ready"))
            .and(header_exists("x-chatbot-signature"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let l = ready_lead();
        let body = body_of(&l);
        let out =
            send_signed(&dev_client(), &format!("{}/hook", server.uri()), "whsec_1", &body, &fast()).await;
        assert!(out.delivered && out.attempts == 1 && out.status_code == Some(204), "{out:?}");
        let reqs = server.received_requests().await.unwrap();
        let r = &reqs[0];
        let sig = r.headers.get("x-chatbot-signature").unwrap().to_str().unwrap();
        assert!(verify("whsec_1", &r.body, sig), "signature must verify over the exact body");
        assert!(!verify("whsec_other", &r.body, sig));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["event"], "lead.ready");
        assert_eq!(v["company_id"], "123");
        assert_eq!(v["lead"]["lead_id"], "lead_w");
        assert_eq!(v["lead"]["name"], "Jane Doe");
        assert_eq!(v["lead"]["email"], "jane@example.com");
        assert_eq!(v["lead"]["phone"], "");
        assert_eq!(v["lead"]["status"], "new");
        assert!(v["lead"]["message"].as_str().unwrap().contains("Belgium"));
        assert_eq!(v["lead"]["ai_summary"], "Jane Doe wants a teapot shipped to Belgium.");
        assert!(v["lead"]["created_at"].is_string() && v["sent_at"].is_string());
    }

    #[tokio::test]
    async fn retries_5xx_and_429_then_succeeds() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).expect(1).mount(&server).await;
        let body = body_of(&ready_lead());
        let out = send_signed(&dev_client(), &server.uri(), "s", &body, &fast()).await;
        assert!(out.delivered, "{out:?}");
        assert_eq!(out.attempts, 3);
        // Every attempt carries the same signed body.
        let reqs = server.received_requests().await.unwrap();
        assert_eq!(reqs.len(), 3);
        assert!(reqs.iter().all(|r| r.body == body));
    }

    #[tokio::test]
    async fn gives_up_after_the_attempts_and_never_retries_4xx() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/down"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/gone"))
            .respond_with(ResponseTemplate::new(410))
            .mount(&server)
            .await;
        let http = dev_client();
        let body = body_of(&ready_lead());
        let out = send_signed(&http, &format!("{}/down", server.uri()), "s", &body, &fast()).await;
        assert_eq!((out.delivered, out.attempts, out.status_code), (false, 4, Some(500)));
        assert!(out.error.as_deref().unwrap().contains("500"));
        let out = send_signed(&http, &format!("{}/gone", server.uri()), "s", &body, &fast()).await;
        assert_eq!((out.delivered, out.attempts, out.status_code), (false, 1, Some(410)));
        // A closed port: network errors are retried too.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let out = send_signed(&http, &format!("http://127.0.0.1:{port}/x"), "s", &body, &fast()).await;
        assert_eq!((out.delivered, out.attempts, out.status_code), (false, 4, None));
        assert!(out.error.unwrap().contains("request failed"));
    }

    #[tokio::test]
    async fn a_redirect_is_a_failure_and_is_never_followed() {
        let second = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&second).await;
        let first = MockServer::start().await;
        for code in [307, 308, 302, 301] {
            Mock::given(method("POST"))
                .and(path(format!("/r{code}")))
                .respond_with(
                    ResponseTemplate::new(code)
                        .insert_header("location", format!("{}/internal", second.uri())),
                )
                .mount(&first)
                .await;
        }
        let body = body_of(&ready_lead());
        for code in [307, 308, 302, 301] {
            let url = format!("{}/r{code}", first.uri());
            let out = send_signed(&dev_client(), &url, "s", &body, &fast()).await;
            assert_eq!((out.delivered, out.attempts, out.status_code), (false, 1, Some(code)), "{out:?}");
            assert!(out.error.as_deref().unwrap().contains("not followed"), "{out:?}");
        }
        assert_eq!(first.received_requests().await.unwrap().len(), 4);
        assert!(second.received_requests().await.unwrap().is_empty(), "the redirect target got nothing");
    }

    #[tokio::test]
    async fn internal_addresses_are_never_contacted_without_the_opt_in() {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
        let body = body_of(&ready_lead());
        let port = server.address().port();
        let strict = WebhookClient::new(WebhookRules { allow_private: false, allow_http: true });
        for url in [
            format!("http://127.0.0.1:{port}/hook"),
            format!("http://[::ffff:127.0.0.1]:{port}/hook"),
            // A name that resolves to loopback: refused by the connect-time resolver.
            format!("http://localhost:{port}/hook"),
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ] {
            let out = send_signed(&strict, &url, "s", &body, &fast()).await;
            assert!(!out.delivered, "{url}: {out:?}");
        }
        assert!(server.received_requests().await.unwrap().is_empty(), "nothing reached the receiver");
        // https is required unless allowed.
        let https_only = WebhookClient::new(WebhookRules::default());
        let out = send_signed(&https_only, "http://hooks.example.com/x", "s", &body, &fast()).await;
        assert!(!out.delivered && out.attempts == 0 && out.error.unwrap().contains("https"));
    }
}

// ----- structured-output extraction (wiremock following the Chat Completions docs) -----

mod llm {
    use chatbot_core::lead::Lead;
    use chatbot_core::lead::extract::{apply_extracted, apply_message};
    use chatbot_core::llm::LeadExtractor as _;
    use chatbot_core::providers::openai::OpenAiExtractor as LlmExtractor;
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn completion(content: &serde_json::Value) -> serde_json::Value {
        json!({
            "id": "chatcmpl-abc123",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content.to_string(), "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
            "system_fingerprint": "fp_test"
        })
    }

    #[tokio::test]
    async fn json_schema_request_and_profile_for_a_realtor() {
        let server = MockServer::start().await;
        let answer = json!({
            "name": "Jane Doe",
            "email": "jane@example.com",
            "phone": null,
            "summary": "Jane Doe wants to buy a house in Utrecht within 3 months, budget about 450k euros.",
            "profile": {"budget": "450k euros", "area": "Utrecht", "buying_or_selling": "buying", "timeline": "within 3 months"}
        });
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer sk-test"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion(&answer)))
            .expect(1)
            .mount(&server)
            .await;
        let fields: Vec<String> =
            ["budget", "area", "buying_or_selling", "timeline"].iter().map(|s| s.to_string()).collect();
        let x = LlmExtractor::new("sk-test", Some(&format!("{}/v1", server.uri())), "gpt-4o-mini");
        let msgs = vec![
            "Hi, we want to buy a house in Utrecht within 3 months, budget about 450k euros".to_string(),
            "I'm Jane Doe, jane@example.com".to_string(),
        ];
        let got = x.extract(&msgs, &fields).await.unwrap();
        assert_eq!(got.contacts.name.as_deref(), Some("Jane Doe"));
        assert_eq!(got.contacts.email.as_deref(), Some("jane@example.com"));
        assert_eq!(got.contacts.phone, None);
        assert_eq!(got.profile["area"], "Utrecht");
        assert_eq!(got.profile["buying_or_selling"], "buying");
        assert!(got.summary.as_deref().unwrap().starts_with("Jane Doe wants to buy"));
        assert_eq!(got.tokens, 160, "the call's usage, for the daily budget");

        // What was sent: the documented structured-output request.
        let reqs = server.received_requests().await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(body["model"], "gpt-4o-mini");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
        assert!(body["messages"][1]["content"].as_str().unwrap().contains("budget about 450k"));
        let rf = &body["response_format"];
        assert_eq!(rf["type"], "json_schema");
        assert_eq!(rf["json_schema"]["name"], "lead_extraction");
        assert_eq!(rf["json_schema"]["strict"], true);
        let schema = &rf["json_schema"]["schema"];
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["name", "email", "phone", "summary", "profile"]));
        assert_eq!(schema["properties"]["summary"]["type"], json!(["string", "null"]));
        assert_eq!(schema["properties"]["profile"]["required"], json!(fields));
        assert_eq!(schema["properties"]["profile"]["additionalProperties"], false);

        // Applied to a lead: the profile fills in, readiness follows.
        let mut lead = Lead::new("l".into(), "c", "s", "u");
        for m in &msgs {
            apply_message(&mut lead, m);
        }
        let u = apply_extracted(&mut lead, "", &got.contacts, &got.profile);
        assert!(lead.is_lead_ready && !u.became_ready, "the rules had already made it ready");
        assert_eq!(lead.profile["timeline"], "within 3 months");
        assert!(lead.message.contains("buy a house"));
    }

    #[tokio::test]
    async fn model_inventions_are_dropped_and_errors_are_upstream() {
        let server = MockServer::start().await;
        let answer = json!({
            "name": "John Smith",
            "email": "john@shop.example",
            "phone": "+31 6 11111111",
            "summary": null,
            "profile": {"order_number": "A-1001", "product": "teapot", "issue": "arrived broken"}
        });
        Mock::given(method("POST"))
            .and(path("/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion(&answer)))
            .mount(&server)
            .await;
        let x = LlmExtractor::new("sk-test", Some(&server.uri()), "gpt-4o-mini");
        let fields: Vec<String> =
            ["order_number", "product", "issue"].iter().map(|s| s.to_string()).collect();
        let got = x
            .extract(
                &["my teapot from order A-1001 arrived broken, see https://x.example/john@shop.example"
                    .into()],
                &fields,
            )
            .await
            .unwrap();
        assert_eq!(got.contacts.name, None, "the visitor never gave a name");
        assert_eq!(got.contacts.email, None, "an address inside a URL is not the visitor's");
        assert_eq!(got.contacts.phone, None, "no phone was written");
        assert_eq!(got.profile["order_number"], "A-1001");

        // A 400 from the API is an upstream error, not a panic or an invented result.
        let bad = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": "Invalid schema for response_format 'lead_extraction'",
                "type": "invalid_request_error", "param": "response_format", "code": null}})))
            .mount(&bad)
            .await;
        let x = LlmExtractor::new("sk-test", Some(&bad.uri()), "gpt-4o-mini");
        let e = x.extract(&["hi".into()], &[]).await.unwrap_err();
        assert!(
            matches!(e, chatbot_core::Error::Upstream { ref service, .. } if service == "openai"),
            "{e:?}"
        );
    }
}

// ----- the whole flow through `Chatbot` (real SQLite store, local index, offline models) -----

mod flow {
    use std::sync::Arc;
    use std::time::Duration;

    use chatbot_core::lead::LeadFilter;
    use chatbot_core::llm::ExtractiveAnswerer;
    use chatbot_core::providers::webhook::{WebhookRules, verify};
    use chatbot_core::rag::{LocalIndex, OfflineEmbedder};
    use chatbot_core::{AiConfig, Chatbot, Config, Error, PartnerChat};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn bot(dir: &tempfile::TempDir) -> Chatbot {
        bot_with(dir, WebhookRules::DEVELOPMENT).await
    }

    /// The receivers here listen on 127.0.0.1: the tests opt in through the configuration.
    async fn bot_with(dir: &tempfile::TempDir, webhooks: WebhookRules) -> Chatbot {
        let db = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = chatbot_core::store::open(&db).await.unwrap();
        let config = Config { data_dir: dir.path().to_path_buf(), webhooks, ..Config::default() };
        let bot = Chatbot::builder()
            .config(config)
            .store(store)
            .embedder(Arc::new(OfflineEmbedder::new()))
            .vectors(Arc::new(LocalIndex::open(&dir.path().join("index")).unwrap()))
            .model(Arc::new(ExtractiveAnswerer::new()))
            .build()
            .await
            .unwrap();
        bot.seed_demo().await.unwrap();
        bot
    }

    /// A visitor that sends back the token each reply returns (as the widget does).
    struct Visitor<'a> {
        bot: &'a Chatbot,
        ctx: &'a chatbot_core::TenantContext,
        token: Option<String>,
    }

    impl<'a> Visitor<'a> {
        fn new(bot: &'a Chatbot, ctx: &'a chatbot_core::TenantContext) -> Self {
            Self { bot, ctx, token: None }
        }

        async fn say(&mut self, m: &str) -> chatbot_core::ChatReply {
            let input = PartnerChat {
                user_id: Some("visitor_1".into()),
                visitor_token: self.token.clone(),
                ..PartnerChat::new(m)
            };
            let r = self.bot.partner_chat(self.ctx, input).await.unwrap();
            assert!(r.visitor_token.is_some());
            self.token.clone_from(&r.visitor_token);
            r
        }
    }

    async fn wait_for_requests(server: &MockServer, n: usize) -> Vec<wiremock::Request> {
        for _ in 0..200 {
            let r = server.received_requests().await.unwrap();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        server.received_requests().await.unwrap()
    }

    #[tokio::test]
    async fn lead_becomes_ready_once_and_the_webhook_is_signed() {
        let dir = tempfile::tempdir().unwrap();
        let bot = bot(&dir).await;
        let hook = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&hook).await;
        let op = bot.operator_context("123").await.unwrap();
        let cfg = AiConfig { lead_webhook_url: Some(format!("{}/leads", hook.uri())), ..AiConfig::default() };
        bot.set_ai_config(&op, &cfg).await.unwrap();
        let ctx = bot.public_context("123").await.unwrap();
        let mut visitor = Visitor::new(&bot, &ctx);

        // Anonymous questions make no lead.
        let r = visitor.say("Hello").await;
        assert!(r.lead.is_none(), "an anonymous hello makes no lead");
        let r = visitor.say("Do you ship teapots to Belgium?").await;
        assert!(r.lead.is_none());
        let r = visitor.say("I'm Jane Doe").await;
        let lead = r.lead.unwrap();
        assert!(!lead.is_lead_ready, "a name alone is not enough");
        assert_eq!(lead.name, "Jane Doe");
        // The lead made now still records the visitor's first request (admin view).
        let stored = bot.get_lead(&op, &lead.lead_id).await.unwrap();
        assert_eq!(stored.message, "Do you ship teapots to Belgium?");
        let r = visitor.say("my email is jane@example.com").await;
        let lead = r.lead.unwrap();
        assert!(lead.is_lead_ready);
        assert!(r.message.contains("Jane Doe"), "the reply confirms: {}", r.message);
        let stored = bot.get_lead(&op, &lead.lead_id).await.unwrap();
        assert!(stored.ai_summary.starts_with("Jane Doe (jane@example.com)."), "{}", stored.ai_summary);
        assert!(stored.ai_summary.contains("Belgium"), "{}", stored.ai_summary);

        // Exactly one signed POST.
        let reqs = wait_for_requests(&hook, 1).await;
        assert_eq!(reqs.len(), 1);
        let secret = bot.store_unchecked().webhook_secret("123").await.unwrap();
        let sig = reqs[0].headers.get("x-chatbot-signature").unwrap().to_str().unwrap();
        assert!(verify(&secret, &reqs[0].body, sig));
        let v: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(v["lead"]["lead_id"], lead.lead_id.as_str());
        assert_eq!(v["lead"]["email"], "jane@example.com");

        // More messages (and a correction) never send it again.
        visitor.say("sorry, my email is actually jane.doe@example.com").await;
        visitor.say("thanks!").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(hook.received_requests().await.unwrap().len(), 1);

        // Stored: the corrected lead, and the delivery record.
        let leads =
            bot.list_leads(&op, &LeadFilter { ready: Some(true), ..LeadFilter::default() }).await.unwrap();
        assert_eq!(leads.len(), 1);
        assert_eq!(leads[0].email, "jane.doe@example.com");
        let deliveries = bot.store_unchecked().list_webhook_deliveries("123", 10).await.unwrap();
        assert_eq!(deliveries.len(), 1);
        assert!(deliveries[0].delivered && deliveries[0].attempts == 1);
        assert_eq!(deliveries[0].status_code, Some(200));
    }

    #[tokio::test]
    async fn the_model_extractions_tokens_count_against_the_daily_budget() {
        use chatbot_core::llm::OpenAiChat;
        use chatbot_core::providers::ModelChoice;
        use wiremock::matchers::{body_string_contains, path};
        let server = MockServer::start().await;
        let completion = |content: &str, total: u32| {
            serde_json::json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000,
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                             "logprobs": null, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": total - 10, "completion_tokens": 10, "total_tokens": total}
            })
        };
        let extraction = serde_json::json!({"name": "Jane Doe", "email": "jane@example.com", "phone": null,
            "summary": "Jane Doe asks about shipping.", "profile": {"request_summary": "shipping"}});
        // The structured-output extraction call (it names its schema), then the reply.
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_string_contains("lead_extraction"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion(&extraction.to_string(), 70)))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion("We ship in 2 days.", 100)))
            .with_priority(2)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let base = format!("{}/v1", server.uri());
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            model: ModelChoice::OpenAi {
                api_key: "sk-test".into(),
                base_url: Some(base.clone()),
                model: "gpt-4o-mini".into(),
            },
            ..Config::default()
        };
        let bot = Chatbot::builder()
            .config(config)
            .store(chatbot_core::store::open(&db).await.unwrap())
            .embedder(Arc::new(OfflineEmbedder::new()))
            .vectors(Arc::new(LocalIndex::open(&dir.path().join("index")).unwrap()))
            .model(Arc::new(OpenAiChat::new("sk-test", Some(&base), "gpt-4o-mini", Duration::from_secs(5))))
            .build()
            .await
            .unwrap();
        bot.seed_demo().await.unwrap();
        let ctx = bot.public_context("123").await.unwrap();
        let input = PartnerChat {
            user_id: Some("jane".into()),
            ..PartnerChat::new("I'm Jane Doe, jane@example.com - do you ship to Belgium?")
        };
        let r = bot.partner_chat(&ctx, input).await.unwrap();
        assert_eq!(r.answered_by, chatbot_core::AnsweredBy::Model);
        // The extraction runs off the reply path: wait for its tokens to be recorded.
        let mut used = 0;
        for _ in 0..200 {
            used = bot.budget_status(&ctx).await.unwrap().used_today;
            if used >= 170 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(used, 170, "100 for the reply + 70 for the lead extraction");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_visitors_racing_first_messages_make_one_lead_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bot = bot(&dir).await;
        let ctx = bot.public_context("123").await.unwrap();
        // Concurrent first messages of one conversation: a user the company's backend signed
        // (a visitor token exists only after a first reply).
        let op = bot.operator_context("123").await.unwrap();
        let secret = bot.create_key(&op, chatbot_core::auth::KeyKind::Identity).await.unwrap().token;
        let signature = chatbot_core::auth::identity_signature(&secret, "racer");
        let msgs = ["Do you ship to Belgium?", "I'm Jane Doe", "my email is jane@example.com", "Hello"];
        let tasks: Vec<_> = msgs
            .iter()
            .map(|m| {
                let (bot, ctx) = (bot.clone(), ctx.clone());
                let input = PartnerChat {
                    user_id: Some("racer".into()),
                    user_signature: Some(signature.clone()),
                    ..PartnerChat::new(*m)
                };
                tokio::spawn(async move { bot.partner_chat(&ctx, input).await })
            })
            .collect();
        let mut lead_ids = std::collections::HashSet::new();
        for t in tasks {
            let r = t.await.unwrap().expect("no turn fails on the race (no conflict error)");
            assert_eq!(r.session_id, "pc_racer");
            // A message that revealed nothing may have run before the lead existed.
            if let Some(l) = r.lead {
                lead_ids.insert(l.lead_id);
            }
        }
        assert_eq!(lead_ids.len(), 1, "one lead for the visitor's conversation");
        let leads = bot.list_leads(&op, &LeadFilter::default()).await.unwrap();
        assert_eq!(leads.len(), 1);
        let l = &leads[0];
        assert_eq!(
            (l.name.as_str(), l.email.as_str()),
            ("Jane Doe", "jane@example.com"),
            "every message applied"
        );
        assert!(l.is_lead_ready);
        let conv = bot.store_unchecked().get_conversation("123", &l.session_id).await.unwrap().unwrap();
        assert_eq!(conv.messages.len(), 8, "four questions and four replies stored");
    }

    #[tokio::test]
    async fn internal_webhook_urls_are_refused_when_saved() {
        let dir = tempfile::tempdir().unwrap();
        let bot = bot_with(&dir, WebhookRules::default()).await;
        let op = bot.operator_context("123").await.unwrap();
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "https://169.254.169.254/latest/meta-data/",
            "https://127.0.0.1:9/hook",
            "https://[::1]/hook",
            "https://[::ffff:10.0.0.1]/hook",
            "https://[64:ff9b::a9fe:a9fe]/hook",
            "https://100.64.1.1/hook",
            "https://localhost/hook",
            "http://hooks.example.com/plain-http",
            "ftp://hooks.example.com/x",
        ] {
            let cfg = AiConfig { lead_webhook_url: Some(url.into()), ..AiConfig::default() };
            match bot.set_ai_config(&op, &cfg).await {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "ai_config.lead_webhook_url", "{url}"),
                other => panic!("{url} must be refused, got {other:?}"),
            }
        }
        assert_eq!(bot.operator_context("123").await.unwrap().company().ai_config.lead_webhook_url, None);
        // A public https URL is accepted (a name that does not resolve here is checked again
        // at connect time).
        let cfg = AiConfig {
            lead_webhook_url: Some("https://hooks.example.com/lead".into()),
            ..AiConfig::default()
        };
        bot.set_ai_config(&op, &cfg).await.unwrap();
        // A company created with an internal webhook is refused too.
        let mut new = chatbot_core::NewCompany {
            company_id: "acme".into(),
            company_name: "Acme".into(),
            email: "owner@acme.example".into(),
            ..Default::default()
        };
        new.ai_config.lead_webhook_url = Some("https://10.0.0.5/hook".into());
        assert!(matches!(bot.create_company(new).await, Err(Error::Invalid { .. })));
    }

    #[tokio::test]
    async fn the_ai_config_is_an_operator_action() {
        let dir = tempfile::tempdir().unwrap();
        let bot = bot(&dir).await;
        let op = bot.operator_context("123").await.unwrap();
        let sk = bot.create_key(&op, chatbot_core::auth::KeyKind::Secret).await.unwrap();
        let tenant = bot.authenticate(&sk.token, Some("123")).await.unwrap();
        let cfg = AiConfig { daily_token_budget: Some(1), ..AiConfig::default() };
        assert!(matches!(bot.set_ai_config(&tenant, &cfg).await, Err(Error::Forbidden(_))));
        let public = bot.public_context("123").await.unwrap();
        assert!(matches!(bot.set_ai_config(&public, &cfg).await, Err(Error::Unauthorized(_))));
        assert_eq!(bot.operator_context("123").await.unwrap().company().ai_config.daily_token_budget, None);
        bot.set_ai_config(&op, &cfg).await.unwrap();
    }

    #[tokio::test]
    async fn failed_webhook_is_recorded_and_the_chat_still_answers() {
        let dir = tempfile::tempdir().unwrap();
        let bot = bot(&dir).await;
        let hook = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(404)).mount(&hook).await;
        let op = bot.operator_context("123").await.unwrap();
        let cfg = AiConfig { lead_webhook_url: Some(hook.uri()), ..AiConfig::default() };
        bot.set_ai_config(&op, &cfg).await.unwrap();
        let ctx = bot.public_context("123").await.unwrap();
        let r = bot
            .partner_chat(
                &ctx,
                PartnerChat::new("I'm Piet, call me on +31 6 12345678 about a wholesale order"),
            )
            .await
            .unwrap();
        assert!(r.lead.unwrap().is_lead_ready);
        let mut deliveries = Vec::new();
        for _ in 0..200 {
            deliveries = bot.store_unchecked().list_webhook_deliveries("123", 10).await.unwrap();
            if !deliveries.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(deliveries.len(), 1);
        assert!(!deliveries[0].delivered);
        assert_eq!((deliveries[0].attempts, deliveries[0].status_code), (1, Some(404)));
        assert_eq!(bot.metrics().webhook_failures.get(), 1);
    }
}
