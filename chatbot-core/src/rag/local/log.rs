//! The append-only log of a namespace: entry encoding, replay with a torn-tail cut, compaction.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::Shard;
use super::lexical::normalize_terms;
use crate::error::{Error, Result};
use crate::rag::{Metadata, Terms, VectorRecord};

pub(super) const MAGIC: &[u8; 8] = b"CBVLOG1\n";
/// The magic of a log that may hold [`OP_UPSERT_TERMS`] entries. Earlier versions refuse such
/// a log ("not a local index log") instead of reading the unknown entry as a torn tail and
/// cutting it off, so going back a version never loses records.
pub(super) const MAGIC_TERMS: &[u8; 8] = b"CBVLOG2\n";
pub(super) const OP_UPSERT: u8 = 1;
pub(super) const OP_DELETE: u8 = 2;
pub(super) const OP_CLEAR: u8 = 3;
/// An upsert whose records carry their terms (after the metadata: `u32` count or
/// [`NO_TERMS`], the ids, then the counts, all `u32`). Batches without terms keep [`OP_UPSERT`],
/// so logs of dense-only companies stay readable by earlier versions; the first entry with
/// terms moves the log to [`MAGIC_TERMS`] (a fresh log starts so, an older one is rewritten).
pub(super) const OP_UPSERT_TERMS: u8 = 4;
/// The term count of a record without terms.
const NO_TERMS: u32 = u32::MAX;

impl Shard {
    /// Append one entry to the log and sync it (no-op in memory).
    pub(super) fn append(&mut self, payload: &[u8]) -> Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        let with_terms = payload.first() == Some(&OP_UPSERT_TERMS);
        if with_terms && !self.log_terms && path.exists() {
            // Rewrite the live rows under the new magic before the first entry with terms.
            self.log_terms = true;
            self.compact()?;
        }
        if self.log.is_none() {
            let fresh = !path.exists();
            let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
            if fresh {
                self.log_terms = with_terms;
                f.write_all(if with_terms { MAGIC_TERMS } else { MAGIC })?;
            }
            self.log = Some(f);
            if fresh {
                sync_dir(&path);
            }
        }
        if let Some(f) = self.log.as_mut() {
            let mut entry = Vec::with_capacity(payload.len() + 8);
            put_u32(&mut entry, payload.len());
            entry.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            entry.extend_from_slice(payload);
            f.write_all(&entry)?;
            f.sync_data()?;
        }
        Ok(())
    }

    /// Replay the log at `path` (missing = empty), cut a torn tail, compact when mostly dead.
    pub(super) fn load(path: PathBuf) -> Result<Self> {
        let mut shard = Shard { path: Some(path.clone()), ..Shard::default() };
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(shard),
            Err(e) => return Err(e.into()),
        };
        let file_len = file.metadata()?.len();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0u8; 8];
        let ok = reader.read_exact(&mut magic).is_ok();
        shard.log_terms = &magic == MAGIC_TERMS;
        if !ok || (&magic != MAGIC && !shard.log_terms) {
            return Err(Error::Storage(format!("{} is not a local index log", path.display())));
        }
        let mut good = MAGIC.len() as u64;
        let mut written_rows = 0usize;
        loop {
            let mut head = [0u8; 8];
            if reader.read_exact(&mut head).is_err() {
                break;
            }
            let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as u64;
            let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            if good + 8 + len > file_len {
                break;
            }
            let mut payload = vec![0u8; len as usize];
            if reader.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != crc {
                break;
            }
            match shard.apply(&payload) {
                Some(n) => written_rows += n,
                None => break,
            }
            good += 8 + len;
        }
        if good < file_len {
            tracing::warn!(path = %path.display(), kept = good, len = file_len, "local index: cut a torn log tail");
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(good)?;
            f.sync_all()?;
        }
        if written_rows > 2 * shard.ids.len() + 1024 {
            shard.compact()?;
        }
        // Replayed replacements and deletes leave dead slots: start with a clean index.
        shard.lex.rebuild(&shard.terms, &mut shard.slots);
        Ok(shard)
    }

    /// Apply one decoded log entry; `Some(rows written)` or `None` when it does not decode.
    pub(super) fn apply(&mut self, payload: &[u8]) -> Option<usize> {
        let mut cur = Cursor { buf: payload, at: 0 };
        match cur.u8()? {
            op @ (OP_UPSERT | OP_UPSERT_TERMS) => {
                let dim = cur.u32()? as usize;
                let n = cur.u32()? as usize;
                if self.dim_if_any().is_some_and(|d| d != dim) {
                    return None;
                }
                self.dim = dim;
                for _ in 0..n {
                    let id = String::from_utf8(cur.bytes()?.to_vec()).ok()?;
                    let raw = cur.take(dim * 4)?;
                    let values: Vec<f32> =
                        raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                    let metadata: Metadata = serde_json::from_slice(cur.bytes()?).ok()?;
                    let terms = if op == OP_UPSERT_TERMS { read_terms(&mut cur, &id)? } else { None };
                    self.put(VectorRecord { id, values, terms, metadata });
                }
                self.maybe_rebuild_lexical();
                Some(n)
            }
            OP_DELETE => {
                let n = cur.u32()? as usize;
                for _ in 0..n {
                    let id = std::str::from_utf8(cur.bytes()?).ok()?.to_string();
                    self.remove(&id);
                }
                self.maybe_rebuild_lexical();
                Some(n)
            }
            OP_CLEAR => {
                self.clear();
                Some(0)
            }
            _ => None,
        }
    }

    /// Rewrite the log with only the live rows: temp file, sync, rename, sync the folder.
    pub(super) fn compact(&mut self) -> Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        let tmp = path.with_extension("log.tmp");
        {
            let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            self.log_terms = self.log_terms || self.terms.iter().any(Option::is_some);
            w.write_all(if self.log_terms { MAGIC_TERMS } else { MAGIC })?;
            for start in (0..self.ids.len()).step_by(1000) {
                let end = (start + 1000).min(self.ids.len());
                let batch: Vec<VectorRecord> = (start..end).map(|i| self.record(i)).collect();
                let payload = encode_upsert(self.dim, &batch);
                put_u32(&mut w, payload.len());
                w.write_all(&crc32fast::hash(&payload).to_le_bytes())?;
                w.write_all(&payload)?;
            }
            let f = w.into_inner().map_err(|e| Error::Io(e.into_error()))?;
            f.sync_all()?;
        }
        self.log = None;
        std::fs::rename(&tmp, &path)?;
        sync_dir(&path);
        tracing::debug!(path = %path.display(), rows = self.ids.len(), "local index: compacted log");
        Ok(())
    }
}

