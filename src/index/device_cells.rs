//! The clustered index on a compute device: k-means cells, every query scored against
//! the members of its nearest cells with matrix products on the device.
//!
//! [`DeviceCellsIndex`] is the device's counterpart of [`super::IvfIndex`], built for a
//! GPU's shape rather than a CPU's: one flat level of cells (at most [`MAX_CELLS`], so a
//! row's nearest cells are found by one sort on the device), members stored cell by cell
//! on the device (each cell padded to a multiple of [`SEGMENT`]), and for every cell one
//! product of *all* the queries that probe it against its members. Candidates are found
//! and rescored as in [`super::DeviceIndex`]: segment maxima on the device, [`dot`] in
//! `f32` on the host, so the hits are exactly those [`dot`] puts at or above the
//! threshold among the pairs the probes reach. A pair is reached when the query probes
//! the cell that holds the indexed row; in a self-search both rows are queries, so a pair
//! is found when either row probes the other's cell.

use std::ops::Range;

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;
use serde_json::json;

use super::device::{compute, neighbors_from, segment_hits, upload, DeviceIndex, SEGMENT};
use super::precision::DeviceParams;
use super::{check_queries, keep_lowest_ids, IndexError, Neighbors, VectorIndex};
use crate::cluster::lloyd::members_by_cluster;
use crate::cluster::{Init, KMeans, KMeansParams};
use crate::embed;
use crate::linalg::dot;
use crate::progress::Progress;

/// Most cells: a row's nearest cells are found by sorting its `cells` scores on the
/// device, and candle's CUDA sort holds a row in shared memory.
pub const MAX_CELLS: usize = 4096;

/// How a [`DeviceCellsIndex`] is cut into cells and searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCellsParams {
    /// Cells (`None`: [`auto_cells`]).
    pub cells: Option<usize>,
    /// Nearest cells each query is scored against.
    pub probes: usize,
    /// Seed of the k-means fit.
    pub seed: u64,
}

impl Default for DeviceCellsParams {
    fn default() -> Self {
        DeviceCellsParams {
            cells: None,
            probes: 24,
            seed: 0,
        }
    }
}

/// Cells for `n` rows searched with `probes`: `√(n · probes)`, which balances the cost of
/// finding the cells against scoring their members, at most one cell per [`SEGMENT`]
/// rows and at most [`MAX_CELLS`].
pub fn auto_cells(n: usize, probes: usize) -> usize {
    let balanced = ((n as f64) * (probes as f64)).sqrt().round() as usize;
    balanced.min(n / SEGMENT).clamp(1, MAX_CELLS)
}

/// Rows put in their cells per product.
const PROBE_ROWS: usize = 8192;
/// Candidates gathered before they are rescored together.
const RESCORE_BATCH: usize = 1 << 16;

/// The clustered index on a device: one flat level of k-means cells (at most
/// [`MAX_CELLS`], fitted on the device), each row stored in its nearest cell, and every
/// query scored, by one product per cell of all the queries probing it, against the
/// members of its `probes` nearest cells. Candidates are found and rescored in `f32` as
/// [`DeviceIndex`] finds them, so every hit is exact; a pair is missed only when neither
/// row probes the other's cell (in a self-search).
pub struct DeviceCellsIndex<'a> {
    host: &'a [f32],
    len: usize,
    dim: usize,
    device: Device,
    label: String,
    params: DeviceParams,
    probes: usize,
    centroids: Tensor,
    cells: usize,
    /// Indexed row ids cell by cell: cell `c` holds `order[offsets[c]..offsets[c + 1]]`.
    order: Vec<u32>,
    offsets: Vec<usize>,
    /// Where cell `c`'s members start in the padded slab layout.
    slab_start: Vec<usize>,
    /// Every cell's members on the device, when they fit the memory budget.
    slabs: Option<Tensor>,
    /// The nearest cells of every indexed row (`probes` each), for a self-search.
    own_probes: Vec<u32>,
}

