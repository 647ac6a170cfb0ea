//! NumPy `.npy` files of float32 rows (and 1-D uint64 arrays, e.g. row numbers).
//!
//! [`NpyWriter`] streams rows to `<dest>.partial`, then writes the final shape
//! into a fixed-size header and renames the file into place, so a reader never
//! sees a half-written file under the final name; a writer dropped unfinished (say,
//! after an error) removes its partial file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::Path;

use super::StoreError;
use crate::atomic::{partial_path, AtomicFile};

const MAGIC: &[u8] = b"\x93NUMPY";
/// Total header size (magic + version + length + dict), a multiple of 64.
const HEADER_LEN: usize = 128;

/// An element type [`NpyWriter`] can write.
pub trait Element: Copy {
    /// Its NumPy type string (`'<f4'`, `'<u8'`).
    const DESCR: &'static str;
    /// Appends its little-endian bytes to `out`.
    fn put(self, out: &mut Vec<u8>);
}

impl Element for f32 {
    const DESCR: &'static str = "<f4";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Element for u64 {
    const DESCR: &'static str = "<u8";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// Streams little-endian rows into an `.npy` file: `[rows, cols]` float32 rows
/// ([`NpyWriter::create`]) or a 1-D `[rows]` uint64 array ([`NpyWriter::create_u64`]).
pub struct NpyWriter<T: Element = f32> {
    /// `<dest>.partial`, removed if the writer is dropped unfinished.
    out: AtomicFile,
    /// Row width; `None` for a 1-D array (one element per row).
    cols: Option<usize>,
    rows: u64,
    bytes: Vec<u8>,
    _element: PhantomData<T>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn header(descr: &str, rows: u64, cols: Option<usize>) -> Vec<u8> {
    let shape = match cols {
        Some(cols) => format!("({rows}, {cols})"),
        None => format!("({rows},)"),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&[1, 0]);
    h.extend_from_slice(&((HEADER_LEN - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(HEADER_LEN - 1, b' ');
    h.push(b'\n');
    h
}

impl NpyWriter<f32> {
    /// Starts writing `dest` with rows of `cols` floats.
    pub fn create(dest: &Path, cols: usize) -> Result<Self, StoreError> {
        Self::start(dest, Some(cols))
    }
}

impl NpyWriter<u64> {
    /// Starts writing `dest` as a 1-D array of uint64 (each [`write_rows`](Self::write_rows)
    /// element is one row).
    pub fn create_u64(dest: &Path) -> Result<Self, StoreError> {
        Self::start(dest, None)
    }
}

impl<T: Element> NpyWriter<T> {
    fn start(dest: &Path, cols: Option<usize>) -> Result<Self, StoreError> {
        let partial = partial_path(dest);
        let mut out = AtomicFile::create(dest).map_err(io(&partial))?;
        out.write_all(&header(T::DESCR, 0, cols))
            .map_err(io(&partial))?;
        Ok(Self {
            out,
            cols,
            rows: 0,
            bytes: Vec::new(),
            _element: PhantomData,
        })
    }

    /// Appends whole rows (`data.len()` must be a multiple of `cols`; any length for a
    /// 1-D array).
    pub fn write_rows(&mut self, data: &[T]) -> Result<(), StoreError> {
        let cols = self.cols.unwrap_or(1);
        if cols == 0 || !data.len().is_multiple_of(cols) {
            return Err(StoreError::DimensionMismatch {
                expected: cols,
                got: data.len(),
            });
        }
        self.bytes.clear();
        for &x in data {
            x.put(&mut self.bytes);
        }
        self.out
            .write_all(&self.bytes)
            .map_err(io(self.out.partial()))?;
        self.rows += (data.len() / cols) as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the final header, syncs, and renames into place (syncing the directory).
    /// Returns the row count. On an error the partial file is removed.
    pub fn finish(self) -> Result<u64, StoreError> {
        let Self {
            mut out,
            cols,
            rows,
            ..
        } = self;
        let partial = out.partial().to_path_buf();
        let file = out.file_mut().map_err(io(&partial))?;
        file.seek(SeekFrom::Start(0)).map_err(io(&partial))?;
        file.write_all(&header(T::DESCR, rows, cols))
            .map_err(io(&partial))?;
        let dest = out.dest().to_path_buf();
        out.commit().map_err(io(&dest))?;
        Ok(rows)
    }
}

/// Reads a float32 `.npy` written by [`NpyWriter`] (or NumPy) into memory:
/// `(rows, cols, data)`.
pub fn read_f32(path: &Path) -> Result<(usize, usize, Vec<f32>), StoreError> {
    let bad = |reason: &str| StoreError::Format {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io(path))?;
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file"));
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("unsupported .npy version")),
    };
    let dict = std::str::from_utf8(
        bytes
            .get(start..start + len)
            .ok_or_else(|| bad("short header"))?,
    )
    .map_err(|_| bad("header is not UTF-8"))?;
    if !dict.contains("'<f4'") || dict.contains("'fortran_order': True") {
        return Err(bad("expected C-ordered little-endian float32"));
    }
    let shape = dict
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_, _>>()?;
    let (rows, cols) = match dims[..] {
        [r, c] => (r, c),
        [r] => (r, 1),
        _ => return Err(bad("expected a 1-D or 2-D array")),
    };
    let body = &bytes[start + len..];
    if body.len() != rows * cols * 4 {
        return Err(bad("data length does not match the shape"));
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((rows, cols, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("v.npy");
        let mut w = NpyWriter::create(&dest, 3).unwrap();
        w.write_rows(&[1.0, 2.0, 3.0]).unwrap();
        assert!(!dest.exists(), "final name appears only when finished");
        w.write_rows(&[4.0, 5.0, 6.0, 7.0, 8.0, 9.5]).unwrap();
        assert!(w.write_rows(&[1.0]).is_err());
        assert_eq!(w.finish().unwrap(), 3);
        let (r, c, data) = read_f32(&dest).unwrap();
        assert_eq!((r, c), (3, 3));
        assert_eq!(data[8], 9.5);
        let raw = std::fs::read(&dest).unwrap();
        assert_eq!(raw.len(), HEADER_LEN + 9 * 4);
        assert_eq!(HEADER_LEN % 64, 0);
        let w = NpyWriter::create(&dir.path().join("gone.npy"), 3).unwrap();
        drop(w);
        assert!(!dir.path().join("gone.npy.partial").exists());
    }

    #[test]
    fn writes_a_1d_u64_array() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("rows.npy");
        let mut w = NpyWriter::create_u64(&dest).unwrap();
        w.write_rows(&[0, 2]).unwrap();
        w.write_rows(&[u64::MAX]).unwrap();
        assert_eq!(w.rows(), 3);
        assert_eq!(w.finish().unwrap(), 3);
        let raw = std::fs::read(&dest).unwrap();
        assert_eq!(raw.len(), HEADER_LEN + 3 * 8);
        let dict = std::str::from_utf8(&raw[10..HEADER_LEN]).unwrap();
        assert!(dict.starts_with("{'descr': '<u8', 'fortran_order': False, 'shape': (3,), }"));
        assert_eq!(raw[HEADER_LEN + 8..HEADER_LEN + 16], 2u64.to_le_bytes());
        assert_eq!(raw[HEADER_LEN + 16..], u64::MAX.to_le_bytes());
        // The longest header still fits.
        let longest = header("<u8", u64::MAX, Some(usize::MAX));
        assert_eq!(longest.len(), HEADER_LEN);
        assert!(std::str::from_utf8(&longest[10..])
            .unwrap()
            .contains("), }  "));
    }
}
