//! Clustered search (IVF): k-means cells, each query scored exactly against the members
//! of its nearest cells.
//!
//! Building fits `lists` spherical k-means centroids on a sample of the indexed vectors
//! and puts every vector in the cell of its nearest centroid. A query is scored, by
//! matrix products, against every member of `probes` cells, and every member at or above
//! the threshold is returned. Pairs above a high threshold (dedup's 0.9) are close
//! together, so they nearly always share a cell or sit in neighbouring ones; in a
//! self-search a pair is found when either row probes the other's cell.
//!
//! Which neighbouring cells: every member of a cell is nearer its centroid than the
//! query's own, so it lies beyond the hyperplane halfway between the two, and the
//! query's distance to that hyperplane bounds its distance to the cell from below. A
//! threshold query probes its own cell and then the cells with the smallest bound,
//! skipping any whose bound exceeds the distance a match can be at (`√(2 − 2·threshold)`
//! for unit vectors), which no match can lie in. On 100k English Bible verses at 0.9 this
//! ranking finds 0.987 of exact search's removed pairs at 8 probes against 0.984 for
//! nearest-centroid order (`scripts/recall-bible.sh`).
//!
//! Dense regions need more: where thousands of rows lie within the threshold of each
//! other (a static model gives every Japanese Bible verse nearly the same vector), k-means
//! spends many small cells on them and a row's neighbours spread over far more than
//! `probes` cells. Such cells announce themselves: their centroids are themselves close to
//! the query. So a threshold query also scores every further cell whose centroid is at
//! least `threshold − dense_margin` similar to it, up to `max_probes` cells in all.
//!
//! Work is grouped by cell, not by query: all queries that probe a cell are scored against
//! its members in one product (`probers × membersᵀ`), so the scan runs at matrix-product
//! speed, cells in parallel. Its cost is about `queries × probes × (vectors / lists)`
//! dot products plus `queries × lists` for the probing; [`auto_lists`] balances the two.
//! Everything is seeded and computed in a fixed order, so results do not depend on the
//! number of threads.

use rayon::prelude::*;

use std::sync::Arc;

use super::exact::hit_order;
use super::quantizer::{Quantizer, QuantizerParams};
use super::spill;
use super::{check_queries, row, HitStream, IndexError, Neighbors, NeighborsBuilder, VectorIndex};
use crate::cluster::lloyd;
use crate::linalg::scores_into;
use crate::progress::Progress;
use crate::store::HeldRef;
use pick::Pick;

/// Clustered-index parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IvfParams {
    /// Number of cells (k-means centroids); `0` picks [`auto_lists`].
    pub lists: usize,
    /// Cells each query is scored against, nearest first. More find more pairs and cost
    /// proportionally more.
    pub probes: usize,
    /// Threshold queries also score cells whose centroid is at least `threshold −
    /// dense_margin` similar to the query (see the module docs)...
    pub dense_margin: f32,
    /// ...up to this many cells in all.
    pub max_probes: usize,
    /// Cells are found through groups of cells (see `index::quantizer`): a vector is
    /// compared with the cells of this many nearest groups, or an eighth more (rounded up) in an
    /// index of more than 4,096 cells, whose groups are smaller (64 cells). Indexes of
    /// fewer than 1,024 cells have one group.
    pub coarse_probes: usize,
    /// Lloyd iterations when fitting the cells.
    pub iterations: usize,
    /// The threshold of a coming self-search (the indexed vectors as queries), if known:
    /// the build then keeps each vector's probe list from the pass that puts it in its
    /// cell, and that search skips scoring every vector against every centroid again.
    pub self_threshold: Option<f32>,
    /// Seed of the k-means sample and seeding.
    pub seed: u64,
    /// Bytes of hits a threshold search may buffer before it sorts them and spills them to
    /// a temporary file (see `index::spill`); `None`: never spill. The result is
    /// the same either way.
    pub spill_budget: Option<usize>,
}

impl Default for IvfParams {
    fn default() -> Self {
        IvfParams {
            lists: 0,
            probes: 10,
            dense_margin: 0.1,
            max_probes: 64,
            coarse_probes: 8,
            iterations: 6,
            seed: 0,
            self_threshold: None,
            spill_budget: None,
        }
    }
}

