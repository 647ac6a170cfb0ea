//! Stages strung together: read a dataset in chunks, embed each chunk, hand
//! the vectors to a sink; and `semsift embed`'s job, dataset → `.npy`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use super::output::AtomicFile;
use super::rows::SkippedRow;
use crate::atomic::partial_path;
use crate::dataset::{self, OnError, ReadOptions, Reader, Record};
use crate::embed::{EmbedError, Encoder};
use crate::progress::Progress;
use crate::store::npy::NpyWriter;
use crate::store::StoreError;
use crate::Error;

/// What [`embed_dataset`] did.
#[derive(Debug, Clone, Default)]
pub struct EmbedStats {
    /// Rows read and embedded.
    pub rows: u64,
    /// Rows left out as unreadable (only with [`OnError::Skip`]), in order.
    pub skipped: Vec<SkippedRow>,
    /// Width of each output row (`encoder.dim() × columns`).
    pub dim: usize,
    /// Time spent reading and parsing input.
    pub read_time: Duration,
    /// Time spent in the encoder.
    pub embed_time: Duration,
}

/// Reads every row of `reader`, embeds each requested column with `encoder`,
/// and passes row-major vectors to `sink` in input order, up to `chunk_rows` rows
/// at a time, together with the file row number ([`Record::row`]) of each vector row.
///
/// With several columns each column is embedded on its own and the vectors
/// are concatenated in column order (SemHash's multi-column rule), so each
/// output row is `encoder.dim() × columns` wide.
///
/// A row the reader cannot read (see [`DatasetError::is_row_error`](crate::dataset::DatasetError::is_row_error))
/// stops the job with its error under [`OnError::Fail`]; under [`OnError::Skip`] it is
/// left out and listed in [`EmbedStats::skipped`] (keeping its file row number), so the
/// row numbers handed to `sink` then have gaps. Other errors always stop the job.
pub fn embed_dataset(
    reader: &mut Reader,
    encoder: &dyn Encoder,
    columns: usize,
    chunk_rows: usize,
    on_error: OnError,
    progress: &dyn Progress,
    mut sink: impl FnMut(&[f32], &[u64]) -> Result<(), Error>,
) -> Result<EmbedStats, Error> {
    let dim = encoder.dim();
    let chunk_rows = chunk_rows.max(1);
    let mut stats = EmbedStats {
        dim: dim * columns,
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut batch: Vec<Record> = Vec::new();
    let mut row_numbers = Vec::new();
    // Every item the reader yields, row or row error, takes up the next row number.
    let mut next_row = 0u64;
    progress.begin("embed", None);
    loop {
        if progress.cancelled() {
            return Err(EmbedError::Cancelled.into());
        }
        // Fill a chunk, stepping over unreadable rows when skipping.
        let t = Instant::now();
        batch.clear();
        let mut at_end = false;
        while batch.len() < chunk_rows {
            match reader.next_batch(chunk_rows - batch.len()) {
                Ok(more) if more.is_empty() => {
                    at_end = true;
                    break;
                }
                Ok(more) => {
                    next_row = more.last().map_or(next_row, |r| r.row + 1);
                    batch.extend(more);
                }
                Err(e) if on_error == OnError::Skip && e.is_row_error() => {
                    tracing::debug!(row = next_row, "skipping: {e}");
                    stats.skipped.push(SkippedRow {
                        row: next_row,
                        line: e.line(),
                        reason: e.to_string(),
                    });
                    next_row += 1;
                    progress.advance(1);
                }
                Err(e) => return Err(e.into()),
            }
        }
        stats.read_time += t.elapsed();
        if batch.is_empty() {
            break;
        }
        let t = Instant::now();
        out.clear();
        out.resize(batch.len() * stats.dim, 0.0);
        for c in 0..columns {
            let texts: Vec<&str> = batch.iter().map(|r| r.texts[c].as_str()).collect();
            let vectors = encoder.encode(&texts)?;
            for (row, v) in vectors.chunks_exact(dim).enumerate() {
                let at = row * stats.dim + c * dim;
                out[at..at + dim].copy_from_slice(v);
            }
        }
        stats.embed_time += t.elapsed();
        row_numbers.clear();
        row_numbers.extend(batch.iter().map(|r| r.row));
        sink(&out, &row_numbers)?;
        stats.rows += batch.len() as u64;
        progress.advance(batch.len() as u64);
        if at_end {
            break;
        }
    }
    progress.end();
    tracing::info!(
        rows = stats.rows,
        skipped = stats.skipped.len(),
        read_s = stats.read_time.as_secs_f64(),
        embed_s = stats.embed_time.as_secs_f64(),
        "embedded dataset"
    );
    Ok(stats)
}

/// The files of an embeddings output `OUT.npy`: the matrix and, when unreadable rows
/// are skipped, its two sidecars next to it, named after OUT's stem (its file name
/// without the last extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedFiles {
    /// The float32 `[rows, dim]` matrix.
    pub npy: PathBuf,
    /// `<stem>.rows.npy`: a 1-D uint64 array, the 0-based file row number of each row
    /// of [`npy`](Self::npy).
    pub rows: PathBuf,
    /// `<stem>.skipped.jsonl`: one `{"row", "line", "reason"}` line per skipped row.
    pub skipped: PathBuf,
}

