//! Plain text: every physical line is one row with the single column `text`.

use std::path::PathBuf;

use super::lines::Lines;
use super::{DatasetError, Record};

/// Rows of a plain-text file. Empty lines are rows with an empty text.
pub(super) struct TextRows {
    path: PathBuf,
    lines: Lines,
    /// How many times the line is repeated in `Record::texts` (one per requested column,
    /// all of which are `text`).
    width: usize,
    row: u64,
    done: bool,
}

impl TextRows {
    pub(super) fn new(path: PathBuf, lines: Lines, width: usize) -> Self {
        TextRows {
            path,
            lines,
            width,
            row: 0,
            done: false,
        }
    }
}

impl Iterator for TextRows {
    type Item = Result<Record, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (line, bytes) = match self.lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(DatasetError::io(&self.path, e)));
            }
        };
        let row = self.row;
        self.row += 1;
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Some(Err(DatasetError::InvalidUtf8 {
                path: self.path.clone(),
                line,
            }));
        };
        Some(Ok(Record {
            row,
            line,
            texts: vec![text.to_string(); self.width],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{open, DatasetError, ReadOptions};

    #[test]
    fn every_line_is_a_row() {
        let (_dir, path) = write_file("a.txt", b"\xEF\xBB\xBFfirst\r\n\nthird\nlast\n");
        let recs = records(&path, &ReadOptions::new(["text"]));
        let got: Vec<(u64, u64, &str)> = recs
            .iter()
            .map(|r| (r.row, r.line, r.texts[0].as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(0, 1, "first"), (1, 2, ""), (2, 3, "third"), (3, 4, "last")]
        );
    }

    #[test]
    fn no_trailing_newline() {
        let (_dir, path) = write_file("a.text", b"a\nb");
        assert_eq!(
            texts(&path, &ReadOptions::new(["text"])),
            vec![vec!["a"], vec!["b"]]
        );
        let (_dir, path) = write_file("b.txt", b"\n");
        assert_eq!(texts(&path, &ReadOptions::new(["text"])), vec![vec![""]]);
    }

    #[test]
    fn only_text_column() {
        let (_dir, path) = write_file("a.txt", b"a\n");
        let err = open(&path, &ReadOptions::new(["body"])).unwrap_err();
        assert!(
            matches!(&err, DatasetError::BadColumnForText { column, .. } if column == "body"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_and_empty() {
        let (_dir, path) = write_file("a.txt", b"ok\nok\n\xc3\x28\n");
        let err = first_error(&path, &ReadOptions::new(["text"]));
        assert!(
            matches!(err, DatasetError::InvalidUtf8 { line: 3, .. }),
            "{err}"
        );
        let (_dir, path) = write_file("b.txt", b"");
        let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
        assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
    }
}
