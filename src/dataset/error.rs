//! The error type for dataset reading and writing.

use std::io;
use std::path::{Path, PathBuf};

use super::{Compression, Format};

/// Everything that can go wrong while opening, reading or splitting a dataset file.
///
/// Every message is a single line that names the file and, where it applies,
/// the 1-based line (for Parquet: row + 1) and the column.
#[derive(thiserror::Error, Debug)]
pub enum DatasetError {
    /// The file could not be opened or read (this includes corrupt gzip/zstd streams).
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// The file has no data rows (e.g. zero bytes, only blank JSONL lines, a CSV header only).
    #[error("{}: file is empty (no rows)", .path.display())]
    Empty {
        /// The file being read.
        path: PathBuf,
    },

    /// A JSONL line is not valid JSON.
    #[error("{}:{line}:{column}: invalid JSON: {message}", .path.display())]
    Json {
        /// The file being read.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
        /// 1-based character column within the line where `serde_json` found the error.
        column: u64,
        /// What is wrong, without position information.
        message: String,
    },

    /// A JSONL line (or a JSON array element) holds valid JSON that is not an object.
    #[error("{}:{line}: expected a JSON object (one per row)", .path.display())]
    NotAnObject {
        /// The file being read.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
    },

    /// A requested column does not exist (for CSV/TSV/Parquet: in the header or schema).
    #[error(
        "{}:{line}: column `{}` not found (available: {})",
        .path.display(),
        .column.escape_debug(),
        list(.available)
    )]
    MissingColumn {
        /// The file being read.
        path: PathBuf,
        /// 1-based physical line (1 for CSV/TSV headers and Parquet schemas).
        line: u64,
        /// The requested column.
        column: String,
        /// The columns that do exist, in file order.
        available: Vec<String>,
    },

    /// A requested column is JSON `null` or a Parquet null.
    #[error("{}:{line}: column `{}` is null", .path.display(), .column.escape_debug())]
    NullValue {
        /// The file being read.
        path: PathBuf,
        /// 1-based physical line (Parquet: row + 1).
        line: u64,
        /// The column holding the null.
        column: String,
    },

    /// A field path or chat preset cannot be followed in a row (see
    /// [`Field`](super::Field)): `message` names the part of the path that failed.
    #[error("{}:{line}: field `{}`: {message}", .path.display(), .field.escape_debug())]
    Field {
        /// The file being read.
        path: PathBuf,
        /// 1-based physical line (Parquet: row + 1).
        line: u64,
        /// The field as requested.
        field: String,
        /// What is wrong.
        message: String,
    },

    /// `--chat` was given for a file whose format has no nested values.
    #[error(
        "{}: chat presets read conversations from JSON Lines, JSON arrays or Parquet, not {format}",
        .path.display()
    )]
    ChatNeedsNested {
        /// The file being read.
        path: PathBuf,
        /// Its format.
        format: Format,
    },

    /// `--chat` named no column and the first row has none of the usual conversation
    /// columns.
    #[error(
        "{}: the first row has no conversation column ({}); name it with --column",
        .path.display(),
        list(.tried)
    )]
    NoConversation {
        /// The file being read.
        path: PathBuf,
        /// The columns looked for.
        tried: Vec<String>,
    },

    /// A line (or CSV field) is not valid UTF-8.
    #[error("{}:{line}: invalid UTF-8", .path.display())]
    InvalidUtf8 {
        /// The file being read.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
    },

    /// A CSV/TSV record is malformed (e.g. wrong number of fields).
    #[error("{}:{line}: invalid CSV: {message}", .path.display())]
    Csv {
        /// The file being read.
        path: PathBuf,
        /// 1-based physical line where the record starts.
        line: u64,
        /// What is wrong.
        message: String,
    },

    /// An element of a JSON array file cannot be read: `error` is what is wrong with it
    /// ([`DatasetError::NotAnObject`], [`DatasetError::MissingColumn`] or
    /// [`DatasetError::NullValue`], with the line where the element starts).
    #[error("{error} (element {index} of the JSON array)")]
    InArray {
        /// 0-based index of the element in the array (equal to its row number).
        index: u64,
        /// What is wrong with the element.
        error: Box<DatasetError>,
    },

    /// The Parquet file could not be opened or decoded.
    #[error("{}: cannot read Parquet: {message}", .path.display())]
    Parquet {
        /// The file being read.
        path: PathBuf,
        /// The error from the Parquet/Arrow reader.
        message: String,
    },

    /// A requested Parquet column holds bytes, not text or values that render as JSON.
    #[error(
        "{}: column `{}` has type {found}; expected text, or numbers, lists or structs (read as JSON)",
        .path.display(),
        .column.escape_debug()
    )]
    UnsupportedType {
        /// The file being read.
        path: PathBuf,
        /// The requested column.
        column: String,
        /// The Arrow type the column has.
        found: String,
    },

    /// The format could not be guessed from the file name.
    #[error("cannot tell the format of {} from its name; pass --format", .path.display())]
    UnknownFormat {
        /// The file being read.
        path: PathBuf,
    },

    /// A column other than `text` was requested from a plain-text file.
    #[error(
        "{}: plain-text files have a single column named `text`, not `{}`",
        .path.display(),
        .column.escape_debug()
    )]
    BadColumnForText {
        /// The file being read.
        path: PathBuf,
        /// The requested column.
        column: String,
    },

    /// No columns were requested ([`ReadOptions::columns`](super::ReadOptions::columns) is empty).
    #[error("{}: no columns requested", .path.display())]
    NoColumns {
        /// The file being read.
        path: PathBuf,
    },

    /// A Parquet file is wrapped in gzip/zstd, which is not supported.
    #[error(
        "{}: {compression}-compressed Parquet is not supported; decompress it first (Parquet compresses internally)",
        .path.display()
    )]
    CompressedParquet {
        /// The file being read.
        path: PathBuf,
        /// The outer compression that was detected.
        compression: Compression,
    },

    /// The output file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Output {
        /// The file being written (the final name, though the data goes to `<path>.partial`
        /// until it is complete).
        path: PathBuf,
        /// The underlying error (Parquet and CSV writer errors are wrapped).
        #[source]
        source: io::Error,
    },

    /// The output file is the input file (or its `.partial` would be), which would destroy
    /// the input.
    #[error("{}: refusing to write the output over the input file", .path.display())]
    OutputIsInput {
        /// The input file.
        path: PathBuf,
    },

    /// The caller cancelled the operation through
    /// [`Progress::cancelled`](crate::progress::Progress::cancelled).
    #[error("{}: cancelled", .path.display())]
    Cancelled {
        /// The file being processed.
        path: PathBuf,
    },
}

