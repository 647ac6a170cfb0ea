//! A neighbour-preserving 2-D layout of the rows: UMAP's method, made deterministic.
//!
//! [PCA](super::projection) keeps the largest directions of variance, so a dozen topics
//! that are all far apart in the embedding land on top of each other when two axes
//! cannot hold them. This layout keeps *neighbourhoods* instead (see
//! [`preservation`](super::preservation) for the measure), as UMAP does:
//!
//! 1. a k-nearest-neighbour graph on cosine distance (`1 − similarity`): exact search up
//!    to [`EXACT_MAX`] rows, the clustered index ([`IvfIndex`]) with generous probing
//!    above;
//! 2. UMAP's fuzzy weights: per row, `ρ` (the distance to its nearest neighbour) and `σ`
//!    found by bisection so that `Σ exp(−(d − ρ)/σ) = log₂(k + 1)`, then the graph
//!    symmetrised as `w = a + b − ab`;
//! 3. the rows' first two principal components, scaled to a box of [`BOX`] units, as the
//!    starting positions;
//! 4. stochastic gradient descent with UMAP's attractive and repulsive forces (curve
//!    parameters `a`, `b` for `min_dist = 0.1`), each edge sampled in proportion to its
//!    weight, [`NEGATIVES`] negative samples per sampled edge, gradients clipped to 4 and
//!    a learning rate decaying linearly to zero.
//!
//! UMAP applies every update at once, from many threads racing on shared positions
//! ("hogwild"), so its result depends on the thread schedule. Here each epoch computes
//! every row's update from the previous epoch's positions (in parallel, each row from its
//! own random stream keyed by seed, epoch and row) and applies them all together, so a
//! seed fixes the layout whatever the number of threads.

use rayon::prelude::*;

use super::projection::pca_2d;
use crate::index::{auto_lists, dot, ExactIndex, IvfIndex, IvfParams, VectorIndex};
use crate::linalg::Rng;
use crate::progress::Progress;

/// Up to this many rows the neighbour graph is found by exact search; above, by the
/// clustered index.
pub const EXACT_MAX: usize = 20_000;

/// Half-width of the box the starting positions are scaled to (UMAP's 10).
pub const BOX: f32 = 10.0;

/// Negative samples per sampled edge (UMAP's `negative_sample_rate`).
pub const NEGATIVES: usize = 5;

/// UMAP's curve `1 / (1 + a·d^(2b))` fitted for `min_dist = 0.1`, `spread = 1`.
const A: f32 = 1.576_943_5;
/// See [`A`].
const B: f32 = 0.895_060_9;

/// Each gradient coordinate is clipped to `±CLIP` (UMAP's 4).
const CLIP: f32 = 4.0;

/// Learning rate of the first epoch; it decays linearly to zero.
const LEARNING_RATE: f32 = 1.0;

/// Extra candidates asked of the index beyond `k + 1`, so that the `k` kept after
/// rescoring with [`dot`] do not depend on the last bits of the index's own scores.
const EXTRA: usize = 4;

/// Rows the starting PCA is fitted on; the others are projected on its axes.
const PCA_SAMPLE: usize = 20_000;

/// Cells the clustered index probes per query for the neighbour graph (it is sized for
/// 10), so nearly all true neighbours are found.
const IVF_PROBES: usize = 32;

/// Layout parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutParams {
    /// Neighbours per row in the graph (not counting the row itself).
    pub neighbors: usize,
    /// Optimisation epochs; `None`: 500 up to 10,000 rows, 200 above (as UMAP).
    pub epochs: Option<usize>,
    /// Seed of every random choice (starting jitter, edge and negative sampling, the
    /// index's k-means).
    pub seed: u64,
}

impl Default for LayoutParams {
    /// 15 neighbours, automatic epochs, seed 0.
    fn default() -> Self {
        LayoutParams {
            neighbors: 15,
            epochs: None,
            seed: 0,
        }
    }
}

/// Rows laid out in two dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// `(x, y)` of each row, in row order.
    pub points: Vec<[f32; 2]>,
    /// One sentence saying how the map was made (method, neighbours, epochs), for
    /// `report.json`.
    pub method: String,
}

