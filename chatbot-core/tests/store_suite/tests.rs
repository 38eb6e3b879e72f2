//! The suite itself: every function runs once per backend (see the `suite!` macro).

use std::collections::BTreeSet;
use std::sync::Arc;

use chatbot_core::auth::{KeyKind, generate_key};
use chatbot_core::conversation::{Message, Role, Session};
use chatbot_core::error::Error;
use chatbot_core::lead::{Lead, LeadFilter, LeadStatus};
use chatbot_core::store::{ChunkRecord, EmbedderIdentity, SourceState, Store, WebhookDelivery};
use chatbot_core::tenant::{AiConfig, NewCompany, Position, WidgetSettings, WidgetSettingsPatch, defaults};
use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use serde_json::json;

use super::harness::Ctx;

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn new_company(id: &str) -> NewCompany {
    NewCompany {
        company_id: id.into(),
        company_name: format!("Company {id}"),
        email: format!("owner@{id}.example"),
        phone: Some("+31 20 123 4567".into()),
        website: Some(format!("https://{id}.example")),
        logo_url: None,
        ai_config: AiConfig::default(),
        allowed_origins: vec![format!("https://{id}.example")],
    }
}

fn session(company: &str, id: &str) -> Session {
    let t = now();
    Session {
        session_id: id.into(),
        company_id: company.into(),
        user_id: format!("user-{id}"),
        lead_id: None,
        client_ip: Some("127.0.0.1".into()),
        expires_at: t + TimeDelta::hours(1),
        created_at: t,
        last_seen_at: t,
    }
}

fn chunk(company: &str, id: &str, source: &str, content: &str) -> ChunkRecord {
    ChunkRecord {
        company_id: company.into(),
        vector_id: id.into(),
        content: content.into(),
        metadata: json!({"title": "T", "n": 1}),
        source: Some(source.into()),
    }
}

