//! Spherical k-means: seeding, sampled fitting and Lloyd iterations.

use super::device::DeviceRows;
use super::lloyd::{assign, assign_on, reseed_empty, update, Assignment};
use super::seed::kmeans_plus_plus;
use super::ClusterError;
use crate::embed::Device;
use crate::linalg::Rng;
use crate::progress::Progress;

/// How to fit k-means. Check with [`KMeansParams::validate`] (done by [`KMeans::fit`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Most Lloyd iterations to run.
    pub max_iter: usize,
    /// Seed of every random choice (sampling and k-means++), so a seed fixes the result.
    pub seed: u64,
    /// Fit on at most `max(k × fit_per_cluster, min_fit_rows)` rows, a seeded uniform
    /// sample of larger inputs; every row is assigned afterwards with [`KMeans::assign`].
    /// 256 per cluster, as in faiss: more rows per centroid barely move the centroids but
    /// cost time in every iteration.
    pub fit_per_cluster: usize,
    /// See `fit_per_cluster`: small `k` still fits on this many rows (65,536), which
    /// costs little and steadies the centroids.
    pub min_fit_rows: usize,
    /// Seed (k-means++) on at most `max(k × seed_per_cluster, 8192)` of the fitting rows:
    /// k-means++ makes `k` passes over its rows, one per centroid.
    pub seed_per_cluster: usize,
    /// The assignments count as settled when at most this fraction of the fitting rows
    /// changed cluster in an iteration (`0`: none may change).
    pub settle: f64,
    /// How the first centroids are chosen.
    pub init: Init,
    /// Where the Lloyd iterations and the final assignment run: the CPU kernels, or a
    /// device ([`Device::is_device_path`]), where the fitting rows are held for the whole fit.
    pub device: Device,
}

/// How [`KMeans::fit`] picks its first centroids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// Greedy k-means++ on a sample: well spread, costs `k × (2 + ln k)` passes over the
    /// seeding sample. For topics, where a poor seeding shows.
    #[default]
    PlusPlus,
    /// `k` distinct rows of the fitting sample drawn uniformly (faiss's default): one
    /// pass. For partitioning many rows into many cells, where Lloyd iterations fix
    /// the seeding and k-means++ would cost more than the rest of the fit.
    Random,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            k: 8,
            max_iter: 50,
            seed: 0,
            fit_per_cluster: 256,
            min_fit_rows: 65_536,
            seed_per_cluster: 32,
            settle: 1e-4,
            init: Init::PlusPlus,
            device: Device::Cpu,
        }
    }
}

impl KMeansParams {
    /// Default parameters with `k` clusters.
    pub fn with_k(k: usize) -> Self {
        KMeansParams {
            k,
            ..Self::default()
        }
    }

    /// Checks that the parameters can work.
    pub fn validate(&self) -> Result<(), ClusterError> {
        let bad = |name, reason: &str| {
            Err(ClusterError::InvalidParameter {
                name,
                reason: reason.to_string(),
            })
        };
        if self.k == 0 {
            return bad("k", "must be at least 1");
        }
        if self.max_iter == 0 {
            return bad("max_iter", "must be at least 1");
        }
        if self.fit_per_cluster == 0 || self.seed_per_cluster == 0 {
            return bad("fit_per_cluster/seed_per_cluster", "must be at least 1");
        }
        if !(0.0..1.0).contains(&self.settle) {
            return bad("settle", "must be in [0, 1)");
        }
        Ok(())
    }
}

/// The number of clusters `--clusters auto` picks for `n` rows:
/// `round(√(n / 10))`, at least 2 and at most 200 (and never more than `n`).
///
/// That is 10 topics for 1,000 rows, 32 for 10,000, 100 for 100,000 and 200 from
/// 400,000 rows on: fine enough to separate a corpus's themes, few enough for a person to
/// read through.
pub fn auto_k(n: usize) -> usize {
    (((n as f64) / 10.0).sqrt().round() as usize)
        .clamp(2, 200)
        .min(n)
}

