//! OpenAI-compatible embeddings through async-openai. (Skeleton; filled by the retrieval work.)

use async_trait::async_trait;

use super::Embedder;
use crate::error::{Error, Result};

/// OpenAI-compatible embedder.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    model: String,
    dimension: usize,
}

impl OpenAiEmbedder {
    /// `base_url` like `https://api.openai.com/v1`; `dimensions` asks the model for shorter vectors.
    pub fn new(_api_key: &str, _base_url: Option<&str>, model: &str, dimensions: Option<u32>) -> Self {
        Self { model: model.to_string(), dimension: dimensions.map_or(1536, |d| d as usize) }
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_batch(&self) -> usize {
        2048
    }

    async fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Err(Error::Internal("not implemented yet".into()))
    }
}