/// The number of cells for `n` vectors searched with `probes` probes: `√(n × probes)`,
/// which makes flat probing (`n × lists` dot products) and scanning
/// (`n × probes × n / lists`) cost the same, but never cells of more than
/// [`CELL_ROWS`] members on average, so the scan's work per query stays bounded as `n`
/// grows (the two-level quantizer keeps probing cheap); at least 1 and at most `n / 4`
/// (cells of four or more members on average).
pub fn auto_lists(n: usize, probes: usize) -> usize {
    let balanced = ((n as f64) * (probes as f64)).sqrt().round() as usize;
    balanced.max(n.div_ceil(CELL_ROWS)).clamp(1, (n / 4).max(1))
}

/// Most members an automatically sized cell holds on average.
pub const CELL_ROWS: usize = 256;

/// Rows fitted per centroid: the cells only need to be compact, not the best k-means
/// optimum, and fitting cost grows with `lists² × fit rows`.
const FIT_PER_LIST: usize = 32;
/// Rows put in their cells at a time (`f16` ones widened: 32 MiB at 256-d).
const PARTITION_CHUNK: usize = 1 << 15;
/// Probing queries scored per task (bounds a task's gathered queries to 4 MiB at 256-d).
const TASK_QUERIES: usize = 4096;
/// Members scored per task.
const TASK_MEMBERS: usize = 16_384;
/// Queries per matrix product inside a task (bounds its score block).
const BLOCK_QUERIES: usize = 256;
/// Scored pairs per wave of tasks (bounds the hits gathered before a compaction).
const WAVE_COST: usize = 1 << 26;
/// Hits a task keeps per query when a hit limit applies (a query cut there is marked cut,
/// and dedup's selection checks it against every kept row if its list finds none).
const TASK_HITS: usize = 32;
/// Rows whose cells one task picks (in order of their own cell).
const PICK_ROWS: usize = 1024;
/// Hits held before the first compaction (12 bytes each).
const COMPACT_HITS: usize = 1 << 25;

/// A clustered index over borrowed unit vectors (dot-product similarity).
pub struct IvfIndex<'a> {
    base: Base<'a>,
    dim: usize,
    len: usize,
    params: IvfParams,
    /// The cells' centroids.
    quantizer: Quantizer,
    lists: usize,
    /// Cell `c` holds `members[offsets[c]..offsets[c + 1]]`, in row order.
    offsets: Vec<usize>,
    members: Vec<u32>,
    /// Each indexed vector's probe list for a self-search at `params.self_threshold`.
    self_probes: Option<lloyd::Nearest>,
}

/// An index's cells and its own vectors' probe lists, handed over by
/// [`IvfIndex::into_partition`] to a caller that scans the cells itself.
#[derive(Debug, Clone)]
pub struct IvfPartition {
    /// Cell `c` holds rows `members[offsets[c]..offsets[c + 1]]`, in row order.
    pub offsets: Vec<usize>,
    /// The rows, cell after cell.
    pub members: Vec<u32>,
    /// Each row's probe list for a self-search at the index's `self_threshold`: its own
    /// cell first, then the cells [`IvfIndex`]'s threshold queries would probe.
    pub probes: lloyd::Nearest,
}

/// One unit of scan work: queries `q` (positions in the cell's prober list) against
/// members `m` (positions in the cell's member list) of cell `cell`.
struct Task {
    cell: usize,
    q: std::ops::Range<usize>,
    m: std::ops::Range<usize>,
}

/// The vectors an index scores against: borrowed from the caller, or shared with it (an
/// index a long-lived owner keeps, such as a Python object queried again and again).
#[derive(Clone)]
enum Base<'a> {
    Borrowed(&'a [f32]),
    Shared(Arc<[f32]>),
}

impl std::ops::Deref for Base<'_> {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            Base::Borrowed(v) => v,
            Base::Shared(v) => v,
        }
    }
}