fn source_state(company: &str, source: &str, hash: &str) -> SourceState {
    SourceState {
        company_id: company.into(),
        source: source.into(),
        title: Some("Title".into()),
        content_hash: hash.into(),
        etag: Some("\"abc\"".into()),
        last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
        chunk_count: 3,
        ingested_at: now(),
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

// ---------------------------------------------------------------------------------------------

pub async fn migrations_create_every_seed_column(ctx: &Ctx) {
    let expected: &[(&str, &[&str])] = &[
        (
            "user_companies",
            &[
                "id",
                "company_id",
                "company_name",
                "email",
                "phone",
                "website",
                "logo_url",
                "settings",
                "ai_config",
                "is_active",
                "created_at",
                "updated_at",
            ],
        ),
        (
            "widget_settings",
            &[
                "id",
                "company_id",
                "primary_color",
                "secondary_color",
                "text_color",
                "background_color",
                "border_radius",
                "company_name",
                "company_logo",
                "welcome_message",
                "placeholder_text",
                "position",
                "auto_open",
                "show_typing_indicator",
                "ai_personality",
                "ai_temperature",
                "max_tokens",
                "allowed_origins",
                "created_at",
                "updated_at",
            ],
        ),
        (
            "chat_conversations",
            &[
                "id",
                "company_id",
                "user_id",
                "session_id",
                "messages",
                "metadata",
                "last_activity_at",
                "created_at",
                "updated_at",
            ],
        ),
        (
            "pinecone_vectors",
            &["id", "company_id", "vector_id", "content", "metadata", "source", "created_at", "updated_at"],
        ),
        (
            "sessions",
            &[
                "session_id",
                "company_id",
                "user_id",
                "lead_id",
                "client_ip",
                "expires_at",
                "created_at",
                "last_seen_at",
            ],
        ),
        (
            "leads",
            &[
                "lead_id",
                "company_id",
                "session_id",
                "user_id",
                "source",
                "status",
                "is_lead_ready",
                "name",
                "email",
                "phone",
                "message",
                "ai_summary",
                "profile",
                "notified_at",
                "created_at",
                "updated_at",
            ],
        ),
        (
            "api_keys",
            &[
                "key_id",
                "company_id",
                "kind",
                "prefix",
                "key_hash",
                "created_at",
                "last_used_at",
                "revoked_at",
            ],
        ),
        (
            "ingest_sources",
            &[
                "company_id",
                "source",
                "title",
                "content_hash",
                "etag",
                "last_modified",
                "chunk_count",
                "ingested_at",
            ],
        ),
        ("company_embedders", &["company_id", "model", "dimension"]),
        ("token_usage", &["company_id", "day", "tokens"]),
        ("webhook_secrets", &["company_id", "secret"]),
        (
            "webhook_deliveries",
            &[
                "id",
                "company_id",
                "lead_id",
                "url",
                "attempts",
                "status_code",
                "error",
                "delivered",
                "created_at",
            ],
        ),
    ];
    for (table, cols) in expected {
        assert_eq!(ctx.columns(table).await, set(cols), "{} columns of {table}", ctx.backend());
    }

    // The seed's named indexes and unique keys, with their columns.
    for (table, index, cols, unique) in [
        ("chat_conversations", "idx_company_user", &["company_id", "user_id"][..], false),
        ("chat_conversations", "idx_company_session", &["company_id", "session_id"][..], false),
        ("chat_conversations", "unique_company_session", &["company_id", "session_id"][..], true),
        ("pinecone_vectors", "idx_company", &["company_id"][..], false),
        ("pinecone_vectors", "unique_company_vector", &["company_id", "vector_id"][..], true),
        ("pinecone_vectors", "idx_company_source", &["company_id", "source"][..], false),
        ("widget_settings", "unique_widget_company", &["company_id"][..], true),
        ("leads", "unique_lead_session", &["company_id", "session_id"][..], true),
        ("leads", "idx_leads_company_status", &["company_id", "status"][..], false),
        ("sessions", "idx_sessions_company", &["company_id"][..], false),
    ] {
        assert!(ctx.indexes(table).await.contains(index), "{} index {index} on {table}", ctx.backend());
        assert_eq!(ctx.index_columns(index).await, cols, "columns of {index}");
        assert_eq!(ctx.index_is_unique(index).await, unique, "uniqueness of {index}");
    }

    // user_companies.company_id and api_keys.key_hash are unique.
    ctx.exec("INSERT INTO user_companies (company_id, company_name, email) VALUES ('u1', 'n', 'e')")
        .await
        .unwrap();
    assert!(
        ctx.exec("INSERT INTO user_companies (company_id, company_name, email) VALUES ('u1', 'n', 'e')")
            .await
            .is_err()
    );
    // The lead status and key kind CHECKs and the position ENUM emulation reject other values.
    assert!(
        ctx.exec(
            "INSERT INTO leads (lead_id, company_id, session_id, user_id, status) VALUES ('l', 'c', 's', 'u', 'lost')"
        )
        .await
        .is_err()
    );
    assert!(
        ctx.exec(
            "INSERT INTO api_keys (key_id, company_id, kind, prefix, key_hash) VALUES ('k', 'c', 'admin', 'p', 'h')"
        )
        .await
        .is_err()
    );
    assert!(
        ctx.exec(
            "INSERT INTO widget_settings (company_id, company_name, welcome_message, position) \
             VALUES ('u1', 'n', 'w', 'middle')"
        )
        .await
        .is_err()
    );
}

pub async fn migrations_are_idempotent(ctx: &Ctx) {
    ctx.store.migrate().await.unwrap();
    ctx.store.migrate().await.unwrap();
    ctx.store.create_company(&new_company("c1")).await.unwrap();
    // A second store on the same database (another server process) migrates and sees the data.
    let other = chatbot_core::store::open(&ctx.url).await.unwrap();
    assert_eq!(other.backend(), ctx.backend());
    assert!(other.get_company("c1").await.unwrap().is_some());
    other.ping().await.unwrap();
}

pub async fn schema_defaults_equal_the_seed(ctx: &Ctx) {
    // Rows inserted with only the required columns take the schema defaults: the seed's.
    ctx.exec(
        "INSERT INTO user_companies (company_id, company_name, email) VALUES ('raw', 'Raw Co', 'r@x.y')",
    )
    .await
    .unwrap();
    ctx.exec(
        "INSERT INTO widget_settings (company_id, company_name, welcome_message) VALUES ('raw', 'Raw Co', 'Hi')",
    )
    .await
    .unwrap();
    let c = ctx.store.get_company("raw").await.unwrap().unwrap();
    assert!(c.is_active, "is_active defaults to true");
    assert_eq!(c.ai_config, AiConfig::default());
    assert_eq!(c.settings, None);
    let s = ctx.store.get_widget_settings("raw").await.unwrap().unwrap();
    assert_eq!(s.primary_color, "#007bff");
    assert_eq!(s.secondary_color, "#6c757d");
    assert_eq!(s.text_color, "#ffffff");
    assert_eq!(s.background_color, "#ffffff");
    assert_eq!(s.border_radius, 12);
    assert_eq!(s.placeholder_text, "Type your message...");
    assert_eq!(s.position, Position::BottomRight);
    assert!(!s.auto_open);
    assert!(s.show_typing_indicator);
    assert_eq!(s.ai_personality, "friendly and helpful assistant");
    assert_eq!(s.ai_temperature, 0.7, "ai_temperature reads back exactly 0.7");
    assert_eq!(s.max_tokens, 500);
    assert_eq!(s.company_logo, None);
    assert!(s.allowed_origins.is_empty());
    // ... and they agree with the constants the code uses.
    assert_eq!(
        (s.primary_color.as_str(), s.border_radius, s.ai_temperature, s.max_tokens),
        (defaults::PRIMARY_COLOR, defaults::BORDER_RADIUS, defaults::AI_TEMPERATURE, defaults::MAX_TOKENS)
    );

    // Leads: the seed's "Lead Creation Logic" defaults.
    ctx.exec(
        "INSERT INTO leads (lead_id, company_id, session_id, user_id) VALUES ('lead_raw', 'raw', 's', 'u')",
    )
    .await
    .unwrap();
    let l = ctx.store.get_lead("raw", "lead_raw").await.unwrap().unwrap();
    assert_eq!(l.source, "chatbot");
    assert_eq!(l.status, LeadStatus::New);
    assert!(!l.is_lead_ready);
    assert_eq!((l.name.as_str(), l.email.as_str(), l.phone.as_str()), ("Anonymous", "", ""));
    assert_eq!((l.message.as_str(), l.ai_summary.as_str()), ("", ""));
    assert!(l.profile.is_empty());
    assert!(l.messages.is_empty());
    assert_eq!(l.notified_at, None);
}

pub async fn companies_create_get_list_deactivate(ctx: &Ctx) {
    let s = &ctx.store;
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

pub async fn duplicate_company_is_a_conflict(ctx: &Ctx) {
    let s = &ctx.store;
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

pub async fn widget_settings_patch(ctx: &Ctx) {
    let s = &ctx.store;
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

    // An empty patch still answers with the row.
    let same = s.update_widget_settings("w", &WidgetSettingsPatch::default()).await.unwrap();
    assert_eq!(same.primary_color, "#ff0000");

    let err = s.update_widget_settings("nope", &patch).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "got {err:?}");
}

pub async fn concurrent_patches_of_different_fields_all_land(ctx: &Ctx) {
    let s = ctx.store.clone();
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
    assert_eq!(got.company_name, "Company cc", "unpatched field untouched");
}

pub async fn api_keys_insert_find_revoke(ctx: &Ctx) {
    let s = &ctx.store;
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
    assert!(s.find_api_key(&chatbot_core::auth::hash_key("pk_unknown")).await.unwrap().is_none());

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

pub async fn sessions_insert_get_update(ctx: &Ctx) {
    let s = &ctx.store;
    let mut sess = session("s1", "sess_a");
    s.insert_session(&sess).await.unwrap();
    assert_eq!(s.get_session("s1", "sess_a").await.unwrap().as_ref(), Some(&sess));
    assert!(s.get_session("s1", "sess_missing").await.unwrap().is_none());

    sess.lead_id = Some("lead_1".into());
    sess.last_seen_at = now() + TimeDelta::seconds(5);
    sess.expires_at += TimeDelta::hours(2);
    sess.client_ip = None;
    s.update_session(&sess).await.unwrap();
    assert_eq!(s.get_session("s1", "sess_a").await.unwrap().as_ref(), Some(&sess));

    assert!(matches!(s.insert_session(&sess).await, Err(Error::Conflict(_))), "duplicate token");
    let ghost = session("s1", "sess_ghost");
    assert!(matches!(s.update_session(&ghost).await, Err(Error::NotFound { .. })));
}

pub async fn conversations_ensure_append_list_delete(ctx: &Ctx) {
    let s = &ctx.store;
    let c = s.ensure_conversation("cv", "sess_1", "user_1").await.unwrap();
    assert_eq!(
        (c.company_id.as_str(), c.session_id.as_str(), c.user_id.as_str()),
        ("cv", "sess_1", "user_1")
    );
    assert!(c.messages.is_empty());
    let again = s.ensure_conversation("cv", "sess_1", "someone_else").await.unwrap();
    assert_eq!(again.id, c.id, "one conversation per session");
    assert_eq!(again.user_id, "user_1");

    let m1 = Message::new(Role::User, "Hello, I need help with my order");
    let m2 = Message::new(Role::Assistant, "Sure — what is the order number? \"quotes\" and 'apostrophes' ü");
    let m3 = Message::new(Role::User, "It's 12345");
    s.append_messages("cv", "sess_1", std::slice::from_ref(&m1)).await.unwrap();
    s.append_messages("cv", "sess_1", &[m2.clone(), m3.clone()]).await.unwrap();
    s.append_messages("cv", "sess_1", &[]).await.unwrap();
    let got = s.get_conversation("cv", "sess_1").await.unwrap().unwrap();
    assert_eq!(got.messages, vec![m1.clone(), m2.clone(), m3.clone()]);
    assert!(got.last_activity_at >= c.last_activity_at);

    // A long batch (more than one statement's worth) keeps its order.
    let many: Vec<Message> = (0..130).map(|i| Message::new(Role::User, format!("m{i}"))).collect();
    s.ensure_conversation("cv", "sess_long", "u").await.unwrap();
    s.append_messages("cv", "sess_long", &many).await.unwrap();
    assert_eq!(s.get_conversation("cv", "sess_long").await.unwrap().unwrap().messages, many);

    // Appending to a missing conversation is NotFound, not a silent no-op.
    let err = s.append_messages("cv", "sess_none", std::slice::from_ref(&m1)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "got {err:?}");

    // Newest activity first, with limit and offset.
    s.ensure_conversation("cv", "sess_2", "user_2").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.append_messages("cv", "sess_2", &[Message::new(Role::User, "latest")]).await.unwrap();
    let list = s.list_conversations("cv", 10, 0).await.unwrap();
    assert_eq!(
        list.iter().map(|c| c.session_id.as_str()).collect::<Vec<_>>(),
        vec!["sess_2", "sess_long", "sess_1"]
    );
    let page = s.list_conversations("cv", 1, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].session_id, "sess_long");
    assert!(s.list_conversations("cv", 10, 3).await.unwrap().is_empty());

    assert!(s.delete_conversation("cv", "sess_1").await.unwrap());
    assert!(!s.delete_conversation("cv", "sess_1").await.unwrap());
    assert!(s.get_conversation("cv", "sess_1").await.unwrap().is_none());
}

pub async fn concurrent_appends_are_never_lost(ctx: &Ctx) {
    let s = ctx.store.clone();
    s.ensure_conversation("ca", "sess_c", "u").await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let pair = [
                    Message::new(Role::User, format!("q{i}")),
                    Message::new(Role::Assistant, format!("a{i}")),
                ];
                s.append_messages("ca", "sess_c", &pair).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let msgs = s.get_conversation("ca", "sess_c").await.unwrap().unwrap().messages;
    assert_eq!(msgs.len(), 40, "all 20 concurrent appends present");
    for i in 0..20 {
        let q = msgs.iter().position(|m| m.content == format!("q{i}")).expect("question present");
        assert_eq!(msgs[q + 1].content, format!("a{i}"), "one append's messages stay together, in order");
    }
}

pub async fn append_to_conversation_creates_then_appends(ctx: &Ctx) {
    let s = ctx.store.clone();
    let m1 = Message::new(Role::User, "Do you ship to Germany? \"quoted\" ü");
    let c = s.append_to_conversation("ac", "sess_a", "user_a", std::slice::from_ref(&m1)).await.unwrap();
    assert_eq!(
        (c.company_id.as_str(), c.session_id.as_str(), c.user_id.as_str()),
        ("ac", "sess_a", "user_a")
    );
    assert_eq!(c.messages, vec![m1.clone()], "created with the message");
    let m2 = Message::new(Role::Assistant, "Yes.");
    let m3 = Message::new(Role::User, "Thanks");
    let c2 =
        s.append_to_conversation("ac", "sess_a", "someone_else", &[m2.clone(), m3.clone()]).await.unwrap();
    assert_eq!(c2.id, c.id, "one conversation per session");
    assert_eq!(c2.user_id, "user_a", "the first writer's user stays");
    assert_eq!(c2.messages, vec![m1.clone(), m2.clone(), m3.clone()], "returned as it is after the append");
    assert_eq!(s.get_conversation("ac", "sess_a").await.unwrap().unwrap().messages, c2.messages);
    // The same session id of another company is another conversation.
    let other = s.append_to_conversation("ac2", "sess_a", "user_b", std::slice::from_ref(&m3)).await.unwrap();
    assert_ne!(other.id, c.id);
    assert_eq!(other.messages, vec![m3.clone()]);
    assert_eq!(s.get_conversation("ac", "sess_a").await.unwrap().unwrap().messages.len(), 3);
    // A long batch takes the multi-statement path and keeps its order.
    let many: Vec<Message> = (0..120).map(|i| Message::new(Role::User, format!("m{i}"))).collect();
    let long = s.append_to_conversation("ac", "sess_long", "u", &many).await.unwrap();
    assert_eq!(long.messages, many);

    // Twenty first messages of one new session at once: one conversation, nothing lost, and
    // each caller sees its own message last.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let m = Message::new(Role::User, format!("first {i}"));
                let c = s.append_to_conversation("ac", "sess_race", "u", std::slice::from_ref(&m)).await?;
                Ok::<_, Error>((m, c))
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (m, c) = t.await.unwrap().unwrap();
        assert_eq!(c.messages.last(), Some(&m), "the returned conversation ends with this caller's message");
        ids.insert(c.id);
    }
    assert_eq!(ids.len(), 1, "one conversation");
    assert_eq!(s.get_conversation("ac", "sess_race").await.unwrap().unwrap().messages.len(), 20);
}

pub async fn append_with_lead_inserts_the_lead_once(ctx: &Ctx) {
    let s = ctx.store.clone();
    let m1 = Message::new(Role::User, "I'm Jane, jane@example.com");
    let mut lead = Lead::new("lead_w1".into(), "wl", "sess_w", "user_w");
    lead.name = "Jane".into();
    lead.email = "jane@example.com".into();
    let (c, inserted) = s
        .append_to_conversation_with_lead("wl", "sess_w", "user_w", std::slice::from_ref(&m1), &lead)
        .await
        .unwrap();
    assert!(inserted);
    assert_eq!(c.messages, vec![m1.clone()]);
    let stored = s.get_lead_by_session("wl", "sess_w").await.unwrap().unwrap();
    assert_eq!(
        (stored.lead_id.as_str(), stored.name.as_str(), stored.email.as_str()),
        ("lead_w1", "Jane", "jane@example.com")
    );
    assert_eq!(stored.messages, vec![m1.clone()], "the lead sees its conversation");

    // The session has a lead now: a second one is not inserted, the first stays as it was.
    let m2 = Message::new(Role::User, "second");
    let other = Lead::new("lead_w2".into(), "wl", "sess_w", "user_w");
    let (c2, inserted) = s
        .append_to_conversation_with_lead("wl", "sess_w", "user_w", std::slice::from_ref(&m2), &other)
        .await
        .unwrap();
    assert!(!inserted);
    assert_eq!(c2.messages, vec![m1.clone(), m2.clone()]);
    assert_eq!(s.get_lead_by_session("wl", "sess_w").await.unwrap().unwrap().lead_id, "lead_w1");
    assert!(s.get_lead("wl", "lead_w2").await.unwrap().is_none());

    // The same session id in another company is another conversation with its own lead.
    let theirs = Lead::new("lead_w3".into(), "wl2", "sess_w", "x");
    let (c3, inserted) = s
        .append_to_conversation_with_lead("wl2", "sess_w", "x", std::slice::from_ref(&m2), &theirs)
        .await
        .unwrap();
    assert!(inserted);
    assert_ne!(c3.id, c.id);
    assert_eq!(s.get_lead_by_session("wl2", "sess_w").await.unwrap().unwrap().lead_id, "lead_w3");

    // Racing first turns of one new session: one lead, every message kept.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let m = Message::new(Role::User, format!("m{i}"));
                let l = Lead::new(format!("lead_r{i}"), "wl", "sess_r", "u");
                s.append_to_conversation_with_lead("wl", "sess_r", "u", std::slice::from_ref(&m), &l).await
            })
        })
        .collect();
    let mut inserted = 0;
    for t in tasks {
        inserted += usize::from(t.await.unwrap().unwrap().1);
    }
    assert_eq!(inserted, 1, "exactly one racing turn inserts the lead");
    assert_eq!(s.get_conversation("wl", "sess_r").await.unwrap().unwrap().messages.len(), 10);
}

