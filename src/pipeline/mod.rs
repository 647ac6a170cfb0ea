//! Stages strung together into the jobs the CLI runs.
//!
//! - [`embed_dataset`]: read a dataset in chunks and embed it (`semsift embed`).
//! - [`run_dedup`]: read → embed (through the vector store) → index → search → select →
//!   write (`semsift dedup`).
//! - [`run_filter`]: read → embed → rank by neighbourhood density → outliers or
//!   representatives (`semsift filter`).

mod dedup;
mod embed;
mod filter;
mod output;
mod rows;
mod vectors;

pub use dedup::{build_index, run_dedup, DedupOptions, DedupOutcome};
pub use embed::{embed_dataset, EmbedStats};
pub use filter::{run_filter, FilterMode, FilterOptions, FilterOutcome};
pub use output::{AtomicFile, OutputDir};
pub use rows::{load_rows, LoadedRows, Texts};
pub use vectors::{embed_texts, EmbedReport, Vectors};