/// Lays out `vectors` (row-major, `dim` wide, unit length) in two dimensions so that
/// rows that are near neighbours in the embedding are near each other on the map (see
/// the module docs). Deterministic for `params.seed`, whatever the number of threads.
/// With fewer than `params.neighbors + 2` rows there is no graph to speak of, and the
/// map is the rows' two principal components, scaled as the layout's start would be.
///
/// Progress stages: the index's (`search`, and its build above [`EXACT_MAX`] rows), then
/// `layout`, in epochs; cancelling stops with a cancelled error.
pub fn layout_2d(
    vectors: &[f32],
    dim: usize,
    params: &LayoutParams,
    progress: &dyn Progress,
) -> Result<Layout, crate::Error> {
    let n = crate::index::check_queries(vectors, dim)?;
    if params.neighbors == 0 {
        return Err(crate::Error::InvalidOption {
            name: "layout neighbors",
            reason: "must be at least 1".into(),
        });
    }
    if n < params.neighbors + 2 {
        return Ok(Layout {
            points: initial(vectors, dim, n, params.seed, false),
            method: format!(
                "first two principal components (too few rows, {n}, for a {}-neighbour layout)",
                params.neighbors
            ),
        });
    }
    let k = params.neighbors;
    let epochs = params.epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 });
    let (ids, dists) = knn(vectors, dim, n, k, params.seed, EXACT_MAX, progress)?;
    let graph = Graph::fuzzy(&ids, &dists, n, k, epochs);
    let mut points = initial(vectors, dim, n, params.seed, true);
    tracing::debug!(rows = n, k, epochs, edges = graph.targets.len(), "layout");
    progress.begin("layout", Some(epochs as u64));
    for epoch in 0..epochs {
        if progress.cancelled() {
            return Err(crate::Error::Cancelled);
        }
        let alpha = LEARNING_RATE * (1.0 - epoch as f32 / epochs as f32);
        points = graph.epoch(&points, epoch, alpha, params.seed);
        progress.advance(1);
    }
    progress.end();
    let search = if n <= EXACT_MAX {
        "exact"
    } else {
        "clustered-index"
    };
    Ok(Layout {
        points,
        method: format!(
            "UMAP-style layout: {k}-nearest-neighbour graph on cosine distance ({search} \
             search) with fuzzy weights, started from the first two principal components \
             and optimised for {epochs} epochs with {NEGATIVES} negative samples per edge \
             (deterministic for seed {})",
            params.seed
        ),
    })
}

/// Each row's `k` nearest other rows (`n × k` ids) and their cosine distances, nearest
/// first (ties by lower id). Scores are recomputed with [`dot`] over a few more
/// candidates than needed, so the result does not depend on how the index summed.
fn knn(
    vectors: &[f32],
    dim: usize,
    n: usize,
    k: usize,
    seed: u64,
    exact_max: usize,
    progress: &dyn Progress,
) -> Result<(Vec<u32>, Vec<f32>), crate::Error> {
    let want = (k + 1 + EXTRA).min(n);
    let found = if n <= exact_max {
        ExactIndex::new(vectors, dim)?.top_k(vectors, want, progress)?
    } else {
        let params = IvfParams {
            lists: auto_lists(n, IvfParams::default().probes),
            probes: tune("PROBES", IVF_PROBES as f32) as usize,
            seed,
            ..IvfParams::default()
        };
        IvfIndex::build(vectors, dim, params, progress)?.top_k(vectors, want, progress)?
    };
    let row = |i: usize| &vectors[i * dim..(i + 1) * dim];
    let lists: Vec<(Vec<u32>, Vec<f32>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut hits: Vec<(u32, f32)> = found
                .get(i)
                .0
                .iter()
                .filter(|&&j| j as usize != i)
                .map(|&j| (j, dot(row(i), row(j as usize))))
                .collect();
            hits.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            hits.truncate(k);
            // An approximate index may return fewer than k others: pad with the row
            // itself (an edge of no weight) at the farthest distance found.
            let far = hits.last().map_or(-1.0, |h| h.1);
            hits.resize(k, (i as u32, far));
            hits.iter()
                .map(|&(j, s)| (j, (1.0 - s).clamp(0.0, 2.0)))
                .unzip()
        })
        .collect();
    let mut ids = Vec::with_capacity(n * k);
    let mut dists = Vec::with_capacity(n * k);
    for (i, d) in lists {
        ids.extend(i);
        dists.extend(d);
    }
    Ok((ids, dists))
}

