//! `PoolHandle`: a [`Pool`] as Python sees it (the package's `semsift.Pool` wraps it).

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;

use super::errors::to_py;
use super::model::Model;
use super::progress::PyProgress;
use crate::dataset::{TextSource, Texts};
use crate::dedup::row_key;
use crate::pool::{Candidates, Pool, PoolSettings, Source, Verdict};
use crate::progress::Progress;
use crate::store::Dtype;
use crate::Error;

/// A pool, open for reading or writing. Every method releases the GIL while it works.
#[pyclass(name = "PoolHandle", module = "semsift._native", frozen)]
pub struct PoolHandle {
    pool: Mutex<Option<Pool>>,
}

/// One decision: `(accepted, id, nearest_id, nearest_score, nearest_exact,
/// nearest_in_batch, blocked_index, blocked_id, blocked_score, blocked_exact)`, with
/// `-1` / `NaN` / `False` where there is none.
type VerdictTuple = (bool, i64, i64, f32, bool, bool, i64, i64, f32, bool);

fn tuple(v: &Verdict) -> VerdictTuple {
    let (nid, ns, ne, nb) = match v.nearest {
        Some(n) => (n.id as i64, n.score, n.exact, n.source == Source::Batch),
        None => (-1, f32::NAN, false, false),
    };
    let (bi, bid, bs, be) = match v.blocked {
        Some(b) => (b.blocklist as i64, b.id as i64, b.score, b.exact),
        None => (-1, -1, f32::NAN, false),
    };
    (
        v.accepted(),
        v.id.map_or(-1, |i| i as i64),
        nid,
        ns,
        ne,
        nb,
        bi,
        bid,
        bs,
        be,
    )
}

impl PoolHandle {
    fn with<T>(&self, f: impl FnOnce(&mut Pool) -> Result<T, Error>) -> PyResult<T> {
        let mut guard = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(pool) => f(pool).map_err(to_py),
            None => Err(pyo3::exceptions::PyValueError::new_err(
                "the pool is closed",
            )),
        }
    }
}

/// Unit vectors and exact-text keys for `records` (each a list of its column texts).
fn embed(
    model: &Model,
    records: &[Vec<String>],
    columns: usize,
    progress: &dyn Progress,
) -> Result<(Vec<f32>, Vec<u128>), Error> {
    let mut texts = Texts::new(columns);
    let mut keys = Vec::with_capacity(records.len());
    for r in records {
        texts.push(r);
        keys.push(row_key(r));
    }
    let (vectors, _) = crate::pipeline::embed_texts(
        TextSource::Memory(&texts),
        0,
        model.encoder.as_ref(),
        None,
        Dtype::F32,
        Dtype::F32,
        progress,
    )?;
    Ok((vectors.into_owned(model.encoder.dim() * columns), keys))
}

fn check_records(records: &[Vec<String>], columns: usize) -> PyResult<()> {
    match records.iter().position(|r| r.len() != columns) {
        Some(i) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "record {i} has {} column texts; the pool embeds {columns}",
            records[i].len()
        ))),
        None => Ok(()),
    }
}

