//! The vector file header: encoding, decoding and validation.
//!
//! The layout is documented in the [module docs](super). Decoding checks the
//! magic, then dispatches on the format version, so a later build that
//! writes version 2 keeps a `decode_v1` and still reads version-1 files.

use std::fmt;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use super::{Corruption, StoreError};

/// Size of the header region; the data starts at this (page-aligned) offset.
pub const HEADER_LEN: usize = 4096;
/// The newest vector file format version this build reads, and the one it writes.
pub const FORMAT_VERSION: u32 = 1;
/// The longest model fingerprint a header holds, in bytes.
pub const MAX_FINGERPRINT_LEN: usize = 2048;

const MAGIC: [u8; 8] = *b"SEMSIFTV";
const FLAG_COMPLETE: u32 = 1;
const FINGERPRINT_AT: usize = 58;
const CHECKSUM_AT: usize = HEADER_LEN - 8;

/// The element type of a vector file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// IEEE 754 single precision, 4 bytes per value (read back exactly).
    F32,
    /// IEEE 754 half precision, 2 bytes per value (about 3 significant digits;
    /// plenty for normalised embeddings, at half the size).
    F16,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
        }
    }

    /// The short name used in file names: `"f32"` or `"f16"`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
        }
    }

    fn code(self) -> u32 {
        match self {
            Dtype::F32 => 1,
            Dtype::F16 => 2,
        }
    }

    fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Dtype::F32),
            2 => Some(Dtype::F16),
            _ => None,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded (or to-be-written) header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// The format version the file was written in.
    pub(crate) version: u32,
    pub(crate) dtype: Dtype,
    pub(crate) dim: usize,
    pub(crate) complete: bool,
    pub(crate) rows: u64,
    pub(crate) content_key: u128,
    pub(crate) data_checksum: u64,
    pub(crate) fingerprint: String,
}

/// Why header bytes could not be decoded; [`DecodeError::at`] names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("not a semsift vector file (bad magic)")]
    NotVectorFile,
    #[error("written by a newer semsift (format version {0}, this build reads {FORMAT_VERSION})")]
    NewerVersion(u32),
    #[error(transparent)]
    Corrupt(#[from] Corruption),
}

impl DecodeError {
    /// The error as a [`StoreError`] about `path`.
    pub(crate) fn at(self, path: &Path) -> StoreError {
        let path = path.to_path_buf();
        match self {
            DecodeError::NotVectorFile => StoreError::NotVectorFile { path },
            DecodeError::NewerVersion(found) => StoreError::NewerVersion {
                path,
                found,
                supported: FORMAT_VERSION,
            },
            DecodeError::Corrupt(reason) => StoreError::Corrupt { path, reason },
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl Header {
    /// A fresh, empty, incomplete header; checks that `dim` and `fingerprint` fit.
    pub(crate) fn new(
        dtype: Dtype,
        dim: usize,
        content_key: u128,
        fingerprint: &str,
    ) -> Result<Self, StoreError> {
        if dim == 0 || u32::try_from(dim).is_err() {
            return Err(StoreError::BadDimension { dim });
        }
        if fingerprint.len() > MAX_FINGERPRINT_LEN {
            return Err(StoreError::FingerprintTooLong {
                len: fingerprint.len(),
                max: MAX_FINGERPRINT_LEN,
            });
        }
        Ok(Self {
            version: FORMAT_VERSION,
            dtype,
            dim,
            complete: false,
            rows: 0,
            content_key,
            data_checksum: xxh3_64(&[]),
            fingerprint: fingerprint.to_string(),
        })
    }

    /// Bytes per row.
    pub(crate) fn row_bytes(&self) -> u64 {
        self.dim as u64 * self.dtype.size() as u64
    }

    /// Bytes of data the header describes (`rows × dim × element size`).
    /// Decoding rejects headers where this overflows.
    pub(crate) fn data_len(&self) -> u64 {
        self.rows * self.row_bytes()
    }

    /// The header region in the current format version. The header must have
    /// come from [`Header::new`] or [`Header::decode`], which check the field
    /// ranges.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let fp = self.fingerprint.as_bytes();
        assert!(fp.len() <= MAX_FINGERPRINT_LEN, "checked by Header::new");
        let dim = u32::try_from(self.dim).expect("checked by Header::new");
        let mut b = vec![0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.dtype.code().to_le_bytes());
        b[16..20].copy_from_slice(&dim.to_le_bytes());
        let flags = if self.complete { FLAG_COMPLETE } else { 0 };
        b[20..24].copy_from_slice(&flags.to_le_bytes());
        b[24..32].copy_from_slice(&self.rows.to_le_bytes());
        b[32..48].copy_from_slice(&self.content_key.to_le_bytes());
        b[48..56].copy_from_slice(&self.data_checksum.to_le_bytes());
        b[56..58].copy_from_slice(&(fp.len() as u16).to_le_bytes());
        b[FINGERPRINT_AT..FINGERPRINT_AT + fp.len()].copy_from_slice(fp);
        let checksum = xxh3_64(&b[..CHECKSUM_AT]);
        b[CHECKSUM_AT..].copy_from_slice(&checksum.to_le_bytes());
        b
    }

    /// Decodes a header from the start of a file (`bytes` may be the whole
    /// file, or less than a header if the file is that short).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(DecodeError::NotVectorFile);
        }
        if bytes.len() < 12 {
            return Err(Corruption::ShortHeader {
                len: bytes.len() as u64,
            }
            .into());
        }
        match u32_at(bytes, 8) {
            1 => decode_v1(bytes),
            0 => Err(Corruption::InvalidHeader("format version 0".into()).into()),
            newer => Err(DecodeError::NewerVersion(newer)),
        }
    }
}