impl IvfIndex<'static> {
    /// [`build`](IvfIndex::build) over vectors the index shares with its caller, so it
    /// can outlive the call that built it.
    pub fn build_shared(
        vectors: Arc<[f32]>,
        dim: usize,
        params: IvfParams,
        progress: &dyn Progress,
    ) -> Result<Self, IndexError> {
        Self::fit(Base::Shared(vectors), dim, params, progress)
    }

    /// The cells and every vector's probe list for a self-search at
    /// `params.self_threshold` (what [`into_partition`](IvfIndex::into_partition) hands
    /// over), fitted to vectors as held without an index that keeps them, with the index's
    /// description. `f16` vectors are widened a chunk at a time, never all at once.
    /// `None` when there are no vectors.
    ///
    /// # Errors
    /// [`IndexError::InvalidParameter`] without a `self_threshold` or with a zero count;
    /// [`IndexError::DimensionMismatch`] when `vectors` is not whole `dim`-wide rows.
    pub fn partition_held(
        vectors: HeldRef<'_>,
        dim: usize,
        params: IvfParams,
        progress: &dyn Progress,
    ) -> Result<(Option<IvfPartition>, serde_json::Value), IndexError> {
        if params.self_threshold.is_none() {
            return Err(IndexError::InvalidParameter {
                name: "self_threshold",
                value: 0,
                reason: "a partition needs the self-search threshold",
            });
        }
        if dim == 0 || !vectors.len().is_multiple_of(dim) {
            return Err(IndexError::DimensionMismatch {
                expected: dim,
                got: vectors.len(),
            });
        }
        let mut index = Self::unfitted(Base::Borrowed(&[]), dim, vectors.len() / dim, params)?;
        index.fit_cells(vectors, progress)?;
        let about = index.describe();
        Ok((index.into_partition(), about))
    }
}

impl<'a> IvfIndex<'a> {
    /// Fits the cells over `vectors` (row-major, `dim` wide, unit length), which the index
    /// borrows. Progress stages: `fit` (k-means iterations), `partition` (every vector to
    /// its cell).
    pub fn build(
        vectors: &'a [f32],
        dim: usize,
        params: IvfParams,
        progress: &dyn Progress,
    ) -> Result<Self, IndexError> {
        Self::fit(Base::Borrowed(vectors), dim, params, progress)
    }

    fn fit(
        base: Base<'a>,
        dim: usize,
        params: IvfParams,
        progress: &dyn Progress,
    ) -> Result<Self, IndexError> {
        let keep = base.clone();
        let vectors: &[f32] = &keep;
        let len = check_queries(vectors, dim)?;
        let mut index = Self::unfitted(base, dim, len, params)?;
        index.fit_cells(HeldRef::F32(vectors), progress)?;
        Ok(index)
    }

    /// An index of `len` vectors with its parameters checked and no cells yet.
    fn unfitted(
        base: Base<'a>,
        dim: usize,
        len: usize,
        params: IvfParams,
    ) -> Result<Self, IndexError> {
        for (name, value) in [
            ("probes", params.probes),
            ("coarse_probes", params.coarse_probes),
            ("iterations", params.iterations),
        ] {
            if value == 0 {
                return Err(IndexError::InvalidParameter {
                    name,
                    value,
                    reason: "must be at least 1",
                });
            }
        }
        let lists = match params.lists {
            0 => auto_lists(len, params.probes),
            l => l.min(len),
        };
        Ok(IvfIndex {
            base,
            dim,
            len,
            params,
            quantizer: Quantizer::default(),
            lists,
            offsets: vec![0],
            members: Vec::new(),
            self_probes: None,
        })
    }

