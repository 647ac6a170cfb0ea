//! Byte-level input: compression detection, streaming decompression and BOM stripping.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use super::DatasetError;

/// Outer compression of an input file.
///
/// Guessed from the extension (`.gz`, `.zst`) but always verified against the file's magic
/// bytes; when the two disagree, the magic bytes win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (possibly several concatenated members, as written by `bgzip` or `cat a.gz b.gz`).
    Gzip,
    /// Zstandard.
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

impl Compression {
    /// Guesses the compression from the file name alone: `.gz` → Gzip, `.zst` → Zstd
    /// (case-insensitive), otherwise None.
    pub fn from_path(path: &Path) -> Compression {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("gz") => Compression::Gzip,
            Some("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// Identifies the compression from the first bytes of a file (at least 4 for zstd).
    ///
    /// Bytes that match no known magic number mean [`Compression::None`]. The gzip and zstd
    /// frame magic numbers cannot begin valid UTF-8 text, but a zstd skippable frame's can
    /// (`P*M` then U+0018, up to `_*M` then U+0018), so a text file starting so is taken for
    /// zstd.
    pub fn from_magic(head: &[u8]) -> Compression {
        let zstd_skippable =
            head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18];
        if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) || zstd_skippable {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The compression of the file at `path`, by its magic bytes (see [`Compression::from_magic`]).
    pub fn detect(path: &Path) -> Result<Compression, DatasetError> {
        let mut file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
        sniff(path, &mut file)
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// Reads the magic bytes of `file`, rewinds it, and returns the detected compression,
/// logging a warning when the extension claims something else.
pub(super) fn sniff(path: &Path, file: &mut File) -> Result<Compression, DatasetError> {
    let mut head = Vec::with_capacity(4);
    let read = (&mut *file).take(4).read_to_end(&mut head);
    read.and_then(|_| file.seek(SeekFrom::Start(0)))
        .map_err(|e| DatasetError::io(path, e))?;
    let found = Compression::from_magic(&head);
    let named = Compression::from_path(path);
    if found != named {
        tracing::warn!(
            path = %path.display(),
            "file name suggests {named} compression but its contents are {found}; using {found}"
        );
    }
    Ok(found)
}

/// Wraps `file` in a streaming decoder for `compression` and strips a leading UTF-8 BOM
/// from the decoded bytes.
pub(super) fn open_text(
    path: &Path,
    file: File,
    compression: Compression,
) -> Result<Box<dyn Read + Send>, DatasetError> {
    let decoded: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(file).map_err(|e| DatasetError::io(path, e))?)
        }
    };
    skip_bom(decoded).map_err(|e| DatasetError::io(path, e))
}

/// Drops a UTF-8 byte-order mark at the start of `reader`, if there is one.
fn skip_bom(mut reader: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let mut head = Vec::with_capacity(BOM.len());
    (&mut reader)
        .take(BOM.len() as u64)
        .read_to_end(&mut head)?;
    if head == BOM {
        Ok(reader)
    } else {
        Ok(Box::new(Cursor::new(head).chain(reader)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn compression_from_path() {
        assert_eq!(
            Compression::from_path(Path::new("a.jsonl.gz")),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_path(Path::new("a.CSV.ZST")),
            Compression::Zstd
        );
        assert_eq!(
            Compression::from_path(Path::new("a.jsonl")),
            Compression::None
        );
    }

    #[test]
    fn compression_from_magic() {
        assert_eq!(
            Compression::from_magic(&[0x1f, 0x8b, 8, 0]),
            Compression::Gzip
        );
        assert_eq!(Compression::from_magic(&ZSTD_MAGIC), Compression::Zstd);
        assert_eq!(
            Compression::from_magic(&[0x50, 0x2a, 0x4d, 0x18]),
            Compression::Zstd
        );
        assert_eq!(Compression::from_magic(b"{\"a\""), Compression::None);
        assert_eq!(Compression::from_magic(b""), Compression::None);
        assert_eq!(Compression::from_magic(b"PAR1"), Compression::None);
    }

    #[test]
    fn magic_wins_over_extension() {
        let dir = tempfile::tempdir().unwrap();
        // Named .gz but really plain text.
        let plain = dir.path().join("a.jsonl.gz");
        std::fs::write(&plain, b"{}\n").unwrap();
        assert_eq!(Compression::detect(&plain).unwrap(), Compression::None);
        // Named plainly but really zstd.
        let zst = dir.path().join("b.jsonl");
        std::fs::write(&zst, zstd::encode_all(&b"{}\n"[..], 3).unwrap()).unwrap();
        assert_eq!(Compression::detect(&zst).unwrap(), Compression::Zstd);
        // Named plainly but really gzip.
        let gz = dir.path().join("c.jsonl");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"{}\n").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(Compression::detect(&gz).unwrap(), Compression::Gzip);
    }

    #[test]
    fn bom_is_stripped_only_at_start() {
        let mut out = String::new();
        skip_bom(Box::new(Cursor::new(
            b"\xEF\xBB\xBFab\xEF\xBB\xBF".to_vec(),
        )))
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
        assert_eq!(out, "ab\u{feff}");
        let mut out = String::new();
        skip_bom(Box::new(Cursor::new(b"ab".to_vec())))
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "ab");
    }
}
