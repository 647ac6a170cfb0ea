//! JSON Lines: one JSON object per line; blank lines are skipped.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use serde_json::{Map, Value};

use super::lines::Lines;
use super::{DatasetError, Field, Record};

/// Non-blank lines parsed together, in parallel, by one call that finds its buffer empty.
const CHUNK_LINES: usize = 4096;
/// A chunk also ends once it holds this many bytes, so huge lines do not pile up.
const CHUNK_BYTES: usize = 8 << 20;

/// Rows of a JSON Lines file. Lines are read in order in chunks; each chunk's lines are
/// parsed in parallel and yielded in order, so the rows, their numbers and their errors
/// are the same as line-by-line parsing gives.
pub(super) struct JsonlRows {
    path: PathBuf,
    lines: Lines,
    fields: Vec<Field>,
    row: u64,
    done: bool,
    /// Parsed rows (and row errors) not yet yielded, in row order.
    ready: VecDeque<Result<Record, DatasetError>>,
}

/// One chunk's lines: `(row, line, end)` each, line `i`'s bytes ending at `end` in `bytes`.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    lines: Vec<(u64, u64, usize)>,
}

impl JsonlRows {
    pub(super) fn new(path: PathBuf, lines: Lines, fields: Vec<Field>) -> Self {
        JsonlRows {
            path,
            lines,
            fields,
            row: 0,
            done: false,
            ready: VecDeque::new(),
        }
    }

    /// Reads the next chunk of non-blank lines and parses it into `ready`. At the end of
    /// the input (or an I/O error, queued last) marks the reader done.
    fn fill(&mut self) {
        let mut chunk = Chunk::default();
        let mut failed = None;
        while chunk.lines.len() < CHUNK_LINES && chunk.bytes.len() < CHUNK_BYTES {
            match self.lines.next_line() {
                Ok(Some((line, bytes))) => {
                    if bytes.trim_ascii().is_empty() {
                        continue;
                    }
                    chunk.bytes.extend_from_slice(bytes);
                    chunk.lines.push((self.row, line, chunk.bytes.len()));
                    self.row += 1;
                }
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    failed = Some(DatasetError::io(&self.path, e));
                    self.done = true;
                    break;
                }
            }
        }
        let parse = |i: usize| {
            let (row, line, end) = chunk.lines[i];
            let start = if i == 0 { 0 } else { chunk.lines[i - 1].2 };
            let Ok(text) = std::str::from_utf8(&chunk.bytes[start..end]) else {
                return Err(DatasetError::InvalidUtf8 {
                    path: self.path.clone(),
                    line,
                });
            };
            parse_row(&self.path, text, line, &self.fields).map(|texts| Record { row, line, texts })
        };
        let n = chunk.lines.len();
        let parsed: Vec<_> = if n >= 64 {
            (0..n).into_par_iter().map(parse).collect()
        } else {
            (0..n).map(parse).collect()
        };
        self.ready.extend(parsed);
        self.ready.extend(failed.map(Err));
    }
}

impl Iterator for JsonlRows {
    type Item = Result<Record, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.ready.is_empty() && !self.done {
            self.fill();
        }
        self.ready.pop_front()
    }
}

/// Parses one line and extracts the requested columns, rendered as described on
/// [`Record`](super::Record).
fn parse_row(
    path: &Path,
    text: &str,
    line: u64,
    fields: &[Field],
) -> Result<Vec<String>, DatasetError> {
    let object = parse_object(path, text, line)?;
    fields
        .iter()
        .map(|field| select(path, line, field, &object))
        .collect()
}

/// Parses one non-blank line (physical line `line`) as a JSON object.
pub(super) fn parse_object(
    path: &Path,
    text: &str,
    line: u64,
) -> Result<Map<String, Value>, DatasetError> {
    let value: Value = serde_json::from_str(text).map_err(|e| json_error(path, text, line, &e))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(DatasetError::NotAnObject {
            path: path.to_path_buf(),
            line,
        }),
    }
}

