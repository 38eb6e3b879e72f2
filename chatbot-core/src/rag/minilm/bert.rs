//! BERT's encoder forward pass for inference, on candle-nn's layers.
//!
//! Written here rather than taken from `candle-transformers` (whose `BertModel` computes the
//! same thing) for two measured reasons: that crate builds ~80 s of CPU in release for
//! one model out of its hundreds, and its attention runs three projections and a generic
//! five-pass softmax where this one runs one fused Q|K|V projection (the 1/sqrt(head) scale
//! folded into the query weights at load), candle-nn's fused last-dimension softmax, and no
//! mask at all for a batch without padding. The weights and names are those of Hugging Face's
//! `BertModel` checkpoints (`embeddings.*`, `encoder.layer.N.*`, optionally under `bert.`).

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

/// The fields of `config.json` this forward pass uses.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

impl BertConfig {
    /// What this forward pass cannot run, if anything.
    pub fn unsupported(&self) -> Option<String> {
        if self.hidden_act != "gelu" {
            return Some(format!("hidden_act {:?} (only \"gelu\" is supported)", self.hidden_act));
        }
        if self.position_embedding_type.as_deref().is_some_and(|p| p != "absolute") {
            return Some("a position_embedding_type other than \"absolute\"".into());
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Some("a hidden_size that num_attention_heads does not divide".into());
        }
        None
    }
}

struct Layer {
    /// Query (pre-scaled), key and value in one projection: hidden -> 3 * hidden.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

pub(super) struct Bert {
    word: Embedding,
    /// Position embeddings (max_position_embeddings, hidden).
    position: Tensor,
    /// Token type 0's embedding (1, hidden): every input is a single segment.
    token_type: Tensor,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
}

fn linear(vb: &VarBuilder, rows: usize, cols: usize) -> Result<(Tensor, Tensor)> {
    Ok((vb.get((rows, cols), "weight")?, vb.get(rows, "bias")?))
}

fn norm(vb: VarBuilder, size: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm::new(vb.get(size, "weight")?, vb.get(size, "bias")?, eps))
}

impl Bert {
    pub fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        let vb =
            if vb.contains_tensor("bert.embeddings.word_embeddings.weight") { vb.pp("bert") } else { vb };
        let h = c.hidden_size;
        let e = vb.pp("embeddings");
        let word = Embedding::new(e.get((c.vocab_size, h), "word_embeddings.weight")?, h);
        let position = e.get((c.max_position_embeddings, h), "position_embeddings.weight")?;
        let token_type = e.get((c.type_vocab_size, h), "token_type_embeddings.weight")?.narrow(0, 0, 1)?;
        let embed_norm = norm(e.pp("LayerNorm"), h, c.layer_norm_eps)?;
        let head_dim = h / c.num_attention_heads;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                let (qw, qb) = linear(&a.pp("self.query"), h, h)?;
                let (kw, kb) = linear(&a.pp("self.key"), h, h)?;
                let (vw, vb_) = linear(&a.pp("self.value"), h, h)?;
                let qkv_w = Tensor::cat(&[(qw * scale)?, kw, vw], 0)?;
                let qkv_b = Tensor::cat(&[(qb * scale)?, kb, vb_], 0)?;
                let (ow, ob) = linear(&a.pp("output.dense"), h, h)?;
                let (iw, ib) = linear(&l.pp("intermediate.dense"), c.intermediate_size, h)?;
                let (fw, fb) = linear(&l.pp("output.dense"), h, c.intermediate_size)?;
                Ok(Layer {
                    qkv: Linear::new(qkv_w, Some(qkv_b)),
                    attn_out: Linear::new(ow, Some(ob)),
                    attn_norm: norm(a.pp("output.LayerNorm"), h, c.layer_norm_eps)?,
                    intermediate: Linear::new(iw, Some(ib)),
                    output: Linear::new(fw, Some(fb)),
                    out_norm: norm(l.pp("output.LayerNorm"), h, c.layer_norm_eps)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            word,
            position,
            token_type,
            embed_norm,
            layers,
            heads: c.num_attention_heads,
            head_dim,
            hidden: h,
        })
    }

    /// Last hidden states (n, len, hidden) of `ids` (n, len); `mask` (n, len) of 1 for real
    /// tokens and 0 for padding, `None` when no row is padded.
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let pos = self.position.narrow(0, 0, len)?;
        let x = self.word.forward(ids)?.broadcast_add(&pos)?.broadcast_add(&self.token_type)?;
        let mut x = self.embed_norm.forward(&x)?;
        // torch's extended attention mask: 0 for real keys, the dtype's minimum for padding
        let bias = match mask {
            Some(m) => {
                Some(((1.0 - m.to_dtype(DType::F32)?)? * f64::from(f32::MIN))?.reshape((n, 1, 1, len))?)
            }
            None => None,
        };
        for layer in &self.layers {
            x = self.layer(layer, &x, bias.as_ref(), n, len)?;
        }
        Ok(x)
    }

    fn layer(&self, l: &Layer, x: &Tensor, bias: Option<&Tensor>, n: usize, len: usize) -> Result<Tensor> {
        let (h, heads, d) = (self.hidden, self.heads, self.head_dim);
        let qkv = l.qkv.forward(x)?; // (n, len, 3h)
        let split = |i: usize| -> Result<Tensor> {
            qkv.narrow(D::Minus1, i * h, h)?.reshape((n, len, heads, d))?.transpose(1, 2)?.contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?); // (n, heads, len, d)
        let mut scores = q.matmul(&k.t()?)?; // (n, heads, len, len), already scaled
        if let Some(b) = bias {
            scores = scores.broadcast_add(b)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((n, len, h))?;
        let x = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + x)?)?;
        let ff = l.output.forward(&l.intermediate.forward(&x)?.gelu_erf()?)?;
        l.out_norm.forward(&(ff + x)?)
    }
}
