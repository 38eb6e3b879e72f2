-- Corpus statistics of each company's knowledge (document count and document frequency per
-- hashed feature of the embedder `model`), used to weight search queries (IDF). Derived data:
-- recomputed from pinecone_vectors after every change of the company's knowledge.
CREATE TABLE IF NOT EXISTS corpus_stats (
    company_id VARCHAR(255) NOT NULL PRIMARY KEY,
    model VARCHAR(255) NOT NULL,
    doc_count INTEGER NOT NULL DEFAULT 0,
    stats BLOB NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
