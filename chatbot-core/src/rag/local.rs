//! The embedded local vector index, persisted to disk.
//!
//! # Layout
//! One append-only log file per namespace (`ns-<hex of the namespace>.log`) in the folder given
//! to [`LocalIndex::open`]. Every write appends one entry `[u32 len][u32 crc32][payload]` and
//! syncs it before the in-memory state changes, so a crash loses at most the write in flight; a
//! torn or corrupt tail is cut off when the log is replayed. When the log holds much more than
//! the live records (replaced or deleted ones), it is compacted on load: the live records are
//! written to a temporary file, synced, and renamed over the log.
//!
//! # Search
//! Exact cosine top-k over contiguous, normalised `f32` rows, in up to three passes:
//! 1. large namespaces of wide vectors first scan a 1-bit sign code of every row (`dim / 8`
//!    bytes, 32x less memory traffic than `f32`) by Hamming distance (XOR + popcount), split
//!    across the available cores, and keep the nearest few thousand rows (a counting sort over
//!    the distances, no heap);
//! 2. those are re-ranked by an `int8` copy of the rows (per-row scale) to a few hundred;
//! 3. those are scored exactly in `f32`, so the scores returned are exact cosines.
//!
//! Narrow vectors (where one bit per dimension says too little) and sparse queries (hashed
//! features, many exact zeros: their signs say little) skip pass 1 and scan the whole `int8`
//! copy instead; small namespaces are a plain exact scan. The bit codes are derived from the
//! `f32` rows in memory, so the on-disk log format is unchanged.
//!
//! # Concurrency
//! One `RwLock` per namespace: many concurrent readers, writers replace or append in place.
//! Namespaces are loaded lazily on first use.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use super::{Metadata, MetadataFilter, NamespaceStats, QueryMatch, VectorRecord, VectorStore};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"CBVLOG1\n";
const OP_UPSERT: u8 = 1;
const OP_DELETE: u8 = 2;
const OP_CLEAR: u8 = 3;
/// Rows at or below which a query is a plain exact scan.
const EXACT_SCAN_ROWS: usize = 2048;
/// `rows * dim` from which the scan is split across threads.
const PARALLEL_FLOATS: usize = 4_000_000;
/// Dimensions from which the 1-bit pass is used (below, the `int8` scan).
const BINARY_MIN_DIM: usize = 256;
/// Rows kept by the 1-bit pass: `max(BINARY_KEEP_MIN, BINARY_KEEP_PER_K * k)`.
const BINARY_KEEP_MIN: usize = 4096;
const BINARY_KEEP_PER_K: usize = 800;
/// Rows kept by the `int8` re-rank for the exact pass: `max(INT8_KEEP_MIN, INT8_KEEP_PER_K * k)`.
const INT8_KEEP_MIN: usize = 64;
const INT8_KEEP_PER_K: usize = 16;

/// Local index: persisted (see [`LocalIndex::open`]) or memory-only ([`LocalIndex::in_memory`]).
#[derive(Debug)]
pub struct LocalIndex {
    dir: Option<PathBuf>,
    namespaces: RwLock<HashMap<String, Arc<RwLock<Shard>>>>,
}

