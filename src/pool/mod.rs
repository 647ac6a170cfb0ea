//! A persistent, growing pool of rows for generation loops: candidates are accepted only
//! when they are new relative to everything accepted so far.
//!
//! Self-Instruct, Evol-Instruct and DEITA-style loops propose candidates, reject those too
//! similar to the pool (and to test sets), and grow the pool with the rest. [`Pool`] does
//! this on disk:
//!
//! - [`Pool::add`] decides a batch of candidates in order: each is compared with the pool
//!   **and with the candidates accepted before it in the same call**, and is rejected
//!   when one of them is at least the pool's threshold similar (or has the same text), or
//!   when a row of a read-only *blocklist* pool is. The accepted ones are appended. So
//!   adding rows batch by batch accepts exactly the rows one `semsift dedup --index exact
//!   --precision f16` of their concatenation keeps: both compare `f16` vectors widened
//!   and scaled back to unit length, and rescore with [`crate::linalg::dot`].
//! - [`Pool::query`] returns the nearest pool rows of any texts.
//!
//! # On disk
//!
//! ```text
//! DIR/pool.json            the manifest: settings and segments (replaced atomically)
//! DIR/LOCK                 the writer lock
//! DIR/segments/<NAME>/     immutable segments: vectors.svec, rows.jsonl, keys.bin
//! ```
//!
//! An `add` writes its accepted rows as a new segment, synced, then replaces the manifest:
//! when it returns they are on disk, and a crash at any point leaves the pool as it was
//! before the call or after it. Segments are merged as the pool grows (the smallest run
//! at the end whose rows outnumber the segment before it), so a pool of `n` rows added in
//! batches of `b` holds about `log₂(n / b)` segments and every row is rewritten about as
//! many times. One writer at a time holds `LOCK`; readers need no lock.

mod cells;
mod decide;
mod error;
mod lock;
mod manifest;
mod merge;
mod search;
mod segment;

use std::path::{Path, PathBuf};

pub use error::PoolError;
pub use manifest::{PoolSettings, INDEX_ROWS};
pub use search::Hit;

use error::io;
use lock::WriterLock;
use manifest::Manifest;
use search::{narrow, nearest, widen_unit};
use segment::{Segment, SegmentData, SegmentWriter, SEGMENTS_DIR};

/// Where a candidate's nearest row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A row of the pool before the call.
    Pool,
    /// A candidate accepted earlier in the same call.
    Batch,
}

/// The nearest row a candidate was compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// Its id in the pool (candidates accepted earlier in the call have theirs already).
    pub id: u64,
    /// Its similarity ([`crate::linalg::dot`] of the canonical vectors; 1 for the same
    /// text).
    pub score: f32,
    /// Whether its text is the candidate's, byte for byte.
    pub exact: bool,
    /// Where it is.
    pub source: Source,
}

/// A row of a blocklist pool that a candidate matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blocked {
    /// Which blocklist (its position in the list passed to [`Pool::add`]).
    pub blocklist: usize,
    /// The row's id in that pool.
    pub id: u64,
    /// Its similarity (1 for the same text).
    pub score: f32,
    /// Whether its text is the candidate's, byte for byte.
    pub exact: bool,
}

/// What [`Pool::add`] decided for one candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The id it got when accepted; `None` when rejected.
    pub id: Option<u64>,
    /// The most similar row of the pool or of the candidates accepted before it (ties:
    /// the earliest; a row with the same text comes first). `None` only for the first
    /// candidate of an empty pool.
    pub nearest: Option<Nearest>,
    /// The most similar blocklist row at or above the threshold (the first blocklist
    /// that has one), when any.
    pub blocked: Option<Blocked>,
}

impl Verdict {
    /// Whether the candidate was accepted.
    pub fn accepted(&self) -> bool {
        self.id.is_some()
    }
}

/// Candidates for [`Pool::add`]: unit vectors, exact-text keys and rows, in order.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    /// Unit vectors from the pool's model, row-major.
    pub vectors: &'a [f32],
    /// Each candidate's [`row_key`](crate::dedup::row_key) over the pool's columns.
    pub keys: &'a [u128],
    /// Each candidate's row: a JSON object (one line), stored and exported as given.
    pub rows: &'a [String],
}

