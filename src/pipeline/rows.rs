//! Reading a dataset once: exact-duplicate groups and the texts of the unique rows.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::dataset::{self, Compression, Format, OnError, ReadOptions};
use crate::dedup::{row_key, ExactGroups};
use crate::progress::Progress;
use crate::Error;

/// The texts of the unique rows, all in one buffer (a few bytes of overhead per row
/// instead of a `String` per cell).
#[derive(Debug, Default)]
pub struct Texts {
    buf: String,
    ends: Vec<usize>,
    columns: usize,
}

impl Texts {
    /// No rows yet, `columns` texts per row.
    pub fn new(columns: usize) -> Self {
        Texts {
            columns,
            ..Default::default()
        }
    }

    /// Appends a row: one text per column.
    pub fn push(&mut self, texts: &[impl AsRef<str>]) {
        debug_assert_eq!(texts.len(), self.columns);
        for t in texts {
            self.buf.push_str(t.as_ref());
            self.ends.push(self.buf.len());
        }
    }

    /// Column `c` of unique row `u`.
    pub fn get(&self, u: usize, c: usize) -> &str {
        let k = u * self.columns + c;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.buf[start..self.ends[k]]
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ends.len() / self.columns.max(1)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Number of columns per row.
    pub fn columns(&self) -> usize {
        self.columns
    }
}

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

/// The map between a file's row numbers and the rows a job read from it, which differ
/// once rows are skipped: read row `i` is the `i`-th row of the file that was not skipped.
#[derive(Debug, Default, Clone)]
pub struct RowNumbers {
    /// The skipped file rows, increasing.
    skipped: Vec<u64>,
    /// `skipped[j] - j`: how many read rows come before the `j`-th skipped row.
    read_before: Vec<u64>,
}

impl RowNumbers {
    fn new(skipped: Vec<u64>) -> Self {
        debug_assert!(skipped.windows(2).all(|w| w[0] < w[1]));
        let read_before = skipped
            .iter()
            .enumerate()
            .map(|(j, &r)| r - j as u64)
            .collect();
        RowNumbers {
            skipped,
            read_before,
        }
    }

    /// The file row of read row `i`.
    pub fn file_row(&self, i: u64) -> u64 {
        i + self.read_before.partition_point(|&b| b <= i) as u64
    }

    /// The read row of file row `row`, or `None` when that row was skipped.
    pub fn read_row(&self, row: u64) -> Option<u64> {
        let before = self.skipped.partition_point(|&s| s < row);
        match self.skipped.get(before) {
            Some(&s) if s == row => None,
            _ => Some(row - before as u64),
        }
    }

    /// Rows skipped.
    pub fn skipped(&self) -> usize {
        self.skipped.len()
    }
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
    let mut texts = Texts {
        columns: opts.columns.len(),
        ..Default::default()
    };
    let mut skipped = Vec::new();
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
        for record in &batch {
            debug_assert_eq!(record.row, next_row, "rows are numbered in order");
            next_row = record.row + 1;
            let key = row_key(&record.texts);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_numbers_map_both_ways_around_skipped_rows() {
        let skipped = [0u64, 3, 4, 9];
        let numbers = RowNumbers::new(skipped.to_vec());
        let file_rows: Vec<u64> = (0..12).filter(|r| !skipped.contains(r)).collect();
        for (i, &row) in file_rows.iter().enumerate() {
            assert_eq!(numbers.file_row(i as u64), row, "read row {i}");
            assert_eq!(numbers.read_row(row), Some(i as u64), "file row {row}");
        }
        for s in skipped {
            assert_eq!(numbers.read_row(s), None);
        }
        let none = RowNumbers::default();
        assert_eq!((none.file_row(7), none.read_row(7)), (7, Some(7)));
    }
}
