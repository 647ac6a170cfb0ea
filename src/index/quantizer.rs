//! The clustered index's cells: which cell a vector belongs to, and which cells a query
//! must look in, without scoring every vector against every cell.
//!
//! A flat quantizer scores each vector against all `lists` centroids, so assigning `n`
//! vectors costs `n × lists` dot products; with cells of a bounded size (`lists ∝ n`)
//! that grows as `n²`. This one is a tree. Cells are gathered into groups, each owning
//! the fine centroids fitted to its rows; the groups' centroids are themselves a
//! quantizer (flat while there are few of them, a tree again above that). A vector finds
//! its `coarse_probes` nearest groups through that quantizer, then scores the fine
//! centroids of those groups only. Up to `FANOUT²` cells there are about `√lists` groups
//! of `√lists` cells (`(1 + coarse_probes) × √lists` products per vector); above it,
//! groups hold `FANOUT` cells each and the group quantizer is a tree of its own, so the
//! products per vector grow with the depth (`log lists`), not with `√lists`. Small
//! indexes (fewer than [`FLAT_BELOW`] cells) keep a single group: the flat quantizer.
//!
//! Fitting follows the same tree: the group quantizer on a sample, then each group's fine
//! centroids on the sampled rows that fall in it, groups in parallel, each with as many
//! cells as its share of the sample. Everything is seeded and each group's fit is
//! independent of the others, so the cells do not depend on the number of threads.
//!
//! Scores come in blocks of [`BLOCK`] vectors or more: the block's groups from the group
//! quantizer (one matrix product when it is flat), then, for each group the block's
//! vectors probe, one product of those vectors against the group's fine centroids.

use std::borrow::Cow;

use half::f16;
use rayon::prelude::*;

use super::IndexError;
use crate::cluster::{lloyd, ClusterError, Init, KMeans, KMeansParams};
use crate::linalg::{scores_into, Rng};
use crate::progress::{Progress, Silent};
use crate::store::HeldRef;

/// Indexes with fewer cells than this keep one group (a flat quantizer): scoring all
/// their centroids costs less than the two-level overhead saves.
pub const FLAT_BELOW: usize = 1024;
/// A group quantizer (the centroids of groups) with fewer centroids than this is flat.
const GROUPS_FLAT_BELOW: usize = 256;
/// Cells per group once there are more than `FANOUT²` cells (below that: `√lists`).
const FANOUT: usize = 64;
/// Vectors scored per block (one parallel task), at least; see [`Quantizer::block_rows`].
const BLOCK: usize = 1024;
/// Rows a block aims to send to each group it probes, so that a group's centroids,
/// read once per block, are scored by one matrix product of that many rows.
const PROBERS_PER_GROUP: usize = 64;
/// Rows sampled per group centroid when fitting them.
const COARSE_FIT_PER_GROUP: usize = 256;
/// Groups each sampled row is compared with when a tree-shaped group quantizer assigns
/// the sample to groups during fitting.
const FIT_COARSE_PROBES: usize = 8;
/// Sampled `f16` rows widened at a time to find their groups.
const WIDEN_CHUNK: usize = 1 << 16;

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

/// Cell centroids in a tree. Cell ids are the fine centroids' positions; group `g` owns
/// cells `offsets[g]..offsets[g + 1]`, and cell `g` of `coarse` is group `g`'s centroid.
#[derive(Debug, Clone, Default)]
pub struct Quantizer {
    dim: usize,
    /// `lists × dim` unit fine centroids, group after group.
    fine: Vec<f32>,
    /// The groups' quantizer (`None`: one group, which every query probes).
    coarse: Option<Box<Quantizer>>,
    offsets: Vec<usize>,
    /// Lloyd iterations of the group fit plus the most any group's fit ran.
    iterations: usize,
}

