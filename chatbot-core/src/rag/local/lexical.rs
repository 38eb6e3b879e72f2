//! The lexical side of a namespace: an inverted index of the rows' [`Terms`] scored by exact
//! BM25 with the namespace's own, always current statistics.
//!
//! Written here rather than with tantivy because the index must sit beside the dense rows
//! under the same lock, log and delete path, and its documents are already analysed term ids:
//! the whole index is postings `term -> [(slot, tf)]` plus per-slot lengths.
//!
//! A document gets a *slot* when inserted (slots only grow, so every posting list is in slot
//! order); a slot maps to its current row in the shard (rows move when another row is
//! swap-removed). Deleting or replacing a document marks its slot dead and takes it out of the
//! statistics at once (document count, document frequencies, total length), so a dead slot is
//! never counted nor returned; its postings stay until the dead slots outnumber the live ones,
//! when the index is rebuilt from the live rows.
//!
//! A query accumulates scores in a dense `f32` array indexed by slot (no hashing per posting),
//! then keeps the best `k` live, filter-passing slots in a bounded heap (ties: record id order).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::error::{Error, Result};
use crate::rag::bm25::{self, Terms};

/// Marks a dead slot (and a row without terms).
pub(super) const NONE: u32 = u32::MAX;
/// Dead slots tolerated beyond the live ones before a rebuild.
const REBUILD_SLACK: usize = 4096;

#[derive(Debug, Default)]
struct PostingList {
    /// Live documents holding the term.
    df: u32,
    /// `(slot, tf)`, slots ascending; may hold dead slots.
    entries: Vec<(u32, u32)>,
}

/// The inverted index of one namespace.
#[derive(Debug, Default)]
pub(super) struct Lexical {
    postings: HashMap<u32, PostingList>,
    /// Slot -> current row, or [`NONE`] when dead.
    slot_row: Vec<u32>,
    /// Slot -> document length in terms.
    slot_len: Vec<u32>,
    live_docs: u64,
    live_len: u64,
    dead: usize,
}

impl Lexical {
    /// Index `terms` as the document at `row`; returns its slot.
    pub(super) fn insert(&mut self, row: usize, terms: &Terms) -> u32 {
        let slot = self.slot_row.len() as u32;
        let len = terms.len();
        self.slot_row.push(row as u32);
        self.slot_len.push(len);
        for (&id, &tf) in terms.ids.iter().zip(&terms.counts) {
            let list = self.postings.entry(id).or_default();
            list.df = list.df.saturating_add(1);
            list.entries.push((slot, tf));
        }
        self.live_docs += 1;
        self.live_len += u64::from(len);
        slot
    }

    /// Take the document in `slot` (indexed with `terms`) out of the index and its statistics.
    pub(super) fn remove(&mut self, slot: u32, terms: &Terms) {
        let Some(row) = self.slot_row.get_mut(slot as usize) else { return };
        if *row == NONE {
            return;
        }
        *row = NONE;
        for id in &terms.ids {
            if let Some(list) = self.postings.get_mut(id) {
                list.df = list.df.saturating_sub(1);
                if list.df == 0 {
                    self.postings.remove(id);
                }
            }
        }
        self.live_docs = self.live_docs.saturating_sub(1);
        self.live_len = self.live_len.saturating_sub(u64::from(self.slot_len[slot as usize]));
        self.dead += 1;
    }

    /// The document in `slot` now lives at `row`.
    pub(super) fn moved(&mut self, slot: u32, row: usize) {
        if let Some(r) = self.slot_row.get_mut(slot as usize)
            && *r != NONE
        {
            *r = row as u32;
        }
    }

    /// Whether enough slots are dead that [`Lexical::rebuild`] should run.
    pub(super) fn needs_rebuild(&self) -> bool {
        self.dead > self.live_docs as usize + REBUILD_SLACK
    }

    /// Rebuild from the live rows; sets each row's new slot.
    pub(super) fn rebuild(&mut self, terms: &[Option<Terms>], slots: &mut [u32]) {
        *self = Lexical::default();
        for (row, (t, slot)) in terms.iter().zip(slots.iter_mut()).enumerate() {
            *slot = match t {
                Some(t) => self.insert(row, t),
                None => NONE,
            };
        }
    }

    /// Live documents (rows with terms).
    pub(super) fn doc_count(&self) -> u64 {
        self.live_docs
    }

    /// Live documents holding `term`.
    pub(super) fn df(&self, term: u32) -> u32 {
        self.postings.get(&term).map_or(0, |l| l.df)
    }

    /// Approximate heap bytes of the index (postings, their map, per-slot arrays).
    pub(super) fn heap_bytes(&self) -> usize {
        let lists: usize = self.postings.values().map(|l| l.entries.capacity() * 8).sum();
        // hashbrown: key + value + one control byte per bucket, ~7/8 load.
        let map = self.postings.capacity() * (4 + std::mem::size_of::<PostingList>() + 1);
        lists + map + self.slot_row.capacity() * 4 + self.slot_len.capacity() * 4
    }

