//! Streaming row readers (and the kept-row writer) for dataset files.
//!
//! [`open`] reads JSON Lines, JSON arrays, CSV, TSV, plain text and Parquet files and yields
//! one [`Record`] per data row, holding the text of each requested column. Files are
//! streamed (line by line, or Parquet record batch by record batch), so memory does not grow
//! with the file size; the one exception is a JSON array file, read whole into memory.
//!
//! # Formats
//!
//! The format comes from [`ReadOptions::format`], or else is guessed by [`Format::from_path`].
//!
//! - **JSON Lines** (`.jsonl`, `.ndjson`, `.json`): one JSON object per line. Blank
//!   (whitespace-only) lines are skipped but still counted for line numbers.
//! - **JSON array** ([`Format::JsonArray`]): a JSON Lines input (by name or `--format`)
//!   whose first non-whitespace byte is `[` is read as one top-level JSON array of
//!   objects, one row per element (`row` = the element's index, `line` = the line where
//!   the element starts; elements may span lines). The whole decompressed file is read
//!   into memory (elements are then parsed one at a time). Errors about one element
//!   (not an object, missing or null column) are [`DatasetError::InArray`], giving its
//!   index; a syntax error is [`DatasetError::Json`] and ends the reading.
//! - **CSV / TSV**: a header row naming the columns, then one record per row. Every record
//!   must have as many fields as the header. CSV uses standard double-quote quoting (a
//!   quoted field may span lines); TSV has no quoting, fields are taken literally. With
//!   [`ReadOptions::no_header`] there is no header row: every line is a record, the columns
//!   are named by position, `1`, `2`, ... `n`, and every record must have as many fields as
//!   the first.
//! - **Text**: every line is a row, including empty lines (an empty text); a final newline
//!   does not add a row. The only column is `text`.
//! - **Parquet**: only the requested columns are decoded, 8192 rows at a time. String
//!   columns (Arrow `Utf8`, `LargeUtf8`, `Utf8View`) are read as they are; other columns
//!   (numbers, lists, structs, maps) are read as their JSON values, so field paths and
//!   chat presets work on `list<struct>` conversations as on JSON. Binary columns are
//!   an error.
//!
//! The text formats may be gzip- or zstd-compressed (see [`Compression`]); a UTF-8 byte-order
//! mark at the start is dropped and CRLF line ends are accepted. Parquet must not be wrapped
//! in gzip/zstd (it compresses internally).
//!
//! # Values
//!
//! JSON values are rendered as text like this: strings as they are; numbers and booleans as
//! their JSON text (`3`, `2.5`, `true`); arrays and objects as compact JSON
//! (`[1,2]`, `{"a":1}`). A `null` or missing column is an error
//! ([`DatasetError::NullValue`], [`DatasetError::MissingColumn`]), as is a Parquet null.
//!
//! In JSON and Parquet files a column may be a path into nested values
//! (`messages[-1].content`), and [`ReadOptions::chat`] picks turns from conversations;
//! see [`Field`]. A path that cannot be followed in a row is [`DatasetError::Field`].
//!
//! # Errors
//!
//! A file with no data rows is [`DatasetError::Empty`], reported by [`open`]. Problems with
//! the header or Parquet schema (missing column, non-string type) are also reported by
//! [`open`], once. Errors confined to one row (see [`DatasetError::is_row_error`]) may be
//! skipped by calling `next` again; other errors end the iteration.
//!
//! # Writing
//!
//! [`split`] (or [`split_with`], for headerless CSV/TSV) re-reads a file after
//! deduplication: it writes the rows to keep to a new file in the input's format and
//! compression (a JSON array input gives a JSON array file) (via `<name>.partial`, renamed when complete) and
//! hands each removed row to a callback as a JSON object, with the same row numbers as
//! [`Record::row`]. [`output_file_name`] names such a file.

mod arrow_field;
mod compress;
mod csv;
mod error;
mod field;
mod format;
mod json_array;
mod jsonl;
mod lines;
mod parquet;
mod records;
mod rows;
mod split;
pub mod template;
mod text;

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

