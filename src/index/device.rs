//! Exact search on a compute device: a CUDA GPU, or candle's CPU backend, which runs the
//! very same code so the CPU-only CI tests it.
//!
//! [`DeviceIndex`] scores queries against every indexed vector with matrix products on
//! the device, in half precision by default ([`Precision::Half`]: tensor cores on a GPU),
//! and finds the hits there too, so only a sliver of the score matrix crosses back to the
//! host:
//!
//! 1. Scores come in tiles of `query rows × indexed rows`. Each tile's columns fall in
//!    segments of [`SEGMENT`]; the device reduces every segment to its maximum, and every
//!    row to the maximum of its segments.
//! 2. The host reads the row maxima (one number a row), then the segment maxima of only
//!    the rows that reach the candidate floor, then the scores of only the segments that
//!    do.
//! 3. Every candidate is rescored on the host with [`dot`] in `f32`, and kept when that
//!    score reaches the threshold. So the hits are exactly those [`dot`] puts at or above
//!    the threshold, whatever the device's rounding, provided the candidate floor lies
//!    below the threshold by at least the product's error bound ([`Precision::margin`]).
//!
//! Indexed vectors live on the device when they fit the memory budget
//! ([`DeviceParams::memory`]); otherwise they are uploaded window by window, each
//! window searched by every query before the next is uploaded, so the device never holds
//! more than one window, one query chunk and one tile of scores.

use std::ops::Range;

use candle_core::{DType, Device, Tensor};
use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;
use serde_json::json;

use super::precision::{DeviceParams, Precision};

use super::exact::hit_order;
use super::{check_queries, keep_lowest_ids, IndexError, Neighbors, NeighborsBuilder, VectorIndex};
use crate::linalg::dot;
use crate::progress::Progress;

/// Columns of a score tile reduce to their maxima in segments of this many.
pub const SEGMENT: usize = 256;

/// Tile sizes: large on a GPU, where each product should fill the chip; small on the CPU
/// backend, which only tests the code.
#[derive(Debug, Clone, Copy)]
struct Tiles {
    /// Query rows per product.
    queries: usize,
    /// Indexed rows per product (a multiple of [`SEGMENT`]).
    columns: usize,
}

impl Tiles {
    fn for_device(device: &Device) -> Self {
        if device.is_cpu() {
            Tiles {
                queries: 512,
                columns: 2 * SEGMENT,
            }
        } else {
            // 8,192 × 65,536 f16 scores: 1 GiB a tile.
            Tiles {
                queries: 8192,
                columns: 256 * SEGMENT,
            }
        }
    }
}

/// Exact threshold and top-k search with the products on a candle device (a CUDA GPU,
/// or candle's CPU backend, which runs the same code in tests).
///
/// Scores are [`Precision`] products, tile by tile; each tile's columns reduce to their
/// maxima per [`SEGMENT`] on the device, and the host reads only the row maxima, the
/// segment maxima of rows that reach the candidate floor, and those segments. Every
/// candidate is rescored with [`dot`] in `f32`, so the hits are exactly those [`dot`]
/// puts at or above the threshold: the floor lies [`Precision::margin`] below it.
/// Vectors beyond [`DeviceParams::memory`] are uploaded in windows, searched one after
/// another.
pub struct DeviceIndex<'a> {
    host: &'a [f32],
    len: usize,
    dim: usize,
    device: Device,
    /// How summaries name the device (`cuda:0`, `candle-cpu`).
    label: String,
    params: DeviceParams,
    tiles: Tiles,
    /// Indexed rows a window holds (a multiple of the tile width, or all of them).
    window_rows: usize,
    /// Every indexed row on the device, when one window holds them all.
    resident: Option<Tensor>,
    /// See [`DeviceIndex::earlier_only`].
    earlier_only: bool,
}