    /// Fits the quantizer to `vectors` (the index's `len` vectors, as held) and puts each
    /// in its cell; `f16` vectors are widened [`PARTITION_CHUNK`] rows at a time.
    fn fit_cells(
        &mut self,
        vectors: HeldRef<'_>,
        progress: &dyn Progress,
    ) -> Result<(), IndexError> {
        let (len, dim, params) = (self.len, self.dim, self.params);
        if len == 0 {
            self.lists = 0;
            return Ok(());
        }
        let qparams = QuantizerParams {
            lists: self.lists,
            fit_per_list: FIT_PER_LIST,
            iterations: params.iterations,
            seed: params.seed,
        };
        let clock = std::time::Instant::now();
        self.quantizer = Quantizer::fit(vectors, dim, qparams, progress)?;
        let fit_seconds = clock.elapsed().as_secs_f64();
        let lists = self.quantizer.lists();
        self.lists = lists;
        progress.begin("partition", Some(len as u64));
        // Chunks bound the cells' candidates held at a time (17 MiB), and the widened
        // rows when the vectors are `f16`.
        let chunk = PARTITION_CHUNK;
        let mut labels = Vec::with_capacity(len);
        // Room for `probes()` cells a vector and a tenth more (dense cells add some), so
        // the lists rarely grow by doubling (400 MB at 10M vectors).
        let mut probes = lloyd::Nearest {
            offsets: Vec::with_capacity(len + 1),
            ids: match params.self_threshold {
                Some(_) => Vec::with_capacity(len * self.probes() + len / 10),
                None => Vec::new(),
            },
        };
        probes.offsets.push(0);
        let mut buf = Vec::new();
        for lo in (0..len).step_by(chunk) {
            let hi = (lo + chunk).min(len);
            let queries = vectors.read(lo * dim..hi * dim, dim, &mut buf);
            match params.self_threshold {
                // The probe list starts with the nearest centroid: the vector's own cell.
                Some(t) => {
                    self.threshold_cells_into(queries, t, Some(progress), &mut probes)?;
                    labels.extend((lo..hi).map(|i| probes.of(i)[0]));
                }
                None => labels.extend(
                    self.quantizer
                        .nearest_by(
                            queries,
                            1,
                            params.coarse_probes,
                            Some(progress),
                            |cells, ids| ids.push(cells[0].0),
                        )?
                        .ids,
                ),
            }
        }
        progress.end();
        if params.self_threshold.is_some() {
            self.self_probes = Some(probes);
        }
        let cells = lloyd::members_by_cluster(&labels, lists);
        self.offsets = cells.offsets;
        self.members = cells.order;
        tracing::info!(
            vectors = len,
            lists,
            groups = self.quantizer.groups(),
            levels = self.quantizer.levels(),
            largest = (0..lists).map(|c| self.cell(c).len()).max(),
            iterations = self.quantizer.iterations(),
            fit_seconds,
            partition_seconds = clock.elapsed().as_secs_f64() - fit_seconds,
            probes_per_vector = self
                .self_probes
                .as_ref()
                .map(|p| p.ids.len() as f64 / len as f64),
            "ivf cells fitted"
        );
        Ok(())
    }

    /// Its cells and its vectors' probe lists, when it was built with a `self_threshold`
    /// (`None` otherwise, or when it holds no vectors).
    pub fn into_partition(self) -> Option<IvfPartition> {
        let probes = self.self_probes?;
        Some(IvfPartition {
            offsets: self.offsets,
            members: self.members,
            probes,
        })
    }

    /// The parameters it was built with (`lists` as given; see [`Self::lists`]).
    pub fn params(&self) -> IvfParams {
        self.params
    }

    /// The number of cells.
    pub fn lists(&self) -> usize {
        self.lists
    }

    fn cell(&self, c: usize) -> &[u32] {
        &self.members[self.offsets[c]..self.offsets[c + 1]]
    }

    /// Probes per query: the requested number, at most the number of cells.
    fn probes(&self) -> usize {
        self.params.probes.min(self.lists)
    }

    /// Each query's cells. Without a threshold: its `probes()` nearest centroids. With
    /// one, its own cell (the nearest centroid), then the other `max_probes` nearest
    /// ranked by how close the query comes to them ([`Pick`]), skipping those beyond
    /// the threshold's reach: the first `probes()` in all, then any further ones whose
    /// centroid is at least `threshold − dense_margin` similar, up to `max_probes`.
    fn nearest_cells(
        &self,
        queries: &[f32],
        threshold: Option<f32>,
        progress: Option<&dyn Progress>,
    ) -> Result<lloyd::Nearest, IndexError> {
        let Some(threshold) = threshold else {
            let coarse = self.params.coarse_probes;
            return self.quantizer.nearest_by(
                queries,
                self.probes(),
                coarse,
                progress,
                |cells, ids| ids.extend(cells.iter().map(|&(c, _)| c)),
            );
        };
        let n = queries.len() / self.dim;
        let mut out = lloyd::Nearest {
            offsets: Vec::with_capacity(n + 1),
            ids: Vec::with_capacity(n * self.probes()),
        };
        out.offsets.push(0);
        self.threshold_cells_into(queries, threshold, progress, &mut out)?;
        Ok(out)
    }

