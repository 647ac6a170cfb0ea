//! Stages strung together into the jobs the CLI runs.
//!
//! - [`embed_dataset`]: read a dataset in chunks and embed it; [`embed_to_npy`]: the same
//!   into a `.npy`, with sidecars accounting for skipped rows (`semsift embed`).
//! - [`run_dedup`]: read → embed (through the vector store) → index → search → select →
//!   write (`semsift dedup`).
//! - [`run_filter`]: read → embed → rank by neighbourhood density → outliers or
//!   representatives (`semsift filter`).
//! - [`run_report`]: read → embed → k-means → topics (keywords, examples, near
//!   duplicates) → coverage against a reference → `report.json`, `clusters.jsonl` and
//!   `report.html` (`semsift report`).
//! - [`read_candidates`]: read → embed a file's rows as candidates for a
//!   [`Pool`](crate::pool::Pool) (`semsift pool add` / `query`).

mod decided;
mod dedup;
mod embed;
mod filter;
mod output;
mod pool;
mod pool_export;
mod report;
mod rows;
mod templates;
mod vectors;

pub use crate::dataset::{RowNumbers, Texts};
pub use crate::report::Clusters;
pub use crate::store::Vectors;
pub use decided::{write_decided, RemovedLine};
pub use dedup::{run_dedup, DedupOptions, DedupOutcome, AUTO_F16_SHARE};
pub use embed::{embed_dataset, embed_to_npy, EmbedFiles, EmbedOutcome, EmbedStats};
pub use filter::{run_filter, FilterMode, FilterOptions, FilterOutcome};
pub use output::{AtomicFile, OutputDir, OutputFile};
pub use pool::{
    hits_json, import_file, read_candidates, read_queries, verdict_json, FileCandidates,
};
pub use pool_export::{export_file, ID_FIELD};
pub use report::{run_report, write_report, ReportOptions, ReportOutcome};
pub use rows::{load_rows, LoadedRows, SkippedRow};
pub use templates::{check_strip_share, find_templates, EmbedTexts, DOMINANT_FRACTION};
pub use vectors::{embed_texts, EmbedReport};
