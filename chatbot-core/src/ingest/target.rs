//! Where an ingest writes: the store, the embedder and the vector store, borrowed from whoever
//! owns them (the facade's components); and the one place a knowledge change
//! ends by refreshing the company's corpus statistics.

use std::sync::Arc;

use crate::error::Result;
use crate::rag::{Embedder, VectorStore};
use crate::store::Store;

/// The knowledge seams an ingest reads and writes, borrowed. The facade builds one from its own
/// components.
///
/// The fields borrow `Arc`s (not bare trait objects) because crawling and embedding hand
/// clones to spawned and blocking tasks.
#[derive(Clone, Copy)]
pub struct IndexTarget<'a> {
    pub store: &'a Arc<dyn Store>,
    pub embedder: &'a Arc<dyn Embedder>,
    pub vectors: &'a Arc<dyn VectorStore>,
}

impl<'a> IndexTarget<'a> {
    pub fn new(
        store: &'a Arc<dyn Store>,
        embedder: &'a Arc<dyn Embedder>,
        vectors: &'a Arc<dyn VectorStore>,
    ) -> Self {
        Self { store, embedder, vectors }
    }

    /// Owned clones, for tasks that outlive the borrow.
    pub(crate) fn to_sinks(self) -> Sinks {
        Sinks {
            store: Arc::clone(self.store),
            embedder: Arc::clone(self.embedder),
            vectors: Arc::clone(self.vectors),
        }
    }
}

impl std::fmt::Debug for IndexTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexTarget")
            .field("store", &self.store.backend())
            .field("embedder", &self.embedder.model())
            .field("vectors", &self.vectors.name())
            .finish()
    }
}

/// The knowledge seams, owned: what spawned ingest tasks (the crawler's fetchers, the embedding
/// batches) carry.
#[derive(Clone)]
pub(crate) struct Sinks {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) embedder: Arc<dyn Embedder>,
    pub(crate) vectors: Arc<dyn VectorStore>,
}

impl Sinks {
    /// The borrowed form.
    pub(crate) fn target(&self) -> IndexTarget<'_> {
        IndexTarget::new(&self.store, &self.embedder, &self.vectors)
    }
}

/// The end of every change to a company's knowledge (an ingest run, complete or cancelled, that
/// changed chunks; a forget; chunks indexed directly): recompute its corpus statistics (see
/// [`crate::rag::stats`]; nothing for a vector store that counts its own). The only caller of
/// `refresh_corpus_stats` in ingestion.
pub(crate) async fn knowledge_changed(target: IndexTarget<'_>, company_id: &str) -> Result<()> {
    if target.vectors.needs_corpus_stats() {
        crate::rag::stats::refresh_corpus_stats(target.store.as_ref(), company_id).await?;
    }
    Ok(())
}
