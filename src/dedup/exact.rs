//! Exact duplicates: rows whose chosen columns are byte-for-byte equal.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// The identity of a row's chosen columns: a 128-bit XXH3 hash of the column texts, each
/// prefixed with its length so `["ab", "c"]` and `["a", "bc"]` differ. At 128 bits a
/// collision among 10⁹ rows has a probability below 10⁻²⁰, so equal keys are treated as
/// equal rows (SemHash compares the strings; the outcome is the same).
pub fn row_key(texts: &[impl AsRef<str>]) -> u128 {
    let mut buf = Vec::with_capacity(texts.iter().map(|t| t.as_ref().len() + 8).sum());
    for t in texts {
        let t = t.as_ref().as_bytes();
        buf.extend_from_slice(&(t.len() as u64).to_le_bytes());
        buf.extend_from_slice(t);
    }
    xxh3_128(&buf)
}

/// Groups rows by [`row_key`], in input order: the first row with a key starts a group
/// (a *unique* row); later rows with the same key are its exact copies.
#[derive(Default)]
pub struct ExactGroups {
    ids: HashMap<u128, u32, BuildHasherDefault<KeyHasher>>,
    /// Group of every row pushed so far, by row position.
    group_of_row: Vec<u32>,
    /// Position of the first row of each group.
    first_row: Vec<u64>,
    /// Running hash of the keys of the unique rows, in order.
    content: Xxh3,
}

impl ExactGroups {
    /// No rows yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room for `rows` more rows, of which about `groups` start a group, when the
    /// memory can be had (a hint: pushing grows the tables as needed either way).
    pub fn reserve(&mut self, rows: usize, groups: usize) {
        let _ = self.ids.try_reserve(groups);
        let _ = self.group_of_row.try_reserve(rows);
        let _ = self.first_row.try_reserve(groups);
    }

    /// Adds the next row; returns its group and whether it is the group's first row.
    pub fn push(&mut self, key: u128) -> (u32, bool) {
        let next = self.first_row.len() as u32;
        let row = self.group_of_row.len() as u64;
        let group = *self.ids.entry(key).or_insert(next);
        let first = group == next;
        if first {
            self.first_row.push(row);
            self.content.update(&key.to_le_bytes());
        }
        self.group_of_row.push(group);
        (group, first)
    }

    /// Group of the first row holding `key`, if any row did.
    pub fn find(&self, key: u128) -> Option<u32> {
        self.ids.get(&key).copied()
    }

    /// Rows pushed.
    pub fn rows(&self) -> usize {
        self.group_of_row.len()
    }

    /// Number of groups (unique rows).
    pub fn groups(&self) -> usize {
        self.first_row.len()
    }

    /// Group of each row, by row position.
    pub fn group_of_row(&self) -> &[u32] {
        &self.group_of_row
    }

    /// Row position of each group's first row.
    pub fn first_row(&self) -> &[u64] {
        &self.first_row
    }

    /// A hash of the unique rows' contents in order: equal for two inputs exactly when
    /// their unique rows (hence their vectors under one model) are equal.
    pub fn content_key(&self) -> u128 {
        self.content.digest128()
    }

    /// Frees the key table once no more rows will be pushed or looked up.
    pub fn drop_keys(&mut self) {
        self.ids = HashMap::default();
    }
}

/// Hashes a [`row_key`] by its low 64 bits: the key is already a uniform hash, so
/// hashing it again (as the default SipHash does) only costs time.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u128` keys are hashed; fold any other input in, in case.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(b))
                .rotate_left(29)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }
}

impl std::fmt::Debug for ExactGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactGroups")
            .field("rows", &self.rows())
            .field("groups", &self.groups())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_exact_copies_first_occurrence_first() {
        let rows = [
            ["a", "x"],
            ["b", "x"],
            ["a", "x"],
            ["ab", ""],
            ["a", "bx"],
            ["b", "x"],
        ];
        let mut g = ExactGroups::new();
        let got: Vec<(u32, bool)> = rows.iter().map(|r| g.push(row_key(r))).collect();
        assert_eq!(
            got,
            vec![
                (0, true),
                (1, true),
                (0, false),
                (2, true),
                (3, true),
                (1, false)
            ]
        );
        assert_eq!(g.first_row(), &[0, 1, 3, 4]);
        assert_eq!(g.group_of_row(), &[0, 1, 0, 2, 3, 1]);
        assert_eq!(g.find(row_key(&["b", "x"])), Some(1));
        assert_eq!(g.find(row_key(&["zz", "x"])), None);
    }

    #[test]
    fn content_key_depends_on_unique_rows_only() {
        let key = |rows: &[&str]| {
            let mut g = ExactGroups::new();
            rows.iter().for_each(|r| {
                g.push(row_key(&[*r]));
            });
            g.content_key()
        };
        assert_eq!(key(&["a", "b", "a"]), key(&["a", "b", "b"]));
        assert_ne!(key(&["a", "b"]), key(&["b", "a"]));
        assert_ne!(key(&["a", "b"]), key(&["a", "c"]));
    }
}
