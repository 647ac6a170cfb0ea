//! The rows a job read: their texts, and how their numbers map to the file's.

/// The texts of the unique rows, all in one buffer (a few bytes of overhead per row
/// instead of a `String` per cell).
#[derive(Debug, Default)]
pub struct Texts {
    buf: String,
    ends: Vec<usize>,
    columns: usize,
}

impl Texts {
    /// No rows yet, `columns` texts per row.
    pub fn new(columns: usize) -> Self {
        Texts {
            columns,
            ..Default::default()
        }
    }

    /// Appends a row: one text per column.
    pub fn push(&mut self, texts: &[impl AsRef<str>]) {
        debug_assert_eq!(texts.len(), self.columns);
        for t in texts {
            self.buf.push_str(t.as_ref());
            self.ends.push(self.buf.len());
        }
    }

    /// Makes room for `rows` more rows holding about `bytes` bytes of text, when the
    /// memory can be had (a hint: pushing grows the buffers as needed either way).
    /// Reserving up front spares a large read the copies and fresh pages of growing by
    /// doubling; untouched reserved pages cost address space, not memory.
    pub fn reserve(&mut self, rows: usize, bytes: usize) {
        let _ = self.buf.try_reserve(bytes);
        let _ = self.ends.try_reserve(rows.saturating_mul(self.columns));
    }

    /// Column `c` of unique row `u`.
    pub fn get(&self, u: usize, c: usize) -> &str {
        &self.buf[span(&self.ends, self.columns, u, c)]
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ends.len() / self.columns.max(1)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Number of columns per row.
    pub fn columns(&self) -> usize {
        self.columns
    }
}

impl Texts {
    /// Moves the text bytes to an unlinked temporary file (in the system's temporary
    /// directory), keeping only their offsets in memory: for texts that are only quoted
    /// from then on, so a large job does not hold them through its index and search.
    pub fn into_disk(self) -> std::io::Result<DiskTexts> {
        use std::io::Write;
        let mut file = crate::scratch::unlinked_temp_file()?;
        file.write_all(self.buf.as_bytes())?;
        Ok(DiskTexts {
            file: std::sync::Mutex::new(file),
            ends: self.ends,
            columns: self.columns,
        })
    }
}

/// Where column `c` of unique row `u` lies in the text bytes, given each text's end
/// (`columns` texts per row).
fn span(ends: &[usize], columns: usize, u: usize, c: usize) -> std::ops::Range<usize> {
    let k = u * columns + c;
    let start = if k == 0 { 0 } else { ends[k - 1] };
    start..ends[k]
}

/// [`Texts`] moved to a temporary file by [`Texts::into_disk`], read back one at a time.
#[derive(Debug)]
pub struct DiskTexts {
    file: std::sync::Mutex<std::fs::File>,
    ends: Vec<usize>,
    columns: usize,
}

impl DiskTexts {
    /// Column `c` of unique row `u`, read from the file.
    pub fn get(&self, u: usize, c: usize) -> std::io::Result<String> {
        use std::io::{Read, Seek, SeekFrom};
        let at = span(&self.ends, self.columns, u, c);
        let mut bytes = vec![0u8; at.len()];
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek(SeekFrom::Start(at.start as u64))?;
        file.read_exact(&mut bytes)?;
        String::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ends.len() / self.columns.max(1)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Number of columns per row.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Unique rows `rows`, read from the file in one piece, as texts in memory (row
    /// `rows.start` becomes row 0).
    pub fn rows(&self, rows: std::ops::Range<usize>) -> std::io::Result<Texts> {
        use std::io::{Read, Seek, SeekFrom};
        let first = rows.start * self.columns;
        let last = rows.end * self.columns;
        let start = if first == 0 { 0 } else { self.ends[first - 1] };
        let end = if last == 0 { 0 } else { self.ends[last - 1] };
        let mut bytes = vec![0u8; end - start];
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek(SeekFrom::Start(start as u64))?;
        file.read_exact(&mut bytes)?;
        drop(file);
        let buf = String::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(Texts {
            buf,
            ends: self.ends[first..last].iter().map(|e| e - start).collect(),
            columns: self.columns,
        })
    }
}

/// Texts to embed: in memory, or in a temporary file and read a chunk of rows at a time
/// (so a large job holds its texts and its vectors in memory at different times).
#[derive(Debug, Clone, Copy)]
pub enum TextSource<'a> {
    /// Texts in memory.
    Memory(&'a Texts),
    /// Texts moved to disk ([`Texts::into_disk`]).
    Disk(&'a DiskTexts),
}

impl TextSource<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            TextSource::Memory(t) => t.len(),
            TextSource::Disk(t) => t.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of columns per row.
    pub fn columns(&self) -> usize {
        match self {
            TextSource::Memory(t) => t.columns(),
            TextSource::Disk(t) => t.columns(),
        }
    }
}

impl<'a> From<&'a Texts> for TextSource<'a> {
    fn from(t: &'a Texts) -> Self {
        TextSource::Memory(t)
    }
}

/// The map between a file's row numbers and the rows a job read from it, which differ
/// once rows are skipped: read row `i` is the `i`-th row of the file that was not skipped.
#[derive(Debug, Default, Clone)]
pub struct RowNumbers {
    /// The skipped file rows, increasing.
    skipped: Vec<u64>,
    /// `skipped[j] - j`: how many read rows come before the `j`-th skipped row.
    read_before: Vec<u64>,
}

impl RowNumbers {
    /// The numbering of a file whose rows `skipped` (increasing) were left out.
    pub fn new(skipped: Vec<u64>) -> Self {
        debug_assert!(skipped.windows(2).all(|w| w[0] < w[1]));
        let read_before = skipped
            .iter()
            .enumerate()
            .map(|(j, &r)| r - j as u64)
            .collect();
        RowNumbers {
            skipped,
            read_before,
        }
    }

