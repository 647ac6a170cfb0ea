//! `DedupResult`: a deduplication's decisions, as arrays, and its summary.

use numpy::PyArray1;
use pyo3::prelude::*;
use serde_json::{json, Value};

use super::rows::RowSet;
use std::sync::Arc;

use crate::dataset::RowNumbers;
use crate::dedup::{
    Decision, DedupSummary, Deduplication, LeastSimilar, ModelInfo, QuotedRows, QuotedTexts,
    RowCounts,
};

/// The decisions of a deduplication: which rows are kept, and for each removed row the
/// row it duplicates (a row of the reference, against one), how similar, and whether
/// it is an exact copy.
#[pyclass(name = "DedupResult", module = "semsift._native", frozen)]
pub struct DedupResult {
    /// The search and its decisions at the threshold searched.
    inner: Arc<Deduplication>,
    /// The decisions at `threshold` (the search's, or a rethreshold's).
    decisions: Vec<Decision>,
    threshold: f32,
    /// The memory limit the search ran under, bytes.
    memory_limit: Option<u64>,
    rows: Py<RowSet>,
    reference: Option<Py<RowSet>>,
}

impl DedupResult {
    pub(super) fn new(
        inner: Deduplication,
        memory_limit: Option<u64>,
        rows: Py<RowSet>,
        reference: Option<Py<RowSet>>,
    ) -> Self {
        DedupResult {
            decisions: inner.decisions.clone(),
            threshold: inner.threshold,
            memory_limit,
            inner: Arc::new(inner),
            rows,
            reference,
        }
    }
}

/// `(kept, removed, duplicate_of, score, exact)` as arrays: the kept rows, the removed
/// rows, and for each removed row its duplicate, score and exactness.
type Arrays<'py> = (
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<bool>>,
);

fn arrays<'py>(py: Python<'py>, decisions: &[Decision]) -> Arrays<'py> {
    let mut kept = Vec::new();
    let (mut removed, mut dup, mut score, mut exact) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, d) in decisions.iter().enumerate() {
        match *d {
            Decision::Keep => kept.push(i as u64),
            Decision::Remove {
                duplicate_of,
                score: s,
                exact: e,
            } => {
                removed.push(i as u64);
                dup.push(duplicate_of);
                score.push(s);
                exact.push(e);
            }
        }
    }
    (
        PyArray1::from_vec(py, kept),
        PyArray1::from_vec(py, removed),
        PyArray1::from_vec(py, dup),
        PyArray1::from_vec(py, score),
        PyArray1::from_vec(py, exact),
    )
}

#[pymethods]
impl DedupResult {
    /// The decisions as arrays `(kept, removed, duplicate_of, score, exact)`.
    fn arrays<'py>(&self, py: Python<'py>) -> Arrays<'py> {
        arrays(py, &self.decisions)
    }

    /// The result at another threshold, from the pairs already found, or `None` when
    /// `threshold` is below the threshold searched (a new search is needed).
    fn rethreshold(&self, py: Python<'_>, threshold: f32) -> Option<DedupResult> {
        let groups = self.rows.borrow(py).groups.clone();
        let inner = &self.inner;
        let decisions = py.detach(|| inner.rethreshold(&groups, threshold))?;
        Some(DedupResult {
            inner: self.inner.clone(),
            decisions,
            threshold,
            memory_limit: self.memory_limit,
            rows: self.rows.clone_ref(py),
            reference: self.reference.as_ref().map(|r| r.clone_ref(py)),
        })
    }

    /// The threshold applied.
    #[getter]
    fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The lowest threshold the search covered.
    #[getter]
    fn floor(&self) -> f32 {
        self.inner.floor
    }

    /// The summary as JSON text: what `semsift dedup` writes to `summary.json`, less the
    /// file fields. `columns` names the columns.
    fn summary_json(&self, py: Python<'_>, columns: Vec<String>) -> String {
        let rows = self.rows.borrow(py);
        let reference = self.reference.as_ref().map(|r| r.borrow(py));
        let d = &self.inner;
        let mut counts = RowCounts::of_decisions(&self.decisions, rows.groups.groups() as u64, 0);
        counts.reference = reference.as_ref().map(|r| r.groups.rows() as u64);
        counts.reference_skipped = reference.as_ref().map(|_| 0);
        let numbers = RowNumbers::default();
        fn quoted<'a>(r: &'a RowSet, numbers: &'a RowNumbers) -> QuotedRows<'a> {
            QuotedRows {
                groups: &r.groups,
                texts: QuotedTexts::InMemory(&r.texts),
                numbers,
            }
        }
        let dups = reference.as_deref().unwrap_or(&rows);
        let least_similar = LeastSimilar::list(
            &self.decisions,
            quoted(&rows, &numbers),
            quoted(dups, &numbers),
            &columns,
        );
        let summary = DedupSummary {
            command: "dedup",
            semsift_version: env!("CARGO_PKG_VERSION"),
            input: None,
            format: None,
            columns,
            chat: None,
            strip_common: None,
            templates: Vec::new(),
            reference_templates: None,
            against: None,
            on_error: "fail".into(),
            rows: counts,
            duplicate_ratio: counts.ratio(counts.removed),
            exact_duplicate_ratio: counts.ratio(counts.exact_removed),
            threshold: self.threshold,
            target_rows: d.target.clone(),
            model: ModelInfo {
                fingerprint: rows.fingerprint.clone(),
                dim: rows.dim,
            },
            index: d.index.clone(),
            devices: std::iter::once(("embed".to_string(), rows.embedded_on.clone().into()))
                .chain(d.devices())
                .collect(),
            embedding: Value::Null,
            timings_s: d.timings.clone(),
            peak_rss_mib: crate::process::peak_rss_mib(),
            memory_limit_mib: self.memory_limit.map(|b| b >> 20),
            least_similar,
            sweep: d.sweep.clone(),
            outputs: json!({}),
        };
        serde_json::to_string(&summary).expect("summaries serialise")
    }
}