    /// A threshold query's cells ([`nearest_cells`](Self::nearest_cells) with a
    /// threshold), appended to `out` (which holds at least its leading `0` offset), so
    /// the partition gathers a chunk of rows at a time in one list it sized, with no copy.
    fn threshold_cells_into(
        &self,
        queries: &[f32],
        threshold: f32,
        progress: Option<&dyn Progress>,
        out: &mut lloyd::Nearest,
    ) -> Result<(), IndexError> {
        let probes = self.probes();
        let coarse = self.params.coarse_probes;
        let max = self.params.max_probes.max(probes).min(self.lists);
        let pick = Pick::new(probes, threshold, self.params.dense_margin);
        let (cells, offsets) = self.quantizer.best_cells(queries, max, coarse, progress)?;
        let n = offsets.len() - 1;
        // Rows in order of their own cell: rows of nearby cells have nearly the same
        // candidates, so their gaps read the same centroids, from cache.
        let mut order: Vec<u64> = (0..n)
            .map(|r| (u64::from(cells[offsets[r]].0) << 32) | r as u64)
            .collect();
        order.sort_unstable();
        let picked: Vec<(Vec<u32>, Vec<u32>)> = order
            .par_chunks(PICK_ROWS)
            .map(|rows| {
                let (mut ids, mut lens) = (Vec::new(), Vec::with_capacity(rows.len()));
                for &key in rows {
                    let r = key as u32 as usize;
                    let before = ids.len();
                    pick.cells(
                        &self.quantizer,
                        &cells[offsets[r]..offsets[r + 1]],
                        &mut ids,
                    );
                    lens.push((ids.len() - before) as u32);
                }
                (ids, lens)
            })
            .collect();
        // Each row's list, found in cell order, appended in row order.
        let mut span = vec![(0usize, 0usize); n];
        let mut flat = Vec::with_capacity(picked.iter().map(|(ids, _)| ids.len()).sum());
        let mut keys = order.iter();
        for (ids, lens) in &picked {
            let mut at = flat.len();
            flat.extend_from_slice(ids);
            for (&len, &key) in lens.iter().zip(&mut keys) {
                span[key as u32 as usize] = (at, len as usize);
                at += len as usize;
            }
        }
        for (start, len) in span {
            out.ids.extend_from_slice(&flat[start..start + len]);
            out.offsets.push(out.ids.len());
        }
        Ok(())
    }

    /// The scan's work: the queries probing each cell (cell by cell, in query order) and
    /// the tasks that cover them, each at most [`TASK_QUERIES`] probers × [`TASK_MEMBERS`]
    /// members of one cell.
    fn plan(&self, cells: &lloyd::Nearest, n: usize) -> (Vec<u32>, Vec<Task>) {
        let by_cell = lloyd::members_by_cluster(&cells.ids, self.lists);
        let mut query_of = vec![0u32; cells.ids.len()];
        for q in 0..n {
            query_of[cells.offsets[q]..cells.offsets[q + 1]].fill(q as u32);
        }
        let probers = by_cell
            .order
            .iter()
            .map(|&at| query_of[at as usize])
            .collect();
        let mut tasks = Vec::new();
        for cell in 0..self.lists {
            let (pr, members) = (
                by_cell.offsets[cell]..by_cell.offsets[cell + 1],
                self.cell(cell).len(),
            );
            for q0 in pr.clone().step_by(TASK_QUERIES) {
                for m0 in (0..members).step_by(TASK_MEMBERS) {
                    tasks.push(Task {
                        cell,
                        q: q0..(q0 + TASK_QUERIES).min(pr.end),
                        m: m0..(m0 + TASK_MEMBERS).min(members),
                    });
                }
            }
        }
        (probers, tasks)
    }