pub use arrow_field::FieldColumn;
pub use compress::Compression;
pub use error::DatasetError;
pub use field::{Chat, Field, FieldError, CONVERSATION_KEYS};
pub use format::{Format, ParseFormatError};
pub use records::for_each_record;
pub use rows::{DiskTexts, RowNumbers, TextSource, Texts};
pub use split::{output_file_name, split, split_with, Route, SplitOptions, SplitStats};

/// Buffer size for reading decoded text input.
const READ_BUFFER: usize = 64 << 10;

/// What to read from a file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// The file format; `None` guesses it from the file name ([`Format::from_path`]).
    pub format: Option<Format>,
    /// The columns to read, in the order wanted in [`Record::texts`]. Must not be empty.
    /// For [`Format::Text`] the only valid name is `text`. In JSON and Parquet files a
    /// name may be a path into nested values (see [`Field`]).
    pub columns: Vec<String>,
    /// A chat preset applied to every column whose value is a conversation (JSON and
    /// Parquet only; see [`Chat`]).
    pub chat: Option<Chat>,
    /// CSV/TSV only: the file has no header row. Every line is a record and the columns are
    /// named by position: `1`, `2`, ... `n` (1-based). Ignored for the other formats.
    pub no_header: bool,
}

impl ReadOptions {
    /// Options reading `columns`, with the format guessed from the file name.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ReadOptions {
            format: None,
            columns: columns.into_iter().map(Into::into).collect(),
            chat: None,
            no_header: false,
        }
    }

    /// Applies a chat preset to the columns (see [`ReadOptions::chat`]).
    pub fn with_chat(mut self, chat: Chat) -> Self {
        self.chat = Some(chat);
        self
    }

    /// The columns as fields, with the chat preset applied.
    pub fn fields(&self) -> Vec<Field> {
        self.columns
            .iter()
            .map(|c| Field::new(c, self.chat))
            .collect()
    }

    /// Reads CSV/TSV without a header row (see [`ReadOptions::no_header`]).
    pub fn with_no_header(mut self) -> Self {
        self.no_header = true;
        self
    }

    /// Sets an explicit format instead of guessing it from the file name.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
}

/// What a job does with a row the reader cannot read (see [`DatasetError::is_row_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop with the error, which names the file, line and column.
    #[default]
    Fail,
    /// Leave the row out, count it and list it (row, line, reason, raw text) in
    /// `skipped.jsonl`; errors that are not about one row still stop the job.
    Skip,
}

impl std::str::FromStr for OnError {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fail" => Ok(OnError::Fail),
            "skip" => Ok(OnError::Skip),
            _ => Err(format!("expected `fail` or `skip`, not `{s}`")),
        }
    }
}

impl fmt::Display for OnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnError::Fail => "fail",
            OnError::Skip => "skip",
        })
    }
}

/// One input row: the text of each requested column, in the order of
/// [`ReadOptions::columns`].
///
/// JSON values are rendered as text: strings as they are, numbers and booleans as their JSON
/// text (`3`, `2.5`, `true`), arrays and objects as compact JSON; `null` is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 0-based index of the data row (headers and blank JSONL lines are not rows; rows that
    /// failed to read still take up an index).
    pub row: u64,
    /// 1-based physical line where the row starts (CSV: the line of the record's start;
    /// Parquet: `row + 1`).
    pub line: u64,
    /// The text of each requested column, in request order.
    pub texts: Vec<String>,
}

type Rows = Box<dyn Iterator<Item = Result<Record, DatasetError>> + Send>;

/// Streaming reader: an iterator of records; never holds the whole file in memory.
///
/// Created by [`open`].
pub struct Reader {
    path: PathBuf,
    format: Format,
    compression: Compression,
    rows: Rows,
    /// An item read ahead of time: the first row (read by `open` to detect empty files), or
    /// an error held back by `next_batch`.
    pending: Option<Result<Record, DatasetError>>,
}

