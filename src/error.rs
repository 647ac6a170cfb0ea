//! The crate-wide error type.

use crate::cluster::ClusterError;
use crate::dataset::DatasetError;
use crate::embed::EmbedError;
use crate::index::IndexError;
use crate::pool::PoolError;
use crate::store::StoreError;

/// Any error semsift's library can return; each variant wraps the typed error
/// of the module it came from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the input dataset failed.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Loading or running a model failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// Fitting or applying k-means failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Building or searching a neighbour index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Writing or reading vectors failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Opening, reading or growing a pool failed.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A temporary file (in the system's temporary directory) could not be written or
    /// read back.
    #[error("temporary file for {what}: {source}")]
    TempFile {
        /// What was being written.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An option has a value that cannot work.
    #[error("invalid {name}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The input file changed between the two passes over it.
    #[error("{path} changed while semsift was running: read {expected} rows, then {found}")]
    InputChanged {
        /// The file.
        path: std::path::PathBuf,
        /// Rows in the first pass.
        expected: u64,
        /// Rows in the second pass.
        found: u64,
    },
    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Whether the caller asked to stop (through [`Progress::cancelled`](crate::progress::Progress::cancelled)),
    /// whichever stage noticed.
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            Error::Cancelled
                | Error::Embed(EmbedError::Cancelled)
                | Error::Index(IndexError::Cancelled)
                | Error::Cluster(ClusterError::Cancelled)
                | Error::Dataset(DatasetError::Cancelled { .. })
        )
    }
}
