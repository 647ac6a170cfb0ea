//! NumPy `.npy` files of float32 rows.
//!
//! [`NpyWriter`] streams rows to `<dest>.partial`, then writes the final shape
//! into a fixed-size header and renames the file into place, so a reader never
//! sees a half-written file under the final name.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

const MAGIC: &[u8] = b"\x93NUMPY";
/// Total header size (magic + version + length + dict), a multiple of 64.
const HEADER_LEN: usize = 128;

/// Streams `[rows, cols]` little-endian float32 rows into an `.npy` file.
pub struct NpyWriter {
    out: BufWriter<File>,
    partial: PathBuf,
    dest: PathBuf,
    cols: usize,
    rows: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn header(rows: u64, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&[1, 0]);
    h.extend_from_slice(&((HEADER_LEN - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(HEADER_LEN - 1, b' ');
    h.push(b'\n');
    h
}

impl NpyWriter {
    /// Starts writing `dest` with rows of `cols` floats.
    pub fn create(dest: &Path, cols: usize) -> Result<Self, StoreError> {
        let partial = PathBuf::from(format!("{}.partial", dest.display()));
        let file = File::create(&partial).map_err(io(&partial))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&header(0, cols)).map_err(io(&partial))?;
        Ok(Self {
            out,
            partial,
            dest: dest.to_path_buf(),
            cols,
            rows: 0,
        })
    }

    /// Appends whole rows (`data.len()` must be a multiple of `cols`).
    pub fn write_rows(&mut self, data: &[f32]) -> Result<(), StoreError> {
        if self.cols == 0 || !data.len().is_multiple_of(self.cols) {
            return Err(StoreError::DimensionMismatch {
                expected: self.cols,
                got: data.len(),
            });
        }
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.out.write_all(&bytes).map_err(io(&self.partial))?;
        self.rows += (data.len() / self.cols) as u64;
        Ok(())
    }

    /// Writes the final header, syncs, and renames into place. Returns the row count.
    pub fn finish(self) -> Result<u64, StoreError> {
        let Self {
            out,
            partial,
            dest,
            cols,
            rows,
        } = self;
        let mut file = out.into_inner().map_err(|e| StoreError::Io {
            path: partial.clone(),
            source: e.into_error(),
        })?;
        file.seek(SeekFrom::Start(0)).map_err(io(&partial))?;
        file.write_all(&header(rows, cols)).map_err(io(&partial))?;
        file.sync_all().map_err(io(&partial))?;
        drop(file);
        std::fs::rename(&partial, &dest).map_err(io(&dest))?;
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
    }
}