/// The number of groups for `lists` cells (at least [`FLAT_BELOW`]).
fn groups_for(lists: usize) -> usize {
    if lists <= FANOUT * FANOUT {
        (lists as f64).sqrt().round() as usize
    } else {
        lists.div_ceil(FANOUT)
    }
}

impl Quantizer {
    /// Fits `params.lists` cells to `vectors` (row-major, `dim` wide, unit length, as
    /// held: `f16` ones are widened only as far as the fit's sample).
    /// Progress stage: `fit` (the group fit, then one step per group).
    pub fn fit(
        vectors: HeldRef<'_>,
        dim: usize,
        params: QuantizerParams,
        progress: &dyn Progress,
    ) -> Result<Self, IndexError> {
        Self::fit_level(vectors, dim, params, FLAT_BELOW, progress)
    }

    /// [`fit`](Self::fit), flat below `flat_below` cells.
    fn fit_level(
        vectors: HeldRef<'_>,
        dim: usize,
        params: QuantizerParams,
        flat_below: usize,
        progress: &dyn Progress,
    ) -> Result<Self, IndexError> {
        let n = vectors.len() / dim;
        let lists = params.lists.clamp(1, n.max(1));
        let mut rng = Rng::new(params.seed);
        let sample = Picked::new(vectors, dim, lists * params.fit_per_list, &mut rng);
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
        if lists < flat_below {
            let mut all = Vec::new();
            let k = kmeans(
                sample.read(0..sample.len(), &mut all),
                lists,
                params.seed,
                progress,
            )?;
            return Ok(Quantizer {
                dim,
                fine: k.centroids,
                coarse: None,
                offsets: vec![0, lists],
                iterations: k.iterations,
            });
        }
        let groups = groups_for(lists);
        let coarse_rows = sample.gather(groups * COARSE_FIT_PER_GROUP, &mut rng);
        let coarse = Self::fit_level(
            coarse_rows.held(),
            dim,
            QuantizerParams {
                lists: groups,
                ..params
            },
            GROUPS_FLAT_BELOW,
            progress,
        )?;
        // Each sampled row's group, a chunk of rows at a time.
        let rows = sample.len();
        let chunk = WIDEN_CHUNK;
        let mut labels = Vec::with_capacity(rows);
        let mut buf = Vec::new();
        for lo in (0..rows).step_by(chunk) {
            let queries = sample.read(lo..(lo + chunk).min(rows), &mut buf);
            let nearest = coarse.nearest_by(queries, 1, FIT_COARSE_PROBES, None, |c, ids| {
                ids.push(c[0].0)
            })?;
            labels.extend_from_slice(&nearest.ids);
        }
        drop(buf);
        let groups = coarse.lists();
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
                let mut buf = Vec::new();
                for &i in &members.order[members.offsets[g]..members.offsets[g + 1]] {
                    let i = i as usize;
                    rows.extend_from_slice(sample.read(i..i + 1, &mut buf));
                }
                let seed = params.seed ^ (g as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let fit = kmeans(&rows, k, seed, &Silent)?;
                progress.advance(1);
                Ok((fit.centroids, fit.iterations))
            })
            .collect();
        progress.end();
        let mut fine = Vec::with_capacity(lists * dim);
        let mut offsets = vec![0];
        let mut owners = Vec::with_capacity(groups);
        let mut most = 0;
        for (g, fit) in fitted.into_iter().enumerate() {
            let (centroids, iterations) = fit?;
            if centroids.is_empty() {
                continue; // a group no sampled row fell in: it owns no cell
            }
            most = most.max(iterations);
            fine.extend_from_slice(&centroids);
            offsets.push(fine.len() / dim);
            owners.push(g);
        }
        let iterations = coarse.iterations + most;
        Ok(Quantizer {
            dim,
            fine,
            coarse: Some(Box::new(coarse.keep_cells(&owners))),
            offsets,
            iterations,
        })
    }

    /// This quantizer with only the cells `keep` (increasing ids), renumbered in that
    /// order; groups left without cells are dropped from the group quantizer too.
    fn keep_cells(self, keep: &[usize]) -> Quantizer {
        if keep.len() == self.lists() {
            return self;
        }
        let dim = self.dim;
        let mut fine = Vec::with_capacity(keep.len() * dim);
        for &c in keep {
            fine.extend_from_slice(&self.fine[c * dim..(c + 1) * dim]);
        }
        let coarse = self.coarse.map(|coarse| {
            let (mut offsets, mut owners, mut at) = (vec![0], Vec::new(), 0);
            for (g, &end) in self.offsets[1..].iter().enumerate() {
                let from = at;
                while at < keep.len() && keep[at] < end {
                    at += 1;
                }
                if at > from {
                    offsets.push(at);
                    owners.push(g);
                }
            }
            (Box::new(coarse.keep_cells(&owners)), offsets)
        });
        let (coarse, offsets) = match coarse {
            Some((c, o)) => (Some(c), o),
            None => (None, vec![0, keep.len()]),
        };
        Quantizer {
            dim,
            fine,
            coarse,
            offsets,
            iterations: self.iterations,
        }
    }

    /// The number of cells.
    pub fn lists(&self) -> usize {
        self.fine.len() / self.dim.max(1)
    }

    /// The quantizer as bytes (little-endian): width, centroids, group offsets,
    /// iterations, then the group quantizer the same way, if any. [`from_bytes`]
    /// reads it back.
    ///
    /// [`from_bytes`]: Self::from_bytes
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.fine.len() * 4 + 64);
        self.write_bytes(&mut out);
        out
    }

    fn write_bytes(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.dim as u64).to_le_bytes());
        out.extend_from_slice(&(self.fine.len() as u64).to_le_bytes());
        for x in &self.fine {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&(self.offsets.len() as u64).to_le_bytes());
        for &o in &self.offsets {
            out.extend_from_slice(&(o as u64).to_le_bytes());
        }
        out.extend_from_slice(&(self.iterations as u64).to_le_bytes());
        match &self.coarse {
            Some(c) => {
                out.push(1);
                c.write_bytes(out);
            }
            None => out.push(0),
        }
    }

    /// Reads a quantizer [`to_bytes`](Self::to_bytes) wrote; returns it and the bytes
    /// left after it, or what was wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Quantizer, &[u8]), String> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
            if b.len() < n {
                return Err(format!("ends early: {} bytes left, {n} needed", b.len()));
            }
            let (head, rest) = b.split_at(n);
            *b = rest;
            Ok(head)
        }
        fn int(b: &mut &[u8]) -> Result<usize, String> {
            let v = u64::from_le_bytes(take(b, 8)?.try_into().expect("8 bytes"));
            usize::try_from(v).map_err(|_| format!("{v} does not fit in usize"))
        }
        let mut b = bytes;
        let dim = int(&mut b)?;
        let values = int(&mut b)?;
        if dim == 0 || values % dim != 0 {
            return Err(format!("{values} centroid values are not rows of {dim}"));
        }
        let fine = take(&mut b, values.checked_mul(4).ok_or("too many centroids")?)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        let n = int(&mut b)?;
        let offsets = (0..n)
            .map(|_| int(&mut b))
            .collect::<Result<Vec<usize>, _>>()?;
        let iterations = int(&mut b)?;
        let coarse = match take(&mut b, 1)?[0] {
            0 => None,
            1 => {
                let (c, rest) = Self::from_bytes(b)?;
                b = rest;
                Some(Box::new(c))
            }
            other => return Err(format!("group flag {other}")),
        };
        let q = Quantizer {
            dim,
            fine,
            coarse,
            offsets,
            iterations,
        };
        let groups = q.coarse.as_ref().map_or(1, |c| c.lists());
        let ok = q.offsets.len() == groups + 1
            && q.offsets.first() == Some(&0)
            && q.offsets.last() == Some(&q.lists())
            && q.offsets.windows(2).all(|w| w[0] <= w[1])
            && q.coarse.as_ref().is_none_or(|c| c.dim == dim);
        if !ok {
            return Err("group offsets do not match the cells".into());
        }
        Ok((q, b))
    }

    /// Values per centroid.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of groups (1 for a flat quantizer).
    pub fn groups(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Levels of centroids a vector goes through (1 for a flat quantizer).
    pub fn levels(&self) -> usize {
        1 + self.coarse.as_ref().map_or(0, |c| c.levels())
    }

    /// Lloyd iterations the fit ran (group fits plus the longest cell fit).
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
    /// lower id): the cells of the `coarse_probes` groups the group quantizer finds
    /// nearest to the row (all cells for a flat quantizer). `pick` appends to the empty
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
        let n = queries.len() / self.dim;
        let mut out = lloyd::Nearest {
            offsets: Vec::with_capacity(n + 1),
            ids: Vec::with_capacity(n),
        };
        out.offsets.push(0);
        self.lists_into(
            queries,
            max,
            coarse_probes,
            progress,
            pick,
            &mut out.ids,
            &mut out.offsets,
        )?;
        Ok(out)
    }

    /// Each row's `max` most similar cells it reaches and their scores (what
    /// [`nearest_by`](Self::nearest_by) hands `pick`), row after row, with offsets:
    /// row `r`'s are `cells[offsets[r]..offsets[r + 1]]`.
    pub fn best_cells(
        &self,
        queries: &[f32],
        max: usize,
        coarse_probes: usize,
        progress: Option<&dyn Progress>,
    ) -> Result<BestCells, IndexError> {
        let n = queries.len() / self.dim;
        let mut cells = Vec::with_capacity(n * max.min(self.lists()));
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        self.lists_into(
            queries,
            max,
            coarse_probes,
            progress,
            |best, out| out.extend_from_slice(best),
            &mut cells,
            &mut offsets,
        )?;
        Ok((cells, offsets))
    }

    /// Appends to `ids` what `pick` makes of each row's best cells, and each row's end to
    /// `offsets` (which starts with `0`).
    #[allow(clippy::too_many_arguments)]
    fn lists_into<T: Copy + Send>(
        &self,
        queries: &[f32],
        max: usize,
        coarse_probes: usize,
        progress: Option<&dyn Progress>,
        pick: impl Fn(&[(u32, f32)], &mut Vec<T>) + Sync,
        ids: &mut Vec<T>,
        offsets: &mut Vec<usize>,
    ) -> Result<(), IndexError> {
        let dim = self.dim;
        let coarse_probes = self.group_probes(coarse_probes);
        let blocks: Vec<Result<Picks<T>, IndexError>> = queries
            .par_chunks(self.block_rows(coarse_probes) * dim)
            .map_init(Scratch::default, |scratch, block| {
                if progress.is_some_and(|p| p.cancelled()) {
                    return Err(IndexError::Cancelled);
                }
                self.candidates(block, max, coarse_probes, scratch);
                let (mut ids, mut lens) = (Vec::new(), Vec::with_capacity(block.len() / dim));
                let mut picked = Vec::new();
                scratch.best(max, |cells| {
                    picked.clear();
                    pick(cells, &mut picked);
                    ids.extend_from_slice(&picked);
                    lens.push(picked.len() as u32);
                });
                if let Some(p) = progress {
                    p.advance((block.len() / dim) as u64);
                }
                Ok((ids, lens))
            })
            .collect();
        assert!(!offsets.is_empty(), "lists_into: offsets start with 0");
        for block in blocks {
            let (block_ids, lens) = block?;
            ids.extend_from_slice(&block_ids);
            let mut last = offsets[offsets.len() - 1];
            offsets.extend(lens.iter().map(|&len| {
                last += len as usize;
                last
            }));
        }
        Ok(())
    }

    /// Groups probed at every level for `coarse_probes` requested: an eighth more when
    /// groups are [`FANOUT`] cells (more than `FANOUT²` cells), smaller than the `√lists`
    /// cells they hold below that. Measured on 6,000 sampled decisions
    /// (`scripts/bench_scale.py --sample 6000`): at 3M rows 7, 9 and 12 group probes
    /// reproduce 0.9940, 0.9950 and 0.9947 of exact search's decisions, and at 10M 9
    /// probes reproduce 0.9928, with a partition 14 % faster than at 12.
    pub fn group_probes(&self, coarse_probes: usize) -> usize {
        if self.lists() > FANOUT * FANOUT {
            coarse_probes + coarse_probes.div_ceil(8)
        } else {
            coarse_probes
        }
    }

    /// Rows per block: [`BLOCK`], or more when there are many groups, so that each block
    /// still sends about [`PROBERS_PER_GROUP`] rows to a group (a block reads every group's
    /// centroids once; with more groups than a cache holds, fewer rows per read would make
    /// the work per row grow with the number of groups).
    fn block_rows(&self, coarse_probes: usize) -> usize {
        (self.groups() * PROBERS_PER_GROUP / coarse_probes.max(1)).clamp(BLOCK, 8 * BLOCK)
    }

    /// Fills `s.candidates` with each row of `block`'s candidate cells and their scores
    /// (row `r`'s are `s.candidates[s.starts[r]..s.starts[r + 1]]`): a flat quantizer's
    /// `max` best, in order; otherwise every cell of the row's probed groups.
    fn candidates(&self, block: &[f32], max: usize, coarse_probes: usize, s: &mut Scratch) {
        let dim = self.dim;
        let rows = block.len() / dim;
        s.starts.clear();
        s.candidates.clear();
        s.starts.push(0);
        let Some(coarse) = &self.coarse else {
            let lists = self.lists();
            s.scores.resize(rows * lists, 0.0);
            scores_into(block, &self.fine, dim, &mut s.scores);
            let keep = max.min(lists);
            for line in s.scores.chunks_exact(lists) {
                s.keys.clear();
                s.keys
                    .extend(line.iter().enumerate().map(|(c, &x)| rank_key(c as u32, x)));
                if keep < lists {
                    s.keys.select_nth_unstable(keep - 1);
                }
                let best = &mut s.keys[..keep];
                best.sort_unstable();
                s.candidates.extend(best.iter().map(|&k| from_rank_key(k)));
                s.starts.push(s.candidates.len());
            }
            return;
        };
        // Each row's probed groups, from the group quantizer.
        let probes = coarse_probes.clamp(1, coarse.lists());
        let inner = s.coarse.get_or_insert_with(Default::default);
        coarse.candidates(block, probes, coarse_probes, inner);
        let (probed, owner) = (&mut s.probed, &mut s.owner);
        probed.clear();
        owner.clear();
        let mut row = 0;
        inner.best(probes, |groups| {
            let cells: usize = groups
                .iter()
                .map(|&(g, _)| self.offsets[g as usize + 1] - self.offsets[g as usize])
                .sum();
            probed.extend(groups.iter().map(|&(g, _)| g));
            owner.extend(std::iter::repeat_n(row, groups.len()));
            s.starts.push(s.starts[s.starts.len() - 1] + cells);
            row += 1;
        });
        s.candidates.resize(s.starts[rows], (0, 0.0));
        s.filled.clear();
        s.filled.extend_from_slice(&s.starts[..rows]);
        let by_group = lloyd::members_by_cluster(&s.probed, self.groups());
        for g in 0..self.groups() {
            let probers = &by_group.order[by_group.offsets[g]..by_group.offsets[g + 1]];
            if probers.is_empty() {
                continue;
            }
            let cells = self.offsets[g]..self.offsets[g + 1];
            s.gathered.clear();
            for &at in probers {
                let r = s.owner[at as usize] as usize;
                s.gathered.extend_from_slice(&block[r * dim..(r + 1) * dim]);
            }
            s.scores.resize(probers.len() * cells.len(), 0.0);
            scores_into(
                &s.gathered,
                &self.fine[cells.start * dim..cells.end * dim],
                dim,
                &mut s.scores,
            );
            for (&at, line) in probers.iter().zip(s.scores.chunks_exact(cells.len())) {
                let r = s.owner[at as usize] as usize;
                let slots = &mut s.candidates[s.filled[r]..s.filled[r] + cells.len()];
                for ((slot, c), &score) in slots.iter_mut().zip(cells.clone()).zip(line) {
                    *slot = (c as u32, score);
                }
                s.filled[r] += cells.len();
            }
        }
    }
}

