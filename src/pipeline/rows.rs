//! Reading a dataset once: exact-duplicate groups and the texts of the unique rows.

use std::path::Path;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::dataset::{self, Compression, Format, OnError, ReadOptions, RowNumbers, Texts};
use crate::dedup::{row_key, ExactGroups};
use crate::progress::Progress;
use crate::Error;

/// A row the reader could not read, left out because the job was asked to skip such rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// 0-based row number in the file (as [`Record::row`](crate::dataset::Record::row)).
    pub row: u64,
    /// 1-based line where it starts, when the error says.
    pub line: Option<u64>,
    /// What was wrong (the error message, which names the file, line and column).
    pub reason: String,
}

/// A dataset read once: which rows are exact copies, and what the unique rows say.
#[derive(Debug)]
pub struct LoadedRows {
    /// What reading did with unreadable rows.
    pub on_error: OnError,
    /// Rows left out as unreadable (only when reading with [`OnError::Skip`]), in order.
    pub skipped: Vec<SkippedRow>,
    /// File row numbers of the rows read (identity unless rows were skipped).
    pub numbers: RowNumbers,
    /// Exact-duplicate groups over all rows read.
    pub groups: ExactGroups,
    /// Key of each unique row ([`row_key`]).
    pub keys: Vec<u128>,
    /// Texts of the unique rows, in order.
    pub texts: Texts,
    /// The file's format.
    pub format: Format,
    /// The file's outer compression.
    pub compression: Compression,
    /// Time spent reading.
    pub read_time: Duration,
}

/// Reads every row of `path`, grouping exact copies (first occurrence first) and keeping
/// the texts of the first row of each group. With [`OnError::Skip`], rows the reader cannot
/// read are left out and listed in [`LoadedRows::skipped`]; other errors still fail.
pub fn load_rows(
    path: &Path,
    opts: &ReadOptions,
    on_error: OnError,
    progress: &dyn Progress,
) -> Result<LoadedRows, Error> {
    let start = Instant::now();
    let mut reader = dataset::open(path, opts)?;
    let (format, compression) = (reader.format(), reader.compression());
    let mut groups = ExactGroups::new();
    let mut keys = Vec::new();
    let mut texts = Texts::new(opts.columns.len());
    let mut skipped = Vec::new();
    // Uncompressed text formats hold at least as many bytes as the texts decoded from
    // them: the file's size bounds the texts and, with the first batch's bytes per row,
    // estimates the rows, so the tables can be sized once instead of grown by doubling.
    let text_bytes = match (format, compression) {
        (Format::Parquet, _) | (_, Compression::Gzip | Compression::Zstd) => None,
        _ => std::fs::metadata(path).ok().map(|m| m.len() as usize),
    };
    let mut sized = text_bytes.is_none();
    // Every item the reader yields, row or row error, takes up the next row number.
    let mut next_row = 0u64;
    progress.begin("read", None);
    loop {
        if progress.cancelled() {
            return Err(Error::Cancelled);
        }
        let batch = match reader.next_batch(8192) {
            Ok(batch) => batch,
            Err(e) if on_error == OnError::Skip && e.is_row_error() => {
                tracing::debug!(row = next_row, "skipping: {e}");
                skipped.push(SkippedRow {
                    row: next_row,
                    line: e.line(),
                    reason: e.to_string(),
                });
                next_row += 1;
                progress.advance(1);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if batch.is_empty() {
            break;
        }
        if !sized {
            sized = true;
            let bytes = text_bytes.unwrap_or(0);
            let per_row: usize = batch
                .iter()
                .flat_map(|r| r.texts.iter().map(|t| t.len() + 1))
                .sum::<usize>()
                .div_ceil(batch.len());
            let rows = bytes / per_row.max(1);
            groups.reserve(rows, rows);
            let _ = keys.try_reserve(rows);
            texts.reserve(rows, bytes);
        }
        let batch_keys: Vec<u128> = batch.par_iter().map(|r| row_key(&r.texts)).collect();
        for (record, key) in batch.iter().zip(batch_keys) {
            debug_assert_eq!(record.row, next_row, "rows are numbered in order");
            next_row = record.row + 1;
            if groups.push(key).1 {
                keys.push(key);
                texts.push(&record.texts);
            }
        }
        progress.advance(batch.len() as u64);
    }
    progress.end();
    if groups.rows() == 0 {
        // Every row was skipped: nothing to work on.
        return Err(dataset::DatasetError::Empty {
            path: path.to_path_buf(),
        }
        .into());
    }
    if !skipped.is_empty() {
        tracing::warn!(
            skipped = skipped.len(),
            "skipped unreadable rows of {} (listed in skipped.jsonl)",
            path.display()
        );
    }
    let read_time = start.elapsed();
    tracing::info!(
        rows = groups.rows(),
        unique = groups.groups(),
        seconds = read_time.as_secs_f64(),
        "read {}",
        path.display()
    );
    let numbers = RowNumbers::new(skipped.iter().map(|s| s.row).collect());
    Ok(LoadedRows {
        on_error,
        skipped,
        numbers,
        groups,
        keys,
        texts,
        format,
        compression,
        read_time,
    })
}
