//! Errors from building or searching an index.

/// Why an index could not be built or searched.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Query rows do not match the index's vector width.
    #[error("dimension mismatch: the index holds {expected}-wide vectors, got {got} values")]
    DimensionMismatch {
        /// The index's vector width.
        expected: usize,
        /// The number of values handed over (not a multiple of `expected`).
        got: usize,
    },
    /// A parameter is out of range.
    #[error("invalid index parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: usize,
        /// The allowed range.
        reason: &'static str,
    },
    /// The matrix product failed (exact backend).
    #[error("matrix product failed: {0}")]
    Compute(String),
    /// Sorted runs could not be written to, or read back from, the temporary directory.
    #[error("cannot spill search results to the temporary directory ({dir}): {0}", dir = std::env::temp_dir().display())]
    Spill(#[source] std::io::Error),
    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,
}
