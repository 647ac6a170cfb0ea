//! Exact neighbour search as blocked matrix products.

use candle_core::{Device, Storage, Tensor};
use rayon::prelude::*;

use super::{check_queries, search_in_chunks, IndexError, Neighbors, VectorIndex};
use crate::progress::Progress;

/// Indexed vectors are scored against a query chunk this many at a time, bounding the
/// score matrix to `QUERY_CHUNK × BASE_BLOCK` floats (64 MiB).
const BASE_BLOCK: usize = 8192;

/// Brute-force search over all indexed vectors: every query is scored against every
/// vector with a matrix product (`queries × vectorsᵀ`, through candle's CPU gemm), block
/// by block. Exact, so it is the reference the approximate index is measured against;
/// its cost grows with `queries × vectors`, so it suits up to some 10⁵ rows.
pub struct ExactIndex {
    base: Tensor,
    len: usize,
    dim: usize,
}

impl ExactIndex {
    /// Indexes `vectors` (row-major, `dim` wide, unit-normalised). Copies them.
    pub fn new(vectors: &[f32], dim: usize) -> Result<Self, IndexError> {
        let len = check_queries(vectors, dim)?;
        let base = Tensor::from_slice(vectors, (len, dim), &Device::Cpu).map_err(compute)?;
        Ok(ExactIndex { base, len, dim })
    }

    /// Scores a chunk of queries against the indexed vectors `0..end`, handing each block
    /// of scores (`rows × block_len`, row-major) with its first base id to `visit`.
    pub(crate) fn scan(
        &self,
        queries: &[f32],
        end: usize,
        mut visit: impl FnMut(&[f32], usize, usize),
    ) -> Result<(), IndexError> {
        let end = end.min(self.len);
        let rows = queries.len() / self.dim;
        let q = Tensor::from_slice(queries, (rows, self.dim), &Device::Cpu).map_err(compute)?;
        for start in (0..end).step_by(BASE_BLOCK) {
            let block_len = BASE_BLOCK.min(end - start);
            let block = self.base.narrow(0, start, block_len).map_err(compute)?;
            let scores = q.matmul(&block.t().map_err(compute)?).map_err(compute)?;
            with_scores(&scores, |scores| visit(scores, start, block_len)).map_err(compute)?;
        }
        Ok(())
    }
}

impl VectorIndex for ExactIndex {
    fn len(&self) -> usize {
        self.len
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn above(
        &self,
        queries: &[f32],
        threshold: f32,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        search_in_chunks(queries, self.dim, progress, |chunk| {
            let rows = chunk.len() / self.dim;
            let mut lists = vec![Vec::new(); rows];
            self.scan(chunk, self.len, |scores, start, width| {
                lists.par_iter_mut().enumerate().for_each(|(r, list)| {
                    let line = &scores[r * width..(r + 1) * width];
                    for (j, &s) in line.iter().enumerate() {
                        if s >= threshold {
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
        search_in_chunks(queries, self.dim, progress, |chunk| {
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

/// Calls `f` with the values of an f32 score matrix, row-major: in place for a
/// contiguous CPU tensor (copying a block of scores out costs about a third of the matrix
/// product that made it), copied otherwise.
pub(crate) fn with_scores<R>(
    scores: &Tensor,
    f: impl FnOnce(&[f32]) -> R,
) -> candle_core::Result<R> {
    let (storage, layout) = scores.storage_and_layout();
    if let (Storage::Cpu(cpu), Some((from, to))) = (&*storage, layout.contiguous_offsets()) {
        return Ok(f(&cpu.as_slice::<f32>()?[from..to]));
    }
    drop(storage);
    Ok(f(&scores.flatten_all()?.to_vec1::<f32>()?))
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
    use super::super::{dot, row, testutil::clustered};
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
