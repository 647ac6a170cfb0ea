//! A deduplication split into cells, for runs spread over many machines (`semsift.ray`).
//!
//! The caller partitions the unique rows into cells: each row has one *home* cell and is
//! sent as a *query* to every cell that could hold a row within the threshold of it (its
//! home included; the bound is the caller's). Then:
//!
//! - [`cell_pairs`] scores one cell: every pair of a query and a later home row at least
//!   `threshold` similar. A pair is found exactly once, in the home cell of its later row,
//!   so the pairs of all cells together are those an exact search lists.
//! - [`select_pairs`] decides every row from all the pairs, as [`select()`](super::select())
//!   decides from an exact search's pairs: the decisions equal `semsift dedup --index exact`.
//! - [`cell_matches`] is the same for a search against a reference set: each query's best
//!   reference row in one cell.
//!
//! Scores are exact ([`dot`]): candidates come from an [`ExactIndex`] down to
//! [`RESCORE_MARGIN`] below the threshold and are rescored, as a single machine does.

use super::RESCORE_MARGIN;
use crate::index::{ExactIndex, IndexError, VectorIndex};
use crate::linalg::dot;
use crate::progress::Silent;

/// Similar pairs `(later, earlier, score)` by row number, as parallel columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowPairs {
    /// The later row of each pair.
    pub later: Vec<u64>,
    /// The earlier row of each pair.
    pub earlier: Vec<u64>,
    /// Their cosine similarity ([`dot`] of the unit vectors).
    pub score: Vec<f32>,
}

impl RowPairs {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.later.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.later.is_empty()
    }

    fn push(&mut self, later: u64, earlier: u64, score: f32) {
        self.later.push(later);
        self.earlier.push(earlier);
        self.score.push(score);
    }
}

/// One row's removal: the kept row it duplicates and their similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowMatch {
    /// The removed row (or, against a reference, the query row).
    pub row: u64,
    /// The row it duplicates (a kept row, or a reference row).
    pub of: u64,
    /// Their cosine similarity.
    pub score: f32,
}

/// `vectors` must hold `rows.len()` rows of `dim` values.
fn check(vectors: &[f32], rows: &[u64], dim: usize) -> Result<(), IndexError> {
    if dim == 0 || vectors.len() != rows.len() * dim {
        return Err(IndexError::DimensionMismatch {
            expected: dim,
            got: vectors.len(),
        });
    }
    Ok(())
}

/// Candidates `(query, home)` of one cell down to `threshold − RESCORE_MARGIN`, each handed
/// to `visit` with its exact score.
fn candidates(
    home: &[f32],
    queries: &[f32],
    dim: usize,
    threshold: f32,
    mut visit: impl FnMut(usize, usize, f32),
) -> Result<(), IndexError> {
    if home.is_empty() || queries.is_empty() {
        return Ok(());
    }
    let found = ExactIndex::new(home, dim)?.above(queries, threshold - RESCORE_MARGIN, &Silent)?;
    for q in 0..found.len() {
        let query = &queries[q * dim..(q + 1) * dim];
        for &h in found.get(q).0 {
            let h = h as usize;
            visit(q, h, dot(&home[h * dim..(h + 1) * dim], query));
        }
    }
    Ok(())
}

/// The pairs of one cell: each query with every home row numbered after it that is at
/// least `threshold` similar (`home` and `queries` row-major unit vectors, `dim` wide,
/// numbered by `home_rows` and `query_rows`). A row that is both (its home cell) pairs
/// only with the home rows after it. With `both_ends`, a query pairs with the similar
/// home rows before it too (the later row first either way): an
/// approximate partition then finds a pair from either of its rows, and a pair found
/// twice counts once in [`select_pairs`].
pub fn cell_pairs(
    home: &[f32],
    home_rows: &[u64],
    queries: &[f32],
    query_rows: &[u64],
    dim: usize,
    threshold: f32,
    both_ends: bool,
) -> Result<RowPairs, IndexError> {
    check(home, home_rows, dim)?;
    check(queries, query_rows, dim)?;
    let mut pairs = RowPairs::default();
    candidates(home, queries, dim, threshold, |q, h, s| {
        let (q, h) = (query_rows[q], home_rows[h]);
        if s < threshold || q == h {
            return;
        }
        if q < h {
            pairs.push(h, q, s);
        } else if both_ends {
            pairs.push(q, h, s);
        }
    })?;
    Ok(pairs)
}

