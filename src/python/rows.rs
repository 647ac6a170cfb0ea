//! `RowSet`: rows grouped into exact copies, with one unit vector per unique row.

use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::arrow;
use super::errors;
use super::fields;
use super::model::{parse_device, Model};
use super::progress::PyProgress;
use super::result::DedupResult;
use std::sync::Mutex;

use crate::dataset::template::ColumnTemplates;
use crate::dataset::{Field, FieldColumn, FieldError, RowNumbers};
use crate::dedup::{
    dedup_against, dedup_against_index, dedup_self, row_key, DedupParams, ExactGroups,
};
use crate::embed::normalize_rows;
use crate::filter;
use crate::index::IndexKind;
use crate::index::{self, VectorIndex};
use crate::pipeline::{check_strip_share, embed_texts, find_templates, write_report, Texts};
use crate::progress::Progress;
use crate::report::{self, Clusters, ReportParams, ReportSet};
use crate::store::{Dtype, Vectors};

/// Rows (one list of texts per column) grouped into exact copies, and, once embedded,
/// one unit vector per unique row (a copy of the first row of each group).
#[pyclass(name = "RowSet", module = "semsift._native")]
pub struct RowSet {
    pub(super) groups: Arc<ExactGroups>,
    keys: Vec<u128>,
    /// Texts of the unique rows.
    pub(super) texts: Arc<Texts>,
    /// The texts to embed instead, with common text stripped (see `find_templates`).
    stripped: Option<Texts>,
    pub(super) vectors: Option<Arc<[f32]>>,
    pub(super) dim: usize,
    pub(super) fingerprint: String,
    /// Where the vectors were made: the encoder's device, or `python` (a Python encoder).
    pub(super) embedded_on: String,
    /// The index over these rows' vectors when they are the reference of a search (kept:
    /// a generation loop checks batch after batch against the same set).
    index: Mutex<Option<(IndexKind, Arc<dyn VectorIndex>)>>,
}

impl RowSet {
    /// The index of kind `kind` over the vectors, built on first use and kept.
    fn shared_index(
        &self,
        kind: IndexKind,
        progress: &dyn Progress,
    ) -> Result<Arc<dyn VectorIndex>, crate::Error> {
        let mut slot = self.index.lock().expect("not poisoned");
        if let Some((k, index)) = &*slot {
            if *k == kind {
                return Ok(index.clone());
            }
        }
        let vectors = self.vectors.clone().ok_or(crate::Error::InvalidOption {
            name: "reference",
            reason: "it has no vectors yet".into(),
        })?;
        let index: Arc<dyn VectorIndex> = Arc::from(index::build_shared(
            kind,
            Default::default(),
            Default::default(),
            vectors,
            self.dim,
            progress,
        )?);
        *slot = Some((kind, index.clone()));
        Ok(index)
    }

    fn vectors(&self) -> PyResult<Arc<[f32]>> {
        self.vectors.clone().ok_or_else(|| {
            PyValueError::new_err(
                "the rows have no vectors yet: call embed() or set_vectors() first",
            )
        })
    }
}

#[pymethods]
impl RowSet {
    /// Groups rows given as one list of texts per column (all the same length): rows
    /// whose texts are equal in every column are exact copies of the first of them.
    #[staticmethod]
    fn group(py: Python<'_>, columns: Vec<Vec<String>>) -> PyResult<Self> {
        let Some(first) = columns.first() else {
            return Err(PyValueError::new_err("at least one column is needed"));
        };
        let n = first.len();
        if let Some((c, col)) = columns.iter().enumerate().find(|(_, c)| c.len() != n) {
            return Err(PyValueError::new_err(format!(
                "column {c} has {} rows, column 0 has {n}",
                col.len()
            )));
        }
        Ok(py.detach(|| {
            let mut grouper = Grouper::new(columns.len());
            let mut row: Vec<&str> = Vec::with_capacity(columns.len());
            for r in 0..n {
                row.clear();
                row.extend(columns.iter().map(|c| c[r].as_str()));
                grouper.push(&row);
            }
            grouper.finish()
        }))
    }

