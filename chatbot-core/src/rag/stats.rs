//! Corpus statistics for query weighting: how many documents (chunks) a company holds and in
//! how many of them each hashed feature occurs (document frequency).
//!
//! A stateless embedder (the offline one) cannot know which words are rare in a company's
//! knowledge; BM25 does, through IDF. The statistics give the query side that knowledge while
//! document vectors stay independent of the corpus (so ingesting more never forces re-embedding
//! what is stored). Features are identified by a 32-bit key chosen by the embedder.
//!
//! Serialised form (compact, versioned): `b"CSv1"`, then LEB128 varints: document count,
//! number of entries, then per entry (keys ascending) the key's delta from the previous key and
//! its document frequency.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::GenCache;
use crate::error::{Error, Result};
use crate::store::Store;

const MAGIC: &[u8; 4] = b"CSv1";

/// Document count and document frequency per feature key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusStats {
    doc_count: u64,
    df: HashMap<u32, u32>,
}

impl CorpusStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Count one document given its feature keys (duplicates are counted once).
    pub fn add_document(&mut self, keys: &[u32]) {
        self.doc_count += 1;
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            let e = self.df.entry(k).or_insert(0);
            *e = e.saturating_add(1);
        }
    }

    /// Drop keys held by fewer than `min_df` documents (smaller to store; a dropped key then
    /// reads as unseen, which weighs about as much as a key of one document).
    pub fn prune(&mut self, min_df: u32) {
        self.df.retain(|_, d| *d >= min_df);
    }

    /// Number of documents counted.
    pub fn doc_count(&self) -> u64 {
        self.doc_count
    }

    /// Number of distinct feature keys.
    pub fn len(&self) -> usize {
        self.df.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_count == 0
    }

    /// Document frequency of a key (0 when no document holds it).
    pub fn df(&self, key: u32) -> u32 {
        self.df.get(&key).copied().unwrap_or(0)
    }

    /// BM25's IDF of a document frequency, `ln(1 + (N - df + 0.5) / (df + 0.5))`: always
    /// positive, largest for rare features.
    pub fn idf(&self, df: u32) -> f32 {
        let n = self.doc_count as f64;
        let df = f64::from(df).min(n);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as f32
    }

    /// Compact binary form (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut keys: Vec<(&u32, &u32)> = self.df.iter().collect();
        keys.sort_unstable();
        let mut out = Vec::with_capacity(16 + keys.len() * 4);
        out.extend_from_slice(MAGIC);
        put_varint(&mut out, self.doc_count);
        put_varint(&mut out, keys.len() as u64);
        let mut prev = 0u32;
        for (&k, &df) in keys {
            put_varint(&mut out, u64::from(k - prev));
            put_varint(&mut out, u64::from(df));
            prev = k;
        }
        out
    }

    /// Parse [`CorpusStats::to_bytes`].
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error) for a truncated or malformed blob.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::invalid("corpus_stats", why.to_string());
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| bad("unknown format"))?;
        let mut pos = 0usize;
        let doc_count = get_varint(rest, &mut pos).ok_or_else(|| bad("truncated"))?;
        let n = get_varint(rest, &mut pos).ok_or_else(|| bad("truncated"))?;
        // Every entry takes at least two bytes: refuse counts the blob cannot hold.
        if n > (rest.len() as u64) / 2 {
            return Err(bad("entry count larger than the blob"));
        }
        let mut df = HashMap::with_capacity(n as usize);
        let mut key = 0u64;
        for i in 0..n {
            let delta = get_varint(rest, &mut pos).ok_or_else(|| bad("truncated"))?;
            let d = get_varint(rest, &mut pos).ok_or_else(|| bad("truncated"))?;
            if i > 0 && delta == 0 {
                return Err(bad("keys not ascending"));
            }
            key += delta;
            let k = u32::try_from(key).map_err(|_| bad("key out of range"))?;
            let d = u32::try_from(d).map_err(|_| bad("frequency out of range"))?;
            df.insert(k, d);
        }
        if pos != rest.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(Self { doc_count, df })
    }
}

/// Stored statistics keep keys of at least this many documents (a key of one document reads as
/// unseen, which weighs about the same; this shrinks the blob ~2.6x on the Python manual).
pub const STORED_MIN_DF: u32 = 2;

/// Chunks read per page when recomputing a company's statistics.
const REFRESH_PAGE: u32 = 1000;

