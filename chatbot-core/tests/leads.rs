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
