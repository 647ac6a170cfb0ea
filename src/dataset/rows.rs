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

    /// Column `c` of unique row `u`.
    pub fn get(&self, u: usize, c: usize) -> &str {
        let k = u * self.columns + c;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.buf[start..self.ends[k]]
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