impl LocalIndex {
    /// Open (or create) the index in `dir`. Namespaces are read lazily on first use.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be created or read.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: Some(dir.to_path_buf()), namespaces: RwLock::new(HashMap::new()) })
    }

    /// An index that lives only in memory (tests, benchmarks, throwaway demos).
    pub fn in_memory() -> Self {
        Self { dir: None, namespaces: RwLock::new(HashMap::new()) }
    }

    /// Bytes of memory one stored vector of `dim` dimensions takes, excluding id and metadata
    /// (normalised f32 row + int8 row + its scale + the 1-bit sign code).
    pub fn bytes_per_vector(dim: usize) -> usize {
        dim * 4 + dim + 4 + words(dim) * 8
    }

    /// Namespaces with a log on disk or loaded in memory, sorted.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be read.
    pub fn namespaces(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = self.namespaces.read().map_err(poisoned)?.keys().cloned().collect();
        if let Some(dir) = &self.dir {
            for entry in std::fs::read_dir(dir)? {
                let name = entry?.file_name();
                let name = name.to_string_lossy();
                if let Some(hex_name) = name.strip_prefix("ns-").and_then(|n| n.strip_suffix(".log"))
                    && let Ok(bytes) = hex::decode(hex_name)
                    && let Ok(ns) = String::from_utf8(bytes)
                {
                    out.push(ns);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn log_path(&self, namespace: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("ns-{}.log", hex::encode(namespace.as_bytes()))))
    }

    /// The shard of `namespace`, loading it from disk on first use.
    fn shard(&self, namespace: &str) -> Result<Arc<RwLock<Shard>>> {
        if namespace.len() > 512 {
            return Err(Error::invalid("namespace", "longer than 512 bytes"));
        }
        if let Some(s) = self.namespaces.read().map_err(poisoned)?.get(namespace) {
            return Ok(s.clone());
        }
        let mut map = self.namespaces.write().map_err(poisoned)?;
        if let Some(s) = map.get(namespace) {
            return Ok(s.clone());
        }
        let shard = match self.log_path(namespace) {
            Some(path) => Shard::load(path)?,
            None => Shard::default(),
        };
        let shard = Arc::new(RwLock::new(shard));
        map.insert(namespace.to_string(), shard.clone());
        Ok(shard)
    }

    /// Synchronous [`VectorStore::upsert`].
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty/over-long id or non-finite values,
    /// [`Error::EmbedderMismatch`] when the dimension differs from the namespace's, [`Error::Io`].
    pub fn upsert_sync(&self, namespace: &str, records: &[VectorRecord]) -> Result<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        let shard = self.shard(namespace)?;
        let mut shard = shard.write().map_err(poisoned)?;
        let dim = records[0].values.len();
        if dim == 0 {
            return Err(Error::invalid("values", "vector has no dimensions"));
        }
        if let Some(have) = shard.dim_if_any()
            && have != dim
        {
            return Err(mismatch(namespace, have, dim));
        }
        let mut prepared = Vec::with_capacity(records.len());
        for r in records {
            if r.id.is_empty() || r.id.len() > 512 {
                return Err(Error::invalid("id", "must be 1 to 512 bytes"));
            }
            if r.values.len() != dim {
                return Err(Error::invalid(
                    "values",
                    format!("record {} has {} dimensions, the batch has {dim}", r.id, r.values.len()),
                ));
            }
            if r.values.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid("values", format!("record {} holds NaN or infinity", r.id)));
            }
            let mut values = r.values.clone();
            super::normalize(&mut values);
            prepared.push(VectorRecord { id: r.id.clone(), values, metadata: r.metadata.clone() });
        }
        shard.append(&encode_upsert(dim, &prepared))?;
        shard.dim = dim;
        for r in prepared {
            shard.put(r);
        }
        Ok(records.len())
    }

    /// Synchronous [`VectorStore::query`].
    ///
    /// # Errors
    /// [`Error::EmbedderMismatch`] when the query's dimension differs from the namespace's.
    pub fn query_sync(
        &self,
        namespace: &str,
        vector: &[f32],
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid("vector", "holds NaN or infinity"));
        }
        let shard = self.shard(namespace)?;
        let shard = shard.read().map_err(poisoned)?;
        if shard.ids.is_empty() || top_k == 0 {
            return Ok(Vec::new());
        }
        if vector.len() != shard.dim {
            return Err(mismatch(namespace, shard.dim, vector.len()));
        }
        let mut q = vector.to_vec();
        super::normalize(&mut q);
        Ok(shard.search(&q, top_k, filter))
    }

    /// Exact top-k ids by a plain f32 scan (no int8 pass): the reference the benchmark
    /// measures the fast path's recall against.
    ///
    /// # Errors
    /// As [`LocalIndex::query_sync`].
    pub fn exact_top_k_for_bench(
        &self,
        namespace: &str,
        vector: &[f32],
        top_k: usize,
    ) -> Result<Vec<String>> {
        let shard = self.shard(namespace)?;
        let shard = shard.read().map_err(poisoned)?;
        if vector.len() != shard.dim {
            return Err(mismatch(namespace, shard.dim, vector.len()));
        }
        let mut q = vector.to_vec();
        super::normalize(&mut q);
        let mut heap = TopK::new(top_k);
        for i in 0..shard.ids.len() {
            heap.push(dot_f32(&q, &shard.values[i * shard.dim..(i + 1) * shard.dim]), i);
        }
        Ok(heap.into_sorted().into_iter().map(|(_, i)| shard.ids[i].clone()).collect())
    }

    /// Synchronous [`VectorStore::fetch`].
    ///
    /// # Errors
    /// Only on a poisoned lock or an unreadable log.
    pub fn fetch_sync(&self, namespace: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        let shard = self.shard(namespace)?;
        let shard = shard.read().map_err(poisoned)?;
        Ok(ids.iter().filter_map(|id| shard.pos.get(id).map(|&i| shard.record(i))).collect())
    }

    /// Synchronous [`VectorStore::delete`].
    ///
    /// # Errors
    /// [`Error::Io`] when the log cannot be written.
    pub fn delete_sync(&self, namespace: &str, ids: &[String]) -> Result<()> {
        let shard = self.shard(namespace)?;
        let mut shard = shard.write().map_err(poisoned)?;
        let present: Vec<&String> = ids.iter().filter(|id| shard.pos.contains_key(*id)).collect();
        if present.is_empty() {
            return Ok(());
        }
        let mut payload = vec![OP_DELETE];
        put_u32(&mut payload, present.len());
        for id in &present {
            put_bytes(&mut payload, id.as_bytes());
        }
        shard.append(&payload)?;
        for id in ids {
            shard.remove(id);
        }
        Ok(())
    }

    /// Synchronous [`VectorStore::delete_namespace`].
    ///
    /// # Errors
    /// [`Error::Io`] when the log cannot be removed.
    pub fn delete_namespace_sync(&self, namespace: &str) -> Result<()> {
        let shard = self.shard(namespace)?;
        let mut shard = shard.write().map_err(poisoned)?;
        let path = shard.path.clone();
        *shard = Shard { path: path.clone(), ..Shard::default() };
        if let Some(path) = path {
            match std::fs::remove_file(&path) {
                Ok(()) => sync_dir(&path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Synchronous [`VectorStore::stats`].
    ///
    /// # Errors
    /// Only on a poisoned lock or an unreadable log.
    pub fn stats_sync(&self, namespace: &str) -> Result<NamespaceStats> {
        let shard = self.shard(namespace)?;
        let shard = shard.read().map_err(poisoned)?;
        Ok(NamespaceStats { vector_count: shard.ids.len() as u64, dimension: shard.dim_if_any() })
    }
}

#[async_trait]
impl VectorStore for LocalIndex {
    fn name(&self) -> &'static str {
        "local"
    }

    fn max_upsert_batch(&self) -> usize {
        10_000
    }

    async fn upsert(&self, namespace: &str, records: &[VectorRecord]) -> Result<usize> {
        self.upsert_sync(namespace, records)
    }

    async fn query(
        &self,
        namespace: &str,
        vector: &[f32],
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        self.query_sync(namespace, vector, top_k, filter)
    }

    async fn fetch(&self, namespace: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        self.fetch_sync(namespace, ids)
    }

    async fn delete(&self, namespace: &str, ids: &[String]) -> Result<()> {
        self.delete_sync(namespace, ids)
    }

    async fn delete_namespace(&self, namespace: &str) -> Result<()> {
        self.delete_namespace_sync(namespace)
    }

    async fn stats(&self, namespace: &str) -> Result<NamespaceStats> {
        self.stats_sync(namespace)
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Internal("local index lock poisoned by a panicked thread".into())
}

fn mismatch(namespace: &str, have: usize, got: usize) -> Error {
    Error::EmbedderMismatch(format!(
        "namespace {namespace:?} holds {have}-dimensional vectors but got a {got}-dimensional one; \
         the embedder changed since it was indexed (re-index with the current embedder)"
    ))
}

/// One namespace: rows stored contiguously.
#[derive(Debug, Default)]
struct Shard {
    /// 0 while empty and never written.
    dim: usize,
    ids: Vec<String>,
    pos: HashMap<String, usize>,
    /// Normalised rows, `ids.len() * dim`.
    values: Vec<f32>,
    /// Quantised rows, `ids.len() * dim`.
    codes: Vec<i8>,
    /// Per-row dequantisation scale.
    scales: Vec<f32>,
    /// Sign codes of the rows, `ids.len() * words(dim)` (see [`sign_bits`]).
    bits: Vec<u64>,
    meta: Vec<Metadata>,
    path: Option<PathBuf>,
    log: Option<File>,
}

impl Shard {
    fn dim_if_any(&self) -> Option<usize> {
        (!self.ids.is_empty() && self.dim > 0).then_some(self.dim)
    }

    fn record(&self, i: usize) -> VectorRecord {
        VectorRecord {
            id: self.ids[i].clone(),
            values: self.values[i * self.dim..(i + 1) * self.dim].to_vec(),
            metadata: self.meta[i].clone(),
        }
    }

    /// Insert or replace (values already normalised, dimension checked).
    fn put(&mut self, r: VectorRecord) {
        let dim = self.dim;
        let (codes, scale) = quantize(&r.values);
        let signs = sign_bits(&r.values);
        let w = signs.len();
        if let Some(&i) = self.pos.get(&r.id) {
            self.values[i * dim..(i + 1) * dim].copy_from_slice(&r.values);
            self.codes[i * dim..(i + 1) * dim].copy_from_slice(&codes);
            self.bits[i * w..(i + 1) * w].copy_from_slice(&signs);
            self.scales[i] = scale;
            self.meta[i] = r.metadata;
        } else {
            self.pos.insert(r.id.clone(), self.ids.len());
            self.ids.push(r.id);
            self.values.extend_from_slice(&r.values);
            self.codes.extend_from_slice(&codes);
            self.bits.extend_from_slice(&signs);
            self.scales.push(scale);
            self.meta.push(r.metadata);
        }
    }

    /// Remove by swapping the last row into the hole.
    fn remove(&mut self, id: &str) {
        let Some(i) = self.pos.remove(id) else { return };
        let last = self.ids.len() - 1;
        let dim = self.dim;
        let w = words(dim);
        if i != last {
            self.values.copy_within(last * dim..(last + 1) * dim, i * dim);
            self.codes.copy_within(last * dim..(last + 1) * dim, i * dim);
            self.bits.copy_within(last * w..(last + 1) * w, i * w);
            self.ids.swap(i, last);
            self.meta.swap(i, last);
            self.scales.swap(i, last);
            self.pos.insert(self.ids[i].clone(), i);
        }
        self.ids.truncate(last);
        self.meta.truncate(last);
        self.scales.truncate(last);
        self.values.truncate(last * dim);
        self.codes.truncate(last * dim);
        self.bits.truncate(last * w);
    }

    fn clear(&mut self) {
        let (path, log) = (self.path.take(), self.log.take());
        *self = Shard { path, log, ..Shard::default() };
    }

    /// Append one entry to the log and sync it (no-op in memory).
    fn append(&mut self, payload: &[u8]) -> Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        if self.log.is_none() {
            let fresh = !path.exists();
            let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
            if fresh {
                f.write_all(MAGIC)?;
            }
            self.log = Some(f);
            if fresh {
                sync_dir(&path);
            }
        }
        if let Some(f) = self.log.as_mut() {
            let mut entry = Vec::with_capacity(payload.len() + 8);
            put_u32(&mut entry, payload.len());
            entry.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            entry.extend_from_slice(payload);
            f.write_all(&entry)?;
            f.sync_data()?;
        }
        Ok(())
    }

    /// Replay the log at `path` (missing = empty), cut a torn tail, compact when mostly dead.
    fn load(path: PathBuf) -> Result<Self> {
        let mut shard = Shard { path: Some(path.clone()), ..Shard::default() };
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(shard),
            Err(e) => return Err(e.into()),
        };
        let file_len = file.metadata()?.len();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0u8; 8];
        if reader.read_exact(&mut magic).is_err() || &magic != MAGIC {
            return Err(Error::Storage(format!("{} is not a local index log", path.display())));
        }
        let mut good = MAGIC.len() as u64;
        let mut written_rows = 0usize;
        loop {
            let mut head = [0u8; 8];
            if reader.read_exact(&mut head).is_err() {
                break;
            }
            let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as u64;
            let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            if good + 8 + len > file_len {
                break;
            }
            let mut payload = vec![0u8; len as usize];
            if reader.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != crc {
                break;
            }
            match shard.apply(&payload) {
                Some(n) => written_rows += n,
                None => break,
            }
            good += 8 + len;
        }
        if good < file_len {
            tracing::warn!(path = %path.display(), kept = good, len = file_len, "local index: cut a torn log tail");
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(good)?;
            f.sync_all()?;
        }
        if written_rows > 2 * shard.ids.len() + 1024 {
            shard.compact()?;
        }
        Ok(shard)
    }

    /// Apply one decoded log entry; `Some(rows written)` or `None` when it does not decode.
    fn apply(&mut self, payload: &[u8]) -> Option<usize> {
        let mut cur = Cursor { buf: payload, at: 0 };
        match cur.u8()? {
            OP_UPSERT => {
                let dim = cur.u32()? as usize;
                let n = cur.u32()? as usize;
                if self.dim_if_any().is_some_and(|d| d != dim) {
                    return None;
                }
                self.dim = dim;
                for _ in 0..n {
                    let id = String::from_utf8(cur.bytes()?.to_vec()).ok()?;
                    let raw = cur.take(dim * 4)?;
                    let values: Vec<f32> =
                        raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                    let metadata: Metadata = serde_json::from_slice(cur.bytes()?).ok()?;
                    self.put(VectorRecord { id, values, metadata });
                }
                Some(n)
            }
            OP_DELETE => {
                let n = cur.u32()? as usize;
                for _ in 0..n {
                    let id = std::str::from_utf8(cur.bytes()?).ok()?.to_string();
                    self.remove(&id);
                }
                Some(n)
            }
            OP_CLEAR => {
                self.clear();
                Some(0)
            }
            _ => None,
        }
    }

    /// Rewrite the log with only the live rows: temp file, sync, rename, sync the folder.
    fn compact(&mut self) -> Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        let tmp = path.with_extension("log.tmp");
        {
            let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            w.write_all(MAGIC)?;
            for start in (0..self.ids.len()).step_by(1000) {
                let end = (start + 1000).min(self.ids.len());
                let batch: Vec<VectorRecord> = (start..end).map(|i| self.record(i)).collect();
                let payload = encode_upsert(self.dim, &batch);
                put_u32(&mut w, payload.len());
                w.write_all(&crc32fast::hash(&payload).to_le_bytes())?;
                w.write_all(&payload)?;
            }
            let f = w.into_inner().map_err(|e| Error::Io(e.into_error()))?;
            f.sync_all()?;
        }
        self.log = None;
        std::fs::rename(&tmp, &path)?;
        sync_dir(&path);
        tracing::debug!(path = %path.display(), rows = self.ids.len(), "local index: compacted log");
        Ok(())
    }

    /// Top-k exact cosine (rows and query normalised).
    fn search(&self, q: &[f32], top_k: usize, filter: Option<&MetadataFilter>) -> Vec<QueryMatch> {
        let n = self.ids.len();
        let dim = self.dim;
        // Rows passing the filter (`None` = all rows).
        let allowed: Option<Vec<bool>> = filter.map(|f| self.meta.iter().map(|m| f.matches(m)).collect());
        let live = allowed.as_ref().map_or(n, |a| a.iter().filter(|&&x| x).count());
        let ok = |i: usize| allowed.as_ref().is_none_or(|a| a[i]);
        let exact: Vec<(f32, usize)> =
            if live <= EXACT_SCAN_ROWS || top_k.saturating_mul(INT8_KEEP_PER_K).max(INT8_KEEP_MIN) >= live {
                let mut heap = TopK::new(top_k);
                for i in (0..n).filter(|&i| ok(i)) {
                    heap.push(dot_f32(q, self.row(i)), i);
                }
                heap.into_sorted()
            } else {
                let threads = if n * dim >= PARALLEL_FLOATS {
                    std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
                } else {
                    1
                };
                let int8_keep = top_k.saturating_mul(INT8_KEEP_PER_K).max(INT8_KEEP_MIN);
                let pool: Vec<usize> =
                    if (BINARY_MIN_DIM..=usize::from(u16::MAX)).contains(&dim) && !is_sparse(q) {
                        let keep = top_k.saturating_mul(BINARY_KEEP_PER_K).max(BINARY_KEEP_MIN);
                        self.binary_candidates(q, keep, threads, allowed.as_deref())
                    } else {
                        (0..n).filter(|&i| ok(i)).collect()
                    };
                let mut approx = self.int8_scores(q, &pool, threads);
                // Without the 1-bit pass the int8 scores pick a wider exact pass (as before it).
                let int8_keep = if pool.len() == n { top_k.saturating_mul(8).max(64) } else { int8_keep };
                if approx.len() > int8_keep {
                    approx.select_nth_unstable_by(int8_keep - 1, |a, b| b.0.total_cmp(&a.0));
                    approx.truncate(int8_keep);
                }
                let mut heap = TopK::new(top_k);
                for (_, i) in approx {
                    heap.push(dot_f32(q, self.row(i)), i);
                }
                heap.into_sorted()
            };
        exact
            .into_iter()
            .map(|(score, i)| QueryMatch { id: self.ids[i].clone(), score, metadata: self.meta[i].clone() })
            .collect()
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The `keep` allowed rows nearest to `q` by Hamming distance of the sign codes (ties at the
    /// cut: lower rows first), in row order.
    fn binary_candidates(
        &self,
        q: &[f32],
        keep: usize,
        threads: usize,
        allowed: Option<&[bool]>,
    ) -> Vec<usize> {
        let n = self.ids.len();
        let qbits = sign_bits(q);
        let w = qbits.len();
        let mut dist = vec![0u16; n];
        let scan = |lo: usize, out: &mut [u16]| {
            let rows = self.bits[lo * w..(lo + out.len()) * w].chunks_exact(w);
            for (d, row) in out.iter_mut().zip(rows) {
                *d = hamming(&qbits, row);
            }
        };
        if threads > 1 {
            let per = n.div_ceil(threads);
            std::thread::scope(|s| {
                for (t, chunk) in dist.chunks_mut(per).enumerate() {
                    let scan = &scan;
                    s.spawn(move || scan(t * per, chunk));
                }
            });
        } else {
            scan(0, &mut dist);
        }
        // Counting sort: find the distance `cut` below which fewer than `keep` rows lie.
        let mut hist = vec![0usize; w * 64 + 2];
        for (i, &d) in dist.iter().enumerate() {
            if allowed.is_none_or(|a| a[i]) {
                hist[usize::from(d)] += 1;
            }
        }
        let (mut cut, mut below) = (0usize, 0usize);
        while cut < hist.len() && below + hist[cut] <= keep {
            below += hist[cut];
            cut += 1;
        }
        let mut at_cut = keep - below;
        let mut out = Vec::with_capacity(keep);
        for (i, &d) in dist.iter().enumerate() {
            if !allowed.is_none_or(|a| a[i]) {
                continue;
            }
            let d = usize::from(d);
            if d < cut {
                out.push(i);
            } else if d == cut && at_cut > 0 {
                at_cut -= 1;
                out.push(i);
            }
        }
        out
    }

    /// `(approximate cosine by the int8 rows, row)` for every row of `pool`.
    fn int8_scores(&self, q: &[f32], pool: &[usize], threads: usize) -> Vec<(f32, usize)> {
        let dim = self.dim;
        let (qcodes, _) = quantize(q);
        let score = |rows: &[usize]| -> Vec<(f32, usize)> {
            rows.iter()
                .map(|&i| (dot_i8(&qcodes, &self.codes[i * dim..(i + 1) * dim]) as f32 * self.scales[i], i))
                .collect()
        };
        if threads > 1 && pool.len() * dim >= PARALLEL_FLOATS / 2 {
            let per = pool.len().div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = pool.chunks(per).map(|c| s.spawn(|| score(c))).collect();
                handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
            })
        } else {
            score(pool)
        }
    }
}

