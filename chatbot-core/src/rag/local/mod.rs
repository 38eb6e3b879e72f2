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
//! # Lexical search
//! Beside the dense rows, each namespace keeps an inverted index of its records'
//! [`Terms`] (see `lexical.rs`): [`VectorStore::query_lexical`] is exact BM25 with
//! the namespace's own current statistics (documents with terms, document frequencies, average
//! length), so one company's vocabulary never weighs another's. Records of a lexical-only
//! company have no dense values (dimension 0): they are stored and searched lexically, the
//! dense query on such a namespace finds nothing, and [`NamespaceStats::dimension`] reads
//! `Some(0)`. Terms are logged with their record (entry kind 4, in a log whose magic is
//! `CBVLOG2`, which earlier versions refuse rather than cut; logs written before terms existed
//! still load, their records without terms).
//!
//! # Concurrency
//! One `RwLock` per namespace: many concurrent readers, writers replace or append in place.
//! Namespaces are loaded lazily on first use.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
pub(crate) use lexical::normalize_terms;
use lexical::{Lexical, NONE};
use log::{OP_DELETE, encode_upsert, put_bytes, put_u32, sync_dir};
use search::{TopK, dot_f32, quantize, sign_bits, words};

use super::{
    LexicalQuery, Metadata, MetadataFilter, NamespaceStats, QueryMatch, Terms, VectorRecord, VectorStore,
};
use crate::error::{Error, Result};