fn decode_v1(bytes: &[u8]) -> Result<Header, DecodeError> {
    let invalid = |what: String| DecodeError::Corrupt(Corruption::InvalidHeader(what));
    let Some(b) = bytes.get(..HEADER_LEN) else {
        return Err(Corruption::ShortHeader {
            len: bytes.len() as u64,
        }
        .into());
    };
    let stored = u64_at(b, CHECKSUM_AT);
    let computed = xxh3_64(&b[..CHECKSUM_AT]);
    if stored != computed {
        return Err(Corruption::HeaderChecksum { stored, computed }.into());
    }
    let code = u32_at(b, 12);
    let dtype = Dtype::from_code(code).ok_or(Corruption::UnknownDtype(code))?;
    let dim = u32_at(b, 16) as usize;
    if dim == 0 {
        return Err(invalid("row width 0".into()));
    }
    // Flag bits other than "complete" are reserved and ignored.
    let complete = u32_at(b, 20) & FLAG_COMPLETE != 0;
    let rows = u64_at(b, 24);
    let content_key = u128::from_le_bytes(b[32..48].try_into().expect("16 bytes"));
    let data_checksum = u64_at(b, 48);
    let fp_len = u16::from_le_bytes([b[56], b[57]]) as usize;
    if fp_len > MAX_FINGERPRINT_LEN {
        return Err(invalid(format!(
            "model fingerprint length {fp_len} exceeds {MAX_FINGERPRINT_LEN}"
        )));
    }
    let fingerprint = std::str::from_utf8(&b[FINGERPRINT_AT..FINGERPRINT_AT + fp_len])
        .map_err(|_| invalid("model fingerprint is not UTF-8".into()))?
        .to_string();
    let header = Header {
        version: 1,
        dtype,
        dim,
        complete,
        rows,
        content_key,
        data_checksum,
        fingerprint,
    };
    if rows
        .checked_mul(header.row_bytes())
        .and_then(|n| n.checked_add(HEADER_LEN as u64))
        .is_none()
    {
        return Err(invalid(format!("{rows} rows of width {dim} overflow")));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        let mut h = Header::new(Dtype::F16, 256, (0xdead_beef << 64) | 7, "model:abc").unwrap();
        h.rows = 12;
        h.data_checksum = 42;
        h.complete = true;
        h
    }

    #[test]
    fn round_trips_at_fixed_offsets() {
        let h = sample();
        let b = h.encode();
        assert_eq!(b.len(), HEADER_LEN);
        assert_eq!(&b[..8], b"SEMSIFTV");
        assert_eq!(u32_at(&b, 8), 1);
        assert_eq!(u32_at(&b, 12), 2);
        assert_eq!(u32_at(&b, 16), 256);
        assert_eq!(u32_at(&b, 20), 1);
        assert_eq!(u64_at(&b, 24), 12);
        assert_eq!(u64_at(&b, 48), 42);
        assert_eq!(&b[56..58], &9u16.to_le_bytes());
        assert_eq!(&b[58..67], b"model:abc");
        assert!(b[67..CHECKSUM_AT].iter().all(|&x| x == 0));
        assert_eq!(Header::decode(&b).unwrap(), h);
    }

    #[test]
    fn rejects_bad_magic_newer_versions_and_damage() {
        let good = sample().encode();

        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(Header::decode(&b), Err(DecodeError::NotVectorFile));
        assert_eq!(Header::decode(b"SEMS"), Err(DecodeError::NotVectorFile));

        let mut b = good.clone();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(Header::decode(&b), Err(DecodeError::NewerVersion(2)));
        let msg = DecodeError::NewerVersion(2)
            .at(Path::new("x.svec"))
            .to_string();
        assert_eq!(
            msg,
            "x.svec: written by a newer semsift (format version 2, this build reads 1)"
        );

        let mut b = good.clone();
        b[30] ^= 0x10; // inside `rows`
        assert!(matches!(
            Header::decode(&b),
            Err(DecodeError::Corrupt(Corruption::HeaderChecksum { .. }))
        ));

        assert_eq!(
            Header::decode(&good[..100]),
            Err(Corruption::ShortHeader { len: 100 }.into())
        );

        // A well-checksummed header with an unknown dtype.
        let mut b = good.clone();
        b[12..16].copy_from_slice(&9u32.to_le_bytes());
        let sum = xxh3_64(&b[..CHECKSUM_AT]);
        b[CHECKSUM_AT..].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(Header::decode(&b), Err(Corruption::UnknownDtype(9).into()));
    }

    #[test]
    fn checks_fields_on_creation() {
        assert!(matches!(
            Header::new(Dtype::F32, 0, 0, ""),
            Err(StoreError::BadDimension { dim: 0 })
        ));
        let long = "x".repeat(MAX_FINGERPRINT_LEN + 1);
        assert!(matches!(
            Header::new(Dtype::F32, 4, 0, &long),
            Err(StoreError::FingerprintTooLong {
                len: 2049,
                max: 2048
            })
        ));
        let max = "é".repeat(MAX_FINGERPRINT_LEN / 2);
        let h = Header::new(Dtype::F32, 4, 0, &max).unwrap();
        assert_eq!(Header::decode(&h.encode()).unwrap().fingerprint, max);
    }
}
