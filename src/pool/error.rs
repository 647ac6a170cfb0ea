//! What can go wrong with a pool.

use std::path::PathBuf;

use crate::store::StoreError;

/// An error opening, reading or growing a pool; each names the pool's folder or file.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A file of the pool could not be read or written.
    #[error("pool {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `init` was asked for a folder that already holds a pool.
    #[error("{path} already holds a pool (its manifest, pool.json, exists)")]
    Exists {
        /// The folder.
        path: PathBuf,
    },
    /// The folder holds no pool.
    #[error("{path} is not a pool: no pool.json (create one with `semsift pool init`)")]
    NotAPool {
        /// The folder.
        path: PathBuf,
    },
    /// The manifest is damaged or not one semsift wrote.
    #[error("pool manifest {path} is damaged: {reason}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The manifest was written by a newer semsift.
    #[error(
        "pool manifest {path} has format version {found}; this semsift reads up to {supported}"
    )]
    NewerVersion {
        /// The manifest file.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Another process holds the pool's writer lock.
    #[error("pool {path} is locked for writing by {holder}; wait for it to finish (readers need no lock)")]
    Locked {
        /// The pool's folder.
        path: PathBuf,
        /// Who holds it, as the lock file says (process id, host, since when).
        holder: String,
    },
    /// A segment named by the manifest is missing or does not match it.
    #[error("pool segment {path}: {reason}")]
    BadSegment {
        /// The segment's file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A segment's vector file could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Fitting a segment's cells failed.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// Vectors, rows or settings given to the pool do not fit it.
    #[error("pool {path}: {reason}")]
    Mismatch {
        /// The pool's folder.
        path: PathBuf,
        /// What did not fit.
        reason: String,
    },
    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,
}

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PoolError {
    let path = path.into();
    move |source| PoolError::Io { path, source }
}
