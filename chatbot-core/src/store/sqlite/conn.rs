//! SQLite's side of the shared SQL: argument encoding, JSON columns, and the two kinds of
//! connection a statement can run on. A [`Reader`] runs only [`Read`] statements (and its
//! connection is opened `query_only`, so SQLite itself refuses a write there); a [`Writer`] is
//! the one writer connection.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use sqlx::{Row as _, Sqlite, SqliteConnection};
use tokio::sync::{MutexGuard, OwnedMutexGuard};

use crate::error::Result;
use crate::store::common::MigrationList;
use crate::store::sql::columns::JsonColumns;
use crate::store::sql::{
    DialectArg, FromColumns, Query, Read, Stmt, Write, bind_common, decode_all, decode_opt,
};

/// SQLite's migrations, embedded at build time; add a new file with the next version number.
pub(crate) const MIGRATIONS: MigrationList = &[
    (1, "init", include_str!("../../../migrations/sqlite/0001_init.sql")),
    (2, "corpus stats", include_str!("../../../migrations/sqlite/0002_corpus_stats.sql")),
    (3, "visitor identity", include_str!("../../../migrations/sqlite/0003_visitor_identity.sql")),
    (4, "widget settings more", include_str!("../../../migrations/sqlite/0004_widget_settings_more.sql")),
    (5, "feedback", include_str!("../../../migrations/sqlite/0005_feedback.sql")),
    (6, "client type", include_str!("../../../migrations/sqlite/0006_client_type.sql")),
    (7, "turns", include_str!("../../../migrations/sqlite/0007_turns.sql")),
    (8, "curated answers", include_str!("../../../migrations/sqlite/0008_curated_answers.sql")),
    (9, "knowledge sources", include_str!("../../../migrations/sqlite/0009_knowledge_sources.sql")),
    (10, "rate limits", include_str!("../../../migrations/sqlite/0010_rate_limits.sql")),
    (11, "tenant notify", include_str!("../../../migrations/sqlite/0011_tenant_notify.sql")),
    (12, "webhook recovery", include_str!("../../../migrations/sqlite/0012_webhook_recovery.sql")),
    (13, "curated notify", include_str!("../../../migrations/sqlite/0013_curated_notify.sql")),
];

/// A timestamp as fixed-width RFC 3339 UTC text with microseconds (SQLite's representation:
/// fixed width, so text order is time order).
pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A statement as a SQLite query with its arguments bound.
pub(crate) fn query(s: Stmt<'_>) -> Query<'static, Sqlite> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(s.sql));
    for a in s.args {
        q = match bind_common(q, a) {
            Ok(q) => q,
            Err((q, DialectArg::Ts(t))) => q.bind(t.as_ref().map(ts)),
            // 0 is no limit: -1 in SQLite (which rejects `LIMIT NULL`).
            Err((q, DialectArg::Limit(n))) => q.bind(if n == 0 { -1 } else { i64::from(n) }),
            Err((q, DialectArg::Ids(ids))) => q.bind(Json(ids)),
        };
    }
    q
}

impl JsonColumns for Sqlite {
    fn json<T: DeserializeOwned + 'static>(row: &sqlx::sqlite::SqliteRow, col: &str) -> Result<Option<T>> {
        Ok(row.try_get::<Option<Json<T>>, _>(col)?.map(|j| j.0))
    }
}

/// A reader connection, held until dropped.
pub(crate) struct Reader(pub(super) OwnedMutexGuard<SqliteConnection>);

impl Reader {
    pub(crate) async fn fetch_opt<T: FromColumns>(&mut self, q: Read<'_>) -> Result<Option<T>> {
        decode_opt(query(q.0).fetch_optional(&mut *self.0).await?)
    }

    pub(crate) async fn fetch_all<T: FromColumns>(&mut self, q: Read<'_>) -> Result<Vec<T>> {
        decode_all(query(q.0).fetch_all(&mut *self.0).await?)
    }
}

/// The writer connection, held until dropped (writes queue for it, in order).
pub(crate) struct Writer<'a>(pub(super) MutexGuard<'a, SqliteConnection>);

impl Writer<'_> {
    /// The connection itself, for a transaction.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }

    pub(crate) async fn execute(&mut self, q: Write<'_>) -> Result<u64> {
        Ok(query(q.0).execute(&mut *self.0).await?.rows_affected())
    }

    pub(crate) async fn fetch_opt<T: FromColumns>(&mut self, q: Write<'_>) -> Result<Option<T>> {
        decode_opt(query(q.0).fetch_optional(&mut *self.0).await?)
    }
}
