//! The offline extractive answerer. (Skeleton; filled by the models work.)

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::{ChatModel, ChatRequest, Completion, StreamEvent};
use crate::error::Result;

/// Answers from the retrieved passages only; never invents.
#[derive(Debug, Clone, Default)]
pub struct ExtractiveAnswerer {}

impl ExtractiveAnswerer {
    pub fn new() -> Self {
        Self {}
    }

    /// The answer text for a request (synchronous, CPU only).
    pub fn answer(&self, req: &ChatRequest) -> String {
        match req.passages.first() {
            Some(p) => p.text.clone(),
            None => format!(
                "I'm sorry, I don't have information about that. If you leave your name and e-mail or phone number, someone from {} will get back to you.",
                req.company_name
            ),
        }
    }
}

#[async_trait]
impl ChatModel for ExtractiveAnswerer {
    fn provider(&self) -> &'static str {
        "offline"
    }

    fn is_paid(&self) -> bool {
        false
    }

    async fn complete(&self, req: &ChatRequest) -> Result<Completion> {
        Ok(Completion { text: self.answer(req), model: "offline-extractive".into(), usage: None })
    }

    async fn stream(&self, req: &ChatRequest) -> Result<BoxStream<'static, Result<StreamEvent>>> {
        let text = self.answer(req);
        let events = vec![
            Ok(StreamEvent::Delta(text)),
            Ok(StreamEvent::Done { model: "offline-extractive".into(), usage: None }),
        ];
        Ok(Box::pin(futures::stream::iter(events)))
    }
}
