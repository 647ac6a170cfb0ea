//! Exact neighbour search as blocked matrix products.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use super::{check_queries, search_in_chunks, IndexError, Neighbors, VectorIndex};
use crate::linalg::with_scores;
use crate::progress::Progress;

/// Indexed vectors are scored against a query chunk this many at a time, bounding the
/// score matrix to `QUERY_CHUNK × BASE_BLOCK` floats (64 MiB).
const BASE_BLOCK: usize = 8192;

/// Brute-force search over all indexed vectors: every query is scored against every
/// vector with a matrix product (`queries × vectorsᵀ`, through candle's gemm on the
/// index's device), block by block. Exact, so it is the reference the approximate index is measured against;
/// its cost grows with `queries × vectors`, so it suits up to some 10⁵ rows.
///
/// The indexed vectors may live on any candle device ([`ExactIndex::new_on`]); queries are
/// then scored there, and threshold searches pick out the hits on the device too (see
/// [`VectorIndex::above_at_most`]), so only the rows that have hits are copied back.
pub struct ExactIndex {
    base: Tensor,
    len: usize,
    dim: usize,
    /// Threshold searches find the rows with hits on the device and copy back only those
    /// (true off the CPU; tests set it on the CPU too).
    filter_on_device: bool,
}

impl ExactIndex {
    /// Indexes `vectors` (row-major, `dim` wide, unit-normalised) on the CPU. Copies them.
    pub fn new(vectors: &[f32], dim: usize) -> Result<Self, IndexError> {
        Self::new_on(vectors, dim, &Device::Cpu)
    }

    /// Indexes `vectors` (row-major, `dim` wide, unit-normalised) on `device`: copies them
    /// there, and every search scores its queries there.
    pub fn new_on(vectors: &[f32], dim: usize, device: &Device) -> Result<Self, IndexError> {
        let len = check_queries(vectors, dim)?;
        let base = Tensor::from_slice(vectors, (len, dim), device).map_err(compute)?;
        Ok(ExactIndex {
            base,
            len,
            dim,
            filter_on_device: !device.is_cpu(),
        })
    }

    /// The device the indexed vectors live on.
    pub fn device(&self) -> &Device {
        self.base.device()
    }

    /// Scores a chunk of queries against the indexed vectors `0..end`, handing each block
    /// of scores (`rows × block_len`, row-major) with its first base id to `visit`.
    pub(crate) fn scan(
        &self,
        queries: &[f32],
        end: usize,
        mut visit: impl FnMut(&[f32], usize, usize),
    ) -> Result<(), IndexError> {
        self.scan_tensors(queries, end, |scores, start, block_len| {
            with_scores(scores, |scores| visit(scores, start, block_len))
        })
    }

    /// [`scan`](Self::scan), handing over each block of scores as a tensor (`rows ×
    /// block_len`, on the index's device) instead of copying it out.
    fn scan_tensors(
        &self,
        queries: &[f32],
        end: usize,
        mut visit: impl FnMut(&Tensor, usize, usize) -> candle_core::Result<()>,
    ) -> Result<(), IndexError> {
        let end = end.min(self.len);
        let rows = queries.len() / self.dim;
        let q =
            Tensor::from_slice(queries, (rows, self.dim), self.base.device()).map_err(compute)?;
        for start in (0..end).step_by(BASE_BLOCK) {
            let block_len = BASE_BLOCK.min(end - start);
            let block = self.base.narrow(0, start, block_len).map_err(compute)?;
            let scores = q.matmul(&block.t().map_err(compute)?).map_err(compute)?;
            visit(&scores, start, block_len).map_err(compute)?;
        }
        Ok(())
    }

    /// Hit lists of one query chunk for [`VectorIndex::above_at_most`], thresholding on
    /// the index's device: per block, each row's best score is computed there and copied
    /// back (one float per row), and only the rows whose best reaches the threshold (and
    /// whose list is not yet full) are gathered and copied back whole. In a dedup-style
    /// self-search most rows have hits in a block or two, so this moves a small fraction
    /// of the score matrix off the device. Same lists as the CPU path.
    fn above_chunk_on_device(
        &self,
        chunk: &[f32],
        threshold: f32,
        max_hits: usize,
    ) -> Result<Vec<Vec<(u32, f32)>>, IndexError> {
        let rows = chunk.len() / self.dim;
        let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); rows];
        self.scan_tensors(chunk, self.len, |scores, start, width| {
            let best = scores.max(1)?.to_vec1::<f32>()?;
            // A NaN maximum is kept too, so nothing is skipped unseen.
            let wanted: Vec<u32> = (0..rows)
                .filter(|&r| {
                    (best[r] >= threshold || best[r].is_nan()) && lists[r].len() < max_hits
                })
                .map(|r| r as u32)
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            let ids = Tensor::from_slice(&wanted, wanted.len(), scores.device())?;
            let picked = scores.index_select(&ids, 0)?;
            with_scores(&picked, |picked| {
                for (line, &r) in picked.chunks_exact(width).zip(&wanted) {
                    let list = &mut lists[r as usize];
                    for (j, &s) in line.iter().enumerate() {
                        if s >= threshold && list.len() < max_hits {
                            list.push(((start + j) as u32, s));
                        }
                    }
                }
            })
        })?;
        lists.par_iter_mut().for_each(|l| sort_hits(l));
        Ok(lists)
    }
}

