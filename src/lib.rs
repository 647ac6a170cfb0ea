//! semsift: semantic deduplication, contamination checks and topic-coverage
//! reports for LLM training datasets.
//!
//! Modules follow the data flow (see `ARCHITECTURE.md`):
//! [`dataset`] reads rows → [`embed`] turns them into vectors → [`store`]
//! keeps the vectors. [`pipeline`] strings the stages together. [`linalg`] holds
//! the numeric kernels (dot product, score matrices, row normalisation, seeded
//! random numbers) that [`index`], [`cluster`], [`embed`], [`dedup`] and
//! [`filter`] share; it depends on none of them.
//!
//! The library never prints; it logs through `tracing` and reports progress
//! through [`progress::Progress`].

pub(crate) mod atomic;
pub mod cluster;
pub mod dataset;
pub mod dedup;
pub mod embed;
mod error;
pub mod filter;
pub mod index;
pub mod linalg;
pub mod pipeline;
pub mod pool;
pub(crate) mod process;
pub mod progress;
#[cfg(feature = "python")]
mod python;
pub mod report;
mod scratch;
pub mod store;

pub use error::Error;
