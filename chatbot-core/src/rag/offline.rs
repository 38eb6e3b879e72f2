//! The offline embedder: no network, no download, deterministic and fast.
//!
//! A sparse lexical model folded into a dense vector ("feature hashing"):
//! 1. tokenize: lowercase Unicode words (letters and digits), split on everything else;
//! 2. drop English stopwords, stem the rest with a light English suffix stripper;
//! 3. weight each stem by a static rarity prior (long, rare-looking words weigh more than short,
//!    common ones) times a sublinear term frequency `1 + ln(tf)`;
//! 4. add hashed word bigrams (phrases) and character trigrams of the words (robust to
//!    morphology and typos) at lower weights;
//! 5. hash every feature into [`DIMENSION`] signed buckets and L2-normalise.
//!
//! The output depends only on the text: the same text always gives the same vector, on every
//! machine, so vectors stored months ago stay comparable. Changing any of the above changes
//! [`MODEL`], which the engine records per company to detect a mismatch.
//!
//! Queries can do better than the static prior: with the company's [`CorpusStats`] (document
//! frequency of every feature over its chunks), [`OfflineEmbedder::embed_query_with`] weights
//! each query feature by BM25's IDF instead (see [`QueryWeighting`]). The dot product with a
//! document vector then sums `idf x query weight x document weight` over shared features, as
//! BM25 does; document vectors stay corpus-independent, so adding knowledge never forces
//! re-embedding what is stored. On the Python 3.11 manual this lifts recall@5 from 0.350 to
//! 0.389 (BM25: 0.380); see `bench/retrieval/README.md`.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use super::{CorpusStats, Embedder};
use crate::error::Result;

/// Identity of this embedder (bump the version whenever features or weights change).
pub const MODEL: &str = "offline-hash-v2";
/// Vector length.
pub const DIMENSION: usize = 1536;

/// Relative weights of the feature families.
const BIGRAM_WEIGHT: f32 = 0.55;
const TRIGRAM_WEIGHT: f32 = 0.5;

/// Offline embedder (stateless; cheap to clone).
#[derive(Debug, Clone)]
pub struct OfflineEmbedder {
    opts: OfflineOptions,
    model: String,
}

/// Tuning knobs (for experiments; the defaults are what [`MODEL`] names).
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineOptions {
    pub dimension: usize,
    pub bigram_weight: f32,
    pub trigram_weight: f32,
    /// Document-side weighting (changes the vectors, hence the model id).
    pub doc: DocWeighting,
    /// Query-side weighting with corpus statistics (documents are unaffected).
    pub query: QueryWeighting,
}

/// How a document's features are weighted.
#[derive(Debug, Clone, PartialEq)]
pub struct DocWeighting {
    /// Multiply by the static rarity prior.
    pub prior: bool,
    /// BM25 term-frequency saturation when > 0 (else `1 + ln tf`).
    pub k1: f32,
    pub b: f32,
    /// Fixed "average" length in content words for the length normalisation.
    pub avg_len: f32,
}

impl Default for DocWeighting {
    fn default() -> Self {
        Self { prior: true, k1: 0.0, b: 0.75, avg_len: 100.0 }
    }
}

/// How a query's features are weighted when corpus statistics are available.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryWeighting {
    pub idf_word: bool,
    pub idf_bigram: bool,
    pub idf_trigram: bool,
    /// Keep the rarity prior as well as the IDF.
    pub keep_prior: bool,
    /// A feature no document holds gets weight 0 (it can only match by hash collision). Off by
    /// default: stored statistics drop features of one document, and statistics a moment older
    /// than the newest chunks must not silence their words.
    pub unseen_zero: bool,
    pub bigram_scale: f32,
    pub trigram_scale: f32,
    /// IDF is raised to this power.
    pub idf_power: f32,
    /// Trigrams take the IDF of the word they come from instead of their own.
    pub trigram_word_idf: bool,
}

impl Default for QueryWeighting {
    fn default() -> Self {
        Self {
            idf_word: true,
            idf_bigram: true,
            idf_trigram: true,
            keep_prior: false,
            unseen_zero: false,
            bigram_scale: 0.5,
            trigram_scale: 4.0,
            idf_power: 1.0,
            trigram_word_idf: false,
        }
    }
}

impl QueryWeighting {
    fn family_scale(&self, f: Family) -> f32 {
        match f {
            Family::Word => 1.0,
            Family::Bigram => self.bigram_scale,
            Family::Trigram => self.trigram_scale,
        }
    }
}