    /// Groups the rows of a table that exports an Arrow stream (`__arrow_c_stream__`:
    /// pyarrow, pandas through pyarrow, Polars, ...) by `columns` (names or field paths,
    /// with the chat preset `chat`), read in Rust batch by batch. A null is a
    /// `MissingColumnError` naming the row and the column; a path that fails in a row, a
    /// `FieldPathError`.
    #[staticmethod]
    #[pyo3(signature = (data, columns, chat=None))]
    fn group_arrow(
        py: Python<'_>,
        data: Bound<'_, PyAny>,
        columns: Vec<String>,
        chat: Option<&str>,
    ) -> PyResult<Self> {
        if columns.is_empty() {
            return Err(PyValueError::new_err("at least one column is needed"));
        }
        let chat = fields::chat(chat)?;
        let fields: Vec<Field> = columns.iter().map(|c| Field::new(c, chat)).collect();
        let (reader, indices) = arrow::stream(&data, &fields)?;
        let schema = arrow_array::RecordBatchReader::schema(&reader);
        let roots: Vec<String> = indices
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect();
        let mut failed: Option<(u64, usize, FieldError)> = None;
        let grouped = py.detach(|| {
            let mut grouper = Grouper::new(columns.len());
            let mut spans: Vec<Vec<(usize, usize)>> = vec![Vec::new(); columns.len()];
            let mut buf = String::new();
            let mut base = 0u64;
            arrow::for_each_batch(reader, |batch| {
                // Each column's texts of this batch, as spans of one buffer.
                buf.clear();
                for (c, &i) in indices.iter().enumerate() {
                    let spans = &mut spans[c];
                    spans.clear();
                    let mut fail = |row: usize, e: FieldError| {
                        failed = Some((base + row as u64, c, e));
                        PyValueError::new_err("failed")
                    };
                    if fields[c].is_nested() {
                        let column = FieldColumn::new(&fields[c], &roots[c], batch.column(i))
                            .map_err(PyValueError::new_err)?;
                        for r in 0..batch.num_rows() {
                            let text = column.text(r).map_err(|e| fail(r, e))?;
                            let start = buf.len();
                            buf.push_str(&text);
                            spans.push((start, buf.len()));
                        }
                    } else {
                        arrow::for_each_text(batch, i, |_, s| {
                            let start = buf.len();
                            buf.push_str(s);
                            spans.push((start, buf.len()));
                        })
                        .map_err(|row| {
                            let column = roots[c].clone();
                            fail(row, FieldError::Null { column })
                        })?;
                    }
                }
                let mut row: Vec<&str> = Vec::with_capacity(indices.len());
                for r in 0..batch.num_rows() {
                    row.clear();
                    row.extend(spans.iter().map(|s| &buf[s[r].0..s[r].1]));
                    grouper.push(&row);
                }
                base += batch.num_rows() as u64;
                Ok(())
            })
            .map(|()| grouper.finish())
        });
        match (grouped, failed) {
            (_, Some((row, c, e))) => Err(fields::field_error(py, "row", row, &columns[c], &e)),
            (result, None) => result,
        }
    }

    /// Frees the unique rows' texts once they are embedded and no summary will quote
    /// them (the SemHash-compatible API: its results hold the caller's own records).
    fn drop_texts(&mut self) {
        self.texts = Arc::new(Texts::new(self.texts.columns()));
        self.stripped = None;
    }

    /// The texts of column `column` of the unique rows, in order; with `embedded`, as
    /// they are embedded (common text stripped, after `find_templates` with a share).
    #[pyo3(signature = (column, embedded = false))]
    fn unique_texts(&self, column: usize, embedded: bool) -> PyResult<Vec<String>> {
        let texts = match (&self.stripped, embedded) {
            (Some(stripped), true) => stripped,
            _ => &*self.texts,
        };
        if texts.len() != self.groups.groups() {
            return Err(PyValueError::new_err("the texts were dropped"));
        }
        if column >= texts.columns() {
            return Err(PyValueError::new_err(format!(
                "column {column} of {}",
                texts.columns()
            )));
        }
        Ok((0..texts.len())
            .map(|u| texts.get(u, column).to_string())
            .collect())
    }

    /// Finds the text many rows of each column share (as `semsift dedup` does) and
    /// returns it as JSON (a list, one entry per column named by `columns`). With
    /// `strip` (a share in (0, 1]), the spans at least that share of rows have are left
    /// out of the text `embed` embeds from now on.
    #[pyo3(signature = (columns, strip = None))]
    fn find_templates(
        &mut self,
        py: Python<'_>,
        columns: Vec<String>,
        strip: Option<f64>,
    ) -> PyResult<String> {
        check_strip_share(strip).map_err(errors::to_py)?;
        let texts = &self.texts;
        let key = self.groups.content_key();
        let found = py.detach(|| find_templates("data", &columns, texts, key, strip));
        let json = serde_json::to_string(&found.templates).expect("templates serialise");
        self.stripped = found.into_stripped();
        Ok(json)
    }

    /// Rows.
    #[getter]
    fn rows(&self) -> usize {
        self.groups.rows()
    }

