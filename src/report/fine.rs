//! The fine level of topics: every coarse topic split again by k-means.
//!
//! Coarse topics are for reading; their number is whatever `-k` the user asked for, and
//! at a small `k` a topic one set lacks can share a centroid with a neighbour ("hockey"
//! inside "team, game"), where a shortfall of half the rows no longer stands out.
//! Coverage is therefore measured on fine topics: about `2·sqrt(n)` of them (at
//! least `k`, at most [`MAX_FINE`]), handed to the coarse topics in proportion to their
//! weight, and fitted inside each coarse topic, so every fine topic has one parent.
//! On 20 Newsgroups with three groups held out of the input (`-k 20` and `-k 59`, three
//! seeds each), `2·sqrt(n)` put all three at the head of the missing list every time;
//! `sqrt(n / 2.5)` lost comp.graphics, which the static model spreads over several
//! computing topics.

use rayon::prelude::*;

use crate::cluster::{ClusterError, KMeans, KMeansParams};
use crate::linalg::dot;
use crate::progress::{Progress, Silent};

/// Most fine topics.
pub const MAX_FINE: usize = 1000;

/// The rule for the number of fine topics, in words (for `report.json`).
pub const FINE_RULE: &str = "max(k, round(2·sqrt(n))) up to 1000, n distinct non-empty rows; each coarse topic gets a share by its weight (at least 1) and is split by k-means";

/// The number of fine topics for `points` distinct rows and `k` coarse topics.
pub fn fine_k(points: usize, k: usize) -> usize {
    let rule = ((2.0 * (points as f64).sqrt()).round() as usize).min(MAX_FINE);
    rule.max(k).min(points.max(1))
}

/// The fine topics of a set of points.
#[derive(Debug, Clone)]
pub struct FineLevel {
    /// Each point's fine topic.
    pub labels: Vec<u32>,
    /// Each point's cosine to its fine topic's centroid.
    pub similarity: Vec<f32>,
    /// Each fine topic's coarse topic.
    pub parent: Vec<usize>,
    /// Each fine topic's points, in point order.
    pub members: Vec<Vec<u32>>,
}

/// Splits each coarse topic (`coarse[c]`: its points, in order) into fine topics, about
/// `target` in all, each coarse topic's share in proportion to its weight (`weights`,
/// one per point) and at least one when it has points. `vectors` are the points
/// (row-major, `dim` wide, unit length). `params` gives the seed, iterations and device;
/// its `k` is ignored. Fine topics are numbered coarse topic by coarse topic.
pub fn split(
    vectors: &[f32],
    dim: usize,
    weights: &[f32],
    coarse: &[Vec<u32>],
    target: usize,
    params: &KMeansParams,
    progress: &dyn Progress,
) -> Result<FineLevel, ClusterError> {
    let mass: Vec<f64> = coarse
        .iter()
        .map(|ids| ids.iter().map(|&p| weights[p as usize] as f64).sum())
        .collect();
    let shares = apportion(&mass, coarse, target);
    progress.begin("fine topics", Some(coarse.len() as u64));
    let fits: Vec<(Vec<u32>, Vec<f32>, usize)> = coarse
        .iter()
        .zip(&shares)
        .enumerate()
        .map(|(c, (ids, &k))| {
            let fit = fit_one(vectors, dim, weights, ids, k, c as u64, params);
            progress.advance(1);
            fit
        })
        .collect::<Result<_, _>>()?;
    progress.end();
    let n = weights.len();
    let mut level = FineLevel {
        labels: vec![0; n],
        similarity: vec![0.0; n],
        parent: Vec::new(),
        members: Vec::new(),
    };
    for (c, (ids, (labels, sims, k))) in coarse.iter().zip(fits).enumerate() {
        let first = level.parent.len();
        level.parent.extend(std::iter::repeat_n(c, k));
        level.members.extend(std::iter::repeat_n(Vec::new(), k));
        for ((&p, &l), &s) in ids.iter().zip(&labels).zip(&sims) {
            let f = first + l as usize;
            level.labels[p as usize] = f as u32;
            level.similarity[p as usize] = s;
            level.members[f].push(p);
        }
    }
    Ok(level)
}

/// How many fine topics each coarse topic gets: `target` split by `mass` (largest
/// remainders), at least 1 for a topic with points, at most its points.
fn apportion(mass: &[f64], coarse: &[Vec<u32>], target: usize) -> Vec<usize> {
    let total: f64 = mass.iter().sum();
    let mut shares: Vec<usize> = Vec::with_capacity(mass.len());
    let mut remainders: Vec<(f64, usize)> = Vec::new();
    for (c, (&m, ids)) in mass.iter().zip(coarse).enumerate() {
        let exact = if total > 0.0 {
            target as f64 * m / total
        } else {
            0.0
        };
        let floor = (exact.floor() as usize).clamp(usize::from(!ids.is_empty()), ids.len());
        remainders.push((exact - floor as f64, c));
        shares.push(floor);
    }
    let mut left = target.saturating_sub(shares.iter().sum());
    remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(r, c) in &remainders {
        if left == 0 || r <= 0.0 {
            break;
        }
        if shares[c] < coarse[c].len() {
            shares[c] += 1;
            left -= 1;
        }
    }
    shares
}

