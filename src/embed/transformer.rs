//! The sentence-transformers encoder: a BERT checkpoint run with candle.

use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;

use super::bert::Bert;
use tokenizers::{Tokenizer, TruncationParams};

use super::tensors::{digest, read_json};
use super::tokenizer::load_plain;
use super::{Device, EmbedError, Encoder};
use crate::linalg::normalize_rows;

/// How token states become one sentence vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the tokens the attention mask keeps.
    Mean,
    /// The `[CLS]` token's state.
    Cls,
}

/// A sentence-transformers BERT model (e.g. all-MiniLM-L6-v2).
///
/// Texts are tokenised with special tokens and truncated to the folder's
/// `max_seq_length`, sorted by length so each batch pads only to its own
/// longest text, run through BERT, pooled over the attention mask and
/// L2-normalised (every semsift consumer compares by cosine).
pub struct TransformerModel {
    model: Bert,
    tokenizer: Tokenizer,
    device: candle_core::Device,
    on: Device,
    dim: usize,
    pooling: Pooling,
    pad_id: u32,
    batch_size: usize,
    fingerprint: String,
}

impl TransformerModel {
    /// Loads a sentence-transformers folder: `config.json`,
    /// `model.safetensors`, `tokenizer.json`, and optionally
    /// `1_Pooling/config.json` and `sentence_bert_config.json`.
    pub fn from_dir(dir: &Path, device: Device, batch_size: usize) -> Result<Self, EmbedError> {
        Self::from_dir_in(dir, device, batch_size, false)
    }

    /// [`from_dir`](Self::from_dir); with `half`, the weights and activations are
    /// `f16` (tensor cores on a GPU; layer norms, softmax and pooling sum in `f32`). The
    /// vectors then differ from `f32` ones (cosine 0.999 and up), so the fingerprint says
    /// `f16` and a store keeps them apart.
    pub fn from_dir_in(
        dir: &Path,
        device: Device,
        batch_size: usize,
        half: bool,
    ) -> Result<Self, EmbedError> {
        if batch_size == 0 {
            return Err(EmbedError::InvalidArgument(
                "batch size must be at least 1".into(),
            ));
        }
        let config: Config = read_json(&dir.join("config.json"))?;
        let pooling = read_pooling(dir)?;
        let max_tokens = read_json::<serde_json::Value>(&dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|v| v.get("max_seq_length")?.as_u64())
            .map(|v| v as usize)
            .unwrap_or(512)
            .min(config.max_position_embeddings);

        let tokenizer_path = dir.join("tokenizer.json");
        let bytes = std::fs::read(&tokenizer_path).map_err(|source| EmbedError::Io {
            path: tokenizer_path.clone(),
            source,
        })?;
        let mut tokenizer = load_plain(&bytes, &tokenizer_path)?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Tokenizer {
                path: tokenizer_path.clone(),
                message: e.to_string(),
            })?;
        let pad_id = tokenizer
            .token_to_id("[PAD]")
            .unwrap_or(config.pad_token_id as u32);

        let weights_path = dir.join("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|source| EmbedError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let mut fingerprint = format!(
            "transformer:{}:{}",
            dir.file_name().unwrap_or_default().to_string_lossy(),
            digest(&weights)
        );
        let dtype = match half {
            true => {
                fingerprint.push_str(":f16");
                DType::F16
            }
            false => DType::F32,
        };
        let candle_device = device.to_candle()?;
        let vb = VarBuilder::from_buffered_safetensors(weights, dtype, &candle_device)?;
        let model = Bert::load(vb, &config).map_err(|e| EmbedError::BadWeights {
            path: weights_path,
            reason: e.to_string(),
        })?;
        tracing::debug!(?device, max_tokens, ?pooling, "loaded transformer");
        Ok(Self {
            model,
            tokenizer,
            device: candle_device,
            on: device,
            dim: config.hidden_size,
            pooling,
            pad_id,
            batch_size,
            fingerprint,
        })
    }

    /// Runs one padded batch and writes its pooled vectors to `out` (row-major).
    fn forward_batch(&self, ids: &[&[u32]], out: &mut [f32]) -> Result<(), EmbedError> {
        let len = ids.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut flat = Vec::with_capacity(ids.len() * len);
        let mut mask = Vec::with_capacity(ids.len() * len);
        for seq in ids {
            flat.extend_from_slice(seq);
            flat.extend(std::iter::repeat_n(self.pad_id, len - seq.len()));
            mask.extend(std::iter::repeat_n(1u32, seq.len()));
            mask.extend(std::iter::repeat_n(0u32, len - seq.len()));
        }
        let shape = (ids.len(), len);
        let input = Tensor::from_vec(flat, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let hidden = self.model.forward(&input, &mask)?.to_dtype(DType::F32)?;
        let pooled = match self.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
                let summed = hidden.broadcast_mul(&m)?.sum(1)?;
                let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
                summed.broadcast_div(&counts)?
            }
        };
        let values = pooled
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        out.copy_from_slice(&values);
        Ok(())
    }
}

