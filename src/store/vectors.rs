//! [`VectorFile`], a memory-mapped, validated vector file, and
//! [`VectorWriter`], which writes one with checkpoints and resumes after a
//! crash. The format is described in the [module docs](super).

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::header::{Dtype, Header, FORMAT_VERSION, HEADER_LEN};
use super::mmap::{slice_of, MappedFile};
use super::{Corruption, StoreError};
use crate::atomic::{self, partial_path};

/// The writer checkpoints on its own after this many bytes of new data.
const CHECKPOINT_BYTES: u64 = 64 << 20;
/// Rows are encoded and written this many bytes at a time (at least one row).
const CHUNK_BYTES: usize = 1 << 20;
/// Elements converted per parallel task in [`VectorFile::to_f32_vec`].
const CONVERT_CHUNK: usize = 1 << 16;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Decodes little-endian elements of `dtype` from `bytes` into `out`
/// (`out.len()` elements).
fn decode_into(dtype: Dtype, bytes: &[u8], out: &mut [f32]) {
    debug_assert_eq!(bytes.len(), out.len() * dtype.size());
    match dtype {
        Dtype::F32 => match slice_of::<f32>(bytes) {
            Some(src) => out.copy_from_slice(src),
            None => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
        },
        Dtype::F16 => match slice_of::<f16>(bytes) {
            Some(src) => src.convert_to_f32_slice(out),
            None => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = f16::from_le_bytes([c[0], c[1]]).to_f32();
                }
            }
        },
    }
}

/// A complete vector file, memory-mapped and validated: its header, its
/// length and the checksum of all its data were checked when it was opened.
///
/// The file must not be modified in place while it is open (see the
/// [module docs](super)); semsift's own writers never do.
#[derive(Debug)]
pub struct VectorFile {
    path: PathBuf,
    header: Header,
    map: MappedFile,
    rows: usize,
}

