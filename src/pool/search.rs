//! Scoring candidates against a pool's rows: each candidate's nearest rows, ranked with
//! [`dot`] exactly as `semsift dedup --index exact` ranks them.
//!
//! Rows are compared as *canonical* vectors: the pool stores `f16`, and a stored row is
//! widened and scaled back to unit length, as the dedup job does with `f16` vectors; a
//! candidate is rounded through `f16` the same way before it is compared, so it scores
//! against a stored row exactly as it will once stored itself. Matrix products find the
//! candidates a block of rows at a time; every row whose product comes within
//! [`RESCORE_MARGIN`] of the ones kept is rescored with [`dot`], so no ranking (and no
//! keep-or-reject decision) rests on the products' rounding.

use std::ops::Range;

use half::f16;
use rayon::prelude::*;

use crate::dedup::RESCORE_MARGIN;
use crate::linalg::{dot, inverse_norm, scores_into, widen_scaled};

/// Stored rows scored against the candidates per product.
const BLOCK_ROWS: usize = 2048;
/// Candidates scored per product.
const QUERY_ROWS: usize = 256;

/// A match: a row's id and its score ([`dot`] of the canonical vectors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The row's id.
    pub id: u64,
    /// Its similarity to the candidate.
    pub score: f32,
}

impl Hit {
    /// Whether `self` ranks before `other`: a higher score, or the same score and a lower
    /// id (an earlier row), the tie rule of `semsift dedup`.
    pub fn beats(&self, other: &Hit) -> bool {
        self.score > other.score || (self.score == other.score && self.id < other.id)
    }
}

/// Rounds unit rows `x` to `f16`, as the pool stores them.
pub(crate) fn narrow(x: &[f32]) -> Vec<f16> {
    let mut halves = Vec::with_capacity(x.len());
    crate::store::narrow_into(x, &mut halves);
    halves
}

/// Widens `f16` rows into `out` (resized to fit), each scaled back to unit length (zero
/// rows stay zero): the canonical vectors the pool compares.
pub(crate) fn widen_unit(halves: &[f16], dim: usize, out: &mut Vec<f32>) {
    out.resize(halves.len(), 0.0);
    widen_scaled(halves, 1.0, out);
    for row in out.chunks_exact_mut(dim) {
        let inv = inverse_norm(row);
        row.iter_mut().for_each(|x| *x *= inv);
    }
}

/// Keeps `list` to the `k` best hits (see [`Hit::beats`]), best first.
fn keep_best(list: &mut Vec<Hit>, k: usize) {
    list.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    list.truncate(k);
}

/// The `k` best of some rows for a candidate, given their `products` with it (any
/// summation order, off the [`dot`] of the canonical vectors by less than
/// [`RESCORE_MARGIN`]): every row whose product comes within the margin of the `k`-th best
/// is rescored with `rescore(j)` (row `j`'s [`dot`] with the candidate), and the `k` best
/// by that score are kept, best first. `id(j)` is row `j`'s id; `line` is scratch.
pub(crate) fn best_rows(
    products: &[f32],
    k: usize,
    line: &mut Vec<f32>,
    id: impl Fn(usize) -> u64,
    mut rescore: impl FnMut(usize) -> f32,
) -> Vec<Hit> {
    let width = products.len();
    // The k-th best product, less the margin, bounds every row that can rank among the
    // k best once rescored.
    let kth = if k == 1 {
        products.iter().copied().fold(f32::NEG_INFINITY, f32::max)
    } else if k >= width {
        products.iter().copied().fold(f32::INFINITY, f32::min)
    } else {
        line.clear();
        line.extend_from_slice(products);
        *line.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a)).1
    };
    let cut = kth - RESCORE_MARGIN;
    let mut hits: Vec<Hit> = products
        .iter()
        .enumerate()
        .filter(|&(_, &p)| p >= cut)
        .map(|(j, _)| Hit {
            id: id(j),
            score: rescore(j),
        })
        .collect();
    keep_best(&mut hits, k);
    hits
}

/// For each row of `queries` (canonical unit rows, `dim` wide): its `k` nearest among
/// `total` stored rows, best first, each with its [`dot`] score. `fill(range, buf)` puts
/// the canonical stored rows `range` in `buf` (`f32`, `dim` wide); row `r`'s id is
/// `first_id + r`.
pub(crate) fn nearest(
    queries: &[f32],
    dim: usize,
    k: usize,
    total: usize,
    first_id: u64,
    fill: &(dyn Fn(Range<usize>, &mut Vec<f32>) + Sync),
) -> Vec<Vec<Hit>> {
    let n = queries.len() / dim;
    if n == 0 || total == 0 || k == 0 {
        return vec![Vec::new(); n];
    }
    let blocks: Vec<Range<usize>> = (0..total)
        .step_by(BLOCK_ROWS)
        .map(|s| s..(s + BLOCK_ROWS).min(total))
        .collect();
    let per_block = |(buf, scores, line): &mut (Vec<f32>, Vec<f32>, Vec<f32>),
                     range: &Range<usize>|
     -> Vec<Vec<Hit>> {
        fill(range.clone(), buf);
        let width = range.len();
        let mut found = Vec::with_capacity(n);
        for qs in queries.chunks(QUERY_ROWS * dim) {
            scores.resize(qs.len() / dim * width, 0.0);
            scores_into(qs, buf, dim, scores);
            for (q, products) in qs.chunks_exact(dim).zip(scores.chunks_exact(width)) {
                let base = first_id + range.start as u64;
                let id = |j: usize| base + j as u64;
                let rescore = |j: usize| dot(q, &buf[j * dim..(j + 1) * dim]);
                found.push(best_rows(products, k, line, id, rescore));
            }
        }
        found
    };
    blocks
        .par_iter()
        .map_init(|| (Vec::new(), Vec::new(), Vec::new()), per_block)
        .reduce(
            || vec![Vec::new(); n],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    x.extend(y);
                    keep_best(x, k);
                }
                a
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::testutil::unit_rows;

    /// The k nearest by brute force with `dot`, ties by id.
    fn brute(q: &[f32], rows: &[f32], dim: usize, k: usize) -> Vec<Hit> {
        let mut all: Vec<Hit> = rows
            .chunks_exact(dim)
            .enumerate()
            .map(|(j, r)| Hit {
                id: 100 + j as u64,
                score: dot(q, r),
            })
            .collect();
        keep_best(&mut all, k);
        all
    }

    #[test]
    fn nearest_rows_are_those_of_brute_force_with_dot_scores() {
        let dim = 24;
        let mut rows = unit_rows(5000, dim, 7);
        // Exact copies and ties: rows 10 and 4000 equal row 3.
        let r3 = rows[3 * dim..4 * dim].to_vec();
        rows[10 * dim..11 * dim].copy_from_slice(&r3);
        rows[4000 * dim..4001 * dim].copy_from_slice(&r3);
        let mut queries = unit_rows(300, dim, 8);
        queries[..dim].copy_from_slice(&r3);
        let fill = |r: Range<usize>, buf: &mut Vec<f32>| {
            buf.clear();
            buf.extend_from_slice(&rows[r.start * dim..r.end * dim]);
        };
        for k in [1, 3, 40] {
            let got = nearest(&queries, dim, k, 5000, 100, &fill);
            for (i, q) in queries.chunks_exact(dim).enumerate() {
                assert_eq!(got[i], brute(q, &rows, dim, k), "query {i}, k {k}");
            }
            assert_eq!(got[0][0].id, 103, "ties go to the earliest row");
        }
        assert_eq!(nearest(&queries, dim, 1, 0, 0, &fill), vec![vec![]; 300]);
    }
}
