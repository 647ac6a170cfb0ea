//! Merging segments as the pool grows, so a pool of `n` rows added in batches of `b`
//! holds about `log₂(n / b)` segments.

use super::error::io;
use super::manifest::SegmentEntry;
use super::segment::{Segment, SegmentData};
use super::{Pool, PoolError};

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
        let mut vectors = Vec::with_capacity(total as usize * dim);
        let mut rows = Vec::new();
        let mut keys = Vec::with_capacity(total as usize);
        for s in run {
            let halves = s.vectors.as_f16().expect("pool segments hold f16");
            let at = vectors.len();
            vectors.resize(at + halves.len(), 0.0);
            crate::linalg::widen_scaled(halves, 1.0, &mut vectors[at..]);
            s.copy_rows(&mut rows)?;
            keys.extend(s.keys_in_id_order());
        }
        let name = format!("{:08}", self.manifest.next_segment);
        let first_id = run[0].entry.first_id;
        let s = &self.manifest.settings;
        let data = SegmentData {
            vectors: &vectors,
            rows: &rows,
            keys: &keys,
        };
        let merged = Segment::write(
            &self.dir,
            &name,
            first_id,
            s.dim,
            &s.model,
            s.index_rows,
            &data,
        )?;
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
