//! A static model whose table lookups and means run on a compute device.
//!
//! Tokenising stays on the CPU (in parallel, as [`StaticModel`] does it). The table is
//! copied to the device once, with one zero row appended. Each call sorts its texts by
//! token count and takes them in batches, each padded to its own longest text (padding
//! points at the zero row, with weight 0): the device gathers the rows (`index_select`),
//! scales them by weight over count, and sums each text's row of them — a plain
//! reduction. (Not `index_add` by text: candle's CUDA kernel runs one thread per output
//! column over every token.) The host normalises the means with [`normalize_rows`], as
//! [`StaticModel`] does. The vectors equal the CPU's up to the order of the `f32` sums
//! (within about 10⁻⁶), so the fingerprint is the model's.

use candle_core::Tensor;
use rayon::prelude::*;

use super::{Device, EmbedError, Encoder, StaticModel};
use crate::linalg::normalize_rows;

/// Token slots (texts × longest text) gathered per batch: 32 MiB of rows at 256 dims.
const BATCH_TOKENS: usize = 1 << 15;

/// A [`StaticModel`] encoding on a device: tokens on the CPU; the table's rows gathered,
/// weighted and averaged on the device, texts batched by length and padded to a zero row;
/// the means normalised on the host. Vectors equal the CPU model's up to the order of the
/// `f32` sums, so the fingerprint is the model's.
pub struct DeviceStaticModel {
    model: StaticModel,
    /// The table with a zero row last (where padding points).
    table: Tensor,
    zero_row: u32,
    on: Device,
}

impl DeviceStaticModel {
    /// Puts `model`'s table on `on`.
    pub fn new(model: StaticModel, on: Device) -> Result<Self, EmbedError> {
        let dim = model.dim();
        let rows = model.table().len() / dim.max(1);
        let mut table = model.table().to_vec();
        table.resize((rows + 1) * dim, 0.0);
        let table = Tensor::from_vec(table, (rows + 1, dim), &on.to_candle()?)?;
        Ok(DeviceStaticModel {
            model,
            table,
            zero_row: rows as u32,
            on,
        })
    }

    /// The sums of `batch`'s texts' weighted rows (`batch.len() × dim`, in order), each
    /// token weighted by its scale over its text's token count.
    fn batch_means(&self, batch: &[&Vec<u32>]) -> Result<Vec<f32>, EmbedError> {
        let longest = batch.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
        let slots = batch.len() * longest;
        let (mut rows, mut scale) = (Vec::with_capacity(slots), Vec::with_capacity(slots));
        for ids in batch {
            let inv = 1.0 / ids.len().max(1) as f32;
            for &id in ids.iter() {
                let (row, w) = self.model.row_of(id);
                rows.push(row);
                scale.push(w * inv);
            }
            rows.extend(std::iter::repeat_n(self.zero_row, longest - ids.len()));
            scale.extend(std::iter::repeat_n(0.0, longest - ids.len()));
        }
        let device = self.table.device();
        let rows = Tensor::from_vec(rows, slots, device)?;
        let scale = Tensor::from_vec(scale, (batch.len(), longest, 1), device)?;
        let means = self
            .table
            .index_select(&rows, 0)?
            .reshape((batch.len(), longest, self.dim()))?
            .broadcast_mul(&scale)?
            .sum(1)?;
        Ok(means.flatten_all()?.to_vec1::<f32>()?)
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
        // Longest first, so each batch pads little; batches of about BATCH_TOKENS slots.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut out = vec![0f32; texts.len() * dim];
        let mut at = 0;
        while at < order.len() {
            let longest = ids[order[at]].len().max(1);
            let take = (BATCH_TOKENS / longest).clamp(1, order.len() - at);
            let batch: Vec<&Vec<u32>> = order[at..at + take].iter().map(|&i| &ids[i]).collect();
            let means = self.batch_means(&batch)?;
            for (row, &i) in means.chunks_exact(dim).zip(&order[at..at + take]) {
                out[i * dim..(i + 1) * dim].copy_from_slice(row);
            }
            at += take;
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
