//! The report's 2-D map: rows projected on their first two principal components.
//!
//! PCA, rather than t-SNE or UMAP, because it is linear and deterministic: distances and
//! directions on the map mean the same everywhere, topics that overlap in the embedding
//! overlap on the map instead of being pulled apart, and the explained variance printed
//! on the axes says how much of the picture the map shows. Computed by block power
//! iteration on the centred rows (no `d × d` covariance, so wide vectors cost little).

use crate::linalg::Rng;

/// Power-iteration rounds; plenty for two components of a few thousand rows.
const ROUNDS: usize = 100;

/// Rows projected to two dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// `(x, y)` of each row.
    pub points: Vec<[f32; 2]>,
    /// Share of the total variance along each axis.
    pub explained: [f64; 2],
}

/// Projects `vectors` (row-major, `dim` wide) on their top two principal components.
/// Each axis's sign is chosen so its largest absolute coordinate is positive.
pub fn pca_2d(vectors: &[f32], dim: usize) -> Projection {
    let n = vectors.len() / dim.max(1);
    if n < 2 || dim == 0 {
        return Projection {
            points: vec![[0.0, 0.0]; n],
            explained: [0.0, 0.0],
        };
    }
    let mut mean = vec![0f64; dim];
    for row in vectors.chunks_exact(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred: Vec<f64> = vectors
        .chunks_exact(dim)
        .flat_map(|row| row.iter().zip(&mean).map(|(&x, m)| x as f64 - m))
        .collect();
    let total_var: f64 = centred.iter().map(|x| x * x).sum::<f64>() / (n - 1) as f64;

    // Block power iteration on C = Xᵀ X: V ← orthonormalise(Xᵀ (X V)).
    let mut rng = Rng::new(0x5eed);
    let mut v: Vec<[f64; 2]> = (0..dim)
        .map(|_| [rng.next_f64() - 0.5, rng.next_f64() - 0.5])
        .collect();
    orthonormalise(&mut v);
    for _ in 0..ROUNDS {
        let xv = scores(&centred, dim, &v);
        let mut next = vec![[0f64; 2]; dim];
        for (row, s) in centred.chunks_exact(dim).zip(&xv) {
            for (out, &x) in next.iter_mut().zip(row) {
                out[0] += x * s[0];
                out[1] += x * s[1];
            }
        }
        orthonormalise(&mut next);
        v = next;
    }
    let mut xv = scores(&centred, dim, &v);
    // Order the axes by variance, then fix their signs.
    let var =
        |xv: &[[f64; 2]], a: usize| xv.iter().map(|s| s[a] * s[a]).sum::<f64>() / (n - 1) as f64;
    if var(&xv, 1) > var(&xv, 0) {
        xv.iter_mut().for_each(|s| s.swap(0, 1));
    }
    for a in 0..2 {
        let extreme = xv
            .iter()
            .map(|s| s[a])
            .max_by(|x, y| x.abs().total_cmp(&y.abs()))
            .unwrap_or(0.0);
        if extreme < 0.0 {
            xv.iter_mut().for_each(|s| s[a] = -s[a]);
        }
    }
    let explained = if total_var > 0.0 {
        [var(&xv, 0) / total_var, var(&xv, 1) / total_var]
    } else {
        [0.0, 0.0]
    };
    Projection {
        points: xv.iter().map(|s| [s[0] as f32, s[1] as f32]).collect(),
        explained,
    }
}

/// `X V`: each row's two coordinates.
fn scores(centred: &[f64], dim: usize, v: &[[f64; 2]]) -> Vec<[f64; 2]> {
    centred
        .chunks_exact(dim)
        .map(|row| {
            row.iter().zip(v).fold([0.0, 0.0], |acc, (&x, c)| {
                [acc[0] + x * c[0], acc[1] + x * c[1]]
            })
        })
        .collect()
}

/// Gram–Schmidt on the two columns of `v`.
fn orthonormalise(v: &mut [[f64; 2]]) {
    let norm = |v: &[[f64; 2]], a: usize| v.iter().map(|r| r[a] * r[a]).sum::<f64>().sqrt();
    let n0 = norm(v, 0).max(1e-300);
    v.iter_mut().for_each(|r| r[0] /= n0);
    let d: f64 = v.iter().map(|r| r[0] * r[1]).sum();
    v.iter_mut().for_each(|r| r[1] -= d * r[0]);
    let n1 = norm(v, 1).max(1e-300);
    v.iter_mut().for_each(|r| r[1] /= n1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_axes_of_largest_variance() {
        // Points spread 10× along (1,1,0)/√2, 3× along z, 0.1× along (1,-1,0)/√2.
        let mut rng = Rng::new(2);
        let mut v = Vec::new();
        for _ in 0..2000 {
            let (a, b, c) = (
                10.0 * (rng.next_f64() - 0.5),
                3.0 * (rng.next_f64() - 0.5),
                0.1 * (rng.next_f64() - 0.5),
            );
            let s = std::f64::consts::FRAC_1_SQRT_2;
            v.extend([(a * s + c * s) as f32, (a * s - c * s) as f32, b as f32]);
        }
        let p = pca_2d(&v, 3);
        assert_eq!(p.points.len(), 2000);
        // Variance shares: 100 : 9 : 0.01.
        assert!(
            (p.explained[0] - 100.0 / 109.01).abs() < 0.02,
            "{:?}",
            p.explained
        );
        assert!(
            (p.explained[1] - 9.0 / 109.01).abs() < 0.02,
            "{:?}",
            p.explained
        );
        // The first axis is the (1,1,0) direction: |x| ≈ |v0 + v1| / √2 up to centring.
        let r = &v[..3];
        let x = (r[0] + r[1]) as f64 * std::f64::consts::FRAC_1_SQRT_2;
        assert!((p.points[0][0].abs() as f64 - x.abs()).abs() < 0.2);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert_eq!(pca_2d(&[1.0, 2.0], 2).points, vec![[0.0, 0.0]]);
        let p = pca_2d(&[1.0, 1.0, 1.0, 1.0], 2);
        assert_eq!(p.explained, [0.0, 0.0]);
    }
}