/// Each row's best cells with their scores, row after row, and the offset where each
/// row's cells end (after a leading `0`).
pub type BestCells = (Vec<(u32, f32)>, Vec<usize>);

/// What a block's rows picked, row after row, and how many each row picked.
type Picks<T> = (Vec<T>, Vec<u32>);

/// Buffers one thread reuses from block to block (and one more set per group level).
#[derive(Default)]
struct Scratch {
    scores: Vec<f32>,
    gathered: Vec<f32>,
    candidates: Vec<(u32, f32)>,
    starts: Vec<usize>,
    filled: Vec<usize>,
    /// Each row's probed groups, row after row, and the row of each.
    probed: Vec<u32>,
    owner: Vec<u32>,
    /// A row's candidates as [`rank_key`]s, for selecting its best.
    keys: Vec<u64>,
    coarse: Option<Box<Scratch>>,
}

impl Scratch {
    /// Calls `each` with every row's `max` best candidates (most similar first, ties by
    /// lower cell id), row after row.
    fn best(&mut self, max: usize, mut each: impl FnMut(&[(u32, f32)])) {
        for r in 0..self.starts.len() - 1 {
            let cands = &mut self.candidates[self.starts[r]..self.starts[r + 1]];
            // Integer keys order as (score descending, id ascending) and select several
            // times faster than comparing the pairs.
            self.keys.clear();
            self.keys.extend(cands.iter().map(|&(c, s)| rank_key(c, s)));
            let keep = cands.len().min(max);
            if cands.len() > max {
                self.keys.select_nth_unstable(max - 1);
            }
            let keys = &mut self.keys[..keep];
            keys.sort_unstable();
            for (slot, &k) in cands.iter_mut().zip(keys.iter()) {
                *slot = from_rank_key(k);
            }
            each(&cands[..keep]);
        }
    }
}

