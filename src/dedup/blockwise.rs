//! Selection decided block by block in input order against the rows kept so far, over
//! the clustered index's cells: no list of similar pairs is ever built.
//!
//! [`select()`](super::select()) decides from every similar pair the search finds. In
//! dense data (a static model puts whole languages of Bible verses within 0.9 of each
//! other) those pairs run to hundreds of millions, nearly all joining two rows that are
//! both removed, and they cost more time and memory than everything else. Only pairs with
//! a *kept* earlier row can change a decision, so here a row is scored against kept rows
//! and the rows of its own block, never against rows already removed:
//!
//! 1. The vectors are put in cell order, in place (each cell's members contiguous, in
//!    row order), so every cell is one slab a matrix product reads directly.
//! 2. Rows are taken in blocks, in input order. Each row of a block is scored against the
//!    kept rows of the cells it probes (*forward*) and against the block's own rows in
//!    those cells (*within*).
//! 3. The block is decided row by row: a row is removed when a kept earlier row is at
//!    least `threshold` similar, in favour of the most similar one (ties: the earliest),
//!    exactly as [`select()`](super::select()) decides.
//! 4. The block's kept rows move to the front of their cells' slabs (the removed rows'
//!    vectors are not needed again), and each is scored against the undecided rows of the
//!    other cells it probes (*reverse*). So a pair is found when either row probes the
//!    other's cell, as in the pair search.
//!
//! The candidates are those of the pair search at the same probes, so the decisions are
//! those [`select()`](super::select()) makes from its pairs, less the 1,000-hit cap: every
//! kept match a row's cells hold is scored. Scores are matrix products, rescored with
//! [`dot`] from [`RESCORE_MARGIN`] below the threshold, so a decision never rests on
//! product rounding. A block whose within-block pairs would pass [`WITHIN_PAIRS`] (a
//! dense run of rows in input order) is decided as two halves instead, down to
//! [`MIN_BLOCK`] rows. Everything runs in a fixed order, so the result does not depend on
//! the number of threads.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use half::f16;
use rayon::prelude::*;

use super::select::Canonical;
use super::RESCORE_MARGIN;
use crate::index::{IndexError, IvfPartition};
use crate::linalg::{dot, inverse_norm, scores_into, widen_scaled};
use crate::progress::Progress;

/// What the selection did, for logs and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockwiseStats {
    /// Blocks decided (after any halving).
    pub blocks: usize,
    /// Blocks halved for holding too many within-block pairs.
    pub halved: usize,
    /// Row products scored against kept rows.
    pub forward: u64,
    /// Row products scored within blocks.
    pub within: u64,
    /// Row products scored from newly kept rows to later rows.
    pub reverse: u64,
    /// Similar pairs found within blocks.
    pub within_pairs: u64,
}

/// Rows per block for `n` rows: a sixteenth of them, at least 65,536 and at most 2²⁰.
/// Every block reads every cell's slab once, so fewer blocks read less; the within-block
/// pairs grow with the block.
pub fn block_rows(n: usize) -> usize {
    n.div_ceil(16).clamp(1 << 16, 1 << 20)
}

/// Most similar pairs a block may hold between its own rows before it is halved.
pub const WITHIN_PAIRS: usize = 1 << 24;
/// Blocks are not halved below this many rows (at most ~0.5M pairs within).
pub const MIN_BLOCK: usize = 1024;
/// Probing rows per scan task.
const TASK_QUERIES: usize = 4096;
/// Slab rows per scan task.
const TASK_MEMBERS: usize = 16_384;
/// Rows per matrix product inside a task (bounds its score block).
const BLOCK_QUERIES: usize = 256;

/// Decides every row of `vectors` (row-major, `dim` wide, unit length; consumed and
/// reordered in place) in input order at `threshold`, over the cells and probe lists of
/// `partition` (an [`IvfIndex`](crate::index::IvfIndex) built over the same vectors with
/// `self_threshold` at most `threshold`). `block` rows per block ([`block_rows`]).
/// Returns one outcome per row, `of` a row number, and what was done.
///
/// # Panics
/// When `vectors` does not hold one `dim`-wide row per probe list of `partition`.
pub fn select_blockwise<T: Element>(
    vectors: Vec<T>,
    dim: usize,
    partition: IvfPartition,
    threshold: f32,
    block: usize,
    progress: &dyn Progress,
) -> Result<(Vec<Canonical>, BlockwiseStats), IndexError> {
    let halving = Halving {
        pairs: WITHIN_PAIRS,
        min_block: MIN_BLOCK,
    };
    run_blocks(vectors, dim, partition, threshold, block, halving, progress)
}

