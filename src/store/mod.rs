//! Where vectors go once computed.
//!
//! For now: [`npy`], a streaming, atomically written NumPy `.npy` file that
//! `semsift embed` produces and NumPy loads.

pub mod npy;

use std::path::PathBuf;

/// Why vectors could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be created, written, renamed or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not what it claims to be.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A write does not fit the file's row width.
    #[error("dimension mismatch: rows are {expected} wide, got {got} values")]
    DimensionMismatch {
        /// The row width of the file.
        expected: usize,
        /// The number of values handed over.
        got: usize,
    },
    /// The output would overwrite an input.
    #[error("refusing to overwrite input file {0}")]
    WouldOverwriteInput(PathBuf),
}
