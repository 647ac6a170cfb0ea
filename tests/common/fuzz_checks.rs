//! Invariant checks shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, which include
//! this file by path) and `tests/fuzz_regressions.rs`, which replays the fuzz seeds and past
//! crash inputs through them.
//!
//! Each `check_*` function takes the raw input bytes, writes them to a file in a [`Scratch`]
//! directory, runs the public API on it and panics when an invariant breaks. The invariants
//! go beyond "no panic":
//!
//! - dataset readers ([`check_jsonl`], [`check_csv`], [`check_text`]): every error names the
//!   file; rows are numbered 0, 1, 2, ... across records and row errors; lines are within the
//!   file and in order; a fatal error ends the iteration; [`dataset::split`] (the second
//!   reader) agrees with [`dataset::open`]: same row count, fails exactly when the reader
//!   meets an error the split cannot skip (and with the same error, at the same line), and
//!   its kept file reads back, in the input's format and compression, as the even rows of
//!   the input (the same texts).
//! - vector files ([`check_store`]): [`VectorFile::open`] accepts exactly the files a
//!   reference validator written from the format description accepts, reports the fields
//!   that are in the bytes, and views the data with the right length; a damaged copy of a
//!   valid file never opens unless its checksums really match its bytes;
//!   [`VectorWriter::resume_or_create`] on a damaged `.partial` always yields a writer whose
//!   finished file opens and keeps only verified rows.
#![allow(dead_code)]

use std::collections::HashMap;
use std::mem::discriminant;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use semsift::dataset::{
    self, Compression, DatasetError, Format, ReadOptions, Record, Route, SplitOptions,
};
use semsift::progress::Silent;
use semsift::store::{
    Dtype, StoreError, VectorFile, VectorWriter, FORMAT_VERSION, HEADER_LEN, MAX_FINGERPRINT_LEN,
};
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64;

/// Readers stop being checked after this many items (a decompression bomb is not a bug).
const MAX_ITEMS: usize = 100_000;

