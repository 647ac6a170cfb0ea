//! Segments: the immutable folders that hold a pool's rows.
//!
//! A segment `segments/<NAME>/` holds a run of consecutive pool rows:
//!
//! - `vectors.svec`: their vectors, in the checksummed vector format of [`crate::store`]:
//!   in row order, or cell by cell when the segment has cells (`cells.bin`, see
//!   [`Cells`]);
//! - `rows.jsonl`: their rows, one JSON object per line, in id order;
//! - `keys.bin`: the exact-text key of each row ([`row_key`](crate::dedup::row_key)),
//!   sorted, as 24-byte records (key `u128`, id `u64`, little-endian), searched in place.
//!
//! A segment is written whole under `<NAME>.partial`, synced, and renamed into place; it
//! is never modified afterwards (merges write a new one), so it can stay memory-mapped
//! while any number of readers use it. A segment only counts once the manifest names it:
//! a folder a crash left unnamed is removed by the next writer.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::{xxh3_128, xxh3_64, Xxh3};

use super::cells::{Cells, CELLS_FILE};
use super::error::{io, PoolError};
use super::manifest::SegmentEntry;
use crate::atomic::AtomicDir;
use crate::store::mmap::MappedFile;
use crate::store::{Dtype, VectorFile, VectorWriter};

/// The folder under the pool folder that holds the segments.
pub(crate) const SEGMENTS_DIR: &str = "segments";
const VECTORS_FILE: &str = "vectors.svec";
/// The vectors in row order, while a segment with cells is written.
const ROW_ORDER_FILE: &str = "vectors.rows.svec";
/// Vectors copied at a time into cell order.
const REORDER_CHUNK: usize = 1 << 16;
const ROWS_FILE: &str = "rows.jsonl";
const KEYS_FILE: &str = "keys.bin";
/// Bytes per record of `keys.bin`.
const KEY_RECORD: usize = 24;

/// An open segment: its manifest entry and its memory-mapped vectors.
#[derive(Debug)]
pub(crate) struct Segment {
    pub entry: SegmentEntry,
    pub vectors: VectorFile,
    /// Its cells, when it is large enough to have them.
    pub cells: Option<Cells>,
    keys: MappedFile,
    dir: PathBuf,
}

/// What a new segment holds: vectors row-major and one JSON object line per row.
pub(crate) struct SegmentData<'a> {
    pub vectors: &'a [f32],
    /// The rows' lines, each a JSON object without its newline, concatenated with `\n`
    /// after each.
    pub rows: &'a [u8],
    /// Each row's exact-text key, in row order (one per row).
    pub keys: &'a [u128],
}

impl Segment {
    /// The folder of segment `name` in the pool folder `pool`.
    pub fn dir_of(pool: &Path, name: &str) -> PathBuf {
        pool.join(SEGMENTS_DIR).join(name)
    }

    /// Writes segment `name` (rows from id `first_id` on), with cells when it holds at
    /// least `index_rows` rows, synced and in place, and opens it.
    pub fn write(
        pool: &Path,
        name: &str,
        first_id: u64,
        dim: usize,
        fingerprint: &str,
        index_rows: u64,
        data: &SegmentData<'_>,
    ) -> Result<Segment, PoolError> {
        let mut w = SegmentWriter::create(pool, name, first_id, dim, fingerprint, index_rows)?;
        w.push(data)?;
        w.finish()
    }