pub async fn modify_lead_is_atomic_and_tenant_scoped(ctx: &Ctx) {
    let s = ctx.store.clone();
    s.insert_lead(&Lead::new("lead_m".into(), "ml", "sess_m", "u")).await.unwrap();
    // Twenty read-modify-writes at once, each adding one word: none is lost.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut add = |l: &mut Lead| {
                    l.ai_summary.push_str(&format!("w{i} "));
                    true
                };
                s.modify_lead("ml", "lead_m", &mut add).await
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap().is_some());
    }
    let l = s.get_lead("ml", "lead_m").await.unwrap().unwrap();
    for i in 0..20 {
        assert!(l.ai_summary.contains(&format!("w{i} ")), "write {i} kept: {}", l.ai_summary);
    }
    // f saying "unchanged" writes nothing; another company's id finds nothing.
    let mut touch = |l: &mut Lead| {
        l.name = "Not saved".into();
        false
    };
    let seen = s.modify_lead("ml", "lead_m", &mut touch).await.unwrap().unwrap();
    assert_eq!(seen.name, "Not saved", "the caller sees what f did");
    assert_ne!(s.get_lead("ml", "lead_m").await.unwrap().unwrap().name, "Not saved");
    let mut never = |_: &mut Lead| -> bool { panic!("f must not run for another company's lead") };
    assert!(s.modify_lead("other", "lead_m", &mut never).await.unwrap().is_none());
}

