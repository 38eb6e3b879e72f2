//! Companies, widget settings and API keys.

use super::*;

pub async fn companies_create_get_list_deactivate(store: &Arc<dyn Store>) {
    let s = store;
    let mut n = new_company("123");
    n.ai_config = AiConfig {
        allowed_topics: vec!["orders".into()],
        daily_token_budget: Some(10_000),
        ..AiConfig::default()
    };
    let before = now();
    let c = s.create_company(&n).await.unwrap();
    assert_eq!(c.company_id, "123");
    assert_eq!(c.company_name, "Company 123");
    assert_eq!(c.email, "owner@123.example");
    assert_eq!(c.phone.as_deref(), Some("+31 20 123 4567"));
    assert_eq!(c.website.as_deref(), Some("https://123.example"));
    assert!(c.is_active);
    assert_eq!(c.ai_config, n.ai_config);
    assert!(c.created_at >= before - TimeDelta::seconds(1));
    assert_eq!(s.get_company("123").await.unwrap().as_ref(), Some(&c));

    // The widget settings row was created in the same transaction, with the seed's defaults.
    let ws = s.get_widget_settings("123").await.unwrap().unwrap();
    let mut expected = WidgetSettings::defaults_for("123", "Company 123", ws.created_at);
    expected.allowed_origins = vec!["https://123.example".into()];
    assert_eq!(ws, expected);
    assert_eq!(ws.welcome_message, "Hi! Welcome to Company 123. How can I help you today?");
    // The company and its settings in one round trip, equal to the two separate reads.
    let (jc, js) = s.get_company_with_settings("123").await.unwrap().unwrap();
    assert_eq!((&jc, js.as_ref()), (&c, Some(&ws)));
    assert!(s.get_company_with_settings("nope").await.unwrap().is_none());

    s.create_company(&new_company("456")).await.unwrap();
    let ids: Vec<String> = s.list_companies().await.unwrap().into_iter().map(|c| c.company_id).collect();
    assert_eq!(ids, vec!["123".to_string(), "456".to_string()]);

    // The one-round-trip public read agrees with the two separate reads.
    assert_eq!(s.get_public_widget_settings("123").await.unwrap(), Some((true, ws.clone())));
    assert_eq!(s.get_public_widget_settings("nope").await.unwrap(), None);

    s.set_company_active("123", false).await.unwrap();
    assert_eq!(s.get_public_widget_settings("123").await.unwrap().map(|(active, _)| active), Some(false));
    let c2 = s.get_company("123").await.unwrap().unwrap();
    assert!(!c2.is_active);
    assert!(c2.updated_at >= c.updated_at);
    s.set_company_active("123", true).await.unwrap();
    assert!(s.get_company("123").await.unwrap().unwrap().is_active);

    let cfg = AiConfig { model: Some("gpt-4o-mini".into()), ..AiConfig::default() };
    s.update_ai_config("456", &cfg).await.unwrap();
    assert_eq!(s.get_company("456").await.unwrap().unwrap().ai_config, cfg);

    assert!(s.get_company("nope").await.unwrap().is_none());
    assert!(s.get_widget_settings("nope").await.unwrap().is_none());
    assert!(matches!(s.set_company_active("nope", false).await, Err(Error::NotFound { .. })));
    assert!(matches!(s.update_ai_config("nope", &cfg).await, Err(Error::NotFound { .. })));
}

pub async fn duplicate_company_is_a_conflict(store: &Arc<dyn Store>) {
    let s = store;
    s.create_company(&new_company("dup")).await.unwrap();
    let mut again = new_company("dup");
    again.company_name = "Other".into();
    let err = s.create_company(&again).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "got {err:?}");
    // Nothing of the failed attempt remains.
    assert_eq!(s.get_company("dup").await.unwrap().unwrap().company_name, "Company dup");
    assert_eq!(s.get_widget_settings("dup").await.unwrap().unwrap().company_name, "Company dup");
    assert_eq!(s.list_companies().await.unwrap().len(), 1);
}

