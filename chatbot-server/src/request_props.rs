//! Property tests for the chat routes' typed bodies: any bytes give a body or a 4xx naming what
//! is wrong (never a panic); a well-formed body carries the visitor's text exactly, whatever
//! Unicode it holds.

use chatbot_core::ClientInfo;
use proptest::prelude::*;
use proptest::sample::select;

use crate::request::{ChatBody, InternalChatBody, PartnerChatBody, SessionBody, parse, parse_or_default};

/// Text biased to what breaks byte offsets and JSON: case changes that resize, combining marks,
/// emoji with ZWJ, right-to-left marks, NUL, quotes, backslashes and lone surrogate escapes.
const PIECES: &[&str] = &[
    "\u{212A}",
    "\u{212B}",
    "\u{2126}",
    "ẞ",
    "İ",
    "e\u{301}",
    "👩\u{200d}👩\u{200d}👧",
    "\u{200f}",
    "\u{202e}",
    "\u{0}",
    "\u{1b}",
    "\"",
    "\\",
    "\\ud800",
    "\n",
    " ",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "null",
    "message",
    "history",
    "role",
    "content",
    "session_id",
    "Tel. 0612345678",
    "jane@example.com",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(select(PIECES), 0..20).prop_map(|v| v.concat()),
        1 => prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        1 => (select(PIECES), 1_000usize..20_000).prop_map(|(p, n)| p.repeat(n)),
    ]
}

/// A refusal is a 400 (not one JSON object) or a 422 naming the field.
fn check_refusal(e: &crate::error::ApiError) -> Result<(), TestCaseError> {
    match e.status.as_u16() {
        400 => prop_assert_eq!(e.code, "malformed"),
        422 => prop_assert!(e.field.as_deref().is_some_and(|f| !f.is_empty()), "{e:?}"),
        s => prop_assert!(false, "status {s}: {e:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_a_body_or_a_4xx(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        text().prop_map(String::into_bytes),
    ]) {
        if let Err(e) = parse::<PartnerChatBody>(&bytes).and_then(|b| b.into_input(ClientInfo::default(), None)) {
            check_refusal(&e)?;
        }
        if let Err(e) = parse::<ChatBody>(&bytes).and_then(|b| b.into_input(ClientInfo::default())) {
            check_refusal(&e)?;
        }
        if let Err(e) = parse::<InternalChatBody>(&bytes).and_then(|b| b.split()) {
            check_refusal(&e)?;
        }
        if let Err(e) = parse_or_default::<SessionBody>(&bytes) {
            check_refusal(&e)?;
        }
    }

    #[test]
    fn well_formed_bodies_carry_the_text_exactly(
        message in text(),
        user_id in prop::option::of(text()),
        history in prop::collection::vec((select(&["user", "assistant", "system", ""][..]), text()), 0..4),
    ) {
        let body = serde_json::json!({
            "message": message,
            "user_id": user_id,
            "history": history.iter().map(|(r, c)| serde_json::json!({"role": r, "content": c})).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let chat = parse::<PartnerChatBody>(&bytes).and_then(|b| b.into_input(ClientInfo::default(), None));
        let chat = match chat {
            Ok(c) => c,
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        };
        prop_assert_eq!(&chat.message, &message);
        prop_assert_eq!(&chat.user_id, &user_id);
        prop_assert_eq!(chat.history.len(), history.len());
        for (h, (r, c)) in chat.history.iter().zip(&history) {
            prop_assert_eq!((h.role.as_str(), h.content.as_str()), (*r, c.as_str()));
        }
        let session = serde_json::json!({"session_id": user_id.clone().unwrap_or_default(), "message": message});
        let input = parse::<ChatBody>(&serde_json::to_vec(&session).unwrap_or_default())
            .and_then(|b| b.into_input(ClientInfo::default()));
        prop_assert!(input.is_ok_and(|i| i.message == message));
    }
}
