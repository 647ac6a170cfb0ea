//! A static model whose table lookups and means run on a compute device.
//!
//! Tokenising stays on the CPU (in parallel, as [`StaticModel`] does it). The table is
//! copied to the device once; each call then uploads the token ids of its texts, gathers
//! their rows there (`index_select`), scales them by their weights, sums each text's rows
//! (`index_add` by text) and divides by its token count. The host normalises the means
//! with [`normalize_rows`], as [`StaticModel`] does. The vectors equal the CPU's up to
//! the order of the `f32` sums (within about 10⁻⁶), so the fingerprint is the model's.

use candle_core::{DType, Tensor};
use rayon::prelude::*;

use super::{Device, EmbedError, Encoder, StaticModel};
use crate::linalg::normalize_rows;

/// A [`StaticModel`] encoding on a device; see the [module documentation](self).
pub struct DeviceStaticModel {
    model: StaticModel,
    table: Tensor,
    on: Device,
}

impl DeviceStaticModel {
    /// Puts `model`'s table on `on`.
    pub fn new(model: StaticModel, on: Device) -> Result<Self, EmbedError> {
        let dim = model.dim();
        let rows = model.table().len() / dim.max(1);
        let table = Tensor::from_slice(model.table(), (rows, dim), &on.to_candle()?)?;
        Ok(DeviceStaticModel { model, table, on })
    }
}

impl Encoder for DeviceStaticModel {
    fn dim(&self) -> usize {
        self.model.dim()
    }

    fn fingerprint(&self) -> &str {
        self.model.fingerprint()
    }

    fn device(&self) -> Device {
        self.on
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        let dim = self.dim();
        let ids: Vec<Vec<u32>> = texts
            .par_iter()
            .with_min_len(64)
            .map(|t| self.model.token_ids(t))
            .collect::<Result<_, _>>()?;
        let tokens: usize = ids.iter().map(Vec::len).sum();
        let mut out = vec![0f32; texts.len() * dim];
        if tokens > 0 {
            let (mut rows, mut scale, mut text) = (
                Vec::with_capacity(tokens),
                Vec::with_capacity(tokens),
                Vec::with_capacity(tokens),
            );
            for (t, list) in ids.iter().enumerate() {
                let inv = 1.0 / list.len() as f32;
                for &id in list {
                    let (row, w) = self.model.row_of(id);
                    rows.push(row);
                    scale.push(w * inv);
                    text.push(t as u32);
                }
            }
            let device = self.table.device();
            let rows = Tensor::from_vec(rows, tokens, device)?;
            let scale = Tensor::from_vec(scale, (tokens, 1), device)?;
            let text = Tensor::from_vec(text, tokens, device)?;
            let gathered = self.table.index_select(&rows, 0)?.broadcast_mul(&scale)?;
            let means = Tensor::zeros((texts.len(), dim), DType::F32, device)?
                .index_add(&text, &gathered, 0)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            out = means;
        }
        if self.model.normalize() {
            normalize_rows(&mut out, dim);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::bundled::default_model;

    #[test]
    fn vectors_match_the_cpu_model() {
        let texts = [
            "The quick brown fox jumps over the lazy dog.",
            "",
            "zzqxj",
            "Deduplication removes near copies of rows from training data.",
            "Ünïcödé text, with CAPITALS and 123 numbers!",
        ];
        let cpu = default_model().unwrap();
        let want = cpu.encode(&texts).unwrap();
        let device = DeviceStaticModel::new(default_model().unwrap(), Device::CandleCpu).unwrap();
        assert_eq!(device.fingerprint(), cpu.fingerprint());
        assert_eq!(device.device(), Device::CandleCpu);
        let got = device.encode(&texts).unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() < 1e-6, "value {i}: {a} vs {b}");
        }
        // The empty text has no token: a zero vector, as on the CPU.
        let dim = cpu.dim();
        assert!(got[dim..2 * dim].iter().all(|&x| x == 0.0));
    }
}
