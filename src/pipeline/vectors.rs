//! Embedding the unique rows, through the vector store when one is given.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::dataset::Texts;
use crate::embed::{EmbedError, Encoder};
use crate::linalg::normalize_rows;
use crate::progress::Progress;
use crate::store::{Dtype, Lookup, StoreKey, VectorStore, Vectors};
use crate::Error;

/// How the vectors were obtained.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EmbedReport {
    /// Rows embedded in this run.
    pub embedded: usize,
    /// Rows taken from the store (a finished file, or the finished part of an
    /// interrupted one).
    pub reused: usize,
    /// The store file, when a store was used.
    pub store_file: Option<String>,
    /// Why a stored file was discarded and rebuilt (damaged, incomplete, another
    /// format version or key), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded: Option<String>,
    /// Seconds spent embedding (and reading the store).
    #[serde(skip)]
    pub time: Duration,
}

/// Embeds every unique row (columns embedded separately, concatenated, and the result
/// normalised to unit length, so a dot product is the cosine of the concatenation).
///
/// With a `store`, vectors for the same rows and model are reused from an earlier run, and
/// an interrupted run resumes after the last checkpoint.
pub fn embed_texts(
    texts: &Texts,
    content_key: u128,
    encoder: &dyn Encoder,
    store: Option<&Path>,
    dtype: Dtype,
    progress: &dyn Progress,
) -> Result<(Vectors, EmbedReport), Error> {
    let start = Instant::now();
    let dim = encoder.dim() * texts.columns();
    let n = texts.len();
    let mut report = EmbedReport::default();
    let Some(dir) = store else {
        let mut out = Vec::with_capacity(n * dim);
        embed_range(texts, encoder, 0, progress, &mut |chunk| {
            out.extend_from_slice(chunk);
            Ok(())
        })?;
        report.embedded = n;
        report.time = start.elapsed();
        return Ok((Vectors::Owned(out), report));
    };
    let store = VectorStore::open(dir)?;
    let key = StoreKey {
        content: content_key,
        fingerprint: format!("{}|columns={}", encoder.fingerprint(), texts.columns()),
        dim,
        dtype,
    };
    report.store_file = Some(store.path_for(&key).display().to_string());
    let found = match store.lookup(&key)? {
        Lookup::Found(file) => Some(file),
        Lookup::Missing => None,
        Lookup::Discarded { reason } => {
            report.discarded = Some(reason);
            None
        }
    };
    let file = match found {
        Some(file) if file.rows() == n => {
            tracing::info!(rows = n, "reusing vectors from {}", file.path().display());
            report.reused = n;
            file
        }
        _ => {
            let mut writer = store.writer(&key)?;
            let from = writer.rows().min(n);
            if from > 0 {
                tracing::info!(
                    rows = from,
                    "resuming embedding from {}",
                    writer.partial_path().display()
                );
            }
            report.reused = from;
            report.embedded = n - from;
            embed_range(texts, encoder, from, progress, &mut |chunk| {
                writer.append(chunk).map_err(Error::from)
            })?;
            writer.finish()?
        }
    };
    let vectors = match file.dtype() {
        Dtype::F32 if file.as_f32().is_some() => Vectors::Mapped(file),
        _ => Vectors::Widened(file.to_f32_vec()),
    };
    report.time = start.elapsed();
    Ok((vectors, report))
}

/// Embeds unique rows `from..`, chunk by chunk, handing unit-normalised rows to `sink`.
fn embed_range(
    texts: &Texts,
    encoder: &dyn Encoder,
    from: usize,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(&[f32]) -> Result<(), Error>,
) -> Result<(), Error> {
    let cols = texts.columns();
    let edim = encoder.dim();
    let dim = edim * cols;
    let chunk = encoder.chunk_rows().max(1);
    let n = texts.len();
    progress.begin("embed", Some((n - from) as u64));
    let mut out = Vec::new();
    for start in (from..n).step_by(chunk) {
        if progress.cancelled() {
            return Err(EmbedError::Cancelled.into());
        }
        let end = (start + chunk).min(n);
        out.clear();
        out.resize((end - start) * dim, 0.0);
        for c in 0..cols {
            let batch: Vec<&str> = (start..end).map(|u| texts.get(u, c)).collect();
            let vectors = encoder.encode(&batch)?;
            for (r, v) in vectors.chunks_exact(edim).enumerate() {
                out[r * dim + c * edim..][..edim].copy_from_slice(v);
            }
        }
        normalize_rows(&mut out, dim);
        sink(&out)?;
        progress.advance((end - start) as u64);
    }
    progress.end();
    Ok(())
}