/// `(c, s)` as an integer whose ascending order is `s` descending (as `f32::total_cmp`
/// orders), then `c` ascending.
fn rank_key(c: u32, s: f32) -> u64 {
    let b = s.to_bits();
    // Ascending in total order: negative scores flipped whole, positive ones above them.
    let ascending = if b >> 31 == 1 { !b } else { b | 1 << 31 };
    (u64::from(!ascending) << 32) | u64::from(c)
}

/// The `(c, s)` of a [`rank_key`].
fn from_rank_key(k: u64) -> (u32, f32) {
    let ascending = !((k >> 32) as u32);
    let b = if ascending >> 31 == 1 {
        ascending & !(1 << 31)
    } else {
        !ascending
    };
    (k as u32, f32::from_bits(b))
}

/// A seeded sample of `cap` rows of vectors (in sampled order), or all of them when
/// there are no more rows than that, kept as row numbers: gathered, the sample would be
/// a copy of a million rows at 10M rows (512 MiB as `f16`).
struct Picked<'v> {
    vectors: HeldRef<'v>,
    dim: usize,
    /// The sampled rows; `None`: every row, in order.
    rows: Option<Vec<usize>>,
}

impl<'v> Picked<'v> {
    fn new(vectors: HeldRef<'v>, dim: usize, cap: usize, rng: &mut Rng) -> Self {
        let n = vectors.len() / dim;
        let rows = (n > cap).then(|| rng.sample(n, cap));
        Picked { vectors, dim, rows }
    }

