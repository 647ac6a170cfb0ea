//! Merging segments as the pool grows, so a pool of `n` rows added in batches of `b`
//! holds about `log₂(n / b)` segments.

use super::error::io;
use super::manifest::SegmentEntry;
use super::segment::{Segment, SegmentData, SegmentWriter};
use super::{Pool, PoolError};

/// Rows widened at a time while merging.
const MERGE_CHUNK: usize = 1 << 16;

impl Pool {
    /// Merges the smallest run of segments at the end that outnumbers (in rows) the
    /// segment before it, into one, until none does.
    pub(super) fn merge(&mut self) -> Result<(), PoolError> {
        loop {
            let rows: Vec<u64> = self.segments.iter().map(|s| s.entry.rows).collect();
            let Some(from) = merge_start(&rows) else {
                return Ok(());
            };
            self.merge_from(from)?;
        }
    }

    /// Rewrites segments `from..` as one.
    fn merge_from(&mut self, from: usize) -> Result<(), PoolError> {
        let dim = self.settings().dim;
        let run = &self.segments[from..];
        let total: u64 = run.iter().map(|s| s.entry.rows).sum();
        tracing::debug!(segments = run.len(), rows = total, "merging pool segments");
        let name = format!("{:08}", self.manifest.next_segment);
        let s = &self.manifest.settings;
        let mut writer = SegmentWriter::create(
            &self.dir,
            &name,
            run[0].entry.first_id,
            s.dim,
            &s.model,
            s.index_rows,
        )?;
        // The writer appends vectors, rows and keys as separate streams: each segment's
        // vectors go in chunks (never all of the run widened at once), then its rows and
        // keys.
        let mut vectors = Vec::new();
        for seg in run {
            let halves = seg.vectors.as_f16().expect("pool segments hold f16");
            // Where each row's vector is stored (cell by cell in a segment with cells).
            let position: Option<Vec<u32>> =
                seg.cells.as_ref().filter(|c| c.cell_order()).map(|c| {
                    let mut at = vec![0u32; c.order().len()];
                    for (p, &r) in c.order().iter().enumerate() {
                        at[r as usize] = p as u32;
                    }
                    at
                });
            let rows = seg.entry.rows as usize;
            for start in (0..rows).step_by(MERGE_CHUNK) {
                let end = (start + MERGE_CHUNK).min(rows);
                vectors.resize((end - start) * dim, 0.0);
                for (r, out) in (start..end).zip(vectors.chunks_exact_mut(dim)) {
                    let v = position.as_ref().map_or(r, |at| at[r] as usize);
                    crate::linalg::widen_scaled(&halves[v * dim..(v + 1) * dim], 1.0, out);
                }
                writer.push(&SegmentData {
                    vectors: &vectors,
                    rows: &[],
                    keys: &[],
                })?;
            }
            let mut rows = Vec::new();
            seg.copy_rows(&mut rows)?;
            writer.push(&SegmentData {
                vectors: &[],
                rows: &rows,
                keys: &seg.keys_in_id_order(),
            })?;
        }
        let merged = writer.finish()?;
        self.pause_point("merge");
        let mut next = self.manifest.clone();
        next.next_segment += 1;
        let old: Vec<SegmentEntry> = next.segments.drain(from..).collect();
        next.segments.push(merged.entry.clone());
        next.write(&self.dir)?;
        self.manifest = next;
        self.segments.truncate(from);
        self.segments.push(merged);
        for e in old {
            let path = Segment::dir_of(&self.dir, &e.name);
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        Ok(())
    }

    /// A hook for crash tests: with `SEMSIFT_POOL_PAUSE` set to `at`, the writer leaves a
    /// file `paused` in the pool folder and waits there for ten minutes, for the test to
    /// kill it at that point (`merge`: the merged segment written, not yet named).
    fn pause_point(&self, at: &str) {
        if std::env::var("SEMSIFT_POOL_PAUSE").is_ok_and(|v| v == at) {
            let _ = std::fs::write(self.dir.join("paused"), at);
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
    }
}

/// Where the merge of segments of `rows` rows each should start: the lowest `i` whose
/// following segments hold at least as many rows as it does.
pub(super) fn merge_start(rows: &[u64]) -> Option<usize> {
    let mut after = 0;
    let mut start = None;
    for i in (0..rows.len()).rev() {
        if i + 1 < rows.len() && rows[i] <= after {
            start = Some(i);
        }
        after += rows[i];
    }
    start
}
