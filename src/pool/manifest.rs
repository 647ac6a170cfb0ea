//! The pool's manifest, `pool.json`: its settings and the segments that hold its rows.
//!
//! The manifest is the pool's only mutable file and the point where a change becomes
//! visible: a writer writes new segment folders first, then replaces the manifest
//! atomically (written beside it, synced, renamed over it, folder synced). A reader that
//! opens the pool at any moment sees the old manifest or the new one, and every segment
//! either names is complete. The file is a JSON line followed by a line
//! `xxh3:<16 hex digits>`, the checksum of the first line's bytes, so a damaged manifest
//! is told from an old one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::error::{io, PoolError};
use crate::atomic::AtomicFile;

/// The manifest's name in the pool folder.
pub(crate) const MANIFEST_FILE: &str = "pool.json";
/// The manifest format this build writes and the newest it reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// The value of the manifest's `format` field.
const FORMAT: &str = "semsift-pool";

/// What a pool is: fixed when it is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolSettings {
    /// The fingerprint of the model its vectors come from ([`Encoder::fingerprint`](crate::embed::Encoder::fingerprint)).
    pub model: String,
    /// The model's folder as given at creation (`None`: the bundled default model).
    pub model_path: Option<PathBuf>,
    /// Values per vector.
    pub dim: usize,
    /// The columns whose texts are embedded, in order.
    pub columns: Vec<String>,
    /// A candidate at least this similar to a pool row (or to a candidate accepted before
    /// it) is rejected.
    pub threshold: f32,
    /// Segments of at least this many rows get cells (an approximate search); smaller ones
    /// are scanned whole. `u64::MAX`: every search exact.
    #[serde(default = "default_index_rows")]
    pub index_rows: u64,
}

/// The default [`PoolSettings::index_rows`].
pub const INDEX_ROWS: u64 = 1 << 16;

fn default_index_rows() -> u64 {
    INDEX_ROWS
}

/// One segment as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SegmentEntry {
    /// The segment's folder under `segments/`.
    pub name: String,
    /// Id of its first row (rows are numbered from 0 in the order they were accepted).
    pub first_id: u64,
    /// Rows it holds.
    pub rows: u64,
    /// XXH3-64 of its vector data (as its vector file's header records it).
    pub vectors_checksum: u64,
    /// Bytes of its rows file.
    pub rows_bytes: u64,
    /// XXH3-64 of its rows file.
    pub rows_checksum: u64,
    /// XXH3-64 of its keys file.
    pub keys_checksum: u64,
    /// XXH3-64 of its cells file, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells_checksum: Option<u64>,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    format: String,
    version: u32,
    pub settings: PoolSettings,
    /// The number the next segment's folder gets.
    pub next_segment: u64,
    /// Segments in id order: each starts where the one before ends.
    pub segments: Vec<SegmentEntry>,
}

impl Manifest {
    /// An empty pool's manifest.
    pub fn new(settings: PoolSettings) -> Self {
        Manifest {
            format: FORMAT.to_string(),
            version: FORMAT_VERSION,
            settings,
            next_segment: 0,
            segments: Vec::new(),
        }
    }

    /// Rows in the pool.
    pub fn rows(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.first_id + s.rows)
    }

    /// Reads and checks the manifest of the pool in `dir`.
    pub fn read(dir: &Path) -> Result<Self, PoolError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PoolError::NotAPool {
                    path: dir.to_path_buf(),
                })
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let bad = |reason: String| PoolError::BadManifest {
            path: path.clone(),
            reason,
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| bad(format!("not UTF-8: {e}")))?;
        let mut lines = text.lines();
        let (Some(body), Some(sum), None) = (lines.next(), lines.next(), lines.next()) else {
            return Err(bad(
                "expected two lines: the JSON body and its checksum".into()
            ));
        };
        let stored = sum
            .strip_prefix("xxh3:")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| bad(format!("line 2 is not `xxh3:<hex>`: {sum:?}")))?;
        let computed = xxh3_64(body.as_bytes());
        if stored != computed {
            return Err(bad(format!(
                "checksum {stored:016x} recorded, {computed:016x} computed"
            )));
        }
        let head: serde_json::Value =
            serde_json::from_str(body).map_err(|e| bad(format!("line 1: {e}")))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(bad(format!("field `format` is not {FORMAT:?}")));
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version > u64::from(FORMAT_VERSION) {
            return Err(PoolError::NewerVersion {
                path,
                found: version as u32,
                supported: FORMAT_VERSION,
            });
        }
        let manifest: Manifest =
            serde_json::from_value(head).map_err(|e| bad(format!("line 1: {e}")))?;
        manifest.check().map_err(bad)?;
        Ok(manifest)
    }

    /// Checks that the segments follow one another.
    fn check(&self) -> Result<(), String> {
        let mut next = 0;
        for s in &self.segments {
            if s.first_id != next {
                return Err(format!(
                    "segment {} starts at row {}, expected {next}",
                    s.name, s.first_id
                ));
            }
            next += s.rows;
        }
        Ok(())
    }

    /// Replaces the manifest of the pool in `dir` with this one, atomically and durably.
    pub fn write(&self, dir: &Path) -> Result<(), PoolError> {
        let path = dir.join(MANIFEST_FILE);
        let body = serde_json::to_string(self).expect("a manifest serialises");
        let mut file = AtomicFile::create(&path).map_err(io(&path))?;
        writeln!(file, "{body}\nxxh3:{:016x}", xxh3_64(body.as_bytes())).map_err(io(&path))?;
        file.commit().map_err(io(&path))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let mut m = Manifest::new(PoolSettings {
            model: "m".into(),
            model_path: None,
            dim: 4,
            columns: vec!["text".into()],
            threshold: 0.9,
            index_rows: INDEX_ROWS,
        });
        m.segments.push(SegmentEntry {
            name: "00000000".into(),
            first_id: 0,
            rows: 3,
            vectors_checksum: 1,
            rows_bytes: 2,
            rows_checksum: 3,
            keys_checksum: 4,
            cells_checksum: None,
        });
        m
    }

    #[test]
    fn a_manifest_reads_back_as_written() {
        let tmp = tempfile::tempdir().unwrap();
        let m = manifest();
        m.write(tmp.path()).unwrap();
        assert_eq!(Manifest::read(tmp.path()).unwrap(), m);
        assert_eq!(m.rows(), 3);
    }

    #[test]
    fn a_damaged_manifest_is_refused_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        manifest().write(tmp.path()).unwrap();
        let path = tmp.path().join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"rows\":3", "\"rows\":4")).unwrap();
        let err = Manifest::read(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("checksum") && err.contains("pool.json"),
            "{err}"
        );
        std::fs::write(&path, "{}").unwrap();
        let err = Manifest::read(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("two lines"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            Manifest::read(empty.path()),
            Err(PoolError::NotAPool { .. })
        ));
    }

    #[test]
    fn a_newer_manifest_is_refused_by_version() {
        let tmp = tempfile::tempdir().unwrap();
        let mut m = manifest();
        m.version = FORMAT_VERSION + 1;
        m.write(tmp.path()).unwrap();
        assert!(matches!(
            Manifest::read(tmp.path()),
            Err(PoolError::NewerVersion { found, .. }) if found == FORMAT_VERSION + 1
        ));
    }
}
