//! Vectors a job works on: computed in memory, or mapped from a store file.

use std::sync::Arc;

use super::VectorFile;

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
}

impl Vectors {
    /// Keeps only `rows` (increasing row numbers), in that order: in place when the
    /// vectors are in memory, copied out of a mapped file otherwise.
    pub fn retain_rows(&mut self, rows: &[u32], dim: usize) {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]));
        match self {
            Vectors::Owned(v) | Vectors::Widened(v) => {
                // rows[g] >= g and increasing: every source row lies at or after its
                // destination and has not been overwritten yet.
                for (g, &r) in rows.iter().enumerate() {
                    let r = r as usize;
                    if r != g {
                        v.copy_within(r * dim..(r + 1) * dim, g * dim);
                    }
                }
                v.truncate(rows.len() * dim);
                v.shrink_to_fit();
            }
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
    /// from a mapped file or a shared owner.
    pub fn into_owned(self) -> Vec<f32> {
        match self {
            Vectors::Owned(v) | Vectors::Widened(v) => v,
            Vectors::Mapped(_) | Vectors::Shared(_) => self.as_slice().to_vec(),
        }
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        match self {
            Vectors::Owned(v) | Vectors::Widened(v) => v,
            Vectors::Mapped(f) => f.as_f32().expect("mapped only when f32"),
            Vectors::Shared(v) => v,
        }
    }
}

impl From<Vec<f32>> for Vectors {
    fn from(v: Vec<f32>) -> Self {
        Vectors::Owned(v)
    }
}
