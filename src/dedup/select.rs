//! Which rows to keep: SemHash 0.5's greedy selection in input order.

use super::full_scan::first_match;
use super::pairs::EarlierPairs;
use super::VectorRows;
use crate::linalg::dot;

/// The outcome for one unique row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canonical {
    /// The unique row it is kept as (itself) or removed in favour of (an earlier kept row).
    pub of: u32,
    /// Exact similarity to `of` (1.0 for a kept row).
    pub score: f32,
}

impl Canonical {
    /// Whether row `i` with this outcome is kept.
    pub fn is_kept(&self, i: usize) -> bool {
        self.of as usize == i
    }
}

/// Walks unique rows in input order. Row `i` is removed when one of the *canonical rows*
/// of its earlier similar rows (`j < i` with score ≥ `threshold`; the canonical of a kept
/// row is itself, of a removed row the kept row it points to) is itself at least
/// `threshold` similar to `i`, rescored exactly; it then points to the most similar such
/// kept row (ties: the earliest). Otherwise it is kept. This is SemHash 0.5's
/// `select_canonicals`: every removed row points to a kept row it matches directly, so
/// there are no transitive chains.
///
/// A row whose list was cut at the index's hit limit ([`EarlierPairs::is_cut`]) and
/// that finds no kept match in it is compared with every row kept so far, as SemHash does
/// for lists at its `MAX_NEIGHBORS`: the keep/remove decision stays exact.
///
/// `pairs` must have been found at a floor no higher than `threshold`.
pub fn select(pairs: &EarlierPairs, vectors: VectorRows<'_>, threshold: f32) -> Vec<Canonical> {
    debug_assert!(pairs.floor() <= threshold);
    let n = pairs.len();
    let mut out: Vec<Canonical> = Vec::with_capacity(n);
    let mut kept: Vec<u32> = Vec::new();
    let mut candidates: Vec<(u32, f32)> = Vec::new();
    // Cut rows whose list found no kept match are kept for now and compared with every
    // earlier kept row in batches ([`first_match`]). When one of them does match, the
    // first such row is decided by that match and every decision after it is redone.
    let mut pending: Vec<usize> = Vec::new();
    let (mut full_scans, mut found_by_scan) = (0usize, 0usize);
    let mut i = 0;
    while i < n {
        let best = best_listed(pairs, vectors, threshold, &out, i, &mut candidates);
        if best.is_none() && pairs.is_cut(i) {
            pending.push(i);
        }
        let outcome = best.unwrap_or(Canonical {
            of: i as u32,
            score: 1.0,
        });
        if outcome.is_kept(i) {
            kept.push(i as u32);
        }
        out.push(outcome);
        i += 1;
        let due =
            pending.len() == SCAN_BATCH || pending.first().is_some_and(|&p| i - p >= SCAN_SPAN);
        if due || (i == n && !pending.is_empty()) {
            full_scans += pending.len();
            if let Some((row, canonical)) = first_match(&pending, &kept, vectors, threshold) {
                found_by_scan += 1;
                full_scans -= pending.iter().filter(|&&r| r > row).count();
                out.truncate(row);
                kept.truncate(kept.partition_point(|&k| (k as usize) < row));
                out.push(canonical);
                i = row + 1;
            }
            pending.clear();
        }
    }
    tracing::debug!(
        rows = n,
        full_scans,
        found_by_scan,
        "cut rows compared with every kept row"
    );
    out
}

/// Cut rows compared with every kept row per pass over the kept vectors...
const SCAN_BATCH: usize = 256;
/// ...and the most rows decided past the first of them before that pass: a match found
/// there undoes the decisions after it, so this bounds the work redone.
const SCAN_SPAN: usize = 8192;

/// Row `i`'s best kept match through its list: the canonicals of its similar earlier
/// rows (decided in `out`), each rescored exactly unless it is the listed row itself.
fn best_listed(
    pairs: &EarlierPairs,
    vectors: VectorRows<'_>,
    threshold: f32,
    out: &[Canonical],
    i: usize,
    candidates: &mut Vec<(u32, f32)>,
) -> Option<Canonical> {
    let (ids, scores) = pairs.of(i);
    candidates.clear();
    for (&j, &s) in ids.iter().zip(scores) {
        if s < threshold {
            break; // sorted, most similar first
        }
        let c = out[j as usize].of;
        // A kept neighbour is its own canonical; its exact score is already known.
        candidates.push((c, if c == j { s } else { f32::NAN }));
    }
    // Each canonical once (a dense region's rows share a few of them).
    candidates.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.is_nan().cmp(&b.1.is_nan())));
    candidates.dedup_by_key(|c| c.0);
    let mut best: Option<Canonical> = None;
    for &(c, known) in candidates.iter() {
        let score = if known.is_nan() {
            dot(vectors.row(c as usize), vectors.row(i))
        } else {
            known
        };
        let better = match best {
            None => true,
            Some(b) => score > b.score || (score == b.score && c < b.of),
        };
        if score >= threshold && better {
            best = Some(Canonical { of: c, score });
        }
    }
    best
}

