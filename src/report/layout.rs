//! A neighbour-preserving 2-D layout of the rows: UMAP's method, made deterministic.
//!
//! [PCA](super::projection) keeps the largest directions of variance, so a dozen topics
//! that are all far apart in the embedding land on top of each other when two axes
//! cannot hold them. This layout keeps *neighbourhoods* instead (see
//! [`preservation`](super::preservation) for the measure), as UMAP does:
//!
//! 1. a k-nearest-neighbour graph on cosine distance (`1 − similarity`): exact search up
//!    to [`EXACT_MAX`] rows; above, the clustered index ([`IvfIndex`]) with generous
//!    probing, then one round of NN-descent (each row's neighbours' neighbours rescored);
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
//! UMAP applies each update as soon as it is computed, from many threads racing on shared
//! positions ("hogwild"), so its result depends on the thread schedule. Here each epoch
//! computes every row's step from the previous epoch's positions (in parallel, each row
//! drawing from its own random stream keyed by seed, epoch and row) and applies them all
//! together, Jacobi-style, so a seed fixes the layout whatever the number of threads. A
//! row's step is the mean of its sampled edges' contributions (see `Graph::epoch`).

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

/// Rounds of neighbour-of-neighbour refinement after an approximate search.
const REFINE: usize = 1;

/// Rows the starting PCA is fitted on; the others are projected on its axes.
const PCA_SAMPLE: usize = 20_000;

/// Cells the clustered index probes per query for the neighbour graph (it is sized for
/// 10), so nearly all true neighbours are found.
const IVF_PROBES: usize = 16;

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
        "exact search"
    } else {
        "clustered-index search refined by a neighbours-of-neighbours round"
    };
    Ok(Layout {
        points,
        method: format!(
            "UMAP-style layout: {k}-nearest-neighbour graph on cosine distance ({search}) \
             with fuzzy weights, started from the first two principal components \
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
            probes: IVF_PROBES,
            seed,
            ..IvfParams::default()
        };
        IvfIndex::build(vectors, dim, params, progress)?.top_k(vectors, want, progress)?
    };
    let mut hits: Vec<(u32, f32)> = (0..n)
        .into_par_iter()
        .flat_map_iter(|i| best(vectors, dim, i, k, found.get(i).0.iter().copied()))
        .collect();
    if n > exact_max {
        // Neighbours of neighbours: a round of NN-descent finds most of what the index's
        // cells missed.
        for _ in 0..REFINE {
            hits = (0..n)
                .into_par_iter()
                .flat_map_iter(|i| {
                    let ids = |i: usize| hits[i * k..(i + 1) * k].iter().map(|h| h.0);
                    let theirs = ids(i).flat_map(|j| ids(j as usize));
                    best(vectors, dim, i, k, ids(i).chain(theirs))
                })
                .collect();
        }
    }
    Ok(hits
        .into_iter()
        .map(|(j, s)| (j, (1.0 - s).clamp(0.0, 2.0)))
        .unzip())
}

/// Row `i`'s `k` most similar among `candidates` with their similarities (scored with
/// [`dot`]; itself and repeats skipped), most similar first, ties by lower id; padded
/// with `(i, −1)` when there are fewer than `k`.
fn best(
    vectors: &[f32],
    dim: usize,
    i: usize,
    k: usize,
    candidates: impl Iterator<Item = u32>,
) -> Vec<(u32, f32)> {
    let row = |i: usize| &vectors[i * dim..(i + 1) * dim];
    let mut ids: Vec<u32> = candidates.filter(|&j| j as usize != i).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut hits: Vec<(u32, f32)> = ids
        .into_iter()
        .map(|j| (j, dot(row(i), row(j as usize))))
        .collect();
    let order = |x: &(u32, f32), y: &(u32, f32)| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0));
    if hits.len() > k {
        hits.select_nth_unstable_by(k - 1, order);
        hits.truncate(k);
    }
    hits.sort_unstable_by(order);
    hits.resize(k, (i as u32, -1.0));
    hits
}

