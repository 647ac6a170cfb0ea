//! Lloyd iterations with the rows held on a compute device (a CUDA GPU, or candle's CPU
//! backend, which runs the same code in tests).
//!
//! The fitting rows are copied to the device once. Each iteration then costs two matrix
//! products there: rows are scored against the centroids and each row's best centroid
//! found by `argmax`; then every cluster's weighted sum (and total weight) is the product
//! of the transposed one-hot label matrix with the weighted rows, block by block. (Not
//! `index_add`: candle's CUDA kernel runs one thread per output column over every row,
//! a few hundred threads in all.) Only two numbers a row (label, similarity) and the
//! `k × (dim + 1)` sums come back; the host normalises the sums as
//! [`super::lloyd::update`] does.

use candle_core::{DType, Device, Tensor};

use super::lloyd::Assignment;
use super::ClusterError;

/// Rows scored per product: bounds the score block to `BLOCK × k` floats.
const BLOCK: usize = 1 << 16;
/// Most one-hot entries (`rows × k`) an update block holds: 256 MiB of `f32`.
const ONE_HOT: usize = 1 << 26;

/// Fitting rows (and their weights) on a device.
pub struct DeviceRows {
    x: Tensor,
    /// `x` scaled by each row's weight, with the weight as one more column.
    weighted: Tensor,
    rows: usize,
    dim: usize,
}

impl DeviceRows {
    /// Copies `vectors` (`rows × dim`, row-major) and `weights` (one per row; `None`:
    /// all 1) to `device`.
    pub fn new(
        vectors: &[f32],
        dim: usize,
        weights: Option<&[f32]>,
        device: &Device,
    ) -> Result<Self, ClusterError> {
        let rows = vectors.len() / dim;
        let x = Tensor::from_slice(vectors, (rows, dim), device)?;
        let w = match weights {
            Some(w) => Tensor::from_slice(w, (rows, 1), device)?,
            None => Tensor::ones((rows, 1), DType::F32, device)?,
        };
        let weighted = Tensor::cat(&[&x.broadcast_mul(&w)?, &w], 1)?;
        Ok(DeviceRows {
            x,
            weighted,
            rows,
            dim,
        })
    }

    /// Each row's most similar centroid (`centroids`: `k × dim`), with the labels also
    /// left on the device for [`update`](Self::update).
    pub fn assign(&self, centroids: &[f32]) -> Result<(Assignment, Tensor), ClusterError> {
        let k = centroids.len() / self.dim;
        let c = Tensor::from_slice(centroids, (k, self.dim), self.x.device())?;
        let ct = c.t()?;
        let mut labels = Vec::new();
        let mut out = Assignment::default();
        for start in (0..self.rows).step_by(BLOCK) {
            let n = BLOCK.min(self.rows - start);
            let scores = self.x.narrow(0, start, n)?.matmul(&ct)?;
            let best = scores.argmax(1)?;
            out.labels.extend(best.to_vec1::<u32>()?);
            out.similarity.extend(scores.max(1)?.to_vec1::<f32>()?);
            labels.push(best);
        }
        let labels = match labels.len() {
            1 => labels.pop().expect("one block"),
            _ => Tensor::cat(&labels, 0)?,
        };
        Ok((out, labels))
    }

    /// Recomputes `centroids` from `labels` (from [`assign`](Self::assign)) as
    /// [`super::lloyd::update`] does: each the unit-length weighted sum of its members;
    /// an empty cluster keeps its centroid. Returns each cluster's weight and the empty
    /// ones.
    pub fn update(
        &self,
        labels: &Tensor,
        centroids: &mut [f32],
    ) -> Result<(Vec<f64>, Vec<usize>), ClusterError> {
        let k = centroids.len() / self.dim;
        let device = self.x.device();
        let ids = Tensor::arange(0u32, k as u32, device)?.unsqueeze(0)?;
        let mut acc = Tensor::zeros((k, self.dim + 1), DType::F32, device)?;
        let block = (ONE_HOT / k).clamp(1, BLOCK);
        for start in (0..self.rows).step_by(block) {
            let n = block.min(self.rows - start);
            let one_hot = labels
                .narrow(0, start, n)?
                .unsqueeze(1)?
                .broadcast_eq(&ids)?
                .to_dtype(DType::F32)?;
            acc = (acc + one_hot.t()?.matmul(&self.weighted.narrow(0, start, n)?)?)?;
        }
        let sums = acc.to_vec2::<f32>()?;
        let mut mass = vec![0f64; k];
        for (j, row) in sums.iter().enumerate() {
            let (sum, total) = (&row[..self.dim], row[self.dim]);
            let norm = sum.iter().map(|&s| s as f64 * s as f64).sum::<f64>().sqrt();
            if total > 0.0 && norm > 0.0 {
                for (c, &s) in centroids[j * self.dim..][..self.dim].iter_mut().zip(sum) {
                    *c = (s as f64 / norm) as f32;
                }
                mass[j] = total as f64;
            }
        }
        let empty = (0..k).filter(|&j| mass[j] == 0.0).collect();
        Ok((mass, empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::lloyd::{assign, update};
    use crate::cluster::synthetic;

    #[test]
    fn one_iteration_matches_the_host_iteration() {
        let (n, dim, k) = (3000, 24, 40);
        let v = synthetic(n, dim, 4, 0.3, 9);
        let weights: Vec<f32> = (0..n).map(|i| 1.0 + (i % 3) as f32).collect();
        let centroids = v[..k * dim].to_vec();
        let rows = DeviceRows::new(&v, dim, Some(&weights), &Device::Cpu).unwrap();
        let (got, labels) = rows.assign(&centroids).unwrap();
        let want = assign(&v, dim, &centroids, None).unwrap();
        assert_eq!(got.labels, want.labels);
        for (a, b) in got.similarity.iter().zip(&want.similarity) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
        let (mut on_device, mut on_host) = (centroids.clone(), centroids.clone());
        let (mass, empty) = rows.update(&labels, &mut on_device).unwrap();
        let (want_mass, want_empty) = update(&v, dim, Some(&weights), &want.labels, &mut on_host);
        assert_eq!(empty, want_empty);
        assert_eq!(mass, want_mass);
        for (a, b) in on_device.iter().zip(&on_host) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }
}
