//! docs/openapi.yaml describes exactly the routes the server has (chatbot_server::Route::ALL, the
//! one list the server routes by).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

/// (METHOD, path) pairs under `paths:` of an OpenAPI YAML file (two-space indentation).
fn documented(yaml: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for line in yaml.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            in_paths = line.trim_end() == "paths:";
            path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let key = line.trim().trim_end_matches(':').trim_matches(|c| c == '"' || c == '\'');
        if indent == 2 && line.trim_end().ends_with(':') {
            path = Some(key.to_string());
        } else if indent == 4 {
            let m = key.to_ascii_lowercase();
            if ["get", "post", "put", "patch", "delete", "options", "head"].contains(&m.as_str())
                && let Some(p) = &path
            {
                out.insert((m.to_ascii_uppercase(), p.clone()));
            }
        }
    }
    out
}

#[test]
fn openapi_matches_the_route_table() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.starts_with("openapi: 3.1"), "an OpenAPI 3.1 document");
    let documented = documented(&yaml);
    let served: BTreeSet<(String, String)> = chatbot_server::Route::ALL
        .iter()
        .map(|r| (r.method().to_string(), r.template().to_string()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(missing.is_empty(), "routes the server has but docs/openapi.yaml does not describe: {missing:?}");
    assert!(extra.is_empty(), "routes docs/openapi.yaml describes but the server does not have: {extra:?}");
}

#[test]
fn the_parser_sees_paths_and_methods() {
    let y = "openapi: 3.1.0\npaths:\n  /a/{id}:\n    get:\n      summary: x\n    post:\n      summary: y\n  /b:\n    parameters: []\n    delete:\n      summary: z\ncomponents:\n  x:\n    get:\n";
    let d = documented(y);
    assert_eq!(d.len(), 3);
    assert!(d.contains(&("GET".into(), "/a/{id}".into())) && d.contains(&("DELETE".into(), "/b".into())));
}

/// The patterns the document publishes are the ones the server validates with
/// (chatbot_core::guard::patterns), character for character.
#[test]
fn published_patterns_are_the_servers() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    use chatbot_core::guard::patterns as p;
    for (name, pattern) in [
        ("COLOR", p::COLOR),
        ("NOT_BLANK", p::NOT_BLANK),
        ("NO_CONTROL", p::NO_CONTROL),
        ("TEXT_NO_CONTROL", p::TEXT_NO_CONTROL),
        ("ORIGIN", p::ORIGIN),
        ("HTTP_URL", p::HTTP_URL),
        ("VISITOR_TOKEN", p::VISITOR_TOKEN),
        ("SINCE_RELATIVE", p::SINCE_RELATIVE),
    ] {
        let published = format!("pattern: '{pattern}'");
        assert!(yaml.contains(&published), "docs/openapi.yaml lacks patterns::{name}: {published}");
    }
    // and it publishes no other pattern
    let count = yaml.matches("pattern: '").count();
    let distinct: std::collections::BTreeSet<&str> =
        yaml.lines().filter_map(|l| l.split("pattern: '").nth(1)?.split('\'').next()).collect();
    assert_eq!(distinct.len(), 8, "patterns in docs/openapi.yaml: {distinct:?} ({count} uses)");
}
