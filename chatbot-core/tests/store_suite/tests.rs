//! The schema checks of the two SQL stores (they read the database catalog, so they need the
//! harness); every function runs once per backend (see the `suite!` macro). What any `Store`
//! must do is in `chatbot_core::store::conformance`.

use std::collections::BTreeSet;

use chatbot_core::lead::LeadStatus;
use chatbot_core::store::widget_defaults as defaults;
use chatbot_core::{AiConfig, Position};

use super::harness::Ctx;

use chatbot_core::store::conformance::new_company;

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
                "client_type",
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

/// The table behind the conformance check `corpus_stats_put_get_replace` has exactly these
/// columns.
pub async fn corpus_stats_columns(ctx: &Ctx) {
    assert_eq!(
        ctx.columns("corpus_stats").await,
        set(&["company_id", "model", "doc_count", "stats", "updated_at"])
    );
}
