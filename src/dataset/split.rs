//! Writing a dataset back out: the rows to keep, in the input's own format.
//!
//! [`split`] re-reads an input file, asks the caller where each row goes ([`Route`]),
//! writes the kept rows to a new file in the input's format and compression, and hands each
//! removed row to the caller as a JSON object. Row numbers are those of
//! [`Record::row`](super::Record::row), so the decisions made on rows read by
//! [`open`](super::open) apply to the same rows here.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_select::filter::filter_record_batch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ARROW_SCHEMA_META_KEY};
use parquet::basic::{Compression as Codec, ZstdLevel};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use super::csv::CsvRows;
use super::json_array::{self, Elements};
use super::lines::Lines;
use super::{compress, jsonl, Compression, DatasetError, Format, READ_BUFFER};
use crate::atomic::{partial_path, AtomicFile};
use crate::progress::Progress;

/// Parquet rows decoded per record batch.
const PARQUET_BATCH: usize = 8192;
/// Text-format rows between progress reports and cancellation checks.
const PROGRESS_EVERY: u64 = 8192;
/// Buffer between the encoders and the output file.
const WRITE_BUFFER: usize = 256 << 10;
/// A Parquet row group is closed once its encoded size passes this, bounding the memory the
/// writer holds.
const MAX_ROW_GROUP_BYTES: usize = 128 << 20;

/// Where a row goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// Written to the kept file.
    Keep,
    /// Handed to the `removed` callback of [`split`].
    Remove,
    /// Set aside without being parsed (a row the reader could not read, skipped at the
    /// caller's request): handed to the `removed` callback as `{"raw": text}`, the row as
    /// it stands in the file (JSONL or text line, JSON array element, or CSV/TSV record
    /// written back as one line), with `"raw_lossy": true` added when that text was not
    /// valid UTF-8 and was converted lossily; a Parquet row comes as its object, as a
    /// removed one does. A row routed here need not be readable; any other row must be.
    Skip,
}

/// Counts of a [`split`]: `kept + removed + skipped == rows`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SplitStats {
    /// Data rows read.
    pub rows: u64,
    /// Rows written to the kept file.
    pub kept: u64,
    /// Rows routed to [`Route::Remove`] (handed to the `removed` callback).
    pub removed: u64,
    /// Rows routed to [`Route::Skip`] (also handed to the `removed` callback).
    pub skipped: u64,
}

/// How [`split_with`] reads its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SplitOptions {
    /// The input's format; `None` guesses it from the file name, as
    /// [`open`](super::open) does. [`Format::Jsonl`] and [`Format::JsonArray`] both look at
    /// the contents: a first non-whitespace byte `[` means a JSON array.
    pub format: Option<Format>,
    /// CSV/TSV: the input has no header row (as
    /// [`ReadOptions::no_header`](super::ReadOptions::no_header)); nor will the kept file.
    pub no_header: bool,
}

/// The file name for an output of `format`: `<stem>.jsonl`, `.json` (JSON array), `.csv`,
/// `.tsv`, `.txt` or `.parquet`, with `.gz` / `.zst` appended for a gzip / zstd `compression` (the compression
/// [`split`] uses is the input's, see [`Compression::detect`]).
///
/// Parquet is never wrapped in outer compression, so `compression` is ignored for it.
pub fn output_file_name(stem: &str, format: Format, compression: Compression) -> String {
    let suffix = match (format, compression) {
        (Format::Parquet, _) | (_, Compression::None) => "",
        (_, Compression::Gzip) => ".gz",
        (_, Compression::Zstd) => ".zst",
    };
    format!("{stem}.{}{suffix}", format.extension())
}

/// Re-reads `input` and splits its rows between a kept file and the `removed` callback.
///
/// The format is `format`, or else guessed from the file name as [`open`](super::open) does.
/// `route(row)` is called once for every data row, in order, with the same 0-based row
/// numbers as [`Record::row`](super::Record::row) (blank JSONL lines and the CSV/TSV header
/// are not rows; every line of a text file is). Rows routed to [`Route::Keep`] are written to
/// `kept_path` in input order; for each row routed to [`Route::Remove`],
/// `removed(row, object)` is called, in row order, with the row as a JSON object (and for
/// each row routed to [`Route::Skip`], with the row's raw text, as that variant says). An error
/// from `removed` stops the split and is returned.
///
/// Per format, the kept file holds:
///
/// - **JSONL**: each kept line's bytes exactly as in the input, each ending in `\n` (a
///   byte-order mark and `\r` of CRLF line ends are dropped, and so are blank lines; a line
///   that still ends in `\r` ends in `\r\n`, see Text). The removed object is the parsed
///   line, keys in file order.
/// - **JSON array**: a JSON array holding the kept elements, each one's text exactly as in
///   the input (inner whitespace and newlines included), laid out as `[\n`, the elements
///   separated by `,\n`, then `\n]\n` (`[]\n` when nothing is kept). A byte-order mark is
///   dropped. The removed object is the parsed element, keys in file order. The input is
///   read whole into memory (see [`Format::JsonArray`]).
/// - **CSV / TSV**: the header row (none for a headerless input, see [`split_with`]), then
///   the kept records, written by the csv writer with
///   `\n` line ends: CSV fields are quoted where needed (a field's value is kept, its quoting
///   may change); TSV is never quoted, so its fields are written back byte for byte. The
///   removed object maps each header name to the field's text (a field that is not valid
///   UTF-8 is converted lossily, with a warning; should a header repeat a name, the last
///   such field wins).
/// - **Text**: each kept line followed by `\n`, or by `\r\n` when the line itself ends in
///   `\r` (from `\r\r\n`, or a last line without `\n`), so that it reads back with that
///   `\r` (the reader drops one `\r` before `\n`); the removed object is `{"text": line}`.
/// - **Parquet**: the kept rows with every column of the input's schema, its key-value
///   metadata and its compression codec (Zstandard if that codec cannot be written). The
///   removed object holds every column, as `arrow_json` renders it; nulls are JSON `null`.
///
/// A gzip- or zstd-compressed input (detected by its magic bytes) gives an output with the
/// same compression, whatever `kept_path` is called; [`output_file_name`] gives the matching
/// name.
///
/// The kept file of a text format starts with UTF-8 byte-order marks when its content (its
/// first row: the CSV/TSV header, or the first kept line) would otherwise start with bytes
/// the reader takes for something else: when not compressed, a gzip or zstd magic number (a
/// zstd skippable-frame magic such as `P*M\x18` is valid UTF-8), then one mark is written;
/// or a byte-order mark (a row starting with U+FEFF), then as many marks as the reader
/// drops, one (two for CSV/TSV, whose parser drops a second one). The reader drops those
/// marks, so the kept file reads back as the kept rows; otherwise no mark is written.
///
/// The kept file is written to `<kept_path>.partial` and renamed to `kept_path` only when
/// everything succeeded; on any error the partial file is deleted and `kept_path` is left as
/// it was (an existing file there is replaced on success). Rows are streamed: memory does not
/// grow with the file.
///
/// Progress is reported as the stage `write`, in rows (the total is known for Parquet
/// only); [`Progress::cancelled`] is polled every few thousand rows.
///
/// # Errors
///
/// - [`DatasetError::OutputIsInput`] if `kept_path` (or `<kept_path>.partial`) is `input`.
/// - The reading errors of [`open`](super::open) for the format (unknown format, empty
///   file, invalid JSON / UTF-8 / CSV record with its file and line, Parquet decoding...).
///   Unlike the reader, every row not routed to [`Route::Skip`] must be readable: the
///   first bad one ends the split.
/// - [`DatasetError::Output`] if the kept file cannot be written.
/// - [`DatasetError::Cancelled`] if `progress` asked to stop.
pub fn split(
    input: &Path,
    format: Option<Format>,
    kept_path: &Path,
    route: &mut dyn FnMut(u64) -> Route,
    removed: &mut dyn FnMut(u64, Map<String, Value>) -> Result<(), DatasetError>,
    progress: &dyn Progress,
) -> Result<SplitStats, DatasetError> {
    let opts = SplitOptions {
        format,
        no_header: false,
    };
    split_with(input, &opts, kept_path, route, removed, progress)
}