impl Default for OfflineOptions {
    fn default() -> Self {
        Self {
            dimension: DIMENSION,
            bigram_weight: BIGRAM_WEIGHT,
            trigram_weight: TRIGRAM_WEIGHT,
            doc: DocWeighting::default(),
            query: QueryWeighting::default(),
        }
    }
}

impl Default for OfflineEmbedder {
    fn default() -> Self {
        Self::new()
    }
}

impl OfflineEmbedder {
    pub fn new() -> Self {
        Self::with_options(OfflineOptions::default())
    }

    /// An embedder with non-default options; its [`Embedder::model`] names them, so vectors of
    /// different options are never mixed in one namespace.
    pub fn with_options(opts: OfflineOptions) -> Self {
        let d = OfflineOptions::default();
        let model = if (opts.dimension, opts.bigram_weight, opts.trigram_weight, &opts.doc)
            == (d.dimension, d.bigram_weight, d.trigram_weight, &d.doc)
        {
            MODEL.to_string()
        } else {
            format!(
                "{MODEL}-d{}-b{}-t{}-p{}-k{}-{}-{}",
                opts.dimension.max(1),
                opts.bigram_weight,
                opts.trigram_weight,
                u8::from(opts.doc.prior),
                opts.doc.k1,
                opts.doc.b,
                opts.doc.avg_len
            )
        };
        Self { opts: OfflineOptions { dimension: opts.dimension.max(1), ..opts }, model }
    }

    /// Embed one text synchronously (CPU only). Always [`Embedder::dimension`] long; unit length unless
    /// the text holds no word at all (then all zeros). This is the document side: it depends only
    /// on the text.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut out = vec![0f32; self.opts.dimension];
        for f in self.features(text) {
            add_hashed(&mut out, f.hash, f.base * f.prior);
        }
        super::normalize(&mut out);
        out
    }

    /// Embed a query, weighting each feature by its inverse document frequency in `stats` (the
    /// company's corpus) instead of the static rarity prior. Without stats (or with an empty
    /// corpus) this is [`OfflineEmbedder::embed_one`]. Document vectors never depend on stats.
    pub fn embed_query_with(&self, text: &str, stats: Option<&CorpusStats>) -> Vec<f32> {
        let Some(stats) = stats.filter(|s| s.doc_count() > 0) else {
            return self.embed_one(text);
        };
        let q = &self.opts.query;
        let mut out = vec![0f32; self.opts.dimension];
        for f in self.features(text) {
            let use_idf = match f.family {
                Family::Word => q.idf_word,
                Family::Bigram => q.idf_bigram,
                Family::Trigram => q.idf_trigram,
            };
            let w = if use_idf {
                let key = if f.family == Family::Trigram && q.trigram_word_idf { f.parent } else { f.hash };
                let df = stats.df(stats_key(key));
                if df == 0 && q.unseen_zero {
                    0.0
                } else {
                    let idf = stats.idf(df).powf(q.idf_power) * q.family_scale(f.family);
                    if q.keep_prior { f.base * f.prior * idf } else { f.base * idf }
                }
            } else {
                f.base * f.prior
            };
            add_hashed(&mut out, f.hash, w);
        }
        super::normalize(&mut out);
        out
    }

    /// The distinct corpus-statistics keys of a text's features (what a document adds to the
    /// document frequencies of [`CorpusStats`]).
    pub fn stats_keys(&self, text: &str) -> Vec<u32> {
        let mut keys: Vec<u32> = self.features(text).iter().map(|f| stats_key(f.hash)).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Every hashed feature of a text with its weight split into a text-only part (`base`: term
    /// frequency and family weight) and the static rarity prior (`prior`).
    fn features(&self, text: &str) -> Vec<Feature> {
        let terms = analyze(text);
        let mut feats = Vec::new();
        if terms.is_empty() {
            return feats;
        }
        let doc = &self.opts.doc;
        let len_norm = if doc.k1 > 0.0 {
            doc.k1 * (1.0 - doc.b + doc.b * terms.len() as f32 / doc.avg_len.max(1.0))
        } else {
            0.0
        };
        let tf_weight = |count: u32| -> f32 {
            let c = count as f32;
            if doc.k1 > 0.0 { c * (doc.k1 + 1.0) / (c + len_norm) } else { 1.0 + c.ln() }
        };
        let prior_of = |stem: &str| if doc.prior { rarity(stem) } else { 1.0 };
        // Unigrams and character trigrams, with sublinear tf.
        let mut tf: BTreeMap<&str, u32> = BTreeMap::new();
        for t in &terms {
            *tf.entry(t.stem.as_str()).or_insert(0) += 1;
        }
        let mut surface: HashMap<&str, &str> = HashMap::new();
        for t in &terms {
            surface.entry(t.stem.as_str()).or_insert(t.word.as_str());
        }
        for (stem, count) in &tf {
            let base = tf_weight(*count);
            let prior = prior_of(stem);
            let word_hash = feature_hash(b'w', stem.as_bytes());
            feats.push(Feature { hash: word_hash, base, prior, family: Family::Word, parent: word_hash });
            let word = surface.get(stem).copied().unwrap_or(stem);
            let chars: Vec<char> = word.chars().collect();
            if chars.len() >= 4 && self.opts.trigram_weight > 0.0 {
                let mut padded = Vec::with_capacity(chars.len() + 2);
                padded.push('^');
                padded.extend_from_slice(&chars);
                padded.push('$');
                let grams = padded.len() - 2;
                let gb = self.opts.trigram_weight * base / (grams as f32).sqrt();
                let mut buf = String::new();
                for g in padded.windows(3) {
                    buf.clear();
                    buf.extend(g.iter());
                    feats.push(Feature {
                        hash: feature_hash(b'c', buf.as_bytes()),
                        base: gb,
                        prior,
                        family: Family::Trigram,
                        parent: word_hash,
                    });
                }
            }
        }
        // Bigrams of consecutive content words (stopwords removed, adjacency kept per sentence).
        let mut bigrams: BTreeMap<String, u32> = BTreeMap::new();
        for pair in terms.windows(2) {
            if pair[1].pos == pair[0].pos + 1 {
                *bigrams.entry(format!("{} {}", pair[0].stem, pair[1].stem)).or_insert(0) += 1;
            }
        }
        for (bg, count) in &bigrams {
            let (a, b) = bg.split_once(' ').unwrap_or((bg, ""));
            feats.push(Feature {
                hash: feature_hash(b'b', bg.as_bytes()),
                base: self.opts.bigram_weight * tf_weight(*count),
                prior: (prior_of(a) * prior_of(b)).sqrt(),
                family: Family::Bigram,
                parent: 0,
            });
        }
        feats
    }
}

/// Feature families (each is hashed with its own prefix byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Word,
    Bigram,
    Trigram,
}

