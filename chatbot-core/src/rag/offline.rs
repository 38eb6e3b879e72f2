//! The offline embedder: no network, no download. (Skeleton; filled by the retrieval work.)

use async_trait::async_trait;

use super::Embedder;
use crate::error::Result;

/// Offline embedder.
#[derive(Debug, Clone, Default)]
pub struct OfflineEmbedder {}

impl OfflineEmbedder {
    pub fn new() -> Self {
        Self {}
    }

    /// Embed one text synchronously (CPU only).
    pub fn embed_one(&self, _text: &str) -> Vec<f32> {
        vec![0.0; 512]
    }
}

#[async_trait]
impl Embedder for OfflineEmbedder {
    fn model(&self) -> &str {
        "offline-v1"
    }

    fn dimension(&self) -> usize {
        512
    }

    fn max_batch(&self) -> usize {
        2048
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}