/// [`split`] with more options: [`SplitOptions::no_header`] reads a CSV/TSV input without
/// a header row (the columns of removed objects are then named `1`..`n`) and writes the
/// kept file without one.
pub fn split_with(
    input: &Path,
    opts: &SplitOptions,
    kept_path: &Path,
    route: &mut dyn FnMut(u64) -> Route,
    removed: &mut dyn FnMut(u64, Map<String, Value>) -> Result<(), DatasetError>,
    progress: &dyn Progress,
) -> Result<SplitStats, DatasetError> {
    let format = opts
        .format
        .or_else(|| Format::from_path(input))
        .ok_or_else(|| DatasetError::UnknownFormat {
            path: input.to_path_buf(),
        })?;
    let mut file = File::open(input).map_err(|e| DatasetError::io(input, e))?;
    let partial = partial_path(kept_path);
    if same_file(input, kept_path) || same_file(input, &partial) {
        return Err(DatasetError::OutputIsInput {
            path: input.to_path_buf(),
        });
    }
    let compression = compress::sniff(input, &mut file)?;
    if format == Format::Parquet && compression != Compression::None {
        return Err(DatasetError::CompressedParquet {
            path: input.to_path_buf(),
            compression,
        });
    }
    let named = Compression::from_path(kept_path);
    if format != Format::Parquet && named != compression {
        tracing::warn!(
            path = %kept_path.display(),
            "the input is {compression}-compressed, so the kept file is too, but its name suggests {named}"
        );
    }
    tracing::debug!(
        input = %input.display(),
        kept = %kept_path.display(),
        %format,
        %compression,
        "splitting dataset"
    );

    let output_error = |e| DatasetError::output(kept_path, e);
    let mut kept = AtomicFile::create(kept_path).map_err(output_error)?;
    let out = kept.take_file().map_err(output_error)?;
    let mut job = Job {
        input,
        kept: kept_path,
        route,
        removed,
        progress,
        stats: SplitStats::default(),
        unreported: 0,
    };
    let out = if format == Format::Parquet {
        job.parquet(file, out)?
    } else {
        let mut text = compress::open_text(input, file, compression)?;
        let mut format = format;
        if matches!(format, Format::Jsonl | Format::JsonArray) {
            let (array, peeked) =
                json_array::starts_with_bracket(text).map_err(|e| DatasetError::io(input, e))?;
            text = peeked;
            if array {
                format = Format::JsonArray;
            }
        }
        // The csv reader drops a second byte-order mark (see `Encoded`).
        let boms_dropped = if matches!(format, Format::Csv | Format::Tsv) {
            2
        } else {
            1
        };
        let mut out =
            Encoded::new(out, compression, boms_dropped).map_err(|e| job.output_error(e))?;
        match format {
            Format::Csv | Format::Tsv => {
                job.csv(text, format == Format::Tsv, !opts.no_header, &mut out)?
            }
            Format::JsonArray => job.json_array(text, &mut out)?,
            Format::Jsonl | Format::Text => job.lines(text, format == Format::Jsonl, &mut out)?,
            Format::Parquet => unreachable!("handled above"),
        }
        out.finish().map_err(|e| job.output_error(e))?
    };
    let stats = job.stats;
    if stats.rows == 0 {
        return Err(DatasetError::Empty {
            path: input.to_path_buf(),
        });
    }
    kept.commit_file(out).map_err(output_error)?;
    progress.end();
    tracing::info!(
        input = %input.display(),
        kept_path = %kept_path.display(),
        rows = stats.rows,
        kept = stats.kept,
        removed = stats.removed,
        "wrote kept rows"
    );
    Ok(stats)
}

/// One run of [`split`]: the callbacks and the running counts.
struct Job<'a> {
    input: &'a Path,
    kept: &'a Path,
    route: &'a mut dyn FnMut(u64) -> Route,
    removed: &'a mut dyn FnMut(u64, Map<String, Value>) -> Result<(), DatasetError>,
    progress: &'a dyn Progress,
    stats: SplitStats,
    /// Rows done but not yet reported to `progress`.
    unreported: u64,
}

impl Job<'_> {
    /// Asks where `row` goes and counts it.
    fn route(&mut self, row: u64) -> Route {
        debug_assert_eq!(row, self.stats.rows, "rows are routed in order");
        self.stats.rows += 1;
        let route = (self.route)(row);
        match route {
            Route::Keep => self.stats.kept += 1,
            Route::Remove => self.stats.removed += 1,
            Route::Skip => self.stats.skipped += 1,
        }
        route
    }

    /// Counts one text-format row done: reports progress and checks for cancellation every
    /// [`PROGRESS_EVERY`] rows.
    fn row_done(&mut self) -> Result<(), DatasetError> {
        self.unreported += 1;
        if self.unreported < PROGRESS_EVERY {
            return Ok(());
        }
        self.advance(0)
    }

    /// Reports `n` more rows (plus any unreported ones) and checks for cancellation.
    fn advance(&mut self, n: u64) -> Result<(), DatasetError> {
        let n = n + std::mem::take(&mut self.unreported);
        if n > 0 {
            self.progress.advance(n);
        }
        if self.progress.cancelled() {
            return Err(DatasetError::Cancelled {
                path: self.input.to_path_buf(),
            });
        }
        Ok(())
    }

    fn output_error(&self, e: io::Error) -> DatasetError {
        DatasetError::output(self.kept, e)
    }

    /// JSON Lines (`jsonl`) or plain text.
    fn lines(
        &mut self,
        input: Box<dyn Read + Send>,
        jsonl: bool,
        out: &mut Encoded,
    ) -> Result<(), DatasetError> {
        self.progress.begin("write", None);
        let path = self.input;
        let mut lines = Lines::new(Box::new(BufReader::with_capacity(READ_BUFFER, input)));
        while let Some((line, bytes)) = lines.next_line().map_err(|e| DatasetError::io(path, e))? {
            if jsonl && bytes.trim_ascii().is_empty() {
                continue;
            }
            let row = self.stats.rows;
            let route = self.route(row);
            if route == Route::Skip {
                (self.removed)(row, raw_object(bytes))?;
                self.row_done()?;
                continue;
            }
            let text = std::str::from_utf8(bytes).map_err(|_| DatasetError::InvalidUtf8 {
                path: path.to_path_buf(),
                line,
            })?;
            match route {
                Route::Keep => {
                    if jsonl {
                        jsonl::check_object(path, text, line)?;
                    }
                    out.write_all(bytes)
                        .and_then(|()| out.write_all(line_end(bytes)))
                        .map_err(|e| DatasetError::output(self.kept, e))?;
                }
                Route::Remove => {
                    let object = if jsonl {
                        jsonl::parse_object(path, text, line)?
                    } else {
                        Map::from_iter([("text".to_string(), Value::String(text.to_string()))])
                    };
                    (self.removed)(row, object)?;
                }
                Route::Skip => unreachable!("handled above"),
            }
            self.row_done()?;
        }
        self.advance(0)
    }

    /// A JSON array: the kept elements' text, as a JSON array.
    fn json_array(
        &mut self,
        input: Box<dyn Read + Send>,
        out: &mut Encoded,
    ) -> Result<(), DatasetError> {
        let mut elements = Elements::new(self.input.to_path_buf(), input)?;
        self.progress.begin("write", None);
        let kept = self.kept;
        let mut write = |bytes: &[u8]| {
            out.write_all(bytes)
                .map_err(|e| DatasetError::output(kept, e))
        };
        let mut first = true;
        while let Some(element) = elements.next_element() {
            let element = element?;
            let row = element.index;
            match self.route(row) {
                Route::Keep => {
                    if !element.value.is_object() {
                        return Err(json_array::not_an_object(self.input, &element));
                    }
                    write(if first { b"[\n" } else { b",\n" })?;
                    write(elements.raw(&element).as_bytes())?;
                    first = false;
                }
                Route::Remove => {
                    let object = json_array::into_object(self.input, element)?;
                    (self.removed)(row, object)?;
                }
                Route::Skip => (self.removed)(row, raw_object(elements.raw(&element).as_bytes()))?,
            }
            self.row_done()?;
        }
        write(if first { b"[]\n" } else { b"\n]\n" })?;
        self.advance(0)
    }

    /// CSV, or TSV (`tsv`: tab-delimited, no quoting); `has_header`: the input starts with a
    /// header row, copied to the kept file.
    fn csv(
        &mut self,
        input: Box<dyn Read + Send>,
        tsv: bool,
        has_header: bool,
        out: &mut Encoded,
    ) -> Result<(), DatasetError> {
        let mut rows = CsvRows::new(self.input.to_path_buf(), input, Vec::new(), tsv, has_header)?;
        self.progress.begin("write", None);
        let mut builder = csv::WriterBuilder::new();
        builder.buffer_capacity(WRITE_BUFFER);
        if tsv {
            builder.delimiter(b'\t').quote_style(csv::QuoteStyle::Never);
        }
        let mut writer = builder.from_writer(out);
        let kept = self.kept;
        let write_error = |e: csv::Error| {
            let source = match e.into_kind() {
                csv::ErrorKind::Io(e) => e,
                other => io::Error::other(format!("{other:?}")),
            };
            DatasetError::output(kept, source)
        };
        if let Some(header) = rows.header() {
            writer.write_byte_record(header).map_err(write_error)?;
        }
        let mut lossy = 0u64;
        while let Some(next) = rows.next_raw() {
            // A malformed record still takes up a row; only a skipped row may be one.
            let row = self.stats.rows;
            let failed = match next {
                Ok(_) => None,
                Err(e) if e.is_row_error() => Some(e),
                Err(e) => return Err(e),
            };
            match self.route(row) {
                Route::Skip => (self.removed)(row, raw_object(&csv_line(rows.record(), tsv)))?,
                _ if failed.is_some() => return Err(failed.expect("checked")),
                Route::Keep => writer
                    .write_byte_record(rows.record())
                    .map_err(write_error)?,
                Route::Remove => {
                    let mut object = Map::with_capacity(rows.names().len());
                    for (name, field) in rows.names().iter().zip(rows.record()) {
                        let text = match std::str::from_utf8(field) {
                            Ok(text) => text.to_string(),
                            Err(_) => {
                                lossy += 1;
                                String::from_utf8_lossy(field).into_owned()
                            }
                        };
                        object.insert(name.clone(), Value::String(text));
                    }
                    (self.removed)(row, object)?;
                }
            }
            self.row_done()?;
        }
        writer
            .flush()
            .map_err(|e| DatasetError::output(self.kept, e))?;
        if lossy > 0 {
            tracing::warn!(
                path = %self.input.display(),
                fields = lossy,
                "removed rows had fields that are not valid UTF-8; they were converted lossily"
            );
        }
        self.advance(0)
    }

    /// Parquet: every column, record batch by record batch. Returns the finished file.
    fn parquet(&mut self, input: File, out: File) -> Result<File, DatasetError> {
        let path = self.input;
        let read_error = |message: String| DatasetError::Parquet {
            path: path.to_path_buf(),
            message,
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(input)
            .map_err(|e| read_error(e.to_string()))?;
        let metadata = builder.metadata().clone();
        let schema = builder.schema().clone();
        let batches = builder
            .with_batch_size(PARQUET_BATCH)
            .build()
            .map_err(|e| read_error(e.to_string()))?;
        let key_value = metadata.file_metadata().key_value_metadata().map(|kvs| {
            kvs.iter()
                .filter(|kv| kv.key != ARROW_SCHEMA_META_KEY)
                .cloned()
                .collect::<Vec<_>>()
        });
        let props = WriterProperties::builder()
            .set_compression(output_codec(&metadata))
            .set_key_value_metadata(key_value.filter(|kvs| !kvs.is_empty()))
            .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
            .build();
        let kept = self.kept;
        let write_error = |e: parquet::errors::ParquetError| {
            DatasetError::output(kept, io::Error::other(e.to_string()))
        };
        let mut writer = ArrowWriter::try_new(out, schema, Some(props)).map_err(write_error)?;
        let total = u64::try_from(metadata.file_metadata().num_rows()).ok();
        self.progress.begin("write", total);
        for batch in batches {
            let batch = batch.map_err(|e| read_error(e.to_string()))?;
            let first = self.stats.rows;
            let keep: Vec<bool> = (first..first + batch.num_rows() as u64)
                .map(|row| self.route(row) == Route::Keep)
                .collect();
            let kept_rows = keep.iter().filter(|&&k| k).count();
            if kept_rows == keep.len() {
                writer.write(&batch).map_err(write_error)?;
            } else if kept_rows > 0 {
                let kept_batch = filter_record_batch(&batch, &BooleanArray::from(keep.clone()))
                    .map_err(|e| read_error(e.to_string()))?;
                writer.write(&kept_batch).map_err(write_error)?;
            }
            if kept_rows < keep.len() {
                let mask = BooleanArray::from(keep.iter().map(|&k| !k).collect::<Vec<_>>());
                let removed_batch =
                    filter_record_batch(&batch, &mask).map_err(|e| read_error(e.to_string()))?;
                let objects = json_objects(&removed_batch).map_err(read_error)?;
                let rows = (first..)
                    .zip(&keep)
                    .filter(|(_, &k)| !k)
                    .map(|(row, _)| row);
                for (row, object) in rows.zip(objects) {
                    (self.removed)(row, object)?;
                }
            }
            self.advance(keep.len() as u64)?;
        }
        writer.into_inner().map_err(write_error)
    }
}

