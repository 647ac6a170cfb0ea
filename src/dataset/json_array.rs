//! JSON array files: one top-level JSON array of objects, one row per element.
//!
//! Unlike the other formats this one is not streamed: the whole (decompressed) file is read
//! into memory as text first. The elements are then parsed one at a time, as rows are
//! asked for, so only one parsed element is held at once besides the text. A `[` as the
//! first non-whitespace byte of a JSON Lines input is what selects this format
//! ([`starts_with_bracket`]).

use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::jsonl::{select, strip_position};
use super::{DatasetError, Field, Record};

/// Looks at the first non-whitespace byte of `input`: returns whether it is `[`, and a
/// reader giving the same bytes as `input` did (the ones looked at are put back).
pub(super) fn starts_with_bracket(
    mut input: Box<dyn Read + Send>,
) -> io::Result<(bool, Box<dyn Read + Send>)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let first = loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&buf[..n]);
        if let Some(&b) = buf[..n].iter().find(|b| !b.is_ascii_whitespace()) {
            break Some(b);
        }
    };
    Ok((
        first == Some(b'['),
        Box::new(Cursor::new(head).chain(input)),
    ))
}

/// One element of the array.
pub(super) struct Element {
    /// 0-based index in the array (the row number).
    pub(super) index: u64,
    /// 1-based line where the element starts.
    pub(super) line: u64,
    /// The element's byte range in [`Elements::text`].
    pub(super) start: usize,
    pub(super) end: usize,
    /// The parsed element (any JSON value: checking it is an object is up to the caller).
    pub(super) value: Value,
}

/// The elements of a JSON array file, in order, with their positions.
///
/// A syntax error (or a non-array document, or text after the closing `]`) is returned
/// once, as [`DatasetError::Json`] with its line and column, and ends the iteration: after
/// it the element boundaries are unknown.
pub(super) struct Elements {
    path: PathBuf,
    text: String,
    /// Where parsing continues, as a byte offset and its 1-based line.
    pos: usize,
    line: u64,
    index: u64,
    started: bool,
    done: bool,
}

