//! k-means++ seeding (Arthur & Vassilvitskii, 2007) for unit vectors.
//!
//! The first centroid is a row drawn with probability proportional to its weight; each
//! next one is a row drawn with probability proportional to `weight × D²`, where `D²` is
//! the squared Euclidean distance to the nearest centroid chosen so far (`2 − 2·cos` for
//! unit vectors). Each step draws `2 + ⌊ln k⌋` candidates that way and keeps the one that
//! lowers the total `D²` most (greedy k-means++, scikit-learn's default), which avoids
//! most of the poor seedings plain k-means++ makes. Every step scans all rows once per
//! candidate, so the cost is `k × (2 + ln k) × rows × dim`; the caller bounds `rows` by
//! seeding on a sample (see [`super::KMeansParams`]).

use rayon::prelude::*;

use super::lloyd::weight;
use super::ClusterError;
use crate::linalg::{dot, Rng};
use crate::progress::Progress;

/// Picks `k` rows of `vectors` as initial centroids; returns them (`k × dim`).
///
/// Fails with [`ClusterError::TooFewRows`] when fewer than `k` rows differ from each
/// other (or carry weight).
pub fn kmeans_plus_plus(
    vectors: &[f32],
    dim: usize,
    weights: Option<&[f32]>,
    k: usize,
    rng: &mut Rng,
    progress: &dyn Progress,
) -> Result<Vec<f32>, ClusterError> {
    let n = vectors.len() / dim;
    let mut centroids = Vec::with_capacity(k * dim);
    let w: Vec<f64> = (0..n).map(|i| weight(weights, i) as f64).collect();
    let first = draw(&w, rng).ok_or(ClusterError::TooFewRows { k, rows: 0 })?;
    centroids.extend_from_slice(&vectors[first * dim..][..dim]);
    // d2[i] = weight × squared distance to the nearest centroid so far.
    let mut d2: Vec<f64> = distances(vectors, dim, &w, &centroids, None);
    let trials = 2 + (k as f64).ln().floor() as usize;
    progress.begin("seed", Some(k as u64));
    progress.advance(1);
    for chosen in 1..k {
        if progress.cancelled() {
            return Err(ClusterError::Cancelled);
        }
        // Greedy k-means++ (as in scikit-learn): draw a few candidates, keep the one that
        // lowers the total D² the most.
        let candidates: Vec<usize> = (0..trials)
            .map(|_| draw(&d2, rng))
            .collect::<Option<_>>()
            .ok_or(ClusterError::TooFewRows { k, rows: chosen })?;
        let (best, best_d2) = candidates
            .iter()
            .map(|&c| {
                let cand = distances(vectors, dim, &w, &vectors[c * dim..][..dim], Some(&d2));
                let total: f64 = cand.iter().sum();
                (c, cand, total)
            })
            .min_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)))
            .map(|(c, cand, _)| (c, cand))
            .expect("at least two trials");
        d2 = best_d2;
        centroids.extend_from_slice(&vectors[best * dim..][..dim]);
        progress.advance(1);
    }
    progress.end();
    Ok(centroids)
}

/// `weight × (2 − 2·cos)` of every row to `centroid`, or the smaller of that and
/// `current` when given.
fn distances(
    vectors: &[f32],
    dim: usize,
    w: &[f64],
    centroid: &[f32],
    current: Option<&[f64]>,
) -> Vec<f64> {
    vectors
        .par_chunks_exact(dim)
        .enumerate()
        .map(|(i, x)| {
            let d = w[i] * (2.0 - 2.0 * dot(x, centroid) as f64).max(0.0);
            current.map_or(d, |c| c[i].min(d))
        })
        .collect()
}

/// Index drawn with probability proportional to `mass` (`None` if all mass is zero).
fn draw(mass: &[f64], rng: &mut Rng) -> Option<usize> {
    let total: f64 = mass.iter().sum();
    if total.is_nan() || total <= 1e-12 {
        return None;
    }
    let mut target = rng.next_f64() * total;
    let mut last = None;
    for (i, &m) in mass.iter().enumerate() {
        if m > 0.0 {
            if target < m {
                return Some(i);
            }
            target -= m;
            last = Some(i);
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn seeds_are_distinct_rows_and_depend_on_the_seed() {
        let dim = 16;
        let v = crate::cluster::synthetic(600, dim, 12, 0.3, 2);
        let a = kmeans_plus_plus(&v, dim, None, 12, &mut Rng::new(1), &Silent).unwrap();
        let b = kmeans_plus_plus(&v, dim, None, 12, &mut Rng::new(1), &Silent).unwrap();
        let c = kmeans_plus_plus(&v, dim, None, 12, &mut Rng::new(2), &Silent).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let rows: Vec<&[f32]> = a.chunks(dim).collect();
        for (i, x) in rows.iter().enumerate() {
            assert!(v.chunks(dim).any(|r| r == *x), "a seed is a data row");
            for y in &rows[..i] {
                assert!(dot(x, y) < 0.9999, "seeds are distinct");
            }
        }
    }

    #[test]
    fn seeding_spreads_over_well_separated_groups() {
        // 8 tight groups: k-means++ should put one seed in (almost) every group.
        let dim = 32;
        let v = crate::cluster::synthetic(800, dim, 100, 0.05, 9);
        let seeds = kmeans_plus_plus(&v, dim, None, 8, &mut Rng::new(4), &Silent).unwrap();
        let mut groups: Vec<usize> = seeds
            .chunks(dim)
            .map(|s| v.chunks(dim).position(|r| r == s).unwrap() / 100)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        assert_eq!(groups.len(), 8, "{groups:?}");
    }

    #[test]
    fn too_few_distinct_rows_is_an_error() {
        let v = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        match kmeans_plus_plus(&v, 2, None, 3, &mut Rng::new(0), &Silent) {
            Err(ClusterError::TooFewRows { k: 3, rows: 2 }) => {}
            other => panic!("{other:?}"),
        }
    }
}
