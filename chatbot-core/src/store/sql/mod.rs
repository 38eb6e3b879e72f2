//! The SQL both databases share: statements with their arguments ([`Read`], [`Write`]), one row
//! decoder per table ([`columns`]), the SQL text ([`text`]), and the area traits implemented
//! once for every [`SqlBackend`] (the files named after the areas).
//!
//! A backend (SQLite, PostgreSQL) supplies only what differs: how it runs a statement on a
//! reader or on its writer, how it encodes the few argument kinds the dialects store
//! differently ([`Arg::Ts`], [`Arg::Limit`], [`Arg::Ids`]), and the handful of operations whose
//! SQL is its own (conversation appends, chunk upserts, the locked lead read).

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::value::RawValue;

use super::ChunkRecord;
use super::common::TouchThrottle;
use crate::conversation::{Conversation, Message};
use crate::error::{Error, Result};
use crate::lead::Lead;
use crate::tenant::{Company, WidgetSettings};

pub(crate) mod columns;
mod conversations;
mod curated;
mod feedback;
mod identity;
mod knowledge;
pub(crate) mod leads;
mod limits;
mod sources;
mod tenants;
pub(crate) mod text;
pub(crate) mod turns;
mod usage;

pub(crate) use columns::{Columns, FromColumns, Scalar};

/// One statement argument. Most map to one SQL type in both dialects; the rest are encoded by
/// each backend in its own way.
#[derive(Debug)]
pub(crate) enum Arg<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Int4(Option<i32>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Date(NaiveDate),
    Bytes(&'a [u8]),
    /// JSON, already serialised (`None` is SQL NULL).
    Json(Option<Box<RawValue>>),
    /// A timestamp: SQLite stores fixed-width RFC 3339 text, PostgreSQL `TIMESTAMPTZ`.
    Ts(Option<DateTime<Utc>>),
    /// A `LIMIT`, 0 meaning none: SQLite wants -1 for that, PostgreSQL NULL.
    Limit(u32),
    /// A list of ids for `IN`: a JSON array for SQLite's `json_each`, an array for `ANY`.
    Ids(&'a [String]),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(Some(v))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Self::Text(Some(v))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Self::Text(v)
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Self::Text(v.as_deref())
    }
}
impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}
impl From<i32> for Arg<'_> {
    fn from(v: i32) -> Self {
        Self::Int4(Some(v))
    }
}
impl From<Option<i32>> for Arg<'_> {
    fn from(v: Option<i32>) -> Self {
        Self::Int4(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}
impl From<Option<f64>> for Arg<'_> {
    fn from(v: Option<f64>) -> Self {
        Self::Float(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Self::Bool(Some(v))
    }
}
impl From<Option<bool>> for Arg<'_> {
    fn from(v: Option<bool>) -> Self {
        Self::Bool(v)
    }
}
impl From<NaiveDate> for Arg<'_> {
    fn from(v: NaiveDate) -> Self {
        Self::Date(v)
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Self::Bytes(v)
    }
}
impl From<DateTime<Utc>> for Arg<'_> {
    fn from(v: DateTime<Utc>) -> Self {
        Self::Ts(Some(v))
    }
}
impl From<Option<DateTime<Utc>>> for Arg<'_> {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Self::Ts(v)
    }
}

/// A value as a JSON argument (`None` is SQL NULL).
pub(crate) fn json<T: serde::Serialize + ?Sized>(v: Option<&T>) -> Result<Arg<'static>> {
    Ok(Arg::Json(v.map(serde_json::value::to_raw_value).transpose()?))
}

/// A statement and its arguments, in `$n` order.
#[derive(Debug)]
pub(crate) struct Stmt<'a> {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) args: Vec<Arg<'a>>,
}

impl<'a> Stmt<'a> {
    fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self { sql: sql.into(), args: Vec::new() }
    }

    fn push(&mut self, a: impl Into<Arg<'a>>) {
        self.args.push(a.into());
    }
}

/// A statement that only reads: what a reader connection may run.
#[derive(Debug)]
pub(crate) struct Read<'a>(pub(crate) Stmt<'a>);

/// A statement that writes: it runs on the writer (SQLite's single writer connection).
#[derive(Debug)]
pub(crate) struct Write<'a>(pub(crate) Stmt<'a>);

impl<'a> Read<'a> {
    pub(crate) fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self(Stmt::new(sql))
    }

    pub(crate) fn bind(mut self, a: impl Into<Arg<'a>>) -> Self {
        self.0.push(a);
        self
    }
}

