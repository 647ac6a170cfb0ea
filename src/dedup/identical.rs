//! Rows whose vectors are bit-for-bit identical (different texts the model cannot tell
//! apart, e.g. differing only in case for an uncased model).
//!
//! Only one vector per identical group goes into the index. Besides saving work, this
//! keeps HNSW navigable: a graph node whose `M` links all lead to identical copies has no
//! way out to its merely similar neighbours, which measurably cost recall on real data.

use std::collections::HashMap;

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
    pub fn group_bytes(data: &[u8], row_bytes: usize) -> Self {
        let n = data.len() / row_bytes.max(1);
        let row = |i: usize| &data[i * row_bytes..(i + 1) * row_bytes];
        let mut by_hash: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut group_of = Vec::with_capacity(n);
        let mut reps: Vec<u32> = Vec::new();
        for i in 0..n {
            let h = xxh3_64(row(i));
            let same = |g: &u32| row(reps[*g as usize] as usize) == row(i);
            let slot = by_hash.entry(h).or_default();
            let g = match slot.iter().find(|g| same(g)) {
                Some(&g) => g,
                None => {
                    let g = reps.len() as u32;
                    reps.push(i as u32);
                    slot.push(g);
                    g
                }
            };
            group_of.push(g);
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
        let s = IdenticalVectors::singletons(3);
        assert_eq!(
            (s.groups(), s.members(2), s.group_of()),
            (3, &[2u32][..], &[0u32, 1, 2][..])
        );
    }
}
