//! A physical-line reader over decoded bytes, shared by the JSONL and text formats.

use std::io::{self, BufRead};

/// Above this capacity the line buffer is shrunk back after use, so one huge line does not
/// pin its memory for the rest of the file.
const SHRINK_ABOVE: usize = 16 << 20;

/// Reads lines as raw bytes (UTF-8 is validated by the caller, so errors carry the right
/// line number), reusing one buffer.
pub(super) struct Lines {
    inner: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
}

impl Lines {
    pub(super) fn new(inner: Box<dyn BufRead + Send>) -> Self {
        Lines {
            inner,
            buf: Vec::new(),
            line: 0,
        }
    }

    /// The next line's 1-based number and its bytes without the `\n` or `\r\n`
    /// terminator, or `None` at end of input. A final line without a terminator is returned
    /// as is; a final terminator does not start an extra empty line.
    pub(super) fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.buf.clear();
        if self.buf.capacity() > SHRINK_ABOVE {
            self.buf.shrink_to(64 << 10);
        }
        if self.inner.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        Ok(Some((self.line, &self.buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn all(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut lines = Lines::new(Box::new(Cursor::new(input.to_vec())));
        let mut out = Vec::new();
        while let Some((n, l)) = lines.next_line().unwrap() {
            out.push((n, l.to_vec()));
        }
        out
    }

    #[test]
    fn splits_lf_and_crlf() {
        let got = all(b"a\r\nb\n\nc");
        let want: Vec<(u64, Vec<u8>)> = vec![
            (1, b"a".to_vec()),
            (2, b"b".to_vec()),
            (3, b"".to_vec()),
            (4, b"c".to_vec()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn trailing_newline_adds_no_line() {
        assert_eq!(all(b"x\n").len(), 1);
        assert_eq!(all(b"x\n\n").len(), 2);
        assert_eq!(all(b"").len(), 0);
    }
}
