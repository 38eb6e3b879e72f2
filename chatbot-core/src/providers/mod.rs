//! Remote implementations of the seams, each behind its own cargo feature: an OpenAI-compatible
//! API for chat, embeddings and lead extraction (`openai`), and Pinecone for vectors
//! (`pinecone`). Their HTTP and SDK types stay in here; the rest of the crate sees the
//! [`crate::llm`] and [`crate::rag`] traits.
//!
//! Shared by every provider and by the lead webhook: [`retry`] (one Retry-After-aware backoff
//! policy), [`webhook`] (signed lead notifications, and [`webhook::verify`] for receivers) and
//! [`address_guard`] (only public addresses are contacted: the crawler and the webhook).

pub use crate::chatbot::ComponentsInfo;
pub use crate::config::{EmbedderChoice, ModelChoice, VectorStoreChoice};
pub use crate::net::guard as address_guard;
pub use crate::net::{retry, webhook};

#[cfg(feature = "openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "openai")))]
pub mod openai;
#[cfg(feature = "pinecone")]
#[cfg_attr(docsrs, doc(cfg(feature = "pinecone")))]
pub mod pinecone;
