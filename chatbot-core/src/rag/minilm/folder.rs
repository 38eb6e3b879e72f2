//! Reading a sentence-transformers model folder (`model.safetensors`, `tokenizer.json`,
//! `config.json`, `1_Pooling/config.json`, `sentence_bert_config.json`), with an error that names
//! the folder and the file for anything missing or unreadable.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The files the embedder cannot work without.
pub(super) const REQUIRED: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
/// The pooling module's settings (mean pooling when absent, as sentence-transformers does
/// for a folder without modules).
pub(super) const POOLING: &str = "1_Pooling/config.json";
/// The sequence length the model was trained with (`max_seq_length`).
pub(super) const SBERT: &str = "sentence_bert_config.json";
/// sentence-transformers' default when the folder does not say.
const DEFAULT_MAX_SEQ_LENGTH: usize = 256;

/// `1_Pooling/config.json`: which of sentence-transformers' pooling modes are on.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PoolingConfig {
    pub word_embedding_dimension: Option<usize>,
    #[serde(default)]
    pub pooling_mode_cls_token: bool,
    #[serde(default)]
    pub pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pub pooling_mode_max_tokens: bool,
    #[serde(default)]
    pub pooling_mode_mean_sqrt_len_tokens: bool,
    /// Newer sentence-transformers versions also write these; any of them on is refused.
    #[serde(default)]
    pub pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pub pooling_mode_lasttoken: bool,
}

impl Default for PoolingConfig {
    fn default() -> Self {
        Self {
            word_embedding_dimension: None,
            pooling_mode_cls_token: false,
            pooling_mode_mean_tokens: true,
            pooling_mode_max_tokens: false,
            pooling_mode_mean_sqrt_len_tokens: false,
            pooling_mode_weightedmean_tokens: false,
            pooling_mode_lasttoken: false,
        }
    }
}

#[derive(Debug, Deserialize)]
struct SbertConfig {
    max_seq_length: Option<usize>,
}

/// A model folder whose required files are present.
pub(super) struct Folder {
    dir: PathBuf,
}

impl Folder {
    /// Check that `dir` is a folder holding every required file.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Config(format!(
                "local embedder: the model folder {} does not exist or is not a folder (expected a \
                 sentence-transformers folder with {}, {POOLING})",
                dir.display(),
                REQUIRED.join(", ")
            )));
        }
        let folder = Self { dir: dir.to_path_buf() };
        for f in REQUIRED {
            if !folder.path(f).is_file() {
                return Err(folder.error(f, "is missing"));
            }
        }
        Ok(folder)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// A configuration error naming the folder and `file`.
    pub fn error(&self, file: &str, what: impl std::fmt::Display) -> Error {
        Error::Config(format!("local embedder: {file} in the model folder {} {what}", self.dir.display()))
    }

    pub fn read(&self, file: &str) -> Result<Vec<u8>> {
        std::fs::read(self.path(file)).map_err(|e| self.error(file, format_args!("cannot be read: {e}")))
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, file: &str) -> Result<T> {
        let bytes = self.read(file)?;
        serde_json::from_slice(&bytes).map_err(|e| self.error(file, format_args!("is not valid: {e}")))
    }

    /// The BERT configuration (`config.json`).
    pub fn bert_config(&self) -> Result<super::bert::BertConfig> {
        let c: super::bert::BertConfig = self.json("config.json")?;
        match c.unsupported() {
            Some(what) => Err(self.error("config.json", format_args!("asks for {what}"))),
            None => Ok(c),
        }
    }

    /// The pooling settings; sentence-transformers' mean pooling when the file is absent.
    pub fn pooling(&self) -> Result<PoolingConfig> {
        if self.path(POOLING).is_file() { self.json(POOLING) } else { Ok(PoolingConfig::default()) }
    }

    /// `max_seq_length` from `sentence_bert_config.json`, 256 when absent.
    pub fn max_seq_length(&self) -> Result<usize> {
        if !self.path(SBERT).is_file() {
            return Ok(DEFAULT_MAX_SEQ_LENGTH);
        }
        let c: SbertConfig = self.json(SBERT)?;
        match c.max_seq_length {
            None => Ok(DEFAULT_MAX_SEQ_LENGTH),
            Some(n) if n >= 2 => Ok(n),
            Some(n) => Err(self.error(SBERT, format_args!("has max_seq_length {n}; it must be at least 2"))),
        }
    }
}
