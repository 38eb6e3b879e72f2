//! Chunk settings and the rules that pick them: the defaults per sizing (1,000 characters with
//! 200 overlap, or 500 tokens with 50) and the "auto" sizing rule (tokens for OpenAI embedding
//! models, characters otherwise). Front ends pass what the operator asked for as a
//! [`ChunkRequest`] and let core resolve it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rag::Embedder;

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

impl Sizing {
    /// The "auto" rule: tokens for OpenAI embedding models (`text-embedding-*`, whose input limit
    /// counts cl100k tokens), characters for every other model (the offline embedder included).
    pub fn auto_for(embedder_model: &str) -> Self {
        if embedder_model.starts_with("text-embedding") { Self::Tokens } else { Self::Characters }
    }

    /// Default chunk size: 1,000 characters or 500 tokens.
    pub const fn default_size(self) -> usize {
        match self {
            Self::Characters => 1000,
            Self::Tokens => 500,
        }
    }

    /// Default overlap: 200 characters or 50 tokens.
    pub const fn default_overlap(self) -> usize {
        match self {
            Self::Characters => 200,
            Self::Tokens => 50,
        }
    }
}

/// A sizing as an operator chooses it: one of the [`Sizing`]s, or `auto` (decided by the
/// embedder, see [`Sizing::auto_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SizingChoice {
    #[default]
    Auto,
    Characters,
    Tokens,
}

impl SizingChoice {
    /// The sizing this choice means with an embedder of model `embedder_model`.
    pub fn resolve(self, embedder_model: &str) -> Sizing {
        match self {
            Self::Auto => Sizing::auto_for(embedder_model),
            Self::Characters => Sizing::Characters,
            Self::Tokens => Sizing::Tokens,
        }
    }
}

impl From<Sizing> for SizingChoice {
    fn from(s: Sizing) -> Self {
        match s {
            Sizing::Characters => Self::Characters,
            Sizing::Tokens => Self::Tokens,
        }
    }
}

impl std::str::FromStr for SizingChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            other => other.parse::<Sizing>().map(Self::from).map_err(|_| {
                Error::invalid("sizing", format!("expected auto, chars or tokens, got {other:?}"))
            }),
        }
    }
}

/// Chunking as an operator asks for it: a sizing (or auto), and a size and an overlap when
/// given. [`ChunkRequest::default`] is "auto, default size and overlap".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChunkRequest {
    pub sizing: SizingChoice,
    /// Chunk size; the sizing's default ([`Sizing::default_size`]) when `None`.
    pub size: Option<usize>,
    /// Overlap; when `None`, a fifth of a given size, else the sizing's default.
    pub overlap: Option<usize>,
}

impl ChunkRequest {
    /// The settings this request means with an embedder of model `embedder_model`.
    ///
    /// # Errors
    /// [`Error::Invalid`] (fields `chunk_size`, `chunk_overlap`) when the size is 0 or the
    /// overlap is not smaller than the size.
    pub fn resolve(&self, embedder_model: &str) -> Result<ChunkSettings> {
        let sizing = self.sizing.resolve(embedder_model);
        let size = self.size.unwrap_or(sizing.default_size());
        // A size without an overlap keeps the defaults' proportion (a fifth), not their number.
        let overlap =
            self.overlap.unwrap_or(if self.size.is_some() { size / 5 } else { sizing.default_overlap() });
        ChunkSettings::new(sizing, size, overlap)
    }

    /// [`ChunkRequest::resolve`] for `embedder`.
    ///
    /// # Errors
    /// As [`ChunkRequest::resolve`].
    pub fn resolve_for(&self, embedder: &dyn Embedder) -> Result<ChunkSettings> {
        self.resolve(embedder.model())
    }
}

/// Chunking settings. Build with [`ChunkSettings::new`] or [`ChunkSettings::defaults_for`], or
/// resolve a [`ChunkRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSettings {
    sizing: Sizing,
    size: usize,
    overlap: usize,
}

impl Default for ChunkSettings {
    /// 1,000 characters with 200 overlap.
    fn default() -> Self {
        Self::defaults_for(Sizing::Characters)
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

    /// A sizing's default size and overlap.
    pub const fn defaults_for(sizing: Sizing) -> Self {
        Self { sizing, size: sizing.default_size(), overlap: sizing.default_overlap() }
    }

    /// Token sizing, 500 tokens with 50 overlap.
    pub fn tokens_default() -> Self {
        Self::defaults_for(Sizing::Tokens)
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
    fn defaults_per_sizing() {
        let c = ChunkSettings::default();
        assert_eq!((c.sizing(), c.size(), c.overlap()), (Sizing::Characters, 1000, 200));
        let t = ChunkSettings::tokens_default();
        assert_eq!((t.sizing(), t.size(), t.overlap()), (Sizing::Tokens, 500, 50));
        assert_eq!(ChunkSettings::defaults_for(Sizing::Tokens), t);
    }

    #[test]
    fn auto_sizing_follows_the_embedder() {
        assert_eq!(Sizing::auto_for("text-embedding-3-small"), Sizing::Tokens);
        assert_eq!(Sizing::auto_for("text-embedding-ada-002"), Sizing::Tokens);
        assert_eq!(Sizing::auto_for("offline-hash-v1"), Sizing::Characters);
        assert_eq!(Sizing::auto_for("nomic-embed-text"), Sizing::Characters);
        let auto = ChunkRequest::default();
        assert_eq!(auto.resolve("text-embedding-3-small").unwrap(), ChunkSettings::tokens_default());
        assert_eq!(auto.resolve("offline").unwrap(), ChunkSettings::default());
        let chars = ChunkRequest { sizing: SizingChoice::Characters, ..ChunkRequest::default() };
        assert_eq!(chars.resolve("text-embedding-3-small").unwrap(), ChunkSettings::default());
    }

    #[test]
    fn a_given_size_brings_a_fifth_as_overlap() {
        let r = ChunkRequest { sizing: SizingChoice::Tokens, size: Some(300), overlap: None };
        assert_eq!(r.resolve("any").unwrap(), ChunkSettings::new(Sizing::Tokens, 300, 60).unwrap());
        let r = ChunkRequest { size: Some(400), overlap: Some(10), ..ChunkRequest::default() };
        assert_eq!(r.resolve("any").unwrap(), ChunkSettings::new(Sizing::Characters, 400, 10).unwrap());
        // An overlap alone keeps the default size.
        let r = ChunkRequest { overlap: Some(100), ..ChunkRequest::default() };
        assert_eq!(r.resolve("any").unwrap(), ChunkSettings::new(Sizing::Characters, 1000, 100).unwrap());
        let r = ChunkRequest { size: Some(0), ..ChunkRequest::default() };
        assert_eq!(r.resolve("any").unwrap_err().field(), Some("chunk_size"));
        let r = ChunkRequest { size: Some(100), overlap: Some(100), ..ChunkRequest::default() };
        assert_eq!(r.resolve("any").unwrap_err().field(), Some("chunk_overlap"));
    }

    #[test]
    fn sizing_choices_parse() {
        assert_eq!("auto".parse::<SizingChoice>().unwrap(), SizingChoice::Auto);
        assert_eq!("chars".parse::<SizingChoice>().unwrap(), SizingChoice::Characters);
        assert_eq!("characters".parse::<SizingChoice>().unwrap(), SizingChoice::Characters);
        assert_eq!("tokens".parse::<SizingChoice>().unwrap(), SizingChoice::Tokens);
        assert_eq!("bytes".parse::<SizingChoice>().unwrap_err().field(), Some("sizing"));
    }
}
