//! Embedding the unique rows, through the vector store when one is given.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::dataset::TextSource;
use crate::embed::{EmbedError, Encoder};
use crate::linalg::normalize_rows;
use crate::progress::Progress;
use crate::store::{narrow_into, Dtype, Lookup, StoreKey, VectorStore, Vectors};
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
/// an interrupted run resumes after the last checkpoint. The vectors are held as `hold`
/// says: `f16` ones ([`Vectors::Half`]) are rounded chunk by chunk as they are computed,
/// so the `f32` vectors are never all in memory.
#[allow(clippy::too_many_arguments)]
pub fn embed_texts(
    texts: TextSource<'_>,
    content_key: u128,
    encoder: &dyn Encoder,
    store: Option<&Path>,
    dtype: Dtype,
    hold: Dtype,
    progress: &dyn Progress,
) -> Result<(Vectors, EmbedReport), Error> {
    let start = Instant::now();
    let dim = encoder.dim() * texts.columns();
    let n = texts.len();
    let mut report = EmbedReport::default();
    let Some(dir) = store else {
        let vectors = match hold {
            Dtype::F32 => {
                let mut out = Vec::with_capacity(n * dim);
                embed_range(texts, encoder, 0, progress, &mut |chunk| {
                    out.extend_from_slice(chunk);
                    Ok(())
                })?;
                Vectors::Owned(out)
            }
            Dtype::F16 => {
                let mut out = Vec::with_capacity(n * dim);
                embed_range(texts, encoder, 0, progress, &mut |chunk| {
                    narrow_into(chunk, &mut out);
                    Ok(())
                })?;
                Vectors::Half(out)
            }
        };
        report.embedded = n;
        report.time = start.elapsed();
        return Ok((vectors, report));
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
    let vectors = match (hold, file.dtype()) {
        (Dtype::F32, Dtype::F32) if file.as_f32().is_some() => Vectors::Mapped(file),
        (Dtype::F32, _) => Vectors::Widened(file.to_f32_vec()),
        (Dtype::F16, _) => match (file.as_f16(), file.as_f32()) {
            (Some(v), _) => Vectors::Half(v.to_vec()),
            (None, Some(v)) => {
                let mut out = Vec::with_capacity(v.len());
                narrow_into(v, &mut out);
                Vectors::Half(out)
            }
            (None, None) => {
                let mut out = Vec::with_capacity(file.rows() * dim);
                narrow_into(&file.to_f32_vec(), &mut out);
                Vectors::Half(out)
            }
        },
    };
    report.time = start.elapsed();
    Ok((vectors, report))
}

/// Embeds unique rows `from..`, chunk by chunk, handing unit-normalised rows to `sink`.
fn embed_range(
    texts: TextSource<'_>,
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
        let read;
        let (rows, base) = match texts {
            TextSource::Memory(t) => (t, start),
            TextSource::Disk(t) => {
                read = t.rows(start..end).map_err(|source| Error::TempFile {
                    what: "the texts to embed",
                    source,
                })?;
                (&read, 0)
            }
        };
        out.clear();
        out.resize((end - start) * dim, 0.0);
        for c in 0..cols {
            let batch: Vec<&str> = (base..base + end - start).map(|u| rows.get(u, c)).collect();
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
