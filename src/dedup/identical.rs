//! Rows whose vectors are bit-for-bit identical (different texts the model cannot tell
//! apart, e.g. differing only in case for an uncased model).
//!
//! Only one vector per identical group goes into the index. Besides saving work, this
//! keeps HNSW navigable: a graph node whose `M` links all lead to identical copies has no
//! way out to its merely similar neighbours, which measurably cost recall on real data.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

/// Groups of identical vectors, first occurrence first.
#[derive(Debug, Clone)]
pub struct IdenticalVectors {
    group_of: Vec<u32>,
    /// First row of each group.
    reps: Vec<u32>,
    /// Rows of each group, CSR.
    offsets: Vec<usize>,
    members: Vec<u32>,
}

impl IdenticalVectors {
    /// Groups the rows of `vectors` (row-major, `dim` wide) by identical bits.
    pub fn group(vectors: &[f32], dim: usize) -> Self {
        Self::group_bytes(bytemuck::cast_slice(vectors), dim * 4)
    }

    /// Groups rows of `row_bytes` bytes each (`data.len() / row_bytes` of them) by
    /// identical bytes: vectors as held, whatever their element type.
    ///
    /// Rows are sorted by the hash of their bytes (16 bytes a row, where a map of lists
    /// took some 80), so identical rows meet in one run; a run is split by the bytes
    /// themselves in case two different rows share a hash.
    pub fn group_bytes(data: &[u8], row_bytes: usize) -> Self {
        Self::group_by_hash(data, row_bytes, xxh3_64)
    }

    /// [`group_bytes`](Self::group_bytes) with the rows hashed by `hash`.
    fn group_by_hash(data: &[u8], row_bytes: usize, hash: impl Fn(&[u8]) -> u64 + Sync) -> Self {
        let n = data.len() / row_bytes.max(1);
        let row = |i: u32| &data[i as usize * row_bytes..(i as usize + 1) * row_bytes];
        let mut keyed: Vec<(u64, u32)> = (0..n as u32)
            .into_par_iter()
            .map(|i| (hash(row(i)), i))
            .collect();
        keyed.par_sort_unstable();
        // Each row's first identical row, found run by run (a run is in row order).
        let mut group_of = vec![0u32; n];
        let mut firsts: Vec<u32> = Vec::new();
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            firsts.clear();
            for &(_, i) in run {
                group_of[i as usize] = match firsts.iter().find(|&&f| row(f) == row(i)) {
                    Some(&f) => f,
                    None => {
                        firsts.push(i);
                        i
                    }
                };
            }
        }
        drop(keyed);
        // Groups numbered by first row, in place: a row's first identical row is at or
        // before it, and an earlier entry already holds its group.
        let mut reps: Vec<u32> = Vec::new();
        for i in 0..n {
            let first = group_of[i] as usize;
            group_of[i] = if first == i {
                reps.push(i as u32);
                reps.len() as u32 - 1
            } else {
                group_of[first]
            };
        }
        let mut counts = vec![0usize; reps.len() + 1];
        for &g in &group_of {
            counts[g as usize + 1] += 1;
        }
        for k in 1..counts.len() {
            counts[k] += counts[k - 1];
        }
        let offsets = counts.clone();
        let mut members = vec![0u32; n];
        for (i, &g) in group_of.iter().enumerate() {
            members[counts[g as usize]] = i as u32;
            counts[g as usize] += 1;
        }
        IdenticalVectors {
            group_of,
            reps,
            offsets,
            members,
        }
    }

    /// Every row in a group of its own.
    pub fn singletons(n: usize) -> Self {
        let rows: Vec<u32> = (0..n as u32).collect();
        IdenticalVectors {
            group_of: rows.clone(),
            reps: rows.clone(),
            offsets: (0..=n).collect(),
            members: rows,
        }
    }

    /// Number of groups.
    pub fn groups(&self) -> usize {
        self.reps.len()
    }

    /// The group of each row.
    pub fn group_of(&self) -> &[u32] {
        &self.group_of
    }

    /// First row of each group.
    pub fn reps(&self) -> &[u32] {
        &self.reps
    }

    /// Rows of group `g`, in order.
    pub fn members(&self, g: usize) -> &[u32] {
        &self.members[self.offsets[g]..self.offsets[g + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_identical_rows() {
        let v = [1.0, 0.0, 0.6, 0.8, 1.0, 0.0, 0.0, 1.0, 0.6, 0.8, 1.0, 0.0];
        let g = IdenticalVectors::group(&v, 2);
        assert_eq!(g.groups(), 3);
        assert_eq!(g.group_of(), &[0, 1, 0, 2, 1, 0]);
        assert_eq!(g.reps(), &[0, 1, 3]);
        assert_eq!(g.members(0), &[0, 2, 5]);
        assert_eq!(g.members(1), &[1, 4]);
        assert_eq!(g.members(2), &[3]);
        // Hashes that collide all the time still give the groups the bytes say.
        let rows: Vec<u8> = (0..500u32).map(|i| ((i * 7919) % 37) as u8).collect();
        let naive = |data: &[u8]| -> Vec<u32> {
            let mut firsts: Vec<usize> = Vec::new();
            (0..data.len() / 2)
                .map(|i| {
                    match firsts
                        .iter()
                        .position(|&f| data[f * 2..f * 2 + 2] == data[i * 2..i * 2 + 2])
                    {
                        Some(g) => g as u32,
                        None => {
                            firsts.push(i);
                            firsts.len() as u32 - 1
                        }
                    }
                })
                .collect()
        };
        let want = naive(&rows);
        for hash in [xxh3_64 as fn(&[u8]) -> u64, |b: &[u8]| u64::from(b[0] % 3)] {
            let g = IdenticalVectors::group_by_hash(&rows, 2, hash);
            assert_eq!(g.group_of(), want);
            assert!(g.groups() < 250 && g.groups() > 3, "{} groups", g.groups());
        }
        let s = IdenticalVectors::singletons(3);
        assert_eq!(
            (s.groups(), s.members(2), s.group_of()),
            (3, &[2u32][..], &[0u32, 1, 2][..])
        );
    }
}