/// When a block is halved: past `pairs` within-block pairs, when above `min_block` rows.
#[derive(Debug, Clone, Copy)]
struct Halving {
    pairs: usize,
    min_block: usize,
}

/// [`select_blockwise`], halving blocks as `halving` says.
fn run_blocks<T: Element>(
    vectors: Vec<T>,
    dim: usize,
    partition: IvfPartition,
    threshold: f32,
    block: usize,
    halving: Halving,
    progress: &dyn Progress,
) -> Result<(Vec<Canonical>, BlockwiseStats), IndexError> {
    let n = partition.probes.offsets.len() - 1;
    assert_eq!(vectors.len(), n * dim, "one vector per probe list");
    let block = block.max(1);
    let mut run = Run::new(vectors, dim, partition, threshold);
    let mut stats = BlockwiseStats::default();
    progress.begin("search", Some(n as u64));
    let mut pending: Vec<Range<usize>> = (0..n)
        .step_by(block)
        .map(|lo| lo..(lo + block).min(n))
        .rev()
        .collect();
    while let Some(rows) = pending.pop() {
        if progress.cancelled() {
            return Err(IndexError::Cancelled);
        }
        let len = rows.len();
        let budget = match len > halving.min_block {
            true => halving.pairs,
            false => usize::MAX,
        };
        if run.decide(rows.clone(), budget, &mut stats) {
            stats.blocks += 1;
            progress.advance(len as u64);
        } else {
            // Too dense to hold its pairs: the first half, then the second.
            stats.halved += 1;
            let mid = rows.start + len / 2;
            pending.push(mid..rows.end);
            pending.push(rows.start..mid);
        }
    }
    progress.end();
    tracing::debug!(?stats, "blockwise selection");
    Ok((run.out, stats))
}

/// The best match found so far for a row: the highest exact score, then the lowest row.
#[derive(Debug, Clone, Copy)]
struct Best {
    score: f32,
    of: u32,
}

impl Best {
    const NONE: Best = Best {
        score: f32::NEG_INFINITY,
        of: u32::MAX,
    };

    fn offer(&mut self, other: Best) {
        if other.score > self.score || (other.score == self.score && other.of < self.of) {
            *self = other;
        }
    }

    fn found(&self) -> bool {
        self.of != u32::MAX
    }
}

/// How the vectors are held: as `f32`, or as `f16`, whose rows every job compares
/// widened and scaled back to unit length ([`HeldRef::read`](crate::store::HeldRef::read)).
///
/// Each row's scale is computed once. Probing rows are widened and scaled as they are
/// gathered; member rows, read far more often, only widened: their norms are within
/// `2⁻¹¹` of 1, which moves a score by at most [`SLACK`](Element::SLACK), and the few
/// scores that come within it of the threshold are computed again on the scaled row,
/// exactly as exact search computes them.
pub trait Element: Copy + Send + Sync + 'static {
    /// How far a member's score may lie from its scaled row's.
    const SLACK: f32;
    /// Each row's scale (`dim` wide rows); empty when rows need none.
    fn scales(values: &[Self], dim: usize) -> Vec<f32>;
    /// Rows `values` as `f32`, not scaled: themselves, or widened into `buf`.
    fn raw<'a>(values: &'a [Self], buf: &'a mut Vec<f32>) -> &'a [f32];
    /// Appends row `values` as `f32` to `out`, times `scale`.
    fn extend(out: &mut Vec<f32>, values: &[Self], scale: f32);
    /// The dot product of unit row `q` with member row `raw` (from [`raw`](Self::raw))
    /// times `scale`, through `buf`.
    fn score(q: &[f32], raw: &[f32], scale: f32, buf: &mut Vec<f32>) -> f32;
}

impl Element for f32 {
    const SLACK: f32 = 0.0;