    /// Rows in the sample.
    fn len(&self) -> usize {
        match &self.rows {
            Some(rows) => rows.len(),
            None => self.vectors.len() / self.dim,
        }
    }

    /// Sampled rows `range` (positions in the sample), as [`HeldRef::read`] reads them:
    /// borrowed when they lie in order in `f32` vectors, otherwise in `buf`.
    fn read<'b>(&self, range: std::ops::Range<usize>, buf: &'b mut Vec<f32>) -> &'b [f32]
    where
        'v: 'b,
    {
        let dim = self.dim;
        let Some(rows) = &self.rows else {
            return self
                .vectors
                .read(range.start * dim..range.end * dim, dim, buf);
        };
        let mut one = Vec::new();
        buf.clear();
        for &r in &rows[range] {
            buf.extend_from_slice(self.vectors.read(r * dim..(r + 1) * dim, dim, &mut one));
        }
        buf
    }

    /// A seeded sample of `cap` of these rows (all of them when there are no more),
    /// gathered as held.
    fn gather(&self, cap: usize, rng: &mut Rng) -> Sample<'v> {
        let n = self.len();
        let picked = (n > cap).then(|| rng.sample(n, cap));
        let rows: Vec<usize> = match (&self.rows, picked) {
            (None, None) => {
                return match self.vectors {
                    HeldRef::F32(v) => Sample::F32(Cow::Borrowed(v)),
                    HeldRef::F16(v) => Sample::F16(Cow::Borrowed(v)),
                };
            }
            (Some(rows), None) => rows.clone(),
            (None, Some(picked)) => picked,
            (Some(rows), Some(picked)) => picked.iter().map(|&k| rows[k]).collect(),
        };
        match self.vectors {
            HeldRef::F32(v) => Sample::F32(Cow::Owned(gather(v, self.dim, &rows))),
            HeldRef::F16(v) => Sample::F16(Cow::Owned(gather(v, self.dim, &rows))),
        }
    }
}

