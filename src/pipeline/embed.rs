//! Stages strung together: read a dataset in chunks, embed each chunk, hand
//! the vectors to a sink.

use std::time::{Duration, Instant};

use crate::dataset::Reader;
use crate::embed::{EmbedError, Encoder};
use crate::progress::Progress;
use crate::Error;

/// What [`embed_dataset`] did.
#[derive(Debug, Clone, Default)]
pub struct EmbedStats {
    /// Rows read and embedded.
    pub rows: u64,
    /// Width of each output row (`encoder.dim() × columns`).
    pub dim: usize,
    /// Time spent reading and parsing input.
    pub read_time: Duration,
    /// Time spent in the encoder.
    pub embed_time: Duration,
}

/// Reads every row of `reader`, embeds each requested column with `encoder`,
/// and passes row-major vectors to `sink` in input order, `chunk_rows` rows at
/// a time.
///
/// With several columns each column is embedded on its own and the vectors
/// are concatenated in column order (SemHash's multi-column rule), so each
/// output row is `encoder.dim() × columns` wide.
pub fn embed_dataset(
    reader: &mut Reader,
    encoder: &dyn Encoder,
    columns: usize,
    chunk_rows: usize,
    progress: &dyn Progress,
    mut sink: impl FnMut(&[f32]) -> Result<(), Error>,
) -> Result<EmbedStats, Error> {
    let dim = encoder.dim();
    let mut stats = EmbedStats {
        dim: dim * columns,
        ..Default::default()
    };
    let mut out = Vec::new();
    progress.begin("embed", None);
    loop {
        if progress.cancelled() {
            return Err(EmbedError::Cancelled.into());
        }
        let t = Instant::now();
        let batch = reader.next_batch(chunk_rows.max(1))?;
        stats.read_time += t.elapsed();
        if batch.is_empty() {
            break;
        }
        let t = Instant::now();
        out.clear();
        out.resize(batch.len() * stats.dim, 0.0);
        for c in 0..columns {
            let texts: Vec<&str> = batch.iter().map(|r| r.texts[c].as_str()).collect();
            let vectors = encoder.encode(&texts)?;
            for (row, v) in vectors.chunks_exact(dim).enumerate() {
                let at = row * stats.dim + c * dim;
                out[at..at + dim].copy_from_slice(v);
            }
        }
        stats.embed_time += t.elapsed();
        sink(&out)?;
        stats.rows += batch.len() as u64;
        progress.advance(batch.len() as u64);
    }
    progress.end();
    tracing::info!(
        rows = stats.rows,
        read_s = stats.read_time.as_secs_f64(),
        embed_s = stats.embed_time.as_secs_f64(),
        "embedded dataset"
    );
    Ok(stats)
}