    /// Opens the segment `entry` names, checking its vector file against the entry (rows,
    /// width, model, recorded checksum) and its rows file's length. The data itself is
    /// not read (see [`verify`](Self::verify)).
    pub fn open(
        pool: &Path,
        entry: &SegmentEntry,
        dim: usize,
        fingerprint: &str,
    ) -> Result<Segment, PoolError> {
        let dir = Self::dir_of(pool, &entry.name);
        let path = dir.join(VECTORS_FILE);
        let bad = |reason: String| PoolError::BadSegment {
            path: path.clone(),
            reason,
        };
        let vectors = VectorFile::open_unverified(&path)?;
        if vectors.rows() as u64 != entry.rows || vectors.dim() != dim {
            return Err(bad(format!(
                "{} rows of {} values; the manifest says {} rows of {dim}",
                vectors.rows(),
                vectors.dim(),
                entry.rows
            )));
        }
        if vectors.fingerprint() != fingerprint {
            return Err(bad(format!(
                "vectors from model {:?}; the pool's model is {fingerprint:?}",
                vectors.fingerprint()
            )));
        }
        if vectors.data_checksum() != entry.vectors_checksum {
            return Err(bad(format!(
                "data checksum {:016x}; the manifest says {:016x}",
                vectors.data_checksum(),
                entry.vectors_checksum
            )));
        }
        let rows_path = dir.join(ROWS_FILE);
        let len = fs::metadata(&rows_path).map_err(io(&rows_path))?.len();
        if len != entry.rows_bytes {
            return Err(PoolError::BadSegment {
                path: rows_path,
                reason: format!("{len} bytes; the manifest says {}", entry.rows_bytes),
            });
        }
        let keys_path = dir.join(KEYS_FILE);
        let keys = fs::File::open(&keys_path)
            .and_then(|f| MappedFile::map(&f))
            .map_err(io(&keys_path))?;
        if keys.bytes().len() as u64 != entry.rows * KEY_RECORD as u64 {
            return Err(PoolError::BadSegment {
                path: keys_path,
                reason: format!(
                    "{} bytes; {} rows need {}",
                    keys.bytes().len(),
                    entry.rows,
                    entry.rows * KEY_RECORD as u64
                ),
            });
        }
        let cells = match entry.cells_checksum {
            None => None,
            Some(sum) => {
                let path = dir.join(CELLS_FILE);
                let bytes = fs::read(&path).map_err(io(&path))?;
                let bad = |reason: String| PoolError::BadSegment {
                    path: path.clone(),
                    reason,
                };
                if xxh3_64(&bytes) != sum {
                    return Err(bad("checksum does not match the manifest".into()));
                }
                Some(Cells::from_bytes(&bytes, entry.rows as usize, dim).map_err(bad)?)
            }
        };
        Ok(Segment {
            entry: entry.clone(),
            vectors,
            cells,
            keys,
            dir,
        })
    }

    /// Reads every byte of the segment and checks its files' checksums.
    pub fn verify(&self) -> Result<(), PoolError> {
        VectorFile::open(self.vectors.path())?;
        if xxh3_64(self.keys.bytes()) != self.entry.keys_checksum {
            return Err(PoolError::BadSegment {
                path: self.dir.join(KEYS_FILE),
                reason: "keys checksum does not match the manifest".into(),
            });
        }
        let path = self.rows_path();
        let bytes = fs::read(&path).map_err(io(&path))?;
        let sum = xxh3_64(&bytes);
        if sum != self.entry.rows_checksum {
            return Err(PoolError::BadSegment {
                path,
                reason: format!(
                    "rows checksum {sum:016x}; the manifest says {:016x}",
                    self.entry.rows_checksum
                ),
            });
        }
        Ok(())
    }

    /// Record `i` of `keys.bin`: a key and its row's id.
    fn key_record(&self, i: usize) -> (u128, u64) {
        let r = &self.keys.bytes()[i * KEY_RECORD..(i + 1) * KEY_RECORD];
        let k = u128::from_le_bytes(r[..16].try_into().expect("16 bytes"));
        let id = u64::from_le_bytes(r[16..].try_into().expect("8 bytes"));
        (k, id)
    }

    /// Every row's key, in id order.
    pub fn keys_in_id_order(&self) -> Vec<u128> {
        let mut keys = vec![0u128; self.entry.rows as usize];
        for i in 0..keys.len() {
            let (k, id) = self.key_record(i);
            keys[(id - self.entry.first_id) as usize] = k;
        }
        keys
    }

