//! The Pinecone over its REST data plane. (Skeleton; filled by the retrieval work.)

use async_trait::async_trait;

use super::{MetadataFilter, NamespaceStats, QueryMatch, VectorRecord, VectorStore};
use crate::error::{Error, Result};

/// Pinecone client.
#[derive(Debug)]
pub struct PineconeStore {}

/// Pinecone settings.
#[derive(Debug, Clone, Default)]
pub struct PineconeConfig {
    pub api_key: String,
    /// The index host (bare host or full URL such as `http://localhost:5081`).
    pub index_host: Option<String>,
    /// The index name, to discover its host from the control plane.
    pub index_name: Option<String>,
    /// Legacy `PINECONE_ENVIRONMENT`.
    pub environment: Option<String>,
    /// Control plane base URL (default `https://api.pinecone.io`).
    pub control_plane_url: Option<String>,
}

impl PineconeStore {
    /// Build the client, discovering the index host when only a name is given.
    ///
    /// # Errors
    /// [`Error::Config`] or [`Error::Upstream`].
    pub async fn connect(_config: PineconeConfig) -> Result<Self> {
        Err(todo_err())
    }
}

fn todo_err() -> Error {
    Error::Internal("not implemented yet".into())
}

#[async_trait]
impl VectorStore for PineconeStore {
    fn name(&self) -> &'static str {
        "pinecone"
    }

    fn max_upsert_batch(&self) -> usize {
        1000
    }

    async fn upsert(&self, _namespace: &str, _records: &[VectorRecord]) -> Result<usize> {
        Err(todo_err())
    }

    async fn query(
        &self,
        _namespace: &str,
        _vector: &[f32],
        _top_k: usize,
        _filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        Err(todo_err())
    }

    async fn fetch(&self, _namespace: &str, _ids: &[String]) -> Result<Vec<VectorRecord>> {
        Err(todo_err())
    }

    async fn delete(&self, _namespace: &str, _ids: &[String]) -> Result<()> {
        Err(todo_err())
    }

    async fn delete_namespace(&self, _namespace: &str) -> Result<()> {
        Err(todo_err())
    }

    async fn stats(&self, _namespace: &str) -> Result<NamespaceStats> {
        Err(todo_err())
    }
}