/// Figures about a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolStats {
    /// Rows in the pool.
    pub rows: u64,
    /// Segments holding them.
    pub segments: usize,
    /// Bytes of all its files.
    pub disk_bytes: u64,
}

/// A pool, open for reading (any number at a time) or for writing (one at a time).
#[derive(Debug)]
pub struct Pool {
    dir: PathBuf,
    manifest: Manifest,
    segments: Vec<Segment>,
    lock: Option<WriterLock>,
}

impl Pool {
    /// Creates an empty pool in `dir` (created if missing) and opens it for writing.
    ///
    /// # Errors
    /// [`PoolError::Exists`] when `dir` already holds a pool; [`PoolError::Io`].
    pub fn create(dir: &Path, settings: PoolSettings) -> Result<Pool, PoolError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = WriterLock::acquire(dir)?;
        if dir.join(manifest::MANIFEST_FILE).exists() {
            return Err(PoolError::Exists {
                path: dir.to_path_buf(),
            });
        }
        if !(settings.threshold > -1.0 && settings.threshold <= 1.0) || settings.dim == 0 {
            return Err(PoolError::Mismatch {
                path: dir.to_path_buf(),
                reason: format!(
                    "threshold {} must be in (-1, 1] and dim {} above 0",
                    settings.threshold, settings.dim
                ),
            });
        }
        let manifest = Manifest::new(settings);
        manifest.write(dir)?;
        tracing::info!(pool = %dir.display(), "created pool");
        Ok(Pool {
            dir: dir.to_path_buf(),
            manifest,
            segments: Vec::new(),
            lock: Some(lock),
        })
    }

    /// Opens the pool in `dir` for reading: no lock is taken, and a writer may go on
    /// adding rows (this handle keeps seeing the rows it opened with).
    pub fn open(dir: &Path) -> Result<Pool, PoolError> {
        // A writer may replace the manifest and remove merged segments between our reading
        // the manifest and opening them: read it again then.
        let mut tries = 0;
        loop {
            let manifest = Manifest::read(dir)?;
            match Self::open_segments(dir, &manifest) {
                Ok(segments) => {
                    return Ok(Pool {
                        dir: dir.to_path_buf(),
                        manifest,
                        segments,
                        lock: None,
                    })
                }
                Err(e) if tries < 3 && Manifest::read(dir).ok().as_ref() != Some(&manifest) => {
                    tracing::debug!("pool changed while opening, reading it again: {e}");
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens the pool in `dir` for writing: takes its lock (or fails at once naming the
    /// holder) and removes what an interrupted writer left (segments the manifest does
    /// not name, partial files).
    pub fn open_writer(dir: &Path) -> Result<Pool, PoolError> {
        let lock = WriterLock::acquire(dir)?;
        let manifest = Manifest::read(dir)?;
        let segments = Self::open_segments(dir, &manifest)?;
        let mut pool = Pool {
            dir: dir.to_path_buf(),
            manifest,
            segments,
            lock: Some(lock),
        };
        pool.remove_unnamed()?;
        Ok(pool)
    }

    fn open_segments(dir: &Path, manifest: &Manifest) -> Result<Vec<Segment>, PoolError> {
        let s = &manifest.settings;
        manifest
            .segments
            .iter()
            .map(|e| Segment::open(dir, e, s.dim, &s.model))
            .collect()
    }

    /// Removes segment folders the manifest does not name and partial files: what a
    /// writer interrupted before (or after) replacing the manifest left behind.
    fn remove_unnamed(&mut self) -> Result<(), PoolError> {
        let parent = self.dir.join(SEGMENTS_DIR);
        let entries = match std::fs::read_dir(&parent) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&parent)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&parent))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !self.manifest.segments.iter().any(|s| s.name == name) {
                tracing::info!(segment = %name, "removing a segment the manifest does not name");
                let path = entry.path();
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
        let partial = crate::atomic::partial_path(&self.dir.join(manifest::MANIFEST_FILE));
        if partial.exists() {
            std::fs::remove_file(&partial).map_err(io(&partial))?;
        }
        Ok(())
    }

    /// The pool's settings.
    pub fn settings(&self) -> &PoolSettings {
        &self.manifest.settings
    }

    /// The pool's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rows in the pool.
    pub fn len(&self) -> u64 {
        self.manifest.rows()
    }

    /// Whether the pool holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows, segments and bytes on disk.
    pub fn stats(&self) -> Result<PoolStats, PoolError> {
        Ok(PoolStats {
            rows: self.len(),
            segments: self.segments.len(),
            disk_bytes: dir_bytes(&self.dir)?,
        })
    }

    /// Reads every segment in full and checks every checksum.
    pub fn verify(&self) -> Result<(), PoolError> {
        self.segments.iter().try_for_each(Segment::verify)
    }

    /// Calls `each(id, row)` for every row in id order (the row as stored: one JSON
    /// object).
    pub fn for_each_row(
        &self,
        mut each: impl FnMut(u64, &str) -> Result<(), PoolError>,
    ) -> Result<(), PoolError> {
        for s in &self.segments {
            s.for_each_row(&mut each)?;
        }
        Ok(())
    }

    /// For each row of `vectors` (unit vectors from the pool's model), its `k` nearest
    /// pool rows, most similar first (ties: the earliest).
    pub fn query(&self, vectors: &[f32], k: usize) -> Result<Vec<Vec<Hit>>, PoolError> {
        let dim = self.check_dim(vectors)?;
        let mut canon = Vec::new();
        widen_unit(&narrow(vectors), dim, &mut canon);
        let mut found = vec![Vec::new(); vectors.len() / dim];
        for s in &self.segments {
            for (all, more) in found.iter_mut().zip(self.segment_nearest(s, &canon, k)?) {
                all.extend(more);
                sort_hits(all, k);
            }
        }
        Ok(found)
    }

    /// The number of `rows` and their width, once they are whole vectors of the pool's
    /// width with one key and one stored row each.
    fn check_shapes(&self, rows: &Candidates<'_>) -> Result<(usize, usize), PoolError> {
        let dim = self.check_dim(rows.vectors)?;
        let n = rows.vectors.len() / dim;
        if rows.keys.len() != n || rows.rows.len() != n {
            return Err(self.mismatch(format!(
                "{n} vectors, {} keys and {} rows: one of each per row",
                rows.keys.len(),
                rows.rows.len()
            )));
        }
        Ok((n, dim))
    }

    fn check_dim(&self, vectors: &[f32]) -> Result<usize, PoolError> {
        let dim = self.settings().dim;
        if !vectors.len().is_multiple_of(dim) {
            return Err(PoolError::Mismatch {
                path: self.dir.clone(),
                reason: format!(
                    "{} values are not whole vectors of the pool's {dim}",
                    vectors.len()
                ),
            });
        }
        Ok(dim)
    }

    /// The `k` nearest rows of segment `s` to each canonical vector of `canon`.
    fn segment_nearest(
        &self,
        s: &Segment,
        canon: &[f32],
        k: usize,
    ) -> Result<Vec<Vec<Hit>>, PoolError> {
        let dim = self.settings().dim;
        let halves = s.vectors.as_f16().expect("pool segments hold f16");
        if let Some(cells) = &s.cells {
            return cells.nearest(halves, dim, s.entry.first_id, canon, k);
        }
        let fill = |r: std::ops::Range<usize>, buf: &mut Vec<f32>| {
            widen_unit(&halves[r.start * dim..r.end * dim], dim, buf)
        };
        Ok(nearest(
            canon,
            dim,
            k,
            s.entry.rows as usize,
            s.entry.first_id,
            &fill,
        ))
    }

    /// Decides `candidates` against the pool and `blocklists` (other pools, read-only,
    /// from the same model) and appends the accepted ones as a new segment, on disk when
    /// this returns. See the [module docs](self).
    ///
    /// # Errors
    /// [`PoolError::Mismatch`] when the pool is open for reading only, or the
    /// candidates' shapes or a blocklist's model do not fit; [`PoolError::Io`] and
    /// [`PoolError::Store`] when writing fails (the pool is then as before the call).
    pub fn add(
        &mut self,
        candidates: Candidates<'_>,
        blocklists: &[&Pool],
    ) -> Result<Vec<Verdict>, PoolError> {
        self.check_writer()?;
        let verdicts = self.decide(candidates, blocklists)?;
        let dim = self.settings().dim;
        let accepted: Vec<usize> = (0..verdicts.len())
            .filter(|&i| verdicts[i].accepted())
            .collect();
        if !accepted.is_empty() {
            let mut vectors = Vec::with_capacity(accepted.len() * dim);
            let mut rows = Vec::new();
            let mut keys = Vec::with_capacity(accepted.len());
            for &i in &accepted {
                vectors.extend_from_slice(&candidates.vectors[i * dim..(i + 1) * dim]);
                rows.extend_from_slice(candidates.rows[i].as_bytes());
                rows.push(b'\n');
                keys.push(candidates.keys[i]);
            }
            self.append(&SegmentData {
                vectors: &vectors,
                rows: &rows,
                keys: &keys,
            })?;
            self.merge()?;
        }
        Ok(verdicts)
    }

    /// Appends `rows` as they are, without deciding them: for seeding a pool with rows
    /// already deduplicated (say, `semsift dedup`'s kept rows). Returns the first new id.
    /// Near copies among them stay; later adds are decided against all of them.
    pub fn import(&mut self, rows: Candidates<'_>) -> Result<u64, PoolError> {
        let mut importer = self.importer()?;
        importer.push(rows)?;
        importer.finish()
    }

    /// [`import`](Self::import) a chunk of rows at a time, into one new segment: for
    /// files larger than memory. The rows count once [`Importer::finish`] returns.
    pub fn importer(&mut self) -> Result<Importer<'_>, PoolError> {
        self.check_writer()?;
        let name = format!("{:08}", self.manifest.next_segment);
        let s = &self.manifest.settings;
        let writer =
            SegmentWriter::create(&self.dir, &name, self.len(), s.dim, &s.model, s.index_rows)?;
        Ok(Importer { pool: self, writer })
    }

    fn mismatch(&self, reason: String) -> PoolError {
        PoolError::Mismatch {
            path: self.dir.clone(),
            reason,
        }
    }

    fn check_writer(&self) -> Result<(), PoolError> {
        match self.lock {
            Some(_) => Ok(()),
            None => Err(self.mismatch(
                "opened for reading only: open it with Pool::open_writer to add rows".into(),
            )),
        }
    }

    /// Writes `data` as the next segment and names it in the manifest.
    fn append(&mut self, data: &SegmentData<'_>) -> Result<(), PoolError> {
        self.check_writer()?;
        let name = format!("{:08}", self.manifest.next_segment);
        let s = &self.manifest.settings;
        let segment = Segment::write(
            &self.dir,
            &name,
            self.len(),
            s.dim,
            &s.model,
            s.index_rows,
            data,
        )?;
        self.name_segment(segment)
    }

    /// Names the new `segment` (the next one) in the manifest: the commit point.
    fn name_segment(&mut self, segment: Segment) -> Result<(), PoolError> {
        let mut next = self.manifest.clone();
        next.next_segment += 1;
        next.segments.push(segment.entry.clone());
        next.write(&self.dir)?;
        self.manifest = next;
        self.segments.push(segment);
        Ok(())
    }
}

/// Rows imported into a pool a chunk at a time ([`Pool::importer`]).
pub struct Importer<'p> {
    pool: &'p mut Pool,
    writer: SegmentWriter,
}

impl Importer<'_> {
    /// Appends rows (not decided; see [`Pool::import`]).
    pub fn push(&mut self, rows: Candidates<'_>) -> Result<(), PoolError> {
        self.pool.check_shapes(&rows)?;
        let mut bytes = Vec::new();
        for r in rows.rows {
            bytes.extend_from_slice(r.as_bytes());
            bytes.push(b'\n');
        }
        self.writer.push(&SegmentData {
            vectors: rows.vectors,
            rows: &bytes,
            keys: rows.keys,
        })
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.writer.rows()
    }

    /// Finishes the segment, names it in the manifest (the rows count from then on) and
    /// merges as after an add. Returns the first new id.
    pub fn finish(self) -> Result<u64, PoolError> {
        let first = self.pool.len();
        if self.writer.rows() == 0 {
            return Ok(first);
        }
        let segment = self.writer.finish()?;
        self.pool.name_segment(segment)?;
        self.pool.merge()?;
        Ok(first)
    }
}

/// Sorts hits best first (see [`Hit::beats`]) and keeps `k`.
fn sort_hits(hits: &mut Vec<Hit>, k: usize) {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits.truncate(k);
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> Result<u64, PoolError> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let meta = entry.metadata().map_err(io(entry.path()))?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