impl VectorFile {
    /// Maps `path` and validates it: magic, format version, header checksum,
    /// the complete flag, the file length against the header's shape, and
    /// the data checksum (a full read of the file).
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if it cannot be opened or mapped,
    /// [`StoreError::NotVectorFile`], [`StoreError::NewerVersion`],
    /// [`StoreError::Incomplete`], or [`StoreError::Corrupt`] with the
    /// [`Corruption`] found.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let file = Self::open_unverified(path)?;
        let computed = xxh3_64(&file.map.bytes()[HEADER_LEN..]);
        if computed != file.header.data_checksum {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                reason: Corruption::DataChecksum {
                    stored: file.header.data_checksum,
                    computed,
                },
            });
        }
        Ok(file)
    }

    /// [`open`](Self::open) without reading the data: the header, the complete flag and
    /// the file length are checked, the data checksum is not (see
    /// [`data_checksum`](Self::data_checksum)). For files whose data was verified when
    /// they were written and which are opened often (a pool's segments), where reading
    /// gigabytes on every open would defeat the memory map.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), except [`Corruption::DataChecksum`].
    pub fn open_unverified(path: &Path) -> Result<Self, StoreError> {
        let file = File::open(path).map_err(io(path))?;
        let map = MappedFile::map(&file).map_err(io(path))?;
        drop(file);
        let bytes = map.bytes();
        let header = Header::decode(bytes).map_err(|e| e.at(path))?;
        let corrupt = |reason| StoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        if !header.complete {
            return Err(StoreError::Incomplete {
                path: path.to_path_buf(),
                rows: header.rows,
            });
        }
        let expected = HEADER_LEN as u64 + header.data_len();
        if bytes.len() as u64 != expected {
            return Err(corrupt(Corruption::SizeMismatch {
                expected,
                found: bytes.len() as u64,
            }));
        }
        // The data fits in the address space (it is mapped), so this holds.
        let rows = usize::try_from(header.rows).expect("mapped rows fit in usize");
        tracing::debug!(
            path = %path.display(),
            rows,
            dim = header.dim,
            dtype = %header.dtype,
            "opened vector file"
        );
        Ok(Self {
            path: path.to_path_buf(),
            header,
            map,
            rows,
        })
    }

    /// The checksum (XXH3-64) of the data the header records.
    pub fn data_checksum(&self) -> u64 {
        self.header.data_checksum
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.header.dim
    }

    /// The element type on disk.
    pub fn dtype(&self) -> Dtype {
        self.header.dtype
    }

    /// The fingerprint of the model that computed the vectors.
    pub fn fingerprint(&self) -> &str {
        &self.header.fingerprint
    }

    /// The caller's hash of the input rows the vectors were computed from.
    pub fn content_key(&self) -> u128 {
        self.header.content_key
    }

    /// The format version the file was written in.
    pub fn format_version(&self) -> u32 {
        self.header.version
    }

    fn data(&self) -> &[u8] {
        &self.map.bytes()[HEADER_LEN..]
    }

    /// All values, row-major, straight from the map (zero-copy). `None`
    /// unless the file holds `f32` (and the host is little-endian, as the
    /// file is); use [`VectorFile::row`] or [`VectorFile::to_f32_vec`] then.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match self.header.dtype {
            Dtype::F32 => slice_of::<f32>(self.data()),
            Dtype::F16 => None,
        }
    }

    /// All values, row-major, straight from the map (zero-copy). `None`
    /// unless the file holds `f16` (and the host is little-endian).
    pub fn as_f16(&self) -> Option<&[f16]> {
        match self.header.dtype {
            Dtype::F16 => slice_of::<f16>(self.data()),
            Dtype::F32 => None,
        }
    }

    /// Row `i` as `f32`: borrowed from the map for `f32` files, converted
    /// for `f16`.
    ///
    /// # Panics
    ///
    /// If `i >= self.rows()`.
    pub fn row(&self, i: usize) -> Cow<'_, [f32]> {
        assert!(
            i < self.rows,
            "row {i} out of range for {} rows in {}",
            self.rows,
            self.path.display()
        );
        let dim = self.dim();
        if let Some(all) = self.as_f32() {
            return Cow::Borrowed(&all[i * dim..(i + 1) * dim]);
        }
        let size = self.dtype().size();
        let mut out = vec![0.0; dim];
        decode_into(
            self.dtype(),
            &self.data()[i * dim * size..(i + 1) * dim * size],
            &mut out,
        );
        Cow::Owned(out)
    }

    /// All values, row-major, as an owned `f32` vector (converted from
    /// `f16` in parallel where needed).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        if let Some(all) = self.as_f32() {
            return all.to_vec();
        }
        let dtype = self.dtype();
        let mut out = vec![0.0; self.rows * self.dim()];
        out.par_chunks_mut(CONVERT_CHUNK)
            .zip(self.data().par_chunks(CONVERT_CHUNK * dtype.size()))
            .for_each(|(o, b)| decode_into(dtype, b, o));
        out
    }
}

/// Writes a vector file: rows go to `<path>.partial` through a buffer, with
/// checkpoints, and [`VectorWriter::finish`] renames the file into place.
///
/// Dropping a writer without finishing leaves the `.partial` file; its last
/// checkpoint survives and [`VectorWriter::resume_or_create`] continues from
/// it. Only one writer may write a given path at a time.
pub struct VectorWriter {
    out: BufWriter<File>,
    partial: PathBuf,
    dest: PathBuf,
    /// Rows, key, shape; its checksum is refreshed at each checkpoint.
    header: Header,
    /// xxh3 state over all data written so far.
    hasher: Xxh3,
    /// Bytes appended since the last checkpoint.
    unsynced: u64,
    /// Checkpoint on its own once `unsynced` reaches this.
    checkpoint_bytes: u64,
    /// Set when a write failed: the file's state is then unknown.
    failed: bool,
    scratch: Vec<u8>,
    halves: Vec<f16>,
}