    fn scales(_: &[f32], _: usize) -> Vec<f32> {
        Vec::new()
    }

    fn raw<'a>(values: &'a [f32], _: &'a mut Vec<f32>) -> &'a [f32] {
        values
    }

    fn extend(out: &mut Vec<f32>, values: &[f32], _: f32) {
        out.extend_from_slice(values);
    }

    fn score(q: &[f32], raw: &[f32], _: f32, _: &mut Vec<f32>) -> f32 {
        dot(q, raw)
    }
}

impl Element for f16 {
    const SLACK: f32 = 1.0 / 1024.0;

    fn scales(values: &[f16], dim: usize) -> Vec<f32> {
        values
            .par_chunks(dim * 1024)
            .flat_map_iter(|rows| {
                let mut buf = vec![0.0; dim];
                rows.chunks_exact(dim)
                    .map(|row| {
                        widen_scaled(row, 1.0, &mut buf);
                        inverse_norm(&buf)
                    })
                    .collect::<Vec<f32>>()
            })
            .collect()
    }

    fn raw<'a>(values: &'a [f16], buf: &'a mut Vec<f32>) -> &'a [f32] {
        buf.resize(values.len(), 0.0);
        widen_scaled(values, 1.0, buf);
        buf
    }

    fn extend(out: &mut Vec<f32>, values: &[f16], scale: f32) {
        let at = out.len();
        out.resize(at + values.len(), 0.0);
        widen_scaled(values, scale, &mut out[at..]);
    }

    fn score(q: &[f32], raw: &[f32], scale: f32, buf: &mut Vec<f32>) -> f32 {
        buf.clear();
        buf.extend(raw.iter().map(|x| x * scale));
        dot(q, buf)
    }
}

/// The state of one selection: the vectors by cell and what is decided.
struct Run<T> {
    dim: usize,
    threshold: f32,
    /// Vectors in cell order: cell `c` spans `offsets[c]..offsets[c + 1]`, its kept rows
    /// first (`kept[c]` of them), then its decided removed rows (to `done[c]`, stale),
    /// then its undecided rows in row order.
    slab: Vec<T>,
    /// The row at each slab position.
    ids: Vec<u32>,
    /// Each row's scale ([`Element::scales`]).
    scales: Vec<f32>,
    /// Each undecided or kept row's slab position.
    pos: Vec<u32>,
    offsets: Vec<usize>,
    kept: Vec<usize>,
    done: Vec<usize>,
    probes: crate::cluster::lloyd::Nearest,
    /// Each undecided row's best kept match found by reverse scoring.
    early: Vec<Best>,
    out: Vec<Canonical>,
}

/// One unit of scan work: probing rows `q` (positions in a prober list) against the slab
/// rows of each part.
struct Task {
    q: Range<usize>,
    parts: Vec<Part>,
}

/// Slab positions `m`, scored as `kind` says.
#[derive(Clone)]
struct Part {
    m: Range<usize>,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Undecided probers against kept rows: each prober's best.
    Forward,
    /// A block's probers against the block's rows: every similar pair.
    Within,
    /// Newly kept probers against undecided rows: each undecided row's best.
    Reverse,
}

/// What a wave of tasks found: `(row, best)` per prober or member, and within-block
/// pairs `(later, earlier, score)`.
#[derive(Default)]
struct Found {
    best: Vec<(u32, Best)>,
    pairs: Vec<(u32, u32, f32)>,
}

/// A scanning thread's buffers: found so far, gathered probers, scores, widened parts.
type Scratch = (Found, Vec<f32>, Vec<f32>, Vec<Vec<f32>>);

impl<T: Element> Run<T> {
    fn new(mut slab: Vec<T>, dim: usize, partition: IvfPartition, threshold: f32) -> Run<T> {
        let IvfPartition {
            offsets,
            members,
            probes,
        } = partition;
        let n = members.len();
        let mut pos = vec![0u32; n];
        for (p, &row) in members.iter().enumerate() {
            pos[row as usize] = p as u32;
        }
        let scales = T::scales(&slab, dim);
        permute_rows(&mut slab, dim, &pos);
        let lists = offsets.len() - 1;
        Run {
            dim,
            threshold,
            slab,
            ids: members,
            scales,
            pos,
            offsets,
            kept: vec![0; lists],
            done: vec![0; lists],
            probes,
            early: vec![Best::NONE; n],
            out: Vec::with_capacity(n),
        }
    }

