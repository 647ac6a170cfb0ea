//! Rows whose vectors are bit-for-bit identical (different texts the model cannot tell
//! apart, e.g. differing only in case for an uncased model).
//!
//! Only one vector per identical group goes into the index. Besides saving work, this
//! keeps HNSW navigable: a graph node whose `M` links all lead to identical copies has no
//! way out to its merely similar neighbours, which measurably cost recall on real data.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

use crate::index::{Neighbors, NeighborsBuilder};

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
        let n = vectors.len() / dim.max(1);
        let row = |i: usize| &vectors[i * dim..(i + 1) * dim];
        let mut by_hash: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut group_of = Vec::with_capacity(n);
        let mut reps: Vec<u32> = Vec::new();
        let mut buf = Vec::with_capacity(dim * 4);
        for i in 0..n {
            buf.clear();
            row(i)
                .iter()
                .for_each(|x| buf.extend_from_slice(&x.to_bits().to_le_bytes()));
            let h = xxh3_64(&buf);
            let same = |g: &u32| {
                let r = reps[*g as usize] as usize;
                row(r)
                    .iter()
                    .zip(row(i))
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            };
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

    /// Turns neighbour lists over the groups (`found.get(g)`: groups similar to group
    /// `g`) into candidate lists over rows: each row gets its own group's first row and
    /// every row of each similar group. Later rows of a group need no more of their own
    /// group: their vectors equal the first row's, so every canonical an earlier copy could
    /// offer is reachable through the first row or the similar groups.
    pub fn expand(&self, found: &Neighbors) -> Neighbors {
        let mut out = NeighborsBuilder::new();
        for (i, &g) in self.group_of.iter().enumerate() {
            let g = g as usize;
            let rep = self.reps[g];
            let own = (rep as usize != i).then_some((rep, 0.0));
            let (ids, _) = found.get(g);
            let others = ids
                .iter()
                .filter(|&&h| h as usize != g)
                .flat_map(|&h| self.members(h as usize).iter().map(|&m| (m, 0.0)));
            out.push(own.into_iter().chain(others));
            if found.is_cut(g) {
                out.mark_cut();
            }
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_identical_rows_and_expands_lists() {
        let v = [1.0, 0.0, 0.6, 0.8, 1.0, 0.0, 0.0, 1.0, 0.6, 0.8, 1.0, 0.0];
        let g = IdenticalVectors::group(&v, 2);
        assert_eq!(g.groups(), 3);
        assert_eq!(g.reps(), &[0, 1, 3]);
        assert_eq!(g.members(0), &[0, 2, 5]);
        assert_eq!(g.members(1), &[1, 4]);
        // Group 0 is similar to group 1.
        let mut b = NeighborsBuilder::new();
        b.push([(0, 1.0), (1, 0.6)]);
        b.push([(1, 1.0), (0, 0.6)]);
        b.push([(2, 1.0)]);
        let e = g.expand(&b.finish());
        assert_eq!(e.get(0).0, &[1, 4]);
        assert_eq!(e.get(2).0, &[0, 1, 4]);
        assert_eq!(e.get(4).0, &[1, 0, 2, 5]);
        assert_eq!(e.get(3).0.len(), 0);
    }
}