impl std::fmt::Debug for VectorWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorWriter")
            .field("partial", &self.partial)
            .field("dest", &self.dest)
            .field("rows", &self.header.rows)
            .field("dim", &self.header.dim)
            .field("dtype", &self.header.dtype)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl VectorWriter {
    /// Starts a new, empty `<path>.partial` (replacing any existing one) for
    /// rows of `dim` values stored as `dtype`, computed from input with
    /// `content_key` by the model with `fingerprint`.
    ///
    /// # Errors
    ///
    /// [`StoreError::BadDimension`] if `dim` is 0 or over `u32::MAX`,
    /// [`StoreError::FingerprintTooLong`] past
    /// [`MAX_FINGERPRINT_LEN`](super::MAX_FINGERPRINT_LEN) bytes,
    /// [`StoreError::Io`] if the file cannot be written.
    pub fn create(
        path: &Path,
        dim: usize,
        dtype: Dtype,
        content_key: u128,
        fingerprint: &str,
    ) -> Result<Self, StoreError> {
        let header = Header::new(dtype, dim, content_key, fingerprint)?;
        Self::start(path, header)
    }

    fn start(path: &Path, header: Header) -> Result<Self, StoreError> {
        let partial = partial_path(path);
        let mut file = File::create(&partial).map_err(io(&partial))?;
        file.write_all(&header.encode()).map_err(io(&partial))?;
        tracing::debug!(path = %partial.display(), "started vector file");
        Ok(Self::with_file(file, partial, path, header, Xxh3::new()))
    }

    fn with_file(file: File, partial: PathBuf, dest: &Path, header: Header, hasher: Xxh3) -> Self {
        Self {
            out: BufWriter::with_capacity(CHUNK_BYTES, file),
            partial,
            dest: dest.to_path_buf(),
            header,
            hasher,
            unsynced: 0,
            checkpoint_bytes: CHECKPOINT_BYTES,
            failed: false,
            scratch: Vec::new(),
            halves: Vec::new(),
        }
    }

    /// Continues `<path>.partial` from its last checkpoint if it was written
    /// for the same `dim`, `dtype`, `content_key` and `fingerprint` and its
    /// data up to that checkpoint checks out; rows after the checkpoint (a
    /// torn tail) are dropped. Otherwise (no such file, another key, a torn
    /// header, a checksum failure) logs a warning with the reason and starts
    /// over as [`VectorWriter::create`] does. [`VectorWriter::rows`] tells
    /// how many rows are already there, so the caller skips them.
    ///
    /// # Errors
    ///
    /// As [`VectorWriter::create`].
    pub fn resume_or_create(
        path: &Path,
        dim: usize,
        dtype: Dtype,
        content_key: u128,
        fingerprint: &str,
    ) -> Result<Self, StoreError> {
        let wanted = Header::new(dtype, dim, content_key, fingerprint)?;
        let partial = partial_path(path);
        match try_resume(&partial, &wanted) {
            Ok(Some((file, header, hasher))) => {
                tracing::info!(
                    path = %partial.display(),
                    rows = header.rows,
                    "resuming vector file from its last checkpoint"
                );
                Ok(Self::with_file(file, partial, path, header, hasher))
            }
            Ok(None) => Self::start(path, wanted),
            Err(reason) => {
                tracing::warn!(
                    path = %partial.display(),
                    %reason,
                    "cannot resume partial vector file; starting over"
                );
                Self::start(path, wanted)
            }
        }
    }

    /// Rows written so far (including rows found when resuming).
    pub fn rows(&self) -> usize {
        self.header.rows as usize
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.header.dim
    }

    /// The element type on disk.
    pub fn dtype(&self) -> Dtype {
        self.header.dtype
    }

    /// The final path the file gets on [`VectorWriter::finish`].
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// The `.partial` file being written.
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    fn check_usable(&self) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::WriterFailed {
                path: self.partial.clone(),
            });
        }
        Ok(())
    }

    /// Appends whole rows, row-major (`data.len()` must be a multiple of
    /// [`VectorWriter::dim`]), converting to `f16` if that is the file's
    /// type. Checkpoints on its own every ~64 MiB of data.
    ///
    /// # Errors
    ///
    /// [`StoreError::DimensionMismatch`] (nothing is written),
    /// [`StoreError::Io`] (the writer is then unusable:
    /// [`StoreError::WriterFailed`]), or [`StoreError::WriterFailed`].
    pub fn append(&mut self, data: &[f32]) -> Result<(), StoreError> {
        self.check_usable()?;
        let dim = self.header.dim;
        if !data.len().is_multiple_of(dim) {
            return Err(StoreError::DimensionMismatch {
                expected: dim,
                got: data.len(),
            });
        }
        let rows_per_chunk = (CHUNK_BYTES / self.header.row_bytes() as usize).max(1);
        for chunk in data.chunks(rows_per_chunk * dim) {
            encode(
                self.header.dtype,
                chunk,
                &mut self.halves,
                &mut self.scratch,
            );
            if let Err(e) = self.out.write_all(&self.scratch) {
                self.failed = true;
                return Err(io(&self.partial)(e));
            }
            self.hasher.update(&self.scratch);
            self.header.rows += (chunk.len() / dim) as u64;
            self.unsynced += self.scratch.len() as u64;
            if self.unsynced >= self.checkpoint_bytes {
                self.checkpoint()?;
            }
        }
        Ok(())
    }

    /// Makes the rows written so far durable: flushes and syncs the data,
    /// then rewrites the header with the row count and checksum (still
    /// marked incomplete) and syncs again. After a crash,
    /// [`VectorWriter::resume_or_create`] continues from here.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] (the writer is then unusable) or
    /// [`StoreError::WriterFailed`].
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.check_usable()?;
        self.write_header(false)?;
        tracing::debug!(
            path = %self.partial.display(),
            rows = self.header.rows,
            "checkpointed vector file"
        );
        Ok(())
    }

    fn write_header(&mut self, complete: bool) -> Result<(), StoreError> {
        let result = (|| {
            self.out.flush()?;
            let file = self.out.get_mut();
            // Data first, so the header never counts rows not yet on disk.
            file.sync_data()?;
            self.header.data_checksum = self.hasher.digest();
            self.header.complete = complete;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&self.header.encode())?;
            file.seek(SeekFrom::End(0))?;
            if complete {
                file.sync_all()
            } else {
                file.sync_data()
            }
        })();
        if let Err(e) = result {
            self.failed = true;
            return Err(io(&self.partial)(e));
        }
        self.unsynced = 0;
        Ok(())
    }

    /// Writes the final header (marked complete), syncs, renames
    /// `<path>.partial` to `path` (syncing the directory on unix) and opens
    /// the result.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`], [`StoreError::WriterFailed`], or any error of
    /// [`VectorFile::open`] (which would mean the file was damaged after
    /// being written).
    pub fn finish(mut self) -> Result<VectorFile, StoreError> {
        self.check_usable()?;
        self.write_header(true)?;
        let Self {
            out, partial, dest, ..
        } = self;
        drop(out);
        std::fs::rename(&partial, &dest).map_err(io(&dest))?;
        sync_parent_dir(&dest)?;
        let file = VectorFile::open(&dest)?;
        tracing::info!(
            path = %dest.display(),
            rows = file.rows(),
            dim = file.dim(),
            dtype = %file.dtype(),
            "wrote vector file"
        );
        Ok(file)
    }
}