pub async fn leads_crud_filters_and_messages(ctx: &Ctx) {
    let s = &ctx.store;
    let t0 = now() - TimeDelta::seconds(30);
    let mut leads = Vec::new();
    for i in 0..4 {
        let sid = format!("sess_{i}");
        s.ensure_conversation("ld", &sid, "u").await.unwrap();
        let mut l = Lead::new(format!("lead_{i}"), "ld", &sid, "u");
        l.created_at = t0 + TimeDelta::seconds(i);
        l.updated_at = l.created_at;
        s.insert_lead(&l).await.unwrap();
        leads.push(l);
    }
    let got = s.get_lead("ld", "lead_0").await.unwrap().unwrap();
    assert_eq!(got, leads[0]);

    // Messages come from the session's conversation.
    let m =
        [Message::new(Role::User, "I'm Ann, ann@example.com"), Message::new(Role::Assistant, "Thanks Ann")];
    s.append_messages("ld", "sess_1", &m).await.unwrap();
    let l1 = s.get_lead("ld", "lead_1").await.unwrap().unwrap();
    assert_eq!(l1.messages, m.to_vec());
    assert_eq!(s.get_lead_by_session("ld", "sess_1").await.unwrap().unwrap().messages, m.to_vec());
    assert_eq!(s.find_lead_any_company("lead_1").await.unwrap().unwrap().company_id, "ld");
    assert!(s.find_lead_any_company("lead_missing").await.unwrap().is_none());

    // Update every mutable field.
    let mut upd = l1.clone();
    upd.name = "Ann".into();
    upd.email = "ann@example.com".into();
    upd.phone = "+1 555".into();
    upd.message = "I need help with my order".into();
    upd.ai_summary = "Ann, order question".into();
    upd.status = LeadStatus::Contacted;
    upd.is_lead_ready = true;
    upd.profile.insert("budget".into(), json!("500k"));
    upd.notified_at = Some(now());
    s.update_lead(&upd).await.unwrap();
    let back = s.get_lead("ld", "lead_1").await.unwrap().unwrap();
    assert!(back.updated_at >= l1.updated_at);
    upd.updated_at = back.updated_at;
    assert_eq!(back, upd);

    let mut ready2 = s.get_lead("ld", "lead_2").await.unwrap().unwrap();
    ready2.is_lead_ready = true;
    s.update_lead(&ready2).await.unwrap();

    // Newest first; filters by status and readiness; limit/offset.
    let ids = |v: Vec<Lead>| v.into_iter().map(|l| l.lead_id).collect::<Vec<_>>();
    let all = s.list_leads("ld", &LeadFilter { limit: 10, ..LeadFilter::default() }).await.unwrap();
    assert_eq!(
        all.iter().find(|l| l.lead_id == "lead_1").unwrap().messages,
        m.to_vec(),
        "list fills messages"
    );
    assert_eq!(ids(all), vec!["lead_3", "lead_2", "lead_1", "lead_0"]);
    let contacted = LeadFilter { status: Some(LeadStatus::Contacted), limit: 10, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &contacted).await.unwrap()), vec!["lead_1"]);
    let ready = LeadFilter { ready: Some(true), limit: 10, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &ready).await.unwrap()), vec!["lead_2", "lead_1"]);
    let not_ready = LeadFilter { ready: Some(false), limit: 10, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &not_ready).await.unwrap()), vec!["lead_3", "lead_0"]);
    let new_ready = LeadFilter { status: Some(LeadStatus::New), ready: Some(true), limit: 10, offset: 0 };
    assert_eq!(ids(s.list_leads("ld", &new_ready).await.unwrap()), vec!["lead_2"]);
    let page = LeadFilter { limit: 2, offset: 1, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &page).await.unwrap()), vec!["lead_2", "lead_1"]);

    // One lead per session; unknown lead updates are NotFound.
    let dup = Lead::new("lead_dup".into(), "ld", "sess_0", "u");
    assert!(matches!(s.insert_lead(&dup).await, Err(Error::Conflict(_))));
    let ghost = Lead::new("lead_ghost".into(), "ld", "sess_9", "u");
    assert!(matches!(s.update_lead(&ghost).await, Err(Error::NotFound { .. })));
    // A lead whose conversation is gone still loads, with no messages.
    s.delete_conversation("ld", "sess_1").await.unwrap();
    assert!(s.get_lead("ld", "lead_1").await.unwrap().unwrap().messages.is_empty());
}

