//! Recent question vectors, kept in the process per company. One turn embeds the visitor's
//! question for the curated answers and again for retrieval, visitors ask the same short
//! questions, and the gap report embeds the same recorded questions on every run; with a remote
//! embedder each of those is a paid round trip. An embedding model is deterministic for its
//! input, so a recent vector of the same text serves. Only short texts (questions, not chunks)
//! are kept, and each company has its own entries: a hit is faster than a miss, and a cache
//! shared between companies would let one tell, by timing, what another's visitors asked.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::Embedder;
use crate::cache::GenCache;
use crate::error::Result;

/// Texts of at most this many bytes are kept (a question; chunks are around 1,000 characters).
pub(crate) const MAX_CACHED_BYTES: usize = 300;
/// About this many vectors are kept, all companies together (1,536-d: 6 KiB each).
const CAPACITY: usize = 2048;
/// A vector is kept this long at most.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// The process's question vectors: (company id, text) -> vector.
pub(crate) struct QuestionVectors(GenCache<(String, String), Arc<Vec<f32>>>);

impl Default for QuestionVectors {
    fn default() -> Self {
        Self(GenCache::new(CAPACITY, MAX_AGE))
    }
}

/// A dense embedder that answers one company's recently embedded short texts from memory.
pub(crate) struct CompanyEmbedder {
    inner: Arc<dyn Embedder>,
    cache: Arc<QuestionVectors>,
    company_id: String,
}

impl CompanyEmbedder {
    /// `inner` behind `cache`'s entries of `company_id`.
    pub(crate) fn new(inner: Arc<dyn Embedder>, cache: Arc<QuestionVectors>, company_id: &str) -> Self {
        Self { inner, cache, company_id: company_id.to_string() }
    }

    fn key(&self, text: &str) -> (String, String) {
        (self.company_id.clone(), text.to_string())
    }
}

fn cacheable(text: &str) -> bool {
    text.len() <= MAX_CACHED_BYTES
}

#[async_trait]
impl Embedder for CompanyEmbedder {
    fn model(&self) -> &str {
        self.inner.model()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mut out: Vec<Option<Vec<f32>>> =
            texts
                .iter()
                .map(|t| {
                    if cacheable(t) {
                        self.cache.0.get(&self.key(t)).map(|v| v.as_ref().clone())
                    } else {
                        None
                    }
                })
                .collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let asked: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
            let vectors = super::embed_exact(self.inner.as_ref(), &asked).await?;
            for (&i, v) in missing.iter().zip(vectors) {
                if cacheable(&texts[i]) && v.len() == self.dimension() {
                    self.cache.0.insert(self.key(&texts[i]), Arc::new(v.clone()));
                }
                out[i] = Some(v);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Vectors that encode the text's length; records every batch it is asked for.
    #[derive(Default)]
    struct Counting {
        asked: Mutex<Vec<Vec<String>>>,
    }

    #[async_trait]
    impl Embedder for Counting {
        fn model(&self) -> &str {
            "counting"
        }
        fn dimension(&self) -> usize {
            2
        }
        fn max_batch(&self) -> usize {
            16
        }
        async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
            self.asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(texts.to_vec());
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[tokio::test]
    async fn asks_only_for_what_it_has_not_seen_and_keeps_the_order() {
        let inner = Arc::new(Counting::default());
        let cached = CompanyEmbedder::new(inner.clone(), Arc::default(), "a");
        let long = "x".repeat(MAX_CACHED_BYTES + 1);
        let first = cached.embed(&strings(&["opening hours?", "ab"])).await.unwrap();
        assert_eq!(first, vec![vec![14.0, 1.0], vec![2.0, 1.0]]);
        let second =
            cached.embed(&[long.clone(), "ab".into(), "new".into(), "opening hours?".into()]).await.unwrap();
        assert_eq!(second, vec![vec![301.0, 1.0], vec![2.0, 1.0], vec![3.0, 1.0], vec![14.0, 1.0]]);
        // all cached: no call at all; a long text is asked for every time
        cached.embed(&strings(&["new", "ab"])).await.unwrap();
        cached.embed(std::slice::from_ref(&long)).await.unwrap();
        let asked = inner.asked.lock().unwrap().clone();
        assert_eq!(
            asked,
            vec![strings(&["opening hours?", "ab"]), vec![long.clone(), "new".into()], vec![long]]
        );
        assert_eq!((cached.model(), cached.dimension(), cached.max_batch()), ("counting", 2, 16));
    }

    #[tokio::test]
    async fn companies_do_not_share_entries() {
        let inner = Arc::new(Counting::default());
        let cache = Arc::new(QuestionVectors::default());
        let a = CompanyEmbedder::new(inner.clone(), cache.clone(), "a");
        let b = CompanyEmbedder::new(inner.clone(), cache, "b");
        a.embed(&strings(&["opening hours?"])).await.unwrap();
        a.embed(&strings(&["opening hours?"])).await.unwrap();
        b.embed(&strings(&["opening hours?"])).await.unwrap();
        assert_eq!(inner.asked.lock().unwrap().len(), 2, "a once, b once: b never sees a's entry");
    }

    #[tokio::test]
    async fn a_short_answer_from_the_embedder_is_an_error_and_nothing_is_kept() {
        struct Short;
        #[async_trait]
        impl Embedder for Short {
            fn model(&self) -> &str {
                "short"
            }
            fn dimension(&self) -> usize {
                2
            }
            fn max_batch(&self) -> usize {
                16
            }
            async fn embed(&self, _: &[String]) -> Result<Vec<Vec<f32>>> {
                Ok(vec![vec![1.0, 0.0]])
            }
        }
        let cached = CompanyEmbedder::new(Arc::new(Short), Arc::default(), "a");
        assert!(matches!(cached.embed(&strings(&["a", "b"])).await, Err(crate::Error::Upstream { .. })));
        assert!(cached.cache.0.is_empty());
        // an empty batch asks for nothing
        assert_eq!(cached.embed(&[]).await.unwrap(), Vec::<Vec<f32>>::new());
    }
}