#[pymethods]
impl PoolHandle {
    /// Creates an empty pool in `path` for `model`'s vectors of `columns`, and opens it
    /// for writing; `exact`: search every row of every segment, however large.
    #[staticmethod]
    #[pyo3(signature = (path, model, columns, threshold, model_path = None, exact = false))]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        model: &Model,
        columns: Vec<String>,
        threshold: f32,
        model_path: Option<PathBuf>,
        exact: bool,
    ) -> PyResult<Self> {
        let settings = PoolSettings {
            model: model.encoder.fingerprint().to_string(),
            model_path,
            dim: model.encoder.dim() * columns.len(),
            columns,
            threshold,
            index_rows: if exact {
                u64::MAX
            } else {
                crate::pool::INDEX_ROWS
            },
        };
        let pool = py
            .detach(|| Pool::create(&path, settings))
            .map_err(|e| to_py(e.into()))?;
        Ok(PoolHandle {
            pool: Mutex::new(Some(pool)),
        })
    }

    /// Opens the pool in `path`: for writing (taking its lock) or for reading.
    #[staticmethod]
    #[pyo3(signature = (path, writer))]
    fn open(py: Python<'_>, path: PathBuf, writer: bool) -> PyResult<Self> {
        let pool = py
            .detach(|| {
                if writer {
                    Pool::open_writer(&path)
                } else {
                    Pool::open(&path)
                }
            })
            .map_err(|e| to_py(e.into()))?;
        Ok(PoolHandle {
            pool: Mutex::new(Some(pool)),
        })
    }

    /// The settings, as a JSON object's text.
    fn settings_json(&self) -> PyResult<String> {
        self.with(|p| Ok(serde_json::to_string(p.settings()).expect("settings serialise")))
    }

    /// `(rows, segments, disk_bytes)`.
    fn stats(&self, py: Python<'_>) -> PyResult<(u64, usize, u64)> {
        py.detach(|| {
            self.with(|p| {
                let s = p.stats()?;
                Ok((s.rows, s.segments, s.disk_bytes))
            })
        })
    }

    /// Rows in the pool.
    fn __len__(&self) -> PyResult<usize> {
        self.with(|p| Ok(p.len() as usize))
    }

    /// Decides `records` (each a list of its column texts; `rows` the JSON object stored
    /// for each) against the pool, the records accepted before each, and the
    /// `blocklists`, and (unless `dry_run`) appends the accepted ones, on disk when this
    /// returns. One tuple per record (see the module's `VerdictTuple`).
    #[pyo3(signature = (model, records, rows, blocklists, dry_run = false, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        py: Python<'_>,
        model: &Model,
        records: Vec<Vec<String>>,
        rows: Vec<String>,
        blocklists: Vec<PyRef<'_, PoolHandle>>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Vec<VerdictTuple>> {
        if blocklists.iter().any(|b| std::ptr::eq(&**b, self)) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "a pool cannot be its own blocklist",
            ));
        }
        let columns = self.with(|p| Ok(p.settings().columns.len()))?;
        check_records(&records, columns)?;
        let progress = PyProgress::new(progress);
        let guards: Vec<_> = blocklists
            .iter()
            .map(|b| b.pool.lock().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let lists: Vec<&Pool> = guards
            .iter()
            .map(|g| {
                g.as_ref().ok_or_else(|| {
                    pyo3::exceptions::PyValueError::new_err("a blocklist pool is closed")
                })
            })
            .collect::<PyResult<_>>()?;
        let result = py.detach(|| {
            let (vectors, keys) = embed(model, &records, columns, &progress)?;
            let mut guard = self.pool.lock().unwrap_or_else(|e| e.into_inner());
            let pool = guard.as_mut().ok_or_else(|| Error::InvalidOption {
                name: "pool",
                reason: "the pool is closed".into(),
            })?;
            if model.encoder.fingerprint() != pool.settings().model {
                return Err(Error::InvalidOption {
                    name: "model",
                    reason: format!(
                        "the pool's vectors come from {:?}, this model is {:?}",
                        pool.settings().model,
                        model.encoder.fingerprint()
                    ),
                });
            }
            let c = Candidates {
                vectors: &vectors,
                keys: &keys,
                rows: &rows,
            };
            let verdicts = if dry_run {
                pool.decide(c, &lists)?
            } else {
                pool.add(c, &lists)?
            };
            Ok(verdicts.iter().map(tuple).collect())
        });
        progress.finish(result)
    }

    /// The `k` nearest pool rows of each record: lists of `(id, score)`.
    #[pyo3(signature = (model, records, k, progress = None))]
    fn query(
        &self,
        py: Python<'_>,
        model: &Model,
        records: Vec<Vec<String>>,
        k: usize,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Vec<Vec<(u64, f32)>>> {
        let columns = self.with(|p| Ok(p.settings().columns.len()))?;
        check_records(&records, columns)?;
        let progress = PyProgress::new(progress);
        let result = py.detach(|| {
            let (vectors, _) = embed(model, &records, columns, &progress)?;
            self.with_inner(|pool| {
                let found = pool.query(&vectors, k)?;
                Ok(found
                    .into_iter()
                    .map(|hits| hits.into_iter().map(|h| (h.id, h.score)).collect())
                    .collect())
            })
        });
        progress.finish(result)
    }

    /// Every row as stored (a JSON object's text), in id order.
    fn rows(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| {
            self.with(|p| {
                let mut out = Vec::with_capacity(p.len() as usize);
                p.for_each_row(|_, row| {
                    out.push(row.to_string());
                    Ok(())
                })?;
                Ok(out)
            })
        })
    }

    /// Writes every row, in id order, to `path` (`.jsonl` or `.parquet`, atomically);
    /// returns the rows written.
    #[pyo3(signature = (path, progress = None))]
    fn export(&self, py: Python<'_>, path: PathBuf, progress: Option<Py<PyAny>>) -> PyResult<u64> {
        let progress = PyProgress::new(progress);
        let result =
            py.detach(|| self.with_inner(|p| crate::pipeline::export_file(p, &path, &progress)));
        progress.finish(result)
    }

    /// Reads every file of the pool and checks every checksum.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.with(|p| Ok(p.verify()?)))
    }

    /// Closes the pool (releasing a writer's lock).
    fn close(&self) {
        let mut guard = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        *guard = None;
    }
}

impl PoolHandle {
    /// [`with`](Self::with) for code already outside the GIL, returning library errors.
    fn with_inner<T>(&self, f: impl FnOnce(&mut Pool) -> Result<T, Error>) -> Result<T, Error> {
        let mut guard = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(pool) => f(pool),
            None => Err(Error::InvalidOption {
                name: "pool",
                reason: "the pool is closed".into(),
            }),
        }
    }
}