pub async fn chunks_upsert_is_idempotent(ctx: &Ctx) {
    let s = &ctx.store;
    let a = chunk("kb", "doc1#0", "https://kb.example/a", "alpha");
    let b = chunk("kb", "doc1#1", "https://kb.example/a", "beta");
    let mut c = chunk("kb", "doc2#0", "https://kb.example/b", "gamma");
    c.metadata = serde_json::Value::Null;
    c.source = None;
    s.upsert_chunks(&[a.clone(), b.clone(), c.clone()]).await.unwrap();
    s.upsert_chunks(&[a.clone(), b.clone(), c.clone()]).await.unwrap();
    assert_eq!(s.count_chunks("kb").await.unwrap(), 3, "same vector ids twice = one row each");

    // Replace content; duplicates inside one batch: the last wins.
    let mut a2 = a.clone();
    a2.content = "alpha v2".into();
    let mut a3 = a.clone();
    a3.content = "alpha v3".into();
    s.upsert_chunks(&[a2, a3.clone()]).await.unwrap();
    assert_eq!(s.count_chunks("kb").await.unwrap(), 3);

    // Returned in the order asked; unknown ids skipped.
    let got = s
        .get_chunks("kb", &["doc2#0".into(), "missing".into(), "doc1#0".into(), "doc1#1".into()])
        .await
        .unwrap();
    assert_eq!(got, vec![c.clone(), a3.clone(), b.clone()]);
    assert!(s.get_chunks("kb", &[]).await.unwrap().is_empty());

    assert_eq!(s.chunk_ids_for_source("kb", "https://kb.example/a").await.unwrap(), vec!["doc1#0", "doc1#1"]);
    let all = s.list_chunks("kb", 10, 0).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.vector_id.as_str()).collect::<Vec<_>>(),
        vec!["doc1#0", "doc1#1", "doc2#0"]
    );
    let page = s.list_chunks("kb", 1, 1).await.unwrap();
    assert_eq!(page, vec![b.clone()]);

    assert_eq!(
        s.delete_chunks("kb", &["doc1#0".into(), "doc1#1".into(), "missing".into()]).await.unwrap(),
        2
    );
    assert_eq!(s.delete_chunks("kb", &[]).await.unwrap(), 0);
    assert_eq!(s.count_chunks("kb").await.unwrap(), 1);
    assert!(s.chunk_ids_for_source("kb", "https://kb.example/a").await.unwrap().is_empty());

    // A large batch.
    let big: Vec<ChunkRecord> =
        (0..1500).map(|i| chunk("kb", &format!("big#{i:05}"), "big", &format!("text {i}"))).collect();
    s.upsert_chunks(&big).await.unwrap();
    assert_eq!(s.count_chunks("kb").await.unwrap(), 1501);
    assert_eq!(s.chunk_ids_for_source("kb", "big").await.unwrap().len(), 1500);
}

