//! The pieces `semsift.ray` runs on a cluster's workers: k-means cells, one cell's pairs
//! or reference matches, the selection over every pair, and writing the outputs.

use std::path::{Path, PathBuf};

use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::errors::to_py;
use crate::cluster::{Init, KMeans, KMeansParams};
use crate::dedup::{cell_matches, cell_pairs, select_pairs, RowMatch, RowPairs};
use crate::pipeline::{write_decided, RemovedLine};
use crate::progress::Silent;
use crate::Error;

type Columns<'py> = (
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<f32>>,
);

/// A `(rows, dim)` float32 array as a contiguous slice (copied only if it is not one).
fn rows_of(a: &PyReadonlyArray2<'_, f32>) -> (Vec<f32>, usize) {
    let dim = a.shape()[1];
    let v = match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    };
    (v, dim)
}

fn ids_of(a: &PyReadonlyArray1<'_, u64>) -> Vec<u64> {
    a.as_array().iter().copied().collect()
}

fn matches_out(py: Python<'_>, m: Vec<RowMatch>) -> Columns<'_> {
    let rows: Vec<u64> = m.iter().map(|m| m.row).collect();
    let of: Vec<u64> = m.iter().map(|m| m.of).collect();
    let score: Vec<f32> = m.iter().map(|m| m.score).collect();
    (
        PyArray1::from_vec(py, rows),
        PyArray1::from_vec(py, of),
        PyArray1::from_vec(py, score),
    )
}

/// Two sets of numbered rows, copied out of NumPy: `((a, a_rows), (b, b_rows), dim)`.
type TwoSets = ((Vec<f32>, Vec<u64>), (Vec<f32>, Vec<u64>), usize);

fn two_sets(
    a: &PyReadonlyArray2<'_, f32>,
    a_rows: &PyReadonlyArray1<'_, u64>,
    b: &PyReadonlyArray2<'_, f32>,
    b_rows: &PyReadonlyArray1<'_, u64>,
) -> PyResult<TwoSets> {
    let ((av, dim), (bv, bdim)) = (rows_of(a), rows_of(b));
    if dim != bdim {
        return Err(PyValueError::new_err(format!(
            "the vectors are {dim} and {bdim} wide: embed both with the same model"
        )));
    }
    Ok(((av, ids_of(a_rows)), (bv, ids_of(b_rows)), dim))
}

/// k-means centroids `(k, dim)` of `sample` (unit vectors), seeded: the cells of a
/// distributed run. Seeded by `k` random rows, as the IVF index seeds its cells: they
/// only split the work, so k-means++ would cost more than it gives.
#[pyfunction]
#[pyo3(signature = (sample, k, seed = 0, max_iter = 10))]
pub fn fit_centroids<'py>(
    py: Python<'py>,
    sample: PyReadonlyArray2<'py, f32>,
    k: usize,
    seed: u64,
    max_iter: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let (v, dim) = rows_of(&sample);
    let params = KMeansParams {
        k,
        seed,
        max_iter,
        init: Init::Random,
        ..Default::default()
    };
    let fit = py
        .detach(|| KMeans::fit(&v, dim, None, &params, &Silent))
        .map_err(|e| to_py(Error::from(e)))?;
    PyArray1::from_vec(py, fit.centroids).reshape([k, dim])
}

/// The pairs of one cell: `(later, earlier, score)` for each query row and each home row
/// numbered after it (with `both_ends`, before it too) at least `threshold` similar
/// (`dedup::cell_pairs`).
#[pyfunction]
#[pyo3(signature = (home, home_rows, queries, query_rows, threshold, both_ends = false))]
pub fn cell_pairs_of<'py>(
    py: Python<'py>,
    home: PyReadonlyArray2<'py, f32>,
    home_rows: PyReadonlyArray1<'py, u64>,
    queries: PyReadonlyArray2<'py, f32>,
    query_rows: PyReadonlyArray1<'py, u64>,
    threshold: f32,
    both_ends: bool,
) -> PyResult<Columns<'py>> {
    let ((h, hr), (q, qr), dim) = two_sets(&home, &home_rows, &queries, &query_rows)?;
    let pairs = py
        .detach(|| cell_pairs(&h, &hr, &q, &qr, dim, threshold, both_ends))
        .map_err(|e| to_py(e.into()))?;
    Ok((
        PyArray1::from_vec(py, pairs.later),
        PyArray1::from_vec(py, pairs.earlier),
        PyArray1::from_vec(py, pairs.score),
    ))
}

