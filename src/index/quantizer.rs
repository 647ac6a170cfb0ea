//! The clustered index's cells: which cell a vector belongs to, and which cells a query
//! must look in, without scoring every vector against every cell.
//!
//! A flat quantizer scores each vector against all `lists` centroids, so assigning `n`
//! vectors costs `n × lists` dot products; with cells of a bounded size (`lists ∝ n`)
//! that grows as `n²`. This one is two-level: `groups ≈ √lists` coarse centroids, each
//! owning the fine centroids fitted to its rows. A vector is scored against the coarse
//! centroids, then against the fine centroids of its `coarse_probes` nearest groups only:
//! about `(1 + coarse_probes) × √lists` dot products instead of `lists`. Small indexes
//! (fewer than [`FLAT_BELOW`] cells) keep a single group, which is the flat quantizer.
//!
//! Fitting is two-level too: the coarse centroids on a sample, then each group's fine
//! centroids on the sampled rows that fall in it, groups in parallel, each with as many
//! cells as its share of the sample. Everything is seeded and each group's fit is
//! independent of the others, so the cells do not depend on the number of threads.
//!
//! Scores come in blocks of [`BLOCK`] vectors: one matrix product against the coarse
//! centroids, then, for each group the block's vectors probe, one product of those
//! vectors against the group's fine centroids.

use rayon::prelude::*;

use super::IndexError;
use crate::cluster::{lloyd, ClusterError, Init, KMeans, KMeansParams};
use crate::linalg::{scores_into, Rng};
use crate::progress::{Progress, Silent};

/// Indexes with fewer cells than this keep one group (a flat quantizer): scoring all
/// their centroids costs less than the two-level overhead saves.
pub const FLAT_BELOW: usize = 1024;
/// Vectors scored per block (one parallel task).
const BLOCK: usize = 1024;
/// Rows sampled per coarse centroid when fitting them.
const COARSE_FIT_PER_GROUP: usize = 256;

/// How to fit the cells.
#[derive(Debug, Clone, Copy)]
pub struct QuantizerParams {
    /// Number of cells (fine centroids).
    pub lists: usize,
    /// Sampled rows per cell used for fitting.
    pub fit_per_list: usize,
    /// Lloyd iterations per k-means fit.
    pub iterations: usize,
    /// Seed of every sample and seeding.
    pub seed: u64,
}

/// Two-level cell centroids. Cell ids are the fine centroids' positions; group `g` owns
/// cells `offsets[g]..offsets[g + 1]`.
#[derive(Debug, Clone, Default)]
pub struct Quantizer {
    dim: usize,
    /// `lists × dim` unit fine centroids, group after group.
    fine: Vec<f32>,
    /// `groups × dim` unit coarse centroids (one group: empty, every query probes it).
    coarse: Vec<f32>,
    offsets: Vec<usize>,
    /// Lloyd iterations of the coarse fit plus the most any group's fit ran.
    iterations: usize,
}