/// UMAP's `smooth_knn_dist` for one row: `(ρ, σ)` such that
/// `Σ exp(−max(0, d − ρ)/σ) = log₂(k + 1)` over its `k` neighbour distances (nearest
/// first), with `σ` at least a thousandth of the mean distance (`mean_all`, over all
/// rows, when the row's neighbours are all at distance zero).
fn smooth(dists: &[f32], mean_all: f64) -> (f64, f64) {
    let target = ((dists.len() + 1) as f64).log2();
    let rho = dists.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0) as f64;
    let (mut lo, mut hi, mut mid) = (0f64, f64::INFINITY, 1f64);
    for _ in 0..64 {
        let psum: f64 = dists
            .iter()
            .map(|&d| {
                let d = d as f64 - rho;
                if d > 0.0 {
                    (-d / mid).exp()
                } else {
                    1.0
                }
            })
            .sum();
        if (psum - target).abs() < 1e-5 {
            break;
        }
        if psum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_infinite() {
                mid * 2.0
            } else {
                (lo + hi) / 2.0
            };
        }
    }
    let mean = dists.iter().map(|&d| d as f64).sum::<f64>() / dists.len() as f64;
    let floor = 1e-3 * if rho > 0.0 { mean } else { mean_all };
    (rho, mid.max(floor).max(f64::MIN_POSITIVE))
}

/// The symmetric fuzzy graph, both directions of every edge, as compressed rows.
struct Graph {
    /// Row `i`'s edges are `offsets[i]..offsets[i + 1]`.
    offsets: Vec<usize>,
    /// The other end of each edge.
    targets: Vec<u32>,
    /// Samples of each edge per epoch (`weight / max weight`).
    rate: Vec<f32>,
}

