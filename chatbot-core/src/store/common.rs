//! Helpers shared by the SQL stores: clocks, number conversions, stored-value parsing, the
//! migrator and the `last_used_at` throttle.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::auth::KeyKind;
use crate::error::{Error, Result};
use crate::lead::LeadStatus;
use crate::tenant::{AiConfig, Position};

/// The migrations of one dialect: (version, description, SQL). The files are embedded at build
/// time by each backend; add a new file there with the next version number.
pub(crate) type MigrationList = &'static [(i64, &'static str, &'static str)];

/// Build a migrator from an embedded list (what `sqlx::migrate!` does, without the proc macro).
pub(crate) fn migrator(list: MigrationList) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    std::borrow::Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Now, truncated to microseconds: what both databases store, so a value reads back equal.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A `u64` that must fit a signed 64-bit column.
pub(crate) fn to_i64(field: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid(field, "too large"))
}

/// A counter read back from the database (never negative; clamp defensively).
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn parse_ai_config(raw: Option<serde_json::Value>) -> Result<AiConfig> {
    match raw {
        None | Some(serde_json::Value::Null) => Ok(AiConfig::default()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| Error::Storage(format!("stored ai_config is not valid: {e}"))),
    }
}

pub(crate) fn parse_position(s: &str) -> Result<Position> {
    Position::parse(s).map_err(|_| Error::Storage(format!("stored position {s:?} is not valid")))
}

pub(crate) fn parse_status(s: &str) -> Result<LeadStatus> {
    LeadStatus::parse(s).map_err(|_| Error::Storage(format!("stored lead status {s:?} is not valid")))
}

pub(crate) fn parse_kind(s: &str) -> Result<KeyKind> {
    KeyKind::parse(s).map_err(|_| Error::Storage(format!("stored key kind {s:?} is not valid")))
}

pub(crate) fn dimension_to_i64(d: usize) -> Result<i64> {
    i64::try_from(d).map_err(|_| Error::invalid("dimension", "too large"))
}

pub(crate) fn dimension_from_i64(d: i64) -> Result<usize> {
    usize::try_from(d).map_err(|_| Error::Storage(format!("stored dimension {d} is not valid")))
}

/// `ON CONFLICT DO UPDATE` cannot touch one row twice in one statement (Postgres), and the last
/// write should win anyway: keep the last record of each vector id, in first-seen order.
pub(crate) fn dedup_chunks(chunks: &[super::ChunkRecord]) -> Vec<&super::ChunkRecord> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::with_capacity(chunks.len());
    let mut out: Vec<&super::ChunkRecord> = Vec::with_capacity(chunks.len());
    for c in chunks {
        match index.get(&(c.company_id.as_str(), c.vector_id.as_str())) {
            Some(&i) => out[i] = c,
            None => {
                index.insert((c.company_id.as_str(), c.vector_id.as_str()), out.len());
                out.push(c);
            }
        }
    }
    out
}

/// Put rows fetched by id back in the order the ids were asked for.
pub(crate) fn order_like(ids: &[String], mut rows: Vec<super::ChunkRecord>) -> Vec<super::ChunkRecord> {
    let pos: HashMap<&str, usize> = ids.iter().enumerate().rev().map(|(i, id)| (id.as_str(), i)).collect();
    rows.sort_by_key(|r| pos.get(r.vector_id.as_str()).copied().unwrap_or(usize::MAX));
    rows
}

/// `touch_api_key` runs on every keyed request; writing `last_used_at` more than once a minute
/// per key would turn reads into writes (a serialised write on SQLite). This remembers when each
/// key was last written and skips writes within [`TOUCH_EVERY`]; `last_used_at` therefore has
/// one-minute resolution.
#[derive(Default)]
pub(crate) struct TouchThrottle {
    last: Mutex<HashMap<String, DateTime<Utc>>>,
}

pub(crate) const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl TouchThrottle {
    /// Whether to write now (and remember it).
    pub(crate) fn should_write(&self, key_id: &str, at: DateTime<Utc>) -> bool {
        let Ok(mut map) = self.last.lock() else {
            return true;
        };
        if let Some(prev) = map.get(key_id)
            && at >= *prev
            && at - *prev < TOUCH_EVERY
        {
            return false;
        }
        if map.len() >= 100_000 {
            map.clear();
        }
        map.insert(key_id.to_string(), at);
        true
    }

    /// Forget a key (after revocation, so nothing stale is remembered).
    pub(crate) fn forget(&self, key_id: &str) {
        if let Ok(mut map) = self.last.lock() {
            map.remove(key_id);
        }
    }
}
