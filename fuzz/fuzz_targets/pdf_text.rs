//! PDF text through lopdf (the fallback extractor the pipeline runs when pdf-extract fails).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = chatbot_core::fuzzing::lopdf_text(data) {
        // tidy_text's output: no trailing or leading white space.
        assert_eq!(text.trim(), text);
    }
});