/// The Parquet codec for the kept file: the input's (that of its first column chunk), when
/// this build can write it, else Zstandard.
fn output_codec(metadata: &ParquetMetaData) -> Codec {
    let input = metadata
        .row_groups()
        .first()
        .and_then(|group| group.columns().first())
        .map(|column| column.compression());
    match input {
        Some(codec @ (Codec::UNCOMPRESSED | Codec::SNAPPY | Codec::GZIP(_) | Codec::ZSTD(_))) => {
            codec
        }
        // The deprecated Hadoop-framed LZ4 is read back inconsistently by other tools.
        Some(Codec::LZ4 | Codec::LZ4_RAW) => Codec::LZ4_RAW,
        _ => Codec::ZSTD(ZstdLevel::default()),
    }
}

/// Every row of `batch` as a JSON object (through `arrow_json`, nulls written as `null`).
pub(super) fn json_objects(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>, String> {
    let mut buf = Vec::new();
    let mut writer = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow_json::writer::LineDelimited>(&mut buf);
    writer
        .write(batch)
        .and_then(|()| writer.finish())
        .map_err(|e| format!("cannot convert a removed row to JSON: {e}"))?;
    drop(writer);
    let objects = buf
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(serde_json::from_slice::<Map<String, Value>>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot convert a removed row to JSON: {e}"))?;
    if objects.len() != batch.num_rows() {
        return Err(format!(
            "converting removed rows to JSON gave {} objects for {} rows",
            objects.len(),
            batch.num_rows()
        ));
    }
    Ok(objects)
}

/// The line end to write after a kept JSONL or text line: `\n`, or `\r\n` when the line
/// itself ends in `\r` (from `\r\r\n`, or a last line without `\n`). The line reader drops
/// one `\r` before a `\n`, so `line\r` + `\n` would read back as `line`; `line\r` + `\r\n`
/// reads back as `line\r`.
fn line_end(line: &[u8]) -> &'static [u8] {
    if line.ends_with(b"\r") {
        b"\r\n"
    } else {
        b"\n"
    }
}

/// The object a skipped row is handed over as: `{"raw": text}`, plus `"raw_lossy": true`
/// when `bytes` were not valid UTF-8.
fn raw_object(bytes: &[u8]) -> Map<String, Value> {
    let mut object = Map::new();
    let text = String::from_utf8_lossy(bytes);
    let lossy = matches!(text, std::borrow::Cow::Owned(_));
    object.insert("raw".into(), Value::String(text.into_owned()));
    if lossy {
        object.insert("raw_lossy".into(), Value::Bool(true));
    }
    object
}

/// A CSV/TSV record written back as one line (quoted as the csv writer quotes; TSV never
/// is), without its line end.
fn csv_line(record: &csv::ByteRecord, tsv: bool) -> Vec<u8> {
    let mut builder = csv::WriterBuilder::new();
    if tsv {
        builder.delimiter(b'\t').quote_style(csv::QuoteStyle::Never);
    }
    let mut writer = builder.flexible(true).from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = writer.write_byte_record(record);
    let mut line = writer.into_inner().unwrap_or_default();
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    line
}

/// Whether `a` and `b` both exist and are the same file (same canonical path or, on Unix,
/// same device and inode, which also catches hard links).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (fs::metadata(a), fs::metadata(b)) {
            if a.dev() == b.dev() && a.ino() == b.ino() {
                return true;
            }
        }
    }
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// A UTF-8 byte-order mark, which the readers drop from the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// How many leading bytes of a file the readers look at: 4 to sniff a compression magic
/// number ([`Compression::from_magic`]), 3 to find a BOM.
const HEAD_LEN: usize = 4;

