//! Similar pairs within one set, with exact scores.

use rayon::prelude::*;

use super::VectorRows;
use crate::index::{dot, Neighbors, NeighborsBuilder};

/// Candidates from an index are accepted down to this far below the threshold, then
/// rescored with [`dot`]; so a pair's fate never depends on which backend found it or on
/// the rounding of its matrix product.
pub const RESCORE_MARGIN: f32 = 1e-3;

/// Every similar pair `(i, j)` with `j < i`, listed under the later row `i`, most similar
/// first (ties: lower `j` first). Scores are exact ([`dot`]).
#[derive(Debug, Clone, Default)]
pub struct EarlierPairs {
    lists: Neighbors,
    floor: f32,
    /// Rows whose search results were cut at the index's hit limit (empty: none).
    cut: Vec<bool>,
}

impl EarlierPairs {
    /// Turns self-search results (`found.get(i)`: candidates for row `i` among all rows)
    /// into earlier-neighbour lists of pairs whose exact score is at least `floor`. A pair
    /// found from either end counts once, so the approximate search misses a pair only
    /// if it missed it from both rows.
    pub fn from_self_search(found: &Neighbors, vectors: VectorRows<'_>, floor: f32) -> Self {
        let n = found.len();
        let mut pairs: Vec<(u32, u32, f32)> = (0..n)
            .into_par_iter()
            .flat_map_iter(|i| {
                let (ids, _) = found.get(i);
                let row = |k: usize| vectors.row(k);
                ids.iter()
                    .filter(move |&&j| j as usize != i)
                    .filter_map(move |&j| {
                        let (hi, lo) = if (j as usize) < i {
                            (i as u32, j)
                        } else {
                            (j, i as u32)
                        };
                        // Always scored lower row first, so both ends give identical bits.
                        let s = dot(row(lo as usize), row(hi as usize));
                        (s >= floor).then_some((hi, lo, s))
                    })
            })
            .collect();
        pairs.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)).then(a.1.cmp(&b.1))
        });
        pairs.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut builder = NeighborsBuilder::new();
        let mut at = 0;
        for i in 0..n as u32 {
            let start = at;
            while at < pairs.len() && pairs[at].0 == i {
                at += 1;
            }
            builder.push(pairs[start..at].iter().map(|&(_, j, s)| (j, s)));
        }
        EarlierPairs {
            lists: builder.finish(),
            floor,
            cut: Vec::new(),
        }
    }

    /// Marks the rows whose search results were cut at a hit limit
    /// ([`crate::index::VectorIndex::above_at_most`]): their lists may lack similar
    /// rows, so selection checks them against every kept row when the list finds none.
    pub fn with_cut_rows(mut self, cut: Vec<bool>) -> Self {
        debug_assert_eq!(cut.len(), self.len());
        self.cut = cut;
        self
    }

    /// Whether row `i`'s list may have been cut.
    pub fn is_cut(&self, i: usize) -> bool {
        self.cut.get(i).copied().unwrap_or(false)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Earlier rows similar to row `i` and their scores, most similar first.
    pub fn of(&self, i: usize) -> (&[u32], &[f32]) {
        self.lists.get(i)
    }

    /// Number of pairs.
    pub fn pairs(&self) -> usize {
        self.lists.total()
    }

    /// The lowest score kept.
    pub fn floor(&self) -> f32 {
        self.floor
    }

    /// All pairs as `(later, earlier, score)`.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u32, f32)> + '_ {
        self.lists.iter()
    }
}
