//! Turning text into vectors.
//!
//! Two encoders implement [`Encoder`]:
//!
//! * [`StaticModel`] — a model2vec-format static embedding table: tokenise,
//!   look up one vector per token, mean-pool. Thousands of texts per second
//!   per core; this is the default, and a distilled MiniLM ships inside the
//!   binary (see [`bundled`]).
//! * [`TransformerModel`] — a sentence-transformers BERT checkpoint run with
//!   candle on the CPU or, when built with the `cuda` feature, on a GPU.
//!
//! [`load`] picks the right one for a model folder. [`distill`] makes a static
//! model from a transformer, the way model2vec's `distill` does.

mod bert;
pub mod bundled;
mod device;
pub mod distill;
mod error;
mod pca;
mod static_device;
mod static_model;
mod tensors;
mod tokenizer;
mod transformer;
mod wordpiece;

use std::path::Path;

pub use crate::linalg::{cosine, normalize_rows};
pub use device::Device;
pub use error::EmbedError;
pub use static_device::DeviceStaticModel;
pub(crate) use static_model::truncate_chars;
pub use static_model::StaticModel;
pub use transformer::TransformerModel;

/// Anything that maps a batch of texts to fixed-size vectors.
///
/// Implementations are thread-safe and parallelise internally, so callers hand
/// over large batches rather than calling from many threads.
pub trait Encoder: Send + Sync {
    /// Length of each output vector.
    fn dim(&self) -> usize;

    /// A short, stable description of the model (name and digest of its
    /// weights), used to tell whether stored vectors came from this model.
    fn fingerprint(&self) -> &str;

    /// Encodes `texts`, returning `texts.len() * dim()` floats, row-major, one
    /// row per text in input order.
    fn encode(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError>;

    /// How many texts a caller should hand to one [`encode`](Self::encode)
    /// call: large enough to keep every core busy, small enough for steady
    /// progress reports.
    fn chunk_rows(&self) -> usize {
        16_384
    }

    /// Where the model runs.
    fn device(&self) -> Device {
        Device::Cpu
    }
}

/// What kind of model a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A model2vec static embedding table.
    Static,
    /// A sentence-transformers / Hugging Face BERT checkpoint.
    Transformer,
}

/// Tells a static model from a transformer by the files in `dir`.
///
/// A folder is a transformer when its `config.json` names a BERT-family
/// `model_type`; it is static when that type is `model2vec` or the folder has a
/// `0_StaticEmbedding/` layout.
pub fn detect_kind(dir: &Path) -> Result<ModelKind, EmbedError> {
    if !dir.is_dir() {
        return Err(EmbedError::ModelNotFound {
            path: dir.to_path_buf(),
        });
    }
    if dir.join("0_StaticEmbedding").is_dir() {
        return Ok(ModelKind::Static);
    }
    let config_path = dir.join("config.json");
    let config: serde_json::Value = tensors::read_json(&config_path)?;
    match config.get("model_type").and_then(|v| v.as_str()) {
        Some("model2vec") => Ok(ModelKind::Static),
        Some("bert") | Some("distilbert") | Some("roberta") | Some("xlm-roberta") => {
            Ok(ModelKind::Transformer)
        }
        _ if dir.join("model.safetensors").is_file() && !dir.join("1_Pooling").is_dir() => {
            Ok(ModelKind::Static)
        }
        other => Err(EmbedError::UnsupportedModel {
            path: dir.to_path_buf(),
            reason: format!(
                "config.json model_type is {:?}; expected \"model2vec\" or \"bert\"",
                other
            ),
        }),
    }
}

/// Options for loading a model with [`load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Where the model runs: a transformer there; a static model tokenises on the CPU
    /// and, on a device ([`Device::is_device_path`]), looks up and averages its rows
    /// there ([`DeviceStaticModel`]).
    pub device: Device,
    /// Texts per forward pass for transformers (after sorting by length).
    pub batch_size: usize,
    /// On a device, run a transformer in `f16` ([`TransformerModel::from_dir_in`]).
    pub half: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            device: Device::Cpu,
            batch_size: 64,
            half: false,
        }
    }
}

/// Loads the model in `dir` (static or transformer, see [`detect_kind`]), or
/// the bundled default static model when `dir` is `None`.
pub fn load(dir: Option<&Path>, options: &LoadOptions) -> Result<Box<dyn Encoder>, EmbedError> {
    let on_device = |model: StaticModel| -> Result<Box<dyn Encoder>, EmbedError> {
        match options.device.is_device_path() {
            true => Ok(Box::new(DeviceStaticModel::new(model, options.device)?)),
            false => Ok(Box::new(model)),
        }
    };
    let Some(dir) = dir else {
        return on_device(bundled::default_model()?);
    };
    match detect_kind(dir)? {
        ModelKind::Static => on_device(StaticModel::from_dir(dir)?),
        ModelKind::Transformer => Ok(Box::new(TransformerModel::from_dir_in(
            dir,
            options.device,
            options.batch_size,
            options.half && options.device.is_device_path(),
        )?)),
    }
}
