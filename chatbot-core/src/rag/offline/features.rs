//! The features of a text: content words (stemmed), word bigrams and character trigrams, each
//! hashed into a signed bucket.

use std::collections::{BTreeMap, HashMap};

use super::OfflineEmbedder;
use super::rarity::rarity;
use crate::text::{is_stopword, lower_words, stem};

impl OfflineEmbedder {
    /// Every hashed feature of a text with its weight split into a text-only part (`base`: term
    /// frequency and family weight) and the static rarity prior (`prior`).
    pub(super) fn features(&self, text: &str) -> Vec<Feature> {
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
pub(super) enum Family {
    Word,
    Bigram,
    Trigram,
}

/// One hashed feature of a text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Feature {
    pub(super) hash: u64,
    pub(super) base: f32,
    pub(super) prior: f32,
    pub(super) family: Family,
    /// For a trigram, the hash of its word (else the feature's own hash).
    pub(super) parent: u64,
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
    for (i, word) in lower_words(text, &[]).enumerate() {
        let pos = i + 1;
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

/// The stable 64-bit hash of feature `(kind, bytes)`.
pub(super) fn feature_hash(kind: u8, bytes: &[u8]) -> u64 {
    mix(fnv1a(kind, bytes))
}

/// Add `weight` to the signed bucket of a feature hash.
pub(super) fn add_hashed(out: &mut [f32], h: u64, weight: f32) {
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
