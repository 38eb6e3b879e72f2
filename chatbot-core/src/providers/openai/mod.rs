//! Any OpenAI-compatible API (OpenAI, vLLM, llama.cpp's server, Ollama, ...): one
//! [`OpenAiClient`] (base URL, key, HTTP client, retry policy) shared by chat
//! ([`OpenAiChat`]), embeddings ([`OpenAiEmbedder`]) and structured lead extraction
//! ([`OpenAiExtractor`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use chatbot_core::providers::openai::{OpenAiChat, OpenAiClient, OpenAiEmbedder, OpenAiExtractor};
//!
//! let client = OpenAiClient::new("sk-...", Some("http://127.0.0.1:8080/v1"));
//! let chat = OpenAiChat::from_client(client.clone(), "gpt-4o-mini", Duration::from_secs(30));
//! let embedder = OpenAiEmbedder::from_client(client.clone(), "text-embedding-3-small", None);
//! let extractor = OpenAiExtractor::from_client(client, "gpt-4o-mini");
//! ```

mod chat;
mod client;
pub mod embedding;
mod extract;

pub use chat::{OpenAiChat, TokenLimitField};
pub use client::OpenAiClient;
pub use embedding::OpenAiEmbedder;
pub use extract::OpenAiExtractor;

pub use crate::net::retry::RetryPolicy;
