//! Seeded synthetic unit vectors for tests and benchmarks.

use crate::linalg::{normalize_rows, Rng};

/// `n` unit vectors, `dim` wide, in groups of `per_group` consecutive rows around a
/// random centre each, with Gaussian-like noise of scale `noise` (relative to the
/// centre's coordinates). Fixed by `seed`.
pub fn synthetic(n: usize, dim: usize, per_group: usize, noise: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut normal = move || {
        // Sum of four uniforms, scaled to about unit variance.
        let s: f64 = (0..4).map(|_| rng.next_f64() - 0.5).sum();
        (s * 1.7) as f32
    };
    let groups = n.div_ceil(per_group.max(1));
    let centres: Vec<f32> = (0..groups * dim).map(|_| normal()).collect();
    let mut out = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = &centres[(i / per_group.max(1)) * dim..][..dim];
        out.extend(c.iter().map(|&x| x + noise * normal()));
    }
    normalize_rows(&mut out, dim);
    out
}
