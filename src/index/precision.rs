//! How a device holds and multiplies vectors: the products' arithmetic
//! ([`Precision`], with the error bound that makes reduced precision safe) and the
//! device memory the indexed vectors may take ([`DeviceParams`]).

use candle_core::DType;

/// The arithmetic of the device's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Vectors rounded to `f16`, products summed in `f32` (cuBLAS `CUBLAS_COMPUTE_32F`),
    /// scores stored as `f16`: tensor-core speed, error within [`Precision::margin`].
    #[default]
    Half,
    /// `f32` throughout.
    Single,
}

impl Precision {
    /// The name used in summaries (`f16`, `f32`).
    pub fn name(self) -> &'static str {
        match self {
            Precision::Half => "f16",
            Precision::Single => "f32",
        }
    }

    /// The candle dtype vectors are held in on the device.
    pub fn dtype(self) -> DType {
        match self {
            Precision::Half => DType::F16,
            Precision::Single => DType::F32,
        }
    }

    /// Bytes a vector element takes on the device.
    pub fn size(self) -> usize {
        self.dtype().size_in_bytes()
    }

    /// How far a device score of two unit vectors `dim` wide may lie from their exact
    /// cosine: candidates are taken from this far below the threshold.
    ///
    /// For `f16` with unit roundoff `u = 2⁻¹¹`: rounding both vectors moves the product
    /// by at most `(2u + u²)·|a|·|b|` (Cauchy–Schwarz over the per-element errors) plus
    /// `2·√dim·2⁻²⁵` for elements in the subnormal range; the `f32` sum adds at most
    /// `dim·2⁻²⁴` (doubled here: tensor cores may align partial sums by truncation);
    /// storing the score as `f16` adds half an ulp, `2⁻¹²` below 1. At `dim = 384` that
    /// is 1.31·10⁻³; the margin never goes below 2·10⁻³. For `f32`, the device's sum and
    /// the host's [`dot`](crate::linalg::dot) may each be off by `dim·2⁻²⁴`.
    pub fn margin(self, dim: usize) -> f32 {
        let d = dim as f64;
        let e = match self {
            Precision::Half => {
                let u = 2f64.powi(-11);
                2.0 * u
                    + u * u
                    + 2.0 * d.sqrt() * 2f64.powi(-25)
                    + 2.0 * d * 2f64.powi(-24)
                    + 2f64.powi(-12)
            }
            Precision::Single => 4.0 * d * 2f64.powi(-24) + 1e-6,
        };
        match self {
            Precision::Half => e.max(2e-3) as f32,
            Precision::Single => e as f32,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f16" | "half" => Ok(Precision::Half),
            "f32" | "single" => Ok(Precision::Single),
            other => Err(format!("unknown precision {other:?} (expected f16 or f32)")),
        }
    }
}

/// Default [`DeviceParams::memory`]: 8 GiB, which holds 10M × 384 vectors in `f16` and
/// leaves most of a data-centre GPU free for score tiles.
pub const DEVICE_MEMORY: u64 = 8 << 30;

/// How a device index holds and scores its vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceParams {
    /// The products' arithmetic.
    pub precision: Precision,
    /// Bytes of device memory the indexed vectors may take at once; larger sets are
    /// uploaded in windows of this size.
    pub memory: u64,
}

impl Default for DeviceParams {
    fn default() -> Self {
        DeviceParams {
            precision: Precision::Half,
            memory: DEVICE_MEMORY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testutil::clustered;
    use crate::linalg::dot;
    use half::f16;

    #[test]
    fn the_half_margin_covers_the_worst_rounding_seen() {
        let dim = 384;
        let v = clustered(600, dim, 3, 0.3, 5);
        let half: Vec<f32> = v.iter().map(|&x| f16::from_f32(x).to_f32()).collect();
        let margin = Precision::Half.margin(dim);
        assert!((2e-3..3e-3).contains(&margin), "{margin}");
        let mut worst = 0f32;
        for i in 0..600 {
            for j in 0..600 {
                let exact = dot(&v[i * dim..][..dim], &v[j * dim..][..dim]);
                let rounded = dot(&half[i * dim..][..dim], &half[j * dim..][..dim]);
                let stored = f16::from_f32(rounded).to_f32();
                worst = worst.max((stored - exact).abs());
            }
        }
        assert!(
            worst > 0.0 && worst < margin,
            "worst {worst}, margin {margin}"
        );
    }
}