/// A fitted spherical k-means model: `k` unit-length centroids.
#[derive(Debug, Clone)]
pub struct KMeans {
    /// Centroids, `k × dim`, row-major, unit length.
    pub centroids: Vec<f32>,
    /// Number of clusters.
    pub k: usize,
    /// Vector width.
    pub dim: usize,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Whether the assignments settled before `max_iter`.
    pub converged: bool,
    /// Rows the centroids were fitted on (after sampling).
    pub fit_rows: usize,
    /// The weighted objective `Σ w (1 − cos)` over the fitting rows after each iteration.
    pub objective: Vec<f64>,
    /// Where [`KMeans::assign`] runs (the fitting device).
    pub device: Device,
}

impl KMeans {
    /// Fits `params.k` centroids to `vectors` (row-major, `dim` wide, unit length), each
    /// row counting `weights[i]` times (`None`: once).
    ///
    /// Large inputs are fitted on a seeded sample ([`KMeansParams::fit_per_cluster`]);
    /// seeding is k-means++ on a smaller sample; then Lloyd iterations run until the
    /// assignments settle or `max_iter`. A cluster left empty is moved to the row that
    /// fits its own cluster worst. Progress stages: `seed` (centroids), `fit` (iterations).
    pub fn fit(
        vectors: &[f32],
        dim: usize,
        weights: Option<&[f32]>,
        params: &KMeansParams,
        progress: &dyn Progress,
    ) -> Result<KMeans, ClusterError> {
        params.validate()?;
        if dim == 0 || !vectors.len().is_multiple_of(dim) {
            return Err(ClusterError::DimensionMismatch {
                expected: dim,
                got: vectors.len(),
            });
        }
        let n = vectors.len() / dim;
        if let Some(w) = weights {
            if w.len() != n {
                return Err(ClusterError::InvalidParameter {
                    name: "weights",
                    reason: format!("{} weights for {n} rows", w.len()),
                });
            }
        }
        let k = params.k;
        if k > n {
            return Err(ClusterError::TooFewRows { k, rows: n });
        }
        let mut rng = Rng::new(params.seed);
        let fit_cap = k
            .saturating_mul(params.fit_per_cluster)
            .max(params.min_fit_rows);
        let (fit_vectors, fit_weights) = subset(vectors, dim, weights, &mut rng, fit_cap);
        let (fit_vectors, fit_weights) = (
            fit_vectors.as_deref().unwrap_or(vectors),
            fit_weights.as_deref().or(weights),
        );
        let m = fit_vectors.len() / dim;

        let mut centroids = match params.init {
            Init::PlusPlus => {
                let seed_cap = k.saturating_mul(params.seed_per_cluster).max(8192);
                let (seed_vectors, seed_weights) =
                    subset(fit_vectors, dim, fit_weights, &mut rng, seed_cap);
                kmeans_plus_plus(
                    seed_vectors.as_deref().unwrap_or(fit_vectors),
                    dim,
                    seed_weights.as_deref().or(fit_weights),
                    k,
                    &mut rng,
                    progress,
                )?
            }
            Init::Random => {
                let mut c = Vec::with_capacity(k * dim);
                for i in rng.sample(m, k) {
                    c.extend_from_slice(&fit_vectors[i * dim..][..dim]);
                }
                c
            }
        };

        let on_device = match params.device.is_device_path() {
            true => Some(DeviceRows::new(
                fit_vectors,
                dim,
                fit_weights,
                &params.device.to_candle()?,
            )?),
            false => None,
        };
        let settle = (params.settle * m as f64).floor() as usize;
        let mut previous: Option<Vec<u32>> = None;
        let mut objective = Vec::new();
        let mut converged = false;
        let mut iterations = 0;
        progress.begin("fit", Some(params.max_iter as u64));
        while iterations < params.max_iter {
            if progress.cancelled() {
                return Err(ClusterError::Cancelled);
            }
            let (a, empty) = match &on_device {
                Some(rows) => {
                    let (a, labels) = rows.assign(&centroids)?;
                    let (_, empty) = rows.update(&labels, &mut centroids)?;
                    (a, empty)
                }
                None => {
                    let a = assign(fit_vectors, dim, &centroids, None)?;
                    let (_, empty) =
                        update(fit_vectors, dim, fit_weights, &a.labels, &mut centroids);
                    (a, empty)
                }
            };
            iterations += 1;
            let changed = previous.as_ref().map_or(m, |p| {
                p.iter().zip(&a.labels).filter(|(x, y)| x != y).count()
            });
            let reseeded = reseed_empty(fit_vectors, dim, &a, &empty, &mut centroids);
            objective.push(a.objective(fit_weights));
            tracing::debug!(
                iteration = iterations,
                changed,
                reseeded,
                objective = objective.last(),
                "k-means"
            );
            progress.advance(1);
            if changed <= settle && reseeded == 0 {
                converged = true;
                break;
            }
            previous = Some(a.labels);
        }
        progress.end();
        // Debug, not info: the clustered index fits one k-means per coarse group, hundreds
        // at ten million rows, and logs its own summary of them.
        tracing::debug!(
            k,
            rows = n,
            fit_rows = m,
            iterations,
            converged,
            "k-means fitted"
        );
        Ok(KMeans {
            centroids,
            k,
            dim,
            iterations,
            converged,
            fit_rows: m,
            objective,
            device: params.device,
        })
    }