impl<'a> DeviceIndex<'a> {
    /// Indexes `vectors` (row-major, `dim` wide, unit length) for search on `device`,
    /// which summaries call `label`. Uploads them now when they fit `params.memory`.
    pub fn new(
        vectors: &'a [f32],
        dim: usize,
        device: &Device,
        label: impl Into<String>,
        params: DeviceParams,
    ) -> Result<Self, IndexError> {
        let len = check_queries(vectors, dim)?;
        let tiles = Tiles::for_device(device);
        let fit = (params.memory / (dim * params.precision.size()) as u64) as usize;
        // At least one tile a window, whatever the budget.
        let window_rows = (fit / tiles.columns).max(1) * tiles.columns;
        let mut index = DeviceIndex {
            host: vectors,
            len,
            dim,
            device: device.clone(),
            label: label.into(),
            params,
            tiles,
            window_rows,
            resident: None,
            earlier_only: false,
        };
        if len <= window_rows {
            index.window_rows = len.next_multiple_of(SEGMENT).max(SEGMENT);
            index.resident = Some(index.upload(vectors, true).map_err(compute)?);
        }
        Ok(index)
    }

    /// For a self-search (the queries are the indexed vectors, the same slice): score
    /// each chunk of queries only against indexed rows up to the chunk's end, which
    /// halves the products. Every pair is then still listed under its later row (and
    /// pairs within a chunk under both), and each row's list holds every earlier row
    /// that reaches the threshold, lowest ids first: what deduplication's pair lists
    /// (found from either end) and the near-duplicate scan (an earlier match) read. It
    /// is not the full [`VectorIndex::above_at_most`] list of later rows.
    pub fn earlier_only(mut self) -> Self {
        self.earlier_only = true;
        self
    }

    /// Whether every indexed vector is held on the device.
    pub fn is_resident(&self) -> bool {
        self.resident.is_some()
    }

    /// The windows of indexed rows, in id order.
    fn windows(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        (0..self.len)
            .step_by(self.window_rows)
            .map(|s| s..(s + self.window_rows).min(self.len))
    }

    /// The rows of `window` on the device, padded with zero rows to a multiple of
    /// [`SEGMENT`].
    fn window(&self, window: &Range<usize>) -> candle_core::Result<Tensor> {
        match &self.resident {
            Some(all) => Ok(all.clone()),
            None => self.upload(
                &self.host[window.start * self.dim..window.end * self.dim],
                true,
            ),
        }
    }

    /// Copies `rows` (row-major) to the device in the index's precision, padded with zero
    /// rows to a multiple of [`SEGMENT`] when `pad`.
    fn upload(&self, rows: &[f32], pad: bool) -> candle_core::Result<Tensor> {
        let n = rows.len() / self.dim;
        let padded = match pad {
            true => n.next_multiple_of(SEGMENT).max(SEGMENT),
            false => n,
        };
        upload(rows, padded, self.dim, self.params.precision, &self.device)
    }

    /// Runs `visit(window, window rows on the device, first query, query rows, the same
    /// on the device)` for every window of indexed rows and every chunk of `queries`,
    /// reporting a `search` stage in query rows per window and stopping when `progress`
    /// asks; after each window, `after_window`.
    fn each_chunk(
        &self,
        queries: &[f32],
        progress: &dyn Progress,
        mut visit: impl FnMut(&Range<usize>, &Tensor, usize, &[f32], &Tensor) -> Result<(), IndexError>,
        mut after_window: impl FnMut(),
    ) -> Result<(), IndexError> {
        let n = check_queries(queries, self.dim)?;
        let windows: Vec<_> = self.windows().collect();
        progress.begin("search", Some((n * windows.len()) as u64));
        for window in &windows {
            let base = self.window(window).map_err(compute)?;
            for q0 in (0..n).step_by(self.tiles.queries) {
                if progress.cancelled() {
                    return Err(IndexError::Cancelled);
                }
                let q1 = (q0 + self.tiles.queries).min(n);
                let chunk = &queries[q0 * self.dim..q1 * self.dim];
                let q = self.upload(chunk, false).map_err(compute)?;
                visit(window, &base, q0, chunk, &q)?;
                progress.advance((q1 - q0) as u64);
            }
            after_window();
        }
        progress.end();
        Ok(())
    }

