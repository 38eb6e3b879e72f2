//! Chunking with text-splitter: sized by characters or by tokens (tiktoken's cl100k, what
//! OpenAI's embedding models count), with overlap; Markdown-aware for Markdown sources.

use serde::{Deserialize, Serialize};
use text_splitter::{Characters, ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use super::extract::TextFormat;
use crate::error::{Error, Result};

/// What a chunk's size counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sizing {
    /// Unicode characters (fast).
    #[default]
    Characters,
    /// cl100k tokens (what OpenAI embedding models count).
    Tokens,
}

impl std::str::FromStr for Sizing {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "chars" | "characters" => Ok(Self::Characters),
            "tokens" => Ok(Self::Tokens),
            other => Err(Error::invalid("sizing", format!("expected chars or tokens, got {other:?}"))),
        }
    }
}

/// Chunking settings. Build with [`ChunkSettings::new`], adjust with the `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSettings {
    sizing: Sizing,
    size: usize,
    overlap: usize,
}

impl Default for ChunkSettings {
    /// 1,000 characters with 200 overlap.
    fn default() -> Self {
        Self { sizing: Sizing::Characters, size: 1000, overlap: 200 }
    }
}

impl ChunkSettings {
    /// # Errors
    /// [`Error::Invalid`] when `size` is 0 or `overlap >= size`.
    pub fn new(sizing: Sizing, size: usize, overlap: usize) -> Result<Self> {
        if size == 0 {
            return Err(Error::invalid("chunk_size", "must be at least 1"));
        }
        if overlap >= size {
            return Err(Error::invalid(
                "chunk_overlap",
                format!("must be smaller than the chunk size ({size})"),
            ));
        }
        Ok(Self { sizing, size, overlap })
    }

    /// Token sizing, 500 tokens with 50 overlap.
    pub fn tokens_default() -> Self {
        Self { sizing: Sizing::Tokens, size: 500, overlap: 50 }
    }

    pub fn sizing(&self) -> Sizing {
        self.sizing
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn overlap(&self) -> usize {
        self.overlap
    }

    /// A short string that changes when the settings change (part of the content hash, so a
    /// change of settings re-chunks every source).
    pub fn fingerprint(&self) -> String {
        format!("{:?}:{}:{}", self.sizing, self.size, self.overlap)
    }
}

/// A reusable splitter for one [`ChunkSettings`]. Cheap to share between threads.
pub struct Chunker {
    settings: ChunkSettings,
    inner: Inner,
}

enum Inner {
    /// Plain text goes through [`split_chars`], Markdown through text-splitter.
    Chars { md: MarkdownSplitter<Characters> },
    Tokens {
        text: TextSplitter<&'static tiktoken_rs::CoreBPE>,
        md: MarkdownSplitter<&'static tiktoken_rs::CoreBPE>,
    },
}

fn config<S: ChunkSizer>(s: &ChunkSettings, sizer: S) -> Result<ChunkConfig<S>> {
    ChunkConfig::new(s.size)
        .with_sizer(sizer)
        .with_overlap(s.overlap)
        .map_err(|e| Error::invalid("chunk_overlap", e.to_string()))
}

impl Chunker {
    /// # Errors
    /// [`Error::Invalid`] for settings text-splitter rejects.
    pub fn new(settings: ChunkSettings) -> Result<Self> {
        let inner = match settings.sizing {
            Sizing::Characters => Inner::Chars { md: MarkdownSplitter::new(config(&settings, Characters)?) },
            Sizing::Tokens => {
                let bpe = tiktoken_rs::cl100k_base_singleton();
                Inner::Tokens {
                    text: TextSplitter::new(config(&settings, bpe)?),
                    md: MarkdownSplitter::new(config(&settings, bpe)?),
                }
            }
        };
        Ok(Self { settings, inner })
    }

    pub fn settings(&self) -> &ChunkSettings {
        &self.settings
    }