impl<'a> Write<'a> {
    pub(crate) fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self(Stmt::new(sql))
    }

    pub(crate) fn bind(mut self, a: impl Into<Arg<'a>>) -> Self {
        self.0.push(a);
        self
    }

    /// Bind several arguments in order.
    pub(crate) fn bind_all(mut self, args: impl IntoIterator<Item = Arg<'a>>) -> Self {
        self.0.args.extend(args);
        self
    }
}

/// A company with its widget settings, as one request's tenant context needs them.
pub(crate) type Tenant = (Company, Option<WidgetSettings>);

/// What a SQL database must supply for the shared implementation of the area traits (see the
/// module docs). Reads run on a reader, writes on the writer: the statement's type says which.
#[async_trait]
pub(crate) trait SqlBackend: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    const NAME: &'static str;
    /// Leads of a company, newest first: `$1` company, `$2` status or NULL, `$3` readiness or
    /// NULL, `$4` limit, `$5` offset (the tie-break column is the dialect's).
    const LIST_LEADS: &'static str;
    /// Chunks of a company by id: `$1` company, `$2` [`Arg::Ids`].
    const CHUNKS_BY_ID: &'static str;
    /// Delete chunks of a company by id: `$1` company, `$2` [`Arg::Ids`].
    const DELETE_CHUNKS_BY_ID: &'static str;
    /// Whether a statement may chain writes in `WITH` clauses (PostgreSQL's data-modifying
    /// CTEs; SQLite has none).
    const WRITING_CTES: bool;
    /// One lead of a company, read for a change in the same transaction: `$1` lead, `$2` company.
    const LEAD_FOR_UPDATE: &'static str;

    /// The first row of a read, decoded.
    async fn read_opt<T: FromColumns>(&self, q: Read<'_>) -> Result<Option<T>>;
    /// Every row of a read, decoded.
    async fn read_all<T: FromColumns>(&self, q: Read<'_>) -> Result<Vec<T>>;
    /// Run a write; the number of rows it changed.
    async fn write(&self, q: Write<'_>) -> Result<u64>;
    /// Run a write and decode the row it returns (`RETURNING`), if any.
    async fn write_opt<T: FromColumns>(&self, q: Write<'_>) -> Result<Option<T>>;
    /// Run writes in one transaction; the first one's returned row, decoded.
    async fn write_tx<T: FromColumns>(&self, first: Write<'_>, rest: Vec<Write<'_>>) -> Result<Option<T>>;
    /// In one write transaction: read a row with `select` (locked against other writers until
    /// the commit), let `f` change it, and when it says it did, run `update(row)`. The row
    /// after `f`, or `None` when `select` found nothing.
    async fn read_modify_write<T: FromColumns>(
        &self,
        select: Read<'_>,
        f: &mut (dyn for<'l> FnMut(&'l mut T) -> bool + Send),
        update: for<'t> fn(&'t T) -> Result<Write<'t>>,
    ) -> Result<Option<T>>;

    /// Apply pending migrations.
    async fn run_migrations(&self) -> Result<()>;
    /// The `last_used_at` write throttle of this store.
    fn touch_throttle(&self) -> &TouchThrottle;
    /// The company with its settings (SQLite serves these from a commit-stamped cache,
    /// PostgreSQL from a cache invalidated by `LISTEN/NOTIFY`).
    async fn tenant(&self, company_id: &str) -> Result<Option<Arc<Tenant>>>;
    /// This store changed the company's row or settings (a cache may drop its entry at once).
    fn tenant_changed(&self, _company_id: &str) {}
    /// See [`crate::store::StoreAdmin::settings_cache`].
    fn tenant_cache_state(&self) -> &'static str;
    /// See [`crate::store::CuratedStore::curated_version`].
    fn curated_version(&self, _company_id: &str) -> Option<u64> {
        None
    }
    /// Append to a session's conversation; rows changed (0: no such conversation).
    async fn append(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<u64>;
    /// [`SqlBackend::append`] and the turn record's upsert in one write (the record only when
    /// the conversation exists); rows of the conversation changed.
    async fn append_and_record(
        &self,
        company_id: &str,
        session_id: &str,
        messages: &[Message],
        turn: &crate::turns::TurnRecord,
    ) -> Result<u64>;
    /// Create-or-append in one step, inserting `lead` in the same step unless the session has
    /// one; the conversation after it and whether `lead` was inserted.
    async fn upsert_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
        lead: Option<&Lead>,
    ) -> Result<(Conversation, bool)>;
    /// Insert or replace chunk rows, in one transaction.
    async fn upsert_chunk_rows(&self, chunks: &[ChunkRecord]) -> Result<()>;
}

/// Load a company with its settings in one query (the stamped cache's loader on SQLite).
pub(crate) async fn load_tenant<B: SqlBackend>(b: &B, company_id: &str) -> Result<Option<Tenant>> {
    b.read_opt::<TenantRow>(Read::new(text::COMPANY_WITH_SETTINGS).bind(company_id))
        .await
        .map(|t| t.map(|t| t.0))
}

/// The row of [`text::COMPANY_WITH_SETTINGS`].
pub(crate) struct TenantRow(pub(crate) Tenant);

/// Map a statement's error "no row came back" where one must.
pub(crate) fn returned<T>(row: Option<T>, what: &str) -> Result<T> {
    row.ok_or_else(|| Error::Internal(format!("{what} returned no row")))
}

/// The arguments each dialect encodes its own way (see [`Arg`]).
#[derive(Debug)]
pub(crate) enum DialectArg<'a> {
    Ts(Option<DateTime<Utc>>),
    Limit(u32),
    Ids(&'a [String]),
}

/// Bind an argument every dialect encodes alike; a dialect-specific one comes back as `Err`
/// for the backend to bind its own way.
pub(crate) fn bind_common<'q, 'a, DB>(
    q: Query<'q, DB>,
    a: Arg<'a>,
) -> std::result::Result<Query<'q, DB>, (Query<'q, DB>, DialectArg<'a>)>
where
    DB: sqlx::Database,
    for<'t> Option<&'t str>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<i64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<i32>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<f64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<bool>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> NaiveDate: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> &'t [u8]: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<sqlx::types::Json<Box<RawValue>>>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    Ok(match a {
        Arg::Text(v) => q.bind(v),
        Arg::Int(v) => q.bind(v),
        Arg::Int4(v) => q.bind(v),
        Arg::Float(v) => q.bind(v),
        Arg::Bool(v) => q.bind(v),
        Arg::Date(v) => q.bind(v),
        Arg::Bytes(v) => q.bind(v),
        Arg::Json(v) => q.bind(v.map(sqlx::types::Json)),
        Arg::Ts(v) => return Err((q, DialectArg::Ts(v))),
        Arg::Limit(v) => return Err((q, DialectArg::Limit(v))),
        Arg::Ids(v) => return Err((q, DialectArg::Ids(v))),
    })
}