/// One hashed feature of a text.
#[derive(Debug, Clone, Copy)]
struct Feature {
    hash: u64,
    base: f32,
    prior: f32,
    family: Family,
    /// For a trigram, the hash of its word (else the feature's own hash).
    parent: u64,
}

/// The key a feature's document frequency is counted under (the hash's high half; its low bits
/// pick the bucket).
fn stats_key(hash: u64) -> u32 {
    (hash >> 32) as u32
}

#[async_trait]
impl Embedder for OfflineEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimension(&self) -> usize {
        self.opts.dimension
    }

    fn max_batch(&self) -> usize {
        2048
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }

    fn uses_corpus_stats(&self) -> bool {
        true
    }

    fn stats_keys(&self, text: &str) -> Vec<u32> {
        OfflineEmbedder::stats_keys(self, text)
    }

    async fn embed_query(&self, query: &str, stats: Option<&CorpusStats>) -> Result<Vec<f32>> {
        Ok(self.embed_query_with(query, stats))
    }
}

/// One content word: its position among all words (for adjacency), surface form and stem.
#[derive(Debug)]
struct Term {
    pos: usize,
    word: String,
    stem: String,
}

/// Lowercase words without stopwords, stemmed.
fn analyze(text: &str) -> Vec<Term> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        if raw.is_empty() {
            continue;
        }
        pos += 1;
        let word = raw.to_lowercase();
        if word.chars().count() > 40 || is_stopword(&word) {
            continue;
        }
        if word.len() == 1 && !word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let stem = stem(&word);
        out.push(Term { pos, word, stem });
    }
    out
}

/// Static rarity prior in (0, 1.5]: stands in for IDF without a corpus. Common English words
/// (a short list) weigh little; short words weigh less than long ones; numbers are middling.
fn rarity(stem: &str) -> f32 {
    if common_stems().contains(stem) {
        return 0.35;
    }
    let n = stem.chars().count();
    if stem.chars().all(|c| c.is_ascii_digit()) {
        return 0.6;
    }
    match n {
        0..=2 => 0.55,
        3 => 0.8,
        4 => 0.95,
        5 => 1.05,
        6 => 1.15,
        7 => 1.25,
        _ => 1.35,
    }
}

/// The stable 64-bit hash of feature `(kind, bytes)`.
fn feature_hash(kind: u8, bytes: &[u8]) -> u64 {
    mix(fnv1a(kind, bytes))
}

