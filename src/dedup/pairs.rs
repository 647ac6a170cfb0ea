//! Similar pairs within one set, with exact scores.

use rayon::prelude::*;

use super::VectorRows;
use crate::index::spill::{self, Merge, Triple};
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
        Self::from_self_search_within(found, vectors, floor, None)
            .expect("nothing is spilled without a budget, so nothing can fail")
    }

    /// [`from_self_search`](Self::from_self_search) holding at most about `budget` bytes
    /// of candidate pairs in memory: rows are taken in blocks, and once the buffered
    /// candidates pass half the budget they are sorted and spilled to a temporary file
    /// (see [`crate::index::spill`]), to be merged back at the end. The lists are the same
    /// with any budget; only I/O errors of the spill can fail.
    pub fn from_self_search_within(
        found: &Neighbors,
        vectors: VectorRows<'_>,
        floor: f32,
        budget: Option<usize>,
    ) -> std::io::Result<Self> {
        let n = found.len();
        // Candidate pairs `(later, earlier, exact score)` found from the rows of `rows`.
        let candidates = |rows: std::ops::Range<usize>| -> Vec<Triple> {
            rows.into_par_iter()
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
                .collect()
        };
        let lists = match spill::budget_triples(budget) {
            None => {
                let mut pairs = candidates(0..n);
                sort_dedup(&mut pairs);
                lists_from_sorted(&pairs, n)
            }
            Some(budget) => {
                let mut runs = Vec::new();
                let mut buffer = Vec::new();
                let mut start = 0;
                while start < n {
                    // A block of rows whose lists hold about a quarter of the budget.
                    let (mut end, mut hits) = (start, 0);
                    while end < n && (end == start || hits + found.get(end).0.len() <= budget / 4) {
                        hits += found.get(end).0.len();
                        end += 1;
                    }
                    buffer.append(&mut candidates(start..end));
                    if buffer.len() > budget / 2 {
                        sort_dedup(&mut buffer);
                        runs.push(spill::write_run(&buffer)?);
                        buffer.clear();
                    }
                    start = end;
                }
                sort_dedup(&mut buffer);
                if runs.is_empty() {
                    lists_from_sorted(&buffer, n)
                } else {
                    runs.push(spill::write_run(&buffer)?);
                    drop(buffer);
                    merge_lists(runs, n)?
                }
            }
        };
        Ok(EarlierPairs {
            lists,
            floor,
            cut: Vec::new(),
        })
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

/// The order of candidate pairs: by later row, most similar first, then by earlier row. A
/// pair found from both ends has identical bits both times, so its copies end up adjacent.
fn pair_order(a: &Triple, b: &Triple) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)).then(a.1.cmp(&b.1))
}

/// Sorts candidate pairs by [`pair_order`] and drops the second copy of each pair.
fn sort_dedup(pairs: &mut Vec<Triple>) {
    pairs.par_sort_unstable_by(pair_order);
    pairs.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
}

/// The lists of rows `0..n` from pairs sorted by [`sort_dedup`].
fn lists_from_sorted(pairs: &[Triple], n: usize) -> Neighbors {
    let mut builder = NeighborsBuilder::new();
    let mut at = 0;
    for i in 0..n as u32 {
        let start = at;
        while at < pairs.len() && pairs[at].0 == i {
            at += 1;
        }
        builder.push(pairs[start..at].iter().map(|&(_, j, s)| (j, s)));
    }
    builder.finish()
}

/// The lists of rows `0..n` from spilled runs, each sorted by [`sort_dedup`]; a pair in
/// two runs (found from each end in different blocks) is kept once.
fn merge_lists(runs: Vec<std::fs::File>, n: usize) -> std::io::Result<Neighbors> {
    let mut merge = Merge::new(runs, pair_order)?;
    let mut builder = NeighborsBuilder::new();
    let mut group = Vec::new();
    for i in 0..n as u32 {
        merge.take_key(i, &mut group)?;
        group.dedup_by(|a, b| a.1 == b.1);
        builder.push(group.iter().map(|&(_, j, s)| (j, s)));
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{testutil::clustered, IvfIndex, IvfParams, VectorIndex};
    use crate::progress::Silent;

    #[test]
    fn spilled_candidates_give_the_same_lists() {
        let dim = 16;
        let v = clustered(3000, dim, 30, 0.4, 3);
        // An approximate search, so many pairs are found from one end only.
        let params = IvfParams {
            lists: 40,
            probes: 2,
            ..IvfParams::default()
        };
        let found = IvfIndex::build(&v, dim, params, &Silent)
            .unwrap()
            .above(&v, 0.5, &Silent)
            .unwrap();
        assert!(found.total() > 2 << 16, "{} hits", found.total());
        let rows = VectorRows::new(&v, dim);
        let in_memory = EarlierPairs::from_self_search(&found, rows, 0.5);
        let spilled = EarlierPairs::from_self_search_within(&found, rows, 0.5, Some(1)).unwrap();
        assert!(in_memory.pairs() > 1 << 16, "{} pairs", in_memory.pairs());
        assert_eq!(in_memory.lists, spilled.lists);
    }
}