    /// Unique rows (exact-copy groups).
    #[getter]
    fn unique(&self) -> usize {
        self.groups.groups()
    }

    /// Width of a vector (0 before embedding).
    #[getter]
    fn dim(&self) -> usize {
        self.dim
    }

    /// The first row of each group (the unique rows), increasing.
    #[getter]
    fn first_rows<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_slice(py, self.groups.first_row())
    }

    /// The group (unique row) of each row.
    #[getter]
    fn group_of_row<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        PyArray1::from_slice(py, self.groups.group_of_row())
    }

    /// Embeds the unique rows with `model` (columns embedded separately, concatenated,
    /// normalised), with the GIL released.
    #[pyo3(signature = (model, progress = None))]
    fn embed(
        &mut self,
        py: Python<'_>,
        model: &Model,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let progress = PyProgress::new(progress);
        let encoder = &*model.encoder;
        let texts = self.stripped.as_ref().unwrap_or(&self.texts);
        let key = self.groups.content_key();
        let result = py.detach(|| {
            embed_texts(
                texts.into(),
                key,
                encoder,
                None,
                Dtype::F32,
                Dtype::F32,
                &progress,
            )
        });
        let (vectors, _) = progress.finish(result)?;
        self.dim = encoder.dim() * texts.columns();
        self.vectors = Some(Arc::from(vectors.as_slice()));
        *self.index.get_mut().expect("not poisoned") = None;
        self.fingerprint = encoder.fingerprint().to_string();
        self.embedded_on = encoder.device().to_string();
        Ok(())
    }

    /// Sets the vectors of the unique rows from a `(unique, dim)` float32 array (an
    /// outside encoder's output; copied and normalised to unit length).
    #[pyo3(signature = (vectors, fingerprint = String::from("python encoder")))]
    fn set_vectors(
        &mut self,
        py: Python<'_>,
        vectors: PyReadonlyArray2<'_, f32>,
        fingerprint: String,
    ) -> PyResult<()> {
        let shape = vectors.shape();
        if shape[0] != self.groups.groups() || shape[1] == 0 {
            return Err(PyValueError::new_err(format!(
                "expected vectors of shape ({}, dim > 0), one per unique row, got ({}, {})",
                self.groups.groups(),
                shape[0],
                shape[1]
            )));
        }
        let dim = shape[1];
        let mut v: Vec<f32> = match vectors.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => vectors.as_array().iter().copied().collect(),
        };
        if let Some(bad) = v.iter().position(|x| !x.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "vector of unique row {} has a value that is not finite ({})",
                bad / dim,
                v[bad]
            )));
        }
        py.detach(|| normalize_rows(&mut v, dim));
        self.dim = dim;
        self.vectors = Some(Arc::from(v));
        *self.index.get_mut().expect("not poisoned") = None;
        self.fingerprint = fingerprint;
        self.embedded_on = "python".into();
        Ok(())
    }

    /// The unit vectors of the unique rows, `(unique, dim)` float32 (a copy).
    #[getter]
    fn vectors_array<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let v = self.vectors()?;
        PyArray1::from_slice(py, &v).reshape([self.groups.groups(), self.dim])
    }

    /// Deduplicates the rows against each other, or against `against`'s rows.
    /// `memory_limit`: bytes the search's buffers stay within (spilling to temporary files
    /// past it), as `semsift dedup --memory-limit`; `None`: the memory available now.
    #[pyo3(signature = (threshold = 0.9, against = None, sweep = vec![], target_rows = None, index = "ivf", memory_limit = None, progress = None, device = "cpu"))]
    #[allow(clippy::too_many_arguments)]
    fn dedup(
        slf: Bound<'_, Self>,
        py: Python<'_>,
        threshold: f32,
        against: Option<Bound<'_, RowSet>>,
        sweep: Vec<f32>,
        target_rows: Option<u64>,
        index: &str,
        memory_limit: Option<u64>,
        progress: Option<Py<PyAny>>,
        device: &str,
    ) -> PyResult<DedupResult> {
        let params = DedupParams {
            device: parse_device(device)?,
            threshold,
            sweep,
            target_rows,
            index: parse_index(index)?,
            memory_limit: memory_limit.or_else(crate::process::available_memory),
            // `rethreshold` decides again from the pairs, without a new search.
            keep_pairs: true,
            ..Default::default()
        };
        let this = slf.borrow();
        let vectors = this.vectors()?;
        let (dim, groups) = (this.dim, this.groups.clone());
        let progress = PyProgress::new(progress);
        let result = match &against {
            None => {
                py.detach(|| dedup_self(&groups, Vectors::Shared(vectors), dim, &params, &progress))
            }
            Some(reference) => {
                let reference = reference.borrow();
                let ref_vectors = reference.vectors()?;
                if reference.dim != dim {
                    return Err(PyValueError::new_err(format!(
                        "the reference's vectors are {} wide, these rows' {dim}: embed both with the same model",
                        reference.dim
                    )));
                }
                let ref_groups = reference.groups.clone();
                let keys = &this.keys;
                let reference = &*reference;
                py.detach(|| {
                    if params.device.is_device_path() {
                        // The index lives on the device for this call only.
                        return dedup_against(
                            &groups,
                            keys,
                            &vectors,
                            &ref_groups,
                            &ref_vectors,
                            dim,
                            &params,
                            &progress,
                        );
                    }
                    let index = reference.shared_index(params.index, &progress)?;
                    dedup_against_index(
                        &groups,
                        keys,
                        &vectors,
                        &ref_groups,
                        &ref_vectors,
                        &*index,
                        &params,
                        &progress,
                    )
                })
            }
        };
        let result = progress.finish(result)?;
        drop(this);
        Ok(DedupResult::new(
            result,
            params.memory_limit,
            slf.unbind(),
            against.map(Bound::unbind),
        ))
    }

    /// Each unique row's mean similarity to its `k` nearest other rows (or, with
    /// `against`, to its `k` nearest rows of `against`): SemHash's density score.
    #[pyo3(signature = (k = 100, against = None, index = "ivf", progress = None, device = "cpu"))]
    fn density<'py>(
        &self,
        py: Python<'py>,
        k: usize,
        against: Option<PyRef<'_, RowSet>>,
        index: &str,
        progress: Option<Py<PyAny>>,
        device: &str,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let kind = parse_index(index)?;
        let device = parse_device(device)?;
        let vectors = self.vectors()?;
        if let Some(r) = &against {
            if r.dim != self.dim {
                return Err(PyValueError::new_err(format!(
                    "the reference's vectors are {} wide, these rows' {}: embed both with the same model",
                    r.dim, self.dim
                )));
            }
        }
        let dim = self.dim;
        let progress = PyProgress::new(progress);
        let against = against.as_deref();
        let base = match against {
            Some(r) => r.vectors()?,
            None => vectors.clone(),
        };
        let result = py.detach(|| match against {
            _ if device.is_device_path() => {
                let candle = device.to_candle()?;
                let index = index::DeviceIndex::new(
                    &base,
                    dim,
                    &candle,
                    device.to_string(),
                    Default::default(),
                )?;
                filter::density_in(&index, &vectors, k, against.is_none(), &progress)
                    .map_err(Into::into)
            }
            Some(r) => {
                let index = r.shared_index(kind, &progress)?;
                filter::density_in(&*index, &vectors, k, false, &progress).map_err(Into::into)
            }
            None => filter::density(&vectors, &vectors, dim, k, true, kind, &progress)
                .map_err(Into::into),
        });
        let scores = progress.finish(result)?;
        Ok(PyArray1::from_vec(py, scores))
    }

    /// A topic and coverage report on these rows (and `reference`'s): writes
    /// `clusters.jsonl`, `report.html` and `report.json` to `out_dir` when given, and
    /// returns the report as JSON text. `clusters`: a number or `"auto"`. `chat`,
    /// `strip_common` and the sets' `templates` (JSON from `find_templates`) are recorded
    /// in the report as `semsift report` records them.
    #[pyo3(signature = (columns, out_dir = None, reference = None, clusters = "auto", seed = 0, max_iter = 50, near_duplicate_threshold = 0.9, progress = None, chat = None, strip_common = None, templates = None, reference_templates = None, device = "cpu", map_points = crate::report::job::MAP_POINTS))]
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        py: Python<'_>,
        columns: Vec<String>,
        out_dir: Option<std::path::PathBuf>,
        reference: Option<PyRef<'_, RowSet>>,
        clusters: &str,
        seed: u64,
        max_iter: usize,
        near_duplicate_threshold: f32,
        progress: Option<Py<PyAny>>,
        chat: Option<String>,
        strip_common: Option<f64>,
        templates: Option<&str>,
        reference_templates: Option<&str>,
        device: &str,
        map_points: usize,
    ) -> PyResult<String> {
        let device = parse_device(device)?;
        let parse = |json: Option<&str>| -> PyResult<Option<Vec<ColumnTemplates>>> {
            json.map(|j| {
                serde_json::from_str(j)
                    .map_err(|e| PyValueError::new_err(format!("templates: {e}")))
            })
            .transpose()
        };
        let templates = parse(templates)?.unwrap_or_default();
        let reference_templates = parse(reference_templates)?;
        let clusters: Clusters = clusters
            .parse()
            .map_err(|e: String| PyValueError::new_err(format!("clusters: {e}")))?;
        let vectors = self.vectors()?;
        let ref_vectors = reference.as_ref().map(|r| r.vectors()).transpose()?;
        if let Some(r) = &reference {
            if r.dim != self.dim {
                return Err(PyValueError::new_err(format!(
                    "the reference's vectors are {} wide, these rows' {}: embed both with the same model",
                    r.dim, self.dim
                )));
            }
        }
        if self.texts.len() != self.groups.groups() {
            return Err(PyValueError::new_err(
                "the texts were dropped: a report quotes them",
            ));
        }
        let params = ReportParams {
            clusters,
            seed,
            max_iter,
            near_duplicate_threshold,
            columns,
            model: self.fingerprint.clone(),
            device,
            device_params: Default::default(),
            map_points,
        };
        let numbers = RowNumbers::default();
        let input = ReportSet {
            name: "input",
            groups: &self.groups,
            texts: &self.texts,
            vectors: &vectors,
            numbers: &numbers,
            skipped_rows: 0,
        };
        let reference = reference
            .as_deref()
            .zip(ref_vectors.as_deref())
            .map(|(r, v)| ReportSet {
                name: "reference",
                groups: &r.groups,
                texts: &r.texts,
                vectors: v,
                numbers: &numbers,
                skipped_rows: 0,
            });
        let dim = self.dim;
        let progress = PyProgress::new(progress);
        let result = py.detach(|| {
            let mut built = report::build(input, reference, dim, &params, &progress)?;
            built.report.chat = chat;
            built.report.strip_common = strip_common;
            built.report.templates = templates;
            built.report.reference_templates = reference_templates;
            let stages = std::mem::take(&mut built.report.devices);
            built.report.devices =
                std::iter::once(("embed".to_string(), self.embedded_on.clone().into()))
                    .chain(stages)
                    .collect();
            if let Some(dir) = &out_dir {
                let sets: Vec<ReportSet> = std::iter::once(input).chain(reference).collect();
                write_report(dir, &built, &sets, &progress)?;
            }
            Ok(serde_json::to_string(&built.report).expect("the report serialises"))
        });
        progress.finish(result)
    }

    /// Maximal-marginal-relevance picks among the unique rows `candidates` (best
    /// first) with relevance `scores`: the picked positions in `candidates` and their gains.
    #[pyo3(signature = (candidates, scores, count, diversity))]
    fn mmr<'py>(
        &self,
        py: Python<'py>,
        candidates: Vec<u32>,
        scores: Vec<f32>,
        count: usize,
        diversity: f32,
    ) -> PyResult<Picks<'py>> {
        let vectors = self.vectors()?;
        if candidates.len() != scores.len() {
            return Err(PyValueError::new_err("one score per candidate"));
        }
        let dim = self.dim;
        let unique = self.groups.groups();
        if let Some(&c) = candidates.iter().find(|&&c| c as usize >= unique) {
            return Err(PyValueError::new_err(format!(
                "candidate {c} is not a unique row (there are {unique})"
            )));
        }
        let picks =
            py.detach(|| filter::mmr_among(&vectors, dim, &candidates, &scores, count, diversity));
        let (idx, gains): (Vec<u32>, Vec<f32>) = picks.into_iter().unzip();
        Ok((PyArray1::from_vec(py, idx), PyArray1::from_vec(py, gains)))
    }
}

/// Picked positions and their gains.
type Picks<'py> = (Bound<'py, PyArray1<u32>>, Bound<'py, PyArray1<f32>>);

fn parse_index(name: &str) -> PyResult<IndexKind> {
    name.parse::<IndexKind>().map_err(PyValueError::new_err)
}

/// Builds a [`RowSet`] row by row.
struct Grouper {
    groups: ExactGroups,
    keys: Vec<u128>,
    texts: Texts,
}

impl Grouper {
    fn new(columns: usize) -> Self {
        Grouper {
            groups: ExactGroups::new(),
            keys: Vec::new(),
            texts: Texts::new(columns),
        }
    }

    fn push(&mut self, row: &[&str]) {
        let key = row_key(row);
        if self.groups.push(key).1 {
            self.keys.push(key);
            self.texts.push(row);
        }
    }

    fn finish(self) -> RowSet {
        RowSet {
            groups: Arc::new(self.groups),
            keys: self.keys,
            texts: Arc::new(self.texts),
            stripped: None,
            vectors: None,
            dim: 0,
            fingerprint: String::new(),
            embedded_on: "cpu".into(),
            index: Mutex::new(None),
        }
    }
}
