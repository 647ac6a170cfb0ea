//! Outliers and representatives, ranked by how dense each row's neighbourhood is.
//!
//! Both follow SemHash 0.5 (`self_filter_outliers`, `self_find_representative`): a row's
//! score is its mean similarity to its `k` (100) nearest other rows. Outliers are the
//! lowest-scored rows; representatives are drawn from the highest-scored candidates and
//! diversified with maximal marginal relevance ([`mmr`]).

use crate::index::{self, IndexError, IndexKind, Neighbors, VectorIndex};
use crate::linalg::dot;
use crate::progress::Progress;

/// Each query's density score against `base` (row-major unit vectors, `dim` wide): its
/// mean similarity to its `k` nearest rows of `base`, searched with a `kind` index
/// (default parameters). `self_ids`: the queries are `base` itself, and each row's own
/// hit is left out.
pub fn density(
    queries: &[f32],
    base: &[f32],
    dim: usize,
    k: usize,
    self_ids: bool,
    kind: IndexKind,
    progress: &dyn Progress,
) -> Result<Vec<f32>, IndexError> {
    let index = index::build(
        kind,
        Default::default(),
        Default::default(),
        base,
        dim,
        progress,
    )?;
    density_in(&*index, queries, k, self_ids, progress)
}

/// [`density`] with an index already built over the base rows.
pub fn density_in(
    index: &dyn VectorIndex,
    queries: &[f32],
    k: usize,
    self_ids: bool,
    progress: &dyn Progress,
) -> Result<Vec<f32>, IndexError> {
    let found = index.top_k(queries, k + usize::from(self_ids), progress)?;
    Ok(density_scores(&found, k, self_ids))
}

/// Mean similarity of each query to its hits, leaving out the query itself (`self_ids`:
/// query `i` is indexed row `i`). A row with no other hit scores 0.
pub fn density_scores(found: &Neighbors, k: usize, self_ids: bool) -> Vec<f32> {
    (0..found.len())
        .map(|i| {
            let (ids, scores) = found.get(i);
            let others = ids
                .iter()
                .zip(scores)
                .filter(|(&j, _)| !(self_ids && j as usize == i))
                .take(k);
            let (sum, n) = others.fold((0f64, 0usize), |(s, n), (_, &x)| (s + x as f64, n + 1));
            if n == 0 {
                0.0
            } else {
                (sum / n as f64) as f32
            }
        })
        .collect()
}

/// Makes `scores` (each unique row's density from an approximate search of `base`, the
/// unique rows themselves, `dim` wide) exact wherever they decide [`outliers`] at
/// `fraction`, so the rows dropped are the ones an exact search drops. Returns how many
/// rows were rescored.
///
/// An approximate search can only miss neighbours, so each approximate score is at most
/// the exact one. The rows with the lowest approximate scores are rescored exactly (each
/// against every row of `base`), twice as many as the outliers to start with; when
/// every outlier then comes from the rescored rows with an exact score below the
/// lowest approximate score left, no other row can rank below them, and the outliers are
/// exact. Otherwise twice as many are rescored, up to all of them.
pub fn refine_outlier_scores(
    scores: &mut [f32],
    group_of_row: &[u32],
    fraction: f64,
    base: &[f32],
    dim: usize,
    k: usize,
    progress: &dyn Progress,
) -> Result<usize, IndexError> {
    let unique = scores.len();
    let dropped_rows = (group_of_row.len() as f64 * fraction).ceil() as usize;
    if dropped_rows == 0 || unique == 0 {
        return Ok(0);
    }
    let exact = index::ExactIndex::new(base, dim)?;
    let mut order: Vec<u32> = (0..unique as u32).collect();
    order.sort_by(|&a, &b| {
        scores[a as usize]
            .total_cmp(&scores[b as usize])
            .then(a.cmp(&b))
    });
    let mut done = 0;
    let mut want = (2 * dropped_rows).min(unique);
    loop {
        let fresh = &order[done..want];
        let mut queries = Vec::with_capacity(fresh.len() * dim);
        for &g in fresh {
            queries.extend_from_slice(&base[g as usize * dim..][..dim]);
        }
        let found = exact.top_k(&queries, k + 1, progress)?;
        for (at, &g) in fresh.iter().enumerate() {
            let (ids, hits) = found.get(at);
            let others = ids.iter().zip(hits).filter(|(&j, _)| j != g).take(k);
            let (sum, n) = others.fold((0f64, 0usize), |(s, n), (_, &x)| (s + x as f64, n + 1));
            scores[g as usize] = if n == 0 { 0.0 } else { (sum / n as f64) as f32 };
        }
        done = want;
        if done == unique {
            return Ok(done);
        }
        // Every row not rescored scores at least this much exactly.
        let floor = scores[order[done] as usize];
        let rescored: std::collections::HashSet<u32> = order[..done].iter().copied().collect();
        let keep = outliers(group_of_row, scores, fraction);
        let settled = keep
            .iter()
            .zip(group_of_row)
            .all(|(&kept, &g)| kept || (rescored.contains(&g) && scores[g as usize] < floor));
        if settled {
            return Ok(done);
        }
        want = (2 * want).min(unique);
    }
}

