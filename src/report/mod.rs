//! Topic and coverage reports: what a dataset is about, and how its topic mix compares
//! with a reference.
//!
//! - [`keywords`]: a topic's keywords by class-based TF-IDF.
//! - [`coverage`]: divergences, coverage and gap lists between two topic distributions.
//! - [`topics`]: per-topic members, examples and near duplicates.
//! - [`projection`]: the 2-D map of the rows.
//! - [`layout`]: a neighbour-preserving (UMAP-style) 2-D map of the rows, deterministic
//!   for a seed.
//! - [`preservation`]: how well a 2-D map keeps the rows' neighbourhoods (neighbourhood
//!   preservation and trustworthiness).
//! - [`model`]: the report's data model (the schema of `report.json`).
//! - [`render_html`]: the self-contained `report.html`.
//! - [`review`]: the duplicate review of a deduplication (`semsift dedup --review`):
//!   what each threshold would remove; [`render_review`] renders it as `review.html`.
//! - [`job`]: the report as one in-memory call ([`build`]) over sets of rows and vectors.

pub mod coverage;
pub mod fine;
mod html;
mod html_map;
pub mod job;
pub mod keywords;
pub mod layout;
mod map;
pub mod model;
mod points;
pub mod preservation;
pub mod projection;
pub mod review;
mod review_html;
mod stopwords;
mod svg;
pub mod topics;

pub use html::render_html;
pub use job::{build, round6, BuiltReport, Clusters, ReportParams, ReportSet};
pub use model::Report;
pub use review::{build_review, Review, ReviewParams};
pub use review_html::render_review;