/// Bounded min-heap keeping the `k` best `(score, row)`.
struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

#[derive(PartialEq)]
struct Entry(f32, usize);
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: the heap's top is the worst kept entry (ties: the later row is worse).
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    #[inline]
    fn push(&mut self, score: f32, row: usize) {
        if self.heap.len() < self.k {
            self.heap.push(Entry(score, row));
        } else if let Some(worst) = self.heap.peek()
            && score > worst.0
        {
            self.heap.pop();
            self.heap.push(Entry(score, row));
        }
    }

    /// Best first.
    fn into_sorted(self) -> Vec<(f32, usize)> {
        self.heap.into_sorted_vec().into_iter().map(|Entry(s, i)| (s, i)).collect()
    }
}

/// Dot product with 8 independent accumulators (the compiler vectorises this).
#[inline]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

/// Integer dot product of int8 rows (i16 products summed in i32 lanes).
#[inline]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..16 {
            acc[j] += i32::from(i16::from(x[j]) * i16::from(y[j]));
        }
    }
    let mut sum: i32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += i32::from(*x) * i32::from(*y);
    }
    sum
}

/// 64-bit words of a sign code of `dim` dimensions.
fn words(dim: usize) -> usize {
    dim.div_ceil(64)
}

/// Sign code: bit `j % 64` of word `j / 64` is set when `v[j] > 0`.
fn sign_bits(v: &[f32]) -> Vec<u64> {
    let mut out = vec![0u64; words(v.len())];
    for (word, chunk) in out.iter_mut().zip(v.chunks(64)) {
        for (j, x) in chunk.iter().enumerate() {
            *word |= u64::from(*x > 0.0) << j;
        }
    }
    out
}