    /// Split `text`, returning owned chunks in order (empty chunks dropped).
    pub fn split(&self, text: &str, format: TextFormat) -> Vec<String> {
        let it: Box<dyn Iterator<Item = &str>> = match (&self.inner, format) {
            (Inner::Chars { .. }, TextFormat::Plain) => {
                Box::new(split_chars(text, self.settings.size, self.settings.overlap).into_iter())
            }
            (Inner::Chars { md, .. }, TextFormat::Markdown) => Box::new(md.chunks(text)),
            (Inner::Tokens { text: t, .. }, TextFormat::Plain) => Box::new(t.chunks(text)),
            (Inner::Tokens { md, .. }, TextFormat::Markdown) => Box::new(md.chunks(text)),
        };
        it.filter(|c| !c.trim().is_empty()).map(str::to_string).collect()
    }
}

/// Byte index `n` characters after `from` (or the end).
fn advance_chars(text: &str, from: usize, n: usize) -> usize {
    text[from..].char_indices().nth(n).map_or(text.len(), |(i, _)| from + i)
}

/// Plain text by characters, in one pass (text-splitter's semantic search costs ~30x more
/// here): each chunk ends at the last paragraph break, else line break, else sentence end,
/// else space in the second half of its window; the next starts `overlap` characters earlier,
/// at a word boundary.
fn split_chars(text: &str, size: usize, overlap: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / size.max(1) + 1);
    let mut start = 0usize;
    let len = text.len();
    while start < len {
        start += text[start..].len() - text[start..].trim_start().len();
        if start >= len {
            break;
        }
        let window_end = advance_chars(text, start, size);
        if window_end >= len {
            out.push(text[start..].trim_end());
            break;
        }
        let w = &text[start..window_end];
        let min = w.len() / 2;
        let cut = [w.rfind("\n\n"), w.rfind('\n'), w.rfind(". ").map(|i| i + 1), w.rfind(' ')]
            .into_iter()
            .flatten()
            .find(|&i| i > min)
            .unwrap_or(w.len());
        let end = start + cut;
        let chunk = text[start..end].trim_end();
        if !chunk.is_empty() {
            out.push(chunk);
        }
        let mut next = end;
        if overlap > 0 {
            let back = text[start..end]
                .char_indices()
                .rev()
                .nth(overlap.saturating_sub(1))
                .map_or(start, |(i, _)| start + i);
            // Begin the overlap at a word.
            next = text[back..end].find(char::is_whitespace).map_or(back, |i| back + i);
        }
        start = if next > start { next } else { end.max(start + 1) };
        while !text.is_char_boundary(start) {
            start += 1;
        }
    }
    out
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunker").field("settings", &self.settings).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_settings() {
        assert_eq!(ChunkSettings::new(Sizing::Characters, 0, 0).unwrap_err().field(), Some("chunk_size"));
        assert_eq!(
            ChunkSettings::new(Sizing::Characters, 10, 10).unwrap_err().field(),
            Some("chunk_overlap")
        );
        assert!("bytes".parse::<Sizing>().is_err());
        assert_eq!("tokens".parse::<Sizing>().unwrap(), Sizing::Tokens);
    }

    #[test]
    fn character_chunks_respect_size_and_overlap() {
        let text = (0..400).map(|i| format!("Sentence number {i} is here.")).collect::<Vec<_>>().join(" ");
        let c = Chunker::new(ChunkSettings::new(Sizing::Characters, 200, 50).unwrap()).unwrap();
        let chunks = c.split(&text, TextFormat::Plain);
        assert!(chunks.len() > 40);
        assert!(chunks.iter().all(|c| c.chars().count() <= 200));
        // Overlap: each chunk begins with text the previous one ends with.
        let shared = chunks.windows(2).filter(|w| w[0].contains(&w[1][..20])).count();
        assert_eq!(shared, chunks.len() - 1);
    }

    #[test]
    fn fast_char_split_covers_text_within_size() {
        let text =
            "Alpha beta gamma. Délta épsilon ζήτα.\n\nNew paragraph here with words.\nLine two. ".repeat(200);
        for (size, overlap) in [(100, 20), (37, 0), (1000, 200), (5, 2)] {
            let chunks = split_chars(&text, size, overlap);
            assert!(chunks.iter().all(|c| c.chars().count() <= size && !c.is_empty()), "{size}/{overlap}");
            let words: usize = text.split_whitespace().count();
            let covered: std::collections::HashSet<*const u8> =
                chunks.iter().flat_map(|c| c.split_whitespace().map(str::as_ptr)).collect();
            assert!(covered.len() >= words - 1, "every word lands in a chunk ({size}/{overlap})");
        }
        assert!(split_chars("", 10, 2).is_empty());
        assert_eq!(split_chars("  short  ", 10, 2), vec!["short"]);
    }

    #[test]
    fn token_chunks_fit_token_budget() {
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(200);
        let c = Chunker::new(ChunkSettings::new(Sizing::Tokens, 64, 8).unwrap()).unwrap();
        let bpe = tiktoken_rs::cl100k_base_singleton();
        let chunks = c.split(&text, TextFormat::Plain);
        assert!(chunks.len() > 10);
        assert!(chunks.iter().all(|c| bpe.encode_ordinary(c).len() <= 64));
    }

    #[test]
    fn markdown_splits_at_headings() {
        let md = format!("# A\n\n{}\n\n# B\n\n{}", "alpha ".repeat(30), "beta ".repeat(30));
        let c = Chunker::new(ChunkSettings::new(Sizing::Characters, 220, 0).unwrap()).unwrap();
        let chunks = c.split(&md, TextFormat::Markdown);
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert!(chunks[1].starts_with("# B"));
    }
}
