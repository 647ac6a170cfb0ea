//! `f16` rows widened to `f32` and scaled, with the x86 F16C instructions where the CPU
//! has them (8 values per instruction); the only other `unsafe` in `linalg`.
//!
//! Widening is exact and the scaling one IEEE multiplication per value, so both paths
//! give the same bits as `f32::from(x) * scale`.

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

#[cfg(test)]
mod tests {
    use super::*;

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
