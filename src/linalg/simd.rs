//! Kernels that pick the widest x86 vector instructions the CPU has when they run (the
//! binary is built for baseline x86-64); the only other `unsafe` in `linalg`.
//!
//! Each gives the same bits on every path:
//! - [`widen_scaled`]: `f16` rows widened to `f32` and scaled, with F16C (8 values per
//!   instruction). Widening is exact and the scaling one IEEE multiplication per value,
//!   so every path gives the bits of `f32::from(x) * scale`.
//! - [`dot_wide`]: a dot product in 32 partial sums, written for AVX where the CPU has
//!   it (four 8-lane sums). The same multiplications and additions in the same order (Rust
//!   never fuses them into FMAs), so every path gives the same sum.
//! - [`dot_half`]: [`dot_wide`] of an `f32` row and an `f16` row widened on the fly (with
//!   F16C): widening is exact, so it gives the bits of `dot_wide(a, widened b)` without
//!   writing the widened row anywhere.

use half::f16;

/// Writes `dst[i] = f32(src[i]) × scale`.
///
/// # Panics
/// When `src` and `dst` differ in length.
pub fn widen_scaled(src: &[f16], scale: f32, dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "widen_scaled lengths");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has F16C and AVX, checked just above.
        unsafe { widen_scaled_f16c(src, scale, dst) };
        return;
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32() * scale;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "f16c,avx")]
fn widen_scaled_f16c(src: &[f16], scale: f32, dst: &mut [f32]) {
    use std::arch::x86_64::{
        __m128i, _mm256_cvtph_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_storeu_ps, _mm_loadu_si128,
    };
    let by = _mm256_set1_ps(scale);
    let whole = src.len() / 8 * 8;
    for (s, d) in src[..whole]
        .chunks_exact(8)
        .zip(dst[..whole].chunks_exact_mut(8))
    {
        // SAFETY: `s` holds 8 `f16` (16 bytes) and `d` 8 `f32` (32 bytes), both live
        // slices; the unaligned load and store read and write exactly those bytes.
        unsafe {
            let halves = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
            let wide = _mm256_mul_ps(_mm256_cvtph_ps(halves), by);
            _mm256_storeu_ps(d.as_mut_ptr(), wide);
        }
    }
    for (d, s) in dst[whole..].iter_mut().zip(&src[whole..]) {
        *d = s.to_f32() * scale;
    }
}

/// Dot product with 32 partial sums: several independent chains of vector multiply-adds
/// instead of [`dot`](super::dot)'s one, so it runs at the processor's throughput rather
/// than its latency. Also summed in a fixed order (a different one from `dot`'s), for
/// scores that only rank or bound, never decide a pair.
pub fn dot_wide(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX, checked just above.
            return unsafe { dot_wide_avx(a, b) };
        }
    }
    dot_wide_in_order(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn dot_wide_avx(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    assert_eq!(a.len(), b.len(), "dot_wide lengths");
    let whole = a.len() / 32 * 32;
    let mut sums: [__m256; 4] = [_mm256_setzero_ps(); 4];
    for (x, y) in a[..whole].chunks_exact(32).zip(b[..whole].chunks_exact(32)) {
        for (k, sum) in sums.iter_mut().enumerate() {
            // SAFETY: `x` and `y` hold 32 `f32` each; each unaligned load reads the 8
            // at `8k..8k + 8`, k < 4.
            unsafe {
                let product = _mm256_mul_ps(
                    _mm256_loadu_ps(x.as_ptr().add(8 * k)),
                    _mm256_loadu_ps(y.as_ptr().add(8 * k)),
                );
                *sum = _mm256_add_ps(*sum, product);
            }
        }
    }
    let mut acc = [0f32; 32];
    for (k, sum) in sums.iter().enumerate() {
        // SAFETY: `acc` holds 32 `f32`; each unaligned store writes the 8 at `8k..8k + 8`.
        unsafe { _mm256_storeu_ps(acc.as_mut_ptr().add(8 * k), *sum) };
    }
    reduce_wide(acc, &a[whole..], &b[whole..])
}

/// [`dot_wide`]`(a, b widened to f32)`, bit for bit, reading `b` as it is.
///
/// # Panics
/// When `a` and `b` differ in length.
pub fn dot_half(a: &[f32], b: &[f16]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_half lengths");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx")
        {
            // SAFETY: the CPU has F16C and AVX, checked just above.
            return unsafe { dot_half_f16c(a, b) };
        }
    }
    dot_half_in_order(a, b)
}

/// [`dot_half`] on any CPU.
fn dot_half_in_order(a: &[f32], b: &[f16]) -> f32 {
    let whole = a.len() / 32 * 32;
    let mut acc = [0f32; 32];
    for (x, y) in a[..whole].chunks_exact(32).zip(b[..whole].chunks_exact(32)) {
        for l in 0..32 {
            acc[l] += x[l] * y[l].to_f32();
        }
    }
    let tail: Vec<f32> = b[whole..].iter().map(|h| h.to_f32()).collect();
    reduce_wide(acc, &a[whole..], &tail)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "f16c,avx")]
