//! Ingestion: crawl sites, read files, extract text, chunk, embed and upsert incrementally.
//! Progress is reported through events; the library never prints.
pub mod index;
