//! One Lloyd iteration of spherical k-means, written as a matrix product.
//!
//! Assignment scores a block of rows against every centroid at once (`rows × centroidsᵀ`
//! through candle's gemm, so the same code runs wherever candle does) and takes each
//! row's best centroid. The update sums each cluster's members in row order (after a
//! counting sort by label), in f64, and rescales the sum to unit length: the spherical
//! k-means centroid. Both halves give the same result for any number of threads.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use super::ClusterError;
use crate::linalg::with_scores;
use crate::progress::Progress;

/// Rows scored per matrix product: bounds the score matrix to `ASSIGN_BLOCK × k` floats.
const ASSIGN_BLOCK: usize = 4096;

/// Each row's nearest centroid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignment {
    /// Cluster of each row.
    pub labels: Vec<u32>,
    /// Cosine of each row to its cluster's centroid.
    pub similarity: Vec<f32>,
}

impl Assignment {
    /// The weighted spherical k-means objective: `Σ wᵢ (1 − cos(xᵢ, c(xᵢ)))`.
    pub fn objective(&self, weights: Option<&[f32]>) -> f64 {
        self.similarity
            .iter()
            .enumerate()
            .map(|(i, &s)| weight(weights, i) as f64 * (1.0 - s as f64))
            .sum()
    }
}

/// Index and value of the largest score (the first one on ties).
///
/// Takes the maximum over 8 lanes first (vectorisable, no data-dependent branch), then
/// finds its first position: about 3× faster than a compare-and-branch per score.
fn argmax(line: &[f32]) -> (usize, f32) {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = line.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (m, &x) in lanes.iter_mut().zip(c) {
            *m = m.max(x);
        }
    }
    let best = tail.iter().fold(
        lanes.into_iter().fold(f32::NEG_INFINITY, f32::max),
        |m, &x| m.max(x),
    );
    match line.iter().position(|&x| x == best) {
        Some(i) => (i, best),
        // Only when every score is NaN: fall back to the first cluster.
        None => (0, line.first().copied().unwrap_or(f32::NEG_INFINITY)),
    }
}

pub(crate) fn weight(weights: Option<&[f32]>, i: usize) -> f32 {
    weights.map_or(1.0, |w| w[i])
}

/// Scores every row of `vectors` (row-major, `dim` wide) against every centroid
/// (`k × dim`), a block of [`ASSIGN_BLOCK`] rows at a time, and hands each block's scores
/// (`rows × k`, row-major) with its first row to `visit`. Reports progress in rows when
/// `progress` is given and polls it for cancellation between blocks.
fn score_blocks(
    vectors: &[f32],
    dim: usize,
    centroids: &[f32],
    progress: Option<&dyn Progress>,
    mut visit: impl FnMut(usize, &[f32]),
) -> Result<(), ClusterError> {
    score_blocks_on(
        vectors,
        dim,
        centroids,
        &Device::Cpu,
        progress,
        |start, scores| {
            with_scores(scores, |scores| visit(start, scores))?;
            Ok(())
        },
    )
}

/// [`score_blocks`] on `device`: the centroids are copied there once and each block of
/// rows as it comes, and `visit` gets each block's scores as a tensor (`rows × k`) on the
/// device.
fn score_blocks_on(
    vectors: &[f32],
    dim: usize,
    centroids: &[f32],
    device: &Device,
    progress: Option<&dyn Progress>,
    mut visit: impl FnMut(usize, &Tensor) -> Result<(), ClusterError>,
) -> Result<(), ClusterError> {
    let n = vectors.len() / dim;
    let k = centroids.len() / dim;
    let c = Tensor::from_slice(centroids, (k, dim), device)?;
    let ct = c.t()?;
    for start in (0..n).step_by(ASSIGN_BLOCK) {
        if progress.is_some_and(|p| p.cancelled()) {
            return Err(ClusterError::Cancelled);
        }
        let rows = ASSIGN_BLOCK.min(n - start);
        let x = Tensor::from_slice(
            &vectors[start * dim..(start + rows) * dim],
            (rows, dim),
            device,
        )?;
        let scores = x.matmul(&ct)?;
        visit(start, &scores)?;
        if let Some(p) = progress {
            p.advance(rows as u64);
        }
    }
    Ok(())
}

