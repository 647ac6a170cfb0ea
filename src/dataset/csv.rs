//! CSV and TSV: a header row (unless there is none, and the columns are named `1`..`n`),
//! then one record per row (fields may span lines in CSV).

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use csv::{ByteRecord, ErrorKind, ReaderBuilder};

use super::{DatasetError, Record};

/// Rows of a CSV or TSV file.
pub(super) struct CsvRows {
    path: PathBuf,
    reader: csv::Reader<Tail>,
    /// The header record, as read; `None` for a file without one.
    header: Option<ByteRecord>,
    /// The header's field names, in file order.
    names: Vec<String>,
    /// Field index of each requested column.
    indices: Vec<usize>,
    columns: Vec<String>,
    record: ByteRecord,
    row: u64,
    done: bool,
}

impl CsvRows {
    /// Reads the header and resolves `columns` against it (which may be empty, to read
    /// whole records with [`CsvRows::next_raw`]). `tsv` selects a tab delimiter with quoting
    /// disabled (fields are taken literally); CSV uses standard quoting. Without
    /// `has_header`, the first record is data too and the columns are named `1`..`n`, `n`
    /// being the first record's field count.
    pub(super) fn new(
        path: PathBuf,
        input: Box<dyn Read + Send>,
        columns: Vec<String>,
        tsv: bool,
        has_header: bool,
    ) -> Result<Self, DatasetError> {
        let mut builder = ReaderBuilder::new();
        builder
            .has_headers(has_header)
            .flexible(false)
            .buffer_capacity(64 << 10);
        if tsv {
            builder.delimiter(b'\t').quoting(false);
        }
        let mut reader = builder.from_reader(Tail::new(input));
        // Without a header, this is the first record, which is read again as data.
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(&path, e, 1, has_header))?
            .clone();
        if header.is_empty() {
            return Err(DatasetError::Empty { path });
        }
        let header_line = start_line(&reader, &header);
        let names = if has_header {
            header
                .iter()
                .map(|f| std::str::from_utf8(f).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| DatasetError::InvalidUtf8 {
                    path: path.clone(),
                    line: header_line,
                })?
        } else {
            (1..=header.len()).map(|i| i.to_string()).collect()
        };
        let indices = columns
            .iter()
            .map(|c| {
                names
                    .iter()
                    .position(|n| n == c)
                    .ok_or_else(|| DatasetError::MissingColumn {
                        path: path.clone(),
                        line: header_line,
                        column: c.clone(),
                        available: names.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CsvRows {
            path,
            reader,
            header: has_header.then_some(header),
            names,
            indices,
            columns,
            record: ByteRecord::new(),
            row: 0,
            done: false,
        })
    }

    /// The header record (field names as raw bytes); `None` for a file without one.
    pub(super) fn header(&self) -> Option<&ByteRecord> {
        self.header.as_ref()
    }

    /// The column names, in file order: the header's, or `1`..`n` without one.
    pub(super) fn names(&self) -> &[String] {
        &self.names
    }

    /// The record last read by [`CsvRows::next_raw`].
    pub(super) fn record(&self) -> &ByteRecord {
        &self.record
    }

    /// Reads the next record into [`CsvRows::record`] and returns its row index and 1-based
    /// start line, or `None` at end of input. Row numbers and errors are those of the
    /// iterator: a malformed record still takes up a row index.
    pub(super) fn next_raw(&mut self) -> Option<Result<(u64, u64), DatasetError>> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                let line = start_line(&self.reader, &self.record);
                let e = csv_error(&self.path, e, line, self.header.is_some());
                if e.is_row_error() {
                    self.row += 1;
                } else {
                    self.done = true;
                }
                return Some(Err(e));
            }
        }
        let line = start_line(&self.reader, &self.record);
        let row = self.row;
        self.row += 1;
        Some(Ok((row, line)))
    }

    fn texts(&self, line: u64) -> Result<Vec<String>, DatasetError> {
        self.indices
            .iter()
            .zip(&self.columns)
            .map(|(&i, column)| {
                let field = self.record.get(i).ok_or_else(|| DatasetError::Csv {
                    path: self.path.clone(),
                    line,
                    message: format!("record has no field for column `{column}`"),
                })?;
                std::str::from_utf8(field).map(str::to_string).map_err(|_| {
                    DatasetError::InvalidUtf8 {
                        path: self.path.clone(),
                        line,
                    }
                })
            })
            .collect()
    }
}