    /// The best `top_k` rows for the query terms `ids` by exact BM25 (`N`, `df` and the average
    /// length from the live documents), best first, ties in `key` order; `allowed(row)` filters.
    pub(super) fn search<'a>(
        &self,
        ids: &[u32],
        top_k: usize,
        key: impl Fn(usize) -> &'a str,
        allowed: impl Fn(usize) -> bool,
    ) -> Vec<(f32, usize)> {
        if top_k == 0 || self.live_docs == 0 || ids.is_empty() {
            return Vec::new();
        }
        let n = self.live_docs;
        let avgdl = (self.live_len as f64 / n as f64) as f32;
        let mut scores = vec![0f32; self.slot_row.len()];
        let mut matched = false;
        for id in ids {
            let Some(list) = self.postings.get(id) else { continue };
            let idf = bm25::idf(n, u64::from(list.df));
            for &(slot, tf) in &list.entries {
                let s = slot as usize;
                scores[s] += idf * bm25::tf_weight(tf, self.slot_len[s], avgdl);
            }
            matched = true;
        }
        if !matched {
            return Vec::new();
        }
        let top_k = top_k.min(n as usize);
        let mut heap: BinaryHeap<Hit<'a>> = BinaryHeap::with_capacity(top_k + 1);
        for (slot, &score) in scores.iter().enumerate() {
            if score <= 0.0 {
                continue;
            }
            let row = self.slot_row[slot];
            if row == NONE {
                continue;
            }
            let row = row as usize;
            // Cheap rejection before the id comparison and the metadata filter.
            if heap.len() == top_k
                && let Some(worst) = heap.peek()
                && score < worst.score
            {
                continue;
            }
            let hit = Hit { score, key: key(row), row };
            if heap.len() == top_k {
                if heap.peek().is_some_and(|worst| hit.cmp(worst) != Ordering::Less) {
                    continue;
                }
                if !allowed(row) {
                    continue;
                }
                heap.pop();
            } else if !allowed(row) {
                continue;
            }
            heap.push(hit);
        }
        heap.into_sorted_vec().into_iter().map(|h| (h.score, h.row)).collect()
    }
}

/// A scored row; ordered "better is smaller" so a max-heap's top is the worst kept hit.
struct Hit<'a> {
    score: f32,
    key: &'a str,
    row: usize,
}

impl PartialEq for Hit<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Hit<'_> {}
impl PartialOrd for Hit<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Hit<'_> {
    /// Higher score first, then the smaller key.
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then_with(|| self.key.cmp(other.key))
    }
}

/// Check and normalise a record's terms: `ids` and `counts` of equal length; ids sorted and
/// merged (counts added, saturating), zero counts dropped.
///
/// # Errors
/// [`Error::Invalid`] (field `terms`) when the lengths differ.
pub(crate) fn normalize_terms(id: &str, t: &Terms) -> Result<Terms> {
    if t.ids.len() != t.counts.len() {
        return Err(Error::invalid(
            "terms",
            format!("record {id} has {} term ids but {} counts", t.ids.len(), t.counts.len()),
        ));
    }
    if t.ids.windows(2).all(|w| w[0] < w[1]) && t.counts.iter().all(|&c| c > 0) {
        return Ok(t.clone());
    }
    let mut pairs: Vec<(u32, u32)> =
        t.ids.iter().copied().zip(t.counts.iter().copied()).filter(|&(_, c)| c > 0).collect();
    pairs.sort_unstable_by_key(|p| p.0);
    let mut out = Terms::default();
    for (id, c) in pairs {
        match out.ids.last() {
            Some(&last) if last == id => {
                if let Some(prev) = out.counts.last_mut() {
                    *prev = prev.saturating_add(c);
                }
            }
            _ => {
                out.ids.push(id);
                out.counts.push(c);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(pairs: &[(u32, u32)]) -> Terms {
        Terms { ids: pairs.iter().map(|p| p.0).collect(), counts: pairs.iter().map(|p| p.1).collect() }
    }

    #[test]
    fn normalising_sorts_merges_and_drops_zero_counts() {
        let t = normalize_terms("r", &terms(&[(5, 1), (2, 3), (5, u32::MAX), (9, 0)])).unwrap();
        assert_eq!(t, terms(&[(2, 3), (5, u32::MAX)]));
        let bad = Terms { ids: vec![1, 2], counts: vec![1] };
        assert_eq!(normalize_terms("r", &bad).unwrap_err().field(), Some("terms"));
    }

    #[test]
    fn dead_slots_leave_the_statistics_and_rebuild_keeps_the_live_ones() {
        let mut lex = Lexical::default();
        let a = terms(&[(1, 2), (2, 1)]);
        let b = terms(&[(2, 4)]);
        let sa = lex.insert(0, &a);
        let sb = lex.insert(1, &b);
        assert_eq!((lex.doc_count(), lex.df(2)), (2, 2));
        lex.remove(sa, &a);
        lex.remove(sa, &a); // twice is once
        assert_eq!((lex.doc_count(), lex.df(1), lex.df(2)), (1, 0, 1));
        lex.moved(sb, 0);
        let hits = lex.search(&[1, 2], 5, |_| "b", |_| true);
        assert_eq!(hits.iter().map(|h| h.1).collect::<Vec<_>>(), [0]);
        let mut slots = vec![sb];
        lex.rebuild(&[Some(b.clone())], &mut slots);
        assert_eq!((lex.doc_count(), lex.df(2), slots[0], lex.dead), (1, 1, 0, 0));
    }
}
