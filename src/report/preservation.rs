//! How well a 2-D map keeps the embedding's neighbourhoods: the evidence for choosing one
//! map over another (say the [layout](super::layout) over [PCA](super::projection)).
//!
//! Both measures look at a seeded sample of query rows. For each, its `k` nearest other
//! rows are found exactly twice, over all rows: in the embedding (highest dot product,
//! the vectors being unit length; queries are scored in blocks, as matrix products) and
//! on the map (smallest Euclidean distance). Ties are broken by the lower row number on
//! both sides.
//!
//! - [`neighbourhood_preservation`]: the share of the embedding's `k` neighbours that
//!   are also the map's, averaged over the queries (1: every neighbourhood kept; for a
//!   map unrelated to the data, about `k / n`).
//! - [`trustworthiness`]: Venna & Kaski's measure of how far the map's neighbours are
//!   *false* ones, weighted by how far down the embedding's ranking they really are
//!   (1: none; about 0.5 for a map unrelated to the data).

use rayon::prelude::*;

use crate::linalg::{scores_into, Rng};

/// Mean share of each sampled point's k nearest neighbours in the vectors that are also
/// among its k nearest on the map.
///
/// `vectors`: row-major, `dim` wide, unit length; `points`: one per row. Up to `sample`
/// query rows are drawn with `seed` (all rows if `sample >= n`); `k` is capped at
/// `n − 1`. In `[0, 1]`; 1 when there is nothing to compare (fewer than two rows,
/// `k = 0` or no queries).
///
/// # Panics
///
/// If `vectors` does not hold `points.len()` rows of `dim`.
pub fn neighbourhood_preservation(
    vectors: &[f32],
    dim: usize,
    points: &[[f32; 2]],
    k: usize,
    sample: usize,
    seed: u64,
) -> f64 {
    let Some((queries, k)) = setup(vectors, dim, points, k, sample, seed) else {
        return 1.0;
    };
    let shared: usize = per_query(vectors, dim, &queries, |q, scores| {
        let high = nearest(scores, q, k, |a, b| b.total_cmp(&a));
        let mut low = nearest(&distances(points, q), q, k, |a, b| a.total_cmp(&b));
        low.sort_unstable();
        high.iter().filter(|j| low.binary_search(j).is_ok()).count()
    })
    .into_iter()
    .sum();
    shared as f64 / (queries.len() * k) as f64
}

/// Venna & Kaski's trustworthiness at `k`, on the same sampled queries as
/// [`neighbourhood_preservation`] (neighbours searched over all points):
/// `1 − Σ_q Σ_{j ∈ U_q} (r(q, j) − k) / (queries × P)`, where `U_q` holds the map's `k`
/// nearest neighbours of `q` that are not among its `k` nearest in the embedding,
/// `r(q, j)` is `j`'s rank among `q`'s neighbours in the embedding (1 for the nearest),
/// and `P` is the largest possible penalty of one query (`k(2n − 3k − 1)/2` for
/// `k < n/2`, which makes this the usual formula).
///
/// In `[0, 1]`; 1 when there is nothing to compare. Same arguments and panics as
/// [`neighbourhood_preservation`].
pub fn trustworthiness(
    vectors: &[f32],
    dim: usize,
    points: &[[f32; 2]],
    k: usize,
    sample: usize,
    seed: u64,
) -> f64 {
    let Some((queries, k)) = setup(vectors, dim, points, k, sample, seed) else {
        return 1.0;
    };
    let n = points.len();
    // The worst a query can do: its k map neighbours are the rows ranked last in the
    // embedding (ranks n−1, n−2, …), as far as those lie beyond rank k.
    let worst: u64 = (0..k.min(n - 1 - k)).map(|t| (n - 1 - t - k) as u64).sum();
    if worst == 0 {
        return 1.0;
    }
    let penalty: u64 = per_query(vectors, dim, &queries, |q, scores| {
        let mut high = nearest(scores, q, k, |a, b| b.total_cmp(&a));
        high.sort_unstable();
        let low = nearest(&distances(points, q), q, k, |a, b| a.total_cmp(&b));
        low.iter()
            .filter(|j| high.binary_search(j).is_err())
            .map(|&j| (rank(scores, q, j) - k) as u64)
            .sum::<u64>()
    })
    .into_iter()
    .sum();
    (1.0 - penalty as f64 / (queries.len() as f64 * worst as f64)).clamp(0.0, 1.0)
}

/// Checks the shapes and draws the queries: `(queries, k)`, or `None` when there is
/// nothing to measure.
fn setup(
    vectors: &[f32],
    dim: usize,
    points: &[[f32; 2]],
    k: usize,
    sample: usize,
    seed: u64,
) -> Option<(Vec<usize>, usize)> {
    let n = points.len();
    assert_eq!(
        vectors.len(),
        n * dim,
        "{} values are not {n} rows of {dim}",
        vectors.len()
    );
    let k = k.min(n.saturating_sub(1));
    if k == 0 || sample == 0 || dim == 0 {
        return None;
    }
    Some((Rng::new(seed).sample(n, sample.min(n)), k))
}

