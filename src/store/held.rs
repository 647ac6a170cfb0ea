//! Vectors a job works on: computed in memory (as `f32`, or rounded to `f16`), or mapped
//! from a store file.

use std::sync::Arc;

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use super::{Dtype, VectorFile};
use crate::linalg::{normalize_rows, widen_scaled};

/// Values converted per parallel chunk.
const CONVERT_CHUNK: usize = 1 << 16;

/// Unit vectors, row-major: in memory, or mapped from the store.
pub enum Vectors {
    /// Computed in this run and held in memory.
    Owned(Vec<f32>),
    /// Memory-mapped from a store file.
    Mapped(VectorFile),
    /// Read from an f16 store file and widened.
    Widened(Vec<f32>),
    /// Shared with a long-lived owner (a Python object that deduplicates its rows again
    /// and again): never modified, copied when rows are dropped.
    Shared(Arc<[f32]>),
    /// Computed in this run and held rounded to `f16`, half the memory of `f32`. Every
    /// computation reads them widened to `f32` and scaled back to unit length, so these
    /// are the vectors a job compares: each value's relative rounding error is at most
    /// `2⁻¹¹`, which moves a cosine by at most about `2⁻¹⁰` (`1e-5` typically) from the
    /// `f32` vectors'.
    Half(Vec<f16>),
}

/// Vectors as stored, for a reader that widens them block by block.
#[derive(Clone, Copy)]
pub enum HeldRef<'a> {
    /// Row-major `f32` values.
    F32(&'a [f32]),
    /// Row-major `f16` values.
    F16(&'a [f16]),
}

impl<'a> HeldRef<'a> {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            HeldRef::F32(v) => v.len(),
            HeldRef::F16(v) => v.len(),
        }
    }

    /// `true` when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values `range` (whole rows, `dim` wide) as `f32`: borrowed when held as `f32`,
    /// widened into `buf` and scaled to unit length otherwise ([`widen_rows_into`]).
    pub fn read<'b>(
        &self,
        range: std::ops::Range<usize>,
        dim: usize,
        buf: &'b mut Vec<f32>,
    ) -> &'b [f32]
    where
        'a: 'b,
    {
        match *self {
            HeldRef::F32(v) => &v[range],
            HeldRef::F16(v) => {
                buf.clear();
                widen_rows_into(&v[range], dim, buf);
                buf
            }
        }
    }

    /// The values' bytes (for hashing and comparing rows bit for bit).
    pub fn bytes(&self) -> &'a [u8] {
        match *self {
            HeldRef::F32(v) => bytemuck::cast_slice(v),
            HeldRef::F16(v) => bytemuck::cast_slice(v),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            HeldRef::F32(_) => Dtype::F32,
            HeldRef::F16(_) => Dtype::F16,
        }
    }
}

/// `values` rounded to `f16`, appended to `out`.
pub fn narrow_into(values: &[f32], out: &mut Vec<f16>) {
    let at = out.len();
    out.resize(at + values.len(), f16::ZERO);
    out[at..].convert_from_f32_slice(values);
}

/// Rows of `f16` values (`dim` wide) widened to `f32` and scaled back to unit length
/// (zero rows stay zero), appended to `out`: rounding leaves a norm up to `2⁻¹¹` off 1,
/// enough to score a row against itself visibly below 1 and to trip indexes that check
/// for unit vectors.
pub fn widen_rows_into(values: &[f16], dim: usize, out: &mut Vec<f32>) {
    let at = out.len();
    out.resize(at + values.len(), 0.0);
    widen_scaled(values, 1.0, &mut out[at..]);
    normalize_rows(&mut out[at..], dim);
}

/// [`widen_rows_into`] for many rows, in parallel.
fn widen(values: &[f16], dim: usize) -> Vec<f32> {
    let mut out = vec![0f32; values.len()];
    let chunk = CONVERT_CHUNK.div_ceil(dim.max(1)) * dim.max(1);
    out.par_chunks_mut(chunk)
        .zip(values.par_chunks(chunk))
        .for_each(|(o, v)| {
            widen_scaled(v, 1.0, o);
            normalize_rows(o, dim);
        });
    out
}