pub async fn sources_upsert_get_list_delete(ctx: &Ctx) {
    let s = &ctx.store;
    let a = source_state("src", "https://src.example/a", "h1");
    let mut b = source_state("src", "https://src.example/b", "h2");
    b.title = None;
    b.etag = None;
    b.last_modified = None;
    s.upsert_source(&a).await.unwrap();
    s.upsert_source(&b).await.unwrap();
    assert_eq!(s.get_source("src", &a.source).await.unwrap().as_ref(), Some(&a));
    assert_eq!(s.get_source("src", &b.source).await.unwrap().as_ref(), Some(&b));

    let mut a2 = a.clone();
    a2.content_hash = "h1-v2".into();
    a2.chunk_count = 7;
    a2.ingested_at = now() + TimeDelta::seconds(1);
    s.upsert_source(&a2).await.unwrap();
    assert_eq!(s.list_sources("src").await.unwrap(), vec![a2.clone(), b.clone()]);

    s.delete_source("src", &a.source).await.unwrap();
    s.delete_source("src", "never-there").await.unwrap();
    assert!(s.get_source("src", &a.source).await.unwrap().is_none());
    assert_eq!(s.list_sources("src").await.unwrap(), vec![b]);
}

pub async fn embedder_identity(ctx: &Ctx) {
    let s = &ctx.store;
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), None);
    let small = EmbedderIdentity { model: "text-embedding-3-small".into(), dimension: 1536 };
    s.set_embedder_identity("em", Some(&small)).await.unwrap();
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), Some(small));
    let local = EmbedderIdentity { model: "local-hash".into(), dimension: 576 };
    s.set_embedder_identity("em", Some(&local)).await.unwrap();
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), Some(local));
    s.set_embedder_identity("em", None).await.unwrap();
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), None);
    s.set_embedder_identity("em", None).await.unwrap();
}

