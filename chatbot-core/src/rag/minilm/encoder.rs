//! The synchronous part of the local embedder: tokenise, run BERT over length-sorted sub-batches
//! (in parallel, one worker thread per core), mean-pool over the real tokens and L2-normalise,
//! exactly as sentence-transformers' `Transformer -> Pooling(mean) -> Normalize` pipeline does.
//!
//! Threading: candle splits each matrix product over threads (gemm's rayon parallelism).
//! Measured on 2 busy cores, that costs more than it gains (4.6 chunks/s against 8.5 with
//! `CANDLE_NUM_THREADS=1`), while whole sub-batches on separate threads scale. So the embedder
//! turns gemm's inner threading off ([`single_threaded_gemm`]), runs every forward pass inside a
//! one-thread rayon pool of its own (candle's other parallel kernels then run inline) and spreads
//! the sub-batches over those pools, one per core.

use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{DType, Device, Tensor};
use tokenizers::Tokenizer;

use super::bert::Bert;
use crate::error::{Error, Result};

/// Longest text handed to the tokenizer, in bytes. The model reads only the first
/// `max_seq_length` (256) word pieces, and a word piece never spans more than ~100 characters
/// of a word plus the whitespace before it, so this only ever cuts texts whose first 256 pieces
/// are followed by far more text (or, pathologically, separated by thousands of blanks); it keeps
/// a multi-megabyte input from costing a full tokenisation it will never use.
pub(super) const MAX_TEXT_BYTES: usize = 64 * 1024;

/// A sub-batch's index and its vectors (or what went wrong).
type Done = (usize, Result<Vec<Vec<f32>>>);

/// Everything one forward pass needs; shared read-only between threads.
pub(super) struct Encoder {
    pub model: Bert,
    pub tokenizer: Tokenizer,
    pub device: Device,
    /// Texts per forward pass.
    pub sub_batch: usize,
    /// One single-thread pool per worker (at least one).
    pub pools: Vec<rayon::ThreadPool>,
    /// Round robin over `pools` for calls of one sub-batch (concurrent queries).
    pub next: AtomicUsize,
}

/// Keep gemm (candle's matrix products) on the calling thread: raise its threading threshold
/// beyond any product size. gemm reads it from a process-wide setting and has no per-call
/// switch, and candle would otherwise ask it for one thread per core inside every sub-batch
/// that already has a core of its own. Only candle uses gemm in this crate.
pub(super) fn single_threaded_gemm() {
    gemm::set_threading_threshold(usize::MAX);
}

/// A candle or tokenizer failure while embedding: never caused by the input (any string
/// tokenises), so it is an internal error.
pub(super) fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("local embedder: {what}: {e}"))
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Encoder {
    /// Embed `texts` (output `i` for input `i`).
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self.tokenize(texts)?;
        // Sort by length so a sub-batch pads little; the result is put back in input order.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let groups: Vec<&[usize]> = order.chunks(self.sub_batch.max(1)).collect();
        let run = |g: &[usize]| {
            let batch: Vec<&[u32]> = g.iter().map(|&i| ids[i].as_slice()).collect();
            self.forward(&batch)
        };
        let pooled: Vec<Vec<Vec<f32>>> = if groups.len() == 1 || self.pools.len() == 1 {
            let pool = &self.pools[self.next.fetch_add(1, Ordering::Relaxed) % self.pools.len()];
            groups.iter().map(|g| pool.install(|| run(g))).collect::<Result<_>>()?
        } else {
            // Each worker takes the next sub-batch until none is left (the longest go first).
            let cursor = AtomicUsize::new(0);
            let done: Vec<Vec<Done>> = std::thread::scope(|s| {
                let handles: Vec<_> = self
                    .pools
                    .iter()
                    .take(groups.len())
                    .map(|pool| {
                        s.spawn(|| {
                            pool.install(|| {
                                let mut mine = Vec::new();
                                loop {
                                    let i = cursor.fetch_add(1, Ordering::Relaxed);
                                    let Some(g) = groups.get(i) else { break };
                                    mine.push((i, run(g)));
                                }
                                mine
                            })
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| vec![(usize::MAX, Err(internal("worker", "panicked")))])
                    })
                    .collect()
            });
            let mut slots: Vec<Option<Vec<Vec<f32>>>> = vec![None; groups.len()];
            for (i, r) in done.into_iter().flatten() {
                let r = r?;
                if let Some(slot) = slots.get_mut(i) {
                    *slot = Some(r);
                }
            }
            slots
                .into_iter()
                .map(|s| s.ok_or_else(|| internal("worker", "a sub-batch was lost")))
                .collect::<Result<_>>()?
        };
        let mut out = vec![Vec::new(); texts.len()];
        for (g, vectors) in groups.iter().zip(pooled) {
            for (&i, v) in g.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Word-piece ids with `[CLS]`/`[SEP]`, truncated to the model's sequence length (the
    /// tokenizer carries the truncation; padding is ours, per sub-batch).
    fn tokenize(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .map(|t| {
                let enc = self
                    .tokenizer
                    .encode(clip(t, MAX_TEXT_BYTES), true)
                    .map_err(|e| internal("tokenizing", e))?;
                Ok(enc.get_ids().to_vec())
            })
            .collect()
    }

    /// One forward pass over `batch` (padded to its longest), mean-pooled and normalised.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        self.forward_candle(batch).map_err(|e| internal("forward pass", e))
    }

    fn forward_candle(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let n = batch.len();
        let len = batch.iter().map(|b| b.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, b) in batch.iter().enumerate() {
            ids[row * len..row * len + b.len()].copy_from_slice(b);
            mask[row * len..row * len + b.len()].fill(1);
        }
        let padded = batch.iter().any(|b| b.len() != len);
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let hidden = self.model.forward(&ids, padded.then_some(&mask))?; // (n, len, dim)
        // Mean pooling over the real tokens: sum(h * mask) / max(sum(mask), 1e-9), as
        // sentence-transformers' Pooling(pooling_mode_mean_tokens) computes it.
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
        let summed = hidden.broadcast_mul(&m)?.sum(1)?; // (n, dim)
        let counts = m.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (n, 1)
        let pooled = summed.broadcast_div(&counts)?.to_vec2::<f32>()?;
        Ok(pooled.into_iter().map(normalize).collect())
    }
}

/// torch's `F.normalize(x, p=2, dim=1)`: `x / max(||x||, 1e-12)` (sentence-transformers'
/// Normalize module).
fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_whole_characters() {
        assert_eq!(clip("abc", 10), "abc");
        assert_eq!(clip("aé", 2), "a", "é is two bytes and does not fit");
        assert_eq!(clip("😀😀", 5), "😀");
        assert_eq!(clip("", 0), "");
    }

    #[test]
    fn normalize_makes_unit_vectors_and_keeps_zero() {
        let v = normalize(vec![3.0, 4.0]);
        assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
        assert_eq!(normalize(vec![0.0, 0.0]), vec![0.0, 0.0]);
    }
}