mod lexical;
mod log;
mod search;

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
    /// [`Error::Invalid`] for an empty/over-long id, non-finite values or terms whose ids and
    /// counts differ in length (terms are otherwise normalised: sorted, merged, zeros dropped),
    /// [`Error::EmbedderMismatch`] when the dimension differs from the namespace's, [`Error::Io`].
    pub fn upsert_sync(&self, namespace: &str, records: &[VectorRecord]) -> Result<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        let shard = self.shard(namespace)?;
        let mut shard = shard.write().map_err(poisoned)?;
        // Dimension 0: a lexical-only company's records (terms, no dense vector).
        let dim = records[0].values.len();
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
            let terms = r.terms.as_ref().map(|t| normalize_terms(&r.id, t)).transpose()?;
            let mut values = r.values.clone();
            super::normalize(&mut values);
            prepared.push(VectorRecord { id: r.id.clone(), values, terms, metadata: r.metadata.clone() });
        }
        shard.append(&encode_upsert(dim, &prepared))?;
        shard.dim = dim;
        for r in prepared {
            shard.put(r);
        }
        shard.maybe_rebuild_lexical();
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
        // A lexical-only namespace (dimension 0) has nothing to find densely.
        if shard.ids.is_empty() || top_k == 0 || shard.dim == 0 {
            return Ok(Vec::new());
        }
        if vector.len() != shard.dim {
            return Err(mismatch(namespace, shard.dim, vector.len()));
        }
        let mut q = vector.to_vec();
        super::normalize(&mut q);
        shard.search(&q, top_k, filter)
    }

    /// Synchronous [`VectorStore::query_lexical`]: exact BM25 over the namespace's records with
    /// terms, with the namespace's own current statistics (`query.weights` are ignored: they
    /// are the remote stores' approximation of the same IDF).
    ///
    /// # Errors
    /// Only on a poisoned lock or an unreadable log.
    pub fn query_lexical_sync(
        &self,
        namespace: &str,
        query: &LexicalQuery,
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        let shard = self.shard(namespace)?;
        let shard = shard.read().map_err(poisoned)?;
        let hits = shard.lex.search(
            &query.ids,
            top_k,
            |row| shard.ids[row].as_str(),
            |row| filter.is_none_or(|f| f.matches(&shard.meta[row])),
        );
        let n = shard.lex.doc_count();
        let mass = super::bm25::idf_mass(n, query.ids.iter().map(|&t| shard.lex.df(t)));
        Ok(hits
            .into_iter()
            .map(|(score, i)| QueryMatch {
                id: shard.ids[i].clone(),
                score: super::bm25::relevance(score, mass),
                metadata: shard.meta[i].clone(),
            })
            .collect())
    }

    /// The lexical statistics of a namespace: `(documents with terms, document frequency of
    /// each of `terms`)`, as [`LocalIndex::query_lexical_sync`] scores with them.
    ///
    /// # Errors
    /// Only on a poisoned lock or an unreadable log.
    pub fn lexical_stats(&self, namespace: &str, terms: &[u32]) -> Result<(u64, Vec<u32>)> {
        let shard = self.shard(namespace)?;
        let shard = shard.read().map_err(poisoned)?;
        Ok((shard.lex.doc_count(), terms.iter().map(|&t| shard.lex.df(t)).collect()))
    }

    /// Approximate heap bytes the lexical side of a namespace takes (inverted index plus the
    /// stored terms of every row), for capacity planning.
    ///
    /// # Errors
    /// Only on a poisoned lock or an unreadable log.
    pub fn lexical_heap_bytes(&self, namespace: &str) -> Result<usize> {
        let shard = self.shard(namespace)?;
        let shard = shard.read().map_err(poisoned)?;
        let stored: usize = shard
            .terms
            .iter()
            .map(|t| t.as_ref().map_or(0, |t| t.ids.capacity() * 4 + t.counts.capacity() * 4))
            .sum();
        let per_row =
            shard.terms.capacity() * std::mem::size_of::<Option<Terms>>() + shard.slots.capacity() * 4;
        Ok(shard.lex.heap_bytes() + stored + per_row)
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
        shard.maybe_rebuild_lexical();
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

    fn needs_corpus_stats(&self) -> bool {
        false
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

    fn lexical(&self) -> bool {
        true
    }

    async fn query_lexical(
        &self,
        namespace: &str,
        query: &LexicalQuery,
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        self.query_lexical_sync(namespace, query, top_k, filter)
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
    /// Per row: its analysed terms (normalised), if any.
    terms: Vec<Option<Terms>>,
    /// Per row: its slot in `lex`, or [`NONE`] without terms.
    slots: Vec<u32>,
    /// The inverted index over `terms`.
    lex: Lexical,
    path: Option<PathBuf>,
    log: Option<File>,
    /// The log on disk starts with `MAGIC_TERMS` (may hold entries with terms).
    log_terms: bool,
}

impl Shard {
    /// The namespace's dimension while it holds rows (`Some(0)`: lexical-only records).
    fn dim_if_any(&self) -> Option<usize> {
        (!self.ids.is_empty()).then_some(self.dim)
    }

    fn maybe_rebuild_lexical(&mut self) {
        if self.lex.needs_rebuild() {
            self.lex.rebuild(&self.terms, &mut self.slots);
        }
    }

    fn record(&self, i: usize) -> VectorRecord {
        VectorRecord {
            id: self.ids[i].clone(),
            values: self.values[i * self.dim..(i + 1) * self.dim].to_vec(),
            terms: self.terms[i].clone(),
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
            if let Some(old) = &self.terms[i] {
                self.lex.remove(self.slots[i], old);
            }
            self.slots[i] = r.terms.as_ref().map_or(NONE, |t| self.lex.insert(i, t));
            self.terms[i] = r.terms;
        } else {
            let i = self.ids.len();
            self.pos.insert(r.id.clone(), i);
            self.ids.push(r.id);
            self.values.extend_from_slice(&r.values);
            self.codes.extend_from_slice(&codes);
            self.bits.extend_from_slice(&signs);
            self.scales.push(scale);
            self.meta.push(r.metadata);
            self.slots.push(r.terms.as_ref().map_or(NONE, |t| self.lex.insert(i, t)));
            self.terms.push(r.terms);
        }
    }

    /// Remove by swapping the last row into the hole.
    fn remove(&mut self, id: &str) {
        let Some(i) = self.pos.remove(id) else { return };
        let last = self.ids.len() - 1;
        if let Some(old) = &self.terms[i] {
            self.lex.remove(self.slots[i], old);
        }
        if i != last && self.slots[last] != NONE {
            self.lex.moved(self.slots[last], i);
        }
        let dim = self.dim;
        let w = words(dim);
        if i != last {
            self.values.copy_within(last * dim..(last + 1) * dim, i * dim);
            self.codes.copy_within(last * dim..(last + 1) * dim, i * dim);
            self.bits.copy_within(last * w..(last + 1) * w, i * w);
            self.ids.swap(i, last);
            self.meta.swap(i, last);
            self.scales.swap(i, last);
            self.terms.swap(i, last);
            self.slots.swap(i, last);
            self.pos.insert(self.ids[i].clone(), i);
        }
        self.ids.truncate(last);
        self.meta.truncate(last);
        self.scales.truncate(last);
        self.terms.truncate(last);
        self.slots.truncate(last);
        self.values.truncate(last * dim);
        self.codes.truncate(last * dim);
        self.bits.truncate(last * w);
    }

    fn clear(&mut self) {
        let (path, log, log_terms) = (self.path.take(), self.log.take(), self.log_terms);
        *self = Shard { path, log, log_terms, ..Shard::default() };
    }
}
