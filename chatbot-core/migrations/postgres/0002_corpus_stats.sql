-- Corpus statistics of each company's knowledge (document count and document frequency per
-- hashed feature of the embedder `model`), used to weight search queries (IDF). Derived data:
-- recomputed from pinecone_vectors after every change of the company's knowledge.
CREATE TABLE IF NOT EXISTS corpus_stats (
    company_id VARCHAR(255) NOT NULL PRIMARY KEY,
    model VARCHAR(255) NOT NULL,
    doc_count BIGINT NOT NULL DEFAULT 0,
    stats BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