impl Iterator for CsvRows {
    type Item = Result<Record, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.next_raw()?
                .and_then(|(row, line)| self.texts(line).map(|texts| Record { row, line, texts })),
        )
    }
}

/// The 1-based line where `record`, just read by `reader`, starts.
///
/// The csv crate's record position is where the previous record ended, which is a line too
/// early after a CRLF terminator (the `\n` is consumed with the next record) or blank lines.
/// So count back from the end instead: the current line, less the newlines inside the
/// record's fields, less one if the record's terminator was a consumed `\n`.
fn start_line(reader: &csv::Reader<Tail>, record: &ByteRecord) -> u64 {
    let end = reader.position();
    let last = end
        .byte()
        .checked_sub(1)
        .and_then(|b| reader.get_ref().byte_at(b));
    let Some(last) = last else {
        return record.position().map_or(end.line(), |p| p.line());
    };
    let inner = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    let counted_back = end
        .line()
        .saturating_sub(inner + u64::from(last == b'\n'))
        .max(1);
    // Counting back is a line early for a record cut short by the end of the input (an
    // unclosed quote) whose last field ends in `\n`: no terminator was consumed. The
    // crate's position, where the previous record ended, is never past the start, so the
    // larger of the two is right in both cases.
    counted_back.max(record.position().map_or(1, |p| p.line()))
}

/// Remembers the last bytes read through it, so the byte that ended a record can be
/// looked up after the csv reader has consumed it.
struct Tail {
    inner: Box<dyn Read + Send>,
    ring: Vec<u8>,
    /// Total bytes read so far.
    total: u64,
}

impl Tail {
    /// Larger than the csv reader's buffer, so a byte it has just consumed is still here.
    const SIZE: usize = 256 << 10;

    fn new(inner: Box<dyn Read + Send>) -> Self {
        Tail {
            inner,
            ring: vec![0; Self::SIZE],
            total: 0,
        }
    }

    /// The byte at stream offset `offset`, if it is among the last `SIZE` bytes read.
    fn byte_at(&self, offset: u64) -> Option<u8> {
        let size = Self::SIZE as u64;
        (offset < self.total && self.total - offset <= size)
            .then(|| self.ring[(offset % size) as usize])
    }
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // Keep at most the last SIZE bytes of this read, copied in at most two pieces.
        let skip = n.saturating_sub(Self::SIZE);
        let mut data = &buf[skip..n];
        let mut at = ((self.total + skip as u64) % Self::SIZE as u64) as usize;
        while !data.is_empty() {
            let len = data.len().min(Self::SIZE - at);
            self.ring[at..at + len].copy_from_slice(&data[..len]);
            data = &data[len..];
            at = 0;
        }
        self.total += n as u64;
        Ok(n)
    }
}