impl Elements {
    /// Reads all of `input` (UTF-8 with any byte-order mark already dropped).
    pub(super) fn new(
        path: PathBuf,
        mut input: Box<dyn Read + Send>,
    ) -> Result<Self, DatasetError> {
        let mut bytes = Vec::new();
        input
            .read_to_end(&mut bytes)
            .map_err(|e| DatasetError::io(&path, e))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            DatasetError::InvalidUtf8 {
                path: path.clone(),
                line: line as u64,
            }
        })?;
        Ok(Elements {
            path,
            text,
            pos: 0,
            line: 1,
            index: 0,
            started: false,
            done: false,
        })
    }

    /// The file being read.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The element's JSON text, exactly as in the file.
    pub(super) fn raw(&self, element: &Element) -> &str {
        &self.text[element.start..element.end]
    }

    /// The next element, `None` after the closing `]` (or after an error).
    pub(super) fn next_element(&mut self) -> Option<Result<Element, DatasetError>> {
        if self.done {
            return None;
        }
        let next = self.step();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }

    fn step(&mut self) -> Result<Option<Element>, DatasetError> {
        self.skip_whitespace();
        if !self.started {
            if self.peek() != Some(b'[') {
                return Err(self.error_at(self.pos, "expected `[` (a JSON array)"));
            }
            self.started = true;
            self.advance_to(self.pos + 1);
            self.skip_whitespace();
            if self.peek() == Some(b']') {
                return self.close();
            }
        } else {
            match self.peek() {
                Some(b',') => {
                    self.advance_to(self.pos + 1);
                    self.skip_whitespace();
                }
                Some(b']') => return self.close(),
                None => return Err(self.error_at(self.pos, "EOF while parsing a list")),
                Some(_) => return Err(self.error_at(self.pos, "expected `,` or `]`")),
            }
        }
        let start = self.pos;
        let mut stream =
            serde_json::Deserializer::from_str(&self.text[start..]).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(value)) => value,
            Some(Err(e)) => return Err(self.serde_error(start, &e)),
            None => return Err(self.error_at(self.text.len(), "EOF while parsing a list")),
        };
        let end = start + stream.byte_offset();
        let element = Element {
            index: self.index,
            line: self.line,
            start,
            end,
            value,
        };
        self.index += 1;
        self.advance_to(end);
        Ok(Some(element))
    }

    /// After the closing `]`: only whitespace may follow.
    fn close(&mut self) -> Result<Option<Element>, DatasetError> {
        self.advance_to(self.pos + 1);
        self.skip_whitespace();
        if self.pos < self.text.len() {
            return Err(self.error_at(self.pos, "trailing characters after the JSON array"));
        }
        Ok(None)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.text.as_bytes()[self.pos..];
        let n = rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(rest.len());
        self.advance_to(self.pos + n);
    }

    /// Moves to byte `to` (not before the current position), counting lines.
    fn advance_to(&mut self, to: usize) {
        let to = to.min(self.text.len());
        self.line += newlines(&self.text.as_bytes()[self.pos..to]);
        self.pos = to;
    }

    /// A syntax error at byte `at` (not before the current position).
    fn error_at(&self, at: usize, message: &str) -> DatasetError {
        let (line, column) = self.position(at);
        DatasetError::Json {
            path: self.path.clone(),
            line,
            column,
            message: message.to_string(),
        }
    }

    /// A serde_json error from parsing the text starting at byte `start`.
    fn serde_error(&self, start: usize, e: &serde_json::Error) -> DatasetError {
        let bytes = &self.text.as_bytes()[start..];
        // serde_json's line and 1-based column are relative to `start`.
        let line_start = match e.line() {
            0 | 1 => 0,
            n => bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .nth(n - 2)
                .map_or(bytes.len(), |(i, _)| i + 1),
        };
        let at = start + line_start + e.column().saturating_sub(1);
        let (line, column) = self.position(at);
        DatasetError::Json {
            path: self.path.clone(),
            line,
            column,
            message: strip_position(e),
        }
    }

    /// The 1-based line and character column of byte `at` (not before the current position).
    fn position(&self, at: usize) -> (u64, u64) {
        let bytes = self.text.as_bytes();
        let at = at.clamp(self.pos, bytes.len());
        let line = self.line + newlines(&bytes[self.pos..at]);
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let chars = bytes[line_start..at]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count() as u64;
        (line, chars + 1)
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// `element`'s value as a JSON object, or [`DatasetError::NotAnObject`] (in
/// [`DatasetError::InArray`]).
pub(super) fn into_object(
    path: &Path,
    element: Element,
) -> Result<Map<String, Value>, DatasetError> {
    match element.value {
        Value::Object(object) => Ok(object),
        _ => Err(not_an_object(path, &element)),
    }
}

/// The error for `element` not being an object.
pub(super) fn not_an_object(path: &Path, element: &Element) -> DatasetError {
    in_array(
        element.index,
        DatasetError::NotAnObject {
            path: path.to_path_buf(),
            line: element.line,
        },
    )
}

fn in_array(index: u64, error: DatasetError) -> DatasetError {
    DatasetError::InArray {
        index,
        error: Box::new(error),
    }
}

/// Rows of a JSON array file.
pub(super) struct JsonArrayRows {
    elements: Elements,
    fields: Vec<Field>,
}

impl JsonArrayRows {
    pub(super) fn new(
        path: PathBuf,
        input: Box<dyn Read + Send>,
        fields: Vec<Field>,
    ) -> Result<Self, DatasetError> {
        Ok(JsonArrayRows {
            elements: Elements::new(path, input)?,
            fields,
        })
    }
}

impl Iterator for JsonArrayRows {
    type Item = Result<Record, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let element = match self.elements.next_element()? {
            Ok(element) => element,
            Err(e) => return Some(Err(e)),
        };
        let path = self.elements.path();
        let (row, line) = (element.index, element.line);
        let texts = into_object(path, element).and_then(|object| {
            self.fields
                .iter()
                .map(|field| select(path, line, field, &object).map_err(|e| in_array(row, e)))
                .collect::<Result<Vec<_>, _>>()
        });
        Some(texts.map(|texts| Record { row, line, texts }))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::testutil::*;
    use super::super::{open, Compression, DatasetError, Format, ReadOptions};

    const ARRAY: &[u8] = b"\xEF\xBB\xBF \n[\n  {\"text\": \"a\", \"n\": 1},\n  {\"text\": \"b\",\n   \"n\": [1, {\"k\": null}]},\n{\"text\":\"c\",\"n\":{\"x\" : 2.5}}\n]\n";

    #[test]
    fn reads_elements_with_rows_and_lines() {
        let (_dir, path) = write_file("a.json", ARRAY);
        let reader = open(&path, &ReadOptions::new(["text", "n"])).unwrap();
        assert_eq!(reader.format(), Format::JsonArray);
        let got: Vec<(u64, u64, Vec<String>)> = reader
            .map(|r| r.unwrap())
            .map(|r| (r.row, r.line, r.texts))
            .collect();
        let want = |row, line, t: &str, n: &str| (row, line, vec![t.to_string(), n.to_string()]);
        assert_eq!(
            got,
            vec![
                want(0, 3, "a", "1"),
                want(1, 4, "b", r#"[1,{"k":null}]"#),
                want(2, 6, "c", r#"{"x":2.5}"#),
            ]
        );
        // An explicit JSON Lines format looks at the contents too.
        let opts = ReadOptions::new(["text"]).with_format(Format::Jsonl);
        assert_eq!(texts(&path, &opts), vec![vec!["a"], vec!["b"], vec!["c"]]);
    }

    #[test]
    fn gzip_array() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(ARRAY).unwrap();
        let (_dir, path) = write_file("a.json.gz", &gz.finish().unwrap());
        let reader = open(&path, &ReadOptions::new(["text"])).unwrap();
        assert_eq!(reader.compression(), Compression::Gzip);
        assert_eq!(reader.format(), Format::JsonArray);
        let got: Vec<String> = reader.map(|r| r.unwrap().texts.remove(0)).collect();
        assert_eq!(got, vec!["a", "b", "c"]);
    }

    #[test]
    fn empty_array_is_empty() {
        for data in [&b"[]"[..], b" \n [ \n ] \n"] {
            let (_dir, path) = write_file("a.json", data);
            let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
            assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
        }
    }

    #[test]
    fn element_errors_name_the_index() {
        let (_dir, path) = write_file(
            "a.json",
            b"[{\"text\":\"a\"},\n{\"other\":1},\n{\"text\":null},\n[1],\n{\"text\":\"e\"}]",
        );
        let results: Vec<_> = open(&path, &ReadOptions::new(["text"])).unwrap().collect();
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].as_ref().unwrap().texts, vec!["a"]);
        assert_eq!(results[4].as_ref().unwrap().texts, vec!["e"]);
        assert_eq!(results[4].as_ref().unwrap().row, 4);
        let err = |i: usize| results[i].as_ref().unwrap_err();
        match err(1) {
            DatasetError::InArray { index: 1, error } => match &**error {
                DatasetError::MissingColumn {
                    line: 2,
                    column,
                    available,
                    ..
                } => {
                    assert_eq!(column, "text");
                    assert_eq!(available, &vec!["other".to_string()]);
                }
                other => panic!("unexpected {other}"),
            },
            other => panic!("unexpected {other}"),
        }
        assert_eq!(
            err(1).to_string(),
            format!(
                "{}:2: column `text` not found (available: other) (element 1 of the JSON array)",
                path.display()
            )
        );
        assert!(err(1).is_row_error());
        assert_eq!(err(1).path(), path.as_path());
        assert!(
            matches!(err(2), DatasetError::InArray { index: 2, error }
                if matches!(&**error, DatasetError::NullValue { line: 3, column, .. } if column == "text")),
            "{}",
            err(2)
        );
        assert!(
            matches!(err(3), DatasetError::InArray { index: 3, error }
                if matches!(**error, DatasetError::NotAnObject { line: 4, .. })),
            "{}",
            err(3)
        );
        assert!(err(3)
            .to_string()
            .ends_with(":4: expected a JSON object (one per row) (element 3 of the JSON array)"));
    }

    #[test]
    fn syntax_errors_have_line_and_column_and_end_reading() {
        let cases: [(&[u8], u64, u64); 5] = [
            (b"[{\"text\":\"a\"},\n {\"text\": tru}]", 2, 14),
            (b"[{\"text\":\"a\"} {\"text\":\"b\"}]", 1, 15),
            (b"[{\"text\":\"a\"},]", 1, 15),
            (b"[{\"text\":\"a\"}", 1, 14),
            (b"[{\"text\":\"a\"}]\n x", 2, 2),
        ];
        for (data, line, column) in cases {
            let (_dir, path) = write_file("a.json", data);
            let results: Vec<_> = open(&path, &ReadOptions::new(["text"])).unwrap().collect();
            assert_eq!(results.len(), 2, "{:?}", String::from_utf8_lossy(data));
            assert_eq!(results[0].as_ref().unwrap().texts, vec!["a"]);
            match results[1].as_ref().unwrap_err() {
                DatasetError::Json {
                    line: l, column: c, ..
                } => assert_eq!(
                    (*l, *c),
                    (line, column),
                    "{:?}",
                    String::from_utf8_lossy(data)
                ),
                other => panic!("unexpected {other}"),
            }
        }
        // Invalid UTF-8 anywhere: the file cannot be read at all.
        let (_dir, path) = write_file("a.json", b"[{\"text\":\"a\"},\n{\"text\":\"\xff\"}]");
        let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
        assert!(
            matches!(err, DatasetError::InvalidUtf8 { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn jsonl_is_still_jsonl() {
        let (_dir, path) = write_file("a.json", b"\n{\"text\":\"a\"}\n{\"text\":\"b\"}\n");
        let reader = open(&path, &ReadOptions::new(["text"])).unwrap();
        assert_eq!(reader.format(), Format::Jsonl);
        let got: Vec<(u64, u64)> = reader
            .map(|r| r.unwrap())
            .map(|r| (r.row, r.line))
            .collect();
        assert_eq!(got, vec![(0, 2), (1, 3)]);
    }
}