fn dot_half_f16c(a: &[f32], b: &[f16]) -> f32 {
    use std::arch::x86_64::{
        __m128i, __m256, _mm256_add_ps, _mm256_cvtph_ps, _mm256_loadu_ps, _mm256_mul_ps,
        _mm256_setzero_ps, _mm256_storeu_ps, _mm_loadu_si128,
    };
    let whole = a.len() / 32 * 32;
    let mut sums: [__m256; 4] = [_mm256_setzero_ps(); 4];
    for (x, y) in a[..whole].chunks_exact(32).zip(b[..whole].chunks_exact(32)) {
        for (k, sum) in sums.iter_mut().enumerate() {
            // SAFETY: `x` holds 32 `f32` and `y` 32 `f16`; each unaligned load reads the 8
            // at `8k..8k + 8` (32 and 16 bytes), k < 4.
            unsafe {
                let halves = _mm_loadu_si128(y.as_ptr().add(8 * k).cast::<__m128i>());
                let product = _mm256_mul_ps(
                    _mm256_loadu_ps(x.as_ptr().add(8 * k)),
                    _mm256_cvtph_ps(halves),
                );
                *sum = _mm256_add_ps(*sum, product);
            }
        }
    }
    let mut acc = [0f32; 32];
    for (k, sum) in sums.iter().enumerate() {
        // SAFETY: `acc` holds 32 `f32`; each unaligned store writes the 8 at `8k..8k + 8`.
        unsafe { _mm256_storeu_ps(acc.as_mut_ptr().add(8 * k), *sum) };
    }
    let mut tail = [0f32; 32];
    for (t, h) in tail.iter_mut().zip(&b[whole..]) {
        *t = h.to_f32();
    }
    reduce_wide(acc, &a[whole..], &tail[..a.len() - whole])
}

/// [`dot_wide`] on any CPU: lane `l` of the 32 partial sums adds `a[32i + l] × b[32i + l]`
/// in order of `i`, as the vector paths' lanes do.
fn dot_wide_in_order(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_wide lengths");
    let whole = a.len() / 32 * 32;
    let mut acc = [0f32; 32];
    for (x, y) in a[..whole].chunks_exact(32).zip(b[..whole].chunks_exact(32)) {
        for l in 0..32 {
            acc[l] += x[l] * y[l];
        }
    }
    reduce_wide(acc, &a[whole..], &b[whole..])
}

/// The 32 partial sums folded in halves (`acc[l] += acc[l + width]`, width 16 down to
/// 1), plus the tail `a · b` of fewer than 32 values summed in order.
fn reduce_wide(mut acc: [f32; 32], a: &[f32], b: &[f32]) -> f32 {
    let mut tail = 0f32;
    for (x, y) in a.iter().zip(b) {
        tail += x * y;
    }
    for width in [16, 8, 4, 2, 1] {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0] + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_dot_products_are_the_same_on_every_path() {
        for len in [0usize, 1, 31, 32, 33, 256, 301] {
            let a: Vec<f32> = (0..len)
                .map(|i| ((i * 29 % 97) as f32 - 48.0) / 37.0)
                .collect();
            let b: Vec<f32> = (0..len)
                .map(|i| ((i * 13 % 89) as f32 - 44.0) / 41.0)
                .collect();
            let want = dot_wide_in_order(&a, &b);
            assert_eq!(dot_wide(&a, &b).to_bits(), want.to_bits(), "{len}");
            let exact: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum();
            assert!(
                (f64::from(want) - exact).abs() < 1e-4,
                "{len}: {want} vs {exact}"
            );
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx") {
                    // SAFETY: the CPU has AVX.
                    let got = unsafe { dot_wide_avx(&a, &b) };
                    assert_eq!(got.to_bits(), want.to_bits(), "avx {len}");
                }
            }
        }
    }

    #[test]
    fn half_dot_products_are_those_of_the_widened_rows() {
        for len in [0usize, 1, 31, 32, 33, 256, 384, 301] {
            let a: Vec<f32> = (0..len)
                .map(|i| ((i * 29 % 97) as f32 - 48.0) / 37.0)
                .collect();
            let b: Vec<f16> = (0..len)
                .map(|i| f16::from_f32(((i * 13 % 89) as f32 - 44.0) / 41.0))
                .collect();
            let wide: Vec<f32> = b.iter().map(|h| h.to_f32()).collect();
            let want = dot_wide_in_order(&a, &wide);
            assert_eq!(dot_half(&a, &b).to_bits(), want.to_bits(), "{len}");
            assert_eq!(dot_half_in_order(&a, &b).to_bits(), want.to_bits(), "{len}");
        }
    }

    #[test]
    fn matches_the_scalar_widening_bit_for_bit() {
        let src: Vec<f16> = (0..1003)
            .map(|i| f16::from_f32(((i * 37 % 211) as f32 - 105.0) / 97.0))
            .chain([
                f16::ZERO,
                f16::NEG_ZERO,
                f16::MIN_POSITIVE_SUBNORMAL,
                f16::MAX,
            ])
            .collect();
        for scale in [1.0f32, 0.999_71, 1.000_3] {
            let mut got = vec![0.0; src.len()];
            widen_scaled(&src, scale, &mut got);
            for (g, s) in got.iter().zip(&src) {
                assert_eq!(g.to_bits(), (s.to_f32() * scale).to_bits());
            }
        }
    }
}
