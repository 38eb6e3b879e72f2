//! Companies and their widget settings cached in each instance, kept true through PostgreSQL's
//! `LISTEN/NOTIFY`: a trigger (migration 0011) notifies channel [`CHANNEL`] with the company id
//! on every change of `user_companies` or `widget_settings`, whoever writes (any instance, the
//! CLI, direct SQL), and every instance drops that company's entry when told.
//!
//! The cache is trusted only while the notification connection is known to work: a heartbeat
//! (an empty notification this instance sends itself every [`HEARTBEAT`]) must have come back
//! within [`STALE_AFTER`]. When the connection drops, the cache is emptied and every read goes
//! to the database until heartbeats arrive again; notifications missed meanwhile cannot leave
//! anything stale.
//!
//! Curated answers ride on the same channel: their trigger (migration 0013) sends
//! `curated:<company id>`, and [`TenantCache::curated_version`] tells the engine's curated cache
//! when a company's answers changed.
//!
//! A read that raced with a change (loaded before the commit, finished after its notification)
//! must not be cached: reads note the invalidation epoch before loading and cache only if no
//! invalidation happened since.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;
use tracing::{debug, warn};

use crate::cache::GenCache;
use crate::store::sql::Tenant;

/// The notification channel of tenant changes (payload: the company id; empty: a heartbeat;
/// [`CURATED_PREFIX`] and the company id: its curated answers changed).
pub(crate) const CHANNEL: &str = "chatbot_tenant";
/// The payload prefix of a curated-answer change (company ids cannot contain ':').
const CURATED_PREFIX: &str = "curated:";
/// How often each instance checks its notification connection.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);
/// The cache is bypassed when no heartbeat came back for this long.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(3);
/// Companies cached per instance (a safety bound; each entry is a few kilobytes).
const CAPACITY: usize = 50_000;
/// Age limit of an entry, a safety net only (notifications do the real work).
const MAX_AGE: Duration = Duration::from_secs(300);

/// The per-instance cache and the state of its notification connection.
pub(crate) struct TenantCache {
    entries: GenCache<String, Arc<Tenant>>,
    /// Bumped by every invalidation (see the module docs).
    epoch: AtomicU64,
    started: AtomicBool,
    /// Milliseconds after `origin` when the last heartbeat came back (0: never).
    last_beat_ms: AtomicU64,
    origin: Instant,
    /// Per company, the number (from `curated_seq`) of the last curated-answer change heard of
    /// since `curated_floor`.
    curated: Mutex<HashMap<String, u64>>,
    curated_seq: AtomicU64,
    /// The number taken when the listener's connection was last lost: every version is at least
    /// this, so all of them changed then (changes may have gone unheard).
    curated_floor: AtomicU64,
}

impl Default for TenantCache {
    fn default() -> Self {
        Self {
            entries: GenCache::new(CAPACITY, MAX_AGE),
            epoch: AtomicU64::new(0),
            started: AtomicBool::new(false),
            last_beat_ms: AtomicU64::new(0),
            origin: Instant::now(),
            curated: Mutex::default(),
            curated_seq: AtomicU64::new(0),
            curated_floor: AtomicU64::new(0),
        }
    }
}

impl TenantCache {
    /// Whether the notification connection is known to work (the cache may be used).
    pub(crate) fn live(&self) -> bool {
        let beat = self.last_beat_ms.load(Ordering::Acquire);
        beat != 0 && self.elapsed_ms().saturating_sub(beat) < STALE_AFTER.as_millis() as u64
    }

    fn elapsed_ms(&self) -> u64 {
        (self.origin.elapsed().as_millis() as u64).max(1)
    }

    /// The cached company, when the cache may be used.
    pub(crate) fn get(&self, company_id: &str) -> Option<Arc<Tenant>> {
        if self.live() { self.entries.get(company_id) } else { None }
    }