/// Encodes `src` as little-endian `dtype` into `out` (cleared first).
fn encode(dtype: Dtype, src: &[f32], halves: &mut Vec<f16>, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(src.len() * dtype.size());
    match dtype {
        Dtype::F32 => {
            for x in src {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        Dtype::F16 => {
            halves.clear();
            halves.resize(src.len(), f16::ZERO);
            halves.convert_from_f32_slice(src);
            for h in halves.iter() {
                out.extend_from_slice(&h.to_le_bytes());
            }
        }
    }
}

/// Syncs the directory `path` is in (on unix), so a rename into it is on disk.
fn sync_parent_dir(path: &Path) -> Result<(), StoreError> {
    let dir = atomic::parent_dir(path);
    atomic::sync_dir(dir).map_err(io(dir))
}

/// Opens `partial` for appending if it holds a valid prefix written for
/// `wanted`'s shape and key: returns the file positioned after the last
/// checkpointed row (torn tail cut off), its header and the hasher state over
/// that data. `Ok(None)` if there is no such file; `Err(reason)` if there is
/// one that cannot be resumed.
fn try_resume(partial: &Path, wanted: &Header) -> Result<Option<(File, Header, Xxh3)>, String> {
    let mut file = match OpenOptions::new().read(true).write(true).open(partial) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open it: {e}")),
    };
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = Vec::with_capacity(HEADER_LEN);
    (&mut file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read its header: {e}"))?;
    let found = Header::decode(&head).map_err(|e| e.to_string())?;
    if found.version != FORMAT_VERSION {
        return Err(format!("it is in format version {}", found.version));
    }
    if (found.dim, found.dtype) != (wanted.dim, wanted.dtype) {
        return Err(format!(
            "its rows are {} × {}, wanted {} × {}",
            found.dim, found.dtype, wanted.dim, wanted.dtype
        ));
    }
    if found.content_key != wanted.content_key {
        return Err(format!(
            "it holds vectors of other input (content key {:032x}, wanted {:032x})",
            found.content_key, wanted.content_key
        ));
    }
    if found.fingerprint != wanted.fingerprint {
        return Err(format!(
            "it was written by another model ({:?}, wanted {:?})",
            found.fingerprint, wanted.fingerprint
        ));
    }
    let end = HEADER_LEN as u64 + found.data_len();
    if len < end {
        return Err(format!(
            "it is {len} bytes, shorter than the {} rows its header records ({end} bytes)",
            found.rows
        ));
    }
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut left = found.data_len();
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        file.read_exact(&mut buf[..n])
            .map_err(|e| format!("cannot read its data: {e}"))?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    let computed = hasher.digest();
    if computed != found.data_checksum {
        return Err(Corruption::DataChecksum {
            stored: found.data_checksum,
            computed,
        }
        .to_string());
    }
    if len > end {
        tracing::debug!(
            path = %partial.display(),
            bytes = len - end,
            "dropping data written after the last checkpoint"
        );
        file.set_len(end)
            .map_err(|e| format!("cannot cut its torn tail: {e}"))?;
    }
    file.seek(SeekFrom::Start(end)).map_err(|e| e.to_string())?;
    let header = Header {
        complete: false,
        ..found
    };
    Ok(Some((file, header, hasher)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: u128 = 0x0123_4567_89ab_cdef_0011_2233_4455_6677;
    const FP: &str = "static:minilm-l6-static-256";

    /// `rows × dim` distinct values in [-1, 1).
    fn values(rows: usize, dim: usize, seed: usize) -> Vec<f32> {
        (0..rows * dim)
            .map(|i| (((i + seed) * 7919) % 2000) as f32 / 1000.0 - 1.0)
            .collect()
    }

    fn write(path: &Path, dtype: Dtype, data: &[f32], dim: usize) -> VectorFile {
        let mut w = VectorWriter::create(path, dim, dtype, KEY, FP).unwrap();
        w.append(data).unwrap();
        w.finish().unwrap()
    }

    fn flip_byte(path: &Path, at: usize) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at] ^= 0x01;
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn round_trips_f32_zero_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        let data = values(5, 3, 0);
        let mut w = VectorWriter::create(&path, 3, Dtype::F32, KEY, FP).unwrap();
        w.append(&data[..6]).unwrap();
        assert!(!path.exists(), "final name appears only when finished");
        assert!(w.partial_path().exists());
        w.append(&data[6..]).unwrap();
        w.append(&[]).unwrap();
        assert_eq!(w.rows(), 5);
        let f = w.finish().unwrap();
        assert!(!partial_path(&path).exists());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096 + 5 * 3 * 4);
        assert_eq!((f.rows(), f.dim(), f.dtype()), (5, 3, Dtype::F32));
        assert_eq!((f.content_key(), f.fingerprint()), (KEY, FP));
        assert_eq!(f.format_version(), 1);
        assert_eq!(f.to_f32_vec(), data);
        assert!(f.as_f16().is_none());
        if cfg!(target_endian = "little") {
            let all = f.as_f32().unwrap();
            assert_eq!(all, &data[..]);
            let mapped = std::fs::read(&path).unwrap();
            assert_eq!(all.as_ptr() as usize % 4096, 0, "data is page-aligned");
            assert_eq!(mapped.len(), 4096 + all.len() * 4);
            assert!(matches!(f.row(2), Cow::Borrowed(_)), "rows are borrowed");
        }
        assert_eq!(&*f.row(2), &data[6..9]);

        // Reopening sees the same thing.
        let again = VectorFile::open(&path).unwrap();
        assert_eq!(again.to_f32_vec(), data);
    }

    #[test]
    fn round_trips_f16_within_tolerance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        // Enough values to take several parallel conversion chunks.
        let (rows, dim) = (700, 256);
        let data = values(rows, dim, 3);
        let f = write(&path, Dtype::F16, &data, dim);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            (4096 + rows * dim * 2) as u64
        );
        assert_eq!(f.dtype(), Dtype::F16);
        assert!(f.as_f32().is_none());
        let back = f.to_f32_vec();
        assert_eq!(back.len(), data.len());
        for (a, b) in back.iter().zip(&data) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        assert_eq!(&*f.row(699), &back[699 * dim..]);
        if cfg!(target_endian = "little") {
            assert_eq!(f.as_f16().unwrap().len(), rows * dim);
        }
    }

    #[test]
    fn empty_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        let f = write(&path, Dtype::F32, &[], 4);
        assert_eq!(f.rows(), 0);
        assert!(f.to_f32_vec().is_empty());
    }

    #[test]
    fn append_checks_row_width() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = VectorWriter::create(&dir.path().join("v"), 4, Dtype::F32, KEY, FP).unwrap();
        let err = w.append(&[1.0; 6]).unwrap_err();
        assert!(matches!(
            err,
            StoreError::DimensionMismatch {
                expected: 4,
                got: 6
            }
        ));
        assert_eq!(w.rows(), 0, "nothing was written");
        w.append(&[1.0; 8]).unwrap();
        assert_eq!(w.finish().unwrap().rows(), 2);
    }

    #[test]
    fn resumes_after_a_crash_from_the_last_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        let dim = 8;
        let data = values(10, dim, 1);
        let mut w = VectorWriter::create(&path, dim, Dtype::F16, KEY, FP).unwrap();
        w.append(&data[..4 * dim]).unwrap();
        w.checkpoint().unwrap();
        // Rows after the checkpoint, then a "crash": dropped unfinished (the
        // buffer is flushed, so the torn tail really is on disk).
        w.append(&data[4 * dim..7 * dim]).unwrap();
        drop(w);
        let partial = partial_path(&path);
        assert_eq!(
            std::fs::metadata(&partial).unwrap().len(),
            (4096 + 7 * dim * 2) as u64,
            "the tail past the checkpoint is on disk"
        );
        // Plus a half row, as a torn write would leave.
        let mut f = OpenOptions::new().append(true).open(&partial).unwrap();
        f.write_all(&[0xAB; 5]).unwrap();
        drop(f);
        assert!(!path.exists());

        let mut w = VectorWriter::resume_or_create(&path, dim, Dtype::F16, KEY, FP).unwrap();
        assert_eq!(w.rows(), 4, "resumes at the checkpoint");
        assert_eq!(
            std::fs::metadata(&partial).unwrap().len(),
            (4096 + 4 * dim * 2) as u64,
            "torn tail cut off"
        );
        w.append(&data[4 * dim..]).unwrap();
        let f = w.finish().unwrap();
        assert_eq!(f.rows(), 10);
        let fresh = write(&dir.path().join("fresh.svec"), Dtype::F16, &data, dim);
        assert_eq!(
            f.to_f32_vec(),
            fresh.to_f32_vec(),
            "same as an uninterrupted write"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(fresh.path()).unwrap()
        );
    }

    #[test]
    fn resume_of_a_finished_but_unrenamed_file_keeps_all_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        let data = values(3, 2, 0);
        write(&path, Dtype::F32, &data, 2);
        // As if the crash came between the final header and the rename.
        std::fs::rename(&path, partial_path(&path)).unwrap();
        let w = VectorWriter::resume_or_create(&path, 2, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.rows(), 3);
        assert_eq!(w.finish().unwrap().to_f32_vec(), data);
    }

    #[test]
    fn resume_starts_over_on_mismatch_or_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        let partial = partial_path(&path);
        let prepare = || {
            let mut w = VectorWriter::create(&path, 4, Dtype::F32, KEY, FP).unwrap();
            w.append(&values(3, 4, 0)).unwrap();
            w.checkpoint().unwrap();
        };

        prepare();
        let w = VectorWriter::resume_or_create(&path, 4, Dtype::F32, KEY + 1, FP).unwrap();
        assert_eq!(w.rows(), 0, "other content key");
        drop(w);

        prepare();
        let w = VectorWriter::resume_or_create(&path, 4, Dtype::F32, KEY, "other").unwrap();
        assert_eq!(w.rows(), 0, "other model");
        drop(w);

        prepare();
        let w = VectorWriter::resume_or_create(&path, 4, Dtype::F16, KEY, FP).unwrap();
        assert_eq!(w.rows(), 0, "other dtype");
        drop(w);

        prepare();
        let w = VectorWriter::resume_or_create(&path, 2, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.rows(), 0, "other width");
        drop(w);

        prepare();
        flip_byte(&partial, 4096 + 5);
        let w = VectorWriter::resume_or_create(&path, 4, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.rows(), 0, "damaged data");
        drop(w);

        prepare();
        flip_byte(&partial, 26);
        let w = VectorWriter::resume_or_create(&path, 4, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.rows(), 0, "torn header");
        drop(w);

        prepare();
        let f = OpenOptions::new().write(true).open(&partial).unwrap();
        f.set_len(4096 + 10).unwrap();
        drop(f);
        let mut w = VectorWriter::resume_or_create(&path, 4, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.rows(), 0, "data shorter than the checkpoint");
        w.append(&[9.0; 4]).unwrap();
        assert_eq!(w.finish().unwrap().to_f32_vec(), vec![9.0; 4]);

        // And the control: an intact partial file does resume.
        prepare();
        let w = VectorWriter::resume_or_create(&path, 4, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.rows(), 3);
    }

    #[test]
    fn checkpoints_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        // 4 KiB rows: appends go out 256 rows (1 MiB) at a time.
        let dim = 1024;
        let data = values(600, dim, 0);
        let mut w = VectorWriter::create(&path, dim, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.checkpoint_bytes, 64 << 20);
        w.checkpoint_bytes = 1 << 20;
        w.append(&data).unwrap();
        drop(w);
        let w = VectorWriter::resume_or_create(&path, dim, Dtype::F32, KEY, FP).unwrap();
        assert_eq!(w.rows(), 512, "checkpointed after each full MiB");
        let mut w = w;
        w.append(&data[512 * dim..]).unwrap();
        assert_eq!(w.finish().unwrap().to_f32_vec(), data);
    }

    #[test]
    fn open_rejects_damage_with_the_reason_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        let data = values(4, 4, 0);
        let write_fresh = || {
            write(&path, Dtype::F32, &data, 4);
        };

        write_fresh();
        flip_byte(&path, 4096 + 17);
        let err = VectorFile::open(&path).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { path: p, reason: Corruption::DataChecksum { .. } } if *p == path),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
        assert!(msg.contains("data checksum mismatch"), "{msg}");

        write_fresh();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(4096 + 30).unwrap();
        drop(f);
        let err = VectorFile::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    reason: Corruption::SizeMismatch {
                        expected: 4160,
                        found: 4126
                    },
                    ..
                }
            ),
            "{err:?}"
        );

        write_fresh();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(1000).unwrap();
        drop(f);
        let err = VectorFile::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    reason: Corruption::ShortHeader { len: 1000 },
                    ..
                }
            ),
            "{err:?}"
        );

        write_fresh();
        flip_byte(&path, 0);
        let err = VectorFile::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotVectorFile { .. }), "{err:?}");
        assert!(err.to_string().contains("not a semsift vector file"));
        std::fs::write(&path, b"").unwrap();
        let err = VectorFile::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotVectorFile { .. }), "{err:?}");

        write_fresh();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
        let err = VectorFile::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::NewerVersion {
                    found: 2,
                    supported: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .contains("written by a newer semsift (format version 2, this build reads 1)"));

        write_fresh();
        flip_byte(&path, 100); // in the zero padding after the fingerprint
        let err = VectorFile::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    reason: Corruption::HeaderChecksum { .. },
                    ..
                }
            ),
            "{err:?}"
        );

        let err = VectorFile::open(&dir.path().join("missing.svec")).unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    }

    #[test]
    fn open_refuses_an_incomplete_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        let mut w = VectorWriter::create(&path, 2, Dtype::F32, KEY, FP).unwrap();
        w.append(&[1.0, 2.0]).unwrap();
        w.checkpoint().unwrap();
        let err = VectorFile::open(w.partial_path()).unwrap_err();
        assert!(
            matches!(err, StoreError::Incomplete { rows: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn create_checks_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svec");
        assert!(matches!(
            VectorWriter::create(&path, 0, Dtype::F32, KEY, FP),
            Err(StoreError::BadDimension { dim: 0 })
        ));
        let long = "m".repeat(3000);
        assert!(matches!(
            VectorWriter::resume_or_create(&path, 4, Dtype::F32, KEY, &long),
            Err(StoreError::FingerprintTooLong { len: 3000, .. })
        ));
        assert!(!partial_path(&path).exists());
    }
}