impl Graph {
    /// The graph of `n` rows' `k` neighbours each (`ids`, `dists`: `n × k`): UMAP's
    /// membership strengths, symmetrised as `a + b − ab`, without edges too weak to be
    /// sampled once in `epochs`.
    fn fuzzy(ids: &[u32], dists: &[f32], n: usize, k: usize, epochs: usize) -> Graph {
        let mean_all = dists.iter().map(|&d| d as f64).sum::<f64>() / dists.len().max(1) as f64;
        let weights: Vec<f32> = dists
            .par_chunks_exact(k)
            .zip(ids.par_chunks_exact(k))
            .enumerate()
            .flat_map_iter(|(i, (d, js))| {
                let (rho, sigma) = smooth(d, mean_all);
                d.iter().zip(js).map(move |(&d, &j)| {
                    if j as usize == i {
                        0.0 // padding for a row the index found no neighbours for
                    } else if (d as f64) <= rho {
                        1.0
                    } else {
                        (-(d as f64 - rho) / sigma).exp() as f32
                    }
                })
            })
            .collect();
        // Each directed edge and its transpose; a pair found from both sides appears twice.
        let mut entries: Vec<(u32, u32, f32)> = Vec::with_capacity(4 * n * k);
        for (e, (&j, &w)) in ids.iter().zip(&weights).enumerate() {
            let i = (e / k) as u32;
            if w > 0.0 && i != j {
                entries.push((i, j, w));
                entries.push((j, i, w));
            }
        }
        entries.par_sort_unstable_by_key(|&(i, j, _)| (i, j));
        // Combine the two sides of a pair (a row lists each neighbour once).
        let mut merged: Vec<(u32, u32, f32)> = Vec::with_capacity(entries.len());
        for (i, j, w) in entries {
            match merged.last_mut() {
                Some(last) if last.0 == i && last.1 == j => {
                    last.2 = last.2 + w - last.2 * w;
                }
                _ => merged.push((i, j, w)),
            }
        }
        let max_w = merged.iter().map(|e| e.2).fold(0f32, f32::max);
        let floor = max_w / epochs.max(1) as f32;
        merged.retain(|e| e.2 >= floor && e.2 > 0.0);
        let mut offsets = vec![0usize; n + 1];
        for e in &merged {
            offsets[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        Graph {
            offsets,
            targets: merged.iter().map(|e| e.1).collect(),
            rate: merged.iter().map(|e| (e.2 / max_w).min(1.0)).collect(),
        }
    }

    /// One epoch: every row's step from `points` (attraction along its edges due this
    /// epoch, repulsion from [`NEGATIVES`] random rows per such edge), applied together.
    ///
    /// A row's step is the mean of its sampled edges' contributions, not their sum:
    /// applied at once, the sum would throw a row with many edges far past where any
    /// one of them pulls it (UMAP, applying updates one by one, sees each earlier move).
    /// The mean is a per-row scaling of the gradient, so the layout it settles to is the
    /// same.
    fn epoch(&self, points: &[[f32; 2]], epoch: usize, alpha: f32, seed: u64) -> Vec<[f32; 2]> {
        let n = points.len();
        let (e0, e1) = (epoch as f32, epoch as f32 + 1.0);
        (0..n)
            .into_par_iter()
            .map(|i| {
                let here = points[i];
                let mut rng = Rng::new(stream(seed, epoch as u64, i as u64));
                let (mut step, mut sampled) = ([0f32; 2], 0u32);
                let mut push = |diff: [f32; 2], coeff: f32, weight: f32| {
                    for (s, &x) in step.iter_mut().zip(&diff) {
                        *s += weight * (coeff * x).clamp(-CLIP, CLIP);
                    }
                };
                let edges = self.offsets[i]..self.offsets[i + 1];
                for (&j, &rate) in self.targets[edges.clone()].iter().zip(&self.rate[edges]) {
                    // Sampled when a whole number of samples falls in (epoch, epoch + 1].
                    if (e1 * rate) as u32 == (e0 * rate) as u32 {
                        continue;
                    }
                    sampled += 1;
                    let diff = sub(here, points[j as usize]);
                    let d2 = diff[0] * diff[0] + diff[1] * diff[1];
                    if d2 > 0.0 {
                        // UMAP moves both ends of each directed edge, so a row is pulled
                        // twice per sample of an edge; the same here.
                        let pw = pow_b(d2);
                        push(diff, -2.0 * A * B * (pw / d2) / (A * pw + 1.0), 2.0);
                    }
                    for _ in 0..NEGATIVES {
                        let other = rng.below(n);
                        if other == i {
                            continue;
                        }
                        let diff = sub(here, points[other]);
                        let d2 = diff[0] * diff[0] + diff[1] * diff[1];
                        if d2 > 0.0 {
                            push(diff, 2.0 * B / ((0.001 + d2) * (A * pow_b(d2) + 1.0)), 1.0);
                        }
                    }
                }
                let scale = alpha / sampled.max(1) as f32;
                [here[0] + scale * step[0], here[1] + scale * step[1]]
            })
            .collect()
    }
}

/// `a − b`.
fn sub(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

/// `x^B` for `x > 0`, to about 2·10⁻⁵ relative: `2^(B·log₂ x)` with short series, in
/// plain arithmetic (the same bits everywhere, and several times faster than `powf`,
/// which the optimisation would otherwise spend most of its time in).
fn pow_b(x: f32) -> f32 {
    let bits = x.max(1e-30).to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    // x = m · 2^exponent, m in [1, 2); log₂ m = (2/ln 2)·atanh t, t = (m − 1)/(m + 1) ≤ 1/3.
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let log2m = t * (2.885_39 + t2 * (0.961_796_7 + t2 * (0.577_078 + t2 * 0.412_198_6)));
    let y = (B * (exponent as f32 + log2m)).clamp(-125.0, 125.0);
    // 2^y = 2^whole · 2^frac, frac in [0, 1): Taylor series of e^(frac·ln 2).
    let mut whole = y as i32;
    if (whole as f32) > y {
        whole -= 1;
    }
    let f = y - whole as f32;
    let p = 1.0
        + f * (0.693_147_2
            + f * (0.240_226_5
                + f * (0.055_504_1 + f * (0.009_618_13 + f * (0.001_333_36 + f * 0.000_154_04)))));
    f32::from_bits((p.to_bits() as i32 + (whole << 23)) as u32)
}

/// The seed of row `row`'s random stream in epoch `epoch`.
fn stream(seed: u64, epoch: u64, row: u64) -> u64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(mix(mix(seed ^ 0x1a70_0751_7a11_5eed) ^ epoch) ^ row)
}

/// The starting positions: the rows' first two principal components (fitted on a
/// seeded sample of [`PCA_SAMPLE`] rows when there are more), scaled so the largest
/// coordinate is [`BOX`], plus, with `jitter`, a seeded nudge of a ten-thousandth of the
/// box so that identical rows do not start on the same spot.
fn initial(vectors: &[f32], dim: usize, n: usize, seed: u64, jitter: bool) -> Vec<[f32; 2]> {
    let mut points = if n <= PCA_SAMPLE {
        pca_2d(vectors, dim).points
    } else {
        sampled_pca(vectors, dim, n, seed)
    };
    let extreme = points
        .iter()
        .flat_map(|p| p.iter())
        .fold(0f32, |m, x| m.max(x.abs()));
    let scale = if extreme > 0.0 { BOX / extreme } else { 1.0 };
    let mut rng = Rng::new(seed ^ 0x0717_1a15);
    for p in &mut points {
        for x in p.iter_mut() {
            *x *= scale;
            if jitter {
                *x += (rng.next_f64() as f32 - 0.5) * BOX * 2e-4;
            }
        }
    }
    points
}

/// The first two principal components of many rows: [`pca_2d`] on a seeded sample,
/// its axes recovered from the sample's scores (`v = Xᵀs / ‖s‖²`, exact for principal
/// axes), every row projected on them.
fn sampled_pca(vectors: &[f32], dim: usize, n: usize, seed: u64) -> Vec<[f32; 2]> {
    let rows = Rng::new(seed ^ 0x9ca).sample(n, PCA_SAMPLE);
    let sample: Vec<f32> = rows
        .iter()
        .flat_map(|&r| &vectors[r * dim..(r + 1) * dim])
        .copied()
        .collect();
    let scores = pca_2d(&sample, dim).points;
    let mut mean = vec![0f64; dim];
    for row in sample.chunks_exact(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= PCA_SAMPLE as f64);
    let mut axes = [vec![0f64; dim], vec![0f64; dim]];
    for (a, axis) in axes.iter_mut().enumerate() {
        let norm: f64 = scores.iter().map(|s| (s[a] as f64).powi(2)).sum();
        if norm == 0.0 {
            continue;
        }
        for (row, s) in sample.chunks_exact(dim).zip(&scores) {
            let w = s[a] as f64 / norm;
            for ((v, &x), m) in axis.iter_mut().zip(row).zip(&mean) {
                *v += (x as f64 - m) * w;
            }
        }
    }
    let axes = axes.map(|axis| axis.iter().map(|&v| v as f32).collect::<Vec<f32>>());
    let shift = [0, 1].map(|a| {
        axes[a]
            .iter()
            .zip(&mean)
            .map(|(&v, &m)| v as f64 * m)
            .sum::<f64>() as f32
    });
    vectors
        .par_chunks_exact(dim)
        .map(|row| [0, 1].map(|a| dot(row, &axes[a]) - shift[a]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::synthetic;
    use crate::progress::Silent;
    use crate::report::preservation::{neighbourhood_preservation, trustworthiness};

    fn params(neighbors: usize, epochs: Option<usize>, seed: u64) -> LayoutParams {
        LayoutParams {
            neighbors,
            epochs,
            seed,
        }
    }

    #[test]
    fn same_seed_same_layout_whatever_the_threads() {
        let v = synthetic(800, 32, 100, 0.8, 1);
        let p = params(10, Some(60), 3);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| layout_2d(&v, 32, &p, &Silent).unwrap())
        };
        let one = run(1);
        assert_eq!(one.points.len(), 800);
        assert!(one.points.iter().flatten().all(|x| x.is_finite()));
        assert_eq!(one, run(4));
        assert_eq!(one, run(3));
        assert_eq!(one, layout_2d(&v, 32, &p, &Silent).unwrap());
        let other = layout_2d(&v, 32, &params(10, Some(60), 4), &Silent).unwrap();
        assert_ne!(one.points, other.points);
    }

    /// Mean 2-D distance of each row to its own group's centroid, and to the other
    /// groups' centroids (groups of `per` consecutive rows).
    fn spread(points: &[[f32; 2]], per: usize) -> (f64, f64) {
        let groups = points.len() / per;
        let centroids: Vec<[f64; 2]> = points
            .chunks(per)
            .map(|g| {
                let s = g
                    .iter()
                    .fold([0f64; 2], |s, p| [s[0] + p[0] as f64, s[1] + p[1] as f64]);
                [s[0] / g.len() as f64, s[1] / g.len() as f64]
            })
            .collect();
        let dist = |p: [f32; 2], c: [f64; 2]| (p[0] as f64 - c[0]).hypot(p[1] as f64 - c[1]);
        let (mut own, mut other) = (0f64, 0f64);
        for (i, &p) in points.iter().enumerate() {
            let g = i / per;
            own += dist(p, centroids[g]);
            other += (0..groups)
                .filter(|&h| h != g)
                .map(|h| dist(p, centroids[h]))
                .sum::<f64>()
                / (groups - 1) as f64;
        }
        (own / points.len() as f64, other / points.len() as f64)
    }

    #[test]
    fn keeps_neighbourhoods_far_better_than_pca_and_separates_clusters() {
        // 3,000 rows in 12 clusters of 250, 64 wide.
        let (n, dim, per) = (3000, 64, 250);
        let v = synthetic(n, dim, per, 1.0, 11);
        let layout = layout_2d(&v, dim, &LayoutParams::default(), &Silent).unwrap();
        assert!(layout.method.contains("15-nearest") && layout.method.contains("500 epochs"));
        let pca = pca_2d(&v, dim).points;
        let ours = neighbourhood_preservation(&v, dim, &layout.points, 10, 1000, 5);
        let theirs = neighbourhood_preservation(&v, dim, &pca, 10, 1000, 5);
        let (t_ours, t_theirs) = (
            trustworthiness(&v, dim, &layout.points, 10, 1000, 5),
            trustworthiness(&v, dim, &pca, 10, 1000, 5),
        );
        eprintln!("preservation layout {ours:.3} pca {theirs:.3}; trustworthiness layout {t_ours:.3} pca {t_theirs:.3}");
        assert!(ours >= theirs + 0.15, "layout {ours} vs PCA {theirs}");
        assert!(
            t_ours >= t_theirs + 0.05,
            "layout {t_ours} vs PCA {t_theirs}"
        );
        let (own, other) = spread(&layout.points, per);
        let (pca_own, pca_other) = spread(&pca, per);
        eprintln!(
            "own/other layout {:.3} pca {:.3}",
            own / other,
            pca_own / pca_other
        );
        assert!(own * 5.0 < other, "own {own} other {other}");
        // Every cluster is apart from every other: no row is nearer another cluster's
        // centroid than its own.
        let centroid = |g: usize| {
            let s = layout.points[g * per..(g + 1) * per]
                .iter()
                .fold([0f32; 2], |s, p| [s[0] + p[0], s[1] + p[1]]);
            [s[0] / per as f32, s[1] / per as f32]
        };
        let cs: Vec<[f32; 2]> = (0..n / per).map(centroid).collect();
        let misplaced = layout
            .points
            .iter()
            .enumerate()
            .filter(|&(i, p)| {
                let d = |c: &[f32; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
                let own = d(&cs[i / per]);
                cs.iter().any(|c| d(c) < own)
            })
            .count();
        assert!(
            misplaced <= n / 100,
            "{misplaced} rows nearer another cluster"
        );
    }

    #[test]
    fn approximate_graph_finds_nearly_the_exact_neighbours() {
        let (n, dim, k) = (3000, 32, 10);
        let v = synthetic(n, dim, 50, 1.5, 2);
        let (exact, dexact) = knn(&v, dim, n, k, 0, n, &Silent).unwrap();
        let (approx, _) = knn(&v, dim, n, k, 0, 100, &Silent).unwrap();
        assert!(dexact.windows(k).step_by(k).all(|d| d.is_sorted()));
        assert!(exact
            .chunks(k)
            .enumerate()
            .all(|(i, js)| !js.contains(&(i as u32))));
        let found = exact
            .chunks(k)
            .zip(approx.chunks(k))
            .map(|(e, a)| e.iter().filter(|j| a.contains(j)).count())
            .sum::<usize>();
        let recall = found as f64 / (n * k) as f64;
        assert!(recall > 0.95, "{recall}");
        assert!(recall < 1.0 || exact == approx);
    }

    #[test]
    fn tiny_inputs_fall_back_to_pca() {
        let p = LayoutParams::default();
        let none = layout_2d(&[], 8, &p, &Silent).unwrap();
        assert!(none.points.is_empty());
        let one = layout_2d(&[1.0, 0.0, 0.0], 3, &p, &Silent).unwrap();
        assert_eq!(one.points, vec![[0.0, 0.0]]);
        let two = layout_2d(&[1.0, 0.0, 0.0, 1.0], 2, &p, &Silent).unwrap();
        assert_eq!(two.points.len(), 2);
        assert_ne!(two.points[0], two.points[1]);
        assert!(
            two.method.contains("principal components"),
            "{}",
            two.method
        );
        // 16 rows: one short of a 15-neighbour graph; 17 rows: a layout.
        let v = synthetic(17, 8, 4, 0.5, 1);
        let few = layout_2d(&v[..16 * 8], 8, &p, &Silent).unwrap();
        assert!(few.method.contains("principal"));
        let enough = layout_2d(&v, 8, &p, &Silent).unwrap();
        assert!(enough.method.contains("UMAP"));
        assert!(enough.points.iter().flatten().all(|x| x.is_finite()));
    }

    #[test]
    fn identical_rows_stay_finite_and_together() {
        let row = synthetic(1, 16, 1, 0.0, 4);
        let mut v = row.repeat(100);
        // And a second group of 100 copies of another row.
        v.extend(synthetic(1, 16, 1, 0.0, 5).repeat(100));
        let out = layout_2d(&v, 16, &params(10, Some(200), 0), &Silent).unwrap();
        assert!(out.points.iter().flatten().all(|x| x.is_finite()));
        let (own, other) = spread(&out.points, 100);
        assert!(own * 3.0 < other, "own {own} other {other}");
        let all_same = layout_2d(&row.repeat(50), 16, &params(5, Some(100), 0), &Silent).unwrap();
        assert!(all_same.points.iter().flatten().all(|x| x.is_finite()));
    }

    #[test]
    fn rejects_bad_shapes_and_stops_when_cancelled() {
        let p = LayoutParams::default();
        assert!(layout_2d(&[1.0, 2.0, 3.0], 2, &p, &Silent).is_err());
        assert!(layout_2d(&[1.0, 0.0], 0, &p, &Silent).is_err());
        assert!(layout_2d(&[1.0, 0.0], 2, &params(0, None, 0), &Silent).is_err());

        struct Stop;
        impl Progress for Stop {
            fn begin(&self, _: &str, _: Option<u64>) {}
            fn advance(&self, _: u64) {}
            fn end(&self) {}
            fn cancelled(&self) -> bool {
                true
            }
        }
        let v = synthetic(100, 8, 10, 0.5, 1);
        let err = layout_2d(&v, 8, &params(5, Some(10), 0), &Stop).unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    }

    #[test]
    fn fuzzy_weights_follow_umap() {
        // sum over neighbours of exp(-(d - rho) / sigma) = log2(k + 1).
        let d = [0.1f32, 0.2, 0.3, 0.5, 0.8];
        let (rho, sigma) = smooth(&d, 1.0);
        assert_eq!(rho, 0.1f32 as f64);
        let total: f64 = d
            .iter()
            .map(|&x| (-((x as f64 - rho).max(0.0)) / sigma).exp())
            .sum();
        assert!((total - 6f64.log2()).abs() < 1e-4, "{total}");
        // Two rows, each the other's only neighbour: one edge each way, weight 1.
        let g = Graph::fuzzy(&[1, 0], &[0.3, 0.3], 2, 1, 10);
        assert_eq!(g.offsets, [0, 1, 2]);
        assert_eq!(g.targets, [1, 0]);
        assert_eq!(g.rate, [1.0, 1.0]);
    }

    /// `groups` clusters of `per` rows, `dim` wide: each a patch of a random plane
    /// (two latent coordinates) around a random centre, plus a little isotropic noise.
    fn patches(
        groups: usize,
        per: usize,
        dim: usize,
        spread: f32,
        noise: f32,
        seed: u64,
    ) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let mut normal = move || {
            let s: f64 = (0..4).map(|_| rng.next_f64() - 0.5).sum();
            (s * 1.7) as f32
        };
        let mut out = Vec::with_capacity(groups * per * dim);
        for _ in 0..groups {
            let c: Vec<f32> = (0..dim).map(|_| normal()).collect();
            let d1: Vec<f32> = (0..dim).map(|_| normal()).collect();
            let d2: Vec<f32> = (0..dim).map(|_| normal()).collect();
            for _ in 0..per {
                let (u, w) = (normal() * spread, normal() * spread);
                for t in 0..dim {
                    out.push(c[t] + u * d1[t] + w * d2[t] + noise * normal());
                }
            }
        }
        crate::linalg::normalize_rows(&mut out, dim);
        out
    }

    #[test]
    fn pow_b_matches_powf() {
        let mut x = 1e-12f32;
        while x < 1e8 {
            let (got, want) = (pow_b(x), x.powf(B));
            assert!((got / want - 1.0).abs() < 3e-5, "{x}: {got} vs {want}");
            x *= 1.013;
        }
    }

    #[test]
    #[ignore]
    fn experiment() {
        let (dim, per) = (64, 250);
        for (name, v) in [
            ("patches", patches(12, per, dim, 0.5, 0.1, 3)),
            ("synthetic", synthetic(3000, dim, per, 1.0, 11)),
        ] {
            let t = std::time::Instant::now();
            let layout = layout_2d(&v, dim, &LayoutParams::default(), &Silent).unwrap();
            let el = t.elapsed().as_secs_f64();
            let pca = pca_2d(&v, dim).points;
            let m = |p: &[[f32; 2]]| {
                (
                    neighbourhood_preservation(&v, dim, p, 10, 1000, 5),
                    trustworthiness(&v, dim, p, 10, 1000, 5),
                    {
                        let (o, t) = spread(p, per);
                        o / t
                    },
                )
            };
            eprintln!(
                "{name}: layout {:?} pca {:?} in {el:.2}s",
                m(&layout.points),
                m(&pca)
            );
        }
        let mut v = synthetic(1, 16, 1, 0.0, 4).repeat(100);
        v.extend(synthetic(1, 16, 1, 0.0, 5).repeat(100));
        let out = layout_2d(&v, 16, &params(10, Some(200), 0), &Silent).unwrap();
        let (own, other) = spread(&out.points, 100);
        eprintln!("identical: own {own} other {other}");
    }

    #[test]
    #[ignore]
    fn timing() {
        let dim = 256;
        let n: usize = std::env::var("N").unwrap().parse().unwrap();
        let v = if std::env::var("DATA").is_ok() {
            synthetic(
                n,
                dim,
                std::env::var("DATA").unwrap().parse().unwrap(),
                1.5,
                7,
            )
        } else {
            patches(n / 1000, 1000, dim, 0.5, 0.3, 7)
        };
        let t = std::time::Instant::now();
        let (ids, _) = knn(&v, dim, n, 15, 0, EXACT_MAX, &Silent).unwrap();
        eprintln!("knn {:.2}s", t.elapsed().as_secs_f64());
        // Recall of 300 sampled rows against brute force.
        let qs = Rng::new(1).sample(n, 300);
        let mut found = 0;
        for &q in &qs {
            let mut s: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != q)
                .map(|j| (dot(&v[q * dim..][..dim], &v[j * dim..][..dim]), j))
                .collect();
            s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            found += s[..15]
                .iter()
                .filter(|(_, j)| ids[q * 15..][..15].contains(&(*j as u32)))
                .count();
        }
        eprintln!("recall {:.4}", found as f64 / (300 * 15) as f64);
        if std::env::var("ONLYKNN").is_ok() {
            return;
        }
        let (ids, dists) = knn(&v, dim, n, 15, 0, EXACT_MAX, &Silent).unwrap();
        let g = Graph::fuzzy(&ids, &dists, n, 15, 200);
        eprintln!(
            "edges/row {:.2} samples/row/epoch {:.2}",
            g.targets.len() as f64 / n as f64,
            g.rate.iter().map(|&r| r as f64).sum::<f64>() / n as f64
        );
        let pts = initial(&v, dim, n, 0, true);
        let t = std::time::Instant::now();
        let mut p2 = pts.clone();
        for e in 0..50 {
            p2 = g.epoch(&p2, e, 0.5, 0);
        }
        eprintln!("50 epochs {:.2}s", t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let layout = layout_2d(&v, dim, &LayoutParams::default(), &Silent).unwrap();
        eprintln!("layout {:.2}s", t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let pca = pca_2d(&v, dim).points;
        eprintln!("pca_2d {:.2}s", t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let m = |p: &[[f32; 2]]| {
            (
                neighbourhood_preservation(&v, dim, p, 10, 1000, 5),
                trustworthiness(&v, dim, p, 10, 1000, 5),
            )
        };
        eprintln!(
            "layout {:?} pca {:?} ({:.2}s)",
            m(&layout.points),
            m(&pca),
            t.elapsed().as_secs_f64()
        );
    }
}

fn tune(name: &str, default: f32) -> f32 {
    std::env::var(format!("SEMSIFT_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
