//! The Python extension module `semsift._native` (feature `python`, built by maturin).
//!
//! A thin layer: every class here holds library types and forwards to the library's
//! in-memory jobs ([`crate::dedup::dedup_self`], [`crate::dedup::dedup_against`],
//! [`crate::filter`]), with the GIL released while they compute. The Python package in
//! `src/semsift/` builds the public API (the SemHash-compatible one and the native one)
//! on these classes:
//!
//! - [`model::Model`]: an encoder (the bundled model, or a model folder);
//! - [`rows::RowSet`]: rows grouped into exact copies, with one vector per unique row;
//! - [`result::DedupResult`]: a deduplication's decisions, summary and rethreshold;
//! - [`pool::PoolHandle`]: a [`crate::pool::Pool`], open for reading or writing;
//! - [`progress::PyProgress`]: progress callbacks into Python, and Ctrl-C as cancellation.

use pyo3::prelude::*;

mod arrow;
mod cells;
mod errors;
mod fields;
mod model;
mod pool;
mod progress;
mod result;
mod rows;

/// SemHash's automatic number of candidates for representatives
/// ([`crate::filter::candidate_limit`]).
#[pyfunction]
fn candidate_limit(total: usize, selection: usize) -> usize {
    crate::filter::candidate_limit(total, selection)
}

/// The module `semsift._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::Model>()?;
    m.add_class::<rows::RowSet>()?;
    m.add_class::<result::DedupResult>()?;
    m.add_class::<pool::PoolHandle>()?;
    m.add_function(wrap_pyfunction!(candidate_limit, m)?)?;
    m.add_function(wrap_pyfunction!(cells::fit_centroids, m)?)?;
    m.add_function(wrap_pyfunction!(cells::cell_pairs_of, m)?)?;
    m.add_function(wrap_pyfunction!(cells::cell_matches_of, m)?)?;
    m.add_function(wrap_pyfunction!(cells::select_from_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(cells::write_dedup_outputs, m)?)?;
    m.add_function(wrap_pyfunction!(fields::select_texts, m)?)?;
    m.add_function(wrap_pyfunction!(fields::field_root, m)?)?;
    m.add("SemsiftError", m.py().get_type::<errors::SemsiftError>())?;
    m.add(
        "PoolLockedError",
        m.py().get_type::<errors::PoolLockedError>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // When the CLI warns that common text dominates, and the share it suggests stripping.
    m.add(
        "TEMPLATE_DOMINANT_FRACTION",
        crate::pipeline::DOMINANT_FRACTION,
    )?;
    m.add(
        "TEMPLATE_MIN_SHARE",
        crate::dataset::template::TemplateParams::default().min_share,
    )?;
    Ok(())
}
