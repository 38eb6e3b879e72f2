//! OpenAI-compatible chat completions through async-openai. (Skeleton; filled by the models work.)

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::{ChatModel, ChatRequest, Completion, StreamEvent};
use crate::error::{Error, Result};

/// OpenAI-compatible chat model.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    model: String,
}

impl OpenAiChat {
    /// `base_url` like `https://api.openai.com/v1`; `model` is the default model name.
    pub fn new(_api_key: &str, _base_url: Option<&str>, model: &str, _timeout: Duration) -> Self {
        Self { model: model.to_string() }
    }

    pub fn default_model(&self) -> &str {
        &self.model
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn is_paid(&self) -> bool {
        true
    }

    async fn complete(&self, _req: &ChatRequest) -> Result<Completion> {
        Err(Error::Internal("not implemented yet".into()))
    }

    async fn stream(&self, _req: &ChatRequest) -> Result<BoxStream<'static, Result<StreamEvent>>> {
        Err(Error::Internal("not implemented yet".into()))
    }
}