/// Queries scored together against all rows (one pass over the rows per block, rather
/// than one per query).
const QUERY_BLOCK: usize = 16;

/// `f(q, scores)` for each query row `q`, with `scores` its similarity to every row;
/// blocks of queries in parallel, results in query order.
fn per_query<T: Send>(
    vectors: &[f32],
    dim: usize,
    queries: &[usize],
    f: impl Fn(usize, &[f32]) -> T + Sync,
) -> Vec<T> {
    let n = vectors.len() / dim;
    queries
        .par_chunks(QUERY_BLOCK)
        .flat_map_iter(|block| {
            let rows: Vec<f32> = block
                .iter()
                .flat_map(|&q| &vectors[q * dim..(q + 1) * dim])
                .copied()
                .collect();
            let mut scores = vec![0f32; block.len() * n];
            scores_into(&rows, vectors, dim, &mut scores);
            block
                .iter()
                .zip(scores.chunks_exact(n))
                .map(|(&q, s)| f(q, s))
                .collect::<Vec<T>>()
        })
        .collect()
}

/// Squared map distance from point `q` to every point.
fn distances(points: &[[f32; 2]], q: usize) -> Vec<f32> {
    let p = points[q];
    points
        .iter()
        .map(|o| (o[0] - p[0]).powi(2) + (o[1] - p[1]).powi(2))
        .collect()
}

/// The `k` rows other than `q` that come first by `order` on `values` (ties: lower row
/// first), in no particular order.
fn nearest(
    values: &[f32],
    q: usize,
    k: usize,
    order: impl Fn(f32, f32) -> std::cmp::Ordering,
) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..values.len()).filter(|&j| j != q).collect();
    let cmp = |&a: &usize, &b: &usize| order(values[a], values[b]).then(a.cmp(&b));
    if rows.len() > k {
        rows.select_nth_unstable_by(k - 1, cmp);
        rows.truncate(k);
    }
    rows
}

/// Row `j`'s rank among query `q`'s neighbours by similarity (1 for the most similar;
/// ties: lower row first).
fn rank(scores: &[f32], q: usize, j: usize) -> usize {
    let s = scores[j];
    1 + scores
        .iter()
        .enumerate()
        .filter(|&(r, &t)| {
            r != q && r != j && (t.total_cmp(&s).is_gt() || (t.total_cmp(&s).is_eq() && r < j))
        })
        .count()
}

/// Test data and measures shared with the layout's tests.
#[cfg(test)]
pub(crate) mod testutil {
    /// `groups` clusters of `per` rows, 64 wide, each a patch of a random plane (two
    /// latent coordinates) around a random centre, plus a little isotropic noise.
    pub fn patches(groups: usize, per: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::linalg::Rng::new(seed);
        let mut normal = move || ((0..4).map(|_| rng.next_f64() - 0.5).sum::<f64>() * 1.7) as f32;
        let mut out = Vec::new();
        for _ in 0..groups {
            let basis: Vec<f32> = (0..3 * 64).map(|_| normal()).collect();
            for _ in 0..per {
                let (u, w) = (normal() * 0.5, normal() * 0.5);
                for t in 0..64 {
                    out.push(basis[t] + u * basis[64 + t] + w * basis[128 + t] + 0.1 * normal());
                }
            }
        }
        crate::linalg::normalize_rows(&mut out, 64);
        out
    }