/// The kept file of a text format, compressed like the input.
///
/// The readers look at a file's first bytes before its rows: a compression magic number in
/// the raw bytes makes it read as a compressed stream, and a BOM at the start of the
/// decoded bytes is dropped (by [`compress::open_text`]; the csv reader then drops one more
/// at the start of what it reads). The first kept row may start with either (a zstd
/// skippable-frame magic such as `P*M\x18` is valid UTF-8; U+FEFF is a BOM), so the first
/// [`HEAD_LEN`] bytes are held back until they are known. When they start with a BOM, as
/// many BOMs as the reader drops are written before them; when (output not compressed)
/// they match a compression magic number, one BOM is: the sniffer then sees the BOM, and the
/// reader drops it. Any other content is written as it is.
struct Encoded {
    stream: Stream,
    /// The first bytes written, held back until [`HEAD_LEN`] are known or the end; `None`
    /// once passed on.
    head: Option<Vec<u8>>,
    /// The output is not compressed, so the reader sniffs its content for a magic number.
    sniffed: bool,
    /// How many leading BOMs the format's reader drops: 1, or 2 for CSV/TSV.
    boms_dropped: usize,
}

impl Encoded {
    fn new(file: File, compression: Compression, boms_dropped: usize) -> io::Result<Self> {
        Ok(Encoded {
            stream: Stream::new(file, compression)?,
            head: Some(Vec::with_capacity(HEAD_LEN)),
            sniffed: compression == Compression::None,
            boms_dropped,
        })
    }

    /// Passes the held-back head on, after the BOMs it needs to read back unchanged.
    fn pass_head(&mut self) -> io::Result<()> {
        let Some(head) = self.head.take() else {
            return Ok(());
        };
        let boms = boms_needed(&head, self.sniffed, self.boms_dropped);
        if boms > 0 {
            tracing::debug!(
                boms,
                "the kept file's content starts with a byte-order mark or a compression magic \
                 number; writing byte-order marks first so that it reads back unchanged"
            );
        }
        for _ in 0..boms {
            self.stream.write_all(BOM)?;
        }
        self.stream.write_all(&head)
    }

    /// Writes the held-back head and the compressed stream's end, flushes, and returns the
    /// file.
    fn finish(mut self) -> io::Result<File> {
        self.pass_head()?;
        self.stream.finish()
    }
}

/// How many BOMs content starting with `head` (its first [`HEAD_LEN`] bytes, or all of it
/// if shorter) needs before it to read back unchanged, when the reader drops up to
/// `boms_dropped` leading BOMs: that many if it starts with a BOM itself; one if `sniffed`
/// (not compressed) and it starts with bytes taken for a compression magic number; else
/// none.
fn boms_needed(head: &[u8], sniffed: bool, boms_dropped: usize) -> usize {
    if head.starts_with(BOM) {
        boms_dropped
    } else if sniffed && Compression::from_magic(head) != Compression::None {
        1
    } else {
        0
    }
}

