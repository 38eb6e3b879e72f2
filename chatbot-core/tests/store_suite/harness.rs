//! Test harness: a store of each backend plus raw access to its database for catalog checks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chatbot_core::store::{PostgresStore, SqliteStore, Store, StoreAdmin};
use sqlx::AssertSqlSafe;

pub const PG_ENV: &str = "CHATBOT_TEST_POSTGRES_URL";

/// Raw database access next to the store under test.
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres { pool: sqlx::PgPool, admin: sqlx::PgPool, schema: String },
}

pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub raw: Raw,
    /// A URL that opens the same database (and schema) again.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite_ctx() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = store.pool().clone();
    Ctx { store: Arc::new(store), raw: Raw::Sqlite(pool), url, _dir: Some(dir) }
}

static SCHEMA_SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty schema in the test database: (URL whose search_path is it, admin pool, name).
pub async fn pg_fresh_schema() -> Option<(String, sqlx::PgPool, String)> {
    let base = std::env::var(PG_ENV).ok().filter(|s| !s.trim().is_empty())?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let schema = format!(
        "store_suite_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        SCHEMA_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let admin = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&base).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    Some((format!("{base}{sep}options[search_path]={schema}"), admin, schema))
}

pub async fn pg_ctx() -> Option<Ctx> {
    let (url, admin, schema) = pg_fresh_schema().await?;
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = store.pool().clone();
    Some(Ctx { store: Arc::new(store), raw: Raw::Postgres { pool, admin, schema }, url, _dir: None })
}

impl Ctx {
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Drop the test's Postgres schema (SQLite's temp dir goes away on its own).
    pub async fn cleanup(self) {
        if let Raw::Postgres { pool, admin, schema } = &self.raw {
            pool.close().await;
            let _ =
                sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(admin).await;
        }
    }

    /// Run a statement (test-controlled literal SQL, no binds).
    pub async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match &self.raw {
            Raw::Sqlite(p) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(p).await.map(|r| r.rows_affected())
            }
            Raw::Postgres { pool, .. } => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(pool).await.map(|r| r.rows_affected())
            }
        }
    }

    /// Column names of `table`, from the catalog.
    pub async fn columns(&self, table: &str) -> BTreeSet<String> {
        let names: Vec<String> = match &self.raw {
            Raw::Sqlite(p) => sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(p)
                .await
                .unwrap(),
            Raw::Postgres { pool, .. } => sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap(),
        };
        names.into_iter().collect()
    }

    /// Index names (including unique keys) of `table`, from the catalog.
    pub async fn indexes(&self, table: &str) -> BTreeSet<String> {
        let names: Vec<String> = match &self.raw {
            Raw::Sqlite(p) => sqlx::query_scalar("SELECT name FROM pragma_index_list($1)")
                .bind(table)
                .fetch_all(p)
                .await
                .unwrap(),
            Raw::Postgres { pool, .. } => sqlx::query_scalar(
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap(),
        };
        names.into_iter().collect()
    }

    /// Columns (in order) of the named index.
    pub async fn index_columns(&self, index: &str) -> Vec<String> {
        match &self.raw {
            Raw::Sqlite(p) => sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(index)
                .fetch_all(p)
                .await
                .unwrap(),
            Raw::Postgres { pool, .. } => sqlx::query_scalar(
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE c.relname = $1 AND n.nspname = current_schema() ORDER BY k.ord",
            )
            .bind(index)
            .fetch_all(pool)
            .await
            .unwrap(),
        }
    }

    /// Whether the named index is unique.
    pub async fn index_is_unique(&self, index: &str) -> bool {
        match &self.raw {
            Raw::Sqlite(p) => {
                let u: i64 = sqlx::query_scalar("SELECT \"unique\" FROM pragma_index_list(tbl) , (SELECT tbl_name AS tbl FROM sqlite_master WHERE type = 'index' AND name = $1) WHERE name = $1")
                    .bind(index)
                    .fetch_one(p)
                    .await
                    .unwrap();
                u == 1
            }
            Raw::Postgres { pool, .. } => sqlx::query_scalar(
                "SELECT i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = $1 AND n.nspname = current_schema()",
            )
            .bind(index)
            .fetch_one(pool)
            .await
            .unwrap(),
        }
    }
}