/// Each query's most similar reference row in one cell, if one is at least `threshold`
/// similar (ties: the lowest reference row number), in query order.
pub fn cell_matches(
    queries: &[f32],
    query_rows: &[u64],
    refs: &[f32],
    ref_rows: &[u64],
    dim: usize,
    threshold: f32,
) -> Result<Vec<RowMatch>, IndexError> {
    check(refs, ref_rows, dim)?;
    check(queries, query_rows, dim)?;
    let mut best: Vec<Option<(u64, f32)>> = vec![None; query_rows.len()];
    candidates(refs, queries, dim, threshold, |q, r, s| {
        let of = ref_rows[r];
        if s >= threshold && better(best[q], of, s) {
            best[q] = Some((of, s));
        }
    })?;
    Ok(best
        .into_iter()
        .enumerate()
        .filter_map(|(q, b)| {
            b.map(|(of, score)| RowMatch {
                row: query_rows[q],
                of,
                score,
            })
        })
        .collect())
}

/// Whether `(of, score)` beats `best`: more similar, or as similar and earlier.
pub fn better(best: Option<(u64, f32)>, of: u64, score: f32) -> bool {
    match best {
        None => true,
        Some((b, s)) => score > s || (score == s && of < b),
    }
}

/// SemHash's greedy keep-first selection over every similar pair of a set: in row order,
/// a row with an earlier *kept* row at least `threshold` similar is removed in favour of
/// the most similar one (ties: the earliest); otherwise it is kept. Returns the removed
/// rows, in order. With every pair at or above `threshold` given (as [`cell_pairs`] over
/// all cells gives them), this is [`select()`](super::select()) on an exact search. A
/// pair listed more than once counts once.
pub fn select_pairs(pairs: &RowPairs, threshold: f32) -> Vec<RowMatch> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_unstable_by_key(|&p| (pairs.later[p], pairs.earlier[p]));
    let mut removed: Vec<RowMatch> = Vec::new();
    let is_removed =
        |removed: &[RowMatch], row: u64| removed.binary_search_by_key(&row, |m| m.row).is_ok();
    let mut at = 0;
    while at < order.len() {
        let row = pairs.later[order[at]];
        let mut best: Option<(u64, f32)> = None;
        while at < order.len() && pairs.later[order[at]] == row {
            let p = order[at];
            let repeat = at > 0
                && pairs.later[order[at - 1]] == row
                && pairs.earlier[order[at - 1]] == pairs.earlier[p];
            if repeat {
                at += 1;
                continue;
            }
            let (of, score) = (pairs.earlier[p], pairs.score[p]);
            if score >= threshold && !is_removed(&removed, of) && better(best, of, score) {
                best = Some((of, score));
            }
            at += 1;
        }
        if let Some((of, score)) = best {
            removed.push(RowMatch { row, of, score });
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{select, EarlierPairs, VectorRows};
    use crate::index::testutil::clustered;

    /// Rows split into `cells` cells by row number, every row a query everywhere: the
    /// pairs of all cells are every pair.
    fn all_pairs(v: &[f32], dim: usize, cells: usize, t: f32) -> RowPairs {
        let n = v.len() / dim;
        let rows: Vec<u64> = (0..n as u64).collect();
        let mut all = RowPairs::default();
        for c in 0..cells {
            let (lo, hi) = (c * n / cells, (c + 1) * n / cells);
            let p = cell_pairs(
                &v[lo * dim..hi * dim],
                &rows[lo..hi],
                v,
                &rows,
                dim,
                t,
                false,
            )
            .unwrap();
            for i in 0..p.len() {
                all.push(p.later[i], p.earlier[i], p.score[i]);
            }
        }
        all
    }

    /// Even rows and odd rows: two sets drawn from the same clusters.
    fn halves(v: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, r) in v.chunks_exact(dim).enumerate() {
            if i % 2 == 0 {
                a.extend_from_slice(r)
            } else {
                b.extend_from_slice(r)
            }
        }
        (a, b)
    }

    #[test]
    fn cells_find_every_pair_once_and_select_as_an_exact_search_does() {
        let dim = 24;
        let v = clustered(600, dim, 12, 0.25, 5);
        let t = 0.9;
        let pairs = all_pairs(&v, dim, 7, t);
        // Every pair once: as many as a brute-force scan finds, no repeats.
        let n = v.len() / dim;
        let row = |i: usize| &v[i * dim..(i + 1) * dim];
        let brute = (0..n)
            .flat_map(|i| (0..i).map(move |j| (i, j)))
            .filter(|&(i, j)| dot(row(i), row(j)) >= t)
            .count();
        assert!(brute > 100, "the data has pairs: {brute}");
        assert_eq!(pairs.len(), brute);
        let mut seen: Vec<(u64, u64)> = (0..pairs.len())
            .map(|p| (pairs.later[p], pairs.earlier[p]))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), brute);
        // The selection equals the single-machine one from an exact search.
        let found = ExactIndex::new(&v, dim)
            .unwrap()
            .above(&v, t - RESCORE_MARGIN, &Silent)
            .unwrap();
        let rows = VectorRows::new(&v, dim);
        let exact = select(&EarlierPairs::from_self_search(&found, rows, t), rows, t);
        let removed = select_pairs(&pairs, t);
        let want: Vec<RowMatch> = exact
            .iter()
            .enumerate()
            .filter(|(i, c)| !c.is_kept(*i))
            .map(|(i, c)| RowMatch {
                row: i as u64,
                of: c.of as u64,
                score: c.score,
            })
            .collect();
        assert!(want.len() > 50, "rows are removed: {}", want.len());
        assert_eq!(removed, want);
    }

    #[test]
    fn a_removed_row_is_no_match_and_ties_go_to_the_earliest() {
        // 0 kept; 1 removed (0); 2 matches 1 better than 0, but 1 is removed; 3 ties.
        let pairs = RowPairs {
            later: vec![2, 1, 2, 3, 3],
            earlier: vec![1, 0, 0, 0, 2],
            score: vec![0.99, 0.95, 0.91, 0.93, 0.93],
        };
        let got = select_pairs(&pairs, 0.9);
        let m = |row, of, score| RowMatch { row, of, score };
        assert_eq!(got, vec![m(1, 0, 0.95), m(2, 0, 0.91), m(3, 0, 0.93)]);
        // Below the threshold a pair does not count.
        assert_eq!(select_pairs(&pairs, 0.96), vec![m(2, 1, 0.99)]);
        // Repeats change nothing.
        let mut twice = pairs.clone();
        for i in 0..pairs.len() {
            twice.push(pairs.later[i], pairs.earlier[i], pairs.score[i]);
        }
        assert_eq!(select_pairs(&twice, 0.9), select_pairs(&pairs, 0.9));
    }

    #[test]
    fn both_ends_finds_a_pair_from_its_later_row_too() {
        let dim = 16;
        // Rows 0..100 and 100..200 drawn from the same clusters.
        let (front, back) = halves(&clustered(200, dim, 10, 0.2, 4), dim);
        let rows: Vec<u64> = (0..200).collect();
        let (front, back) = (&front[..], &back[..]);
        // Home rows 0..100, queries 100..200: every pair has its later row as the query.
        let one = cell_pairs(front, &rows[..100], back, &rows[100..], dim, 0.9, false).unwrap();
        assert!(one.is_empty());
        let both = cell_pairs(front, &rows[..100], back, &rows[100..], dim, 0.9, true).unwrap();
        let reverse = cell_pairs(back, &rows[100..], front, &rows[..100], dim, 0.9, false).unwrap();
        assert!(!both.is_empty());
        let sorted = |p: &RowPairs| {
            let mut v: Vec<(u64, u64, u32)> = (0..p.len())
                .map(|i| (p.later[i], p.earlier[i], p.score[i].to_bits()))
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(&both), sorted(&reverse));
    }

    #[test]
    fn matches_are_the_best_reference_row_of_each_query() {
        let dim = 16;
        let (refs, queries) = halves(&clustered(300, dim, 5, 0.3, 2), dim);
        let (refs, queries) = (&refs[..], &queries[..]);
        let ref_rows: Vec<u64> = (1000..1150).collect();
        let query_rows: Vec<u64> = (0..150).collect();
        let got = cell_matches(queries, &query_rows, refs, &ref_rows, dim, 0.8).unwrap();
        assert!(got.len() > 20);
        for m in &got {
            let q = &queries[m.row as usize * dim..(m.row as usize + 1) * dim];
            let best = (0..150)
                .map(|r| (ref_rows[r], dot(&refs[r * dim..(r + 1) * dim], q)))
                .fold(
                    None,
                    |b, (of, s)| if better(b, of, s) { Some((of, s)) } else { b },
                )
                .unwrap();
            assert_eq!((m.of, m.score), best);
        }
        let misses = (0..150)
            .filter(|&q| !got.iter().any(|m| m.row == q as u64))
            .filter(|&q| {
                let qv = &queries[q * dim..(q + 1) * dim];
                (0..150).any(|r| dot(&refs[r * dim..(r + 1) * dim], qv) >= 0.8)
            })
            .count();
        assert_eq!(misses, 0);
        let bad = cell_matches(queries, &query_rows[1..], refs, &ref_rows, dim, 0.8);
        assert!(matches!(bad, Err(IndexError::DimensionMismatch { .. })));
    }
}