/// Checks that one non-blank line is a JSON object, without building it.
///
/// Reports the same errors as [`parse_object`]: a line whose first non-whitespace character
/// is `{` is an object if it is valid JSON at all, so it is parsed as [`parse_object`] parses
/// it but nothing is kept (see [`Checked`]); any other line takes the full parse.
pub(super) fn check_object(path: &Path, text: &str, line: u64) -> Result<(), DatasetError> {
    if text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        serde_json::from_str::<Checked>(text)
            .map(drop)
            .map_err(|e| json_error(path, text, line, &e))
    } else {
        parse_object(path, text, line).map(drop)
    }
}

/// Any JSON value, parsed as a [`Value`] is (through `deserialize_any`, so numbers out of
/// the `f64` range and lone surrogates in `\u` escapes are errors) but not kept.
/// `serde::de::IgnoredAny` would be cheaper but only checks the syntax, so it accepts lines
/// [`parse_object`] rejects, such as `{"n": 1e400}`.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Checked)
    }
}

impl<'de> serde::de::Visitor<'de> for Checked {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

fn json_error(path: &Path, text: &str, line: u64, e: &serde_json::Error) -> DatasetError {
    DatasetError::Json {
        path: path.to_path_buf(),
        line,
        column: char_column(text, e.column()),
        message: strip_position(e),
    }
}

/// The text of `field` in `object`, the row at `line` of `path`.
pub(super) fn select(
    path: &Path,
    line: u64,
    field: &Field,
    object: &Map<String, Value>,
) -> Result<String, DatasetError> {
    field.select(object).map_err(|p| p.at(path, line, field))
}

/// Converts serde_json's column (a byte count within the line) to a character count, so it
/// is right on lines with non-ASCII text. Same value on ASCII lines.
fn char_column(text: &str, byte_column: usize) -> u64 {
    let bytes = &text.as_bytes()[..byte_column.min(text.len())];
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
}

/// serde_json's message without its trailing " at line L column C" (we report our own).
pub(super) fn strip_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::testutil::*;
    use super::super::{open, Compression, DatasetError, ReadOptions};

    fn text_opts() -> ReadOptions {
        ReadOptions::new(["text"])
    }