impl Write for Encoded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(head) = &mut self.head else {
            return self.stream.write(buf);
        };
        let taken = buf.len().min(HEAD_LEN - head.len());
        head.extend_from_slice(&buf[..taken]);
        if head.len() == HEAD_LEN {
            self.pass_head()?;
        }
        Ok(taken)
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while self.head.is_some() && !buf.is_empty() {
            let taken = self.write(buf)?;
            buf = &buf[taken..];
        }
        self.stream.write_all(buf)
    }

    /// Flushes what has been passed on; a head still held back stays so until more is
    /// written or [`Encoded::finish`].
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The compressed (or not) stream into the kept file.
enum Stream {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Stream {
    fn new(file: File, compression: Compression) -> io::Result<Self> {
        let buffered = BufWriter::with_capacity(WRITE_BUFFER, file);
        Ok(match compression {
            Compression::None => Stream::Plain(buffered),
            Compression::Gzip => Stream::Gzip(flate2::write::GzEncoder::new(
                buffered,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Stream::Zstd(zstd::stream::write::Encoder::new(buffered, 0)?),
        })
    }

    /// Writes the compressed stream's end, flushes, and returns the file.
    fn finish(self) -> io::Result<File> {
        let buffered = match self {
            Stream::Plain(w) => w,
            Stream::Gzip(w) => w.finish()?,
            Stream::Zstd(w) => w.finish()?,
        };
        buffered
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(w) => w.write(buf),
            Stream::Gzip(w) => w.write(buf),
            Stream::Zstd(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(w) => w.write_all(buf),
            Stream::Gzip(w) => w.write_all(buf),
            Stream::Zstd(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(w) => w.flush(),
            Stream::Gzip(w) => w.flush(),
            Stream::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
    use parquet::file::metadata::KeyValue;
    use serde_json::json;

    use super::super::testutil::*;
    use super::super::{open, ReadOptions};
    use super::*;
    use crate::progress::Silent;

    /// Removes every third row: rows 2, 5, 8, ...
    fn every_third(row: u64) -> Route {
        if (row + 1).is_multiple_of(3) {
            Route::Remove
        } else {
            Route::Keep
        }
    }

    /// What a split did, as seen through its callbacks.
    #[derive(Debug)]
    struct Outcome {
        stats: SplitStats,
        routed: Vec<u64>,
        removed: Vec<(u64, Map<String, Value>)>,
    }

    fn run_with(
        input: &Path,
        format: Option<Format>,
        kept: &Path,
        decide: fn(u64) -> Route,
        progress: &dyn Progress,
    ) -> Result<Outcome, DatasetError> {
        let mut routed = Vec::new();
        let mut removed = Vec::new();
        let stats = split(
            input,
            format,
            kept,
            &mut |row| {
                routed.push(row);
                decide(row)
            },
            &mut |row, object| {
                removed.push((row, object));
                Ok(())
            },
            progress,
        )?;
        assert_eq!(stats.kept + stats.removed, stats.rows);
        assert_eq!(stats.removed, removed.len() as u64);
        assert_eq!(routed, (0..stats.rows).collect::<Vec<_>>());
        Ok(Outcome {
            stats,
            routed,
            removed,
        })
    }

    fn run(input: &Path, kept: &Path) -> Outcome {
        run_with(input, None, kept, every_third, &Silent).unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn decompress(path: &Path) -> Vec<u8> {
        let raw = fs::read(path).unwrap();
        let mut out = Vec::new();
        match Compression::from_magic(&raw) {
            Compression::None => out = raw,
            Compression::Gzip => {
                flate2::read::MultiGzDecoder::new(&raw[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Compression::Zstd => out = zstd::decode_all(&raw[..]).unwrap(),
        }
        out
    }

    fn no_outputs(kept: &Path) {
        assert!(!kept.exists(), "{} exists", kept.display());
        let partial = partial_path(kept);
        assert!(!partial.exists(), "{} exists", partial.display());
    }

    /// Lines of a JSONL file with a BOM, CRLF, blank lines, odd spacing, key order that is
    /// not alphabetical, and no final newline. Rows 2 and 5 are the removed ones.
    const JSONL: &[u8] = b"\xEF\xBB\xBF{\"z\":1,\"a\":\"first\"}\r\n\
        \n\
        {\"text\":\"second\",\"n\":[1,2,{\"k\":null}]}\n\
        \x20  {\"text\": \"third\" , \"a\":true}  \n\
        \t\r\n\
        {\"text\":\"fourth\"}\n\
        {\"text\":\"fifth\",\"nested\":{\"b\":1,\"a\":2.5}}\n\
        {\"text\":\"sixth \\u00e9\",\"big\":12345678901234}";

    const JSONL_KEPT: &[u8] = b"{\"z\":1,\"a\":\"first\"}\n\
        {\"text\":\"second\",\"n\":[1,2,{\"k\":null}]}\n\
        {\"text\":\"fourth\"}\n\
        {\"text\":\"fifth\",\"nested\":{\"b\":1,\"a\":2.5}}\n";

    fn check_jsonl(outcome: &Outcome) {
        assert_eq!(
            outcome.stats,
            SplitStats {
                rows: 6,
                kept: 4,
                removed: 2,
                skipped: 0
            }
        );
        let rows: Vec<u64> = outcome.removed.iter().map(|(r, _)| *r).collect();
        assert_eq!(rows, vec![2, 5]);
        let third = &outcome.removed[0].1;
        assert_eq!(third, &object(json!({"text": "third", "a": true})));
        // Key order is the file's, not alphabetical.
        assert_eq!(third.keys().collect::<Vec<_>>(), vec!["text", "a"]);
        assert_eq!(
            outcome.removed[1].1,
            object(json!({"text": "sixth é", "big": 12345678901234u64}))
        );
    }

    #[test]
    fn jsonl_kept_lines_are_byte_identical() {
        let (dir, input) = write_file("in.jsonl", JSONL);
        let kept = dir.path().join("kept.jsonl");
        let outcome = run(&input, &kept);
        check_jsonl(&outcome);
        assert_eq!(fs::read(&kept).unwrap(), JSONL_KEPT);
        assert!(!partial_path(&kept).exists());
        assert_eq!(fs::read(&input).unwrap(), JSONL, "input untouched");
    }

    #[test]
    fn jsonl_gzip_and_zstd_keep_their_compression() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(JSONL).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(JSONL, 3).unwrap();
        for (name, bytes, compression) in [
            ("in.jsonl.gz", gz, Compression::Gzip),
            ("in.jsonl.zst", zst, Compression::Zstd),
        ] {
            let (dir, input) = write_file(name, &bytes);
            let kept = dir
                .path()
                .join(output_file_name("kept", Format::Jsonl, compression));
            let outcome = run(&input, &kept);
            check_jsonl(&outcome);
            assert_eq!(Compression::detect(&kept).unwrap(), compression, "{name}");
            assert_eq!(decompress(&kept), JSONL_KEPT, "{name}");
            // And the reader reads it back.
            let texts: Vec<String> = open(
                &kept,
                &ReadOptions::new(["text"]).with_format(Format::Jsonl),
            )
            .unwrap()
            .skip(1)
            .map(|r| r.unwrap().texts.remove(0))
            .collect();
            assert_eq!(texts, vec!["second", "fourth", "fifth"]);
        }
    }

    #[test]
    fn row_numbers_match_open() {
        // Blank lines in many places, including the start; the removed rows' texts must be
        // the ones `open` numbers the same.
        let mut data = String::from("\n  \n");
        for i in 0..40 {
            data.push_str(&format!("{{\"text\":\"row {i}\"}}\n"));
            for _ in 0..i % 4 {
                data.push_str(" \t\r\n");
            }
        }
        let (dir, input) = write_file("in.jsonl", data.as_bytes());
        let by_open: Vec<(u64, String)> = records(&input, &ReadOptions::new(["text"]))
            .into_iter()
            .map(|r| (r.row, r.texts[0].clone()))
            .collect();
        let kept = dir.path().join("kept.jsonl");
        let outcome = run(&input, &kept);
        assert_eq!(outcome.stats.rows, by_open.len() as u64);
        assert_eq!(
            outcome.routed,
            by_open.iter().map(|(r, _)| *r).collect::<Vec<_>>()
        );
        let removed: Vec<(u64, String)> = outcome
            .removed
            .iter()
            .map(|(row, obj)| (*row, obj["text"].as_str().unwrap().to_string()))
            .collect();
        let want: Vec<(u64, String)> = by_open
            .iter()
            .filter(|(row, _)| every_third(*row) == Route::Remove)
            .cloned()
            .collect();
        assert_eq!(removed, want);
        let kept_texts: Vec<(u64, String)> = records(&kept, &ReadOptions::new(["text"]))
            .into_iter()
            .map(|r| (r.row, r.texts[0].clone()))
            .collect();
        let want: Vec<String> = by_open
            .iter()
            .filter(|(row, _)| every_third(*row) == Route::Keep)
            .map(|(_, t)| t.clone())
            .collect();
        assert_eq!(
            kept_texts.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
            want
        );
    }

    #[test]
    fn csv_quotes_commas_and_embedded_newlines_round_trip() {
        let data = b"\xEF\xBB\xBFid,text,label\r\n\
            1,plain,x\r\n\
            2,\"quoted, with comma\",y\r\n\
            3,\"two\nlines \"\"q\"\"\",z\r\n\
            4,\"kept\r\nmulti \"\"line\"\"\",w\r\n\
            5,\"\",v\r\n\
            6,last,u";
        let (dir, input) = write_file("in.csv", data);
        let all = texts(&input, &ReadOptions::new(["id", "text", "label"]));
        let kept = dir.path().join("kept.csv");
        let outcome = run(&input, &kept);
        assert_eq!(
            outcome.stats,
            SplitStats {
                rows: 6,
                kept: 4,
                removed: 2,
                skipped: 0
            }
        );
        assert_eq!(
            fs::read_to_string(&kept).unwrap(),
            "id,text,label\n\
             1,plain,x\n\
             2,\"quoted, with comma\",y\n\
             4,\"kept\r\nmulti \"\"line\"\"\",w\n\
             5,,v\n"
        );
        // Same values when read back.
        let back = texts(&kept, &ReadOptions::new(["id", "text", "label"]));
        let want: Vec<Vec<String>> = [0, 1, 3, 4].iter().map(|&i| all[i].clone()).collect();
        assert_eq!(back, want);
        assert_eq!(
            outcome.removed,
            vec![
                (
                    2,
                    object(json!({"id": "3", "text": "two\nlines \"q\"", "label": "z"}))
                ),
                (5, object(json!({"id": "6", "text": "last", "label": "u"}))),
            ]
        );
        assert_eq!(
            outcome.removed[0].1.keys().collect::<Vec<_>>(),
            vec!["id", "text", "label"]
        );
    }

    #[test]
    fn tsv_fields_round_trip_byte_for_byte() {
        let header = "text\tn\tnote\n";
        let rows = [
            "\"quoted\" as is\t1\t'single'\n",
            "second, row\t2\t\n",
            "third \"x\t3\tremoved\n",
            "fourth\\tlit\t4\ta \"b\" c\n",
            "fifth\t5\t\"\n",
            "sixth\t6\tremoved too\n",
            "seventh\t7\tlast\n",
        ];
        let data = format!("{header}{}", rows.concat());
        let (dir, input) = write_file("in.tsv", data.as_bytes());
        let kept = dir.path().join("kept.tsv");
        let outcome = run(&input, &kept);
        assert_eq!(outcome.stats.rows, 7);
        let want: String =
            header.to_string() + &[0, 1, 3, 4, 6].iter().map(|&i| rows[i]).collect::<String>();
        assert_eq!(fs::read_to_string(&kept).unwrap(), want);
        assert_eq!(
            outcome.removed,
            vec![
                (
                    2,
                    object(json!({"text": "third \"x", "n": "3", "note": "removed"}))
                ),
                (
                    5,
                    object(json!({"text": "sixth", "n": "6", "note": "removed too"}))
                ),
            ]
        );
    }

    #[test]
    fn text_lines_including_empty_ones() {
        let (dir, input) = write_file(
            "in.txt",
            b"\xEF\xBB\xBFfirst\r\nsecond\n\nfourth\n\nsixth\nseventh",
        );
        let kept = dir.path().join("kept.txt");
        let outcome = run(&input, &kept);
        assert_eq!(
            outcome.stats,
            SplitStats {
                rows: 7,
                kept: 5,
                removed: 2,
                skipped: 0
            }
        );
        assert_eq!(
            fs::read_to_string(&kept).unwrap(),
            "first\nsecond\nfourth\n\nseventh\n"
        );
        assert_eq!(
            outcome.removed,
            vec![
                (2, object(json!({"text": ""}))),
                (5, object(json!({"text": "sixth"}))),
            ]
        );
    }

    /// Splits `input` keeping every row; returns the kept file's bytes.
    fn keep_all(input: &Path, kept: &Path, opts: &SplitOptions) -> Vec<u8> {
        split_with(
            input,
            opts,
            kept,
            &mut |_| Route::Keep,
            &mut |_, _| Ok(()),
            &Silent,
        )
        .unwrap();
        fs::read(kept).unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// Known issue (A), found by fuzzing: the kept file starts with its first row, not the
    /// input's BOM, and the reader sniffs those bytes for a compression magic number.
    #[test]
    fn kept_content_starting_with_a_compression_magic_gets_a_bom() {
        // Text: the zstd skippable-frame magic `P*M\x18` is valid UTF-8.
        let (dir, input) = write_file("in.txt", b"\xEF\xBB\xBFP*M\x18 text\nsecond\n");
        let kept = dir.path().join("kept.txt");
        let bytes = keep_all(&input, &kept, &SplitOptions::default());
        assert_eq!(bytes, b"\xEF\xBB\xBFP*M\x18 text\nsecond\n");
        assert_eq!(Compression::detect(&kept).unwrap(), Compression::None);
        assert_eq!(
            texts(&kept, &ReadOptions::new(["text"])),
            vec![vec!["P*M\u{18} text"], vec!["second"]]
        );

        // CSV: the header row comes first.
        let (dir, input) = write_file("in.csv", b"\xEF\xBB\xBFP*M\x18,text\n1,a\n");
        let kept = dir.path().join("kept.csv");
        let bytes = keep_all(&input, &kept, &SplitOptions::default());
        assert_eq!(bytes, b"\xEF\xBB\xBFP*M\x18,text\n1,a\n");
        assert_eq!(
            texts(&kept, &ReadOptions::new(["P*M\u{18}", "text"])),
            vec![vec!["1", "a"]]
        );

        // Headerless CSV, after a blank line (not copied): zstd's and gzip's frame magic in a
        // first field that is not valid UTF-8 (split does not need it to be).
        let headerless = SplitOptions {
            format: None,
            no_header: true,
        };
        for first in [&b"\x28\xB5\x2F\xFD"[..], b"\x1F\x8B"] {
            let data = [b"\n", first, b",b\nc,d\n"].concat();
            let (dir, input) = write_file("in.csv", &data);
            let kept = dir.path().join("kept.csv");
            let bytes = keep_all(&input, &kept, &headerless);
            assert_eq!(bytes, [BOM, &data[1..]].concat());
            assert_eq!(Compression::detect(&kept).unwrap(), Compression::None);
            assert_eq!(
                texts(&kept, &ReadOptions::new(["2"]).with_no_header()),
                vec![vec!["b"], vec!["d"]]
            );
        }

        // Inside a compressed stream, magic numbers are not sniffed: no BOM.
        let data = b"P*M\x18 text\nsecond\n";
        let (dir, input) = write_file("in.txt.gz", &gzip(data));
        let kept = dir.path().join("kept.txt.gz");
        keep_all(&input, &kept, &SplitOptions::default());
        assert_eq!(Compression::detect(&kept).unwrap(), Compression::Gzip);
        assert_eq!(decompress(&kept), data);
    }

    /// Known issue (B), found by fuzzing: a first kept row starting with U+FEFF lost it on
    /// re-read, taken for a BOM.
    #[test]
    fn kept_content_starting_with_u_feff_gets_a_bom() {
        // Text, plain and gzip: a BOM, then a line starting with U+FEFF.
        let data = b"\xEF\xBB\xBF\xEF\xBB\xBFa\nb\nc\n";
        for (name, bytes) in [("in.txt", data.to_vec()), ("in.txt.gz", gzip(data))] {
            let (dir, input) = write_file(name, &bytes);
            let compression = Compression::detect(&input).unwrap();
            let kept = dir
                .path()
                .join(output_file_name("kept", Format::Text, compression));
            let outcome = run(&input, &kept);
            assert_eq!(outcome.stats.kept, 2);
            assert_eq!(
                decompress(&kept),
                b"\xEF\xBB\xBF\xEF\xBB\xBFa\nb\n",
                "{name}"
            );
            assert_eq!(Compression::detect(&kept).unwrap(), compression);
            assert_eq!(
                texts(&kept, &ReadOptions::new(["text"])),
                vec![vec!["\u{feff}a"], vec!["b"]],
                "{name}"
            );
        }

        // CSV: after a blank line (not copied), a header name starting with U+FEFF.
        let (dir, input) = write_file("in.csv", b"\n\xEF\xBB\xBFa,b\nc,d\n");
        let kept = dir.path().join("kept.csv");
        // The csv parser drops a second BOM at the start, so two go before the row.
        let bytes = keep_all(&input, &kept, &SplitOptions::default());
        assert_eq!(bytes, [BOM, BOM, b"\xEF\xBB\xBFa,b\nc,d\n"].concat());
        assert_eq!(
            texts(&kept, &ReadOptions::new(["\u{feff}a", "b"])),
            vec![vec!["c", "d"]]
        );
        // Headerless TSV, gzip-compressed: the first record's first field.
        let data = b"\n\xEF\xBB\xBFa\tb\nc\td\n";
        let (dir, input) = write_file("in.tsv.gz", &gzip(data));
        let kept = dir.path().join("kept.tsv.gz");
        let headerless = SplitOptions {
            format: None,
            no_header: true,
        };
        keep_all(&input, &kept, &headerless);
        assert_eq!(decompress(&kept), [BOM, BOM, &data[1..]].concat());
        assert_eq!(
            texts(&kept, &ReadOptions::new(["1", "2"]).with_no_header()),
            vec![vec!["\u{feff}a", "b"], vec!["c", "d"]]
        );
    }

    /// Known issue (C), found by fuzzing: a line ending in `\r` was written as `line\r\n`,
    /// which reads back without the `\r`.
    #[test]
    fn kept_lines_ending_in_cr_keep_it() {
        // From `\r\r\n`, and a last line without `\n`; `\r\n` is still dropped.
        let (dir, input) = write_file("in.txt", b"x\r\r\ny\r\nz\r");
        let kept = dir.path().join("kept.txt");
        let bytes = keep_all(&input, &kept, &SplitOptions::default());
        assert_eq!(bytes, b"x\r\r\ny\nz\r\r\n");
        assert_eq!(
            texts(&kept, &ReadOptions::new(["text"])),
            vec![vec!["x\r"], vec!["y"], vec!["z\r"]]
        );

        // JSONL: the `\r` is JSON whitespace, but the line's bytes are kept whole too.
        let (dir, input) = write_file("in.jsonl", b"{\"text\":\"a\"}\r\r\n{\"text\":\"b\"}\r");
        let kept = dir.path().join("kept.jsonl");
        let bytes = keep_all(&input, &kept, &SplitOptions::default());
        assert_eq!(bytes, b"{\"text\":\"a\"}\r\r\n{\"text\":\"b\"}\r\r\n");
        assert_eq!(
            texts(&kept, &ReadOptions::new(["text"])),
            vec![vec!["a"], vec!["b"]]
        );
    }

    /// [`Encoded`] holds the first bytes back, whatever the writes, and writes a BOM before
    /// them only when the reader would misread them.
    #[test]
    fn encoded_decides_on_the_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let written = |writes: &[&[u8]], compression: Compression, dropped: usize| {
            let path = dir.path().join("out");
            let mut out = Encoded::new(File::create(&path).unwrap(), compression, dropped).unwrap();
            for bytes in writes {
                out.write_all(bytes).unwrap();
                out.flush().unwrap();
            }
            out.finish().unwrap();
            decompress(&path)
        };
        let bom = |n: usize, rest: &[u8]| [BOM.repeat(n), rest.to_vec()].concat();
        let none = Compression::None;
        assert_eq!(written(&[], none, 1), b"");
        assert_eq!(written(&[b"ab", b"", b"c", b"def"], none, 1), b"abcdef");
        // Content shorter than the head: decided at the end, as the reader would.
        assert_eq!(written(&[b"\x1F", b"\x8B"], none, 1), bom(1, b"\x1F\x8B"));
        assert_eq!(written(&[b"\xEF\xBB"], none, 1), b"\xEF\xBB");
        assert_eq!(written(&[b"\xEF\xBB", b"\xBF"], none, 1), bom(2, b""));
        let skippable: &[&[u8]] = &[b"P", b"*M", b"\x18 rest"];
        assert_eq!(written(skippable, none, 1), bom(1, b"P*M\x18 rest"));
        let zstd = b"\x28\xB5\x2F\xFDzz";
        assert_eq!(written(&[zstd], none, 1), bom(1, zstd));
        // A reader that drops two BOMs gets two before a BOM, one before a magic number.
        assert_eq!(written(&[BOM, b"x"], none, 2), bom(3, b"x"));
        assert_eq!(written(&[b"P*M\x18,x"], none, 2), bom(1, b"P*M\x18,x"));
        // Compressed: only a BOM matters.
        assert_eq!(written(&[b"P*M\x18"], Compression::Zstd, 1), b"P*M\x18");
        assert_eq!(written(&[BOM, b"x"], Compression::Gzip, 1), bom(2, b"x"));
    }

    /// A Parquet file of `n` rows: `text` (Utf8), `id` (Int64, null on every 7th row) and
    /// `flag` (Boolean), Snappy-compressed, with key-value metadata `source=test`.
    fn parquet_input(n: usize) -> (tempfile::TempDir, PathBuf, RecordBatch) {
        let text: StringArray = (0..n).map(|i| Some(format!("text {i}"))).collect();
        let id: Int64Array = (0..n)
            .map(|i| (!i.is_multiple_of(7)).then_some(i as i64 * 10))
            .collect();
        let flag: BooleanArray = (0..n).map(|i| Some(i.is_multiple_of(2))).collect();
        let batch = RecordBatch::try_from_iter([
            ("text", Arc::new(text) as ArrayRef),
            ("id", Arc::new(id) as ArrayRef),
            ("flag", Arc::new(flag) as ArrayRef),
        ])
        .unwrap();
        let props = WriterProperties::builder()
            .set_compression(Codec::SNAPPY)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "source".to_string(),
                "test".to_string(),
            )]))
            .set_max_row_group_row_count(Some(5000))
            .build();
        let mut buf = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let (dir, path) = write_file("in.parquet", &buf);
        (dir, path, batch)
    }

    #[test]
    fn parquet_keeps_every_column_across_batches() {
        let n = 20_000;
        let (dir, input, original) = parquet_input(n);
        let kept = dir.path().join("kept.parquet");
        let progress = Recorder::default();
        let outcome = run_with(&input, None, &kept, every_third, &progress).unwrap();
        let removed_count = (0..n as u64)
            .filter(|&r| every_third(r) == Route::Remove)
            .count();
        assert_eq!(
            outcome.stats,
            SplitStats {
                rows: n as u64,
                kept: (n - removed_count) as u64,
                removed: removed_count as u64,
                skipped: 0
            }
        );
        assert_eq!(
            progress.begun(),
            vec![("write".to_string(), Some(n as u64))]
        );
        assert_eq!(progress.advanced.load(Ordering::Relaxed), n as u64);

        // Read back: every column equals the kept subset of the original.
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&kept).unwrap()).unwrap();
        let metadata = reader.metadata().clone();
        let kv = metadata.file_metadata().key_value_metadata().unwrap();
        assert!(kv
            .iter()
            .any(|kv| kv.key == "source" && kv.value.as_deref() == Some("test")));
        assert_eq!(metadata.row_group(0).column(0).compression(), Codec::SNAPPY);
        let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        let back = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
        let keep: Vec<bool> = (0..n as u64)
            .map(|r| every_third(r) == Route::Keep)
            .collect();
        let want = filter_record_batch(&original, &BooleanArray::from(keep)).unwrap();
        assert_eq!(back.num_rows(), want.num_rows());
        assert_eq!(back.schema().fields(), want.schema().fields());
        assert_eq!(back.columns(), want.columns());
        assert!(back.column(1).null_count() > 0);

        // Removed rows: the right numbers, every column, nulls as JSON null.
        assert_eq!(outcome.removed.len(), removed_count);
        for (row, got) in &outcome.removed {
            assert_eq!(every_third(*row), Route::Remove);
            let i = *row as usize;
            let id = if i.is_multiple_of(7) {
                Value::Null
            } else {
                json!(i * 10)
            };
            let want = object(json!({
                "text": format!("text {i}"),
                "id": id,
                "flag": i.is_multiple_of(2),
            }));
            assert_eq!(got, &want, "row {row}");
            assert_eq!(got.keys().collect::<Vec<_>>(), vec!["text", "id", "flag"]);
        }
        // A removed row with a null made it through.
        assert!(outcome.removed.iter().any(|(_, o)| o["id"].is_null()));
    }

    #[test]
    fn parquet_all_kept_or_all_removed() {
        let (dir, input, original) = parquet_input(10);
        let kept = dir.path().join("kept.parquet");
        let outcome = run_with(&input, None, &kept, |_| Route::Keep, &Silent).unwrap();
        assert_eq!(outcome.stats.kept, 10);
        let back: Vec<RecordBatch> =
            ParquetRecordBatchReaderBuilder::try_new(File::open(&kept).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect();
        assert_eq!(back[0].columns(), original.columns());

        let outcome = run_with(&input, None, &kept, |_| Route::Remove, &Silent).unwrap();
        assert_eq!(outcome.stats.removed, 10);
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&kept).unwrap()).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
        assert_eq!(reader.schema().fields(), original.schema().fields());
    }

    #[test]
    fn json_error_mid_file_cleans_up() {
        let mut data = String::new();
        for i in 0..10 {
            data.push_str(&format!("{{\"text\":\"row {i}\"}}\n"));
        }
        data.push_str("\n{\"text\": tru}\n{\"text\":\"after\"}\n");
        let (dir, input) = write_file("in.jsonl", data.as_bytes());
        let kept = dir.path().join("kept.jsonl");
        // Whether the bad row is kept (syntax check only) or removed (full parse), the error
        // is the reader's.
        for decide in [(|_| Route::Keep) as fn(u64) -> Route, |_| Route::Remove] {
            let err = run_with(&input, None, &kept, decide, &Silent).unwrap_err();
            match &err {
                DatasetError::Json {
                    path, line, column, ..
                } => {
                    assert_eq!(path, &input);
                    assert_eq!((*line, *column), (12, 13));
                }
                other => panic!("unexpected error {other}"),
            }
            assert!(err
                .to_string()
                .starts_with(&format!("{}:12:13: invalid JSON: ", input.display())));
            no_outputs(&kept);
        }
        // Not an object, and invalid UTF-8: the reader's errors too.
        let (dir, input) = write_file("b.jsonl", b"{\"text\":\"a\"}\n[1]\n");
        let kept = dir.path().join("kept.jsonl");
        let err = run_with(&input, None, &kept, |_| Route::Keep, &Silent).unwrap_err();
        assert!(
            matches!(err, DatasetError::NotAnObject { line: 2, .. }),
            "{err}"
        );
        let (dir, input) = write_file("c.txt", b"ok\n\xff\n");
        let kept = dir.path().join("kept.txt");
        let err = run_with(&input, None, &kept, |_| Route::Keep, &Silent).unwrap_err();
        assert!(
            matches!(err, DatasetError::InvalidUtf8 { line: 2, .. }),
            "{err}"
        );
        no_outputs(&kept);
    }

    #[test]
    fn failed_split_leaves_an_existing_kept_file_alone() {
        let (dir, input) = write_file("in.csv", b"id,text\n1,a\n2,b,extra\n");
        let kept = dir.path().join("kept.csv");
        fs::write(&kept, b"previous").unwrap();
        let err = run_with(&input, None, &kept, |_| Route::Keep, &Silent).unwrap_err();
        assert!(matches!(err, DatasetError::Csv { line: 3, .. }), "{err}");
        assert_eq!(fs::read(&kept).unwrap(), b"previous");
        assert!(!partial_path(&kept).exists());
        // A successful split replaces it.
        let (_dir2, good) = write_file("in.csv", b"id,text\n1,a\n");
        run_with(&good, None, &kept, |_| Route::Keep, &Silent).unwrap();
        assert_eq!(fs::read_to_string(&kept).unwrap(), "id,text\n1,a\n");
    }

    #[test]
    fn refuses_to_write_over_the_input() {
        let (dir, input) = write_file("in.jsonl", b"{\"text\":\"a\"}\n");
        let same = [
            input.clone(),
            dir.path().join(".").join("in.jsonl"),
            dir.path().join("sub").join("..").join("in.jsonl"),
        ];
        fs::create_dir(dir.path().join("sub")).unwrap();
        for kept in &same {
            let err = run_with(&input, None, kept, |_| Route::Keep, &Silent).unwrap_err();
            assert!(matches!(err, DatasetError::OutputIsInput { .. }), "{err}");
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: refusing to write the output over the input file",
                    input.display()
                )
            );
        }
        // A hard link is the same file too.
        let link = dir.path().join("link.jsonl");
        fs::hard_link(&input, &link).unwrap();
        let err = run_with(&input, None, &link, |_| Route::Keep, &Silent).unwrap_err();
        assert!(matches!(err, DatasetError::OutputIsInput { .. }), "{err}");
        // So is an input that the `.partial` would overwrite.
        let (dir, input) = write_file("x.jsonl.partial", b"{\"text\":\"a\"}\n");
        let kept = dir.path().join("x.jsonl");
        let err =
            run_with(&input, Some(Format::Jsonl), &kept, |_| Route::Keep, &Silent).unwrap_err();
        assert!(matches!(err, DatasetError::OutputIsInput { .. }), "{err}");
        assert_eq!(fs::read(&input).unwrap(), b"{\"text\":\"a\"}\n");
        assert!(!kept.exists());
    }