pub(super) fn encode_upsert(dim: usize, records: &[VectorRecord]) -> Vec<u8> {
    let with_terms = records.iter().any(|r| r.terms.is_some());
    let mut out = Vec::with_capacity(9 + records.len() * (dim * 4 + 64));
    out.push(if with_terms { OP_UPSERT_TERMS } else { OP_UPSERT });
    put_u32(&mut out, dim);
    put_u32(&mut out, records.len());
    for r in records {
        put_bytes(&mut out, r.id.as_bytes());
        for x in &r.values {
            out.extend_from_slice(&x.to_le_bytes());
        }
        let meta = serde_json::to_vec(&r.metadata).unwrap_or_else(|_| b"{}".to_vec());
        put_bytes(&mut out, &meta);
        if with_terms {
            match &r.terms {
                Some(t) => {
                    put_u32(&mut out, t.ids.len());
                    for x in t.ids.iter().chain(&t.counts) {
                        out.extend_from_slice(&x.to_le_bytes());
                    }
                }
                None => out.extend_from_slice(&NO_TERMS.to_le_bytes()),
            }
        }
    }
    out
}

/// A record's terms as [`encode_upsert`] wrote them (`Some(None)`: none; `None`: undecodable).
fn read_terms(cur: &mut Cursor<'_>, id: &str) -> Option<Option<Terms>> {
    let n = cur.u32()?;
    if n == NO_TERMS {
        return Some(None);
    }
    let n = n as usize;
    let u32s = |raw: &[u8]| -> Vec<u32> {
        raw.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    let ids = u32s(cur.take(n.checked_mul(4)?)?);
    let counts = u32s(cur.take(n.checked_mul(4)?)?);
    normalize_terms(id, &Terms { ids, counts }).ok().map(Some)
}

pub(super) fn put_u32(out: &mut impl Write, n: usize) {
    let _ = out.write_all(&(n as u32).to_le_bytes());
}

pub(super) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.buf.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Sync the folder holding `path` so a create/rename/remove survives a crash (best effort).
pub(super) fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}