/// Outliers (SemHash's `self_filter_outliers`): which rows stay when the `fraction` with
/// the sparsest neighbourhoods go. `scores` are the unique rows' density scores and
/// `group_of_row` maps each row to its unique row; exact copies share their group's
/// score and rank right after its first row. The unique rows are ranked by descending
/// score (stable), expanded to all rows, and the last `ceil(rows × fraction)` are
/// dropped. Returns one keep flag per row.
pub fn outliers(group_of_row: &[u32], scores: &[f32], fraction: f64) -> Vec<bool> {
    let n = group_of_row.len();
    let mut rows_of_group: Vec<Vec<u32>> = vec![Vec::new(); scores.len()];
    for (r, &g) in group_of_row.iter().enumerate() {
        rows_of_group[g as usize].push(r as u32);
    }
    let ranked: Vec<u32> = ranking(scores)
        .into_iter()
        .flat_map(|g| rows_of_group[g as usize].iter().copied())
        .collect();
    let inliers = n - (n as f64 * fraction).ceil() as usize;
    let mut keep = vec![false; n];
    ranked[..inliers]
        .iter()
        .for_each(|&r| keep[r as usize] = true);
    keep
}

/// A representative row, in the order picked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    /// The unique row.
    pub unique: u32,
    /// Its density score (its relevance).
    pub score: f32,
    /// Its marginal gain when picked.
    pub gain: f32,
}

/// Representatives (SemHash's `self_find_representative`): the `candidates` densest
/// unique rows (`None`: [`candidate_limit`]) diversified by [`mmr`] down to `count`.
/// `vectors` are the unique rows' unit vectors, `scores` their density scores. Returns
/// the number of candidates considered and the picks in order.
pub fn representatives(
    vectors: &[f32],
    dim: usize,
    scores: &[f32],
    count: usize,
    diversity: f32,
    candidates: Option<usize>,
) -> (usize, Vec<Pick>) {
    let ranked = ranking(scores);
    let limit = candidates
        .unwrap_or_else(|| candidate_limit(ranked.len(), count))
        .min(ranked.len());
    let cand = &ranked[..limit];
    let relevance: Vec<f32> = cand.iter().map(|&g| scores[g as usize]).collect();
    let picks = mmr_among(vectors, dim, cand, &relevance, count, diversity)
        .into_iter()
        .map(|(c, gain)| {
            let unique = cand[c as usize];
            Pick {
                unique,
                score: scores[unique as usize],
                gain,
            }
        })
        .collect();
    (limit, picks)
}