    /// The file row of read row `i`.
    pub fn file_row(&self, i: u64) -> u64 {
        i + self.read_before.partition_point(|&b| b <= i) as u64
    }

    /// The read row of file row `row`, or `None` when that row was skipped.
    pub fn read_row(&self, row: u64) -> Option<u64> {
        let before = self.skipped.partition_point(|&s| s < row);
        match self.skipped.get(before) {
            Some(&s) if s == row => None,
            _ => Some(row - before as u64),
        }
    }

    /// Rows skipped.
    pub fn skipped(&self) -> usize {
        self.skipped.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_on_disk_read_back_as_they_were() {
        let rows = [["héllo", ""], ["", "wörld ✓"], ["a\nb", "c"]];
        let mut texts = Texts::new(2);
        for r in &rows {
            texts.push(r);
        }
        let disk = texts.into_disk().unwrap();
        assert_eq!(disk.len(), 3);
        // Out of order, as a summary quotes them.
        for (u, c) in [(2, 1), (0, 0), (1, 1), (0, 1), (2, 0), (1, 0)] {
            assert_eq!(disk.get(u, c).unwrap(), rows[u][c], "row {u} column {c}");
        }
    }

    #[test]
    fn row_numbers_map_both_ways_around_skipped_rows() {
        let skipped = [0u64, 3, 4, 9];
        let numbers = RowNumbers::new(skipped.to_vec());
        let file_rows: Vec<u64> = (0..12).filter(|r| !skipped.contains(r)).collect();
        for (i, &row) in file_rows.iter().enumerate() {
            assert_eq!(numbers.file_row(i as u64), row, "read row {i}");
            assert_eq!(numbers.read_row(row), Some(i as u64), "file row {row}");
        }
        for s in skipped {
            assert_eq!(numbers.read_row(s), None);
        }
        let none = RowNumbers::default();
        assert_eq!((none.file_row(7), none.read_row(7)), (7, Some(7)));
    }
}