    /// The lowest id of a row whose exact-text key is `key`, if the segment holds one.
    pub fn find_key(&self, key: u128) -> Option<u64> {
        let record = |i: usize| self.key_record(i);
        let n = self.keys.bytes().len() / KEY_RECORD;
        // The first record at or after (key, 0): records sort by key, then id.
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if record(mid).0 < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < n && record(lo).0 == key).then(|| record(lo).1)
    }

    /// The rows file.
    pub fn rows_path(&self) -> PathBuf {
        self.dir.join(ROWS_FILE)
    }

    /// Calls `each(id, line)` for every row, in order (the line without its newline),
    /// checking the rows file's checksum as it goes.
    pub fn for_each_row(
        &self,
        mut each: impl FnMut(u64, &str) -> Result<(), PoolError>,
    ) -> Result<(), PoolError> {
        let path = self.rows_path();
        let file = fs::File::open(&path).map_err(io(&path))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = String::new();
        let mut hash = Xxh3::new();
        let mut id = self.entry.first_id;
        loop {
            line.clear();
            let n = reader.read_line(&mut line).map_err(io(&path))?;
            if n == 0 {
                break;
            }
            hash.update(line.as_bytes());
            each(id, line.trim_end_matches('\n'))?;
            id += 1;
        }
        let bad = |reason: String| PoolError::BadSegment {
            path: path.clone(),
            reason,
        };
        if id - self.entry.first_id != self.entry.rows {
            return Err(bad(format!(
                "{} rows; the manifest says {}",
                id - self.entry.first_id,
                self.entry.rows
            )));
        }
        if hash.digest() != self.entry.rows_checksum {
            return Err(bad("rows checksum does not match the manifest".into()));
        }
        Ok(())
    }

    /// Appends the rows file's bytes to `out`.
    pub fn copy_rows(&self, out: &mut impl Write) -> Result<(), PoolError> {
        let path = self.rows_path();
        let mut file = fs::File::open(&path).map_err(io(&path))?;
        std::io::copy(&mut file, out).map_err(io(&path))?;
        Ok(())
    }
}

/// A segment written a chunk of rows at a time ([`push`](Self::push)), then made whole and
/// put in place by [`finish`](Self::finish); dropped unfinished, it leaves nothing.
pub(crate) struct SegmentWriter {
    folder: AtomicDir,
    pool: PathBuf,
    name: String,
    first_id: u64,
    dim: usize,
    fingerprint: String,
    index_rows: u64,
    vectors: VectorWriter,
    rows: std::io::BufWriter<fs::File>,
    rows_hash: Xxh3,
    rows_bytes: u64,
    keys: Vec<u128>,
}

impl SegmentWriter {
    /// Starts segment `name` of the pool in `pool` (rows from id `first_id` on).
    pub fn create(
        pool: &Path,
        name: &str,
        first_id: u64,
        dim: usize,
        fingerprint: &str,
        index_rows: u64,
    ) -> Result<SegmentWriter, PoolError> {
        let dest = Segment::dir_of(pool, name);
        let parent = pool.join(SEGMENTS_DIR);
        fs::create_dir_all(&parent).map_err(io(&parent))?;
        let folder = AtomicDir::create(&dest).map_err(io(&dest))?;
        // The content key names the segment: its rows are known only at the end.
        let key = xxh3_128(format!("{name}/{first_id}").as_bytes());
        let vectors_path = folder.partial().join(ROW_ORDER_FILE);
        let vectors = VectorWriter::create(&vectors_path, dim, Dtype::F16, key, fingerprint)?;
        let rows_path = folder.partial().join(ROWS_FILE);
        let rows = fs::File::create(&rows_path).map_err(io(&rows_path))?;
        Ok(SegmentWriter {
            folder,
            pool: pool.to_path_buf(),
            name: name.to_string(),
            first_id,
            dim,
            fingerprint: fingerprint.to_string(),
            index_rows,
            vectors,
            rows: std::io::BufWriter::with_capacity(1 << 20, rows),
            rows_hash: Xxh3::new(),
            rows_bytes: 0,
            keys: Vec::new(),
        })
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.keys.len() as u64
    }