impl DatasetError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            DatasetError::Io { path, .. }
            | DatasetError::Empty { path }
            | DatasetError::Json { path, .. }
            | DatasetError::NotAnObject { path, .. }
            | DatasetError::MissingColumn { path, .. }
            | DatasetError::NullValue { path, .. }
            | DatasetError::Field { path, .. }
            | DatasetError::ChatNeedsNested { path, .. }
            | DatasetError::NoConversation { path, .. }
            | DatasetError::InvalidUtf8 { path, .. }
            | DatasetError::Csv { path, .. }
            | DatasetError::Parquet { path, .. }
            | DatasetError::UnsupportedType { path, .. }
            | DatasetError::UnknownFormat { path }
            | DatasetError::BadColumnForText { path, .. }
            | DatasetError::NoColumns { path }
            | DatasetError::CompressedParquet { path, .. }
            | DatasetError::Output { path, .. }
            | DatasetError::OutputIsInput { path }
            | DatasetError::Cancelled { path } => path,
            DatasetError::InArray { error, .. } => error.path(),
        }
    }

    /// The 1-based line the error is about (Parquet: row + 1), when it is about one.
    pub fn line(&self) -> Option<u64> {
        match self {
            DatasetError::Json { line, .. }
            | DatasetError::NotAnObject { line, .. }
            | DatasetError::MissingColumn { line, .. }
            | DatasetError::NullValue { line, .. }
            | DatasetError::Field { line, .. }
            | DatasetError::InvalidUtf8 { line, .. }
            | DatasetError::Csv { line, .. } => Some(*line),
            DatasetError::InArray { error, .. } => error.line(),
            _ => None,
        }
    }

    /// For an error yielded by [`Reader`](super::Reader): whether reading can go on after it.
    ///
    /// `true` for errors confined to one row (bad JSON, missing or null column, invalid
    /// UTF-8, malformed CSV record, a field path that fails): the next call reads the following row. `false` for
    /// errors that end the iteration (I/O, Parquet decoding).
    pub fn is_row_error(&self) -> bool {
        matches!(
            self,
            DatasetError::Json { .. }
                | DatasetError::NotAnObject { .. }
                | DatasetError::MissingColumn { .. }
                | DatasetError::NullValue { .. }
                | DatasetError::Field { .. }
                | DatasetError::InvalidUtf8 { .. }
                | DatasetError::Csv { .. }
                | DatasetError::InArray { .. }
        )
    }

    pub(super) fn io(path: &Path, source: io::Error) -> Self {
        DatasetError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(super) fn output(path: &Path, source: io::Error) -> Self {
        DatasetError::Output {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Column names for a one-line message: comma-separated, control characters escaped.
pub(super) fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        let escaped: Vec<String> = names.iter().map(|n| n.escape_debug().to_string()).collect();
        escaped.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_stay_on_one_line() {
        let e = DatasetError::MissingColumn {
            path: "data.csv".into(),
            line: 1,
            column: "te\nxt".into(),
            available: vec!["a\r\nb".into(), "c".into()],
        };
        assert_eq!(
            e.to_string(),
            "data.csv:1: column `te\\nxt` not found (available: a\\r\\nb, c)"
        );
        let e = DatasetError::NullValue {
            path: "data.jsonl".into(),
            line: 3,
            column: "tab\there".into(),
        };
        assert_eq!(e.to_string(), "data.jsonl:3: column `tab\\there` is null");
    }
}