/// A query of database `DB` with its arguments.
pub(crate) type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>;

/// Decode an optional row.
pub(crate) fn decode_opt<R: Columns, T: FromColumns>(row: Option<R>) -> Result<Option<T>> {
    row.as_ref().map(T::from_columns).transpose()
}

/// Decode rows.
pub(crate) fn decode_all<R: Columns, T: FromColumns>(rows: Vec<R>) -> Result<Vec<T>> {
    rows.iter().map(T::from_columns).collect()
}

/// In an open transaction: run `first`, then `rest`, and commit; the row `first` returned.
/// `query` is the backend's statement encoder.
pub(crate) async fn write_in_tx<DB, T>(
    mut tx: sqlx::Transaction<'_, DB>,
    query: fn(Stmt<'_>) -> Query<'static, DB>,
    first: Write<'_>,
    rest: Vec<Write<'_>>,
) -> Result<Option<T>>
where
    DB: sqlx::Database,
    DB::Row: Columns,
    T: FromColumns,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let row = query(first.0).fetch_optional(&mut *tx).await?;
    for q in rest {
        query(q.0).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    decode_opt(row)
}

/// In an open transaction that holds the write lock (or locks the row as `select` reads it):
/// read, let `f` change, and when it did, `update` and commit (see
/// [`SqlBackend::read_modify_write`]).
pub(crate) async fn modify_in_tx<DB, T>(
    mut tx: sqlx::Transaction<'_, DB>,
    query: fn(Stmt<'_>) -> Query<'static, DB>,
    select: Read<'_>,
    f: &mut (dyn for<'l> FnMut(&'l mut T) -> bool + Send),
    update: for<'t> fn(&'t T) -> Result<Write<'t>>,
) -> Result<Option<T>>
where
    DB: sqlx::Database,
    DB::Row: Columns,
    T: FromColumns,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let row = query(select.0).fetch_optional(&mut *tx).await?;
    let Some(mut value) = decode_opt::<_, T>(row)? else {
        return Ok(None);
    };
    if f(&mut value) {
        query(update(&value)?.0).execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(Some(value))
}