/// Assigns every row of `vectors` (row-major, `dim` wide, unit length) to the most
/// similar of `centroids` (`k × dim`, unit length); ties go to the lower cluster id.
/// Reports progress in rows when `progress` is given and polls it for cancellation.
pub fn assign(
    vectors: &[f32],
    dim: usize,
    centroids: &[f32],
    progress: Option<&dyn Progress>,
) -> Result<Assignment, ClusterError> {
    assign_on(vectors, dim, centroids, &Device::Cpu, progress)
}

/// [`assign`], with the matrix products on `device`. Off the CPU each row's best
/// centroid is also found there, so only two numbers per row come back; the result is
/// the same as on the CPU (ties to the lower id), up to the rounding of the products.
pub fn assign_on(
    vectors: &[f32],
    dim: usize,
    centroids: &[f32],
    device: &Device,
    progress: Option<&dyn Progress>,
) -> Result<Assignment, ClusterError> {
    assign_with(vectors, dim, centroids, device, !device.is_cpu(), progress)
}

/// [`assign_on`]; `best_on_device` picks the device-side argmax (tests use it on the CPU).
fn assign_with(
    vectors: &[f32],
    dim: usize,
    centroids: &[f32],
    device: &Device,
    best_on_device: bool,
    progress: Option<&dyn Progress>,
) -> Result<Assignment, ClusterError> {
    let n = vectors.len() / dim;
    let k = centroids.len() / dim;
    let mut out = Assignment {
        labels: vec![0; n],
        similarity: vec![0.0; n],
    };
    // Column j weighs k − j, so the largest weight among a row's maxima marks its first.
    // (Exact in f32 for k up to 2²⁴.)
    let rank = if best_on_device {
        let weights: Vec<f32> = (0..k).map(|j| (k - j) as f32).collect();
        Some(Tensor::from_vec(weights, k, device)?)
    } else {
        None
    };
    score_blocks_on(
        vectors,
        dim,
        centroids,
        device,
        progress,
        |start, scores| {
            let rows = scores.dim(0)?;
            let labels = &mut out.labels[start..start + rows];
            let similarity = &mut out.similarity[start..start + rows];
            if let Some(rank) = &rank {
                let best = scores.max_keepdim(1)?;
                let first = scores
                    .broadcast_ge(&best)?
                    .to_dtype(candle_core::DType::F32)?
                    .broadcast_mul(rank)?
                    .max(1)?
                    .to_vec1::<f32>()?;
                let best = best.flatten_all()?.to_vec1::<f32>()?;
                for (((label, sim), w), b) in labels.iter_mut().zip(similarity).zip(first).zip(best)
                {
                    // A weight of 0 means no score equals the maximum (all NaN): cluster 0, as
                    // `argmax` does.
                    *label = if w > 0.0 { (k - w as usize) as u32 } else { 0 };
                    *sim = b;
                }
                return Ok(());
            }
            with_scores(scores, |scores| {
                labels
                    .par_iter_mut()
                    .zip(similarity)
                    .zip(scores.par_chunks_exact(k))
                    .for_each(|((label, sim), line)| {
                        let (best, best_s) = argmax(line);
                        *label = best as u32;
                        *sim = best_s;
                    });
            })?;
            Ok(())
        },
    )?;
    Ok(out)
}

/// The centroids chosen for each row by [`nearest`], most similar first: row `i`'s are
/// `ids[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nearest {
    /// Where each row's list starts; one more entry than rows.
    pub offsets: Vec<usize>,
    /// Centroid ids, row after row.
    pub ids: Vec<u32>,
}