/// Rows `rows` of `v` (`dim` wide), in that order, in a vector of exactly their size.
fn gather<T: Copy>(v: &[T], dim: usize, rows: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(rows.len() * dim);
    for &i in rows {
        out.extend_from_slice(&v[i * dim..(i + 1) * dim]);
    }
    out
}

/// Rows gathered for a fit, held as the vectors they came from (a sample of `f16` rows
/// takes half the memory).
enum Sample<'v> {
    F32(Cow<'v, [f32]>),
    F16(Cow<'v, [f16]>),
}

impl Sample<'_> {
    fn held(&self) -> HeldRef<'_> {
        match self {
            Sample::F32(v) => HeldRef::F32(v),
            Sample::F16(v) => HeldRef::F16(v),
        }
    }
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

    #[test]
    fn rank_keys_order_as_score_descending_then_cell() {
        let scores = [
            0.5f32,
            -0.25,
            0.0,
            -0.0,
            1.0,
            -1.0,
            f32::MIN_POSITIVE,
            0.5,
            0.25,
        ];
        let mut pairs: Vec<(u32, f32)> = scores
            .iter()
            .enumerate()
            .map(|(c, &s)| ((c as u32 * 7) % 11, s))
            .collect();
        let mut keys: Vec<u64> = pairs.iter().map(|&(c, s)| rank_key(c, s)).collect();
        keys.sort_unstable();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let back: Vec<(u32, f32)> = keys.into_iter().map(from_rank_key).collect();
        assert_eq!(back.len(), pairs.len());
        for (got, want) in back.iter().zip(&pairs) {
            assert_eq!((got.0, got.1.to_bits()), (want.0, want.1.to_bits()));
        }
    }
    use crate::linalg::dot;

    fn params(lists: usize) -> QuantizerParams {
        QuantizerParams {
            lists,
            fit_per_list: 16,
            iterations: 4,
            seed: 3,
        }
    }

    /// For each row of `queries`: the cell the quantizer finds nearest (8 coarse probes)
    /// and the truly nearest cell, by scoring every centroid.
    fn found_and_best(q: &Quantizer, queries: &[f32], dim: usize) -> Vec<(usize, usize)> {
        let got = q
            .nearest_by(queries, 1, 8, None, |c, ids| ids.push(c[0].0))
            .unwrap();
        (0..queries.len() / dim)
            .map(|i| {
                let row = &queries[i * dim..(i + 1) * dim];
                let best = (0..q.lists())
                    .max_by(|&a, &b| dot(row, q.centroid(a)).total_cmp(&dot(row, q.centroid(b))))
                    .unwrap();
                (got.of(i)[0] as usize, best)
            })
            .collect()
    }

    #[test]
    fn a_quantizer_reads_back_from_its_bytes_and_finds_the_same_cells() {
        let dim = 16;
        let v = clustered(6000, dim, 5, 0.2, 9);
        let q = Quantizer::fit(HeldRef::F32(&v), dim, params(1200), &Silent).unwrap();
        assert!(q.levels() >= 2);
        let bytes = q.to_bytes();
        let (back, rest) = Quantizer::from_bytes(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(back.to_bytes(), bytes);
        let a = q.best_cells(&v[..200 * dim], 5, 8, None).unwrap();
        let b = back.best_cells(&v[..200 * dim], 5, 8, None).unwrap();
        assert_eq!(a, b);
        assert!(Quantizer::from_bytes(&bytes[..bytes.len() - 3]).is_err());
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
        let q = Quantizer::fit(HeldRef::F32(&v), dim, params(FLAT_BELOW + 200), &Silent).unwrap();
        assert!(q.groups() > 20, "{} groups", q.groups());
        assert_eq!(q.lists(), FLAT_BELOW + 200);
        let queries = &v[..2000 * dim];
        let same = found_and_best(&q, queries, dim)
            .into_iter()
            .filter(|(found, best)| found == best)
            .count();
        assert!(same > 1900, "{same} of 2000 found their nearest cell");
    }

    #[test]
    fn three_level_cells_find_nearly_every_nearest_centroid() {
        // More than FANOUT² cells: groups of FANOUT cells under a tree of groups.
        let dim = 12;
        let v = clustered(60_000, dim, 40, 0.6, 5);
        let lists = 18_000;
        let q = Quantizer::fit(HeldRef::F32(&v), dim, params(lists), &Silent).unwrap();
        assert_eq!(q.levels(), 3);
        assert!(q.groups() >= GROUPS_FLAT_BELOW, "{} groups", q.groups());
        assert!(q.lists() > FANOUT * FANOUT);
        let queries = &v[..2000 * dim];
        let same = found_and_best(&q, queries, dim)
            .into_iter()
            .enumerate()
            .filter(|&(i, (found, best))| {
                let row = &queries[i * dim..(i + 1) * dim];
                dot(row, q.centroid(found)) >= dot(row, q.centroid(best)) - 1e-6
            })
            .count();
        assert!(same > 1900, "{same} of 2000 found their nearest cell");
    }

    #[test]
    fn fits_at_every_depth_do_not_depend_on_threads() {
        let dim = 16;
        let v = clustered(30_000, dim, 10, 0.5, 2);
        for lists in [200, FLAT_BELOW + 10, GROUPS_FLAT_BELOW * FANOUT + 100] {
            let run = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        let q =
                            Quantizer::fit(HeldRef::F32(&v), dim, params(lists), &Silent).unwrap();
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
