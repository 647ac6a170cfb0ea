//! Writing a deduplication decided elsewhere (by `semsift.ray`, on a cluster): the input
//! split into `kept.<ext>` and `removed.jsonl` exactly as `semsift dedup` writes them, so
//! the two runs' files can be compared byte for byte.

use std::path::Path;

use serde_json::json;

use super::dedup::{fields, num, OUTPUT_FAMILY};
use super::output::{write_split, OutputDir, OutputFile, SplitRows};
use crate::dataset::{self, Compression, DatasetError, Format, OnError, RowNumbers, SplitOptions};
use crate::progress::Progress;
use crate::Error;

/// One removed row of a deduplication decided elsewhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemovedLine {
    /// The input row.
    pub row: u64,
    /// The row it duplicates (a kept input row, or a reference row).
    pub duplicate_of: u64,
    /// Their cosine similarity (1.0 for exact copies).
    pub score: f32,
    /// Whether it is a byte-for-byte copy of that row's chosen columns.
    pub exact: bool,
}

/// Splits `input` (`rows` rows, none skipped) into `out_dir/kept.<ext>` (the input's
/// format and compression) and `out_dir/removed.jsonl` (`removed`, increasing by row),
/// atomically, removing the files an earlier run left there that this one does not
/// write (`summary.json` first: the caller writes its own once these are in place).
/// `inputs` are every file the run read, none of which may be written over. Returns the
/// two files.
pub fn write_decided(
    input: &Path,
    inputs: &[&Path],
    out_dir: &Path,
    rows: u64,
    removed: &[RemovedLine],
    progress: &dyn Progress,
) -> Result<[OutputFile; 2], Error> {
    if let Some(w) = removed.windows(2).find(|w| w[0].row >= w[1].row) {
        return Err(Error::InvalidOption {
            name: "removed",
            reason: format!("rows must increase: {} then {}", w[0].row, w[1].row),
        });
    }
    let format = Format::from_path(input).ok_or_else(|| DatasetError::UnknownFormat {
        path: input.to_path_buf(),
    })?;
    let compression = match format {
        Format::Parquet => Compression::None,
        _ => Compression::detect(input)?,
    };
    let out = OutputDir::create(out_dir, inputs)?;
    let kept_name = dataset::output_file_name("kept", format, compression);
    out.start_set("summary.json")?;
    let numbers = RowNumbers::default();
    let split = write_split(
        &out,
        input,
        SplitOptions {
            format: Some(format),
            no_header: false,
        },
        &kept_name,
        SplitRows {
            read: rows,
            on_error: OnError::Fail,
            numbers: &numbers,
            skipped: &[],
        },
        &|i| {
            let at = removed.binary_search_by_key(&i, |r| r.row).ok()?;
            let r = removed[at];
            Some(fields(json!({
                "row": r.row,
                "duplicate_of": r.duplicate_of,
                "score": num(r.score),
                "exact": r.exact,
            })))
        },
        progress,
    )?;
    let written = [split.kept.path.as_path(), split.removed.path.as_path()];
    out.finish_set(OUTPUT_FAMILY, &written)?;
    Ok([split.kept, split.removed])
}