    #[test]
    fn removed_callback_error_stops_the_split() {
        let (dir, input) = write_file("in.txt", b"a\nb\nc\n");
        let kept = dir.path().join("kept.txt");
        let err = split(
            &input,
            None,
            &kept,
            &mut |_| Route::Remove,
            &mut |_, _| {
                Err(DatasetError::output(
                    Path::new("removed.jsonl"),
                    io::Error::other("disk full"),
                ))
            },
            &Silent,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "cannot write removed.jsonl: disk full");
        no_outputs(&kept);
    }

    #[test]
    fn empty_unknown_and_unwritable() {
        let (dir, input) = write_file("in.jsonl", b"\n \n");
        let kept = dir.path().join("kept.jsonl");
        let err = run_with(&input, None, &kept, every_third, &Silent).unwrap_err();
        assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
        no_outputs(&kept);

        let (dir, input) = write_file("in.xlsx", b"a\n");
        let kept = dir.path().join("kept.txt");
        let err = run_with(&input, None, &kept, every_third, &Silent).unwrap_err();
        assert!(matches!(err, DatasetError::UnknownFormat { .. }), "{err}");
        run_with(&input, Some(Format::Text), &kept, every_third, &Silent).unwrap();
        assert_eq!(fs::read_to_string(&kept).unwrap(), "a\n");

        let kept = dir.path().join("no such dir").join("kept.txt");
        let err = run_with(&input, Some(Format::Text), &kept, every_third, &Silent).unwrap_err();
        assert!(
            matches!(&err, DatasetError::Output { path, .. } if path == &kept),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with(&format!("cannot write {}: ", kept.display())));
    }

