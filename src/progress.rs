//! Progress and cancellation callbacks.
//!
//! The library never prints. Long operations report through a [`Progress`]
//! the caller supplies: the CLI draws progress bars with it, tests and
//! embedders pass [`Silent`].

/// Receives progress from long-running operations and may ask them to stop.
pub trait Progress: Send + Sync {
    /// A stage starts; `total` is the amount of work when known.
    fn begin(&self, stage: &str, total: Option<u64>);
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is finished.
    fn end(&self);
    /// Polled between units of work; returning `true` makes the operation
    /// stop early with a `Cancelled` error.
    fn cancelled(&self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _stage: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn end(&self) {}
}