impl Vectors {
    /// Keeps only `rows` (increasing row numbers), in that order: in place when the
    /// vectors are in memory, copied out of a mapped file otherwise.
    pub fn retain_rows(&mut self, rows: &[u32], dim: usize) {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]));
        match self {
            Vectors::Owned(v) | Vectors::Widened(v) => retain_in_place(v, rows, dim),
            Vectors::Half(v) => retain_in_place(v, rows, dim),
            Vectors::Mapped(_) | Vectors::Shared(_) => {
                let all = self.as_slice();
                let mut v = Vec::with_capacity(rows.len() * dim);
                for &r in rows {
                    v.extend_from_slice(&all[r as usize * dim..][..dim]);
                }
                *self = Vectors::Owned(v);
            }
        }
    }

    /// All values, row-major, as a vector of its own: moved out when in memory, copied
    /// from a mapped file or a shared owner, widened from `f16` (rows `dim` wide).
    pub fn into_owned(self, dim: usize) -> Vec<f32> {
        match self {
            Vectors::Owned(v) | Vectors::Widened(v) => v,
            Vectors::Half(v) => widen(&v, dim),
            Vectors::Mapped(_) | Vectors::Shared(_) => self.as_slice().to_vec(),
        }
    }

    /// Held as `f32` from now on: `f16` rows (`dim` wide) are widened as
    /// [`HeldRef::read`] widens them (twice the memory), others stay as they are.
    pub fn widen(&mut self, dim: usize) {
        if let Vectors::Half(v) = self {
            *self = Vectors::Owned(widen(v, dim));
        }
    }

    /// The values as held.
    pub fn held(&self) -> HeldRef<'_> {
        match self {
            Vectors::Half(v) => HeldRef::F16(v),
            _ => HeldRef::F32(self.as_slice()),
        }
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.held().len()
    }

    /// `true` when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All values, row-major.
    ///
    /// # Panics
    /// When they are held as `f16` ([`Vectors::Half`]): [`widen`](Vectors::widen) them
    /// first, or read them through [`held`](Vectors::held).
    pub fn as_slice(&self) -> &[f32] {
        match self {
            Vectors::Owned(v) | Vectors::Widened(v) => v,
            Vectors::Mapped(f) => f.as_f32().expect("mapped only when f32"),
            Vectors::Shared(v) => v,
            Vectors::Half(_) => panic!("f16 vectors are read through Vectors::held"),
        }
    }
}

/// Keeps rows `rows` (increasing) of `v`, in place.
fn retain_in_place<T: Copy>(v: &mut Vec<T>, rows: &[u32], dim: usize) {
    // rows[g] >= g and increasing: every source row lies at or after its destination and
    // has not been overwritten yet.
    for (g, &r) in rows.iter().enumerate() {
        let r = r as usize;
        if r != g {
            v.copy_within(r * dim..(r + 1) * dim, g * dim);
        }
    }
    v.truncate(rows.len() * dim);
    v.shrink_to_fit();
}

impl From<Vec<f32>> for Vectors {
    fn from(v: Vec<f32>) -> Self {
        Vectors::Owned(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_vectors_are_read_widened_and_keep_rows_like_f32_ones() {
        let values: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) / 7.0).collect();
        let mut half = Vec::new();
        narrow_into(&values, &mut half);
        assert!(half
            .iter()
            .zip(&values)
            .all(|(r, v)| (r.to_f32() - v).abs() <= v.abs() / 2048.0));
        // Widened rows are unit length again.
        let mut rounded: Vec<f32> = half.iter().map(|x| x.to_f32()).collect();
        normalize_rows(&mut rounded, 3);
        for row in rounded.chunks(3) {
            assert!((row.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let mut buf = Vec::new();
        assert_eq!(HeldRef::F16(&half).read(3..9, 3, &mut buf), &rounded[3..9]);
        assert_eq!(HeldRef::F32(&values).read(3..9, 3, &mut buf), &values[3..9]);
        assert_eq!(HeldRef::F16(&half).bytes().len(), 24);

        // Rows 0 and 2 of four rows 3 wide, in place, as for f32.
        let mut held = Vectors::Half(half);
        let mut owned = Vectors::Owned(rounded.clone());
        held.retain_rows(&[0, 2], 3);
        owned.retain_rows(&[0, 2], 3);
        assert_eq!(held.len(), 6);
        assert_eq!(held.held().dtype(), Dtype::F16);
        held.widen(3);
        assert_eq!(held.as_slice(), owned.as_slice());
        assert_eq!(held.as_slice(), [&rounded[0..3], &rounded[6..9]].concat());
    }
}
