//! Where vectors go once computed.
//!
//! Two formats:
//!
//! - [`npy`]: a streaming, atomically written NumPy `.npy` file that
//!   `semsift embed` produces and NumPy loads.
//! - the vector store: [`VectorWriter`] writes, [`VectorFile`] memory-maps and
//!   reads, and [`VectorStore`] keeps a directory of such files keyed by
//!   [`StoreKey`] (a hash of the input rows plus the model fingerprint), so a
//!   later run reuses vectors it already computed.
//!
//! # The vector file format (`.svec`)
//!
//! Like tantivy's on-disk formats, a vector file carries a header with a
//! magic, a format version and a checksum, and files written by an older
//! semsift stay readable: the header is decoded by its version. A file written
//! by a newer semsift is refused with [`StoreError::NewerVersion`].
//!
//! All integers are little-endian. The header region is a fixed 4096 bytes,
//! so the data starts page-aligned and a mapped `f32`/`f16` file is viewed in
//! place (zero-copy):
//!
//! | bytes       | field                                                      |
//! |-------------|------------------------------------------------------------|
//! | 0..8        | magic `b"SEMSIFTV"`                                        |
//! | 8..12       | format version, `u32` (this build writes and reads 1)      |
//! | 12..16      | element type, `u32`: 1 = `f32`, 2 = `f16`                  |
//! | 16..20      | row width (`dim`), `u32`, > 0                              |
//! | 20..24      | flags, `u32`: bit 0 = complete                             |
//! | 24..32      | rows, `u64`                                                |
//! | 32..48      | content key, `u128` (the caller's hash of the input rows)  |
//! | 48..56      | data checksum, `u64`: xxh3-64 of the data of the first `rows` rows |
//! | 56..58      | model fingerprint length, `u16` (at most 2048)             |
//! | 58..        | model fingerprint, UTF-8; the rest of the region is zero   |
//! | 4088..4096  | header checksum, `u64`: xxh3-64 of bytes 0..4088           |
//! | 4096..      | `rows × dim` elements, row-major                           |
//!
//! A complete file is exactly `4096 + rows × dim × element size` bytes long.
//!
//! [`VectorWriter`] writes `<path>.partial` with buffered I/O. Every
//! checkpoint (explicit, or every ~64 MiB of data) syncs the data first and
//! only then rewrites the header with the new row count and checksum, so the
//! header never claims rows that are not on disk. [`VectorWriter::finish`]
//! sets the complete flag, syncs and renames the file into place: a complete
//! file under its final name is never rewritten in place, which is what makes
//! memory-mapping it sound. After a crash,
//! [`VectorWriter::resume_or_create`] verifies the partial file up to its last
//! checkpoint, drops the torn tail and continues from there.

mod cache;
mod header;
mod held;
pub(crate) mod mmap;
pub mod npy;
mod vectors;

use std::path::PathBuf;

pub use cache::{Lookup, StoreKey, VectorStore};
pub use header::{Dtype, FORMAT_VERSION, HEADER_LEN, MAX_FINGERPRINT_LEN};
pub use held::{narrow_into, widen_rows_into, HeldRef, Vectors};
pub use vectors::{VectorFile, VectorWriter};

/// Why vectors could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be created, written, renamed or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not what it claims to be.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A write does not fit the file's row width.
    #[error("dimension mismatch: rows are {expected} wide, got {got} values")]
    DimensionMismatch {
        /// The row width of the file.
        expected: usize,
        /// The number of values handed over.
        got: usize,
    },
    /// The output would overwrite an input.
    #[error("refusing to overwrite input file {0}")]
    WouldOverwriteInput(PathBuf),
    /// The file does not start with the vector file magic.
    #[error("{path}: not a semsift vector file (bad magic)")]
    NotVectorFile {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer semsift in a format this build cannot read.
    #[error(
        "{path}: written by a newer semsift (format version {found}, this build reads {supported})"
    )]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// The format version in the file.
        found: u32,
        /// The newest format version this build reads.
        supported: u32,
    },
    /// The vector file is damaged: its header or data do not check out.
    #[error("{path}: corrupt vector file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: Corruption,
    },
    /// The vector file was never finished (its writer stopped before
    /// [`VectorWriter::finish`]).
    #[error("{path}: incomplete vector file (writing stopped after {rows} rows)")]
    Incomplete {
        /// The file.
        path: PathBuf,
        /// The rows its last checkpoint recorded.
        rows: u64,
    },
    /// The model fingerprint does not fit in the header.
    #[error("model fingerprint is {len} bytes, more than the {max} a vector file holds")]
    FingerprintTooLong {
        /// Its length in bytes.
        len: usize,
        /// The most a header holds ([`MAX_FINGERPRINT_LEN`]).
        max: usize,
    },
    /// The row width cannot be stored (it must be between 1 and `u32::MAX`).
    #[error(
        "row width {dim} is not supported (must be between 1 and {})",
        u32::MAX
    )]
    BadDimension {
        /// The requested row width.
        dim: usize,
    },
    /// An earlier write through this writer failed, so the file's state is
    /// unknown; reopen it with [`VectorWriter::resume_or_create`].
    #[error("{path}: an earlier write failed; reopen the file to resume from its last checkpoint")]
    WriterFailed {
        /// The `.partial` file.
        path: PathBuf,
    },
}

/// What is wrong with a corrupt vector file (see [`StoreError::Corrupt`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The file ends inside the header region.
    #[error("file is {len} bytes, shorter than the {HEADER_LEN}-byte header (truncated)")]
    ShortHeader {
        /// The file length.
        len: u64,
    },
    /// The header bytes do not match their checksum (a torn or damaged header).
    #[error("header checksum mismatch (stored {stored:016x}, computed {computed:016x})")]
    HeaderChecksum {
        /// The checksum in the header.
        stored: u64,
        /// The checksum of the header bytes as read.
        computed: u64,
    },
    /// The element type code is not one this build knows.
    #[error("unknown element type code {0}")]
    UnknownDtype(u32),
    /// A header field holds an impossible value.
    #[error("invalid header: {0}")]
    InvalidHeader(String),
    /// The file length does not match the header's shape.
    #[error("file is {found} bytes but its header says {expected} (truncated or torn)")]
    SizeMismatch {
        /// `4096 + rows × dim × element size`.
        expected: u64,
        /// The actual file length.
        found: u64,
    },
    /// The data does not match its checksum.
    #[error("data checksum mismatch (stored {stored:016x}, computed {computed:016x})")]
    DataChecksum {
        /// The checksum in the header.
        stored: u64,
        /// The checksum of the data as read.
        computed: u64,
    },
}
