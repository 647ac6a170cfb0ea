//! Errors from loading and running encoders.

use std::path::PathBuf;

/// Why a model could not be loaded, run or written.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model folder does not exist.
    #[error("model folder {path} does not exist")]
    ModelNotFound {
        /// The folder that was asked for.
        path: PathBuf,
    },
    /// A file of the model could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the model is malformed.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error (carries line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The folder holds something semsift cannot run.
    #[error("{path}: unsupported model: {reason}")]
    UnsupportedModel {
        /// The model folder or file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A weights file is malformed or lacks a tensor.
    #[error("{path}: {reason}")]
    BadWeights {
        /// The safetensors file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The tokenizer could not be loaded or failed on a text.
    #[error("tokenizer {path}: {message}")]
    Tokenizer {
        /// The tokenizer file (or `<bundled>`).
        path: PathBuf,
        /// The tokenizer library's message.
        message: String,
    },
    /// Two pieces that must agree in size do not.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// Which quantity.
        what: &'static str,
        /// The size required.
        expected: usize,
        /// The size found.
        got: usize,
    },
    /// `--device cuda` was asked of a binary built without the `cuda` feature.
    #[error(
        "this semsift was built without CUDA support; rebuild with `cargo build --release --features cuda` (needs nvcc) or use --device cpu"
    )]
    CudaNotBuilt,
    /// A device string could not be parsed.
    #[error("unknown device `{0}`; expected `cpu`, `cuda` or `cuda:N`")]
    BadDevice(String),
    /// The tensor library failed.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// An invalid argument (for example `--dims 0`).
    #[error("{0}")]
    InvalidArgument(String),
    /// The caller cancelled the operation.
    #[error("cancelled")]
    Cancelled,
}