pub async fn widget_settings_patch(store: &Arc<dyn Store>) {
    let s = store;
    s.create_company(&new_company("w")).await.unwrap();
    let before = s.get_widget_settings("w").await.unwrap().unwrap();

    let patch = WidgetSettingsPatch::from_json(
        br##"{"primary_color": "#ff0000", "welcome_message": "Hello!", "company_logo": "https://w.example/logo.png",
            "position": "top-left", "auto_open": true, "ai_temperature": 1.3, "max_tokens": 800,
            "allowed_origins": ["https://a.example", "https://b.example"]}"##,
    )
    .unwrap();
    let after = s.update_widget_settings("w", &patch).await.unwrap();
    let mut expected = before.clone();
    patch.apply_to(&mut expected);
    expected.updated_at = after.updated_at;
    assert_eq!(after, expected);
    assert!(after.updated_at >= before.updated_at);
    assert_eq!(after.primary_color, "#ff0000");
    assert_eq!(after.secondary_color, "#6c757d", "untouched field kept");
    assert_eq!(after.company_logo.as_deref(), Some("https://w.example/logo.png"));
    assert_eq!(after.position, Position::TopLeft);
    assert_eq!(after.ai_temperature, 1.3);
    assert_eq!(s.get_widget_settings("w").await.unwrap().unwrap(), after);

    // Absent logo leaves it; explicit null clears it.
    let text = WidgetSettingsPatch::from_json(br##"{"text_color":"#000000"}"##).unwrap();
    let kept = s.update_widget_settings("w", &text).await.unwrap();
    assert_eq!(kept.company_logo.as_deref(), Some("https://w.example/logo.png"));
    let cleared = s
        .update_widget_settings("w", &WidgetSettingsPatch::from_json(br#"{"company_logo":null}"#).unwrap())
        .await;
    assert_eq!(cleared.unwrap().company_logo, None);

    // The settings of issue 14: defaults, then set, then each kept by a patch of another field.
    assert!(after.suggested_questions.is_empty());
    assert_eq!(
        (after.language.as_str(), after.show_sources, after.launcher_label.as_str()),
        ("auto", true, "")
    );
    let more = WidgetSettingsPatch::from_json(
        r#"{"suggested_questions": ["  Opening hours?  ", "Do you ship to Zürich? 🚚"], "language": "he",
            "show_sources": false, "launcher_label": "Ask us"}"#
            .as_bytes(),
    )
    .unwrap();
    let set = s.update_widget_settings("w", &more).await.unwrap();
    assert_eq!(set.suggested_questions, ["Opening hours?", "Do you ship to Zürich? 🚚"], "trimmed");
    assert_eq!(
        (set.language.as_str(), set.show_sources, set.launcher_label.as_str()),
        ("he", false, "Ask us")
    );
    let kept = s.update_widget_settings("w", &text).await.unwrap();
    assert_eq!(
        (&kept.suggested_questions, kept.language.as_str(), kept.show_sources, kept.launcher_label.as_str()),
        (&set.suggested_questions, "he", false, "Ask us")
    );
    assert_eq!(s.get_widget_settings("w").await.unwrap().unwrap(), kept);
    // An empty list and an empty label clear them.
    let clear =
        WidgetSettingsPatch::from_json(br#"{"suggested_questions": [], "launcher_label": ""}"#).unwrap();
    let cleared = s.update_widget_settings("w", &clear).await.unwrap();
    assert!(cleared.suggested_questions.is_empty() && cleared.launcher_label.is_empty());

    // An empty patch still answers with the row.
    let same = s.update_widget_settings("w", &WidgetSettingsPatch::default()).await.unwrap();
    assert_eq!(same.primary_color, "#ff0000");

    let err = s.update_widget_settings("nope", &patch).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "got {err:?}");
}

pub async fn concurrent_patches_of_different_fields_all_land(store: &Arc<dyn Store>) {
    let s = store.clone();
    s.create_company(&new_company("cc")).await.unwrap();
    let patches: Vec<WidgetSettingsPatch> = [
        json!({"primary_color": "#111111"}),
        json!({"secondary_color": "#222222"}),
        json!({"text_color": "#333333"}),
        json!({"background_color": "#444444"}),
        json!({"border_radius": 3}),
        json!({"welcome_message": "Welcome, concurrently"}),
        json!({"placeholder_text": "Ask away"}),
        json!({"position": "bottom-left"}),
        json!({"auto_open": true}),
        json!({"show_typing_indicator": false}),
        json!({"ai_personality": "terse"}),
        json!({"ai_temperature": 0.2}),
        json!({"max_tokens": 42}),
        json!({"allowed_origins": ["https://cc.example"]}),
        json!({"suggested_questions": ["Concurrent?"]}),
        json!({"language": "nl"}),
        json!({"show_sources": false}),
        json!({"launcher_label": "Vraag het ons"}),
    ]
    .into_iter()
    .map(|v| WidgetSettingsPatch::from_value(v).unwrap())
    .collect();
    // Several rounds, every patch in its own task, all at once.
    for _ in 0..3 {
        let tasks: Vec<_> = patches
            .iter()
            .cloned()
            .map(|p| {
                let s = s.clone();
                tokio::spawn(async move { s.update_widget_settings("cc", &p).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    }
    let got = s.get_widget_settings("cc").await.unwrap().unwrap();
    let mut expected = got.clone();
    for p in &patches {
        p.apply_to(&mut expected);
    }
    assert_eq!(got, expected, "every concurrent patch landed");
    assert_eq!(got.primary_color, "#111111");
    assert_eq!(got.max_tokens, 42);
    assert_eq!(got.position, Position::BottomLeft);
    assert_eq!((got.language.as_str(), got.show_sources), ("nl", false));
    assert_eq!(
        (got.suggested_questions.as_slice(), got.launcher_label.as_str()),
        (&["Concurrent?".to_string()][..], "Vraag het ons")
    );
    assert_eq!(got.company_name, "Company cc", "unpatched field untouched");
}

pub async fn api_keys_insert_find_revoke(store: &Arc<dyn Store>) {
    let s = store;
    let pk = generate_key("k1", KeyKind::Publishable);
    let sk = generate_key("k1", KeyKind::Secret);
    let mut pk_rec = pk.record.clone();
    pk_rec.created_at = now() - TimeDelta::seconds(10);
    let mut sk_rec = sk.record.clone();
    sk_rec.created_at = now();
    s.insert_api_key(&pk_rec).await.unwrap();
    s.insert_api_key(&sk_rec).await.unwrap();

    let found = s.find_api_key(&pk_rec.key_hash).await.unwrap().unwrap();
    assert_eq!(found, pk_rec);
    assert!(found.matches(&pk.token));
    assert_eq!(found.kind, KeyKind::Publishable);
    assert!(s.find_api_key(&crate::auth::hash_key("pk_unknown")).await.unwrap().is_none());

    // Newest first.
    let list = s.list_api_keys("k1").await.unwrap();
    assert_eq!(
        list.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(),
        vec![sk_rec.key_id.as_str(), pk_rec.key_id.as_str()]
    );

    // Same hash twice is a conflict.
    let mut clash = pk_rec.clone();
    clash.key_id = "key_other".into();
    assert!(matches!(s.insert_api_key(&clash).await, Err(Error::Conflict(_))));

    let used = now();
    s.touch_api_key(&sk_rec.key_id, used).await.unwrap();
    assert_eq!(s.find_api_key(&sk_rec.key_hash).await.unwrap().unwrap().last_used_at, Some(used));

    assert!(s.revoke_api_key(&sk_rec.key_id).await.unwrap());
    let revoked = s.find_api_key(&sk_rec.key_hash).await.unwrap().unwrap();
    let at = revoked.revoked_at.expect("revoked_at set");
    assert!(!revoked.is_active());
    assert!(s.revoke_api_key(&sk_rec.key_id).await.unwrap(), "revoking twice is harmless");
    assert_eq!(
        s.find_api_key(&sk_rec.key_hash).await.unwrap().unwrap().revoked_at,
        Some(at),
        "the first revocation time is kept"
    );
    assert!(!s.revoke_api_key("key_missing").await.unwrap());
    assert!(s.find_api_key(&pk_rec.key_hash).await.unwrap().unwrap().is_active());
}

pub async fn company_patch_and_client_type(store: &Arc<dyn Store>) {
    let s = store;
    // The default is a business owner; a realtor is stored as one.
    let c = s.create_company(&new_company("biz")).await.unwrap();
    assert_eq!(c.client_type, ClientType::BusinessOwner);
    let mut n = new_company("homes");
    n.client_type = ClientType::Realtor;
    let h = s.create_company(&n).await.unwrap();
    assert_eq!(h.client_type, ClientType::Realtor);
    assert_eq!(s.get_company("homes").await.unwrap().unwrap().client_type, ClientType::Realtor);
    let (jc, _) = s.get_company_with_settings("homes").await.unwrap().unwrap();
    assert_eq!(jc.client_type, ClientType::Realtor);

    // Only the named fields change; "" clears phone and website.
    let p = CompanyPatch { client_type: Some(ClientType::Realtor), ..CompanyPatch::default() };
    let u = s.update_company("biz", &p).await.unwrap();
    assert_eq!(u.client_type, ClientType::Realtor);
    assert_eq!(u.company_name, c.company_name);
    assert_eq!(u.phone, c.phone);
    assert!(u.updated_at >= c.updated_at);
    let p = CompanyPatch {
        company_name: Some("Biz & Co".into()),
        phone: Some(String::new()),
        website: Some("https://biz.example".into()),
        ..CompanyPatch::default()
    };
    let u = s.update_company("biz", &p).await.unwrap();
    assert_eq!(u.company_name, "Biz & Co");
    assert_eq!(u.phone, None);
    assert_eq!(u.website.as_deref(), Some("https://biz.example"));
    assert_eq!(u.client_type, ClientType::Realtor, "an absent field stays");
    assert_eq!(s.get_company("biz").await.unwrap().as_ref(), Some(&u));
    // The other company is untouched.
    assert_eq!(s.get_company("homes").await.unwrap().unwrap(), h);
    assert!(matches!(s.update_company("nope", &p).await, Err(Error::NotFound { .. })));
}