pub async fn token_usage_upsert(ctx: &Ctx) {
    let s = ctx.store.clone();
    let d1 = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let d2 = d1.succ_opt().unwrap();
    assert_eq!(s.token_usage("tu", d1).await.unwrap(), 0);
    assert_eq!(s.add_token_usage("tu", d1, 100).await.unwrap(), 100);
    assert_eq!(s.add_token_usage("tu", d1, 50).await.unwrap(), 150);
    assert_eq!(s.add_token_usage("tu", d2, 7).await.unwrap(), 7);
    assert_eq!(s.token_usage("tu", d1).await.unwrap(), 150);
    assert_eq!(s.token_usage("tu", d2).await.unwrap(), 7);

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.add_token_usage("tu", d1, 10).await })
        })
        .collect();
    let mut totals = Vec::new();
    for t in tasks {
        totals.push(t.await.unwrap().unwrap());
    }
    assert_eq!(s.token_usage("tu", d1).await.unwrap(), 350, "no concurrent add lost");
    totals.sort_unstable();
    totals.dedup();
    assert_eq!(totals.len(), 20, "each add saw its own new total");
    assert!(s.add_token_usage("tu", d1, u64::MAX).await.is_err(), "overflowing input rejected");
}

pub async fn webhook_secret_and_deliveries(ctx: &Ctx) {
    let s = ctx.store.clone();
    // Concurrent first uses agree on one secret.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.webhook_secret("wh").await })
        })
        .collect();
    let mut secrets = BTreeSet::new();
    for t in tasks {
        secrets.insert(t.await.unwrap().unwrap());
    }
    assert_eq!(secrets.len(), 1);
    let first = secrets.into_iter().next().unwrap();
    assert!(first.len() >= 32);
    assert_eq!(s.webhook_secret("wh").await.unwrap(), first, "stable");
    assert_ne!(s.webhook_secret("wh2").await.unwrap(), first, "per company");

    let t = now();
    for i in 0..3 {
        s.record_webhook_delivery(&WebhookDelivery {
            company_id: "wh".into(),
            lead_id: format!("lead_{i}"),
            url: "https://hooks.example/lead".into(),
            attempts: i + 1,
            status_code: if i == 2 { Some(200) } else { None },
            error: if i == 2 { None } else { Some("connection refused".into()) },
            delivered: i == 2,
            created_at: t + TimeDelta::seconds(i64::from(i)),
        })
        .await
        .unwrap();
    }
    let list = s.list_webhook_deliveries("wh", 2).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].lead_id, "lead_2");
    assert!(list[0].delivered);
    assert_eq!(list[0].status_code, Some(200));
    assert_eq!(list[1].error.as_deref(), Some("connection refused"));
    assert_eq!(list[1].created_at, t + TimeDelta::seconds(1));
    assert!(s.list_webhook_deliveries("wh2", 10).await.unwrap().is_empty());
}