    /// Runs `tasks` in parallel ([`Self::scan_task`]); returns their hits and cut queries.
    fn scan_wave(
        &self,
        queries: &[f32],
        probers: &[u32],
        tasks: &[Task],
        threshold: f32,
        cap: usize,
    ) -> (Vec<(u32, u32, f32)>, Vec<u32>) {
        tasks
            .par_iter()
            .fold(
                || (Vec::new(), Vec::new(), (Vec::new(), Vec::new(), Vec::new())),
                |(mut hits, mut cut, mut bufs), task| {
                    self.scan_task(
                        queries, probers, task, threshold, cap, &mut bufs, &mut hits, &mut cut,
                    );
                    (hits, cut, bufs)
                },
            )
            .map(|(hits, cut, _)| (hits, cut))
            .reduce(
                || (Vec::new(), Vec::new()),
                |(mut a, mut ac), (mut b, mut bc)| {
                    if a.len() < b.len() {
                        std::mem::swap(&mut a, &mut b);
                    }
                    a.extend_from_slice(&b);
                    ac.append(&mut bc);
                    (a, ac)
                },
            )
    }

    /// Scores one task's queries against its members, appending hits `(query, id, score)`
    /// at or above `threshold`: per query at most `cap`, the lowest ids (members are in
    /// id order); queries that had more are appended to `cut`.
    #[allow(clippy::too_many_arguments)]
    fn scan_task(
        &self,
        queries: &[f32],
        probers: &[u32],
        task: &Task,
        threshold: f32,
        cap: usize,
        bufs: &mut (Vec<f32>, Vec<f32>, Vec<f32>),
        hits: &mut Vec<(u32, u32, f32)>,
        cut: &mut Vec<u32>,
    ) {
        let dim = self.dim;
        let members = &self.cell(task.cell)[task.m.clone()];
        let (qbuf, mbuf, scores) = bufs;
        mbuf.clear();
        for &m in members {
            mbuf.extend_from_slice(row(&self.base, dim, m as usize));
        }
        let probers = &probers[task.q.clone()];
        for block in probers.chunks(BLOCK_QUERIES) {
            qbuf.clear();
            for &q in block {
                qbuf.extend_from_slice(row(queries, dim, q as usize));
            }
            scores.resize(block.len() * members.len(), 0.0);
            scores_into(qbuf, mbuf, dim, scores);
            for (line, &q) in scores.chunks_exact(members.len()).zip(block) {
                let mut taken = 0;
                for (&s, &m) in line.iter().zip(members) {
                    if s >= threshold {
                        if taken == cap {
                            cut.push(q);
                            break;
                        }
                        hits.push((q, m, s));
                        taken += 1;
                    }
                }
            }
        }
    }
}