    /// Appends rows.
    pub fn push(&mut self, data: &SegmentData<'_>) -> Result<(), PoolError> {
        self.vectors.append(data.vectors)?;
        let path = self.folder.partial().join(ROWS_FILE);
        self.rows.write_all(data.rows).map_err(io(&path))?;
        self.rows_hash.update(data.rows);
        self.rows_bytes += data.rows.len() as u64;
        self.keys.extend_from_slice(data.keys);
        Ok(())
    }

    /// Writes the keys (and the cells, when the segment holds at least `index_rows`
    /// rows), syncs every file, puts the folder in place and opens the segment.
    pub fn finish(self) -> Result<Segment, PoolError> {
        let SegmentWriter {
            folder,
            pool,
            name,
            first_id,
            dim,
            fingerprint,
            index_rows,
            vectors,
            rows,
            rows_hash,
            rows_bytes,
            keys,
        } = self;
        let dest = Segment::dir_of(&pool, &name);
        let rows_path = folder.partial().join(ROWS_FILE);
        let file = rows
            .into_inner()
            .map_err(|e| io(&rows_path)(e.into_error()))?;
        file.sync_all().map_err(io(&rows_path))?;
        drop(file);
        let written = vectors.finish()?;
        let count = keys.len() as u64;
        let mut keyed: Vec<(u128, u64)> = keys.into_iter().zip(first_id..).collect();
        keyed.sort_unstable();
        let mut key_bytes = Vec::with_capacity(keyed.len() * KEY_RECORD);
        for (key, id) in keyed {
            key_bytes.extend_from_slice(&key.to_le_bytes());
            key_bytes.extend_from_slice(&id.to_le_bytes());
        }
        folder.write(KEYS_FILE, &key_bytes).map_err(io(&dest))?;
        let row_order = folder.partial().join(ROW_ORDER_FILE);
        let final_path = folder.partial().join(VECTORS_FILE);
        let (written, cells_checksum) = if count >= index_rows {
            let halves = written.as_f16().expect("written as f16");
            let cells = Cells::build(halves, dim)?;
            // The vectors again, cell by cell.
            let key = xxh3_128(format!("{name}/{first_id}/cells").as_bytes());
            let mut sorted = VectorWriter::create(&final_path, dim, Dtype::F16, key, &fingerprint)?;
            let mut wide = Vec::new();
            for rows in cells.order().chunks(REORDER_CHUNK) {
                wide.resize(rows.len() * dim, 0.0);
                for (&r, out) in rows.iter().zip(wide.chunks_exact_mut(dim)) {
                    let r = r as usize;
                    // Widening is exact: the vectors file narrows them back to these bits.
                    crate::linalg::widen_scaled(&halves[r * dim..(r + 1) * dim], 1.0, out);
                }
                sorted.append(&wide)?;
            }
            drop(written);
            fs::remove_file(&row_order).map_err(io(&row_order))?;
            let cells = cells.to_bytes();
            folder.write(CELLS_FILE, &cells).map_err(io(&dest))?;
            (sorted.finish()?, Some(xxh3_64(&cells)))
        } else {
            drop(written);
            fs::rename(&row_order, &final_path).map_err(io(&final_path))?;
            (VectorFile::open_unverified(&final_path)?, None)
        };
        let entry = SegmentEntry {
            name,
            first_id,
            rows: count,
            vectors_checksum: written.data_checksum(),
            rows_bytes,
            rows_checksum: rows_hash.digest(),
            keys_checksum: xxh3_64(&key_bytes),
            cells_checksum,
        };
        drop(written);
        folder.commit().map_err(io(&dest))?;
        Segment::open(&pool, &entry, dim, &fingerprint)
    }
}
