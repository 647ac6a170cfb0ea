//! Nearest neighbours by rank in the clustered index: each query's `k` most similar
//! indexed vectors among the members of its `probes` nearest cells.
//!
//! The work is grouped by cell, as the threshold scan's is: a chunk of queries is split
//! by the cells it probes, each cell's probers are scored against its members in one
//! matrix product, and each prober keeps its `k` best from that cell. A query's lists
//! from its cells are then merged, and the `k` kept are rescored with [`dot`], so a
//! pair gets the same score whichever backend found it.

use rayon::prelude::*;

use super::{IvfIndex, Task};
use crate::index::exact::{hit_order, sort_hits};
use crate::index::{row, search_in_chunks, IndexError, Neighbors};
use crate::linalg::{dot, scores_into};
use crate::progress::Progress;

/// Queries per matrix product inside a task (bounds its score block).
const BLOCK_QUERIES: usize = 256;

impl IvfIndex<'_> {
    /// For each row of `queries`, the `k` most similar members of its nearest cells,
    /// most similar first (ties by lower id). Progress stage: `search`, in queries.
    pub(super) fn search_top_k(
        &self,
        queries: &[f32],
        k: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        let k = k.min(self.len);
        search_in_chunks(queries, self.dim, usize::MAX, progress, |chunk| {
            let n = chunk.len() / self.dim;
            if k == 0 {
                return Ok(vec![Vec::new(); n]);
            }
            let cells = self.nearest_cells(chunk, None, None)?;
            let (probers, tasks) = self.plan(&cells, n);
            let mut hits: Vec<(u32, u32, f32)> = tasks
                .par_iter()
                .fold(Vec::new, |mut hits, task| {
                    self.best_of_task(chunk, &probers, task, k, &mut hits);
                    hits
                })
                .reduce(Vec::new, |mut a, mut b| {
                    if a.len() < b.len() {
                        std::mem::swap(&mut a, &mut b);
                    }
                    a.extend_from_slice(&b);
                    a
                });
            hits.par_sort_unstable_by_key(|h| h.0);
            let mut lists = Vec::with_capacity(n);
            let mut at = 0;
            for q in 0..n as u32 {
                let start = at;
                while at < hits.len() && hits[at].0 == q {
                    at += 1;
                }
                lists.push(start..at);
            }
            Ok(lists
                .into_par_iter()
                .enumerate()
                .map(|(q, range)| {
                    let mut list: Vec<(u32, f32)> =
                        hits[range].iter().map(|&(_, m, s)| (m, s)).collect();
                    if list.len() > k {
                        list.select_nth_unstable_by(k - 1, hit_order);
                        list.truncate(k);
                    }
                    let query = row(chunk, self.dim, q);
                    for hit in &mut list {
                        hit.1 = dot(query, row(&self.base, self.dim, hit.0 as usize));
                    }
                    sort_hits(&mut list);
                    list
                })
                .collect())
        })
    }

    /// Scores one task's probers against its members and appends each prober's `k` best
    /// `(query, member, score)`.
    fn best_of_task(
        &self,
        queries: &[f32],
        probers: &[u32],
        task: &Task,
        k: usize,
        hits: &mut Vec<(u32, u32, f32)>,
    ) {
        let dim = self.dim;
        let members = &self.cell(task.cell)[task.m.clone()];
        let mut mbuf = Vec::with_capacity(members.len() * dim);
        for &m in members {
            mbuf.extend_from_slice(row(&self.base, dim, m as usize));
        }
        let (mut qbuf, mut scores, mut line_hits) = (Vec::new(), Vec::new(), Vec::new());
        for block in probers[task.q.clone()].chunks(BLOCK_QUERIES) {
            qbuf.clear();
            for &q in block {
                qbuf.extend_from_slice(row(queries, dim, q as usize));
            }
            scores.resize(block.len() * members.len(), 0.0);
            scores_into(&qbuf, &mbuf, dim, &mut scores);
            for (line, &q) in scores.chunks_exact(members.len()).zip(block) {
                line_hits.clear();
                line_hits.extend(members.iter().zip(line).map(|(&m, &s)| (m, s)));
                if line_hits.len() > k {
                    line_hits.select_nth_unstable_by(k - 1, hit_order);
                    line_hits.truncate(k);
                }
                hits.extend(line_hits.iter().map(|&(m, s)| (q, m, s)));
            }
        }
    }
}