impl Nearest {
    /// Centroid ids of row `i`.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.ids[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// For every row of `vectors`, its `p` most similar `centroids` (`k × dim`) and then any
/// further ones at least `floor` similar, up to `max` in all; most similar first, ties by
/// lower id. `p` must be in `1..=k`; `floor = f32::INFINITY` gives exactly `p` per row.
pub fn nearest(
    vectors: &[f32],
    dim: usize,
    centroids: &[f32],
    p: usize,
    floor: f32,
    max: usize,
    progress: Option<&dyn Progress>,
) -> Result<Nearest, ClusterError> {
    let k = centroids.len() / dim;
    assert!((1..=k).contains(&p), "p = {p} outside 1..={k}");
    nearest_by(vectors, dim, centroids, progress, |line, ids| {
        ids.resize(p, 0);
        top_ids(line, ids);
        let mut extra: Vec<(f32, u32)> = line
            .iter()
            .enumerate()
            .filter(|&(j, &s)| s >= floor && !ids.contains(&(j as u32)))
            .map(|(j, &s)| (s, j as u32))
            .collect();
        extra.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ids.extend(extra.iter().take(max.saturating_sub(p)).map(|e| e.1));
    })
}

/// For every row of `vectors`, the centroid ids that `pick` chooses from the row's scores
/// against every centroid (`line`, `k` long): `pick` appends them to the empty `ids`.
/// Rows are scored in blocks and picked in parallel; the lists come back in row order.
pub fn nearest_by(
    vectors: &[f32],
    dim: usize,
    centroids: &[f32],
    progress: Option<&dyn Progress>,
    pick: impl Fn(&[f32], &mut Vec<u32>) + Sync,
) -> Result<Nearest, ClusterError> {
    let n = vectors.len() / dim;
    let k = centroids.len() / dim;
    let mut out = Nearest {
        offsets: Vec::with_capacity(n + 1),
        ids: Vec::with_capacity(n),
    };
    out.offsets.push(0);
    score_blocks(vectors, dim, centroids, progress, |_, scores| {
        let lists: Vec<Vec<u32>> = scores
            .par_chunks_exact(k)
            .map(|line| {
                let mut ids = Vec::new();
                pick(line, &mut ids);
                ids
            })
            .collect();
        for ids in lists {
            out.ids.extend_from_slice(&ids);
            out.offsets.push(out.ids.len());
        }
    })?;
    Ok(out)
}

/// Writes the positions of the `ids.len()` largest values of `line` into `ids`, largest
/// first, ties by position. Insertion into a short sorted list: `ids.len()` is small.
pub fn top_ids(line: &[f32], ids: &mut [u32]) {
    let p = ids.len();
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(p + 1);
    for (j, &s) in line.iter().enumerate() {
        if best.len() == p && s <= best[p - 1].0 {
            continue;
        }
        let at = best.partition_point(|&(b, _)| b >= s);
        best.insert(at, (s, j as u32));
        best.truncate(p);
    }
    for (slot, (_, j)) in ids.iter_mut().zip(best) {
        *slot = j;
    }
}

/// Recomputes `centroids` (`k × dim`) from an assignment: each becomes the unit-length
/// weighted sum of its members. Clusters left empty keep their old centroid; their ids
/// are returned. Also returns each cluster's total weight.
pub fn update(
    vectors: &[f32],
    dim: usize,
    weights: Option<&[f32]>,
    labels: &[u32],
    centroids: &mut [f32],
) -> (Vec<f64>, Vec<usize>) {
    let k = centroids.len() / dim;
    let members = members_by_cluster(labels, k);
    let mass: Vec<f64> = centroids
        .par_chunks_mut(dim)
        .enumerate()
        .map(|(j, centroid)| {
            let ids = &members.order[members.offsets[j]..members.offsets[j + 1]];
            let mut sum = vec![0f64; dim];
            let mut total = 0f64;
            for &i in ids {
                let w = weight(weights, i as usize);
                total += w as f64;
                for (s, &x) in sum.iter_mut().zip(&vectors[i as usize * dim..][..dim]) {
                    *s += w as f64 * x as f64;
                }
            }
            let norm = sum.iter().map(|s| s * s).sum::<f64>().sqrt();
            if total > 0.0 && norm > 0.0 {
                for (c, s) in centroid.iter_mut().zip(&sum) {
                    *c = (s / norm) as f32;
                }
            }
            if norm > 0.0 {
                total
            } else {
                0.0
            }
        })
        .collect();
    let empty = (0..k).filter(|&j| mass[j] == 0.0).collect();
    (mass, empty)
}

/// Rows grouped by cluster, each group in row order (a counting sort by label).
pub(crate) struct Members {
    /// Row ids, cluster by cluster.
    pub order: Vec<u32>,
    /// Cluster `j`'s rows are `order[offsets[j]..offsets[j + 1]]`.
    pub offsets: Vec<usize>,
}

/// Groups rows by label.
pub(crate) fn members_by_cluster(labels: &[u32], k: usize) -> Members {
    let mut offsets = vec![0usize; k + 1];
    for &l in labels {
        offsets[l as usize + 1] += 1;
    }
    for j in 0..k {
        offsets[j + 1] += offsets[j];
    }
    let mut next = offsets.clone();
    let mut order = vec![0u32; labels.len()];
    for (i, &l) in labels.iter().enumerate() {
        order[next[l as usize]] = i as u32;
        next[l as usize] += 1;
    }
    Members { order, offsets }
}

/// Gives each empty cluster a new centroid: the rows least similar to their own
/// centroid, worst first (ties by row id), one per empty cluster. Returns how many
/// clusters were reseeded.
pub fn reseed_empty(
    vectors: &[f32],
    dim: usize,
    assignment: &Assignment,
    empty: &[usize],
    centroids: &mut [f32],
) -> usize {
    if empty.is_empty() {
        return 0;
    }
    let mut worst: Vec<u32> = (0..assignment.labels.len() as u32).collect();
    let by_similarity = |a: &u32, b: &u32| {
        assignment.similarity[*a as usize]
            .total_cmp(&assignment.similarity[*b as usize])
            .then(a.cmp(b))
    };
    let take = empty.len().min(worst.len());
    if take < worst.len() && take > 0 {
        worst.select_nth_unstable_by(take - 1, by_similarity);
    }
    worst.truncate(take);
    worst.sort_unstable_by(by_similarity);
    for (&j, &i) in empty.iter().zip(&worst) {
        centroids[j * dim..(j + 1) * dim].copy_from_slice(&vectors[i as usize * dim..][..dim]);
    }
    take
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_lists_the_top_centroids_in_order() {
        let dim = 16;
        let v = crate::cluster::synthetic(500, dim, 50, 0.4, 9);
        let centroids = v[..40 * dim].to_vec();
        let p = 5;
        let got = nearest(&v, dim, &centroids, p, f32::INFINITY, p, None).unwrap();
        for i in 0..500 {
            let row = &v[i * dim..][..dim];
            let mut all: Vec<(f32, u32)> = (0..40)
                .map(|j| {
                    (
                        crate::linalg::dot(row, &centroids[j * dim..][..dim]),
                        j as u32,
                    )
                })
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let ids = got.of(i);
            assert_eq!(ids.len(), p);
            // Same scores in the same order (ids may differ only on float ties).
            for (r, &j) in ids.iter().enumerate() {
                let s = crate::linalg::dot(row, &centroids[j as usize * dim..][..dim]);
                assert!((s - all[r].0).abs() < 1e-5, "row {i} rank {r}");
            }
        }
        // The first of the list is assign's label.
        let a = assign(&v, dim, &centroids, None).unwrap();
        for i in 0..500 {
            assert_eq!(got.of(i)[0], a.labels[i]);
        }
        // With a floor: the top p, then every further centroid at or above it, up to max.
        let (floor, max) = (0.3, 12);
        let wide = nearest(&v, dim, &centroids, p, floor, max, None).unwrap();
        for i in 0..500 {
            let row = &v[i * dim..][..dim];
            let ids = wide.of(i);
            assert_eq!(&ids[..p], got.of(i));
            let score = |j: u32| crate::linalg::dot(row, &centroids[j as usize * dim..][..dim]);
            assert!(ids[p..].iter().all(|&j| score(j) >= floor - 1e-6));
            assert!(ids.windows(2).all(|w| score(w[0]) >= score(w[1]) - 1e-6));
            let above = (0..40u32).filter(|&j| score(j) >= floor + 1e-5).count();
            assert!(
                ids.len() >= above.min(max) && ids.len() <= max.max(p),
                "row {i}"
            );
        }
    }

    #[test]
    fn top_ids_breaks_ties_by_position() {
        let mut ids = [0u32; 3];
        top_ids(&[0.5, 0.9, 0.5, 0.9, 0.1], &mut ids);
        assert_eq!(ids, [1, 3, 0]);
    }

    fn unit(v: &mut [f32], dim: usize) {
        crate::linalg::normalize_rows(v, dim);
    }

    #[test]
    fn assign_picks_the_most_similar_centroid_with_low_id_on_ties() {
        let vectors = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8, 0.8, 0.6];
        let centroids = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
        let a = assign(&vectors, 2, &centroids, None).unwrap();
        assert_eq!(a.labels, vec![1, 0, 0, 1]);
        assert!((a.similarity[2] - 0.8).abs() < 1e-6);
        assert!((a.objective(None) - (0.0 + 0.0 + 0.2 + 0.2)).abs() < 1e-5);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.1, 0.5, 0.2]), (1, 0.5));
        let mut v: Vec<f32> = (0..37).map(|i| (i % 11) as f32).collect();
        assert_eq!(argmax(&v), (10, 10.0));
        v[36] = 20.0;
        assert_eq!(argmax(&v), (36, 20.0));
        assert_eq!(argmax(&[2.0; 19]), (0, 2.0));
    }

    #[test]
    fn assign_matches_a_scalar_loop_across_blocks() {
        let dim = 8;
        let n = ASSIGN_BLOCK + 777;
        let mut rng = crate::linalg::Rng::new(5);
        let mut v: Vec<f32> = (0..n * dim).map(|_| rng.next_f64() as f32 - 0.5).collect();
        unit(&mut v, dim);
        let mut c: Vec<f32> = (0..13 * dim).map(|_| rng.next_f64() as f32 - 0.5).collect();
        unit(&mut c, dim);
        let a = assign(&v, dim, &c, None).unwrap();
        for i in (0..n).step_by(97) {
            let row = &v[i * dim..][..dim];
            let sims: Vec<f32> = c.chunks(dim).map(|c| crate::linalg::dot(row, c)).collect();
            let best = sims.iter().cloned().fold(f32::MIN, f32::max);
            assert!((a.similarity[i] - best).abs() < 1e-5);
            assert!((sims[a.labels[i] as usize] - best).abs() < 1e-5);
        }
    }

    #[test]
    fn device_side_argmax_gives_the_cpu_assignment() {
        let dim = 16;
        let n = ASSIGN_BLOCK + 321;
        let v = crate::cluster::synthetic(n, dim, 4, 0.3, 13);
        // Repeated centroids make exact ties: both paths must pick the lower id.
        let mut c = v[..30 * dim].to_vec();
        c.extend_from_slice(&v[..10 * dim]);
        c.extend_from_slice(&v[5 * dim..6 * dim]);
        let cpu = assign(&v, dim, &c, None).unwrap();
        let on = assign_on(&v, dim, &c, &Device::Cpu, None).unwrap();
        assert_eq!(on, cpu);
        let dev = assign_with(&v, dim, &c, &Device::Cpu, true, None).unwrap();
        assert_eq!(dev.labels, cpu.labels);
        assert_eq!(dev.similarity, cpu.similarity);
        assert!(
            cpu.labels.iter().all(|&l| l < 30),
            "ties go to the first copy"
        );
    }

    #[test]
    fn update_is_the_normalised_weighted_sum_and_reports_empty_clusters() {
        let vectors = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        let labels = [0, 0, 0];
        let mut c = [0.0, 1.0, 0.0, 1.0];
        let (mass, empty) = update(&vectors, 2, Some(&[1.0, 3.0, 2.0]), &labels, &mut c);
        assert_eq!(mass, vec![6.0, 0.0]);
        assert_eq!(empty, vec![1]);
        // Sum = (3, 3) → (0.7071, 0.7071); cluster 1 unchanged.
        assert!((c[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((c[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(&c[2..], &[0.0, 1.0]);
    }

    #[test]
    fn reseed_takes_the_worst_fitting_rows() {
        let vectors = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
        let a = Assignment {
            labels: vec![0, 0, 0],
            similarity: vec![1.0, 0.0, 0.6],
        };
        let mut c = [1.0, 0.0, 9.0, 9.0, 9.0, 9.0];
        assert_eq!(reseed_empty(&vectors, 2, &a, &[1, 2], &mut c), 2);
        assert_eq!(c, [1.0, 0.0, 0.0, 1.0, 0.6, 0.8]);
    }
}