/// Company A's rows never come back for company B from any tenant-scoped method.
pub async fn tenant_isolation(ctx: &Ctx) {
    let s: &Arc<dyn Store> = &ctx.store;
    s.create_company(&new_company("A")).await.unwrap();
    s.create_company(&new_company("B")).await.unwrap();

    // Company A's data.
    s.insert_session(&session("A", "sess_A")).await.unwrap();
    s.ensure_conversation("A", "sess_A", "ua").await.unwrap();
    s.append_messages("A", "sess_A", &[Message::new(Role::User, "secret of A")]).await.unwrap();
    s.insert_lead(&Lead::new("lead_A".into(), "A", "sess_A", "ua")).await.unwrap();
    s.upsert_chunks(&[chunk("A", "vA", "https://a.example", "A's knowledge")]).await.unwrap();
    s.upsert_source(&source_state("A", "https://a.example", "h")).await.unwrap();
    s.insert_api_key(&generate_key("A", KeyKind::Secret).record).await.unwrap();
    s.set_embedder_identity("A", Some(&EmbedderIdentity { model: "m".into(), dimension: 8 })).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    s.add_token_usage("A", day, 99).await.unwrap();
    s.record_webhook_delivery(&WebhookDelivery {
        company_id: "A".into(),
        lead_id: "lead_A".into(),
        url: "https://a.example/hook".into(),
        attempts: 1,
        status_code: Some(200),
        error: None,
        delivered: true,
        created_at: now(),
    })
    .await
    .unwrap();
    s.update_widget_settings(
        "A",
        &WidgetSettingsPatch::from_json(br##"{"primary_color":"#abcdef"}"##).unwrap(),
    )
    .await
    .unwrap();

    // Company B sees none of it.
    assert!(s.get_session("B", "sess_A").await.unwrap().is_none());
    assert!(s.get_conversation("B", "sess_A").await.unwrap().is_none());
    assert!(s.list_conversations("B", 100, 0).await.unwrap().is_empty());
    assert!(s.get_lead("B", "lead_A").await.unwrap().is_none());
    assert!(s.get_lead_by_session("B", "sess_A").await.unwrap().is_none());
    assert!(s.list_leads("B", &LeadFilter { limit: 100, ..LeadFilter::default() }).await.unwrap().is_empty());
    assert!(s.get_chunks("B", &["vA".into()]).await.unwrap().is_empty());
    assert!(s.chunk_ids_for_source("B", "https://a.example").await.unwrap().is_empty());
    assert!(s.list_chunks("B", 100, 0).await.unwrap().is_empty());
    assert_eq!(s.count_chunks("B").await.unwrap(), 0);
    assert!(s.get_source("B", "https://a.example").await.unwrap().is_none());
    assert!(s.list_sources("B").await.unwrap().is_empty());
    assert!(s.list_api_keys("B").await.unwrap().is_empty());
    assert!(s.get_embedder_identity("B").await.unwrap().is_none());
    assert_eq!(s.token_usage("B", day).await.unwrap(), 0);
    assert!(s.list_webhook_deliveries("B", 100).await.unwrap().is_empty());
    assert_eq!(s.get_widget_settings("B").await.unwrap().unwrap().primary_color, "#007bff");

    // ... and cannot change or delete it.
    let mut hijack = session("B", "sess_A");
    hijack.user_id = "attacker".into();
    assert!(matches!(s.update_session(&hijack).await, Err(Error::NotFound { .. })));
    assert!(s.append_messages("B", "sess_A", &[Message::new(Role::User, "x")]).await.is_err());
    assert!(!s.delete_conversation("B", "sess_A").await.unwrap());
    let mut lead_b = Lead::new("lead_A".into(), "B", "sess_A", "attacker");
    lead_b.name = "Mallory".into();
    assert!(matches!(s.update_lead(&lead_b).await, Err(Error::NotFound { .. })));
    assert_eq!(s.delete_chunks("B", &["vA".into()]).await.unwrap(), 0);
    s.delete_source("B", "https://a.example").await.unwrap();
    s.set_embedder_identity("B", None).await.unwrap();

    // A's data is intact.
    assert_eq!(s.get_session("A", "sess_A").await.unwrap().unwrap().user_id, "user-sess_A");
    let conv = s.get_conversation("A", "sess_A").await.unwrap().unwrap();
    assert_eq!(conv.messages.len(), 1);
    assert_eq!(conv.messages[0].content, "secret of A");
    assert_eq!(s.get_lead("A", "lead_A").await.unwrap().unwrap().name, "Anonymous");
    assert_eq!(s.count_chunks("A").await.unwrap(), 1);
    assert!(s.get_source("A", "https://a.example").await.unwrap().is_some());
    assert_eq!(s.list_api_keys("A").await.unwrap().len(), 1);
    assert!(s.get_embedder_identity("A").await.unwrap().is_some());
    assert_eq!(s.token_usage("A", day).await.unwrap(), 99);
    assert_eq!(s.get_widget_settings("A").await.unwrap().unwrap().primary_color, "#abcdef");

    // The same session id used by B is B's own, separate conversation.
    let b_conv = s.ensure_conversation("B", "sess_A", "ub").await.unwrap();
    assert!(b_conv.messages.is_empty());
    assert_eq!(s.get_conversation("A", "sess_A").await.unwrap().unwrap().messages.len(), 1);
}

pub async fn corpus_stats_put_get_replace(ctx: &Ctx) {
    let s = &ctx.store;
    assert_eq!(s.get_corpus_stats("cs").await.unwrap(), None);
    let blob: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let before = now();
    s.put_corpus_stats("cs", "offline-hash-v2", 12, &blob).await.unwrap();
    let row = s.get_corpus_stats("cs").await.unwrap().unwrap();
    assert_eq!(
        (row.company_id.as_str(), row.model.as_str(), row.doc_count, &row.stats),
        ("cs", "offline-hash-v2", 12, &blob)
    );
    assert!(row.updated_at >= before - TimeDelta::seconds(1), "updated_at is set on write");
    // Replacing keeps one row per company; other companies are untouched.
    s.put_corpus_stats("other", "m", 1, b"x").await.unwrap();
    s.put_corpus_stats("cs", "offline-hash-v3", 0, &[]).await.unwrap();
    let row = s.get_corpus_stats("cs").await.unwrap().unwrap();
    assert_eq!((row.model.as_str(), row.doc_count, row.stats.len()), ("offline-hash-v3", 0, 0));
    assert_eq!(s.get_corpus_stats("other").await.unwrap().unwrap().stats, b"x".to_vec());
    assert_eq!(
        ctx.columns("corpus_stats").await,
        set(&["company_id", "model", "doc_count", "stats", "updated_at"])
    );
}
