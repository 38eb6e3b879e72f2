//! The chat routes' request bodies through the server's parsing (partner chat, session chat,
//! internal session chat), then the message through the text rules a turn runs first.
#![no_main]

use chatbot_core::guard::classify_topic;
use chatbot_core::lead::extract::extract_contacts;
use chatbot_server::fuzzing::{partner_chat_body, session_chat_body};
use libfuzzer_sys::fuzz_target;

fn refusal_is_4xx(status: u16, body: &serde_json::Value) {
    assert!((400..500).contains(&status), "{status}");
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

fn text_rules(message: &str) {
    let _ = extract_contacts(message);
    let _ = classify_topic(message, Some(0.3), &["tea".to_string()]);
}

fuzz_target!(|data: &[u8]| {
    match partner_chat_body(data) {
        Ok(chat) => {
            text_rules(&chat.message);
            for h in &chat.history {
                text_rules(&h.content);
            }
        }
        Err((status, body)) => refusal_is_4xx(status, &body),
    }
    for internal in [false, true] {
        match session_chat_body(data, internal) {
            Ok(chat) => text_rules(&chat.message),
            Err((status, body)) => refusal_is_4xx(status, &body),
        }
    }
});