    #[test]
    fn reads_rows_with_positions() {
        let (_dir, path) = write_file("a.jsonl", b"{\"text\":\"hello\"}\n{\"text\":\"world\"}\n");
        let recs = records(&path, &text_opts());
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].row, recs[0].line), (0, 1));
        assert_eq!(recs[0].texts, vec!["hello"]);
        assert_eq!((recs[1].row, recs[1].line), (1, 2));
        assert_eq!(recs[1].texts, vec!["world"]);
    }

    #[test]
    fn multiple_columns_in_request_order() {
        let (_dir, path) = write_file("a.ndjson", b"{\"q\":\"why?\",\"a\":\"because\",\"x\":1}\n");
        let got = texts(&path, &ReadOptions::new(["a", "q", "a"]));
        assert_eq!(got, vec![vec!["because", "why?", "because"]]);
    }

    #[test]
    fn renders_non_string_values() {
        let (_dir, path) = write_file(
            "a.json",
            br#"{"i":3,"f":2.5,"b":true,"n":-7,"arr":[1, "x", null],"obj":{"k": {"z": false}}, "s":"a\"b\u00e9"}"#,
        );
        let got = texts(
            &path,
            &ReadOptions::new(["i", "f", "b", "n", "arr", "obj", "s"]),
        );
        assert_eq!(
            got,
            vec![vec![
                "3",
                "2.5",
                "true",
                "-7",
                r#"[1,"x",null]"#,
                r#"{"k":{"z":false}}"#,
                "a\"b\u{e9}"
            ]]
        );
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let (_dir, path) = write_file(
            "a.jsonl",
            b"\n{\"text\":\"a\"}\n   \t\n\n{\"text\":\"b\"}\n\n",
        );
        let recs = records(&path, &text_opts());
        let got: Vec<(u64, u64, &str)> = recs
            .iter()
            .map(|r| (r.row, r.line, r.texts[0].as_str()))
            .collect();
        assert_eq!(got, vec![(0, 2, "a"), (1, 5, "b")]);
    }

    #[test]
    fn bom_and_crlf() {
        let (_dir, path) = write_file(
            "a.jsonl",
            b"\xEF\xBB\xBF{\"text\":\"a\"}\r\n\r\n{\"text\":\"b\\r\"}\r\n",
        );
        let recs = records(&path, &text_opts());
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].texts, vec!["a"]);
        assert_eq!(recs[1].texts, vec!["b\r"]);
        assert_eq!(recs[1].line, 3);
    }

    #[test]
    fn gzip_and_zstd() {
        let data = b"{\"text\":\"one\"}\n{\"text\":\"two\"}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data).unwrap();
        let mut gz = gz.finish().unwrap();
        // A second gzip member must be read too (MultiGzDecoder).
        let mut second = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        second.write_all(b"{\"text\":\"three\"}\n").unwrap();
        gz.extend(second.finish().unwrap());
        let (_d1, gz_path) = write_file("a.jsonl.gz", &gz);
        let reader = open(&gz_path, &text_opts()).unwrap();
        assert_eq!(reader.compression(), Compression::Gzip);
        let got: Vec<String> = reader.map(|r| r.unwrap().texts.remove(0)).collect();
        assert_eq!(got, vec!["one", "two", "three"]);

        let zst = zstd::encode_all(
            &b"\xEF\xBB\xBF"[..]
                .iter()
                .chain(data)
                .copied()
                .collect::<Vec<_>>()[..],
            3,
        )
        .unwrap();
        let (_d2, zst_path) = write_file("a.jsonl.zst", &zst);
        let reader = open(&zst_path, &text_opts()).unwrap();
        assert_eq!(reader.compression(), Compression::Zstd);
        let got: Vec<String> = reader.map(|r| r.unwrap().texts.remove(0)).collect();
        assert_eq!(got, vec!["one", "two"]);
    }

    #[test]
    fn corrupt_gzip_is_io_error() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&b"{\"text\":\"one\"}\n".repeat(1000)).unwrap();
        let mut gz = gz.finish().unwrap();
        let n = gz.len();
        gz.truncate(n / 2);
        let (_dir, path) = write_file("a.jsonl.gz", &gz);
        let err = first_error(&path, &text_opts());
        assert!(matches!(err, DatasetError::Io { .. }), "{err}");
    }

    #[test]
    fn chunks_parsed_in_parallel_keep_rows_lines_and_errors_in_order() {
        // Three chunks and more; blank, invalid and non-UTF-8 lines on and around the
        // chunk boundaries (counted in non-blank lines), each error in its place.
        let lines = 3 * super::CHUNK_LINES + 100;
        let bad = [0, 4094, 4095, 4096, 8191, 8192, lines - 1];
        let mut data = Vec::new();
        let mut want = Vec::new();
        let mut row = 0u64;
        for i in 0..lines {
            if i % 1000 == 7 {
                data.extend_from_slice(b"  \n");
                continue;
            }
            let line = i as u64 + 1;
            if bad.contains(&i) && i % 2 == 0 {
                data.extend_from_slice(b"{\"text\": nope}\n");
                want.push(Err(("json", line)));
            } else if bad.contains(&i) {
                data.extend_from_slice(b"{\"text\": \"\xff\"}\n");
                want.push(Err(("utf8", line)));
            } else {
                data.extend_from_slice(format!("{{\"text\":\"t{i}\"}}\n").as_bytes());
                want.push(Ok((row, line, format!("t{i}"))));
            }
            row += 1;
        }
        let (_dir, path) = write_file("many.jsonl", &data);
        let got: Vec<_> = open(&path, &text_opts())
            .unwrap()
            .map(|r| match r {
                Ok(rec) => Ok((rec.row, rec.line, rec.texts[0].clone())),
                Err(DatasetError::Json { line, .. }) => Err(("json", line)),
                Err(DatasetError::InvalidUtf8 { line, .. }) => Err(("utf8", line)),
                Err(e) => panic!("unexpected error {e}"),
            })
            .collect();
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
    }

    #[test]
    fn invalid_json_reports_line_and_column() {
        let (_dir, path) = write_file(
            "a.jsonl",
            b"{\"text\":\"a\"}\n\n{\"text\":\"b\"}\n{\"text\": tru}\n",
        );
        let err = first_error(&path, &text_opts());
        match &err {
            DatasetError::Json {
                line,
                column,
                message,
                ..
            } => {
                assert_eq!(*line, 4);
                assert_eq!(*column, 13);
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("unexpected error {other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{}:4:13: invalid JSON: ", path.display())),
            "{msg}"
        );
    }

    #[test]
    fn json_column_counts_characters() {
        let (_dir, path) = write_file("a.jsonl", "{\"text\": \"héllo wörld\" x}\n".as_bytes());
        let err = first_error(&path, &text_opts());
        assert!(
            matches!(
                err,
                DatasetError::Json {
                    line: 1,
                    column: 24,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_reports_line() {
        let (_dir, path) = write_file(
            "a.jsonl",
            b"{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"\xff\xfe\"}\n",
        );
        let err = first_error(&path, &text_opts());
        assert!(
            matches!(err, DatasetError::InvalidUtf8 { line: 3, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("{}:3: invalid UTF-8", path.display())
        );
    }

    #[test]
    fn check_object_rejects_what_parse_object_rejects() {
        // Found by the fuzz invariants (tests/common/fuzz_checks.rs): `IgnoredAny` took the
        // invalid ones, so `split` kept rows the reader reports as invalid JSON.
        let path = std::path::Path::new("a.jsonl");
        let long = format!("{{\"n\": 1{}}}", "0".repeat(400));
        for (text, valid) in [
            (r#"{"text": "a", "n": 1e400}"#, false),
            (r#"{"n": -1.5e309}"#, false),
            (r#"{"n": [0.1e99999]}"#, false),
            (&long, false),
            (r#"{"text": "\ud800"}"#, false),
            (r#"{"\udc00": 1}"#, false),
            (r#"{"a": 1} x"#, false),
            (
                r#"{"text": "ok", "n": 1e308, "x": [1, -2, 3.5, "\ud83d\ude00", null, {}]}"#,
                true,
            ),
        ] {
            let parsed = super::parse_object(path, text, 1).map(drop);
            let checked = super::check_object(path, text, 1);
            assert_eq!(parsed.is_ok(), valid, "{text}");
            assert_eq!(
                parsed.map_err(|e| e.to_string()),
                checked.map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn not_an_object() {
        let (_dir, path) = write_file("a.jsonl", b"{\"text\":\"a\"}\n[1,2]\n");
        let err = first_error(&path, &text_opts());
        assert!(
            matches!(err, DatasetError::NotAnObject { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn missing_column_lists_available() {
        let (_dir, path) = write_file("a.jsonl", b"{\"text\":\"a\"}\n{\"body\":\"b\",\"id\":2}\n");
        let err = first_error(&path, &text_opts());
        match &err {
            DatasetError::MissingColumn {
                line,
                column,
                available,
                ..
            } => {
                assert_eq!(*line, 2);
                assert_eq!(column, "text");
                assert_eq!(available, &vec!["body".to_string(), "id".to_string()]);
            }
            other => panic!("unexpected error {other}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "{}:2: column `text` not found (available: body, id)",
                path.display()
            )
        );
    }

    #[test]
    fn null_value() {
        let (_dir, path) = write_file("a.jsonl", b"{\"text\":null}\n");
        let err = first_error(&path, &text_opts());
        assert!(
            matches!(&err, DatasetError::NullValue { line: 1, column, .. } if column == "text"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("{}:1: column `text` is null", path.display())
        );
    }

    #[test]
    fn empty_files() {
        for contents in [&b""[..], b"\n\n  \n", b"\xEF\xBB\xBF"] {
            let (_dir, path) = write_file("a.jsonl", contents);
            let err = open(&path, &text_opts()).unwrap_err();
            assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
            assert_eq!(
                err.to_string(),
                format!("{}: file is empty (no rows)", path.display())
            );
        }
    }
}