    fn lists(&self) -> usize {
        self.kept.len()
    }

    fn own_cell(&self, row: usize) -> usize {
        self.probes.of(row)[0] as usize
    }

    fn scale(&self, row: u32) -> f32 {
        self.scales.get(row as usize).copied().unwrap_or(1.0)
    }

    fn vector(&self, row: u32) -> &[T] {
        let p = self.pos[row as usize] as usize;
        &self.slab[p * self.dim..(p + 1) * self.dim]
    }

    /// Decides the rows of `block` (the next undecided ones). `false`, with nothing
    /// changed, when their within-block pairs would pass `budget`.
    fn decide(&mut self, block: Range<usize>, budget: usize, stats: &mut BlockwiseStats) -> bool {
        let lists = self.lists();
        // The block's rows in each cell: the next undecided slab rows there.
        let mut fresh = vec![0usize; lists];
        for row in block.clone() {
            fresh[self.own_cell(row)] += 1;
        }
        let (starts, probers) = self.probers(block.clone().map(|r| (r, self.probes.of(r))));
        let mut tasks = Vec::new();
        for c in 0..lists {
            let q = starts[c]..starts[c + 1];
            let base = self.offsets[c];
            let kept = base..base + self.kept[c];
            let own = base + self.done[c]..base + self.done[c] + fresh[c];
            push_tasks(&mut tasks, q, &[(kept, Kind::Forward), (own, Kind::Within)]);
        }
        let Some(found) = self.scan(&probers, &tasks, budget) else {
            return false;
        };
        count(&tasks, stats);
        let mut best: Vec<Best> = self.early[block.clone()].to_vec();
        for (row, b) in found.best {
            best[row as usize - block.start].offer(b);
        }
        let mut pairs = found.pairs;
        pairs.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        pairs.dedup_by_key(|p| (p.0, p.1));
        stats.within_pairs += pairs.len() as u64;
        // Decide in row order: a within-block match counts only when it was kept.
        let mut at = 0;
        for row in block.clone() {
            let mut b = best[row - block.start];
            while at < pairs.len() && pairs[at].0 as usize == row {
                let (_, earlier, score) = pairs[at];
                if self.out[earlier as usize].is_kept(earlier as usize) {
                    b.offer(Best { score, of: earlier });
                }
                at += 1;
            }
            self.out.push(match b.found() {
                true => Canonical {
                    of: b.of,
                    score: b.score,
                },
                false => Canonical {
                    of: row as u32,
                    score: 1.0,
                },
            });
        }
        let newly_kept = self.settle(&fresh);
        self.reverse(&newly_kept, stats);
        true
    }

    /// Rows probing each cell: `(starts, rows)`, cell `c`'s probers being
    /// `rows[starts[c]..starts[c + 1]]`, in row order.
    fn probers<'p>(
        &self,
        lists: impl Iterator<Item = (usize, &'p [u32])> + Clone,
    ) -> (Vec<usize>, Vec<u32>) {
        let mut starts = vec![0usize; self.lists() + 1];
        for (_, cells) in lists.clone() {
            for &c in cells {
                starts[c as usize + 1] += 1;
            }
        }
        for c in 0..self.lists() {
            starts[c + 1] += starts[c];
        }
        let mut next = starts.clone();
        let mut rows = vec![0u32; starts[self.lists()]];
        for (row, cells) in lists {
            for &c in cells {
                rows[next[c as usize]] = row as u32;
                next[c as usize] += 1;
            }
        }
        (starts, rows)
    }

    /// Moves each cell's newly decided kept rows to the end of its kept prefix; returns
    /// them in row order.
    fn settle(&mut self, fresh: &[usize]) -> Vec<u32> {
        let dim = self.dim;
        let mut newly_kept = Vec::new();
        for (c, &f) in fresh.iter().enumerate() {
            let base = self.offsets[c];
            for p in base + self.done[c]..base + self.done[c] + f {
                let row = self.ids[p];
                if !self.out[row as usize].is_kept(row as usize) {
                    continue;
                }
                let to = base + self.kept[c];
                if to != p {
                    self.slab.copy_within(p * dim..(p + 1) * dim, to * dim);
                    self.ids[to] = row;
                }
                self.pos[row as usize] = to as u32;
                self.kept[c] += 1;
                newly_kept.push(row);
            }
            self.done[c] += f;
        }
        newly_kept.sort_unstable();
        newly_kept
    }

