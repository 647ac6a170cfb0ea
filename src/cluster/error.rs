//! Errors from clustering.

/// What can go wrong fitting or applying k-means.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// More clusters were asked for than there are distinct vectors to hold them.
    #[error("cannot make {k} clusters from {rows} distinct rows; ask for at most {rows}")]
    TooFewRows {
        /// Clusters asked for.
        k: usize,
        /// Distinct vectors available.
        rows: usize,
    },
    /// A parameter is out of range.
    #[error("invalid k-means parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// Vectors or weights do not have the expected shape.
    #[error("vector width mismatch: expected a multiple of {expected} values, got {got}")]
    DimensionMismatch {
        /// The expected dimension.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The matrix product failed.
    #[error("matrix product failed: {0}")]
    Compute(String),
    /// The caller asked to stop.
    #[error("clustering cancelled")]
    Cancelled,
}

impl From<candle_core::Error> for ClusterError {
    fn from(e: candle_core::Error) -> Self {
        ClusterError::Compute(e.to_string())
    }
}

impl From<crate::embed::EmbedError> for ClusterError {
    fn from(e: crate::embed::EmbedError) -> Self {
        ClusterError::Compute(e.to_string())
    }
}