/// Add `weight` to the signed bucket of a feature hash.
fn add_hashed(out: &mut [f32], h: u64, weight: f32) {
    let idx = (h % out.len() as u64) as usize;
    let sign = if (h >> 63) == 1 { -1.0 } else { 1.0 };
    out[idx] += sign * weight;
}

/// FNV-1a 64 (stable across platforms and Rust versions, unlike `DefaultHasher`).
fn fnv1a(kind: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&kind).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64 finaliser: spreads FNV's weak low bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// [`COMMON`], stemmed (computed once).
fn common_stems() -> &'static std::collections::HashSet<String> {
    static SET: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| COMMON.iter().flat_map(|w| [w.to_string(), stem(w)]).collect())
}

fn is_stopword(w: &str) -> bool {
    STOPWORDS.binary_search(&w).is_ok()
}

/// A light English stemmer (Porter step 1 plus the common derivational suffixes). Only ASCII
/// words are stemmed; others are returned as they are.
pub fn stem(word: &str) -> String {
    if !word.is_ascii() || word.len() <= 3 {
        return word.to_string();
    }
    let mut w = word.to_string();
    // Step 1a: plurals.
    if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.ends_with("ies") && w.len() > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    // Step 1b: -ed / -ing / -eed.
    let mut stripped = false;
    if w.ends_with("eed") {
        if w.len() > 5 {
            w.truncate(w.len() - 1);
        }
    } else {
        for suf in ["ing", "ed"] {
            if w.ends_with(suf) && has_vowel(&w[..w.len() - suf.len()]) && w.len() - suf.len() >= 3 {
                w.truncate(w.len() - suf.len());
                stripped = true;
                break;
            }
        }
    }
    if stripped {
        if w.ends_with("at") || w.ends_with("bl") || w.ends_with("iz") {
            w.push('e');
        } else if ends_double_consonant(&w) && !w.ends_with('l') && !w.ends_with('s') && !w.ends_with('z') {
            w.truncate(w.len() - 1);
        }
    }
    // Step 1c: y -> i is skipped (keeps stems readable); map trailing 'y' after consonant to 'i'
    // only for matching with the plural rule above ("libraries" -> "library").
    // Derivational suffixes (Porter steps 2-4, simplified).
    const SUFFIXES: [(&str, &str); 24] = [
        ("ational", "ate"),
        ("ization", "ize"),
        ("fulness", "ful"),
        ("iveness", "ive"),
        ("ousness", "ous"),
        ("isation", "ize"),
        ("tional", "tion"),
        ("biliti", "ble"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("alism", "al"),
        ("ement", ""),
        ("ment", ""),
        ("ness", ""),
        ("ably", "able"),
        ("ibly", "ible"),
        ("ally", "al"),
        ("ator", "ate"),
        ("ities", "ity"),
        ("ously", "ous"),
        ("ently", "ent"),
        ("ise", "ize"),
        ("ly", ""),
        ("er", ""),
    ];
    for (suf, rep) in SUFFIXES {
        if w.ends_with(suf) {
            let base = &w[..w.len() - suf.len()];
            if base.len() >= 3 && has_vowel(base) {
                let mut s = base.to_string();
                s.push_str(rep);
                w = s;
            }
            break;
        }
    }
    if w.ends_with('e') && w.len() > 4 {
        w.truncate(w.len() - 1);
    }
    w
}

fn has_vowel(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y'))
}

fn ends_double_consonant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[b.len() - 1] == b[b.len() - 2]
        && !matches!(b[b.len() - 1], b'a' | b'e' | b'i' | b'o' | b'u')
}

/// English stopwords (sorted; binary searched).
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "either",
    "else",
    "etc",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "neither",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shall",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "thus",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Frequent, weakly discriminative English words (sorted).