/// Splits one coarse topic's points `ids` into `k` fine topics: each point's local
/// label and cosine to its centroid, and the number of topics made.
fn fit_one(
    vectors: &[f32],
    dim: usize,
    weights: &[f32],
    ids: &[u32],
    k: usize,
    salt: u64,
    params: &KMeansParams,
) -> Result<(Vec<u32>, Vec<f32>, usize), ClusterError> {
    let mut rows = Vec::with_capacity(ids.len() * dim);
    for &p in ids {
        rows.extend_from_slice(&vectors[p as usize * dim..][..dim]);
    }
    let w: Vec<f32> = ids.iter().map(|&p| weights[p as usize]).collect();
    if k <= 1 {
        return Ok((vec![0; ids.len()], similarity_to_mean(&rows, dim, &w), k));
    }
    let mut kp = KMeansParams {
        k,
        seed: params.seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        ..params.clone()
    };
    let km = loop {
        match KMeans::fit(&rows, dim, Some(&w), &kp, &Silent) {
            // Fewer distinct rows than topics: as many topics as there are rows.
            Err(ClusterError::TooFewRows { rows, .. }) if rows >= 1 && rows < kp.k => kp.k = rows,
            other => break other?,
        }
    };
    if kp.k <= 1 {
        return Ok((vec![0; ids.len()], similarity_to_mean(&rows, dim, &w), 1));
    }
    let a = km.assign(&rows, &Silent)?;
    Ok((a.labels, a.similarity, kp.k))
}

/// Each row's cosine to the weighted mean of `rows` (the centroid of a single topic).
fn similarity_to_mean(rows: &[f32], dim: usize, weights: &[f32]) -> Vec<f32> {
    let mut mean = vec![0f32; dim];
    for (row, &w) in rows.chunks_exact(dim).zip(weights) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += w * x;
        }
    }
    let norm = dot(&mean, &mean).sqrt();
    if norm > 0.0 {
        mean.iter_mut().for_each(|m| *m /= norm);
    }
    rows.par_chunks_exact(dim).map(|r| dot(r, &mean)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testutil::clustered;

    #[test]
    fn fine_k_follows_the_rule() {
        assert_eq!(fine_k(18_846, 20), 275);
        assert_eq!(fine_k(18_846, 300), 300);
        assert_eq!(fine_k(10_000_000, 20), MAX_FINE);
        assert_eq!(fine_k(3, 2), 3);
    }

    #[test]
    fn apportion_splits_by_weight_and_gives_every_topic_one() {
        let coarse = vec![vec![0; 50], vec![0; 30], vec![0; 2], vec![]];
        let shares = apportion(&[50.0, 30.0, 2.0, 0.0], &coarse, 10);
        assert_eq!(shares, vec![6, 3, 1, 0]);
        assert_eq!(shares.iter().sum::<usize>(), 10);
        // A topic never gets more fine topics than points.
        let shares = apportion(&[1.0, 1.0], &[vec![0; 100], vec![0; 2]], 20);
        assert_eq!(shares, vec![10, 2]);
    }

    #[test]
    fn split_nests_fine_topics_in_coarse_ones_and_separates_clusters() {
        // 8 well separated clusters; two coarse topics holding four each.
        let dim = 32;
        let vectors = clustered(1600, dim, 200, 0.05, 3);
        let truth: Vec<usize> = (0..1600).map(|i| i / 200).collect();
        let coarse: Vec<Vec<u32>> = (0..2)
            .map(|c| {
                (0..1600u32)
                    .filter(|&i| (truth[i as usize] < 4) == (c == 0))
                    .collect()
            })
            .collect();
        let weights = vec![1.0; 1600];
        let params = KMeansParams::default();
        let level = split(&vectors, dim, &weights, &coarse, 8, &params, &Silent).unwrap();
        assert_eq!(level.parent, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        for (f, ids) in level.members.iter().enumerate() {
            assert!(!ids.is_empty());
            // Every fine topic is one true cluster.
            let t = truth[ids[0] as usize];
            assert!(
                ids.iter().all(|&p| truth[p as usize] == t),
                "fine topic {f}"
            );
            assert!(ids.iter().all(|&p| level.labels[p as usize] as usize == f));
        }
        assert!(level.similarity.iter().all(|&s| s > 0.5));
    }
}