/// Each query's best reference row of one cell at least `threshold` similar:
/// `(query row, reference row, score)` (`dedup::cell_matches`).
#[pyfunction]
pub fn cell_matches_of<'py>(
    py: Python<'py>,
    queries: PyReadonlyArray2<'py, f32>,
    query_rows: PyReadonlyArray1<'py, u64>,
    refs: PyReadonlyArray2<'py, f32>,
    ref_rows: PyReadonlyArray1<'py, u64>,
    threshold: f32,
) -> PyResult<Columns<'py>> {
    let ((q, qr), (r, rr), dim) = two_sets(&queries, &query_rows, &refs, &ref_rows)?;
    let m = py
        .detach(|| cell_matches(&q, &qr, &r, &rr, dim, threshold))
        .map_err(|e| to_py(e.into()))?;
    Ok(matches_out(py, m))
}

/// Greedy keep-first selection over every pair of a set (`dedup::select_pairs`): the
/// removed rows, increasing, with the kept row each duplicates and the score.
#[pyfunction]
pub fn select_from_pairs<'py>(
    py: Python<'py>,
    later: PyReadonlyArray1<'py, u64>,
    earlier: PyReadonlyArray1<'py, u64>,
    score: PyReadonlyArray1<'py, f32>,
    threshold: f32,
) -> PyResult<Columns<'py>> {
    let pairs = RowPairs {
        later: ids_of(&later),
        earlier: ids_of(&earlier),
        score: score.as_array().iter().copied().collect(),
    };
    if pairs.earlier.len() != pairs.len() || pairs.score.len() != pairs.len() {
        return Err(PyValueError::new_err(
            "later, earlier and score must be equally long",
        ));
    }
    let removed = py.detach(|| select_pairs(&pairs, threshold));
    Ok(matches_out(py, removed))
}

/// Splits `input` (`rows` rows) into `out_dir/kept.<ext>` and `out_dir/removed.jsonl` as
/// `semsift dedup` writes them, from the removed rows (increasing) with what each
/// duplicates; `inputs`: every file the run read (never written over). Returns each
/// file's `{"file", "rows", "bytes", "sha256"}` as JSON.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn write_dedup_outputs(
    py: Python<'_>,
    input: PathBuf,
    inputs: Vec<PathBuf>,
    out_dir: PathBuf,
    rows: u64,
    removed: PyReadonlyArray1<'_, u64>,
    duplicate_of: PyReadonlyArray1<'_, u64>,
    score: PyReadonlyArray1<'_, f32>,
    exact: PyReadonlyArray1<'_, bool>,
) -> PyResult<String> {
    let (r, d) = (removed.as_array(), duplicate_of.as_array());
    let (s, e) = (score.as_array(), exact.as_array());
    if [d.len(), s.len(), e.len()].iter().any(|&l| l != r.len()) {
        return Err(PyValueError::new_err(
            "removed, duplicate_of, score and exact must be equally long",
        ));
    }
    let lines: Vec<RemovedLine> = (0..r.len())
        .map(|i| RemovedLine {
            row: r[i],
            duplicate_of: d[i],
            score: s[i],
            exact: e[i],
        })
        .collect();
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let files = py
        .detach(|| {
            let files = write_decided(&input, &inputs, &out_dir, rows, &lines, &Silent)?;
            files
                .iter()
                .map(|f| f.describe())
                .collect::<Result<Vec<_>, Error>>()
        })
        .map_err(to_py)?;
    Ok(serde_json::Value::Array(files).to_string())
}