impl Encoder for TransformerModel {
    fn dim(&self) -> usize {
        self.dim
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn chunk_rows(&self) -> usize {
        (self.batch_size * 8).max(256)
    }

    fn device(&self) -> Device {
        self.on
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer {
                path: PathBuf::from("<transformer>"),
                message: e.to_string(),
            })?;
        let sequences: Vec<Vec<u32>> = encodings.iter().map(|e| e.get_ids().to_vec()).collect();
        let mut out = self.embed_ids(&sequences, &crate::progress::Silent)?;
        normalize_rows(&mut out, self.dim);
        Ok(out)
    }
}

/// Reads `1_Pooling/config.json`; a folder without it pools by mean.
fn read_pooling(dir: &Path) -> Result<Pooling, EmbedError> {
    let path = dir.join("1_Pooling").join("config.json");
    if !path.is_file() {
        return Ok(Pooling::Mean);
    }
    let cfg: serde_json::Value = read_json(&path)?;
    let on = |key: &str| cfg.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
    match (on("pooling_mode_mean_tokens"), on("pooling_mode_cls_token")) {
        (true, false) => Ok(Pooling::Mean),
        (false, true) => Ok(Pooling::Cls),
        _ => Err(EmbedError::UnsupportedModel {
            path,
            reason: "only mean or CLS pooling (exactly one) is supported".into(),
        }),
    }
}

impl TransformerModel {
    /// The special-token ids the tokenizer puts before and after a text
    /// (`[CLS]` and `[SEP]` for BERT), found by encoding a probe text with and
    /// without special tokens.
    pub(crate) fn special_affixes(&self) -> Result<(Vec<u32>, Vec<u32>), EmbedError> {
        let enc = |special| {
            self.tokenizer
                .encode_fast("a", special)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| EmbedError::Tokenizer {
                    path: PathBuf::from("<transformer>"),
                    message: e.to_string(),
                })
        };
        let (with, without) = (enc(true)?, enc(false)?);
        let at = with
            .windows(without.len().max(1))
            .position(|w| w == without.as_slice())
            .unwrap_or(0);
        Ok((with[..at].to_vec(), with[at + without.len()..].to_vec()))
    }

    /// Pooled, unnormalised vectors for pre-tokenised id sequences, computed
    /// longest first so every batch pads only to its own longest sequence.
    pub(crate) fn embed_ids(
        &self,
        sequences: &[Vec<u32>],
        progress: &dyn crate::progress::Progress,
    ) -> Result<Vec<f32>, EmbedError> {
        let mut order: Vec<usize> = (0..sequences.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sequences[i].len()));
        let mut out = vec![0f32; sequences.len() * self.dim];
        let mut batch_out = Vec::new();
        for batch in order.chunks(self.batch_size) {
            if progress.cancelled() {
                return Err(EmbedError::Cancelled);
            }
            let ids: Vec<&[u32]> = batch.iter().map(|&i| sequences[i].as_slice()).collect();
            batch_out.resize(batch.len() * self.dim, 0.0);
            self.forward_batch(&ids, &mut batch_out)?;
            for (k, &i) in batch.iter().enumerate() {
                out[i * self.dim..(i + 1) * self.dim]
                    .copy_from_slice(&batch_out[k * self.dim..(k + 1) * self.dim]);
            }
            progress.advance(batch.len() as u64);
        }
        Ok(out)
    }
}