/// Indices sorted by descending score; ties keep index order (a stable sort).
pub fn ranking(scores: &[f32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
    order
}

/// SemHash's automatic candidate count for representatives: 10 % of the rows, at least
/// `selection` and 100, at most 1000 and the number of rows.
pub fn candidate_limit(total: usize, selection: usize) -> usize {
    (total / 10).max(selection).clamp(100, 1000).min(total)
}

/// Maximal marginal relevance (pyversity's `mmr`): pick the most relevant candidate,
/// then repeatedly the one maximising `λ·relevance − (1 − λ)·max similarity to the
/// picks so far`, with `λ = 1 − diversity`. `vectors` are the candidates' unit vectors
/// (row-major, `dim` wide). Returns the picks in order with their marginal gains.
pub fn mmr(
    vectors: &[f32],
    dim: usize,
    relevance: &[f32],
    k: usize,
    diversity: f32,
) -> Vec<(u32, f32)> {
    let n = relevance.len();
    let k = k.min(n);
    let lambda = 1.0 - diversity;
    let mut out = Vec::with_capacity(k);
    if k == 0 {
        return out;
    }
    let row = |i: usize| &vectors[i * dim..(i + 1) * dim];
    let mut taken = vec![false; n];
    let mut max_sim = vec![f32::NEG_INFINITY; n];
    let first = argmax((0..n).map(|i| relevance[i]));
    out.push((first as u32, lambda * relevance[first]));
    taken[first] = true;
    let mut last = first;
    for _ in 1..k {
        for (i, m) in max_sim.iter_mut().enumerate() {
            *m = m.max(dot(row(i), row(last)));
        }
        let gain = |i: usize| lambda * relevance[i] - (1.0 - lambda) * max_sim[i];
        let best = argmax((0..n).map(|i| if taken[i] { f32::NEG_INFINITY } else { gain(i) }));
        out.push((best as u32, gain(best)));
        taken[best] = true;
        last = best;
    }
    out
}

/// [`mmr`] over the rows `candidates` of `vectors` (row-major, `dim` wide) with
/// `relevance` each: the picks as positions in `candidates`, with their gains.
pub fn mmr_among(
    vectors: &[f32],
    dim: usize,
    candidates: &[u32],
    relevance: &[f32],
    k: usize,
    diversity: f32,
) -> Vec<(u32, f32)> {
    let mut cv = Vec::with_capacity(candidates.len() * dim);
    for &g in candidates {
        cv.extend_from_slice(&vectors[g as usize * dim..(g as usize + 1) * dim]);
    }
    mmr(&cv, dim, relevance, k, diversity)
}

/// First index of the largest value (NumPy's `argmax`).
fn argmax(values: impl Iterator<Item = f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::NeighborsBuilder;

    #[test]
    fn density_leaves_out_the_row_itself() {
        let mut b = NeighborsBuilder::new();
        b.push([(0, 1.0), (1, 0.5), (2, 0.3)]);
        b.push([(1, 1.0), (0, 0.5)]);
        b.push([(2, 1.0)]);
        let s = density_scores(&b.finish(), 100, true);
        assert!((s[0] - 0.4).abs() < 1e-6 && (s[1] - 0.5).abs() < 1e-6 && s[2] == 0.0);
    }

    #[test]
    fn refined_outliers_are_the_exact_ones() {
        use crate::index::{testutil::clustered, IvfIndex, IvfParams};
        use crate::progress::Silent;
        // Clusters of varied density: the sparse rows are the outliers.
        let dim = 24;
        let mut v = clustered(3000, dim, 30, 0.25, 11);
        v.extend(clustered(600, dim, 2, 0.9, 12));
        let n = v.len() / dim;
        let groups: Vec<u32> = (0..n as u32).collect();
        let k = 20;
        let exact = density(&v, &v, dim, k, true, IndexKind::Exact, &Silent).unwrap();
        let want = outliers(&groups, &exact, 0.05);
        // One probe: an approximate search that misses many neighbours.
        let params = IvfParams {
            probes: 1,
            ..IvfParams::default()
        };
        let ivf = IvfIndex::build(&v, dim, params, &Silent).unwrap();
        let mut scores = density_in(&ivf, &v, k, true, &Silent).unwrap();
        assert!(
            scores.iter().zip(&exact).all(|(a, e)| *a <= e + 1e-5),
            "approximate scores are lower bounds"
        );
        assert_ne!(
            outliers(&groups, &scores, 0.05),
            want,
            "the approximation errs"
        );
        let rescored =
            refine_outlier_scores(&mut scores, &groups, 0.05, &v, dim, k, &Silent).unwrap();
        assert!(rescored < n, "rescored {rescored} of {n}");
        assert_eq!(outliers(&groups, &scores, 0.05), want);
    }

    #[test]
    fn outliers_drop_the_sparsest_groups_with_their_copies() {
        // Rows 0..6 in groups [0, 1, 0, 2, 3, 1]; group scores 0.9, 0.2, 0.5, 0.7.
        let keep = outliers(&[0, 1, 0, 2, 3, 1], &[0.9, 0.2, 0.5, 0.7], 0.34);
        // ceil(6 × 0.34) = 3 rows go: group 1 (rows 1, 5), then group 2 (row 3).
        assert_eq!(keep, vec![true, false, true, false, true, false]);
        assert!(outliers(&[0, 1], &[0.1, 0.2], 0.0).iter().all(|&k| k));
        assert!(outliers(&[0, 1], &[0.1, 0.2], 1.0).iter().all(|&k| !k));
    }

    #[test]
    fn representatives_pick_among_the_densest_candidates() {
        let v = [1.0, 0.0, 0.999, 0.0447, 0.0, 1.0, 0.6, 0.8];
        let scores = [0.9, 0.89, 0.8, 0.1];
        let (limit, picks) = representatives(&v, 2, &scores, 2, 0.5, Some(3));
        assert_eq!(limit, 3);
        assert_eq!(
            picks.iter().map(|p| p.unique).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(picks[1].score, 0.8);
        let (all, _) = representatives(&v, 2, &scores, 2, 0.5, None);
        assert_eq!(all, 4, "SemHash's rule, capped at the rows there are");
    }

    #[test]
    fn ranking_is_stable_descending() {
        assert_eq!(ranking(&[0.5, 0.9, 0.5, 0.1, 0.9]), vec![1, 4, 0, 2, 3]);
    }

    #[test]
    fn candidate_limit_follows_semhash() {
        assert_eq!(candidate_limit(50, 10), 50);
        assert_eq!(candidate_limit(500, 10), 100);
        assert_eq!(candidate_limit(5000, 10), 500);
        assert_eq!(candidate_limit(50_000, 10), 1000);
        assert_eq!(candidate_limit(5000, 700), 700);
    }

    #[test]
    fn mmr_trades_relevance_for_diversity() {
        // Two near-identical relevant vectors and one different, slightly less relevant.
        let v = [1.0, 0.0, 0.999, 0.0447, 0.0, 1.0];
        let rel = [0.9, 0.89, 0.8];
        let picks: Vec<u32> = mmr(&v, 2, &rel, 2, 0.5).into_iter().map(|p| p.0).collect();
        assert_eq!(picks, vec![0, 2]);
        let pure: Vec<u32> = mmr(&v, 2, &rel, 2, 0.0).into_iter().map(|p| p.0).collect();
        assert_eq!(pure, vec![0, 1]);
        let gains = mmr(&v, 2, &rel, 3, 0.5);
        assert!((gains[0].1 - 0.45).abs() < 1e-6);
        assert!((gains[1].1 - (0.5 * 0.8 - 0.5 * 0.0)).abs() < 1e-6);
    }
}