    /// Scores newly kept rows against the undecided rows of the cells they probe (other
    /// than their own, whose rows find them by forward scoring), recording in `early` each
    /// undecided row's best match.
    fn reverse(&mut self, newly_kept: &[u32], stats: &mut BlockwiseStats) {
        let (starts, probers) = self.probers(
            newly_kept
                .iter()
                .map(|&r| (r as usize, &self.probes.of(r as usize)[1..])),
        );
        let mut tasks = Vec::new();
        for c in 0..self.lists() {
            let undecided = self.offsets[c] + self.done[c]..self.offsets[c + 1];
            push_tasks(
                &mut tasks,
                starts[c]..starts[c + 1],
                &[(undecided, Kind::Reverse)],
            );
        }
        let found = self
            .scan(&probers, &tasks, usize::MAX)
            .expect("no pair budget");
        count(&tasks, stats);
        for (row, b) in found.best {
            self.early[row as usize].offer(b);
        }
    }

    /// Runs `tasks` in parallel; `None` once within-block pairs pass `budget`.
    fn scan(&self, probers: &[u32], tasks: &[Task], budget: usize) -> Option<Found> {
        let pairs = AtomicUsize::new(0);
        let found = tasks
            .par_iter()
            .fold(Scratch::default, |mut scratch, task| {
                if pairs.load(Ordering::Relaxed) <= budget {
                    let before = scratch.0.pairs.len();
                    self.scan_task(probers, task, &mut scratch);
                    let added = scratch.0.pairs.len() - before;
                    if added > 0 {
                        pairs.fetch_add(added, Ordering::Relaxed);
                    }
                }
                scratch
            })
            .map(|(found, ..)| found)
            .reduce(Found::default, |mut a, mut b| {
                if a.best.len() < b.best.len() {
                    std::mem::swap(&mut a.best, &mut b.best);
                }
                a.best.append(&mut b.best);
                if a.pairs.len() < b.pairs.len() {
                    std::mem::swap(&mut a.pairs, &mut b.pairs);
                }
                a.pairs.append(&mut b.pairs);
                a
            });
        (pairs.into_inner() <= budget).then_some(found)
    }

    /// Scores one task's probers against its slab rows, gathering (and widening) each
    /// prober and each part's slab rows once for the whole task.
    fn scan_task(&self, probers: &[u32], task: &Task, scratch: &mut Scratch) {
        let (found, qbuf, scores, widened) = scratch;
        let dim = self.dim;
        widened.resize_with(task.parts.len(), Vec::new);
        let slabs: Vec<&[f32]> = task
            .parts
            .iter()
            .zip(widened.iter_mut())
            .map(|(part, buf)| T::raw(&self.slab[part.m.start * dim..part.m.end * dim], buf))
            .collect();
        // Undecided rows' best matches from newly kept probers, one list per part.
        let mut columns: Vec<Vec<Best>> = task
            .parts
            .iter()
            .map(|p| match p.kind {
                Kind::Reverse => vec![Best::NONE; p.m.len()],
                _ => Vec::new(),
            })
            .collect();
        for block in probers[task.q.clone()].chunks(BLOCK_QUERIES) {
            qbuf.clear();
            for &q in block {
                T::extend(qbuf, self.vector(q), self.scale(q));
            }
            for ((part, column), slab) in task.parts.iter().zip(&mut columns).zip(&slabs) {
                self.scan_part(block, qbuf, part, slab, scores, column, found);
            }
        }
        for (part, column) in task.parts.iter().zip(&columns) {
            for (b, &id) in column.iter().zip(&self.ids[part.m.clone()]) {
                if b.found() {
                    found.best.push((id, *b));
                }
            }
        }
    }