impl VectorIndex for IvfIndex<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn above_at_most(
        &self,
        queries: &[f32],
        threshold: f32,
        max_hits: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        self.stream_above_at_most(queries, threshold, max_hits, progress)?
            .collect()
            .map_err(IndexError::Spill)
    }

    fn stream_above_at_most(
        &self,
        queries: &[f32],
        threshold: f32,
        max_hits: usize,
        progress: &dyn Progress,
    ) -> Result<HitStream, IndexError> {
        let n = check_queries(queries, self.dim)?;
        if self.len == 0 {
            let mut b = NeighborsBuilder::new();
            (0..n).for_each(|_| b.push([]));
            return Ok(b.finish().into());
        }
        let own =
            std::ptr::eq(queries, &*self.base) && Some(threshold) == self.params.self_threshold;
        let computed;
        let cells = match &self.self_probes {
            Some(probes) if own => probes,
            _ => {
                progress.begin("probe", Some(n as u64));
                computed = self.nearest_cells(queries, Some(threshold), Some(progress))?;
                progress.end();
                &computed
            }
        };
        let (probers, mut tasks) = self.plan(cells, n);
        // Largest first, so the last tasks to finish are small ones.
        let cost = |t: &Task| t.q.len() * t.m.len();
        tasks.sort_by_key(|t| (std::cmp::Reverse(cost(t)), t.cell, t.q.start, t.m.start));
        let total: usize = tasks.iter().map(cost).sum();
        progress.begin("search", Some(total as u64));
        // Tasks run in waves of about WAVE_COST scored pairs, so the hits gathered between
        // two compactions stay bounded; compaction keeps each query's `max_hits` lowest
        // ids, a function of the set of hits, so the result does not depend on timing.
        let mut hits: Vec<(u32, u32, f32)> = Vec::new();
        let mut cut = vec![false; if max_hits == usize::MAX { 0 } else { n }];
        // A dense cell can hold thousands of hits for each of its probers; of those only
        // the lowest ids can survive, so a task keeps at most this many per query.
        let task_cap = if max_hits == usize::MAX {
            usize::MAX
        } else {
            TASK_HITS.min(max_hits)
        };
        let budget = spill::budget_triples(self.params.spill_budget);
        let mut compact_at = budget.map_or(COMPACT_HITS, |b| b.min(COMPACT_HITS));
        let mut runs = Vec::new();
        let mut at = 0;
        while at < tasks.len() {
            let mut end = at;
            let mut wave_cost = 0;
            while end < tasks.len() && (end == at || wave_cost < WAVE_COST) {
                wave_cost += cost(&tasks[end]);
                end += 1;
            }
            if progress.cancelled() {
                return Err(IndexError::Cancelled);
            }
            let (wave, wave_cut) =
                self.scan_wave(queries, &probers, &tasks[at..end], threshold, task_cap);
            hits.extend_from_slice(&wave);
            drop(wave);
            for q in wave_cut {
                cut[q as usize] = true;
            }
            if hits.len() > compact_at {
                compact(&mut hits, max_hits, &mut cut);
                match budget {
                    // Past half the budget, the compacted hits go to disk as a sorted run.
                    Some(b) if hits.len() > b / 2 => {
                        runs.push(spill::write_run(&hits).map_err(IndexError::Spill)?);
                        hits.clear();
                        compact_at = b;
                    }
                    Some(b) => compact_at = b,
                    None => compact_at = compact_at.max(2 * hits.len()),
                }
            }
            progress.advance(wave_cost as u64);
            at = end;
        }
        progress.end();
        compact(&mut hits, max_hits, &mut cut);
        if !runs.is_empty() {
            runs.push(spill::write_run(&hits).map_err(IndexError::Spill)?);
            drop(hits);
            return HitStream::from_runs(runs, n, max_hits, cut).map_err(IndexError::Spill);
        }
        let mut out = NeighborsBuilder::new();
        let mut at = 0;
        for q in 0..n as u32 {
            let start = at;
            while at < hits.len() && hits[at].0 == q {
                at += 1;
            }
            out.push(hits[start..at].iter().map(|&(_, id, s)| (id, s)));
            if cut.get(q as usize).copied().unwrap_or(false) {
                out.mark_cut();
            }
        }
        Ok(out.finish().into())
    }

    fn top_k(
        &self,
        queries: &[f32],
        k: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        self.search_top_k(queries, k, progress)
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "backend": "ivf",
            "lists": self.lists,
            "probes": self.probes(),
            "dense_margin": self.params.dense_margin,
            "max_probes": self.params.max_probes,
            "groups": self.quantizer.groups(),
            "levels": self.quantizer.levels(),
            "coarse_probes": self.params.coarse_probes,
            // Groups probed in fact: more than requested above 4,096 cells.
            "groups_probed": self
                .quantizer
                .group_probes(self.params.coarse_probes)
                .min(self.quantizer.groups()),
            "kmeans_iterations": self.quantizer.iterations(),
            "seed": self.params.seed,
        })
    }
}

/// Sorts hits by query, keeps each query's `max_hits` lowest ids (marking the query in
/// `cut` when that drops some), and orders each query's hits most similar first (ties by
/// id).
fn compact(hits: &mut Vec<(u32, u32, f32)>, max_hits: usize, cut: &mut [bool]) {
    hits.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut write = 0;
    let mut run_start = 0;
    while run_start < hits.len() {
        let q = hits[run_start].0;
        let mut run_end = run_start;
        while run_end < hits.len() && hits[run_end].0 == q {
            run_end += 1;
        }
        let keep = (run_end - run_start).min(max_hits);
        if keep < run_end - run_start {
            cut[q as usize] = true;
        }
        hits.copy_within(run_start..run_start + keep, write);
        hits[write..write + keep].sort_unstable_by(|a, b| hit_order(&(a.1, a.2), &(b.1, b.2)));
        write += keep;
        run_start = run_end;
    }
    hits.truncate(write);
}

mod pick;
#[cfg(test)]
mod tests;
mod top_k;
