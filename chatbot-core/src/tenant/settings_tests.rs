//! Tests of the widget settings and their patch.

use serde_json::json;

use super::*;

#[test]
fn patch_rejects_bad_color_naming_field() {
    let e = WidgetSettingsPatch::from_json(br#"{"primary_color":"red"}"#).unwrap_err();
    assert_eq!(e.field(), Some("primary_color"));
}

#[test]
fn patch_rejects_unknown_field() {
    let e = WidgetSettingsPatch::from_json(br##"{"primary_colour":"#ffffff"}"##).unwrap_err();
    assert_eq!(e.field(), Some("primary_colour"));
}

#[test]
fn patch_rejects_wrong_type_naming_field() {
    let e = WidgetSettingsPatch::from_json(br#"{"max_tokens":"lots"}"#).unwrap_err();
    assert_eq!(e.field(), Some("max_tokens"));
    let e = WidgetSettingsPatch::from_json(br#"{"position":"middle"}"#).unwrap_err();
    assert_eq!(e.field(), Some("position"));
}

#[test]
fn patch_bounds() {
    for (body, field) in [
        (r#"{"ai_temperature":2.5}"#, "ai_temperature"),
        (r#"{"max_tokens":0}"#, "max_tokens"),
        (r#"{"max_tokens":4097}"#, "max_tokens"),
        (r#"{"border_radius":65}"#, "border_radius"),
        (r#"{"welcome_message":""}"#, "welcome_message"),
        (r#"{"allowed_origins":["not a url"]}"#, "allowed_origins"),
        (r#"{"allowed_origins":["https://a.example/path"]}"#, "allowed_origins"),
    ] {
        let e = WidgetSettingsPatch::from_json(body.as_bytes()).unwrap_err();
        assert_eq!(e.field(), Some(field), "{body}");
    }
    let ok = WidgetSettingsPatch::from_json(
        br##"{"primary_color":"#FF0000","welcome_message":"Hello!","ai_temperature":2.0,"max_tokens":4096,"allowed_origins":["https://shop.example"]}"##,
    )
    .unwrap();
    assert_eq!(ok.primary_color.as_deref(), Some("#FF0000"));
}

#[test]
fn patch_rejects_null_except_for_the_logo() {
    for field in ["allowed_origins", "primary_color", "max_tokens", "auto_open", "position"] {
        let body = format!(r#"{{"{field}":null}}"#);
        let e = WidgetSettingsPatch::from_json(body.as_bytes()).unwrap_err();
        assert_eq!(e.field(), Some(field), "{body}");
    }
    let p = WidgetSettingsPatch::from_json(br#"{"company_logo":null}"#).unwrap();
    assert_eq!(p.company_logo, Some(None));
}

/// Found by the settings_patch fuzz target: a temperature with more digits than an f64 holds
/// must read back as the same number after serialising (serde_json's `float_roundtrip`).
#[test]
fn accepted_numbers_read_back_exactly() {
    let p = WidgetSettingsPatch::from_json(br#"{"ai_temperature":1.000861293337707602809}"#).unwrap();
    let again = WidgetSettingsPatch::from_json(&serde_json::to_vec(&p).unwrap()).unwrap();
    assert_eq!(again, p);
}

#[test]
fn whole_numbers_written_as_decimals_are_integers() {
    let p = WidgetSettingsPatch::from_json(br#"{"border_radius":25.0,"max_tokens":1e2}"#).unwrap();
    assert_eq!((p.border_radius, p.max_tokens), (Some(25), Some(100)));
    for body in [r#"{"border_radius":2.5}"#, r#"{"max_tokens":1e30}"#, r#"{"max_tokens":-0.5}"#] {
        let e = WidgetSettingsPatch::from_json(body.as_bytes()).unwrap_err();
        assert!(matches!(e.field(), Some("border_radius" | "max_tokens")), "{body}");
    }
}

#[test]
fn patch_from_pairs() {
    let p =
        WidgetSettingsPatch::from_pairs(&["max_tokens=100", "auto_open=true", "position=top-left"]).unwrap();
    assert_eq!(p.max_tokens, Some(100));
    assert_eq!(p.auto_open, Some(true));
    assert_eq!(p.position, Some(Position::TopLeft));
    assert_eq!(
        WidgetSettingsPatch::from_pairs(&["primary_color=red"]).unwrap_err().field(),
        Some("primary_color")
    );
    assert_eq!(WidgetSettingsPatch::from_pairs(&["nope=1"]).unwrap_err().field(), Some("nope"));
}

/// The settings of issue 14: hostile input is refused naming the field, good input trimmed.
#[test]
fn new_settings_validated_naming_the_field() {
    let long = "x".repeat(10_000);
    let huge: Vec<String> = (0..100_000).map(|i| format!("q{i}")).collect();
    for (body, field) in [
        (json!({"suggested_questions": huge}), "suggested_questions"),
        (json!({"suggested_questions": ["a", "b", "c", "d", "e"]}), "suggested_questions"),
        (json!({"suggested_questions": [long]}), "suggested_questions"),
        (json!({"suggested_questions": ["x".repeat(121)]}), "suggested_questions"),
        (json!({"suggested_questions": ["   "]}), "suggested_questions"),
        (json!({"suggested_questions": ["line\nbreak"]}), "suggested_questions"),
        (json!({"suggested_questions": ["bell\u{7}"]}), "suggested_questions"),
        (json!({"suggested_questions": ["c1\u{85}x"]}), "suggested_questions"),
        // checked as sent: a control character at an end, or padding past 120, is refused too
        (json!({"suggested_questions": [" trailing newline\n"]}), "suggested_questions"),
        (json!({"suggested_questions": [format!(" {}", "x".repeat(120))]}), "suggested_questions"),
        (json!({"launcher_label": format!("{} ", "x".repeat(40))}), "launcher_label"),
        (json!({"launcher_label": "label\u{85}"}), "launcher_label"),
        (json!({"suggested_questions": "one question"}), "suggested_questions"),
        (json!({"suggested_questions": [1, 2]}), "suggested_questions"),
        (json!({"suggested_questions": [["nested"]]}), "suggested_questions"),
        (json!({"suggested_questions": null}), "suggested_questions"),
        (json!({"language": "xx"}), "language"),
        (json!({"language": "EN"}), "language"),
        (json!({"language": ""}), "language"),
        (json!({"language": long}), "language"),
        (json!({"language": 7}), "language"),
        (json!({"show_sources": "yes"}), "show_sources"),
        (json!({"show_sources": 1}), "show_sources"),
        (json!({"show_sources": null}), "show_sources"),
        (json!({"launcher_label": "x".repeat(41)}), "launcher_label"),
        (json!({"launcher_label": long}), "launcher_label"),
        (json!({"launcher_label": "tab\there"}), "launcher_label"),
        (json!({"launcher_label": false}), "launcher_label"),
    ] {
        let e = WidgetSettingsPatch::from_value(body.clone()).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e} for {}", &body.to_string()[..body.to_string().len().min(80)]);
        assert!(matches!(e, Error::Invalid { .. }), "{e}");
        assert!(e.to_string().len() < 300, "a short message: {e}");
    }
    let ok = WidgetSettingsPatch::from_value(json!({
        "suggested_questions": [" What are your opening hours? ", "¿Envían a España?", "שלום", &"é".repeat(120)],
        "language": "ar", "show_sources": false, "launcher_label": "  Hilfe? ",
    }))
    .unwrap();
    let qs = ok.suggested_questions.as_deref().unwrap();
    assert_eq!((qs.len(), qs[0].as_str()), (4, "What are your opening hours?"));
    assert_eq!(ok.launcher_label.as_deref(), Some("Hilfe?"));
    for l in ["auto", "en", "de", "fr", "es", "nl", "ar", "he"] {
        assert!(WidgetSettingsPatch::from_value(json!({ "language": l })).is_ok(), "{l}");
    }
    let mut s = WidgetSettings::defaults_for("c", "C", Utc::now());
    ok.apply_to(&mut s);
    assert_eq!((s.language.as_str(), s.show_sources, s.suggested_questions.len()), ("ar", false, 4));
    // The JSON names are the contract's.
    let v = serde_json::to_value(&s).unwrap();
    for k in ["suggested_questions", "language", "show_sources", "launcher_label"] {
        assert!(v.get(k).is_some(), "{k} in {v}");
    }
}

#[test]
fn new_settings_from_cli_pairs() {
    let p = WidgetSettingsPatch::from_pairs(&[
        "suggested_questions=Opening hours? | Do you ship abroad?",
        "show_sources=no",
        "language=de",
        "launcher_label=Fragen?",
    ])
    .unwrap();
    assert_eq!(
        p.suggested_questions.as_deref(),
        Some(&["Opening hours?".to_string(), "Do you ship abroad?".to_string()][..])
    );
    assert_eq!((p.show_sources, p.language.as_deref()), (Some(false), Some("de")));
    let p = WidgetSettingsPatch::from_pairs(&[r#"suggested_questions=["a|b", "c"]"#]).unwrap();
    assert_eq!(p.suggested_questions.unwrap(), ["a|b", "c"]);
    let p = WidgetSettingsPatch::from_pairs(&["suggested_questions="]).unwrap();
    assert_eq!(p.suggested_questions, Some(Vec::new()), "empty clears");
    let e = WidgetSettingsPatch::from_pairs(&["suggested_questions=a|b|c|d|e"]).unwrap_err();
    assert_eq!(e.field(), Some("suggested_questions"));
}

#[test]
fn defaults_match_seed() {
    let s = WidgetSettings::defaults_for("123", "Demo", Utc::now());
    assert_eq!(
        (
            s.primary_color.as_str(),
            s.secondary_color.as_str(),
            s.text_color.as_str(),
            s.background_color.as_str()
        ),
        ("#007bff", "#6c757d", "#ffffff", "#ffffff")
    );
    assert_eq!((s.border_radius, s.max_tokens), (12, 500));
    assert_eq!(s.placeholder_text, "Type your message...");
    assert_eq!(s.position.as_str(), "bottom-right");
    assert!(!s.auto_open && s.show_typing_indicator);
    assert_eq!(s.ai_personality, "friendly and helpful assistant");
    assert!((s.ai_temperature - 0.7).abs() < f64::EPSILON);
    assert!(s.suggested_questions.is_empty());
    assert_eq!((s.language.as_str(), s.show_sources, s.launcher_label.as_str()), ("auto", true, ""));
}