impl Reader {
    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format: [`Format::JsonArray`] for a JSON Lines input that turned out to be
    /// a JSON array.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file's outer compression (always [`Compression::None`] for Parquet).
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Read up to `n` records (stops early at EOF); convenience for batching.
    ///
    /// Returns an empty vector at end of input. If an error occurs after some records were
    /// read, those records are returned and the error is returned by the next call, so no
    /// record is lost.
    pub fn next_batch(&mut self, n: usize) -> Result<Vec<Record>, DatasetError> {
        // Capped so a huge `n` does not preallocate a huge vector.
        let mut batch = Vec::with_capacity(n.min(8192));
        while batch.len() < n {
            match self.next() {
                None => break,
                Some(Ok(record)) => batch.push(record),
                Some(Err(e)) if batch.is_empty() => return Err(e),
                Some(Err(e)) => {
                    self.pending = Some(Err(e));
                    break;
                }
            }
        }
        Ok(batch)
    }
}

impl Iterator for Reader {
    type Item = Result<Record, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.pending.take().or_else(|| self.rows.next())
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// Opens `path` for streaming reads of `opts.columns`.
///
/// Fails if the format cannot be determined, the file cannot be opened, a requested column
/// is missing from a CSV/TSV header or Parquet schema (or holds bytes there), or
/// the file has no data rows. The first row is read here to detect empty files, so an
/// error in it is returned by the first call to `next`.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Reader, DatasetError> {
    let owned = || path.to_path_buf();
    if opts.columns.is_empty() {
        return Err(DatasetError::NoColumns { path: owned() });
    }
    let format = opts
        .format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| DatasetError::UnknownFormat { path: owned() })?;
    if let (Some(_), Format::Csv | Format::Tsv | Format::Text) = (opts.chat, format) {
        return Err(DatasetError::ChatNeedsNested {
            path: owned(),
            format,
        });
    }
    if format == Format::Text {
        if let Some(bad) = opts.columns.iter().find(|c| *c != "text") {
            return Err(DatasetError::BadColumnForText {
                path: owned(),
                column: bad.clone(),
            });
        }
    }
    let mut file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let compression = compress::sniff(path, &mut file)?;
    let columns = opts.columns.clone();
    let fields = opts.fields();
    let mut format = format;
    let rows: Rows = if format == Format::Parquet {
        if compression != Compression::None {
            return Err(DatasetError::CompressedParquet {
                path: owned(),
                compression,
            });
        }
        Box::new(parquet::ParquetRows::new(owned(), file, fields)?)
    } else {
        let mut input = compress::open_text(path, file, compression)?;
        if matches!(format, Format::Jsonl | Format::JsonArray) {
            let (array, peeked) =
                json_array::starts_with_bracket(input).map_err(|e| DatasetError::io(path, e))?;
            input = peeked;
            if array {
                format = Format::JsonArray;
            }
        }
        match format {
            Format::Csv | Format::Tsv => Box::new(csv::CsvRows::new(
                owned(),
                input,
                columns,
                format == Format::Tsv,
                !opts.no_header,
            )?),
            Format::JsonArray => Box::new(json_array::JsonArrayRows::new(owned(), input, fields)?),
            Format::Jsonl | Format::Text => {
                let buffered = BufReader::with_capacity(READ_BUFFER, input);
                let lines = lines::Lines::new(Box::new(buffered));
                if format == Format::Jsonl {
                    Box::new(jsonl::JsonlRows::new(owned(), lines, fields))
                } else {
                    Box::new(text::TextRows::new(owned(), lines, columns.len()))
                }
            }
            Format::Parquet => unreachable!("handled above"),
        }
    };
    let mut reader = Reader {
        path: owned(),
        format,
        compression,
        rows,
        pending: None,
    };
    match reader.rows.next() {
        None => Err(DatasetError::Empty { path: owned() }),
        // An I/O error before any row: nothing can be read, so fail now.
        Some(Err(e)) if !e.is_row_error() => Err(e),
        first => {
            reader.pending = first;
            Ok(reader)
        }
    }
}