/// Recompute a company's lexical statistics from its chunks (`pinecone_vectors`, read in pages)
/// and store them under [`super::bm25::ANALYZER`]. Returns the number of documents counted.
///
/// # Errors
/// Storage failures.
pub async fn refresh_corpus_stats(store: &dyn Store, company_id: &str) -> Result<u64> {
    let mut stats = CorpusStats::new();
    let mut offset = 0u32;
    loop {
        let page = store.list_chunks(company_id, REFRESH_PAGE, offset).await?;
        if page.is_empty() {
            break;
        }
        let n = u32::try_from(page.len()).unwrap_or(REFRESH_PAGE);
        // Text analysis is CPU work: keep it off the async workers.
        let keys: Vec<Vec<u32>> = tokio::task::spawn_blocking(move || {
            page.iter()
                .map(|c| super::bm25::document_terms(&crate::ingest::index::chunk_text(c)).ids)
                .collect()
        })
        .await
        .map_err(|e| Error::Internal(format!("corpus statistics task failed: {e}")))?;
        for k in &keys {
            stats.add_document(k);
        }
        if n < REFRESH_PAGE {
            break;
        }
        offset = offset.saturating_add(n);
    }
    stats.prune(STORED_MIN_DF);
    let bytes = stats.to_bytes();
    store.put_corpus_stats(company_id, super::bm25::ANALYZER, stats.doc_count(), &bytes).await?;
    tracing::debug!(
        company_id,
        docs = stats.doc_count(),
        keys = stats.len(),
        bytes = bytes.len(),
        "corpus statistics refreshed"
    );
    Ok(stats.doc_count())
}

/// How long [`StatsCache`] serves a company's statistics before reading them again.
pub const STATS_CACHE_TTL: Duration = Duration::from_secs(5);
/// Companies kept per cache generation (at most twice this many).
const STATS_CACHE_ENTRIES: usize = 256;

/// Per-company statistics for query embedding, read from the store at most once per
/// [`STATS_CACHE_TTL`] per company. Statistics counted by another model are ignored.
pub struct StatsCache {
    /// `None`: looked up, and the company has no statistics for this model.
    entries: GenCache<String, Option<Arc<CorpusStats>>>,
}

impl Default for StatsCache {
    fn default() -> Self {
        Self { entries: GenCache::new(STATS_CACHE_ENTRIES, STATS_CACHE_TTL) }
    }
}

impl std::fmt::Debug for StatsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsCache").finish_non_exhaustive()
    }
}

impl StatsCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The company's statistics for `model`, if stored. A storage or decoding failure is logged
    /// and gives `None` (queries then fall back to the embedder's static weights).
    pub async fn get(&self, store: &dyn Store, company_id: &str, model: &str) -> Option<Arc<CorpusStats>> {
        if let Some(stats) = self.entries.get(&company_id.to_string()) {
            return stats;
        }
        let loaded = match store.get_corpus_stats(company_id).await {
            Ok(Some(row)) if row.model == model => {
                match tokio::task::spawn_blocking(move || CorpusStats::from_bytes(&row.stats)).await {
                    Ok(Ok(s)) => Some(Arc::new(s)),
                    Ok(Err(e)) => {
                        tracing::warn!(company_id, error = %e, "stored corpus statistics unreadable");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(company_id, error = %e, "corpus statistics task failed");
                        None
                    }
                }
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(company_id, error = %e, "corpus statistics not loaded");
                None
            }
        };
        self.entries.insert(company_id.to_string(), loaded.clone());
        loaded
    }

    /// Forget a company's cached statistics (after this process refreshed them).
    pub fn invalidate(&self, company_id: &str) {
        self.entries.remove(&company_id.to_string());
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_documents_and_distinct_keys() {
        let mut s = CorpusStats::new();
        s.add_document(&[1, 2, 2, 3]);
        s.add_document(&[2, 7]);
        assert_eq!(s.doc_count(), 2);
        assert_eq!(s.df(2), 2);
        assert_eq!(s.df(1), 1);
        assert_eq!(s.df(7), 1);
        assert_eq!(s.df(99), 0);
        assert_eq!(s.len(), 4);
        assert!(s.idf(1) > s.idf(2), "rarer keys weigh more");
        assert!(s.idf(2) > 0.0);
    }

    #[test]
    fn round_trips_through_bytes() {
        let mut s = CorpusStats::new();
        s.add_document(&[0, u32::MAX, 300, 5]);
        s.add_document(&[300, 1 << 20]);
        for _ in 0..200 {
            s.add_document(&[5]);
        }
        let bytes = s.to_bytes();
        let back = CorpusStats::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.df(5), 201);
        assert_eq!(CorpusStats::from_bytes(&CorpusStats::new().to_bytes()).unwrap(), CorpusStats::new());
    }

    #[test]
    fn rejects_malformed_blobs() {
        let mut s = CorpusStats::new();
        s.add_document(&[1, 2, 3]);
        let bytes = s.to_bytes();
        assert!(CorpusStats::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(CorpusStats::from_bytes(b"XXv1\x00\x00").is_err());
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(CorpusStats::from_bytes(&extra).is_err());
        // An absurd entry count is refused before allocating.
        assert!(CorpusStats::from_bytes(b"CSv1\x01\xff\xff\xff\xff\x0f").is_err());
    }
}
