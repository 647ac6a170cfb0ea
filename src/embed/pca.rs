//! Principal component analysis for distillation, in f64, without LAPACK.
//!
//! Mirrors model2vec's `_pca_fit_transform`: centre the rows, form the
//! covariance `Xcᵀ Xc / (n - 1)`, take its eigenvectors in descending order of
//! eigenvalue, project, and flip each component's sign so that its largest
//! absolute score is positive (the same convention as sklearn's `svd_flip`).

use rayon::prelude::*;

/// Projects `n × d` row-major `data` onto its top `k` principal components,
/// returning `n × k` row-major scores.
pub(crate) fn pca(data: &[f32], d: usize, k: usize) -> Vec<f64> {
    let n = data.len() / d;
    assert!(k <= d && n > 1, "pca needs k <= d and at least two rows");
    let mut mean = vec![0f64; d];
    for row in data.chunks_exact(d) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);

    let cov = covariance(data, d, &mean);
    let (values, vectors) = symmetric_eigen(cov, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    // components[c] = eigenvector order[c], as a d-vector.
    let components: Vec<Vec<f64>> = order[..k]
        .iter()
        .map(|&j| (0..d).map(|i| vectors[i * d + j]).collect())
        .collect();

    let mut scores = vec![0f64; n * k];
    scores
        .par_chunks_mut(k)
        .zip(data.par_chunks_exact(d))
        .for_each(|(out, row)| {
            for (o, comp) in out.iter_mut().zip(&components) {
                *o = row
                    .iter()
                    .zip(&mean)
                    .zip(comp)
                    .map(|((&x, &m), &c)| (x as f64 - m) * c)
                    .sum();
            }
        });
    for c in 0..k {
        let (mut best, mut sign) = (0f64, 1f64);
        for r in 0..n {
            let v = scores[r * k + c];
            if v.abs() > best {
                best = v.abs();
                sign = v.signum();
            }
        }
        if sign < 0.0 {
            (0..n).for_each(|r| scores[r * k + c] = -scores[r * k + c]);
        }
    }
    scores
}

/// Sample covariance of centred rows, `d × d` row-major.
fn covariance(data: &[f32], d: usize, mean: &[f64]) -> Vec<f64> {
    let n = data.len() / d;
    let upper = data
        .par_chunks(d * 256)
        .map(|block| {
            let mut acc = vec![0f64; d * d];
            let mut centred = vec![0f64; d];
            for row in block.chunks_exact(d) {
                for ((c, &x), &m) in centred.iter_mut().zip(row).zip(mean) {
                    *c = x as f64 - m;
                }
                for i in 0..d {
                    let xi = centred[i];
                    let acc_row = &mut acc[i * d + i..(i + 1) * d];
                    for (a, &xj) in acc_row.iter_mut().zip(&centred[i..]) {
                        *a += xi * xj;
                    }
                }
            }
            acc
        })
        .reduce(
            || vec![0f64; d * d],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let mut cov = upper;
    for i in 0..d {
        for j in i..d {
            let v = cov[i * d + j] / (n - 1) as f64;
            cov[i * d + j] = v;
            cov[j * d + i] = v;
        }
    }
    cov
}

/// Eigen-decomposition of a symmetric `d × d` matrix by cyclic Jacobi
/// rotations. Returns `(eigenvalues, eigenvectors)`; eigenvector `j` is column
/// `j` of the row-major `d × d` matrix.
pub(crate) fn symmetric_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; d * d];
    (0..d).for_each(|i| v[i * d + i] = 1.0);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum();
        if off <= 1e-26 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                let tau = s / (1.0 + c);
                a[p * d + p] -= t * apq;
                a[q * d + q] += t * apq;
                a[p * d + q] = 0.0;
                a[q * d + p] = 0.0;
                for r in 0..d {
                    if r != p && r != q {
                        let arp = a[r * d + p];
                        let arq = a[r * d + q];
                        let new_rp = arp - s * (arq + tau * arp);
                        let new_rq = arq + s * (arp - tau * arq);
                        a[r * d + p] = new_rp;
                        a[p * d + r] = new_rp;
                        a[r * d + q] = new_rq;
                        a[q * d + r] = new_rq;
                    }
                    let vrp = v[r * d + p];
                    let vrq = v[r * d + q];
                    v[r * d + p] = vrp - s * (vrq + tau * vrp);
                    v[r * d + q] = vrq + s * (vrp - tau * vrq);
                }
            }
        }
    }
    let values = (0..d).map(|i| a[i * d + i]).collect();
    (values, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic pseudo-random generator for test data.
    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let d = 12;
        let mut seed = 7;
        let mut m = vec![0f64; d * d];
        for i in 0..d {
            for j in i..d {
                let x = lcg(&mut seed);
                m[i * d + j] = x;
                m[j * d + i] = x;
            }
        }
        let (values, vectors) = symmetric_eigen(m.clone(), d);
        for j in 0..d {
            for i in 0..d {
                let av: f64 = (0..d).map(|k| m[i * d + k] * vectors[k * d + j]).sum();
                assert!((av - values[j] * vectors[i * d + j]).abs() < 1e-9);
            }
            for l in 0..d {
                let dot: f64 = (0..d)
                    .map(|k| vectors[k * d + j] * vectors[k * d + l])
                    .sum();
                let want = if j == l { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn pca_recovers_the_dominant_direction_and_orders_variance() {
        // Points spread along (1, 1, 0) with small noise in other directions.
        let mut seed = 3;
        let mut data = Vec::new();
        for _ in 0..500 {
            let t = lcg(&mut seed) * 10.0;
            data.extend([
                (t + 0.1 * lcg(&mut seed)) as f32,
                (t + 0.1 * lcg(&mut seed)) as f32,
                (0.5 * lcg(&mut seed)) as f32,
            ]);
        }
        let scores = pca(&data, 3, 2);
        let var = |c: usize| scores.iter().skip(c).step_by(2).map(|x| x * x).sum::<f64>();
        assert!(var(0) > 50.0 * var(1), "first component must dominate");
        // Scores of the first component track x + y (up to sign convention).
        let (x, y, s) = (data[0] as f64, data[1] as f64, scores[0]);
        assert!((s.abs() - ((x + y) / 2f64.sqrt()).abs()).abs() < 0.5);
        // Sign convention: each component's largest |score| is positive.
        for c in 0..2 {
            let max = scores
                .iter()
                .skip(c)
                .step_by(2)
                .copied()
                .fold(0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            assert!(max > 0.0);
        }
    }
}