    #[test]
    fn progress_and_cancellation() {
        let n = 20_000u64;
        let data: String = (0..n).map(|i| format!("line {i}\n")).collect();
        let (dir, input) = write_file("in.txt", data.as_bytes());
        let kept = dir.path().join("kept.txt");
        let progress = Recorder::default();
        let outcome = run_with(&input, None, &kept, every_third, &progress).unwrap();
        assert_eq!(outcome.stats.rows, n);
        assert_eq!(progress.begun(), vec![("write".to_string(), None)]);
        assert_eq!(progress.advanced.load(Ordering::Relaxed), n);
        assert_eq!(progress.ended.load(Ordering::Relaxed), 1);

        fs::remove_file(&kept).unwrap();
        let progress = Recorder {
            cancel: true,
            ..Recorder::default()
        };
        let err = run_with(&input, None, &kept, every_third, &progress).unwrap_err();
        assert!(matches!(err, DatasetError::Cancelled { .. }), "{err}");
        assert_eq!(progress.advanced.load(Ordering::Relaxed), PROGRESS_EVERY);
        no_outputs(&kept);
    }

    #[test]
    fn output_file_names() {
        assert_eq!(
            output_file_name("kept", Format::Jsonl, Compression::None),
            "kept.jsonl"
        );
        assert_eq!(
            output_file_name("kept", Format::Csv, Compression::Gzip),
            "kept.csv.gz"
        );
        assert_eq!(
            output_file_name("kept", Format::Tsv, Compression::Zstd),
            "kept.tsv.zst"
        );
        assert_eq!(
            output_file_name("kept", Format::Text, Compression::None),
            "kept.txt"
        );
        assert_eq!(
            output_file_name("kept", Format::Parquet, Compression::Zstd),
            "kept.parquet"
        );
    }