/// Hamming distance of two sign codes (XOR + popcount; the loop autovectorises).
#[inline]
fn hamming(a: &[u64], b: &[u64]) -> u16 {
    let mut acc = 0u32;
    for (x, y) in a.iter().zip(b) {
        acc += (x ^ y).count_ones();
    }
    acc as u16
}

/// True when more than 1/16 of `q`'s components are exactly zero (sparse, hashed-feature
/// vectors): a sign code says little about those, so they take the `int8` scan.
fn is_sparse(q: &[f32]) -> bool {
    q.iter().filter(|x| **x == 0.0).count() * 16 > q.len()
}

/// Symmetric per-row int8 quantisation: `x ~ code * scale`.
fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    let codes = v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect();
    (codes, scale)
}

fn encode_upsert(dim: usize, records: &[VectorRecord]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + records.len() * (dim * 4 + 64));
    out.push(OP_UPSERT);
    put_u32(&mut out, dim);
    put_u32(&mut out, records.len());
    for r in records {
        put_bytes(&mut out, r.id.as_bytes());
        for x in &r.values {
            out.extend_from_slice(&x.to_le_bytes());
        }
        let meta = serde_json::to_vec(&r.metadata).unwrap_or_else(|_| b"{}".to_vec());
        put_bytes(&mut out, &meta);
    }
    out
}

