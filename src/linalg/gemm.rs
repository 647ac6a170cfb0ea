//! Small dense score matrices on the calling thread, through candle's CPU gemm kernels.
//!
//! The clustered index computes thousands of small products (a cell's probing queries ×
//! its members) in parallel, one per rayon task, and the full-scan dedup check does the
//! same; each must run single-threaded and without candle's tensor set-up. This is the
//! only `unsafe` in `linalg`.

/// Writes `out[i × b_rows + j] = a_i · b_j` for the rows of `a` and `b` (row-major,
/// `dim` wide): `a × bᵀ`, computed on the calling thread.
///
/// # Panics
/// When `a` or `b` is not whole rows, or `out` does not hold `a_rows × b_rows` values.
pub(crate) fn scores_into(a: &[f32], b: &[f32], dim: usize, out: &mut [f32]) {
    assert!(dim > 0 && a.len().is_multiple_of(dim) && b.len().is_multiple_of(dim));
    let (m, n) = (a.len() / dim, b.len() / dim);
    assert_eq!(out.len(), m * n, "score buffer size");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the three pointers come from live slices that outlive the call, `out` is
    // borrowed mutably (so it aliases neither input), and the shapes and strides stay
    // inside them: lhs is `m × dim` with element (i, k) at `a[i·dim + k]` (row stride
    // dim, column stride 1); rhs is `dim × n` with element (k, j) at `b[j·dim + k]` (row
    // stride 1, column stride dim); dst is `m × n` with (i, j) at `out[i·n + j]`, checked
    // above to be exactly `out.len()`. `read_dst = false`, so dst is only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            dim,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            dim as isize,
            b.as_ptr(),
            dim as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{dot, testutil::unit_rows};
    use super::*;

    #[test]
    fn matches_row_dot_products() {
        let dim = 37;
        let a = unit_rows(13, dim, 1);
        let b = unit_rows(29, dim, 2);
        let mut out = vec![f32::NAN; 13 * 29];
        scores_into(&a, &b, dim, &mut out);
        for i in 0..13 {
            for j in 0..29 {
                let want = dot(&a[i * dim..][..dim], &b[j * dim..][..dim]);
                assert!((out[i * 29 + j] - want).abs() < 1e-5, "{i} {j}");
            }
        }
    }

    #[test]
    fn empty_sides_write_nothing() {
        let mut out: Vec<f32> = Vec::new();
        scores_into(&[], &[1.0, 0.0], 2, &mut out);
        scores_into(&[1.0, 0.0], &[], 2, &mut out);
    }
}
