//! `PATCH /api/companies/{id}/settings`: the JSON body -> a validated patch -> applied settings.
#![no_main]

use chatbot_core::{WidgetSettings, WidgetSettingsPatch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(patch) = WidgetSettingsPatch::from_json(data) else { return };
    // from_json validated it: validating again agrees.
    assert!(patch.validate().is_ok());
    let mut s = WidgetSettings::defaults_for("123", "Acme", chrono::DateTime::UNIX_EPOCH);
    patch.apply_to(&mut s);
    // What was accepted serialises and reads back as the same patch.
    let json = serde_json::to_vec(&patch).expect("a patch serialises");
    let again = WidgetSettingsPatch::from_json(&json).expect("a serialised patch reads back");
    assert_eq!(again, patch);
    let _ = serde_json::to_string(&s).expect("settings serialise");
});