    /// The host's `f32` row `i`.
    fn row(&self, i: usize) -> &[f32] {
        &self.host[i * self.dim..(i + 1) * self.dim]
    }

    /// Every (query, indexed) pair of one query chunk whose device score reaches `floor`
    /// against the rows of `window` (on the device as `base`) before `end`, in row order.
    fn candidates(
        &self,
        q: &Tensor,
        base: &Tensor,
        window: &Range<usize>,
        end: usize,
        floor: f32,
    ) -> candle_core::Result<Vec<(u32, u32)>> {
        let rows = base.dim(0)?;
        let width = match end.saturating_sub(window.start) {
            before if before < rows => before.next_multiple_of(SEGMENT).min(rows),
            _ => rows,
        };
        let mut out = Vec::new();
        for t0 in (0..width).step_by(self.tiles.columns) {
            let tw = self.tiles.columns.min(width - t0);
            let scores = q.matmul(&base.narrow(0, t0, tw)?.t()?)?;
            let first = window.start + t0;
            segment_hits(&scores, floor, |r, c| {
                let c = first + c;
                if c < window.end {
                    out.push((r as u32, c as u32));
                }
            })?;
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// Calls `hit(row, column)` for every entry of `scores` (a contiguous `rows × width`
/// matrix on any device, `width` a multiple of [`SEGMENT`]) at or above `floor` (or NaN,
/// so nothing is skipped unseen), reading back only the row maxima, the segment maxima
/// of rows that reach `floor` and the segments that do.
pub(crate) fn segment_hits(
    scores: &Tensor,
    floor: f32,
    mut hit: impl FnMut(usize, usize),
) -> candle_core::Result<()> {
    let (rows, width) = scores.dims2()?;
    let segs = width / SEGMENT;
    let reaches = |v: f32| v >= floor || v.is_nan();
    let seg_max = scores.reshape((rows, segs, SEGMENT))?.max(2)?;
    let row_max = to_f32(&seg_max.max(1)?)?;
    let wanted: Vec<u32> = (0..rows as u32)
        .filter(|&r| reaches(row_max[r as usize]))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let ids = Tensor::from_slice(&wanted, wanted.len(), scores.device())?;
    let maxima = to_f32(&seg_max.index_select(&ids, 0)?)?;
    let mut picked = Vec::new();
    for (line, &r) in maxima.chunks_exact(segs).zip(&wanted) {
        for (s, &m) in line.iter().enumerate() {
            if reaches(m) {
                picked.push(r * segs as u32 + s as u32);
            }
        }
    }
    let ids = Tensor::from_slice(&picked, picked.len(), scores.device())?;
    let values = to_f32(
        &scores
            .reshape((rows * segs, SEGMENT))?
            .index_select(&ids, 0)?,
    )?;
    for (line, &p) in values.chunks_exact(SEGMENT).zip(&picked) {
        let (r, s) = (p as usize / segs, p as usize % segs);
        for (e, &v) in line.iter().enumerate() {
            if reaches(v) {
                hit(r, s * SEGMENT + e);
            }
        }
    }
    Ok(())
}

/// A tensor's values, flattened, as host `f32`s.
fn to_f32(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

/// Copies `rows` (row-major, `dim` wide) to `device` as a `padded × dim` tensor in
/// `precision` (rounded to `f16` on the host, in parallel, so half the bytes cross),
/// the rows past the data zero.
pub(crate) fn upload(
    rows: &[f32],
    padded: usize,
    dim: usize,
    precision: Precision,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let shape = (padded, dim);
    match precision {
        Precision::Half => {
            let mut half = vec![f16::ZERO; padded * dim];
            half[..rows.len()]
                .par_chunks_mut(1 << 16)
                .zip(rows.par_chunks(1 << 16))
                .for_each(|(h, f)| h.convert_from_f32_slice(f));
            Tensor::from_vec(half, shape, device)
        }
        Precision::Single => {
            let mut single = rows.to_vec();
            single.resize(padded * dim, 0.0);
            Tensor::from_vec(single, shape, device)
        }
    }
}

/// A candle failure as the index's error.
pub(crate) fn compute(e: candle_core::Error) -> IndexError {
    IndexError::Compute(e.to_string())
}

/// Per-query hit lists as [`Neighbors`]: each list keeps its `max_hits` lowest ids,
/// sorted most similar first, and a list of `max_hits` is marked cut.
pub(crate) fn neighbors_from(lists: Vec<Vec<(u32, f32)>>, max_hits: usize) -> Neighbors {
    let mut out = NeighborsBuilder::new();
    for mut list in lists {
        keep_lowest_ids(&mut list, max_hits);
        let full = list.len() >= max_hits;
        out.push(list);
        if full {
            out.mark_cut();
        }
    }
    out.finish()
}

impl VectorIndex for DeviceIndex<'_> {
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
        let floor = threshold - self.params.precision.margin(self.dim);
        let lists = std::cell::RefCell::new(vec![Vec::new(); n]);
        self.each_chunk(
            queries,
            progress,
            |window, base, q0, chunk, q| {
                // Self-search, earlier rows only: nothing past the chunk's last row.
                let end = match self.earlier_only && std::ptr::eq(queries, self.host) {
                    true => q0 + chunk.len() / self.dim,
                    false => usize::MAX,
                };
                let found = self
                    .candidates(q, base, window, end, floor)
                    .map_err(compute)?;
                let scored: Vec<f32> = found
                    .par_iter()
                    .map(|&(r, c)| {
                        dot(
                            &chunk[r as usize * self.dim..][..self.dim],
                            self.row(c as usize),
                        )
                    })
                    .collect();
                let mut lists = lists.borrow_mut();
                for (&(r, c), s) in found.iter().zip(scored) {
                    if s >= threshold {
                        lists[q0 + r as usize].push((c, s));
                    }
                }
                Ok(())
            },
            // Windows come in id order, so the lowest ids so far are the lowest overall.
            || {
                lists
                    .borrow_mut()
                    .par_iter_mut()
                    .filter(|l| l.len() > max_hits)
                    .for_each(|l| keep_lowest_ids(l, max_hits));
            },
        )?;
        Ok(neighbors_from(lists.into_inner(), max_hits))
    }

    /// The `k` most similar indexed vectors of each query. The device keeps each query's
    /// best `k + TOP_EXTRA` by its own scores, tile by tile; the host rescores those with
    /// [`dot`] and keeps the best `k`. A vector whose device score ranks it just outside
    /// the extra few may be missed where many lie within the rounding of each other.
    fn top_k(
        &self,
        queries: &[f32],
        k: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        let n = check_queries(queries, self.dim)?;
        let k = k.min(self.len);
        let keep = (k + TOP_EXTRA).min(self.len).min(TOP_WIDTH / 2);
        if keep < k {
            return Err(IndexError::InvalidParameter {
                name: "k",
                value: k,
                reason: "a device index lists at most 2,048 neighbours a query",
            });
        }
        let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        self.each_chunk(
            queries,
            progress,
            |window, base, q0, chunk, q| {
                let ids = self.best_ids(q, base, window, keep).map_err(compute)?;
                lists[q0..q0 + chunk.len() / self.dim]
                    .par_iter_mut()
                    .zip(ids.par_chunks(keep))
                    .enumerate()
                    .for_each(|(r, (list, ids))| {
                        let query = &chunk[r * self.dim..(r + 1) * self.dim];
                        list.extend(ids.iter().map(|&c| (c, dot(query, self.row(c as usize)))));
                        list.sort_unstable_by(hit_order);
                        list.dedup_by_key(|h| h.0);
                        list.truncate(keep);
                    });
                Ok(())
            },
            || {},
        )?;
        let mut out = NeighborsBuilder::new();
        for mut list in lists {
            list.truncate(k);
            out.push(list);
        }
        Ok(out.finish())
    }

    fn describe(&self) -> serde_json::Value {
        json!({
            "kind": "exact",
            "device": self.label,
            "device_precision": self.params.precision.name(),
            "candidate_margin": self.params.precision.margin(self.dim),
            "resident": self.is_resident(),
            "earlier_only": self.earlier_only,
            "window_rows": self.window_rows.min(self.len),
            "windows": self.len.div_ceil(self.window_rows.max(1)),
        })
    }
}

/// Neighbours beyond `k` a device top-k search keeps for the host to rescore.
const TOP_EXTRA: usize = 16;
/// Columns sorted together on the device (candle's CUDA sort holds a row in shared
/// memory, so at most 8,192 of them).
const TOP_WIDTH: usize = 4096;

impl DeviceIndex<'_> {
    /// The ids of the `keep` best-scoring rows of `window` (on the device as `base`) for
    /// each row of `q`, `keep` per query row, as the device ranks them.
    fn best_ids(
        &self,
        q: &Tensor,
        base: &Tensor,
        window: &Range<usize>,
        keep: usize,
    ) -> candle_core::Result<Vec<u32>> {
        let rows = q.dim(0)?;
        let step = TOP_WIDTH - keep;
        // The running best: scores (f32) and ids (u32), `rows × keep`.
        let mut best: Option<(Tensor, Tensor)> = None;
        let valid = window.len();
        for t0 in (0..valid).step_by(step) {
            let tw = step.min(valid - t0);
            let scores = q
                .matmul(&base.narrow(0, t0, tw)?.t()?)?
                .to_dtype(DType::F32)?;
            let ids: Vec<u32> = (0..tw).map(|c| (window.start + t0 + c) as u32).collect();
            let ids = Tensor::from_vec(ids, (1, tw), &self.device)?.broadcast_as((rows, tw))?;
            let (scores, ids) = match best.take() {
                Some((s, i)) => (
                    Tensor::cat(&[&s, &scores], 1)?,
                    Tensor::cat(&[&i, &ids.contiguous()?], 1)?,
                ),
                None => (scores, ids.contiguous()?),
            };
            let order = scores.contiguous()?.arg_sort_last_dim(false)?;
            let take = keep.min(order.dim(1)?);
            let order = order.narrow(1, 0, take)?.contiguous()?;
            best = Some((scores.gather(&order, 1)?, ids.gather(&order, 1)?));
        }
        match best {
            Some((_, ids)) if ids.dim(1)? == keep => ids.flatten_all()?.to_vec1::<u32>(),
            Some((_, ids)) => {
                // Fewer indexed rows than `keep` in this window: pad with repeats of the
                // first id, which the host's dedup removes.
                let have = ids.dim(1)?;
                let ids = ids.to_vec2::<u32>()?;
                Ok(ids
                    .into_iter()
                    .flat_map(|l| {
                        let first = l[0];
                        l.into_iter().chain(std::iter::repeat_n(first, keep - have))
                    })
                    .collect())
            }
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testutil::clustered;
    use crate::index::ExactIndex;
    use crate::index::DEVICE_MEMORY;
    use crate::progress::Silent;

    fn exact_hits(v: &[f32], dim: usize, t: f32) -> Vec<Vec<u32>> {
        let n = v.len() / dim;
        (0..n)
            .map(|i| {
                (0..n)
                    .filter(|&j| dot(&v[i * dim..][..dim], &v[j * dim..][..dim]) >= t)
                    .map(|j| j as u32)
                    .collect()
            })
            .collect()
    }

    fn ids(found: &Neighbors) -> Vec<Vec<u32>> {
        (0..found.len())
            .map(|i| {
                let mut ids = found.get(i).0.to_vec();
                ids.sort_unstable();
                ids
            })
            .collect()
    }

    #[test]
    fn finds_exactly_the_pairs_dot_puts_above_the_threshold() {
        let dim = 48;
        let v = clustered(1500, dim, 5, 0.25, 7);
        for precision in [Precision::Half, Precision::Single] {
            for memory in [DEVICE_MEMORY, (1500 * dim * precision.size() / 3) as u64] {
                let params = DeviceParams { precision, memory };
                let index = DeviceIndex::new(&v, dim, &Device::Cpu, "candle-cpu", params).unwrap();
                assert_eq!(index.is_resident(), memory == DEVICE_MEMORY);
                for t in [0.8, 0.9, 0.95] {
                    let found = index.above_at_most(&v, t, usize::MAX, &Silent).unwrap();
                    assert_eq!(
                        ids(&found),
                        exact_hits(&v, dim, t),
                        "{precision:?} {memory} {t}"
                    );
                    // Scores are the host's dot products.
                    for (i, j, s) in found.iter().take(2000) {
                        assert_eq!(s, dot(&v[i * dim..][..dim], &v[j as usize * dim..][..dim]));
                    }
                }
            }
        }
    }

    #[test]
    fn earlier_only_lists_every_earlier_hit() {
        let dim = 24;
        // Groups of 4 near copies, spread 500 rows apart (across query chunks).
        let grouped = clustered(2000, dim, 4, 0.3, 13);
        let v: Vec<f32> = (0..2000)
            .flat_map(|i| {
                let from = (i % 500) * 4 + i / 500;
                grouped[from * dim..(from + 1) * dim].to_vec()
            })
            .collect();
        let params = DeviceParams {
            precision: Precision::Half,
            memory: (600 * dim * 2) as u64,
        };
        let full = DeviceIndex::new(&v, dim, &Device::Cpu, "candle-cpu", params).unwrap();
        let half = DeviceIndex::new(&v, dim, &Device::Cpu, "candle-cpu", params)
            .unwrap()
            .earlier_only();
        let want = ids(&full.above_at_most(&v, 0.85, usize::MAX, &Silent).unwrap());
        let got = ids(&half.above_at_most(&v, 0.85, usize::MAX, &Silent).unwrap());
        let earlier = |lists: &[Vec<u32>]| -> Vec<Vec<u32>> {
            lists
                .iter()
                .enumerate()
                .map(|(i, l)| l.iter().copied().filter(|&j| j as usize <= i).collect())
                .collect()
        };
        assert_eq!(earlier(&got), earlier(&want));
        // Later rows are left out (beyond the rows of the query's own chunk).
        let total = |lists: &[Vec<u32>]| lists.iter().map(Vec::len).sum::<usize>();
        assert!(total(&got) < total(&want));
        // Other queries are searched in full.
        let other = v[..100 * dim].to_vec();
        assert_eq!(
            ids(&half
                .above_at_most(&other, 0.85, usize::MAX, &Silent)
                .unwrap()),
            ids(&full
                .above_at_most(&other, 0.85, usize::MAX, &Silent)
                .unwrap())
        );
    }

    #[test]
    fn keeps_the_lowest_ids_when_a_list_is_cut() {
        let dim = 16;
        let v = clustered(2600, dim, 100, 0.05, 3);
        let cpu = ExactIndex::new(&v, dim).unwrap();
        let params = DeviceParams {
            precision: Precision::Half,
            memory: (256 * dim * 2) as u64,
        };
        let index = DeviceIndex::new(&v, dim, &Device::Cpu, "candle-cpu", params).unwrap();
        assert!(!index.is_resident());
        let want = cpu.above_at_most(&v, 0.9, 7, &Silent).unwrap();
        let got = index.above_at_most(&v, 0.9, 7, &Silent).unwrap();
        assert!(got.cut_count() > 0);
        assert_eq!(got.cut_count(), want.cut_count());
        assert_eq!(ids(&got), ids(&want));
    }

    #[test]
    fn top_k_matches_exact_search() {
        let dim = 32;
        let v = clustered(1200, dim, 7, 0.4, 11);
        let cpu = ExactIndex::new(&v, dim).unwrap();
        let want = cpu.top_k(&v[..300 * dim], 5, &Silent).unwrap();
        for memory in [DEVICE_MEMORY, (1024 * dim * 2) as u64] {
            let params = DeviceParams {
                precision: Precision::Half,
                memory,
            };
            let index = DeviceIndex::new(&v, dim, &Device::Cpu, "candle-cpu", params).unwrap();
            let got = index.top_k(&v[..300 * dim], 5, &Silent).unwrap();
            assert_eq!(ids(&got), ids(&want), "memory {memory}");
        }
    }
}