impl<'a> DeviceCellsIndex<'a> {
    /// Fits the cells of `vectors` (row-major, `dim` wide, unit length) on `device` and
    /// puts every row in its nearest one.
    pub fn build(
        vectors: &'a [f32],
        dim: usize,
        device: embed::Device,
        params: DeviceParams,
        cells: DeviceCellsParams,
        progress: &dyn Progress,
    ) -> Result<Self, IndexError> {
        let len = check_queries(vectors, dim)?;
        let candle = device
            .to_candle()
            .map_err(|e| IndexError::Compute(e.to_string()))?;
        let k = cells
            .cells
            .unwrap_or_else(|| auto_cells(len, cells.probes))
            .clamp(1, len.max(1));
        if k > MAX_CELLS || cells.probes == 0 {
            return Err(IndexError::InvalidParameter {
                name: "cells/probes",
                value: k,
                reason: "a device index has 1..=4096 cells and at least one probe",
            });
        }
        let probes = cells.probes.min(k);
        let centroids = if len == 0 {
            vec![0.0; dim]
        } else {
            let fit = KMeansParams {
                k,
                max_iter: 10,
                seed: cells.seed,
                fit_per_cluster: 32,
                min_fit_rows: 0,
                init: Init::Random,
                device,
                ..KMeansParams::default()
            };
            progress.begin("index: fit cells", None);
            let km = KMeans::fit(vectors, dim, None, &fit, progress)
                .map_err(|e| IndexError::Compute(e.to_string()))?;
            progress.end();
            km.centroids
        };
        let centroids = Tensor::from_slice(&centroids, (k, dim), &candle)
            .and_then(|c| c.to_dtype(params.precision.dtype()))
            .map_err(compute)?;
        let mut index = DeviceCellsIndex {
            host: vectors,
            len,
            dim,
            device: candle,
            label: device.to_string(),
            params,
            probes,
            centroids,
            cells: k,
            order: Vec::new(),
            offsets: vec![0; k + 1],
            slab_start: vec![0; k + 1],
            slabs: None,
            own_probes: Vec::new(),
        };
        progress.begin("index: assign cells", Some(len as u64));
        index.own_probes = index.nearest_cells(vectors, progress)?;
        progress.end();
        let members: Vec<u32> = index.own_probes.iter().step_by(probes).copied().collect();
        let grouped = members_by_cluster(&members, k);
        index.order = grouped.order;
        index.offsets = grouped.offsets;
        for c in 0..k {
            let m = index.offsets[c + 1] - index.offsets[c];
            index.slab_start[c + 1] = index.slab_start[c] + m.next_multiple_of(SEGMENT);
        }
        let bytes = (index.slab_start[k] * dim * params.precision.size()) as u64;
        if bytes <= params.memory {
            index.slabs = Some(index.upload_cells(0..k).map_err(compute)?);
        }
        Ok(index)
    }

    /// The cells in use.
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// The `probes` nearest cells of every row of `rows`, nearest first, as the device
    /// ranks them.
    fn nearest_cells(&self, rows: &[f32], progress: &dyn Progress) -> Result<Vec<u32>, IndexError> {
        let n = rows.len() / self.dim;
        let mut out = Vec::with_capacity(n * self.probes);
        let ct = self.centroids.t().map_err(compute)?;
        for start in (0..n).step_by(PROBE_ROWS) {
            if progress.cancelled() {
                return Err(IndexError::Cancelled);
            }
            let end = (start + PROBE_ROWS).min(n);
            let q = self.upload(&rows[start * self.dim..end * self.dim], end - start);
            let ids = q
                .and_then(|q| q.matmul(&ct))
                .and_then(|s| s.to_dtype(DType::F32))
                .and_then(|s| s.arg_sort_last_dim(false))
                .and_then(|o| o.narrow(1, 0, self.probes))
                .and_then(|o| o.flatten_all())
                .and_then(|o| o.to_vec1::<u32>())
                .map_err(compute)?;
            out.extend(ids);
            progress.advance((end - start) as u64);
        }
        Ok(out)
    }

    /// Copies `rows` (`n` rows, row-major) to the device in the index's precision.
    fn upload(&self, rows: &[f32], n: usize) -> candle_core::Result<Tensor> {
        upload(rows, n, self.dim, self.params.precision, &self.device)
    }

    /// The members of `cells`, cell by cell, each padded with zero rows to its slab.
    fn upload_cells(&self, cells: Range<usize>) -> candle_core::Result<Tensor> {
        let (first, end) = (self.slab_start[cells.start], self.slab_start[cells.end]);
        let mut rows = vec![0f32; (end - first) * self.dim];
        for c in cells {
            let at = (self.slab_start[c] - first) * self.dim;
            let members = &self.order[self.offsets[c]..self.offsets[c + 1]];
            rows[at..at + members.len() * self.dim]
                .par_chunks_mut(self.dim)
                .zip(members.par_iter())
                .for_each(|(out, &i)| out.copy_from_slice(self.row(i as usize)));
        }
        self.upload(&rows, end - first)
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.host[i * self.dim..(i + 1) * self.dim]
    }