    /// For rows in groups of `per`: the mean distance to the own group's centroid over
    /// the mean to the others' (lower: tighter, more separate groups), and the share of
    /// rows nearer another group's centroid than their own.
    pub fn separation(points: &[[f32; 2]], per: usize) -> [f64; 2] {
        let cs: Vec<[f32; 2]> = points
            .chunks(per)
            .map(|g| {
                let s = g.iter().fold([0f32; 2], |s, p| [s[0] + p[0], s[1] + p[1]]);
                [s[0] / g.len() as f32, s[1] / g.len() as f32]
            })
            .collect();
        let (mut own, mut other, mut misplaced) = (0f64, 0f64, 0usize);
        for (i, p) in points.iter().enumerate() {
            let d = |c: &[f32; 2]| ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt() as f64;
            let mine = d(&cs[i / per]);
            let all: f64 = cs.iter().map(d).sum();
            own += mine;
            other += (all - mine) / (cs.len() - 1) as f64;
            misplaced += cs.iter().any(|c| d(c) < mine) as usize;
        }
        [own / other, misplaced as f64 / points.len() as f64]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::normalize_rows;

    /// `n` random 2-D unit vectors (points on the circle).
    fn circle(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let mut v: Vec<f32> = (0..2 * n).map(|_| rng.next_f64() as f32 - 0.5).collect();
        normalize_rows(&mut v, 2);
        v
    }

    fn as_points(v: &[f32]) -> Vec<[f32; 2]> {
        v.chunks_exact(2).map(|p| [p[0], p[1]]).collect()
    }

    fn random_points(n: usize, seed: u64) -> Vec<[f32; 2]> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| [rng.next_f64() as f32, rng.next_f64() as f32])
            .collect()
    }

    #[test]
    fn a_perfect_map_scores_one() {
        let v = circle(600, 1);
        let p = as_points(&v);
        assert_eq!(neighbourhood_preservation(&v, 2, &p, 10, 200, 7), 1.0);
        assert_eq!(trustworthiness(&v, 2, &p, 10, 200, 7), 1.0);
        // Scaling and moving the map changes no neighbourhood.
        let moved: Vec<[f32; 2]> = p
            .iter()
            .map(|q| [3.0 * q[0] + 5.0, 3.0 * q[1] - 1.0])
            .collect();
        assert_eq!(neighbourhood_preservation(&v, 2, &moved, 10, 600, 7), 1.0);
    }

    #[test]
    fn a_random_map_scores_near_chance() {
        let v = circle(2000, 2);
        let p = random_points(2000, 3);
        let pres = neighbourhood_preservation(&v, 2, &p, 10, 300, 4);
        // Chance is k / n = 0.005.
        assert!(pres < 0.02, "{pres}");
        let t = trustworthiness(&v, 2, &p, 10, 300, 4);
        assert!((0.4..0.6).contains(&t), "{t}");
    }

    #[test]
    fn a_map_that_keeps_some_neighbourhoods_scores_in_between() {
        // Half the points in place, half moved at random.
        let v = circle(1000, 5);
        let mut p = as_points(&v);
        let noise = random_points(1000, 6);
        for (i, q) in p.iter_mut().enumerate() {
            if i % 2 == 1 {
                *q = [noise[i][0] * 2.0 - 1.0, noise[i][1] * 2.0 - 1.0];
            }
        }
        let pres = neighbourhood_preservation(&v, 2, &p, 10, 1000, 1);
        let t = trustworthiness(&v, 2, &p, 10, 1000, 1);
        assert!((0.1..0.9).contains(&pres), "{pres}");
        assert!((0.6..0.98).contains(&t), "{t}");
    }

    #[test]
    fn matches_a_hand_computed_example() {
        // Five rows at angles with gaps 0.1, 0.15, 0.2, 0.25: from row 0 the embedding
        // ranks 1, 2, 3, 4; from row 4, 3, 2, 1, 0.
        let angles = [0.0f32, 0.1, 0.25, 0.45, 0.7];
        let v: Vec<f32> = angles.iter().flat_map(|a| [a.cos(), a.sin()]).collect();
        let scores: Vec<f32> = v
            .chunks_exact(2)
            .map(|r| crate::linalg::dot(&v[..2], r))
            .collect();
        let ranks: Vec<usize> = (1..5).map(|j| rank(&scores, 0, j)).collect();
        assert_eq!(ranks, [1, 2, 3, 4]);
        // On the map row 4 sits next to row 0, the others far off in order.
        let p = [
            [0.0, 0.0],
            [10.0, 0.0],
            [20.0, 0.0],
            [30.0, 0.0],
            [1.0, 0.0],
        ];
        // k = 1: rows 0, 1 and 4 get a false neighbour of embedding rank 4 (penalty 3
        // each, 9 in all); rows 2 and 3 keep theirs. The worst per query is 3, so
        // T = 1 − 9 / (5 × 3) = 0.4, as Venna & Kaski's 1 − 2/(nk(2n−3k−1)) · 9.
        let t = trustworthiness(&v, 2, &p, 1, 5, 0);
        assert!((t - 0.4).abs() < 1e-12, "{t}");
        assert!((neighbourhood_preservation(&v, 2, &p, 1, 5, 0) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(neighbourhood_preservation(&[], 4, &[], 10, 100, 0), 1.0);
        assert_eq!(trustworthiness(&[], 4, &[], 10, 100, 0), 1.0);
        let one = [1.0f32, 0.0];
        assert_eq!(trustworthiness(&one, 2, &[[0.0, 0.0]], 10, 100, 0), 1.0);
        // Two rows: each is the other's only neighbour, whatever the map.
        let two = [1.0f32, 0.0, 0.0, 1.0];
        let p = [[0.0, 0.0], [5.0, 5.0]];
        assert_eq!(neighbourhood_preservation(&two, 2, &p, 10, 100, 0), 1.0);
        assert_eq!(trustworthiness(&two, 2, &p, 10, 100, 0), 1.0);
        // All rows identical: any neighbours are right (ties go to the lower row on both
        // sides, and all map points coincide too).
        let same = [0.6f32, 0.8].repeat(50);
        let p = vec![[1.0f32, 1.0]; 50];
        assert_eq!(neighbourhood_preservation(&same, 2, &p, 5, 50, 0), 1.0);
        assert_eq!(trustworthiness(&same, 2, &p, 5, 50, 0), 1.0);
    }

    #[test]
    #[should_panic(expected = "not 3 rows")]
    fn mismatched_shapes_panic() {
        neighbourhood_preservation(&[1.0, 0.0], 2, &[[0.0, 0.0]; 3], 1, 1, 0);
    }
}
