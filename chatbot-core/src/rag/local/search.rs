//! Top-k search over a namespace's rows: the 1-bit and `int8` passes and the exact re-rank.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::{
    BINARY_KEEP_MIN, BINARY_KEEP_PER_K, BINARY_MIN_DIM, EXACT_SCAN_ROWS, INT8_KEEP_MIN, INT8_KEEP_PER_K,
    PARALLEL_FLOATS, Shard,
};
use crate::error::{Error, Result};
use crate::rag::{MetadataFilter, QueryMatch};

/// Join every scoped scoring thread (all of them, so the scope itself never panics): their
/// results in order, or an error when one panicked, never a silently shorter result.
pub(super) fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(handles.len());
    let mut panicked = 0;
    for h in handles {
        match h.join() {
            Ok(v) => out.push(v),
            Err(_) => panicked += 1,
        }
    }
    if panicked > 0 {
        tracing::error!(threads = panicked, "a local index scoring thread panicked");
        return Err(Error::Internal(format!(
            "{panicked} local index scoring thread(s) panicked; no results"
        )));
    }
    Ok(out)
}

impl Shard {
    /// Top-k exact cosine (rows and query normalised).
    ///
    /// # Errors
    /// [`Error::Internal`] when a scoring thread panicked.
    pub(super) fn search(
        &self,
        q: &[f32],
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
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
                        self.binary_candidates(q, keep, threads, allowed.as_deref())?
                    } else {
                        (0..n).filter(|&i| ok(i)).collect()
                    };
                let mut approx = self.int8_scores(q, &pool, threads)?;
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
        Ok(exact
            .into_iter()
            .map(|(score, i)| QueryMatch { id: self.ids[i].clone(), score, metadata: self.meta[i].clone() })
            .collect())
    }

    pub(super) fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The `keep` allowed rows nearest to `q` by Hamming distance of the sign codes (ties at the
    /// cut: lower rows first), in row order.
    pub(super) fn binary_candidates(
        &self,
        q: &[f32],
        keep: usize,
        threads: usize,
        allowed: Option<&[bool]>,
    ) -> Result<Vec<usize>> {
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
                let handles: Vec<_> = dist
                    .chunks_mut(per)
                    .enumerate()
                    .map(|(t, chunk)| {
                        let scan = &scan;
                        s.spawn(move || scan(t * per, chunk))
                    })
                    .collect();
                join_all(handles)
            })?;
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
        Ok(out)
    }

    /// `(approximate cosine by the int8 rows, row)` for every row of `pool`.
    pub(super) fn int8_scores(&self, q: &[f32], pool: &[usize], threads: usize) -> Result<Vec<(f32, usize)>> {
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
                Ok(join_all(handles)?.into_iter().flatten().collect())
            })
        } else {
            Ok(score(pool))
        }
    }
}

/// Bounded min-heap keeping the `k` best `(score, row)`.
pub(super) struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

#[derive(PartialEq)]
pub(super) struct Entry(f32, usize);
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
    pub(super) fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    #[inline]
    pub(super) fn push(&mut self, score: f32, row: usize) {
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
    pub(super) fn into_sorted(self) -> Vec<(f32, usize)> {
        self.heap.into_sorted_vec().into_iter().map(|Entry(s, i)| (s, i)).collect()
    }
}

/// Dot product with 8 independent accumulators (the compiler vectorises this).
#[inline]
pub(super) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
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
pub(super) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
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
pub(super) fn words(dim: usize) -> usize {
    dim.div_ceil(64)
}

/// Sign code: bit `j % 64` of word `j / 64` is set when `v[j] > 0`.
pub(super) fn sign_bits(v: &[f32]) -> Vec<u64> {
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
pub(super) fn hamming(a: &[u64], b: &[u64]) -> u16 {
    let mut acc = 0u32;
    for (x, y) in a.iter().zip(b) {
        acc += (x ^ y).count_ones();
    }
    acc as u16
}

/// True when more than 1/16 of `q`'s components are exactly zero (sparse, hashed-feature
/// vectors): a sign code says little about those, so they take the `int8` scan.
pub(super) fn is_sparse(q: &[f32]) -> bool {
    q.iter().filter(|x| **x == 0.0).count() * 16 > q.len()
}

/// Symmetric per-row int8 quantisation: `x ~ code * scale`.
pub(super) fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    let codes = v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect();
    (codes, scale)
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
    fn a_panicking_scoring_thread_is_an_error_not_fewer_results() {
        let rows: Vec<usize> = (0..100).collect();
        let r = std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(25)
                .map(|c| {
                    s.spawn(move || {
                        assert!(!c.contains(&60), "scoring thread fails on row 60");
                        c.to_vec()
                    })
                })
                .collect();
            join_all(handles)
        });
        assert!(matches!(r, Err(Error::Internal(_))), "{r:?}");
        let ok = std::thread::scope(|s| {
            let handles: Vec<_> = rows.chunks(25).map(|c| s.spawn(move || c.to_vec())).collect();
            join_all(handles)
        });
        assert_eq!(ok.unwrap().concat(), rows, "every thread's results, in order");
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
