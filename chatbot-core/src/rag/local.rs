//! The embedded local vector index, persisted to disk. (Skeleton; filled by the retrieval work.)

use std::path::Path;

use async_trait::async_trait;

use super::{MetadataFilter, NamespaceStats, QueryMatch, VectorRecord, VectorStore};
use crate::error::{Error, Result};

/// Local index.
#[derive(Debug)]
pub struct LocalIndex {}

impl LocalIndex {
    /// Open (or create) the index in `dir`.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be created or read.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {})
    }
}

fn todo_err() -> Error {
    Error::Internal("not implemented yet".into())
}

#[async_trait]
impl VectorStore for LocalIndex {
    fn name(&self) -> &'static str {
        "local"
    }

    fn max_upsert_batch(&self) -> usize {
        10_000
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