    /// The epoch to pass to [`TenantCache::put`] for a read starting now.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Cache what a read that started at `epoch` loaded, unless something changed since.
    pub(crate) fn put(&self, company_id: &str, tenant: Arc<Tenant>, epoch: u64) {
        if self.live() && self.epoch() == epoch {
            self.entries.insert(company_id.to_string(), tenant);
            // An invalidation between the check and the insert: drop it again.
            if self.epoch() != epoch {
                self.entries.remove(&company_id.to_string());
            }
        }
    }

    /// Forget one company (its row changed).
    pub(crate) fn invalidate(&self, company_id: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(&company_id.to_string());
    }

    /// Forget everything (the notification connection dropped: changes may have been missed).
    fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.last_beat_ms.store(0, Ordering::Release);
        self.entries.clear();
        let floor = self.curated_seq.fetch_add(1, Ordering::AcqRel) + 1;
        self.curated_floor.store(floor, Ordering::Release);
        self.curated.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// A company's curated answers changed (told by a notification, or written here).
    pub(crate) fn curated_changed(&self, company_id: &str) {
        let n = self.curated_seq.fetch_add(1, Ordering::AcqRel) + 1;
        self.curated
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(company_id.to_string(), n);
    }

    /// A number that changes with every change of the company's curated answers, by any
    /// writer, while the notification connection works; `None` when it does not (changes may go
    /// unheard).
    pub(crate) fn curated_version(&self, company_id: &str) -> Option<u64> {
        if !self.live() {
            return None;
        }
        let floor = self.curated_floor.load(Ordering::Acquire);
        let last =
            self.curated.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(company_id).copied();
        Some(last.unwrap_or(0).max(floor))
    }

    /// Start the listener and the heartbeat once (on the first tenant read of this store).
    pub(crate) fn start(self: &Arc<Self>, pool: &sqlx::PgPool) {
        // Called on every tenant read: a plain load first, so the hot path never writes the
        // shared flag (a read-modify-write on every request would bounce its cache line).
        if self.started.load(Ordering::Acquire) || self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        let pool = pool.clone();
        tokio::spawn(listen(weak.clone(), pool.clone()));
        tokio::spawn(heartbeat(weak, pool));
    }
}

/// Receive notifications until the store is gone.
async fn listen(cache: Weak<TenantCache>, pool: sqlx::PgPool) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "tenant change listener cannot connect; settings are read from the database");
                if !sleep_alive(&cache, HEARTBEAT).await {
                    return;
                }
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            warn!(error = %e, "LISTEN failed; settings are read from the database");
            if !sleep_alive(&cache, HEARTBEAT).await {
                return;
            }
            continue;
        }
        loop {
            let received = listener.try_recv().await;
            let Some(c) = cache.upgrade() else { return };
            match received {
                Ok(Some(n)) if n.payload().is_empty() => {
                    c.last_beat_ms.store(c.elapsed_ms(), Ordering::Release)
                }
                Ok(Some(n)) => match n.payload().strip_prefix(CURATED_PREFIX) {
                    Some(company) => c.curated_changed(company),
                    None => c.invalidate(n.payload()),
                },
                Ok(None) => {
                    // Lost and re-established: whatever changed meanwhile is unknown.
                    debug!("tenant change listener reconnected; cache emptied");
                    c.invalidate_all();
                }
                Err(e) => {
                    warn!(error = %e, "tenant change listener failed; cache emptied, reconnecting");
                    c.invalidate_all();
                    break;
                }
            }
        }
    }
}

/// Send the heartbeat notification every [`HEARTBEAT`] while the store lives; a last one when
/// it is gone wakes the listener so it can end too.
async fn heartbeat(cache: Weak<TenantCache>, pool: sqlx::PgPool) {
    loop {
        let alive = sleep_alive(&cache, HEARTBEAT).await;
        if let Err(e) = sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(&pool).await {
            debug!(error = %e, "tenant cache heartbeat not sent");
        }
        if !alive {
            return;
        }
    }
}

/// Sleep, then whether the cache's store still exists.
async fn sleep_alive(cache: &Weak<TenantCache>, d: Duration) -> bool {
    tokio::time::sleep(d).await;
    cache.strong_count() > 0
}
