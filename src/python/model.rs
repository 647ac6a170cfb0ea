//! `Model`: an encoder, as Python sees it.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;

use super::errors::to_py;
use super::progress::PyProgress;
use crate::embed::{self, Device, EmbedError, Encoder, LoadOptions};
use crate::progress::Progress;
use crate::Error;

/// A text encoder: the bundled static model, a model2vec folder, or a
/// sentence-transformers BERT folder.
#[pyclass(name = "Model", module = "semsift._native", frozen)]
pub struct Model {
    pub(super) encoder: Arc<dyn Encoder>,
}

#[pymethods]
impl Model {
    /// The model bundled in semsift (a 256-dimension static distillation of
    /// all-MiniLM-L6-v2).
    #[staticmethod]
    #[pyo3(signature = (device = "cpu"))]
    fn bundled(device: &str) -> PyResult<Self> {
        let options = LoadOptions {
            device: parse_device(device)?,
            ..LoadOptions::default()
        };
        let encoder = embed::load(None, &options).map_err(|e| to_py(e.into()))?;
        Ok(Model {
            encoder: Arc::from(encoder),
        })
    }

    /// Loads the model in folder `path` (model2vec or sentence-transformers layout) to
    /// run on `device`: `"cpu"`, `"cuda[:N]"` or `"candle-cpu"` (the device code on the
    /// CPU). On a device, a transformer runs in `f16` unless `precision` is `"f32"`.
    #[staticmethod]
    #[pyo3(signature = (path, device = "cpu", batch_size = 64, precision = "f16"))]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        device: &str,
        batch_size: usize,
        precision: &str,
    ) -> PyResult<Self> {
        let half = match precision {
            "f16" => true,
            "f32" => false,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "precision {other:?}: expected \"f16\" or \"f32\""
                )))
            }
        };
        let options = LoadOptions {
            device: parse_device(device)?,
            batch_size,
            half,
        };
        let encoder = py
            .detach(|| embed::load(Some(&path), &options))
            .map_err(|e| to_py(e.into()))?;
        Ok(Model {
            encoder: Arc::from(encoder),
        })
    }

    /// Width of a vector.
    #[getter]
    fn dim(&self) -> usize {
        self.encoder.dim()
    }

    /// A short, stable description of the model and its weights.
    #[getter]
    fn fingerprint(&self) -> String {
        self.encoder.fingerprint().to_string()
    }

    /// Encodes `texts` into a `(len(texts), dim)` float32 array (the model's own
    /// output, as model2vec's `encode`), with the GIL released.
    #[pyo3(signature = (texts, progress = None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let dim = self.encoder.dim();
        let n = texts.len();
        let progress = PyProgress::new(progress);
        let encoder = &*self.encoder;
        let result = py.detach(|| encode_all(encoder, &texts, &progress));
        let values = progress.finish(result)?;
        PyArray1::from_vec(py, values).reshape([n, dim])
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(fingerprint={:?}, dim={})",
            self.encoder.fingerprint(),
            self.encoder.dim()
        )
    }
}

/// Encodes `texts` in the encoder's chunks, polling for cancellation between them.
fn encode_all(
    encoder: &dyn Encoder,
    texts: &[String],
    progress: &dyn Progress,
) -> Result<Vec<f32>, Error> {
    let mut out = Vec::with_capacity(texts.len() * encoder.dim());
    progress.begin("encode", Some(texts.len() as u64));
    for chunk in texts.chunks(encoder.chunk_rows().max(1)) {
        if progress.cancelled() {
            return Err(EmbedError::Cancelled.into());
        }
        let batch: Vec<&str> = chunk.iter().map(String::as_str).collect();
        out.extend(encoder.encode(&batch)?);
        progress.advance(chunk.len() as u64);
    }
    progress.end();
    Ok(out)
}

/// A device name (`cpu`, `cuda[:N]`, `candle-cpu`), or a `ValueError` saying why not.
pub(crate) fn parse_device(name: &str) -> PyResult<Device> {
    name.parse::<Device>()
        .map_err(|e: EmbedError| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}