    /// Scores `block` (probers, their vectors in `qbuf`) against one part's slab rows
    /// (`slab`, as `f32`).
    #[allow(clippy::too_many_arguments)]
    fn scan_part(
        &self,
        block: &[u32],
        qbuf: &[f32],
        part: &Part,
        slab: &[f32],
        scores: &mut Vec<f32>,
        column: &mut [Best],
        found: &mut Found,
    ) {
        let dim = self.dim;
        let floor = self.threshold - RESCORE_MARGIN - T::SLACK;
        let mut row = Vec::new();
        let ids = &self.ids[part.m.clone()];
        scores.resize(block.len() * ids.len(), 0.0);
        scores_into(qbuf, slab, dim, scores);
        for ((line, &q), qv) in scores
            .chunks_exact(ids.len())
            .zip(block)
            .zip(qbuf.chunks_exact(dim))
        {
            let mut best = Best::NONE;
            for (j, (&s, &id)) in line.iter().zip(ids).enumerate() {
                if s < floor || id == q {
                    continue;
                }
                let exact = T::score(qv, &slab[j * dim..(j + 1) * dim], self.scale(id), &mut row);
                if exact < self.threshold {
                    continue;
                }
                match part.kind {
                    Kind::Forward => best.offer(Best {
                        score: exact,
                        of: id,
                    }),
                    Kind::Within => found.pairs.push((q.max(id), q.min(id), exact)),
                    Kind::Reverse => column[j].offer(Best {
                        score: exact,
                        of: q,
                    }),
                }
            }
            if best.found() {
                found.best.push((q, best));
            }
        }
    }
}

/// Splits `q` probers × the slab rows of `parts` into tasks of at most [`TASK_QUERIES`]
/// probers: one task for all parts when each fits in [`TASK_MEMBERS`] rows (its probers
/// are gathered once), else one per part and [`TASK_MEMBERS`] rows. Empty parts are left
/// out.
fn push_tasks(tasks: &mut Vec<Task>, q: Range<usize>, parts: &[(Range<usize>, Kind)]) {
    let parts: Vec<Part> = parts
        .iter()
        .filter(|(m, _)| !m.is_empty())
        .map(|(m, kind)| Part {
            m: m.clone(),
            kind: *kind,
        })
        .collect();
    if q.is_empty() || parts.is_empty() {
        return;
    }
    for q0 in q.clone().step_by(TASK_QUERIES) {
        let q = q0..(q0 + TASK_QUERIES).min(q.end);
        if parts.iter().all(|p| p.m.len() <= TASK_MEMBERS) {
            tasks.push(Task {
                q,
                parts: parts.clone(),
            });
            continue;
        }
        for p in &parts {
            for m0 in p.m.clone().step_by(TASK_MEMBERS) {
                tasks.push(Task {
                    q: q.clone(),
                    parts: vec![Part {
                        m: m0..(m0 + TASK_MEMBERS).min(p.m.end),
                        kind: p.kind,
                    }],
                });
            }
        }
    }
}

/// Adds the tasks' row products to `stats`.
fn count(tasks: &[Task], stats: &mut BlockwiseStats) {
    for t in tasks {
        for p in &t.parts {
            let products = (t.q.len() * p.m.len()) as u64;
            match p.kind {
                Kind::Forward => stats.forward += products,
                Kind::Within => stats.within += products,
                Kind::Reverse => stats.reverse += products,
            }
        }
    }
}

/// Moves row `i` of `data` (rows `dim` wide) to row `to[i]`, in place (`to` a
/// permutation), following each cycle with one row of scratch.
fn permute_rows<T: Copy>(data: &mut [T], dim: usize, to: &[u32]) {
    let mut placed = vec![false; to.len()];
    let Some(&first) = data.first() else {
        return;
    };
    let mut carry = vec![first; dim];
    for start in 0..to.len() {
        if placed[start] || to[start] as usize == start {
            continue;
        }
        // `carry` holds the row that started at `at`; it goes to `to[at]`, whose
        // original row is carried on.
        carry.copy_from_slice(&data[start * dim..(start + 1) * dim]);
        let mut at = start;
        loop {
            placed[at] = true;
            let dest = to[at] as usize;
            carry.swap_with_slice(&mut data[dest * dim..(dest + 1) * dim]);
            if dest == start {
                break;
            }
            at = dest;
        }
    }
}

#[cfg(test)]
mod tests;