/// Number of unique rows kept at `threshold`.
pub fn kept_count(canon: &[Canonical]) -> usize {
    canon
        .iter()
        .enumerate()
        .filter(|(i, c)| c.is_kept(*i))
        .count()
}

/// The highest threshold in `(0, 1]` (1.0 or one of `scores`, the similarities at which
/// decisions can change) at which at most
/// `max_kept` of the *input* rows are kept, given a function that counts kept input rows
/// at a threshold. Kept counts rise with the threshold, so this bisects over the distinct
/// pair scores. Returns `None` when even the lowest score keeps more than `max_kept`.
pub fn highest_threshold_keeping(
    mut scores: Vec<f32>,
    max_kept: u64,
    mut kept_at: impl FnMut(f32) -> u64,
) -> Option<(f32, u64)> {
    let top = kept_at(1.0);
    if top <= max_kept {
        return Some((1.0, top));
    }
    scores.retain(|&s| s < 1.0);
    scores.sort_unstable_by(f32::total_cmp);
    scores.dedup();
    if scores.is_empty() {
        return None;
    }
    // Bisect for the last index whose threshold keeps ≤ max_kept.
    let first = kept_at(scores[0]);
    if first > max_kept {
        return None;
    }
    let (mut lo, mut hi) = (0usize, scores.len()); // invariant: scores[lo] ok; hi fails or end
    let mut lo_kept = first;
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let k = kept_at(scores[mid]);
        if k <= max_kept {
            lo = mid;
            lo_kept = k;
        } else {
            hi = mid;
        }
    }
    Some((scores[lo], lo_kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{testutil::clustered, ExactIndex, VectorIndex};
    use crate::progress::Silent;

    fn pairs_of(v: &[f32], dim: usize, floor: f32) -> EarlierPairs {
        let found = ExactIndex::new(v, dim)
            .unwrap()
            .above(v, floor - 1e-3, &Silent)
            .unwrap();
        EarlierPairs::from_self_search(&found, VectorRows::new(v, dim), floor)
    }

    /// Straight from the definition, quadratic: the oracle for `select`.
    fn oracle(v: &[f32], dim: usize, t: f32) -> Vec<Canonical> {
        let row = |k: usize| &v[k * dim..(k + 1) * dim];
        let n = v.len() / dim;
        let mut out: Vec<Canonical> = Vec::new();
        for i in 0..n {
            let mut cands: Vec<u32> = (0..i)
                .filter(|&j| dot(row(j), row(i)) >= t)
                .map(|j| out[j].of)
                .collect();
            cands.sort();
            cands.dedup();
            let best = cands
                .into_iter()
                .map(|c| (c, dot(row(c as usize), row(i))))
                .filter(|&(_, s)| s >= t)
                .fold(None::<(u32, f32)>, |b, x| match b {
                    Some(b) if b.1 >= x.1 => Some(b),
                    _ => Some(x),
                });
            out.push(match best {
                Some((c, s)) => Canonical { of: c, score: s },
                None => Canonical {
                    of: i as u32,
                    score: 1.0,
                },
            });
        }
        out
    }

    #[test]
    fn cut_rows_fall_back_to_every_kept_row() {
        // Unit vectors on a circle, threshold cos 30°. C (0°) is kept; r1..r3 (25–27°)
        // go to C; K (60°) is kept; the last row (45°) matches r1..r3 and K but not C.
        // Its search list cut to r1..r3 (whose canonical C does not match it) and K's list
        // not naming it either, only the fallback finds K.
        let v: Vec<f32> = [0.0f32, 25.0, 26.0, 27.0, 60.0, 45.0]
            .iter()
            .flat_map(|d| [d.to_radians().cos(), d.to_radians().sin()])
            .collect();
        let (dim, t) = (2, 30f32.to_radians().cos());
        let mut b = crate::index::NeighborsBuilder::new();
        for list in [&[0u32][..], &[0, 1], &[0, 2], &[0, 3], &[4], &[1, 2, 3]] {
            b.push(list.iter().map(|&j| (j, 0.0)));
        }
        let found = b.finish();
        let cut = vec![false, false, false, false, false, true];
        let rows = VectorRows::new(&v, dim);
        let pairs = EarlierPairs::from_self_search(&found, rows, t - 1e-3);
        let without = select(&pairs, rows, t);
        assert!(without[5].is_kept(5), "the cut list alone misses K");
        let with_fallback = select(&pairs.with_cut_rows(cut), rows, t);
        assert_eq!(with_fallback, oracle(&v, dim, t));
        assert_eq!(with_fallback[5].of, 4);
    }

    #[test]
    fn cut_lists_in_batches_decide_as_the_definition() {
        // Every list cut to the row's earliest similar row: most rows then lean on the
        // batched full scans, whose matches undo and redo later decisions.
        let (n, dim, t) = (3000, 16, 0.9f32);
        let v = clustered(n, dim, 20, 0.3, 7);
        let all = ExactIndex::new(&v, dim)
            .unwrap()
            .above(&v, t - 1e-3, &Silent)
            .unwrap();
        let mut b = crate::index::NeighborsBuilder::new();
        for i in 0..n {
            let earliest = all
                .get(i)
                .0
                .iter()
                .copied()
                .filter(|&j| (j as usize) < i)
                .min();
            b.push(earliest.map(|j| (j, 0.0)));
        }
        let rows = VectorRows::new(&v, dim);
        let pairs =
            EarlierPairs::from_self_search(&b.finish(), rows, t).with_cut_rows(vec![true; n]);
        let got = select(&pairs, rows, t);
        let want = oracle(&v, dim, t);
        let removed = (0..n).filter(|&i| !want[i].is_kept(i)).count();
        assert!(removed > n / 4, "the data has duplicates: {removed}");
        for i in 0..n {
            assert_eq!(got[i].is_kept(i), want[i].is_kept(i), "row {i}");
            let c = got[i].of as usize;
            assert!(got[c].is_kept(c), "row {i} points to a kept row");
            assert!(c == i || dot(&v[c * dim..][..dim], &v[i * dim..][..dim]) >= t);
        }
    }

    #[test]
    fn matches_the_definition_and_never_chains() {
        let dim = 24;
        let v = clustered(600, dim, 6, 0.35, 21);
        for t in [0.8f32, 0.9, 0.95] {
            let pairs = pairs_of(&v, dim, 0.8);
            let got = select(&pairs, VectorRows::new(&v, dim), t);
            assert_eq!(got, oracle(&v, dim, t), "threshold {t}");
            let removed = got
                .iter()
                .enumerate()
                .filter(|(i, c)| !c.is_kept(*i))
                .count();
            assert!(removed > 10, "the data has duplicates at {t}: {removed}");
            for (i, c) in got.iter().enumerate() {
                let target = &got[c.of as usize];
                assert!(
                    target.is_kept(c.of as usize),
                    "row {i} points to a removed row"
                );
                assert!(c.score >= t);
                assert!((c.of as usize) <= i);
            }
        }
    }

    #[test]
    fn bisects_to_the_highest_threshold_under_a_target() {
        let dim = 24;
        let v = clustered(400, dim, 8, 0.35, 5);
        let pairs = pairs_of(&v, dim, 0.7);
        let kept_at = |t: f32| kept_count(&select(&pairs, VectorRows::new(&v, dim), t)) as u64;
        let scores = || pairs.iter().map(|p| p.2).collect::<Vec<f32>>();
        let all = kept_at(0.9999);
        let (t, k) = highest_threshold_keeping(scores(), 200, kept_at).unwrap();
        assert!(k <= 200 && k == kept_at(t), "{t} keeps {k}");
        // A slightly higher threshold keeps more than the target.
        let next = pairs
            .iter()
            .map(|p| p.2)
            .filter(|&s| s > t)
            .fold(f32::MAX, f32::min);
        assert!(kept_at(next) > 200, "next threshold {next}");
        assert!(highest_threshold_keeping(scores(), 1, kept_at).is_none());
        assert_eq!(
            highest_threshold_keeping(scores(), all, kept_at),
            Some((1.0, all))
        );
    }
}