impl EmbedFiles {
    /// The files for output `npy` (`vectors.npy` → `vectors.rows.npy`,
    /// `vectors.skipped.jsonl`, in the same directory).
    pub fn for_output(npy: &Path) -> Self {
        let stem = npy
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sibling = |suffix: &str| npy.with_file_name(format!("{stem}{suffix}"));
        EmbedFiles {
            npy: npy.to_path_buf(),
            rows: sibling(".rows.npy"),
            skipped: sibling(".skipped.jsonl"),
        }
    }

    /// The sidecars.
    fn sidecars(&self) -> [&Path; 2] {
        [&self.rows, &self.skipped]
    }
}

/// What [`embed_to_npy`] wrote.
#[derive(Debug, Clone)]
pub struct EmbedOutcome {
    /// How reading and embedding went ([`EmbedStats::rows`] rows are in the `.npy`).
    pub stats: EmbedStats,
    /// The output files; the sidecars exist only with [`OnError::Skip`].
    pub files: EmbedFiles,
    /// Whether the sidecars were written.
    pub sidecars: bool,
}

/// `semsift embed`: embeds every row of `input` (columns `read.columns`, each embedded
/// on its own and concatenated) into the float32 `.npy` `output`, one row per row read,
/// in input order, via `output.partial`.
///
/// With [`OnError::Fail`] a row that cannot be read stops the job, and the `.npy` holds
/// one row per input row. With [`OnError::Skip`] such rows are left out of the `.npy`,
/// and two sidecars (see [`EmbedFiles`]) account for every input row: the file row number
/// of each `.npy` row, and the skipped rows with why; a file with no readable row is
/// still an error. Sidecars of an earlier run that this run does not write are removed,
/// so they never describe another `.npy`. Each file is written atomically; the old
/// `output` is removed before the new sidecars land and the new `.npy` comes last.
pub fn embed_to_npy(
    input: &Path,
    read: &ReadOptions,
    on_error: OnError,
    encoder: &dyn Encoder,
    output: &Path,
    progress: &dyn Progress,
) -> Result<EmbedOutcome, Error> {
    let files = EmbedFiles::for_output(output);
    let skip = on_error == OnError::Skip;
    let input_path = input.canonicalize().ok();
    let is_input = |path: &Path| {
        let partial = partial_path(path);
        [path, &partial]
            .iter()
            .any(|p| p.canonicalize().ok().is_some_and(|p| Some(p) == input_path))
    };
    let mut written = vec![files.npy.as_path()];
    if skip {
        written.extend(files.sidecars());
    }
    if let Some(path) = written.iter().find(|p| is_input(p)) {
        tracing::debug!("{} is the input", path.display());
        return Err(StoreError::WouldOverwriteInput(input.to_path_buf()).into());
    }
    let mut reader = dataset::open(input, read)?;
    let columns = read.columns.len();
    let mut npy = NpyWriter::create(&files.npy, encoder.dim() * columns)?;
    let mut rows_npy = skip
        .then(|| NpyWriter::create_u64(&files.rows))
        .transpose()?;
    let stats = embed_dataset(
        &mut reader,
        encoder,
        columns,
        encoder.chunk_rows(),
        on_error,
        progress,
        |vectors, rows| {
            npy.write_rows(vectors)?;
            if let Some(w) = rows_npy.as_mut() {
                w.write_rows(rows)?;
            }
            Ok(())
        },
    )?;
    if stats.rows == 0 {
        // Every row was skipped: nothing was embedded.
        return Err(dataset::DatasetError::Empty {
            path: input.to_path_buf(),
        }
        .into());
    }
    if !stats.skipped.is_empty() {
        tracing::warn!(
            skipped = stats.skipped.len(),
            "skipped unreadable rows of {} (listed in {})",
            input.display(),
            files.skipped.display()
        );
    }

    // The old matrix goes first, so that at no time do new sidecars sit beside it.
    // (A sidecar name that is the input is not a sidecar: it stays.)
    let stale: Vec<&Path> = files
        .sidecars()
        .into_iter()
        .filter(|p| !skip && p.exists() && !is_input(p))
        .collect();
    if skip || !stale.is_empty() {
        remove_if_present(&files.npy)?;
    }
    match rows_npy {
        Some(w) => {
            w.finish()?;
            let mut f = AtomicFile::create(files.skipped.clone())?;
            for s in &stats.skipped {
                let line = json!({"row": s.row, "line": s.line, "reason": s.reason});
                f.write_json_line(&line).map_err(|e| f.error(e))?;
            }
            f.commit()?;
        }
        None => {
            for path in stale {
                if remove_if_present(path)? {
                    tracing::info!("removed {} (left by an earlier run)", path.display());
                }
            }
        }
    }
    npy.finish()?;
    Ok(EmbedOutcome {
        stats,
        files,
        sidecars: skip,
    })
}

/// Removes `path` if it exists; whether it did.
fn remove_if_present(path: &Path) -> Result<bool, Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::Output {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_are_named_after_the_output_stem() {
        let f = EmbedFiles::for_output(Path::new("out/vectors.npy"));
        assert_eq!(f.rows, Path::new("out/vectors.rows.npy"));
        assert_eq!(f.skipped, Path::new("out/vectors.skipped.jsonl"));
        let f = EmbedFiles::for_output(Path::new("plain"));
        assert_eq!(f.rows, Path::new("plain.rows.npy"));
    }
}