fn put_u32(out: &mut impl Write, n: usize) {
    let _ = out.write_all(&(n as u32).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.buf.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Sync the folder holding `path` so a create/rename/remove survives a crash (best effort).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_kernels_agree_with_naive() {
        let a: Vec<f32> = (0..1539).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let b: Vec<f32> = (0..1539).map(|i| ((i * 104_729) % 997) as f32 / 997.0 - 0.5).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_f32(&a, &b) - naive).abs() < 1e-3);
        let (qa, _) = quantize(&a);
        let (qb, _) = quantize(&b);
        let naive_i: i32 = qa.iter().zip(&qb).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
        assert_eq!(dot_i8(&qa, &qb), naive_i);
    }

    #[test]
    fn sign_codes_and_hamming() {
        let a: Vec<f32> = (0..130).map(|i| if i % 3 == 0 { 1.0 } else { -0.5 }).collect();
        let b: Vec<f32> = (0..130).map(|i| if i % 2 == 0 { 0.25 } else { -2.0 }).collect();
        let (ca, cb) = (sign_bits(&a), sign_bits(&b));
        assert_eq!(ca.len(), 3);
        let naive = a.iter().zip(&b).filter(|(x, y)| (**x > 0.0) != (**y > 0.0)).count();
        assert_eq!(usize::from(hamming(&ca, &cb)), naive);
        assert_eq!(hamming(&ca, &ca), 0);
        assert!(is_sparse(&[0.0, 0.0, 1.0, 0.5]));
        assert!(!is_sparse(&vec![0.1f32; 64]));
    }

    #[test]
    fn topk_keeps_best_in_order() {
        let mut t = TopK::new(3);
        for (i, s) in [0.1, 0.9, 0.5, 0.7, 0.2].into_iter().enumerate() {
            t.push(s, i);
        }
        assert_eq!(t.into_sorted(), vec![(0.9, 1), (0.7, 3), (0.5, 2)]);
    }
}
