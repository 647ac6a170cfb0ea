//! Topic and coverage reports: what a dataset is about, and how its topic mix compares
//! with a reference.
//!
//! - [`keywords`]: a topic's keywords by class-based TF-IDF.
//! - [`coverage`]: divergences, coverage and gap lists between two topic distributions.
//! - [`topics`]: per-topic members, examples and near duplicates.
//! - [`projection`]: the 2-D map of the rows.
//! - [`model`]: the report's data model (the schema of `report.json`).
//! - [`render_html`]: the self-contained `report.html`.
//! - [`job`]: the report as one in-memory call ([`build`]) over sets of rows and vectors.

pub mod coverage;
mod html;
pub mod job;
pub mod keywords;
pub mod model;
pub mod projection;
mod stopwords;
mod svg;
pub mod topics;

pub use html::render_html;
pub use job::{build, round6, BuiltReport, Clusters, ReportParams, ReportSet};
pub use model::Report;