const COMMON: &[&str] = &[
    "able",
    "add",
    "allow",
    "almost",
    "already",
    "although",
    "always",
    "another",
    "anyone",
    "anything",
    "appear",
    "ask",
    "back",
    "bad",
    "begin",
    "believe",
    "big",
    "bring",
    "build",
    "buy",
    "call",
    "case",
    "change",
    "come",
    "consider",
    "continue",
    "create",
    "cut",
    "day",
    "die",
    "different",
    "early",
    "even",
    "everyone",
    "everything",
    "example",
    "expect",
    "fact",
    "fall",
    "false",
    "feel",
    "find",
    "first",
    "follow",
    "following",
    "get",
    "give",
    "go",
    "good",
    "great",
    "grow",
    "happen",
    "hear",
    "hello",
    "hi",
    "high",
    "important",
    "include",
    "instead",
    "keep",
    "kill",
    "kind",
    "know",
    "large",
    "last",
    "lead",
    "learn",
    "least",
    "leave",
    "less",
    "let",
    "like",
    "little",
    "live",
    "long",
    "look",
    "lose",
    "lot",
    "lots",
    "love",
    "made",
    "make",
    "many",
    "mean",
    "meet",
    "move",
    "need",
    "never",
    "new",
    "next",
    "nothing",
    "number",
    "offer",
    "often",
    "ok",
    "okay",
    "old",
    "one",
    "ones",
    "open",
    "part",
    "pay",
    "people",
    "place",
    "play",
    "please",
    "point",
    "provide",
    "public",
    "put",
    "quite",
    "rather",
    "reach",
    "read",
    "really",
    "remain",
    "remember",
    "right",
    "run",
    "said",
    "say",
    "see",
    "seem",
    "send",
    "serve",
    "set",
    "show",
    "since",
    "sit",
    "small",
    "someone",
    "something",
    "sort",
    "speak",
    "spend",
    "stand",
    "stay",
    "still",
    "stop",
    "take",
    "tell",
    "thank",
    "thanks",
    "thing",
    "think",
    "though",
    "time",
    "true",
    "try",
    "two",
    "understand",
    "use",
    "used",
    "using",
    "usually",
    "wait",
    "walk",
    "want",
    "watch",
    "way",
    "well",
    "whatever",
    "win",
    "work",
    "write",
    "year",
    "yes",
    "young",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]), "STOPWORDS not sorted");
        assert!(COMMON.windows(2).all(|w| w[0] < w[1]), "COMMON not sorted");
    }

    fn stats_of(e: &OfflineEmbedder, docs: &[String]) -> CorpusStats {
        let mut s = CorpusStats::new();
        for d in docs {
            s.add_document(&e.stats_keys(d));
        }
        s
    }

    #[test]
    fn query_without_stats_is_the_document_embedding() {
        let e = OfflineEmbedder::new();
        let q = "configure the connection pool";
        assert_eq!(e.embed_query_with(q, None), e.embed_one(q));
        assert_eq!(e.embed_query_with(q, Some(&CorpusStats::new())), e.embed_one(q));
        let mut s = CorpusStats::new();
        s.add_document(&e.stats_keys("pool of connections"));
        let weighted = e.embed_query_with(q, Some(&s));
        assert_ne!(weighted, e.embed_one(q));
        let norm: f32 = weighted.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
    }

    #[test]
    fn stats_keys_are_distinct_and_cover_every_family() {
        let e = OfflineEmbedder::new();
        let keys = e.stats_keys("connection pool connection pool");
        let mut sorted = keys.clone();
        sorted.dedup();
        assert_eq!(keys, sorted, "sorted and distinct");
        // Words, bigrams ("connection pool", "pool connection") and character trigrams.
        let w = stats_key(feature_hash(b'w', stem("connection").as_bytes()));
        let b = stats_key(feature_hash(b'b', format!("{} {}", stem("connection"), stem("pool")).as_bytes()));
        let c = stats_key(feature_hash(b'c', "^co".as_bytes()));
        for k in [w, b, c] {
            assert!(keys.contains(&k));
        }
        let mut s = CorpusStats::new();
        s.add_document(&keys);
        s.add_document(&e.stats_keys("a connection"));
        assert_eq!(s.df(w), 2);
        assert_eq!(s.df(b), 1);
    }

    #[test]
    fn a_rare_word_outranks_a_common_long_word_only_with_stats() {
        let e = OfflineEmbedder::new();
        let mut docs: Vec<String> =
            (0..40).map(|i| format!("configuration of the widget, variant {i}")).collect();
        let common = "the configuration manual".to_string();
        let rare = "the zork manual".to_string();
        docs.push(common.clone());
        docs.push(rare.clone());
        let stats = stats_of(&e, &docs);
        let q = "configuration zork manual";
        let score = |stats: Option<&CorpusStats>, d: &str| {
            let qv = e.embed_query_with(q, stats);
            crate::rag::cosine(&qv, &e.embed_one(d))
        };
        assert!(score(None, &common) > score(None, &rare), "static prior favours the long word");
        assert!(score(Some(&stats), &rare) > score(Some(&stats), &common), "IDF favours the rare word");
    }

    #[test]
    fn stems_inflections_together() {
        assert_eq!(stem("connections"), stem("connection"));
        assert_eq!(stem("running"), stem("runs"));
        assert_eq!(stem("libraries"), stem("library"));
        assert_eq!(stem("configured"), stem("configure"));
        assert_eq!(stem("shipping"), stem("ship"));
    }
}
