//! [`LocalEmbedder`]: all-MiniLM-L6-v2 run in-process (feature `local-embed`), loaded from a
//! local sentence-transformers folder and never downloaded.
//!
//! Pure Rust: candle-core and candle-nn for the tensors, a small BERT forward pass of our own
//! (`bert.rs` says why not `candle-transformers`), the `tokenizers` crate with its pure-Rust
//! regex engine for the word pieces. The pipeline is the
//! reference's `Transformer(max_seq_length) -> Pooling(mean) -> Normalize`; the tests compare it
//! with vectors made by sentence-transformers itself (`bench/embed/reference.py`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use async_trait::async_trait;
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::Embedder;
use crate::error::{Error, Result};

mod bert;
mod encoder;
mod folder;

use bert::Bert;
use encoder::Encoder;
use folder::{Folder, POOLING};

/// The embedder's identity (recorded per company with the dimension).
pub const LOCAL_MODEL_ID: &str = "all-minilm-l6-v2";
/// Length of every vector.
pub const LOCAL_DIMENSION: usize = 384;

/// How the work of one call is split (measured on 2 cores: `bench/embed/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalEmbedderOptions {
    /// Texts per forward pass (texts are sorted by length first, so a pass pads little).
    pub sub_batch: usize,
    /// Forward passes run at once, each on a thread of its own (one per core by default).
    pub workers: usize,
}

impl Default for LocalEmbedderOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self { sub_batch: 4, workers: cores.min(8) }
    }
}

/// all-MiniLM-L6-v2 in-process: 384-d unit vectors, mean-pooled over at most 256 word pieces
/// (the model's `max_seq_length`; longer texts are truncated, as the reference does).
///
/// [`LocalEmbedder::load`] reads the folder (blocking: call it off the async runtime);
/// [`Embedder::embed`] runs on tokio's blocking pool, so the runtime is never blocked.
/// Loading switches gemm's inner threading off for the process (the sub-batches carry the
/// parallelism); `CANDLE_NUM_THREADS=1` in the environment also keeps candle's element-wise
/// kernels inline, measured 18% faster (`bench/embed/README.md`).
///
/// ```no_run
/// # async fn demo() -> chatbot_core::Result<()> {
/// use chatbot_core::rag::{Embedder, LocalEmbedder};
/// let dir = std::path::PathBuf::from("models/all-minilm-l6-v2");
/// let e = tokio::task::spawn_blocking(move || LocalEmbedder::load(&dir)).await.expect("join")?;
/// let v = e.embed(&["Where is my order?".to_string()]).await?;
/// assert_eq!(v[0].len(), 384);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LocalEmbedder {
    encoder: Arc<Encoder>,
    dir: PathBuf,
    max_seq_length: usize,
    options: LocalEmbedderOptions,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("model", &LOCAL_MODEL_ID)
            .field("dir", &self.dir)
            .field("max_seq_length", &self.max_seq_length)
            .field("options", &self.options)
            .finish()
    }
}

impl LocalEmbedder {
    /// The most texts one [`Embedder::embed`] call should carry.
    pub const MAX_BATCH: usize = 64;

    /// Load the model from a sentence-transformers folder (`model.safetensors`,
    /// `tokenizer.json`, `config.json`, `1_Pooling/config.json`), with the default options.
    ///
    /// # Errors
    /// [`Error::Config`] naming the folder and the file that is missing, unreadable or not
    /// what the embedder expects (another architecture, another pooling, another dimension).
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with(dir, LocalEmbedderOptions::default())
    }

    /// [`LocalEmbedder::load`] with explicit work splitting.
    ///
    /// # Errors
    /// As [`LocalEmbedder::load`].
    pub fn load_with(dir: &Path, options: LocalEmbedderOptions) -> Result<Self> {
        let folder = Folder::open(dir)?;
        let config = folder.bert_config()?;
        if config.hidden_size != LOCAL_DIMENSION {
            return Err(folder.error(
                "config.json",
                format_args!(
                    "has hidden_size {}; all-MiniLM-L6-v2 has {LOCAL_DIMENSION}",
                    config.hidden_size
                ),
            ));
        }
        let pooling = folder.pooling()?;
        let mean_only = pooling.pooling_mode_mean_tokens
            && !(pooling.pooling_mode_cls_token
                || pooling.pooling_mode_max_tokens
                || pooling.pooling_mode_mean_sqrt_len_tokens
                || pooling.pooling_mode_weightedmean_tokens
                || pooling.pooling_mode_lasttoken);
        if !mean_only {
            return Err(folder.error(POOLING, "selects a pooling other than mean pooling alone"));
        }
        if pooling.word_embedding_dimension.is_some_and(|d| d != config.hidden_size) {
            return Err(folder.error(POOLING, "names a dimension other than config.json's hidden_size"));
        }
        let max_seq_length = folder.max_seq_length()?.min(config.max_position_embeddings);

        let mut tokenizer = Tokenizer::from_file(folder.path("tokenizer.json"))
            .map_err(|e| folder.error("tokenizer.json", format_args!("is not a valid tokenizer: {e}")))?;
        // tokenizer.json carries the exporter's own truncation and fixed padding (128 here):
        // sentence-transformers truncates at max_seq_length and pads per batch, as we do.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| folder.error("tokenizer.json", format_args!("refuses truncation: {e}")))?;
        tokenizer.with_padding(None);

        let device = Device::Cpu;
        let weights = folder.read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| folder.error("model.safetensors", format_args!("is not valid safetensors: {e}")))?;
        let model = Bert::load(vb, &config).map_err(|e| {
            folder.error(
                "model.safetensors",
                format_args!("does not hold the BERT weights config.json describes: {e}"),
            )
        })?;
        encoder::single_threaded_gemm();
        let pools = (0..options.workers.max(1))
            .map(|i| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .thread_name(move |_| format!("local-embed-{i}"))
                    .build()
                    .map_err(|e| Error::Internal(format!("local embedder: thread pool: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let encoder = Encoder {
            model,
            tokenizer,
            device,
            sub_batch: options.sub_batch.max(1),
            pools,
            next: AtomicUsize::new(0),
        };
        Ok(Self { encoder: Arc::new(encoder), dir: dir.to_path_buf(), max_seq_length, options })
    }

    /// The folder the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The word pieces a text is truncated to (with `[CLS]` and `[SEP]`).
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// Embed on the calling thread (blocking; [`Embedder::embed`] runs this on tokio's
    /// blocking pool).
    ///
    /// # Errors
    /// [`Error::Internal`] if the forward pass fails (never for any input text).
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.encoder.embed(texts)
    }
}

#[async_trait]
impl Embedder for LocalEmbedder {
    fn model(&self) -> &str {
        LOCAL_MODEL_ID
    }

    fn dimension(&self) -> usize {
        LOCAL_DIMENSION
    }

    fn max_batch(&self) -> usize {
        Self::MAX_BATCH
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encoder = Arc::clone(&self.encoder);
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || encoder.embed(&texts))
            .await
            .map_err(|e| Error::Internal(format!("local embedder: the embedding task failed: {e}")))?
    }
}