impl VectorIndex for ExactIndex {
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
        search_in_chunks(queries, self.dim, max_hits, progress, |chunk| {
            if self.filter_on_device {
                return self.above_chunk_on_device(chunk, threshold, max_hits);
            }
            let rows = chunk.len() / self.dim;
            let mut lists = vec![Vec::new(); rows];
            self.scan(chunk, self.len, |scores, start, width| {
                lists.par_iter_mut().enumerate().for_each(|(r, list)| {
                    let line = &scores[r * width..(r + 1) * width];
                    // Blocks come in id order, so the first `max_hits` are the lowest ids.
                    for (j, &s) in line.iter().enumerate() {
                        if s >= threshold && list.len() < max_hits {
                            list.push(((start + j) as u32, s));
                        }
                    }
                });
            })?;
            lists.par_iter_mut().for_each(|l| sort_hits(l));
            Ok(lists)
        })
    }

    fn top_k(
        &self,
        queries: &[f32],
        k: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        let k = k.min(self.len);
        search_in_chunks(queries, self.dim, usize::MAX, progress, |chunk| {
            let rows = chunk.len() / self.dim;
            let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::with_capacity(2 * k); rows];
            self.scan(chunk, self.len, |scores, start, width| {
                lists.par_iter_mut().enumerate().for_each(|(r, list)| {
                    let line = &scores[r * width..(r + 1) * width];
                    list.extend(
                        line.iter()
                            .enumerate()
                            .map(|(j, &s)| ((start + j) as u32, s)),
                    );
                    if list.len() > k && k > 0 {
                        list.select_nth_unstable_by(k - 1, hit_order);
                        list.truncate(k);
                    }
                });
            })?;
            lists.par_iter_mut().for_each(|l| {
                l.truncate(k);
                sort_hits(l)
            });
            Ok(lists)
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({ "backend": "exact" })
    }
}

/// Most similar first; ties by id so results do not depend on scan order.
pub(crate) fn hit_order(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Sorts hits most similar first, ties by id.
pub(crate) fn sort_hits(hits: &mut [(u32, f32)]) {
    hits.sort_unstable_by(hit_order);
}

fn compute(e: candle_core::Error) -> IndexError {
    IndexError::Compute(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::{dot, row, testutil::clustered, QUERY_CHUNK};
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn above_finds_exactly_the_pairs_over_threshold() {
        let dim = 48;
        let v = clustered(300, dim, 10, 0.6, 7);
        let index = ExactIndex::new(&v, dim).unwrap();
        let t = 0.8;
        let got = index.above(&v, t, &Silent).unwrap();
        assert_eq!(got.len(), 300);
        let mut pairs = 0;
        for i in 0..300 {
            let mut want: Vec<u32> = (0..300u32)
                .filter(|&j| dot(row(&v, dim, i), row(&v, dim, j as usize)) >= t + 1e-5)
                .collect();
            let (ids, scores) = got.get(i);
            assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted");
            assert!(ids.contains(&(i as u32)), "a vector is its own neighbour");
            want.retain(|j| !ids.contains(j));
            assert!(want.is_empty(), "row {i} missed {want:?}");
            for (&j, &s) in ids.iter().zip(scores) {
                assert!((s - dot(row(&v, dim, i), row(&v, dim, j as usize))).abs() < 1e-5);
                assert!(s >= t);
            }
            pairs += ids.len() - 1;
        }
        assert!(pairs > 300, "the data has clusters ({pairs} pairs)");
    }

    #[test]
    fn top_k_matches_a_full_sort() {
        let dim = 16;
        let v = clustered(9000, dim, 30, 0.8, 3);
        let index = ExactIndex::new(&v, dim).unwrap();
        let queries = &v[..50 * dim];
        let got = index.top_k(queries, 5, &Silent).unwrap();
        for i in 0..50 {
            let mut all: Vec<(u32, f32)> = (0..9000)
                .map(|j| (j as u32, dot(row(&v, dim, i), row(&v, dim, j))))
                .collect();
            sort_hits(&mut all);
            let (ids, _) = got.get(i);
            assert_eq!(ids.len(), 5);
            // Scores of the k-th hit agree (ids may differ only on float ties).
            let (_, scores) = got.get(i);
            assert!((scores[4] - all[4].1).abs() < 1e-5);
            assert_eq!(ids[0], all[0].0);
        }
    }

    #[test]
    fn device_side_thresholding_gives_the_cpu_lists() {
        // Several base blocks and query chunks, and rows with more hits than `max_hits`.
        let dim = 16;
        let n = BASE_BLOCK + 1500;
        let v = clustered(n, dim, 40, 0.5, 11);
        let cpu = ExactIndex::new_on(&v, dim, &Device::Cpu).unwrap();
        assert!(cpu.device().is_cpu());
        assert!(!cpu.filter_on_device);
        let mut filtered = ExactIndex::new(&v, dim).unwrap();
        filtered.filter_on_device = true;
        let queries = &v[..(QUERY_CHUNK + 300) * dim];
        for (t, max_hits) in [(0.8, usize::MAX), (0.6, 7), (1.01, 5)] {
            let want = cpu.above_at_most(queries, t, max_hits, &Silent).unwrap();
            let got = filtered
                .above_at_most(queries, t, max_hits, &Silent)
                .unwrap();
            assert_eq!(got, want, "threshold {t}, max_hits {max_hits}");
            if t < 1.0 {
                assert!(want.total() > queries.len() / dim, "some pairs at {t}");
            }
            if max_hits == 7 {
                assert!(want.cut_count() > 0, "some lists are cut");
            }
        }
    }

    #[test]
    fn wrong_width_is_a_typed_error() {
        let index = ExactIndex::new(&[1.0, 0.0, 0.0, 1.0], 2).unwrap();
        match index.above(&[1.0, 0.0, 0.0], 0.5, &Silent) {
            Err(IndexError::DimensionMismatch {
                expected: 2,
                got: 3,
            }) => {}
            other => panic!("{other:?}"),
        }
    }
}