impl Quantizer {
    /// Fits `params.lists` cells to `vectors` (row-major, `dim` wide, unit length).
    /// Progress stage: `fit` (the coarse fit, then one step per group).
    pub fn fit(
        vectors: &[f32],
        dim: usize,
        params: QuantizerParams,
        progress: &dyn Progress,
    ) -> Result<Self, IndexError> {
        let n = vectors.len() / dim;
        let lists = params.lists.clamp(1, n.max(1));
        let mut rng = Rng::new(params.seed);
        let sample = sample_rows(vectors, dim, lists * params.fit_per_list, &mut rng);
        let sample: &[f32] = sample.as_deref().unwrap_or(vectors);
        let kmeans = |rows: &[f32], k: usize, seed: u64, progress: &dyn Progress| {
            KMeans::fit(
                rows,
                dim,
                None,
                &KMeansParams {
                    k,
                    max_iter: params.iterations,
                    seed,
                    fit_per_cluster: params.fit_per_list,
                    min_fit_rows: 0,
                    init: Init::Random,
                    ..KMeansParams::default()
                },
                progress,
            )
            .map_err(cluster)
        };
        if lists < FLAT_BELOW {
            let k = kmeans(sample, lists, params.seed, progress)?;
            return Ok(Quantizer {
                dim,
                fine: k.centroids,
                coarse: Vec::new(),
                offsets: vec![0, lists],
                iterations: k.iterations,
            });
        }
        let groups = (lists as f64).sqrt().round() as usize;
        let coarse_rows = sample_rows(sample, dim, groups * COARSE_FIT_PER_GROUP, &mut rng);
        let coarse = kmeans(
            coarse_rows.as_deref().unwrap_or(sample),
            groups,
            params.seed,
            progress,
        )?;
        let labels = lloyd::assign(sample, dim, &coarse.centroids, None)
            .map_err(cluster)?
            .labels;
        let members = lloyd::members_by_cluster(&labels, groups);
        let sizes: Vec<usize> = (0..groups)
            .map(|g| members.offsets[g + 1] - members.offsets[g])
            .collect();
        let cells = share_out(lists, &sizes);
        progress.begin("fit", Some(groups as u64));
        let fitted: Vec<Result<(Vec<f32>, usize), IndexError>> = (0..groups)
            .into_par_iter()
            .map(|g| {
                if progress.cancelled() {
                    return Err(IndexError::Cancelled);
                }
                let k = cells[g];
                if k == 0 {
                    return Ok((Vec::new(), 0));
                }
                let mut rows = Vec::with_capacity(sizes[g] * dim);
                for &i in &members.order[members.offsets[g]..members.offsets[g + 1]] {
                    rows.extend_from_slice(&sample[i as usize * dim..][..dim]);
                }
                let seed = params.seed ^ (g as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let fit = kmeans(&rows, k, seed, &Silent)?;
                progress.advance(1);
                Ok((fit.centroids, fit.iterations))
            })
            .collect();
        progress.end();
        let mut q = Quantizer {
            dim,
            fine: Vec::with_capacity(lists * dim),
            coarse: Vec::with_capacity(groups * dim),
            offsets: vec![0],
            iterations: 0,
        };
        let mut most = 0;
        for (g, fit) in fitted.into_iter().enumerate() {
            let (centroids, iterations) = fit?;
            if centroids.is_empty() {
                continue; // a group no sampled row fell in: it owns no cell
            }
            most = most.max(iterations);
            q.fine.extend_from_slice(&centroids);
            q.coarse
                .extend_from_slice(&coarse.centroids[g * dim..(g + 1) * dim]);
            q.offsets.push(q.fine.len() / dim);
        }
        q.iterations = coarse.iterations + most;
        Ok(q)
    }

    /// The number of cells.
    pub fn lists(&self) -> usize {
        self.fine.len() / self.dim.max(1)
    }

    /// The number of groups (1 for a flat quantizer).
    pub fn groups(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Lloyd iterations the fit ran (coarse plus the longest group fit).
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Every cell's centroid, `lists × dim`.
    #[cfg(test)]
    pub fn centroids(&self) -> &[f32] {
        &self.fine
    }

    /// Cell `c`'s centroid.
    pub fn centroid(&self, c: usize) -> &[f32] {
        &self.fine[c * self.dim..(c + 1) * self.dim]
    }

    /// For each row of `queries`, the ids that `pick` chooses from the row's `max` most
    /// similar cells among those it reaches (`(cell, score)`, most similar first, ties by
    /// lower id): the cells of the `coarse_probes` groups whose coarse centroids are most
    /// similar to the row (all cells for a flat quantizer). `pick` appends to the empty
    /// `ids`. Rows are scored in parallel blocks; lists come back in row order. Reports
    /// progress in rows and polls for cancellation.
    pub fn nearest_by(
        &self,
        queries: &[f32],
        max: usize,
        coarse_probes: usize,
        progress: Option<&dyn Progress>,
        pick: impl Fn(&[(u32, f32)], &mut Vec<u32>) + Sync,
    ) -> Result<lloyd::Nearest, IndexError> {
        let lists = self.nearest_with(queries, max, coarse_probes, progress, pick)?;
        Ok(lloyd::Nearest {
            offsets: lists.offsets,
            ids: lists.items,
        })
    }

    /// [`nearest_by`](Self::nearest_by) where `pick` chooses items of any type.
    pub fn nearest_with<T: Copy + Send + Sync>(
        &self,
        queries: &[f32],
        max: usize,
        coarse_probes: usize,
        progress: Option<&dyn Progress>,
        pick: impl Fn(&[(u32, f32)], &mut Vec<T>) + Sync,
    ) -> Result<Lists<T>, IndexError> {
        let dim = self.dim;
        let n = queries.len() / dim;
        let blocks: Vec<Result<Picks<T>, IndexError>> = queries
            .par_chunks(BLOCK * dim)
            .map_init(Scratch::default, |scratch, block| {
                if progress.is_some_and(|p| p.cancelled()) {
                    return Err(IndexError::Cancelled);
                }
                let lists = self.block(block, max, coarse_probes, &pick, scratch);
                if let Some(p) = progress {
                    p.advance((block.len() / dim) as u64);
                }
                Ok(lists)
            })
            .collect();
        let mut out = Lists {
            offsets: Vec::with_capacity(n + 1),
            items: Vec::with_capacity(n),
        };
        out.offsets.push(0);
        for block in blocks {
            let (items, lens) = block?;
            out.items.extend_from_slice(&items);
            for len in lens {
                let last = out.offsets[out.offsets.len() - 1];
                out.offsets.push(last + len as usize);
            }
        }
        Ok(out)
    }

    /// One block of [`nearest_by`](Self::nearest_by): the picked ids, row after row, and
    /// how many each row has.
    fn block<T: Copy>(
        &self,
        block: &[f32],
        max: usize,
        coarse_probes: usize,
        pick: &(impl Fn(&[(u32, f32)], &mut Vec<T>) + Sync),
        scratch: &mut Scratch,
    ) -> Picks<T> {
        let dim = self.dim;
        let rows = block.len() / dim;
        let groups = self.groups();
        let Scratch {
            scores,
            gathered,
            candidates,
            starts,
            filled,
            top,
        } = scratch;
        // Row r's candidates are candidates[starts[r]..starts[r + 1]].
        starts.clear();
        candidates.clear();
        if groups == 1 {
            let lists = self.lists();
            scores.resize(rows * lists, 0.0);
            scores_into(block, &self.fine, dim, scores);
            top.resize(max.min(lists), 0);
            starts.push(0);
            for line in scores.chunks_exact(lists) {
                lloyd::top_ids(line, top);
                candidates.extend(top.iter().map(|&c| (c, line[c as usize])));
                starts.push(candidates.len());
            }
        } else {
            let probes = coarse_probes.clamp(1, groups);
            scores.resize(rows * groups, 0.0);
            scores_into(block, &self.coarse, dim, scores);
            top.resize(probes, 0);
            let mut probe_groups = Vec::with_capacity(rows * probes);
            starts.push(0);
            for line in scores.chunks_exact(groups) {
                lloyd::top_ids(line, top);
                probe_groups.extend_from_slice(top);
                let cells: usize = top
                    .iter()
                    .map(|&g| self.offsets[g as usize + 1] - self.offsets[g as usize])
                    .sum();
                starts.push(starts[starts.len() - 1] + cells);
            }
            candidates.resize(starts[rows], (0, 0.0));
            filled.clear();
            filled.extend_from_slice(&starts[..rows]);
            let by_group = lloyd::members_by_cluster(&probe_groups, groups);
            for g in 0..groups {
                let probers = &by_group.order[by_group.offsets[g]..by_group.offsets[g + 1]];
                if probers.is_empty() {
                    continue;
                }
                let cells = self.offsets[g]..self.offsets[g + 1];
                gathered.clear();
                for &at in probers {
                    let r = at as usize / probes;
                    gathered.extend_from_slice(&block[r * dim..(r + 1) * dim]);
                }
                scores.resize(probers.len() * cells.len(), 0.0);
                scores_into(
                    gathered,
                    &self.fine[cells.start * dim..cells.end * dim],
                    dim,
                    scores,
                );
                for (&at, line) in probers.iter().zip(scores.chunks_exact(cells.len())) {
                    let r = at as usize / probes;
                    let slots = &mut candidates[filled[r]..filled[r] + cells.len()];
                    for ((slot, c), &s) in slots.iter_mut().zip(cells.clone()).zip(line) {
                        *slot = (c as u32, s);
                    }
                    filled[r] += cells.len();
                }
            }
        }
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let (mut ids, mut lens) = (Vec::new(), Vec::with_capacity(rows));
        let mut picked = Vec::new();
        for r in 0..rows {
            let cands = &mut candidates[starts[r]..starts[r + 1]];
            let keep = cands.len().min(max);
            if cands.len() > max {
                cands.select_nth_unstable_by(max - 1, order);
            }
            let cands = &mut cands[..keep];
            cands.sort_unstable_by(order);
            picked.clear();
            pick(cands, &mut picked);
            ids.extend_from_slice(&picked);
            lens.push(picked.len() as u32);
        }
        (ids, lens)
    }
}

/// A block's picked items, row after row, and how many each row has.
type Picks<T> = (Vec<T>, Vec<u32>);

/// Buffers one thread reuses from block to block.
#[derive(Default)]
struct Scratch {
    scores: Vec<f32>,
    gathered: Vec<f32>,
    candidates: Vec<(u32, f32)>,
    starts: Vec<usize>,
    filled: Vec<usize>,
    top: Vec<u32>,
}

/// One list of items per query row: row `i`'s are `items[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lists<T> {
    /// Where each row's list starts; one more entry than rows.
    pub offsets: Vec<usize>,
    /// The items, row after row.
    pub items: Vec<T>,
}

/// A seeded sample of `cap` rows of `vectors` (in sampled order), or `None` when there
/// are no more rows than that.
fn sample_rows(vectors: &[f32], dim: usize, cap: usize, rng: &mut Rng) -> Option<Vec<f32>> {
    let n = vectors.len() / dim;
    if n <= cap {
        return None;
    }
    let mut out = Vec::with_capacity(cap * dim);
    for i in rng.sample(n, cap) {
        out.extend_from_slice(&vectors[i * dim..(i + 1) * dim]);
    }
    Some(out)
}

/// Splits `total` cells among groups in proportion to their sizes (largest remainders,
/// ties to the lower group), at most one cell per row of a group and at least one for
/// every group with rows.
fn share_out(total: usize, sizes: &[usize]) -> Vec<usize> {
    let rows: usize = sizes.iter().sum();
    let total = total.min(rows);
    if rows == 0 {
        return vec![0; sizes.len()];
    }
    let exact: Vec<f64> = sizes
        .iter()
        .map(|&s| total as f64 * s as f64 / rows as f64)
        .collect();
    let mut cells: Vec<usize> = sizes
        .iter()
        .zip(&exact)
        .map(|(&s, &e)| {
            if s == 0 {
                0
            } else {
                (e.floor() as usize).clamp(1, s)
            }
        })
        .collect();
    let mut given: usize = cells.iter().sum();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &g in order.iter().cycle().take(4 * sizes.len()) {
        if given >= total {
            break;
        }
        if cells[g] < sizes[g] {
            cells[g] += 1;
            given += 1;
        }
    }
    cells
}

fn cluster(e: ClusterError) -> IndexError {
    match e {
        ClusterError::Cancelled => IndexError::Cancelled,
        other => IndexError::Compute(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::clustered;
    use super::*;
    use crate::linalg::dot;

    fn params(lists: usize) -> QuantizerParams {
        QuantizerParams {
            lists,
            fit_per_list: 16,
            iterations: 4,
            seed: 3,
        }
    }

    #[test]
    fn cells_are_shared_out_by_size() {
        assert_eq!(share_out(10, &[50, 30, 20]), vec![5, 3, 2]);
        assert_eq!(share_out(4, &[1, 0, 100]), vec![1, 0, 3]);
        assert_eq!(share_out(100, &[2, 3]), vec![2, 3]);
        assert_eq!(share_out(7, &[10, 10, 10]).iter().sum::<usize>(), 7);
    }

    #[test]
    fn two_level_cells_find_nearly_every_nearest_centroid() {
        let dim = 24;
        let v = clustered(40_000, dim, 8, 0.4, 7);
        let q = Quantizer::fit(&v, dim, params(FLAT_BELOW + 200), &Silent).unwrap();
        assert!(q.groups() > 20, "{} groups", q.groups());
        assert_eq!(q.lists(), FLAT_BELOW + 200);
        let queries = &v[..2000 * dim];
        let got = q
            .nearest_by(queries, 1, 8, None, |c, ids| ids.push(c[0].0))
            .unwrap();
        let mut same = 0;
        for i in 0..2000 {
            let row = &queries[i * dim..(i + 1) * dim];
            let best = (0..q.lists())
                .max_by(|&a, &b| dot(row, q.centroid(a)).total_cmp(&dot(row, q.centroid(b))))
                .unwrap();
            same += (got.of(i)[0] as usize == best) as usize;
        }
        assert!(same > 1900, "{same} of 2000 found their nearest cell");
    }

    #[test]
    fn flat_and_two_level_fits_do_not_depend_on_threads() {
        let dim = 16;
        let v = clustered(30_000, dim, 10, 0.5, 2);
        for lists in [200, FLAT_BELOW + 10] {
            let run = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        let q = Quantizer::fit(&v, dim, params(lists), &Silent).unwrap();
                        let near = q
                            .nearest_by(&v, 3, 4, None, |c, ids| ids.extend(c.iter().map(|x| x.0)))
                            .unwrap();
                        (q.fine, near)
                    })
            };
            let (a, b) = (run(1), run(2));
            assert!(a.0 == b.0 && a.1 == b.1, "lists {lists}");
            assert!(a.1.ids.len() == 3 * 30_000);
        }
    }
}