/// UMAP's `smooth_knn_dist` for one row: `(ρ, σ)` such that
/// `Σ exp(−max(0, d − ρ)/σ) = log₂(k + 1)` over its `k` neighbour distances (nearest
/// first), with `σ` at least a thousandth of the mean distance (`mean_all`, over all
/// rows, when the row's neighbours are all at distance zero).
fn smooth(dists: &[f32], mean_all: f64) -> (f64, f64) {
    let target = ((dists.len() + 1) as f64).log2();
    let rho = dists.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0) as f64;
    let psum = |sigma: f64| -> f64 {
        let terms = dists
            .iter()
            .map(|&d| (-(d as f64 - rho).max(0.0) / sigma).exp());
        terms.sum()
    };
    let (mut lo, mut hi, mut mid) = (0f64, f64::INFINITY, 1f64);
    for _ in 0..64 {
        let sum = psum(mid);
        if (sum - target).abs() < 1e-5 {
            break;
        }
        if sum > target {
            hi = mid;
        } else {
            lo = mid;
        }
        mid = if hi.is_infinite() {
            mid * 2.0
        } else {
            (lo + hi) / 2.0
        };
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
        // Each directed edge and its transpose (padding, an edge to the row itself, is
        // dropped); a pair found from both sides appears twice.
        let mut entries: Vec<(u32, u32, f32)> = dists
            .par_chunks_exact(k)
            .zip(ids.par_chunks_exact(k))
            .enumerate()
            .flat_map_iter(|(i, (d, js))| {
                let (rho, sigma) = smooth(d, mean_all);
                let edges = d.iter().zip(js).filter(move |e| *e.1 as usize != i);
                edges.flat_map(move |(&d, &j)| {
                    let w = (-(d as f64 - rho).max(0.0) / sigma).exp() as f32;
                    [(i as u32, j, w), (j, i as u32, w)]
                })
            })
            .collect();
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
        Graph {
            offsets: (0..=n)
                .map(|i| merged.partition_point(|e| (e.0 as usize) < i))
                .collect(),
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
                        let pw = d2.powf(B);
                        push(diff, -2.0 * A * B * (pw / d2) / (A * pw + 1.0), 2.0);
                    }
                    for _ in 0..NEGATIVES {
                        // Multiply-shift rather than `Rng::below`'s exact method: a
                        // division per draw would cost more than the gradient, and the
                        // bias (under n / 2³² per row) does not matter here.
                        let other = (((rng.next_u64() >> 32) * n as u64) >> 32) as usize;
                        if other == i {
                            continue;
                        }
                        let diff = sub(here, points[other]);
                        let d2 = diff[0] * diff[0] + diff[1] * diff[1];
                        if d2 > 0.0 {
                            push(diff, 2.0 * B / ((0.001 + d2) * (A * d2.powf(B) + 1.0)), 1.0);
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
            *m += x as f64 / PCA_SAMPLE as f64;
        }
    }
    let axes = [0, 1].map(|a| {
        let norm: f64 = scores.iter().map(|s| (s[a] as f64).powi(2)).sum();
        let mut axis = vec![0f64; dim];
        for (row, s) in sample.chunks_exact(dim).zip(&scores) {
            let w = s[a] as f64 / norm.max(f64::MIN_POSITIVE);
            for ((v, &x), m) in axis.iter_mut().zip(row).zip(&mean) {
                *v += (x as f64 - m) * w;
            }
        }
        axis
    });
    let shift = axes.each_ref().map(|axis| {
        let s: f64 = axis.iter().zip(&mean).map(|(v, m)| v * m).sum();
        s as f32
    });
    let axes = axes.map(|axis| axis.into_iter().map(|v| v as f32).collect::<Vec<f32>>());
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
    use crate::report::preservation::testutil::{patches, separation};
    use crate::report::preservation::{neighbourhood_preservation, trustworthiness};

    /// `v`'s layout with `neighbors` and `epochs` at `seed`.
    fn lay(v: &[f32], dim: usize, neighbors: usize, epochs: usize, seed: u64) -> Layout {
        let params = LayoutParams {
            neighbors,
            epochs: Some(epochs),
            seed,
        };
        layout_2d(v, dim, &params, &Silent).unwrap()
    }

    fn finite(points: &[[f32; 2]]) -> bool {
        points.iter().flatten().all(|x| x.is_finite())
    }

    #[test]
    fn same_seed_same_layout_whatever_the_threads() {
        let v = synthetic(800, 32, 100, 0.8, 1);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            pool.unwrap().install(|| lay(&v, 32, 10, 60, 3))
        };
        let one = run(1);
        assert!(one.points.len() == 800 && finite(&one.points));
        assert_eq!(one, run(4));
        assert_eq!(one, run(3));
        assert_eq!(one, lay(&v, 32, 10, 60, 3));
        let other = lay(&v, 32, 10, 60, 4);
        assert_ne!(one.points, other.points);
    }

    /// Preservation and trustworthiness at k = 10, then [`separation`]'s two measures.
    fn quality(v: &[f32], dim: usize, points: &[[f32; 2]], per: usize) -> [f64; 4] {
        let [ratio, misplaced] = separation(points, per);
        [
            neighbourhood_preservation(v, dim, points, 10, 1000, 5),
            trustworthiness(v, dim, points, 10, 1000, 5),
            ratio,
            misplaced,
        ]
    }

    #[test]
    fn keeps_neighbourhoods_far_better_than_pca() {
        // 3,000 rows, 64 wide, in 12 clusters of 250, each a patch of a plane: the
        // neighbourhoods within a cluster are two-dimensional, so a map can keep them.
        let v = patches(12, 250, 3);
        let layout = layout_2d(&v, 64, &LayoutParams::default(), &Silent).unwrap();
        assert!(layout.method.contains("15-nearest") && layout.method.contains("500 epochs"));
        let ours = quality(&v, 64, &layout.points, 250);
        let pca = quality(&v, 64, &pca_2d(&v, 64).points, 250);
        // Measured: layout [0.78, 0.9994, 0.09, 0], PCA [0.29, 0.93, 0.16, 0.17].
        assert!(ours[0] >= pca[0] + 0.3, "layout {ours:?} PCA {pca:?}");
        assert!(ours[1] >= pca[1] + 0.04, "layout {ours:?} PCA {pca:?}");
        assert!(
            ours[1] > 0.99 && ours[2] < 0.12 && ours[3] <= 0.01,
            "{ours:?}"
        );
    }

    #[test]
    fn separates_clusters_that_pca_overlaps() {
        // 3,000 rows, 64 wide, in 12 clusters of 250 with isotropic noise: twelve nearly
        // orthogonal directions, which two principal components cannot keep apart.
        let v = synthetic(3000, 64, 250, 1.0, 11);
        let layout = lay(&v, 64, 15, 300, 0);
        let ours = quality(&v, 64, &layout.points, 250);
        let pca = quality(&v, 64, &pca_2d(&v, 64).points, 250);
        // Measured: layout [0.13, 0.97, 0.03, 0], PCA [0.03, 0.80, 0.21, 0.35]. Within a
        // cluster the neighbours are noise in 63 dimensions, so no map keeps many.
        let msg = format!("layout {ours:?} PCA {pca:?}");
        assert!(ours[2] < 0.08 && pca[2] > 0.15, "{msg}");
        assert!(ours[3] <= 0.01 && pca[3] > 0.05, "{msg}");
        assert!(ours[0] >= pca[0] + 0.07 && ours[1] >= pca[1] + 0.1, "{msg}");
    }

    #[test]
    fn approximate_graph_finds_nearly_the_exact_neighbours() {
        let (n, dim, k) = (3000, 32, 10);
        let v = synthetic(n, dim, 50, 1.5, 2);
        let (exact, dexact) = knn(&v, dim, n, k, 0, n, &Silent).unwrap();
        let approx = knn(&v, dim, n, k, 0, 100, &Silent).unwrap();
        // The approximate graph does not depend on the number of threads either.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build();
        let one_thread = pool
            .unwrap()
            .install(|| knn(&v, dim, n, k, 0, 100, &Silent));
        assert!(one_thread.unwrap() == approx);
        assert!(dexact.chunks(k).all(|d| d.is_sorted()));
        let mut lists = exact.chunks(k).enumerate();
        assert!(lists.all(|(i, js)| !js.contains(&(i as u32))));
        let found: usize = (exact.chunks(k).zip(approx.0.chunks(k)))
            .map(|(e, a)| e.iter().filter(|j| a.contains(j)).count())
            .sum();
        // Measured 0.88: hard data (60 clusters of 50 in noise), few rows per cell.
        let recall = found as f64 / (n * k) as f64;
        assert!(
            recall > 0.85 && (recall < 1.0 || exact == approx.0),
            "{recall}"
        );
    }

    #[test]
    fn tiny_inputs_fall_back_to_pca() {
        let p = LayoutParams::default();
        assert!(layout_2d(&[], 8, &p, &Silent).unwrap().points.is_empty());
        let one = layout_2d(&[1.0, 0.0, 0.0], 3, &p, &Silent).unwrap();
        assert_eq!(one.points, vec![[0.0, 0.0]]);
        let two = layout_2d(&[1.0, 0.0, 0.0, 1.0], 2, &p, &Silent).unwrap();
        assert!(two.points.len() == 2 && two.points[0] != two.points[1]);
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
        assert!(enough.method.contains("UMAP") && finite(&enough.points));
    }

    #[test]
    fn identical_rows_stay_finite_and_together() {
        // Two groups of 100 copies of one row each.
        let row = synthetic(1, 16, 1, 0.0, 4);
        let mut v = row.repeat(100);
        v.extend(synthetic(1, 16, 1, 0.0, 5).repeat(100));
        let out = lay(&v, 16, 10, 200, 0);
        let [ratio, misplaced] = separation(&out.points, 100);
        assert!(
            finite(&out.points) && ratio < 0.2 && misplaced == 0.0,
            "{ratio}"
        );
        let same = lay(&row.repeat(50), 16, 5, 100, 0);
        assert!(finite(&same.points));
    }

    #[test]
    fn rejects_bad_shapes_and_stops_when_cancelled() {
        let p = LayoutParams::default();
        assert!(layout_2d(&[1.0, 2.0, 3.0], 2, &p, &Silent).is_err());
        assert!(layout_2d(&[1.0, 0.0], 0, &p, &Silent).is_err());
        assert!(layout_2d(&[1.0, 0.0], 2, &LayoutParams { neighbors: 0, ..p }, &Silent).is_err());
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
        let err = layout_2d(&v, 8, &LayoutParams { neighbors: 5, ..p }, &Stop).unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    }

    #[test]
    fn fuzzy_weights_follow_umap() {
        // Σ exp(−(d − ρ)/σ) = log₂(k + 1), ρ the nearest distance.
        let d = [0.1f32, 0.2, 0.3, 0.5, 0.8];
        let (rho, sigma) = smooth(&d, 1.0);
        assert_eq!(rho, 0.1f32 as f64);
        let total: f64 = d.iter().map(|&x| (-(x as f64 - rho) / sigma).exp()).sum();
        assert!((total - 6f64.log2()).abs() < 1e-4, "{total}");
        // Two rows, each the other's only neighbour: one edge each way, sampled always.
        let g = Graph::fuzzy(&[1, 0], &[0.3, 0.3], 2, 1, 10);
        assert_eq!(
            (g.offsets, g.targets, g.rate),
            (vec![0, 1, 2], vec![1, 0], vec![1.0, 1.0])
        );
    }
}
