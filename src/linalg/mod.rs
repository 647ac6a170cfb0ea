//! The small numeric kernels the rest of the crate shares: the fixed-order dot product,
//! single-threaded score matrices, reading candle score tensors, row normalisation and
//! the seeded random number generator.
//!
//! [`index`](crate::index), [`cluster`](crate::cluster), [`embed`](crate::embed),
//! [`dedup`](crate::dedup), [`filter`](crate::filter) and [`report`](crate::report) all
//! use them; this module depends on none of those, so none of them has to import another
//! for a numeric helper (the clustered index builds on k-means, so k-means must not reach
//! back into the index).
//!
//! - [`dot`]: the dot product, summed in a fixed order so a pair always gets the same
//!   score; [`cosine`]: the same in f64, as a reference.
//! - [`normalize_rows`]: L2-normalises the rows of a matrix in place.
//! - [`Rng`]: xoshiro256**, so that a seed fixes every sample and clustering.
//! - `scores_into` (crate-internal): `a × bᵀ` on the calling thread, through candle's
//!   gemm kernels; `with_scores` (crate-internal): the values of a candle score matrix
//!   without a copy when it is a contiguous CPU tensor.

mod gemm;
mod rng;
mod simd;

use candle_core::{Storage, Tensor};

pub(crate) use gemm::scores_into;
pub use rng::Rng;
pub use simd::{dot_half, dot_wide, widen_scaled};

/// Dot product summed in a fixed order (eight interleaved partial sums), so the same
/// pair of vectors always gets the same score whatever found it. For unit vectors this is
/// the cosine similarity.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Cosine similarity of two equal-length vectors, computed in f64.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// L2-normalises each `dim`-long row of `data` in place; zero rows stay zero.
pub fn normalize_rows(data: &mut [f32], dim: usize) {
    for row in data.chunks_exact_mut(dim) {
        let inv = inverse_norm(row);
        row.iter_mut().for_each(|x| *x *= inv);
    }
}

/// What [`normalize_rows`] multiplies `row` by: `1 / ‖row‖`, or 1 for a zero row.
pub fn inverse_norm(row: &[f32]) -> f32 {
    let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        1.0 / norm
    } else {
        1.0
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

#[cfg(test)]
pub(crate) mod testutil {
    use super::{normalize_rows, Rng};

    /// `n` seeded random unit vectors, `dim` wide, row-major.
    pub fn unit_rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let mut out: Vec<f32> = (0..n * dim)
            .map(|_| (rng.next_f64() - 0.5) as f32)
            .collect();
        normalize_rows(&mut out, dim);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::unit_rows;
    use super::*;

    fn row(data: &[f32], dim: usize, i: usize) -> &[f32] {
        &data[i * dim..][..dim]
    }

    #[test]
    fn dot_matches_f64_reference() {
        for dim in [37, 256, 300] {
            let v = unit_rows(10, dim, 1);
            for i in 0..10 {
                for j in 0..10 {
                    let (a, b) = (row(&v, dim, i), row(&v, dim, j));
                    let want = cosine(a, b);
                    assert!((dot(a, b) as f64 - want).abs() < 1e-5, "{dim}: {i} {j}");
                    assert!(
                        (dot_wide(a, b) as f64 - want).abs() < 1e-5,
                        "{dim}: {i} {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn dot_is_symmetric_bitwise() {
        let v = unit_rows(20, 256, 2);
        for i in 0..20 {
            for j in 0..20 {
                assert_eq!(
                    dot(row(&v, 256, i), row(&v, 256, j)).to_bits(),
                    dot(row(&v, 256, j), row(&v, 256, i)).to_bits()
                );
            }
        }
    }

    #[test]
    fn normalize_rows_gives_unit_rows_and_keeps_zero_rows() {
        let mut m = vec![3.0, 4.0, 0.0, 0.0, -2.0, 0.0];
        normalize_rows(&mut m, 2);
        let want = [0.6, 0.8, 0.0, 0.0, -1.0, 0.0];
        assert!(
            m.iter().zip(want).all(|(x, w)| (x - w).abs() < 1e-6),
            "{m:?}"
        );
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 0.0]), 0.0);
    }

    #[test]
    fn with_scores_reads_contiguous_and_strided_tensors() {
        let t = Tensor::from_slice(
            &[1f32, 2.0, 3.0, 4.0, 5.0, 6.0],
            (2, 3),
            &candle_core::Device::Cpu,
        )
        .unwrap();
        assert_eq!(
            with_scores(&t, |s| s.to_vec()).unwrap(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let narrowed = t.narrow(0, 1, 1).unwrap();
        assert_eq!(
            with_scores(&narrowed, |s| s.to_vec()).unwrap(),
            vec![4.0, 5.0, 6.0]
        );
        let transposed = t.t().unwrap();
        assert_eq!(
            with_scores(&transposed, |s| s.to_vec()).unwrap(),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }
}