    /// Assigns every row of `vectors` to its nearest centroid (progress stage `assign`).
    pub fn assign(
        &self,
        vectors: &[f32],
        progress: &dyn Progress,
    ) -> Result<Assignment, ClusterError> {
        if !vectors.len().is_multiple_of(self.dim) {
            return Err(ClusterError::DimensionMismatch {
                expected: self.dim,
                got: vectors.len(),
            });
        }
        progress.begin("assign", Some((vectors.len() / self.dim) as u64));
        let a = match self.device.is_device_path() {
            true => assign_on(
                vectors,
                self.dim,
                &self.centroids,
                &self.device.to_candle()?,
                Some(progress),
            )?,
            false => assign(vectors, self.dim, &self.centroids, Some(progress))?,
        };
        progress.end();
        Ok(a)
    }
}

/// A seeded uniform sample of at most `cap` rows (`None`s when all rows are kept).
fn subset(
    vectors: &[f32],
    dim: usize,
    weights: Option<&[f32]>,
    rng: &mut Rng,
    cap: usize,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let n = vectors.len() / dim;
    if n <= cap {
        return (None, None);
    }
    let ids = rng.sample(n, cap);
    let mut v = Vec::with_capacity(cap * dim);
    for &i in &ids {
        v.extend_from_slice(&vectors[i * dim..][..dim]);
    }
    let w = weights.map(|w| ids.iter().map(|&i| w[i]).collect());
    (Some(v), w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::synthetic;
    use crate::progress::Silent;

    /// Fraction of rows whose cluster's majority group is their own group.
    fn purity(labels: &[u32], per_group: usize, k: usize) -> f64 {
        let mut counts = vec![std::collections::HashMap::<usize, usize>::new(); k];
        for (i, &l) in labels.iter().enumerate() {
            *counts[l as usize].entry(i / per_group).or_default() += 1;
        }
        let majority: usize = counts
            .iter()
            .map(|c| c.values().max().copied().unwrap_or(0))
            .sum();
        majority as f64 / labels.len() as f64
    }

    #[test]
    fn the_device_path_fits_the_same_clusters() {
        let dim = 32;
        let v = synthetic(3000, dim, 100, 0.2, 5);
        let weights: Vec<f32> = (0..3000).map(|i| 1.0 + (i % 2) as f32).collect();
        let params = KMeansParams {
            seed: 4,
            ..KMeansParams::with_k(30)
        };
        let cpu = KMeans::fit(&v, dim, Some(&weights), &params, &Silent).unwrap();
        let device = KMeansParams {
            device: Device::CandleCpu,
            ..params
        };
        let dev = KMeans::fit(&v, dim, Some(&weights), &device, &Silent).unwrap();
        assert_eq!(dev.device, Device::CandleCpu);
        assert_eq!(dev.iterations, cpu.iterations);
        let (a, b) = (
            cpu.assign(&v, &Silent).unwrap(),
            dev.assign(&v, &Silent).unwrap(),
        );
        assert_eq!(a.labels, b.labels);
        for (x, y) in cpu.centroids.iter().zip(&dev.centroids) {
            assert!((x - y).abs() < 1e-4, "{x} {y}");
        }
        assert!(purity(&b.labels, 100, 30) > 0.99);
    }

    #[test]
    fn recovers_separated_groups_and_is_deterministic() {
        let dim = 32;
        let v = synthetic(2000, dim, 100, 0.2, 11);
        let params = KMeansParams {
            seed: 3,
            ..KMeansParams::with_k(20)
        };
        let a = KMeans::fit(&v, dim, None, &params, &Silent).unwrap();
        let b = KMeans::fit(&v, dim, None, &params, &Silent).unwrap();
        assert_eq!(a.centroids, b.centroids);
        assert!(a.converged);
        let labels = a.assign(&v, &Silent).unwrap().labels;
        assert!(
            purity(&labels, 100, 20) > 0.97,
            "purity {}",
            purity(&labels, 100, 20)
        );
        // The objective never goes up.
        assert!(
            a.objective.windows(2).all(|w| w[1] <= w[0] + 1e-9),
            "{:?}",
            a.objective
        );
        for c in a.centroids.chunks(dim) {
            let norm: f32 = c.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn sampled_fit_still_finds_the_groups() {
        let dim = 16;
        let v = synthetic(6000, dim, 600, 0.3, 5);
        let params = KMeansParams {
            fit_per_cluster: 40,
            min_fit_rows: 0,
            ..KMeansParams::with_k(10)
        };
        let km = KMeans::fit(&v, dim, None, &params, &Silent).unwrap();
        assert_eq!(km.fit_rows, 400);
        let labels = km.assign(&v, &Silent).unwrap().labels;
        assert!(purity(&labels, 600, 10) > 0.95);
    }

    #[test]
    fn weights_pull_centroids() {
        // Two rows; one cluster: the centroid leans to the heavier row.
        let v = [1.0, 0.0, 0.0, 1.0];
        let km = KMeans::fit(&v, 2, Some(&[3.0, 1.0]), &KMeansParams::with_k(1), &Silent).unwrap();
        assert!(km.centroids[0] > 2.9 * km.centroids[1]);
    }

    #[test]
    fn bad_parameters_are_typed_errors() {
        let v = synthetic(10, 4, 5, 0.1, 1);
        assert!(matches!(
            KMeans::fit(&v, 4, None, &KMeansParams::with_k(11), &Silent),
            Err(ClusterError::TooFewRows { k: 11, rows: 10 })
        ));
        assert!(matches!(
            KMeans::fit(&v, 4, None, &KMeansParams::with_k(0), &Silent),
            Err(ClusterError::InvalidParameter { name: "k", .. })
        ));
        assert!(matches!(
            KMeans::fit(&v[..7], 4, None, &KMeansParams::with_k(2), &Silent),
            Err(ClusterError::DimensionMismatch {
                expected: 4,
                got: 7
            })
        ));
    }

    #[test]
    fn auto_k_follows_the_documented_rule() {
        assert_eq!(auto_k(1), 1);
        assert_eq!(auto_k(30), 2);
        assert_eq!(auto_k(1000), 10);
        assert_eq!(auto_k(10_000), 32);
        assert_eq!(auto_k(100_000), 100);
        assert_eq!(auto_k(5_000_000), 200);
    }
}
