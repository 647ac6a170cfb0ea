//! Reading a dataset once: exact-duplicate groups and the texts of the unique rows.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::dataset::{self, Compression, Format, ReadOptions};
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
    fn push(&mut self, texts: &[String]) {
        for t in texts {
            self.buf.push_str(t);
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

/// A dataset read once: which rows are exact copies, and what the unique rows say.
#[derive(Debug)]
pub struct LoadedRows {
    /// Exact-duplicate groups over all rows.
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
/// the texts of the first row of each group.
pub fn load_rows(
    path: &Path,
    opts: &ReadOptions,
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
    progress.begin("read", None);
    loop {
        if progress.cancelled() {
            return Err(Error::Cancelled);
        }
        let batch = reader.next_batch(8192)?;
        if batch.is_empty() {
            break;
        }
        for record in &batch {
            let key = row_key(&record.texts);
            if groups.push(key).1 {
                keys.push(key);
                texts.push(&record.texts);
            }
        }
        progress.advance(batch.len() as u64);
    }
    progress.end();
    let read_time = start.elapsed();
    tracing::info!(
        rows = groups.rows(),
        unique = groups.groups(),
        seconds = read_time.as_secs_f64(),
        "read {}",
        path.display()
    );
    Ok(LoadedRows {
        groups,
        keys,
        texts,
        format,
        compression,
        read_time,
    })
}
