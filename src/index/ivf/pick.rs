//! Which cells a threshold query probes: its own, then the others ranked by how close
//! the query comes to them (the hyperplane bound of the module docs of [`super`]),
//! skipping those no match can lie in. The clustered index and the pool's cells both
//! pick their cells here.

use crate::index::quantizer::Quantizer;
use crate::linalg::dot_wide;

/// Added to a threshold's reach before cells beyond it are skipped, so float rounding in
/// the centroid scores never skips a cell that holds a match.
const REACH_SLACK: f32 = 1e-3;
/// Taken off a score difference before [`gap_floor`] bounds a gap with it.
const GAP_SLACK: f32 = 2e-3;

/// What a threshold query keeps of its best cells.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pick {
    /// Cells kept by gap, the query's own included.
    probes: usize,
    /// Further cells at least this similar are kept too (dense regions).
    floor: f32,
    /// Cells farther than this from the query hold no match.
    reach: f32,
}

impl Pick {
    /// Up to `probes` cells by gap (at least 1: the query's own), and any further cell
    /// whose centroid is at least `threshold − dense_margin` similar to the query; none
    /// beyond the distance a match at `threshold` can lie at.
    pub fn new(probes: usize, threshold: f32, dense_margin: f32) -> Pick {
        Pick {
            probes: probes.max(1),
            floor: threshold - dense_margin,
            // Rows at least `threshold` similar to a query lie within this distance of it.
            reach: distance(threshold) + REACH_SLACK,
        }
    }

    /// Appends to `ids` a query's cells from its best ones (`cells`, most similar first,
    /// scored against `quantizer`'s centroids): its own cell, then the others ranked by
    /// how close the query comes to them ([`cell_gap`]), skipping those beyond the
    /// reach: the first `probes` in all, then any further ones at least `floor` similar.
    pub fn cells(&self, quantizer: &Quantizer, cells: &[(u32, f32)], ids: &mut Vec<u32>) {
        let Pick {
            probes,
            floor,
            reach,
        } = *self;
        let Some(&(own, own_score)) = cells.first() else {
            return;
        };
        let own_distance = distance(own_score);
        // The cells come most similar first, and `gap_floor` grows as the score falls:
        // once it passes the reach, or the `probes − 1`-th smallest gap so far for a cell
        // below `floor`, no later cell can be picked, and their gaps are not computed.
        // (gap and cell as one integer ordering as (gap, cell), score)
        let mut ranked: Vec<(u64, f32)> = Vec::with_capacity(cells.len());
        let mut nearest = vec![f32::INFINITY; probes - 1];
        for &(c, s) in &cells[1..] {
            let least = gap_floor(own_score, own_distance, s);
            let kth = nearest.last().copied().unwrap_or(f32::NEG_INFINITY);
            if least > reach || (s < floor && least > kth) {
                break;
            }
            let gap = cell_gap(quantizer, own, own_score, c, s);
            if gap > reach {
                continue;
            }
            ranked.push((gap_key(gap, c), s));
            if gap < kth {
                let at = nearest.partition_point(|&g| g <= gap);
                nearest.insert(at, gap);
                nearest.pop();
            }
        }
        ranked.sort_unstable_by_key(|&(key, _)| key);
        let near = ranked.len().min(probes - 1);
        ids.push(own);
        ids.extend(ranked[..near].iter().map(|&(key, _)| key as u32));
        ids.extend(
            ranked[near..]
                .iter()
                .filter(|&&(_, s)| s >= floor)
                .map(|&(key, _)| key as u32),
        );
    }
}

/// A lower bound on the distance from a query to any member of cell `c`, given the
/// query's scores against `c`'s centroid and its own cell's. Every member of `c` is at
/// least as similar to `μc` as to `μown` (it was put in its nearest cell; through the
/// two-level quantizer, nearly always), so it lies on `c`'s side of the hyperplane
/// halfway between the two unit centroids; the query lies on the other side,
/// `(s_own − s_c) / ‖μown − μc‖` from that hyperplane. Ranking cells by this instead of
/// by `s_c` accounts for how far apart the centroids are: a cell next door whose
/// centroid is far off still comes close to the query.
pub(super) fn cell_gap(quantizer: &Quantizer, own: u32, own_score: f32, c: u32, score: f32) -> f32 {
    let apart = 2.0
        - 2.0
            * dot_wide(
                quantizer.centroid(own as usize),
                quantizer.centroid(c as usize),
            );
    if apart < 1e-6 {
        return 0.0; // (nearly) the same centroid: no bound
    }
    (own_score - score).max(0.0) / apart.sqrt()
}

/// `(gap, c)` as an integer whose ascending order is the gaps' total order (`f32::total_cmp`:
/// a gap of `+0.0` or more orders as its bits), ties by ascending cell.
pub(super) fn gap_key(gap: f32, c: u32) -> u64 {
    let b = gap.to_bits();
    let ascending = if b >> 31 == 1 { !b } else { b | 1 << 31 };
    (u64::from(ascending) << 32) | u64::from(c)
}

/// The distance between unit vectors whose dot product is `score`.
pub(super) fn distance(score: f32) -> f32 {
    (2.0 - 2.0 * score).max(0.0).sqrt()
}

/// A lower bound on [`cell_gap`] for a cell scoring `score`, from the scores
/// alone (no centroid is read), that grows as `score` falls. The two unit centroids are
/// at most 2 apart, and at most `distance(own_score) + distance(score)` (the query lies
/// within those distances of each). `GAP_SLACK` comes off the numerator, so the bound
/// stays below a gap computed in floats, and below the gap of zero `cell_gap` gives two
/// (nearly) equal centroids, whose scores differ by at most their distance (< 10⁻³).
pub(super) fn gap_floor(own_score: f32, own_distance: f32, score: f32) -> f32 {
    let apart = (own_distance + distance(score)).min(2.0);
    let triangle = (own_score - score - GAP_SLACK).max(0.0) / apart.max(f32::MIN_POSITIVE);
    ((own_score - score).max(0.0) / 2.0).max(triangle)
}
