//! Chunking, sized by characters or by tokens (tiktoken's cl100k, what OpenAI's embedding models
//! count), with overlap; Markdown-aware for Markdown sources. Plain text sized by characters goes
//! through `CharChunks`, a one-pass splitter; Markdown and token sizing go
//! through text-splitter. The settings, their defaults and the "auto" sizing rule are in
//! `settings`.

mod chars;
mod sections;
mod settings;

use text_splitter::{Characters, ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use self::chars::CharChunks;
pub use self::sections::SectionChunk;
pub use self::settings::{ChunkRequest, ChunkSettings, Sizing, SizingChoice};
use super::extract::TextFormat;
use crate::error::{Error, Result};

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
    ChunkConfig::new(s.size())
        .with_sizer(sizer)
        .with_overlap(s.overlap())
        .map_err(|e| Error::invalid("chunk_overlap", e.to_string()))
}

impl Chunker {
    /// # Errors
    /// [`Error::Invalid`] for settings text-splitter rejects.
    pub fn new(settings: ChunkSettings) -> Result<Self> {
        let inner = match settings.sizing() {
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
        fn owned<'a>(it: impl Iterator<Item = &'a str>) -> Vec<String> {
            it.filter(|c| !c.trim().is_empty()).map(str::to_string).collect()
        }
        match (&self.inner, format) {
            // Never empty, already trimmed.
            (Inner::Chars { .. }, TextFormat::Plain) => {
                CharChunks::new(text, self.settings.size(), self.settings.overlap())
                    .map(str::to_string)
                    .collect()
            }
            (Inner::Chars { md, .. }, TextFormat::Markdown) => owned(md.chunks(text)),
            (Inner::Tokens { text: t, .. }, TextFormat::Plain) => owned(t.chunks(text)),
            (Inner::Tokens { md, .. }, TextFormat::Markdown) => owned(md.chunks(text)),
        }
    }
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