fn csv_error(path: &Path, e: csv::Error, line: u64, has_header: bool) -> DatasetError {
    let message = match e.into_kind() {
        ErrorKind::Io(source) => return DatasetError::io(path, source),
        ErrorKind::Utf8 { .. } => {
            return DatasetError::InvalidUtf8 {
                path: path.to_path_buf(),
                line,
            }
        }
        ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            let first = if has_header {
                "the header"
            } else {
                "the first record"
            };
            format!("expected {expected_len} fields (as in {first}), found {len}")
        }
        // Seek/serialize/deserialize errors cannot occur when reading byte records.
        other => format!("{other:?}"),
    };
    DatasetError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::super::testutil::*;
    use super::super::{open, DatasetError, Format, ReadOptions};
    use super::Tail;

    #[test]
    fn a_quote_left_open_to_the_end_starts_on_its_own_line() {
        // Found by fuzzing: the last record runs to the end inside a quote, its last field
        // ending in a newline (no terminator consumed).
        for (body, want) in [
            (&b"h\nab\"z\r\",\n8,\n"[..], [1, 2, 2]),
            (b"h\nab\n\"q,\n8,\n", [1, 2, 3]),
            (b"h\nab\n\"q,\n8,", [1, 2, 3]),
        ] {
            let (_dir, path) = write_file("a.csv", body);
            let mut opts = ReadOptions::new(["1"]);
            opts.no_header = true;
            let lines: Vec<u64> = records(&path, &opts).iter().map(|r| r.line).collect();
            assert_eq!(lines, want, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn reads_quoted_multiline_csv() {
        let (_dir, path) = write_file(
            "a.csv",
            b"\xEF\xBB\xBFid,text,label\r\n1,plain,x\r\n2,\"quoted, with comma\",y\r\n3,\"two\nlines \"\"q\"\"\",z\r\n4,after,w\r\n",
        );
        let recs = records(&path, &ReadOptions::new(["text", "id"]));
        assert_eq!(recs.len(), 4);
        let got: Vec<(u64, u64, Vec<String>)> =
            recs.into_iter().map(|r| (r.row, r.line, r.texts)).collect();
        let want = |row, line, t: &str, id: &str| (row, line, vec![t.to_string(), id.to_string()]);
        assert_eq!(
            got,
            vec![
                want(0, 2, "plain", "1"),
                want(1, 3, "quoted, with comma", "2"),
                want(2, 4, "two\nlines \"q\"", "3"),
                want(3, 6, "after", "4"),
            ]
        );
    }

    #[test]
    fn line_numbers_with_lf_crlf_and_blank_lines() {
        for eol in ["\n", "\r\n"] {
            let data = [
                "", "text,n", "", "a,1", "\"b", "", "b\",2", "", "", "c,3", "",
            ]
            .join(eol);
            let (_dir, path) = write_file("a.csv", data.as_bytes());
            let recs = records(&path, &ReadOptions::new(["text", "n"]));
            let got: Vec<(u64, u64)> = recs.iter().map(|r| (r.row, r.line)).collect();
            assert_eq!(got, vec![(0, 4), (1, 5), (2, 10)], "eol {eol:?}");
            assert_eq!(
                recs[1].texts,
                vec![format!("b{eol}{eol}b"), "2".to_string()]
            );
            // The header is on line 2 here.
            let err = open(&path, &ReadOptions::new(["x"])).unwrap_err();
            assert!(
                matches!(err, DatasetError::MissingColumn { line: 2, .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn tail_remembers_recent_bytes() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut tail = Tail::new(Box::new(std::io::Cursor::new(data.clone())));
        let mut buf = vec![0; 100_000];
        let mut read = 0u64;
        loop {
            let n = tail.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            read += n as u64;
            for off in [
                read - 1,
                read - 5000,
                read.saturating_sub(Tail::SIZE as u64),
            ] {
                assert_eq!(tail.byte_at(off), Some(data[off as usize]));
            }
        }
        assert_eq!(tail.byte_at(read), None);
        assert_eq!(tail.byte_at(read - Tail::SIZE as u64 - 1), None);
    }

    #[test]
    fn tsv_has_no_quoting() {
        let (_dir, path) = write_file("a.tsv", b"text\tn\n\"quoted\" as is\t1\nsecond, row\t2\n");
        let reader = open(&path, &ReadOptions::new(["text", "n"])).unwrap();
        assert_eq!(reader.format(), Format::Tsv);
        let got: Vec<Vec<String>> = reader.map(|r| r.unwrap().texts).collect();
        assert_eq!(
            got,
            vec![vec!["\"quoted\" as is", "1"], vec!["second, row", "2"]]
        );
    }

    #[test]
    fn missing_column_reported_at_open() {
        let (_dir, path) = write_file("a.csv", b"id,body\n1,x\n");
        let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
        match &err {
            DatasetError::MissingColumn {
                line,
                column,
                available,
                ..
            } => {
                assert_eq!((*line, column.as_str()), (1, "text"));
                assert_eq!(available, &vec!["id".to_string(), "body".to_string()]);
            }
            other => panic!("unexpected error {other}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "{}:1: column `text` not found (available: id, body)",
                path.display()
            )
        );
    }

    #[test]
    fn wrong_field_count_reports_line() {
        let (_dir, path) = write_file("a.csv", b"id,text\n1,a\n2,b,extra\n3,c\n");
        let mut reader = open(&path, &ReadOptions::new(["text"])).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().texts, vec!["a"]);
        let err = reader.next().unwrap().unwrap_err();
        match &err {
            DatasetError::Csv { line, message, .. } => {
                assert_eq!(*line, 3);
                assert_eq!(message, "expected 2 fields (as in the header), found 3");
            }
            other => panic!("unexpected error {other}"),
        }
        assert!(err
            .to_string()
            .starts_with(&format!("{}:3: invalid CSV: ", path.display())));
        // The bad row is skipped; reading goes on.
        let next = reader.next().unwrap().unwrap();
        assert_eq!(
            (next.row, next.line, next.texts),
            (2, 4, vec!["c".to_string()])
        );
        assert!(reader.next().is_none());
    }

    #[test]
    fn invalid_utf8_reports_line() {
        let (_dir, path) = write_file("a.csv", b"text\nok\nok\nbad\xff\n");
        let err = first_error(&path, &ReadOptions::new(["text"]));
        assert!(
            matches!(err, DatasetError::InvalidUtf8 { line: 4, .. }),
            "{err}"
        );
    }

    #[test]
    fn header_only_or_nothing_is_empty() {
        for contents in [&b"id,text\n"[..], b"", b"\xEF\xBB\xBF"] {
            let (_dir, path) = write_file("a.csv", contents);
            let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
            assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
        }
    }

    #[test]
    fn zstd_csv() {
        let zst = zstd::encode_all(&b"text\nhi\n"[..], 1).unwrap();
        let (_dir, path) = write_file("a.csv.zst", &zst);
        assert_eq!(texts(&path, &ReadOptions::new(["text"])), vec![vec!["hi"]]);
    }

    #[test]
    fn headerless_columns_are_numbered() {
        let (_dir, path) = write_file("a.csv", b"\"3\",\"title\",\"desc, with comma\"\n1,t2,d2\n");
        let opts = ReadOptions::new(["3", "1"]).with_no_header();
        let recs = records(&path, &opts);
        let got: Vec<(u64, u64, Vec<String>)> =
            recs.into_iter().map(|r| (r.row, r.line, r.texts)).collect();
        assert_eq!(
            got,
            vec![
                (0, 1, vec!["desc, with comma".to_string(), "3".to_string()]),
                (1, 2, vec!["d2".to_string(), "1".to_string()]),
            ]
        );
        // A name past the last field, or a header name, is a missing column.
        let err = open(&path, &ReadOptions::new(["4"]).with_no_header()).unwrap_err();
        match &err {
            DatasetError::MissingColumn {
                line: 1, available, ..
            } => assert_eq!(available, &["1", "2", "3"]),
            other => panic!("unexpected {other}"),
        }
        // With a header expected, the first row is the header.
        let err = open(&path, &ReadOptions::new(["1"])).unwrap_err();
        assert!(matches!(err, DatasetError::MissingColumn { .. }), "{err}");
        // Empty file.
        let (_dir, path) = write_file("e.tsv", b"");
        let err = open(&path, &ReadOptions::new(["1"]).with_no_header()).unwrap_err();
        assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
    }

    #[test]
    fn headerless_field_count_mismatch_reports_line() {
        let (_dir, path) = write_file("a.tsv", b"a\tb\n\"c\t\"d\n\ne\tf\tg\nh\ti\n");
        let opts = ReadOptions::new(["2"]).with_no_header();
        let results: Vec<_> = open(&path, &opts).unwrap().collect();
        assert_eq!(results.len(), 4);
        // TSV has no quoting: quotes are kept.
        assert_eq!(results[1].as_ref().unwrap().texts, vec!["\"d"]);
        let err = results[2].as_ref().unwrap_err();
        assert!(matches!(err, DatasetError::Csv { line: 4, .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}:4: invalid CSV: expected 2 fields (as in the first record), found 3",
                path.display()
            )
        );
        let last = results[3].as_ref().unwrap();
        assert_eq!(
            (last.row, last.line, last.texts.clone()),
            (3, 5, vec!["i".to_string()])
        );
        // The header variant still says so, with its line.
        let (_dir, path) = write_file("b.csv", b"x,y\n1,2\n3\n");
        let err = first_error(&path, &ReadOptions::new(["x"]));
        assert!(
            err.to_string()
                .ends_with(":3: invalid CSV: expected 2 fields (as in the header), found 1"),
            "{err}"
        );
    }
}