    #[test]
    fn json_array_keeps_elements_in_order() {
        let data = b"\xEF\xBB\xBF[\n {\"text\": \"a\", \"n\": 1.50},\n {\"text\": \"b\"},\n {\"text\": \"c\",\n  \"z\": [1, 2]},\n {\"text\": \"d\"}, {\"text\": \"e\"}\n]\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data).unwrap();
        for (name, bytes) in [
            ("in.json", data.to_vec()),
            ("in.json.gz", gz.finish().unwrap()),
        ] {
            let (dir, input) = write_file(name, &bytes);
            let reader = open(&input, &ReadOptions::new(["text"])).unwrap();
            assert_eq!(reader.format(), Format::JsonArray);
            let kept = dir.path().join(output_file_name(
                "kept",
                reader.format(),
                reader.compression(),
            ));
            let outcome =
                run_with(&input, Some(Format::Jsonl), &kept, every_third, &Silent).unwrap();
            assert_eq!(
                outcome.stats,
                SplitStats {
                    rows: 5,
                    kept: 4,
                    removed: 1,
                    skipped: 0
                }
            );
            let text = String::from_utf8(decompress(&kept)).unwrap();
            assert_eq!(
                text,
                "[\n{\"text\": \"a\", \"n\": 1.50},\n{\"text\": \"b\"},\n{\"text\": \"d\"},\n{\"text\": \"e\"}\n]\n"
            );
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                back,
                json!([{"text": "a", "n": 1.5}, {"text": "b"}, {"text": "d"}, {"text": "e"}])
            );
            assert_eq!(
                outcome.removed,
                vec![(2, object(json!({"text": "c", "z": [1, 2]})))]
            );
            // The kept file reads back as a JSON array.
            let again = open(&kept, &ReadOptions::new(["text"])).unwrap();
            assert_eq!(again.format(), Format::JsonArray);
            assert_eq!(again.count(), 4);
        }
        assert_eq!(
            output_file_name("kept", Format::JsonArray, Compression::Gzip),
            "kept.json.gz"
        );
    }

    #[test]
    fn json_array_all_removed_and_errors() {
        let (dir, input) = write_file("in.json", b"[{\"text\":\"a\"},{\"text\":\"b\"}]");
        let kept = dir.path().join("kept.json");
        let outcome = run_with(&input, None, &kept, |_| Route::Remove, &Silent).unwrap();
        assert_eq!(outcome.stats.removed, 2);
        assert_eq!(fs::read_to_string(&kept).unwrap(), "[]\n");

        let (dir, input) = write_file("in.json", b"[]");
        let kept = dir.path().join("kept.json");
        let err = run_with(&input, None, &kept, |_| Route::Keep, &Silent).unwrap_err();
        assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
        no_outputs(&kept);

        let (dir, input) = write_file("in.json", b"[{\"text\":\"a\"},\n2]");
        let kept = dir.path().join("kept.json");
        for decide in [(|_| Route::Keep) as fn(u64) -> Route, |_| Route::Remove] {
            let err = run_with(&input, None, &kept, decide, &Silent).unwrap_err();
            assert!(
                matches!(&err, DatasetError::InArray { index: 1, error } if matches!(**error, DatasetError::NotAnObject { line: 2, .. })),
                "{err}"
            );
            no_outputs(&kept);
        }
        let (dir, input) = write_file("in.json", b"[{\"text\":\"a\"},\n{]");
        let kept = dir.path().join("kept.json");
        let err = run_with(&input, None, &kept, |_| Route::Keep, &Silent).unwrap_err();
        assert!(matches!(err, DatasetError::Json { line: 2, .. }), "{err}");
        no_outputs(&kept);
    }

    #[test]
    fn headerless_csv_and_tsv() {
        for (name, format, data, want) in [
            (
                "in.csv",
                Format::Csv,
                &b"\"1\",\"a, x\",p\r\n2,b,q\r\n3,c,r\r\n4,d,s\r\n"[..],
                "1,\"a, x\",p\n2,b,q\n4,d,s\n",
            ),
            (
                "in.csv",
                Format::Tsv,
                &b"1\t\"a\t\"p\n2\tb\tq\n3\tc\tr\n4\td\ts\n"[..],
                "1\t\"a\t\"p\n2\tb\tq\n4\td\ts\n",
            ),
        ] {
            let (dir, input) = write_file(name, data);
            let recs = records(
                &input,
                &ReadOptions::new(["2", "1"])
                    .with_format(format)
                    .with_no_header(),
            );
            let got: Vec<(u64, u64, &str)> = recs
                .iter()
                .map(|r| (r.row, r.line, r.texts[1].as_str()))
                .collect();
            assert_eq!(
                got,
                vec![(0, 1, "1"), (1, 2, "2"), (2, 3, "3"), (3, 4, "4")]
            );
            let kept = dir.path().join("kept.out");
            let mut removed = Vec::new();
            let stats = split_with(
                &input,
                &SplitOptions {
                    format: Some(format),
                    no_header: true,
                },
                &kept,
                &mut every_third,
                &mut |row, object| {
                    removed.push((row, object));
                    Ok(())
                },
                &Silent,
            )
            .unwrap();
            assert_eq!(
                stats,
                SplitStats {
                    rows: 4,
                    kept: 3,
                    removed: 1,
                    skipped: 0
                }
            );
            assert_eq!(fs::read_to_string(&kept).unwrap(), want, "{format}");
            assert_eq!(
                removed,
                vec![(2, object(json!({"1": "3", "2": "c", "3": "r"})))]
            );
        }
    }

    /// A [`Progress`] that records what it is told and can ask to cancel.
    #[derive(Default)]
    struct Recorder {
        begun: Mutex<Vec<(String, Option<u64>)>>,
        advanced: AtomicU64,
        ended: AtomicU64,
        cancel: bool,
    }

    impl Recorder {
        fn begun(&self) -> Vec<(String, Option<u64>)> {
            self.begun.lock().unwrap().clone()
        }
    }

    impl Progress for Recorder {
        fn begin(&self, stage: &str, total: Option<u64>) {
            self.begun.lock().unwrap().push((stage.to_string(), total));
        }
        fn advance(&self, n: u64) {
            self.advanced.fetch_add(n, Ordering::Relaxed);
        }
        fn end(&self) {
            self.ended.fetch_add(1, Ordering::Relaxed);
        }
        fn cancelled(&self) -> bool {
            self.cancel
        }
    }
}