    /// Consecutive runs of cells whose slabs fit the memory budget together (one run of
    /// all cells when they are resident).
    fn cell_windows(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if self.slabs.is_some() {
            out.push(0..self.cells);
            return out;
        }
        let fit = (self.params.memory / (self.dim * self.params.precision.size()) as u64) as usize;
        let mut start = 0;
        for c in 0..self.cells {
            if c > start && self.slab_start[c + 1] - self.slab_start[start] > fit {
                out.push(start..c);
                start = c;
            }
        }
        out.push(start..self.cells);
        out
    }
}

impl VectorIndex for DeviceCellsIndex<'_> {
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
        let n = check_queries(queries, self.dim)?;
        let own = std::ptr::eq(queries, self.host);
        let probes = match own {
            true => None,
            false => Some(self.nearest_cells(queries, progress)?),
        };
        let probes = probes.as_deref().unwrap_or(&self.own_probes);
        // The queries probing each cell, in query order.
        let by_cell = members_by_cluster(probes, self.cells);
        let probers = |c: usize| -> Vec<u32> {
            by_cell.order[by_cell.offsets[c]..by_cell.offsets[c + 1]]
                .iter()
                .map(|&slot| slot / self.probes as u32)
                .collect()
        };
        let q_bytes = (n * self.dim * self.params.precision.size()) as u64;
        let q_all = match q_bytes <= self.params.memory {
            true => Some(self.upload(queries, n).map_err(compute)?),
            false => None,
        };
        let floor = threshold - self.params.precision.margin(self.dim);
        let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        let mut pending: Vec<(u32, u32)> = Vec::new();
        let flush = |pending: &mut Vec<(u32, u32)>, lists: &mut Vec<Vec<(u32, f32)>>| {
            let scored: Vec<f32> = pending
                .par_iter()
                .map(|&(q, c)| {
                    dot(
                        &queries[q as usize * self.dim..][..self.dim],
                        self.row(c as usize),
                    )
                })
                .collect();
            for (&(q, c), s) in pending.iter().zip(scored) {
                if s >= threshold {
                    let list = &mut lists[q as usize];
                    list.push((c, s));
                    // Any id beyond the lowest `max_hits` can never be listed.
                    if list.len() >= max_hits.max(64).saturating_mul(2) {
                        keep_lowest_ids(list, max_hits);
                    }
                }
            }
            pending.clear();
        };
        progress.begin("search", Some(self.cells as u64));
        for window in self.cell_windows() {
            let slabs = match &self.slabs {
                Some(all) => all.clone(),
                None => self.upload_cells(window.clone()).map_err(compute)?,
            };
            let first = self.slab_start[window.start];
            for c in window {
                if progress.cancelled() {
                    return Err(IndexError::Cancelled);
                }
                let members = &self.order[self.offsets[c]..self.offsets[c + 1]];
                let ids = probers(c);
                if members.is_empty() || ids.is_empty() {
                    progress.advance(1);
                    continue;
                }
                let width = self.slab_start[c + 1] - self.slab_start[c];
                let slab = slabs
                    .narrow(0, self.slab_start[c] - first, width)
                    .and_then(|s| s.t())
                    .map_err(compute)?;
                for part in ids.chunks(PROBE_ROWS) {
                    let q = match &q_all {
                        Some(all) => Tensor::from_slice(part, part.len(), &self.device)
                            .and_then(|i| all.index_select(&i, 0)),
                        None => {
                            let mut rows = Vec::with_capacity(part.len() * self.dim);
                            for &i in part {
                                rows.extend_from_slice(
                                    &queries[i as usize * self.dim..][..self.dim],
                                );
                            }
                            self.upload(&rows, part.len())
                        }
                    };
                    let scores = q.and_then(|q| q.matmul(&slab)).map_err(compute)?;
                    segment_hits(&scores, floor, |r, col| {
                        if col < members.len() {
                            pending.push((part[r], members[col]));
                        }
                    })
                    .map_err(compute)?;
                }
                if pending.len() >= RESCORE_BATCH {
                    flush(&mut pending, &mut lists);
                }
                progress.advance(1);
            }
        }
        flush(&mut pending, &mut lists);
        progress.end();
        Ok(neighbors_from(lists, max_hits))
    }

    /// Exact: every indexed row is scored ([`DeviceIndex::top_k`]).
    fn top_k(
        &self,
        queries: &[f32],
        k: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        DeviceIndex::new(self.host, self.dim, &self.device, &self.label, self.params)?
            .top_k(queries, k, progress)
    }

    fn describe(&self) -> serde_json::Value {
        let sizes: Vec<usize> = (0..self.cells)
            .map(|c| self.offsets[c + 1] - self.offsets[c])
            .collect();
        json!({
            "kind": "ivf",
            "device": self.label,
            "device_precision": self.params.precision.name(),
            "candidate_margin": self.params.precision.margin(self.dim),
            "lists": self.cells,
            "probes": self.probes,
            "largest_cell": sizes.iter().max().copied().unwrap_or(0),
            "resident": self.slabs.is_some(),
            "cell_windows": self.cell_windows().len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testutil::clustered;
    use crate::index::{ExactIndex, Precision};
    use crate::progress::Silent;

    fn pairs(found: &Neighbors) -> std::collections::BTreeSet<(usize, u32)> {
        found.iter().map(|(i, j, _)| (i, j)).collect()
    }

    #[test]
    fn finds_nearly_every_pair_and_only_true_ones() {
        let dim = 32;
        let v = clustered(6000, dim, 6, 0.3, 21);
        let exact = ExactIndex::new(&v, dim).unwrap();
        let want = pairs(&exact.above(&v, 0.85, &Silent).unwrap());
        for memory in [crate::index::DEVICE_MEMORY, 40_000] {
            let params = DeviceParams {
                precision: Precision::Half,
                memory,
            };
            let cells = DeviceCellsParams {
                cells: Some(40),
                probes: 6,
                seed: 1,
            };
            let index =
                DeviceCellsIndex::build(&v, dim, embed::Device::CandleCpu, params, cells, &Silent)
                    .unwrap();
            assert_eq!(index.cells(), 40);
            let found = index.above_at_most(&v, 0.85, usize::MAX, &Silent).unwrap();
            let got = pairs(&found);
            assert!(got.is_subset(&want));
            let recall = got.len() as f64 / want.len() as f64;
            assert!(recall > 0.98, "recall {recall} at memory {memory}");
            for (i, j, s) in found.iter().take(500) {
                assert_eq!(s, dot(&v[i * dim..][..dim], &v[j as usize * dim..][..dim]));
            }
            // Other queries are put in their own cells.
            let queries = &v[..500 * dim].to_vec();
            let other = index
                .above_at_most(queries, 0.85, usize::MAX, &Silent)
                .unwrap();
            let other = pairs(&other);
            assert!(other.iter().all(|p| want.contains(p)));
            assert!(other.len() as f64 > 0.98 * want.iter().filter(|p| p.0 < 500).count() as f64);
        }
    }

    #[test]
    fn probing_every_cell_is_exact() {
        let dim = 16;
        let v = clustered(3000, dim, 4, 0.5, 2);
        let exact = ExactIndex::new(&v, dim).unwrap();
        let cells = DeviceCellsParams {
            cells: Some(8),
            probes: 8,
            seed: 0,
        };
        let index = DeviceCellsIndex::build(
            &v,
            dim,
            embed::Device::CandleCpu,
            DeviceParams::default(),
            cells,
            &Silent,
        )
        .unwrap();
        let want = exact.above_at_most(&v, 0.9, 5, &Silent).unwrap();
        let got = index.above_at_most(&v, 0.9, 5, &Silent).unwrap();
        let ids = |n: &Neighbors| -> Vec<Vec<u32>> {
            (0..n.len())
                .map(|i| {
                    let mut l = n.get(i).0.to_vec();
                    l.sort_unstable();
                    l
                })
                .collect()
        };
        assert_eq!(ids(&got), ids(&want));
        assert_eq!(got.cut_count(), want.cut_count());
    }

    #[test]
    fn auto_cells_grow_with_rows_and_stop_at_the_cap() {
        assert_eq!(auto_cells(100, 24), 1);
        assert_eq!(auto_cells(1_000_000, 24), 3906);
        assert_eq!(auto_cells(100_000_000, 24), MAX_CELLS);
    }
}
