//! Similar pairs within one set, with exact scores.

use rayon::prelude::*;

use super::{IdenticalVectors, VectorRows};
use crate::index::spill::{self, DiskNeighborsBuilder, Merge, Triple};
use crate::index::{HitStream, Neighbors, NeighborsBuilder};
use crate::linalg::dot;

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
        let rows = IdenticalVectors::singletons(found.len());
        Self::from_group_search(found.clone().into(), &rows, vectors, floor, None)
            .expect("nothing is spilled without a budget, so nothing can fail")
    }

    /// [`from_self_search`](Self::from_self_search) for an index of one vector per group
    /// of identical vectors: `found` lists, group by group in order, the similar groups
    /// (candidates); each row is paired with its own group's first row and with every row
    /// of each similar group. Later rows of a group need no more of their own group: their
    /// vectors equal the first row's, so every canonical an earlier copy could offer is
    /// reachable through the first row or the similar groups. A row is cut
    /// ([`is_cut`](Self::is_cut)) when its group's list was.
    ///
    /// `found` is read a block at a time, and with a `budget` at most about that many
    /// bytes of candidate pairs are held in memory: past half of it they are sorted and
    /// spilled to a temporary file (see `index::spill`), merged back at the end
    /// into lists that stay on disk, memory-mapped. The lists are the same with any budget;
    /// only I/O errors of the spill can fail.
    pub fn from_group_search(
        mut found: HitStream,
        groups: &IdenticalVectors,
        vectors: VectorRows<'_>,
        floor: f32,
        budget: Option<usize>,
    ) -> std::io::Result<Self> {
        let n = groups.group_of().len();
        debug_assert_eq!(found.queries(), groups.groups());
        let budget_triples = spill::budget_triples(budget);
        // Hits read per block: a quarter of the budget, and never more than `MAX_BLOCK`,
        // so the block's copy of its lists stays small next to the candidates.
        let block_hits = budget_triples.map_or(MAX_BLOCK, |b| (b / 4).min(MAX_BLOCK));
        let mut group_cut = vec![false; groups.groups()];
        let mut runs = Vec::new();
        let mut buffer: Vec<Triple> = Vec::new();
        while let Some((first, block)) = found.next_block(block_hits)? {
            for g in 0..block.len() {
                group_cut[first + g] = block.is_cut(g);
            }
            // Groups of the block in slices whose rows' candidates stay within the block
            // size, so a few large groups of identical rows cannot swamp the buffer.
            let mut start = 0;
            while start < block.len() {
                let (mut end, mut size) = (start, 0usize);
                while end < block.len() && (end == start || size < block_hits) {
                    size = size.saturating_add(candidate_count(groups, &block, first, end));
                    end += 1;
                }
                buffer.append(&mut group_candidates(
                    groups,
                    &block,
                    first,
                    start..end,
                    vectors,
                    floor,
                ));
                if budget_triples.is_some_and(|b| buffer.len() > b / 2) {
                    sort_dedup(&mut buffer);
                    runs.push(spill::write_run(&buffer)?);
                    buffer.clear();
                }
                start = end;
            }
        }
        // Lists the search held in memory are not needed any more.
        drop(found);
        sort_dedup(&mut buffer);
        let lists = if runs.is_empty() {
            lists_from_sorted(&buffer, n)
        } else {
            runs.push(spill::write_run(&buffer)?);
            drop(buffer);
            merge_lists(runs, n)?
        };
        let cut = if group_cut.iter().any(|&c| c) {
            groups
                .group_of()
                .iter()
                .map(|&g| group_cut[g as usize])
                .collect()
        } else {
            Vec::new()
        };
        Ok(EarlierPairs { lists, floor, cut })
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

    /// Whether the lists were spilled and live on disk, memory-mapped.
    pub fn is_on_disk(&self) -> bool {
        self.lists.is_on_disk()
    }

    /// Number of rows whose list may have been cut.
    pub fn cut_count(&self) -> usize {
        self.cut.iter().filter(|&&c| c).count()
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

/// Most hits [`EarlierPairs::from_group_search`] reads per block (32 MiB of lists).
const MAX_BLOCK: usize = 1 << 22;

/// How many candidate pairs [`group_candidates`] makes from group `first + g`'s list.
fn candidate_count(groups: &IdenticalVectors, block: &Neighbors, first: usize, g: usize) -> usize {
    let own = groups.members(first + g).len();
    let similar: usize = block
        .get(g)
        .0
        .iter()
        .filter(|&&h| h as usize != first + g)
        .map(|&h| groups.members(h as usize).len())
        .sum();
    own - 1 + own * similar
}

/// Candidate pairs `(later row, earlier row, exact score)` at or above `floor` from the
/// lists of groups `first + slice` (`block.get(g)`: the groups similar to group
/// `first + g`): every later row of a group with its first row, and every row of a group
/// with every row of each similar group. One score per pair of groups: their rows'
/// vectors are identical, and [`dot`] is symmetric to the bit, so it is the score of each
/// of their pairs of rows whichever end found it.
fn group_candidates(
    groups: &IdenticalVectors,
    block: &Neighbors,
    first: usize,
    slice: std::ops::Range<usize>,
    vectors: VectorRows<'_>,
    floor: f32,
) -> Vec<Triple> {
    slice
        .into_par_iter()
        .flat_map_iter(|g| {
            let own = groups.members(first + g);
            let rep = own[0];
            let vector = |r: u32| vectors.row(r as usize);
            let self_score = dot(vector(rep), vector(rep));
            let copies = own[1..]
                .iter()
                .filter(move |_| self_score >= floor)
                .map(move |&m| (m, rep, self_score));
            let similar = block
                .get(g)
                .0
                .iter()
                .filter(move |&&h| h as usize != first + g)
                .filter_map(move |&h| {
                    let other = groups.members(h as usize);
                    let s = dot(vector(rep), vector(other[0]));
                    (s >= floor).then_some((other, s))
                })
                .flat_map(move |(other, s)| {
                    own.iter().flat_map(move |&a| {
                        other
                            .iter()
                            .map(move |&b| if a > b { (a, b, s) } else { (b, a, s) })
                    })
                });
            copies.chain(similar)
        })
        .collect()
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

/// The lists of rows `0..n` from spilled runs, each sorted by [`sort_dedup`], written to
/// disk and mapped; a pair in two runs (found from each end in different blocks) is kept
/// once.
fn merge_lists(runs: Vec<std::fs::File>, n: usize) -> std::io::Result<Neighbors> {
    let mut merge = Merge::new(runs, pair_order)?;
    let mut builder = DiskNeighborsBuilder::new()?;
    let mut group = Vec::new();
    for i in 0..n as u32 {
        merge.take_key(i, &mut group)?;
        group.dedup_by(|a, b| a.1 == b.1);
        builder.push(group.iter().map(|&(_, j, s)| (j, s)))?;
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{testutil::clustered, ExactIndex, IvfIndex, IvfParams, VectorIndex};
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
        let singletons = IdenticalVectors::singletons(3000);
        let spilled =
            EarlierPairs::from_group_search(found.into(), &singletons, rows, 0.5, Some(1)).unwrap();
        assert!(in_memory.pairs() > 1 << 16, "{} pairs", in_memory.pairs());
        assert!(spilled.lists.is_on_disk() && !in_memory.lists.is_on_disk());
        assert_eq!(in_memory.lists, spilled.lists);
    }

    #[test]
    fn group_search_pairs_every_row_of_similar_groups() {
        // 600 rows over 200 distinct vectors: each appears three times, scattered.
        let dim = 12;
        let distinct = clustered(200, dim, 5, 0.3, 4);
        let pick: Vec<usize> = (0..600).map(|i| (i * 7 + i / 200) % 200).collect();
        let v: Vec<f32> = pick
            .iter()
            .flat_map(|&d| distinct[d * dim..(d + 1) * dim].iter().copied())
            .collect();
        let groups = IdenticalVectors::group(&v, dim);
        assert_eq!(groups.groups(), 200);
        let reps: Vec<f32> = groups
            .reps()
            .iter()
            .flat_map(|&r| v[r as usize * dim..(r as usize + 1) * dim].iter().copied())
            .collect();
        let floor = 0.8;
        let found = ExactIndex::new(&reps, dim)
            .unwrap()
            .above_at_most(&reps, floor, 6, &Silent)
            .unwrap();
        assert!(
            found.cut_count() > 0,
            "some groups have more than 6 neighbours"
        );
        let rows = VectorRows::mapped(&reps, dim, groups.group_of());
        let grouped =
            EarlierPairs::from_group_search(found.clone().into(), &groups, rows, floor, None)
                .unwrap();
        let spilled =
            EarlierPairs::from_group_search(found.clone().into(), &groups, rows, floor, Some(1))
                .unwrap();
        assert_eq!(grouped.lists, spilled.lists);
        // What it should be: each later row of a group with the group's first row, and
        // every pair of rows whose groups' lists hold each other, at or above the floor.
        let g = groups.group_of();
        let listed = |a: u32, b: u32| found.get(a as usize).0.contains(&b);
        let mut want = Vec::new();
        for i in 0..600u32 {
            for j in 0..i {
                let (gi, gj) = (g[i as usize], g[j as usize]);
                let s = dot(rows.row(i as usize), rows.row(j as usize));
                let linked = if gi == gj {
                    groups.reps()[gi as usize] == j
                } else {
                    listed(gi, gj) || listed(gj, gi)
                };
                if linked && s >= floor {
                    want.push((i as usize, j, s));
                }
            }
        }
        want.sort_by(|a, b| pair_order(&(a.0 as u32, a.1, a.2), &(b.0 as u32, b.1, b.2)));
        let got: Vec<_> = grouped.iter().collect();
        assert!(want.len() > 1000, "{} pairs", want.len());
        assert_eq!(got, want);
        for (i, &gi) in g.iter().enumerate() {
            assert_eq!(grouped.is_cut(i), found.is_cut(gi as usize));
        }
    }
}