/// The conversation column of `path` for a chat preset that names none: the first of
/// [`CONVERSATION_KEYS`] the file's first row has (for Parquet: its schema).
pub fn conversation_column(path: &Path, opts: &ReadOptions) -> Result<String, DatasetError> {
    for key in CONVERSATION_KEYS {
        let probe = ReadOptions {
            columns: vec![key.to_string()],
            ..opts.clone()
        };
        let is_missing = |e: &DatasetError| match e {
            DatasetError::MissingColumn { .. } => true,
            DatasetError::InArray { error, .. } => {
                matches!(**error, DatasetError::MissingColumn { .. })
            }
            _ => false,
        };
        let missing = match open(path, &probe) {
            Ok(mut reader) => matches!(reader.next(), Some(Err(e)) if is_missing(&e)),
            Err(e) if is_missing(&e) => true,
            Err(e) => return Err(e),
        };
        if !missing {
            return Ok(key.to_string());
        }
    }
    Err(DatasetError::NoConversation {
        path: path.to_path_buf(),
        tried: CONVERSATION_KEYS.iter().map(|k| k.to_string()).collect(),
    })
}

#[cfg(test)]
mod testutil;

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Reader>();
        assert_send::<DatasetError>();
    }

    #[test]
    fn missing_file_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.jsonl");
        let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
        assert!(
            matches!(&err, DatasetError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("cannot read {}: ", path.display())),
            "{msg}"
        );
    }

    #[test]
    fn unknown_format() {
        let (_dir, path) = write_file("data.xlsx", b"whatever");
        let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
        assert!(matches!(err, DatasetError::UnknownFormat { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "cannot tell the format of {} from its name; pass --format",
                path.display()
            )
        );
        // An explicit format overrides the name.
        let (_dir, path) = write_file("data.xlsx", b"a\nb\n");
        let opts = ReadOptions::new(["text"]).with_format(Format::Text);
        assert_eq!(texts(&path, &opts), vec![vec!["a"], vec!["b"]]);
    }

    #[test]
    fn no_columns() {
        let (_dir, path) = write_file("a.jsonl", b"{}\n");
        let err = open(&path, &ReadOptions::new(Vec::<String>::new())).unwrap_err();
        assert!(matches!(err, DatasetError::NoColumns { .. }));
    }

    #[test]
    fn next_batch_splits_and_stops_at_eof() {
        let mut data = String::new();
        for i in 0..10 {
            data.push_str(&format!("{{\"text\":\"t{i}\"}}\n"));
        }
        let (_dir, path) = write_file("a.jsonl", data.as_bytes());
        let mut reader = open(&path, &ReadOptions::new(["text"])).unwrap();
        assert_eq!(reader.path(), path.as_path());
        assert_eq!(reader.format(), Format::Jsonl);
        let sizes: Vec<usize> = std::iter::from_fn(|| {
            let batch = reader.next_batch(4).unwrap();
            (!batch.is_empty()).then_some(batch.len())
        })
        .collect();
        assert_eq!(sizes, vec![4, 4, 2]);
    }

    #[test]
    fn next_batch_keeps_records_before_an_error() {
        let (_dir, path) = write_file(
            "a.jsonl",
            b"{\"text\":\"a\"}\n{\"text\":\"b\"}\n{bad\n{\"text\":\"c\"}\n",
        );
        let mut reader = open(&path, &ReadOptions::new(["text"])).unwrap();
        let first = reader.next_batch(10).unwrap();
        assert_eq!(first.len(), 2);
        let err = reader.next_batch(10).unwrap_err();
        assert!(matches!(err, DatasetError::Json { line: 3, .. }), "{err}");
        // A row error is not fatal: the rest of the file is still readable.
        let rest = reader.next_batch(10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].texts, vec!["c"]);
        assert_eq!(rest[0].row, 3);
        assert!(reader.next_batch(10).unwrap().is_empty());
    }
}