/// A scratch directory for the files the checks write, reused across inputs: in
/// `$SEMSIFT_FUZZ_TMP` if set, else on tmpfs (`/dev/shm`) when there is one, as `split`
/// syncs its output.
pub struct Scratch {
    dir: tempfile::TempDir,
    store_bases: OnceLock<Vec<Base>>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    pub fn new() -> Self {
        let parent = std::env::var_os("SEMSIFT_FUZZ_TMP")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
            .unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix("semsift-fuzz")
            .tempdir_in(parent)
            .expect("create a scratch directory");
        Scratch {
            dir,
            store_bases: OnceLock::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` (removing anything a previous input left next to it).
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write the input file");
        path
    }
}

// ---------------------------------------------------------------------------------------
// Dataset readers
// ---------------------------------------------------------------------------------------

/// JSON Lines (and JSON arrays, chosen by a leading `[`), column `text`.
pub fn check_jsonl(scratch: &Scratch, bytes: &[u8]) {
    let path = scratch.write("input.jsonl", bytes);
    check_dataset(scratch, &path, bytes, &ReadOptions::new(["text"]));
}

/// CSV and TSV, each with a header (column `text`) and without one (column `1`).
pub fn check_csv(scratch: &Scratch, bytes: &[u8]) {
    for ext in ["csv", "tsv"] {
        let path = scratch.write(&format!("input.{ext}"), bytes);
        check_dataset(scratch, &path, bytes, &ReadOptions::new(["text"]));
        check_dataset(
            scratch,
            &path,
            bytes,
            &ReadOptions::new(["1"]).with_no_header(),
        );
    }
}

/// Plain text, column `text`.
pub fn check_text(scratch: &Scratch, bytes: &[u8]) {
    let path = scratch.write("input.txt", bytes);
    check_dataset(scratch, &path, bytes, &ReadOptions::new(["text"]));
}

/// One item the reader yielded.
#[derive(Debug)]
enum Item {
    Row(Record),
    RowError(DatasetError),
}

/// Everything one pass of [`dataset::open`] + `next` produced.
struct Pass {
    format: Format,
    compression: Compression,
    items: Vec<Item>,
    /// The error that ended the iteration, if one did.
    fatal: Option<DatasetError>,
    /// Stopped at [`MAX_ITEMS`].
    truncated: bool,
}

/// Opens `path` and reads it to the end, going on after row errors; checks the invariants
/// of one pass.
fn read_all(path: &Path, opts: &ReadOptions, bytes: &[u8]) -> Result<Pass, DatasetError> {
    let mut reader = match dataset::open(path, opts) {
        Ok(reader) => reader,
        Err(e) => {
            check_error(path, &e);
            return Err(e);
        }
    };
    assert_eq!(reader.path(), path);
    let mut pass = Pass {
        format: reader.format(),
        compression: reader.compression(),
        items: Vec::new(),
        fatal: None,
        truncated: false,
    };
    // The decoded bytes and their line count, when the file is not compressed.
    let lines = (pass.compression == Compression::None).then(|| newlines(bytes) + 1);
    let mut last_line = 0;
    while let Some(item) = reader.next() {
        let index = pass.items.len() as u64;
        match item {
            Ok(record) => {
                assert_eq!(
                    record.row, index,
                    "rows are numbered by the items yielded before"
                );
                assert_eq!(
                    record.texts.len(),
                    opts.columns.len(),
                    "one text per column"
                );
                check_line(record.line, lines, &mut last_line, pass.format);
                if pass.format == Format::Text {
                    assert!(!record.texts[0].contains('\n'), "a text line holds no \\n");
                }
                pass.items.push(Item::Row(record));
            }
            Err(e) if e.is_row_error() => {
                check_error(path, &e);
                if let Some(line) = e.line() {
                    assert!(line >= 1, "lines are 1-based: {e}");
                    if let Some(lines) = lines {
                        assert!(line <= lines, "{e}: past the last line ({lines})");
                    }
                }
                if let DatasetError::InArray { index: i, .. } = &e {
                    assert_eq!(*i, index, "the element index is the row number: {e}");
                }
                pass.items.push(Item::RowError(e));
            }
            Err(e) => {
                check_error(path, &e);
                assert!(
                    reader.next().is_none(),
                    "a fatal error ({e}) ends the iteration"
                );
                pass.fatal = Some(e);
                break;
            }
        }
        if pass.items.len() >= MAX_ITEMS {
            pass.truncated = true;
            break;
        }
    }
    if lines.is_some() && !pass.truncated && pass.fatal.is_none() {
        check_row_count(&pass, bytes);
    }
    Ok(pass)
}

/// Record lines: 1-based, within the file, and in order (strictly for one-line rows).
fn check_line(line: u64, lines: Option<u64>, last: &mut u64, format: Format) {
    assert!(line >= 1, "lines are 1-based");
    if let Some(lines) = lines {
        assert!(line <= lines, "line {line} past the last line ({lines})");
    }
    match format {
        Format::Jsonl | Format::Text => assert!(line > *last, "line {line} after line {last}"),
        _ => assert!(line >= *last, "line {line} after line {last}"),
    }
    *last = line;
}

/// For uncompressed line formats, the item count follows from the bytes: text has one row per
/// line, JSON Lines one per non-blank line.
fn check_row_count(pass: &Pass, bytes: &[u8]) {
    let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    match pass.format {
        Format::Text => {
            assert_eq!(pass.items.len(), lines.len(), "one text row per line");
            for (i, (item, line)) in pass.items.iter().zip(&lines).enumerate() {
                let line = if i + 1 < lines.len() || content.ends_with(b"\n") {
                    line.strip_suffix(b"\r").unwrap_or(line)
                } else {
                    line
                };
                match (item, std::str::from_utf8(line)) {
                    (Item::Row(r), Ok(text)) => assert_eq!(r.texts[0], text, "line {}", i + 1),
                    (Item::RowError(DatasetError::InvalidUtf8 { line: l, .. }), Err(_)) => {
                        assert_eq!(*l, i as u64 + 1)
                    }
                    (item, text) => panic!("line {}: read {item:?}, expected {text:?}", i + 1),
                }
            }
        }
        Format::Jsonl => {
            let rows = lines.iter().filter(|l| !l.trim_ascii().is_empty()).count();
            assert_eq!(pass.items.len(), rows, "one JSONL row per non-blank line");
        }
        _ => {}
    }
}

/// Every error names its file, in [`DatasetError::path`] and in its message, on one line.
fn check_error(path: &Path, e: &DatasetError) {
    assert_eq!(e.path(), path, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "the message names the file: {msg}"
    );
    // "Every message is a single line" (DatasetError's docs), except that MissingColumn lists
    // the available column names as they are, and a JSON key or quoted CSV header field may
    // hold a line break (left as is: a cosmetic issue, reported rather than fixed here).
    let names_break = matches!(e, DatasetError::MissingColumn { available, .. }
        if available.iter().any(|n| n.contains(['\n', '\r'])));
    assert!(
        names_break || !msg.contains(['\n', '\r']),
        "one-line message: {msg:?}"
    );
}

/// Whether `split` goes past a row with this reader error: it does not look at the
/// requested columns (JSON) nor need CSV fields to be UTF-8.
fn split_skips(format: Format, e: &DatasetError) -> bool {
    match (format, e) {
        (Format::Jsonl, DatasetError::MissingColumn { .. } | DatasetError::NullValue { .. }) => {
            true
        }
        (Format::JsonArray, DatasetError::InArray { error, .. }) => matches!(
            **error,
            DatasetError::MissingColumn { .. } | DatasetError::NullValue { .. }
        ),
        (Format::Csv | Format::Tsv, DatasetError::InvalidUtf8 { .. }) => true,
        _ => false,
    }
}

/// Same variant (and inner variant for [`DatasetError::InArray`]) and same line.
fn same_error(a: &DatasetError, b: &DatasetError) -> bool {
    let inner = |e: &DatasetError| match e {
        DatasetError::InArray { error, .. } => Some(discriminant(&**error)),
        _ => None,
    };
    discriminant(a) == discriminant(b) && inner(a) == inner(b) && a.line() == b.line()
}

/// `open` then `split` (rows routed alternately Keep/Remove) then `open` of the kept file.
fn check_dataset(scratch: &Scratch, path: &Path, bytes: &[u8], opts: &ReadOptions) {
    let pass = read_all(path, opts, bytes);
    if matches!(&pass, Ok(p) if p.truncated) {
        return;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .expect("extension");
    let kept = scratch.path(&format!("kept.{ext}"));
    let partial = scratch.path(&format!("kept.{ext}.partial"));
    let _ = std::fs::remove_file(&kept);
    let mut routed = Vec::new();
    let mut removed = Vec::new();
    let split_opts = SplitOptions {
        format: None,
        no_header: opts.no_header,
    };
    let result = dataset::split_with(
        path,
        &split_opts,
        &kept,
        &mut |row| {
            routed.push(row);
            if row % 2 == 0 {
                Route::Keep
            } else {
                Route::Remove
            }
        },
        &mut |row, object| {
            removed.push((row, object));
            Ok(())
        },
        &Silent,
    );
    assert!(!partial.exists(), "split leaves no .partial behind");
    assert!(
        routed.iter().copied().eq(0..routed.len() as u64),
        "rows are routed once each, in order: {routed:?}"
    );
    // The removed rows are the odd rows, in order; a failed split may have stopped at the
    // last row routed (a row that could not be read).
    let odd: Vec<u64> = routed.iter().copied().filter(|r| r % 2 == 1).collect();
    let handed: Vec<u64> = removed.iter().map(|(row, _)| *row).collect();
    assert!(
        handed == odd || (result.is_err() && handed == odd[..odd.len().saturating_sub(1)]),
        "removed rows {handed:?}, routed {routed:?}"
    );
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            assert!(!kept.exists(), "a failed split writes no kept file ({e})");
            assert!(
                !matches!(
                    e,
                    DatasetError::Output { .. } | DatasetError::OutputIsInput { .. }
                ),
                "split cannot write its output: {e}"
            );
            check_error(path, &e);
            match &pass {
                Err(open) if matches!(open, DatasetError::Empty { .. }) => {
                    assert!(matches!(e, DatasetError::Empty { .. }), "{e} vs {open}");
                }
                // A header without the requested column: split does not care about columns.
                Err(DatasetError::MissingColumn { .. }) => {}
                Err(open) => assert!(same_error(&e, open), "split: {e}\nopen: {open}"),
                Ok(pass) => {
                    let first_bad = pass
                        .items
                        .iter()
                        .filter_map(|item| match item {
                            Item::RowError(e) if !split_skips(pass.format, e) => Some(e),
                            _ => None,
                        })
                        .chain(&pass.fatal)
                        .next();
                    match first_bad {
                        Some(bad) => assert!(same_error(&e, bad), "split: {e}\nreader: {bad}"),
                        None => panic!(
                            "split failed ({e}) on a file the reader read without such an error"
                        ),
                    }
                }
            }
            return;
        }
    };
    assert!(kept.exists(), "split wrote the kept file");
    assert_eq!(stats.kept + stats.removed, stats.rows);
    assert_eq!(stats.rows, routed.len() as u64);
    assert_eq!(stats.removed, removed.len() as u64);
    assert_eq!(stats.kept, stats.rows.div_ceil(2));
    let pass = match pass {
        Ok(pass) => pass,
        Err(DatasetError::MissingColumn { .. }) => return,
        Err(e) => panic!("split succeeded ({stats:?}) where open failed: {e}"),
    };
    if let Some(e) = &pass.fatal {
        panic!("split succeeded ({stats:?}) where the reader failed: {e}");
    }
    assert_eq!(
        stats.rows,
        pass.items.len() as u64,
        "split and the reader count the same rows"
    );
    for item in &pass.items {
        if let Item::RowError(e) = item {
            assert!(
                split_skips(pass.format, e),
                "split succeeded ({stats:?}) over a row the reader cannot read: {e}"
            );
        }
    }
    // Removed rows: the same text as the reader's (CSV headers may repeat a name, and the
    // removed object then holds the last such field, so only headerless CSV is compared).
    let compare_removed = !matches!(pass.format, Format::Csv | Format::Tsv) || opts.no_header;
    for (row, object) in &removed {
        if let (true, Item::Row(record)) = (compare_removed, &pass.items[*row as usize]) {
            let value = object.get(&opts.columns[0]);
            let text = match value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => panic!("row {row}: no {:?}", opts.columns[0]),
                Some(other) => other.to_string(),
            };
            assert_eq!(text, record.texts[0], "removed row {row}");
        }
    }
    // The kept file reads back as the kept (even) rows.
    let kept_bytes = std::fs::read(&kept).unwrap();
    let kept_pass = match read_all(&kept, opts, &kept_bytes) {
        Ok(p) => p,
        Err(e) => panic!("the kept file of {stats:?} cannot be read: {e}"),
    };
    assert!(kept_pass.fatal.is_none() && !kept_pass.truncated);
    assert_eq!(
        (kept_pass.format, kept_pass.compression),
        (pass.format, pass.compression),
        "the kept file has the input's format and compression"
    );
    let expected: Vec<&Item> = pass.items.iter().step_by(2).collect();
    assert_eq!(
        kept_pass.items.len(),
        expected.len(),
        "the kept file holds the kept rows"
    );
    for (i, (got, want)) in kept_pass.items.iter().zip(expected).enumerate() {
        match (got, want) {
            (Item::Row(a), Item::Row(b)) => assert_eq!(a.texts, b.texts, "kept row {i}"),
            (Item::RowError(a), Item::RowError(b)) => assert!(
                discriminant(a) == discriminant(b),
                "kept row {i}: {a} vs {b}"
            ),
            (got, want) => panic!("kept row {i}: read back {got:?}, was {want:?}"),
        }
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

// ---------------------------------------------------------------------------------------
// Vector files
// ---------------------------------------------------------------------------------------

const MAGIC: &[u8; 8] = b"SEMSIFTV";
const KEY: u128 = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
const FINGERPRINT: &str = "fuzz:model";

/// A valid vector file that mutations start from.
struct Base {
    dtype: Dtype,
    dim: usize,
    bytes: Vec<u8>,
}

fn bases(scratch: &Scratch) -> &[Base] {
    scratch.store_bases.get_or_init(|| {
        [(Dtype::F32, 4, 3), (Dtype::F16, 5, 3)]
            .into_iter()
            .map(|(dtype, dim, rows)| {
                let path = scratch.path(&format!("base-{dtype}.svec"));
                let mut w = VectorWriter::create(&path, dim, dtype, KEY, FINGERPRINT).unwrap();
                let data: Vec<f32> = (0..rows * dim).map(|i| i as f32 / 8.0 - 1.0).collect();
                w.append(&data).unwrap();
                w.finish().unwrap();
                let bytes = std::fs::read(&path).unwrap();
                Base { dtype, dim, bytes }
            })
            .collect()
    })
}

/// The input as a vector file, then as a script of changes to a valid file: byte 0 picks the
/// base (bit 0: f32 or f16) and what to fix up after the changes (bit 1: the header
/// checksum, bit 2: the data checksum, bit 3: resize to the length in bytes 1..3); then
/// 3-byte changes, `[offset lo, offset hi, value]`, each setting one byte.
pub fn check_store(scratch: &Scratch, bytes: &[u8]) {
    let path = scratch.write("raw.svec", bytes);
    check_vector_file(&path, bytes);

    let Some((&ctrl, mut rest)) = bytes.split_first() else {
        return;
    };
    let base = &bases(scratch)[usize::from(ctrl & 1)];
    let mut file = base.bytes.clone();
    let mut new_len = None;
    if ctrl & 8 != 0 && rest.len() >= 2 {
        new_len = Some(usize::from(u16::from_le_bytes([rest[0], rest[1]])) % (file.len() + 64));
        rest = &rest[2..];
    }
    for change in rest.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([change[0], change[1]])) % file.len();
        file[at] = change[2];
    }
    if let Some(len) = new_len {
        file.resize(len, 0);
    }
    if ctrl & 4 != 0 && file.len() >= HEADER_LEN {
        let sum = xxh3_64(&file[HEADER_LEN..]);
        file[48..56].copy_from_slice(&sum.to_le_bytes());
    }
    if ctrl & 2 != 0 && file.len() >= HEADER_LEN {
        let sum = xxh3_64(&file[..HEADER_LEN - 8]);
        file[HEADER_LEN - 8..HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    }
    let path = scratch.write("mutated.svec", &file);
    // A changed copy opens only if the reference validator, recomputing both checksums over
    // the whole header and data, accepts it (checked here).
    check_vector_file(&path, &file);
    check_resume(scratch, base, &file);
}

/// The fields of a header as the format description lays them out.
#[derive(Debug)]
struct Fields {
    version: u32,
    dtype: u32,
    dim: u32,
    complete: bool,
    rows: u64,
    content_key: u128,
    data_checksum: u64,
    fingerprint: Vec<u8>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Validates a header region from the format description in `src/store/mod.rs`,
/// independently of the decoder: `Ok` with the fields if a reader must accept the header
/// (whether complete or not), else what is wrong.
fn reference_header(b: &[u8]) -> Result<Fields, &'static str> {
    if b.len() < 8 || &b[..8] != MAGIC {
        return Err("magic");
    }
    if b.len() < HEADER_LEN {
        return Err("short");
    }
    if u64_at(b, HEADER_LEN - 8) != xxh3_64(&b[..HEADER_LEN - 8]) {
        return Err("header checksum");
    }
    let f = Fields {
        version: u32_at(b, 8),
        dtype: u32_at(b, 12),
        dim: u32_at(b, 16),
        complete: u32_at(b, 20) & 1 == 1,
        rows: u64_at(b, 24),
        content_key: u128::from_le_bytes(b[32..48].try_into().unwrap()),
        data_checksum: u64_at(b, 48),
        fingerprint: {
            let len = usize::from(u16::from_le_bytes([b[56], b[57]]));
            if len > MAX_FINGERPRINT_LEN {
                return Err("fingerprint length");
            }
            b[58..58 + len].to_vec()
        },
    };
    if f.version != FORMAT_VERSION {
        return Err("version");
    }
    if !matches!(f.dtype, 1 | 2) || f.dim == 0 {
        return Err("shape");
    }
    if std::str::from_utf8(&f.fingerprint).is_err() {
        return Err("fingerprint not UTF-8");
    }
    let size = if f.dtype == 1 { 4 } else { 2 };
    if f.rows
        .checked_mul(u64::from(f.dim) * size)
        .and_then(|n| n.checked_add(HEADER_LEN as u64))
        .is_none()
    {
        return Err("overflow");
    }
    Ok(f)
}

/// What a complete, valid vector file must satisfy, from the format description.
fn reference_validate(b: &[u8]) -> Result<Fields, &'static str> {
    let f = reference_header(b)?;
    if !f.complete {
        return Err("incomplete");
    }
    let size = if f.dtype == 1 { 4 } else { 2 };
    if b.len() as u64 != HEADER_LEN as u64 + f.rows * u64::from(f.dim) * size {
        return Err("length");
    }
    if xxh3_64(&b[HEADER_LEN..]) != f.data_checksum {
        return Err("data checksum");
    }
    Ok(f)
}

/// Opens `bytes` (written at `path`) and checks the result against the reference validator.
/// Returns whether it opened.
fn check_vector_file(path: &Path, bytes: &[u8]) -> bool {
    let reference = reference_validate(bytes);
    match VectorFile::open(path) {
        Ok(file) => {
            let f = reference
                .unwrap_or_else(|why| panic!("opened a file the format rejects ({why}): {file:?}"));
            assert_eq!(file.path(), path);
            assert_eq!(file.format_version(), f.version);
            assert_eq!(file.rows() as u64, f.rows);
            assert_eq!(file.dim() as u64, u64::from(f.dim));
            let dtype = if f.dtype == 1 { Dtype::F32 } else { Dtype::F16 };
            assert_eq!(file.dtype(), dtype);
            assert_eq!(file.content_key(), f.content_key);
            assert_eq!(file.fingerprint().as_bytes(), f.fingerprint);
            let (rows, dim, size) = (file.rows(), file.dim(), dtype.size());
            let data = &bytes[HEADER_LEN..];
            assert_eq!(data.len(), rows * dim * size);
            let values = file.to_f32_vec();
            assert_eq!(values.len(), rows * dim);
            let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            match dtype {
                Dtype::F32 => {
                    let all = file.as_f32().expect("an f32 file is viewed in place");
                    assert!(file.as_f16().is_none());
                    assert_eq!(all.len(), rows * dim);
                    for (i, (v, c)) in values.iter().zip(data.chunks_exact(4)).enumerate() {
                        assert!(same(*v, f32::from_le_bytes(c.try_into().unwrap())), "{i}");
                        assert!(same(*v, all[i]), "{i}");
                    }
                }
                Dtype::F16 => {
                    let all = file.as_f16().expect("an f16 file is viewed in place");
                    assert!(file.as_f32().is_none());
                    assert_eq!(all.len(), rows * dim);
                    for (i, (h, c)) in all.iter().zip(data.chunks_exact(2)).enumerate() {
                        assert_eq!(h.to_bits(), u16::from_le_bytes([c[0], c[1]]), "{i}");
                        assert!(same(values[i], h.to_f32()), "{i}");
                    }
                }
            }
            for i in [0, rows / 2, rows.saturating_sub(1)] {
                if i < rows {
                    let row = file.row(i);
                    assert_eq!(row.len(), dim);
                    for (j, v) in row.iter().enumerate() {
                        assert!(same(*v, values[i * dim + j]), "row {i}");
                    }
                }
            }
            true
        }
        Err(e) => {
            if let Ok(f) = reference {
                panic!("refused a valid file ({e}): {f:?}");
            }
            check_store_error(path, bytes, &e);
            false
        }
    }
}

/// The error names the file and agrees with the bytes.
fn check_store_error(path: &Path, bytes: &[u8], e: &StoreError) {
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "the message names the file: {msg}"
    );
    let bad_magic = bytes.len() < 8 || &bytes[..8] != MAGIC;
    match e {
        StoreError::NotVectorFile { path: p } => {
            assert_eq!(p, path);
            assert!(bad_magic, "{msg}");
        }
        StoreError::Io { .. } => panic!("an existing, readable file gave an I/O error: {msg}"),
        StoreError::Format { path: p, .. }
        | StoreError::NewerVersion { path: p, .. }
        | StoreError::Incomplete { path: p, .. }
        | StoreError::Corrupt { path: p, .. } => {
            assert_eq!(p, path);
            assert!(!bad_magic, "{msg}");
        }
        other => panic!("unexpected error opening a file: {other}"),
    }
    match e {
        StoreError::Incomplete { rows, .. } => {
            let f = reference_header(bytes).expect("incomplete means a valid header");
            assert!(!f.complete);
            assert_eq!(*rows, f.rows);
        }
        StoreError::NewerVersion { found, .. } => {
            assert!(*found > FORMAT_VERSION);
            assert_eq!(*found, u32_at(bytes, 8));
        }
        StoreError::Corrupt { reason, .. } => {
            use semsift::store::Corruption;
            match reason {
                Corruption::ShortHeader { len } => {
                    assert_eq!(*len, bytes.len() as u64);
                    assert!(bytes.len() < HEADER_LEN);
                }
                Corruption::HeaderChecksum { stored, computed } => {
                    assert_eq!(*stored, u64_at(bytes, HEADER_LEN - 8));
                    assert_eq!(*computed, xxh3_64(&bytes[..HEADER_LEN - 8]));
                    assert_ne!(stored, computed);
                }
                Corruption::SizeMismatch { found, expected } => {
                    assert_eq!(*found, bytes.len() as u64);
                    assert_ne!(found, expected);
                }
                Corruption::DataChecksum { stored, computed } => {
                    assert_eq!(*stored, u64_at(bytes, 48));
                    assert_eq!(*computed, xxh3_64(&bytes[HEADER_LEN..]));
                    assert_ne!(stored, computed);
                }
                Corruption::UnknownDtype(code) => {
                    assert_eq!(*code, u32_at(bytes, 12));
                    assert!(!matches!(code, 1 | 2));
                }
                Corruption::InvalidHeader(_) => {}
            }
        }
        _ => {}
    }
}

/// `bytes` as a `.partial` left by a crashed writer of `base`'s shape: resuming must give a
/// writer that keeps only rows the header vouches for, and whose finished file opens.
fn check_resume(scratch: &Scratch, base: &Base, bytes: &[u8]) {
    let dest = scratch.path("resume.svec");
    let partial = scratch.path("resume.svec.partial");
    let _ = std::fs::remove_file(&dest);
    std::fs::write(&partial, bytes).unwrap();
    let mut w = VectorWriter::resume_or_create(&dest, base.dim, base.dtype, KEY, FINGERPRINT)
        .expect("resume_or_create starts over rather than failing");
    let resumed = w.rows();
    let row_bytes = base.dim * base.dtype.size();
    if resumed > 0 {
        let f = reference_header(bytes).expect("resumed from a valid header");
        assert_eq!(f.rows, resumed as u64);
        assert_eq!(
            (f.content_key, f.fingerprint.as_slice()),
            (KEY, FINGERPRINT.as_bytes())
        );
        let end = HEADER_LEN + resumed * row_bytes;
        assert!(bytes.len() >= end, "resumed past the end of the file");
        assert_eq!(xxh3_64(&bytes[HEADER_LEN..end]), f.data_checksum);
    }
    let row: Vec<f32> = (0..base.dim).map(|i| i as f32).collect();
    w.append(&row).unwrap();
    let file = w.finish().expect("a resumed file finishes and opens");
    assert_eq!(file.rows(), resumed + 1);
    let written = std::fs::read(&dest).unwrap();
    let prefix = HEADER_LEN + resumed * row_bytes;
    assert_eq!(
        written[HEADER_LEN..prefix],
        bytes[HEADER_LEN.min(bytes.len())..prefix.min(bytes.len())],
        "resuming keeps the verified rows"
    );
}

// ---------------------------------------------------------------------------------------
// Replay helpers for the regression tests
// ---------------------------------------------------------------------------------------

/// The checks by target name, as the fuzz targets and seed folders are named.
pub fn checks() -> HashMap<&'static str, fn(&Scratch, &[u8])> {
    HashMap::from([
        ("jsonl", check_jsonl as fn(&Scratch, &[u8])),
        ("csv", check_csv),
        ("text", check_text),
        ("store_header", check_store),
    ])
}
