//! [`VectorStore`] over Pinecone's data plane: upsert (split under 1,000 records and 2 MB),
//! query (dense, and lexical by sparse vectors: see `hybrid.rs`), fetch, delete, namespace stats.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

use super::hybrid::IndexInfo;
use super::wire::{check_id, filter_json, metadata_of, values_of};
use super::{IDS_PER_REQUEST, MAX_UPSERT_BYTES, MAX_UPSERT_RECORDS, PineconeStore};
use crate::error::{Error, Result};
use crate::rag::{LexicalQuery, MetadataFilter, NamespaceStats, QueryMatch, VectorRecord, VectorStore};

/// The `matches` of a query response.
fn matches_of(resp: &Value) -> Vec<QueryMatch> {
    resp.get("matches")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| {
                    Some(QueryMatch {
                        id: m.get("id")?.as_str()?.to_string(),
                        score: m.get("score").and_then(Value::as_f64).unwrap_or(0.0) as f32,
                        metadata: metadata_of(m),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[async_trait]
impl VectorStore for PineconeStore {
    fn name(&self) -> &'static str {
        "pinecone"
    }

    fn max_upsert_batch(&self) -> usize {
        MAX_UPSERT_RECORDS
    }

    async fn upsert(&self, namespace: &str, records: &[VectorRecord]) -> Result<usize> {
        // Serialise each record once, then pack requests under both limits.
        let ns_json = serde_json::to_string(namespace).map_err(|e| Error::Internal(e.to_string()))?;
        let envelope = r#"{"vectors":[],"namespace":}"#.len() + ns_json.len();
        let mut batches: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut cur: Vec<Vec<u8>> = Vec::new();
        let mut cur_bytes = envelope;
        // Terms or a missing dense vector depend on what the index takes: ask it (once).
        let info: Option<IndexInfo> = if records.iter().any(|r| r.terms.is_some() || r.values.is_empty()) {
            Some(self.index_info().await?)
        } else {
            None
        };
        for r in records {
            check_id(&r.id)?;
            if r.values.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid("values", format!("record {} holds NaN or infinity", r.id)));
            }
            let Some(one) = Self::record_json(r, info.as_ref())? else {
                tracing::debug!(id = %r.id, "pinecone: record without terms skipped on a sparse index");
                continue;
            };
            let bytes = serde_json::to_vec(&one).map_err(|e| Error::Internal(e.to_string()))?;
            if bytes.len() + envelope > MAX_UPSERT_BYTES {
                return Err(Error::invalid("values", format!("record {} is larger than 2 MB of JSON", r.id)));
            }
            if !cur.is_empty()
                && (cur.len() >= MAX_UPSERT_RECORDS || cur_bytes + bytes.len() + 1 > MAX_UPSERT_BYTES)
            {
                batches.push(std::mem::take(&mut cur));
                cur_bytes = envelope;
            }
            cur_bytes += bytes.len() + 1;
            cur.push(bytes);
        }
        if !cur.is_empty() {
            batches.push(cur);
        }
        let mut total = 0usize;
        for batch in batches {
            let mut body = Vec::with_capacity(batch.iter().map(|b| b.len() + 1).sum::<usize>() + envelope);
            body.extend_from_slice(br#"{"vectors":["#);
            for (i, b) in batch.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(b);
            }
            body.extend_from_slice(br#"],"namespace":"#);
            body.extend_from_slice(ns_json.as_bytes());
            body.push(b'}');
            let url = format!("{}/vectors/upsert", self.host);
            let resp = self.call(Method::POST, &url, Some(&body), &[]).await?;
            let n = resp.get("upsertedCount").and_then(Value::as_u64).unwrap_or(batch.len() as u64);
            total += n as usize;
        }
        Ok(total)
    }

    async fn query(
        &self,
        namespace: &str,
        vector: &[f32],
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        // No dense vector (a lexical-only company): nothing to find densely.
        if top_k == 0 || vector.is_empty() {
            return Ok(Vec::new());
        }
        let mut body = json!({
            "namespace": namespace,
            "vector": vector,
            "topK": top_k.min(10_000),
            "includeMetadata": true,
            "includeValues": false,
        });
        if let Some(f) = filter.and_then(filter_json) {
            body["filter"] = f;
        }
        let resp = self.post("/query", &body).await?;
        Ok(matches_of(&resp))
    }

    fn lexical(&self) -> bool {
        self.lexical_known()
    }

    async fn query_lexical(
        &self,
        namespace: &str,
        query: &LexicalQuery,
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        if top_k == 0 || query.is_empty() {
            return Ok(Vec::new());
        }
        let Some(mut body) = self.lexical_body(namespace, query, top_k).await? else {
            return Ok(Vec::new());
        };
        if let Some(f) = filter.and_then(filter_json) {
            body["filter"] = f;
        }
        let resp = self.post("/query", &body).await?;
        // A vector search returns the k nearest whatever their score: records sharing no term
        // with the query score 0 and are no lexical match (as in the local index). Scores are
        // reported as the local index reports them: over the query's IDF mass.
        let mass: f32 = query.weights.iter().sum();
        Ok(matches_of(&resp)
            .into_iter()
            .filter(|m| m.score > 0.0)
            .map(|mut m| {
                m.score = crate::rag::bm25::relevance(m.score, mass);
                m
            })
            .collect())
    }

    async fn fetch(&self, namespace: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            let mut query: Vec<(&str, String)> = chunk.iter().map(|id| ("ids", id.clone())).collect();
            query.push(("namespace", namespace.to_string()));
            let url = format!("{}/vectors/fetch", self.host);
            let resp = self.call(Method::GET, &url, None, &query).await?;
            let Some(found) = resp.get("vectors").and_then(Value::as_object) else { continue };
            for id in chunk {
                if let Some(v) = found.get(id) {
                    out.push(VectorRecord {
                        id: id.clone(),
                        values: values_of(v),
                        // Pinecone holds BM25 weights, not the counts they came from.
                        terms: None,
                        metadata: metadata_of(v),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn delete(&self, namespace: &str, ids: &[String]) -> Result<()> {
        for chunk in ids.chunks(1000) {
            self.post("/vectors/delete", &json!({ "ids": chunk, "namespace": namespace })).await?;
        }
        Ok(())
    }

    async fn delete_namespace(&self, namespace: &str) -> Result<()> {
        match self.post("/vectors/delete", &json!({ "deleteAll": true, "namespace": namespace })).await {
            // Deleting a namespace that holds nothing (never created) is done already.
            Err(Error::Upstream { message, .. }) if message.starts_with("HTTP 404") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn stats(&self, namespace: &str) -> Result<NamespaceStats> {
        let resp = self.post("/describe_index_stats", &json!({})).await?;
        let vector_count = resp
            .get("namespaces")
            .and_then(|n| n.get(namespace))
            .and_then(|n| n.get("vectorCount"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let dimension = resp.get("dimension").and_then(Value::as_u64).map(|d| d as usize);
        if resp.get("metric").is_some() {
            self.learn(IndexInfo::from_json(&resp));
        }
        Ok(NamespaceStats { vector_count, dimension })
    }
}
