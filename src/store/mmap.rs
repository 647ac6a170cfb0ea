//! Read-only memory maps and typed views of their bytes.
//!
//! This file holds all of the `unsafe` memory-map code, the store's and that of the
//! neighbour lists spilled to disk ([`crate::index::spill`]); each block states why it
//! is sound. Everything it exports is safe to call: views that cannot be
//! produced soundly (misaligned, wrong length, big-endian host) come back as
//! `None`, and callers fall back to decoding the bytes.
//!
//! # The one rule
//!
//! A mapped file must not be modified or truncated by anyone while it is
//! mapped: the map would change under live `&[u8]` borrows (undefined
//! behaviour), and truncation makes reads past the new end fault (`SIGBUS`).
//! semsift upholds this for its own files: writers only ever write
//! `<name>.partial` and rename it over the final name, so a complete file that
//! is mapped is never rewritten in place (a rename or delete leaves existing
//! maps of the old file intact). Spilled lists are mapped only once fully
//! written, from files unlinked at creation that no other program can open by
//! name. Another program editing a vector file in
//! place is outside what this module can guard against.

use std::fs::File;

use half::f16;
use memmap2::Mmap;

/// A whole file mapped read-only.
#[derive(Debug)]
pub(crate) struct MappedFile {
    map: Mmap,
}

impl MappedFile {
    /// Maps all of `file` read-only.
    ///
    /// The caller must not modify or truncate the file while the map lives;
    /// see the module docs for how semsift's writers guarantee this.
    pub(crate) fn map(file: &File) -> std::io::Result<Self> {
        // SAFETY: `Mmap::map` is unsafe because the mapped bytes could change
        // (or vanish, on truncation) if the file is modified while mapped,
        // which would break the immutability of the `&[u8]` we hand out. Our
        // callers only map complete vector files, which semsift never writes
        // in place (writers write `<name>.partial` and rename), as documented
        // on this function and in the module docs.
        let map = unsafe { Mmap::map(file)? };
        Ok(Self { map })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }
}

/// Plain number types whose values can be viewed in place in a mapped file.
///
/// # Safety
///
/// Implementors must be plain data with no padding for which every bit pattern is a
/// valid value, laid out on a little-endian host exactly as their little-endian bytes.
pub(crate) unsafe trait Plain: Copy + PartialEq + std::fmt::Debug + 'static {
    /// The value of `size_of::<Self>()` little-endian bytes.
    fn from_le(bytes: &[u8]) -> Self;
}

// SAFETY: IEEE binary32, no padding, every bit pattern a valid (possibly NaN) value.
unsafe impl Plain for f32 {
    fn from_le(bytes: &[u8]) -> Self {
        f32::from_le_bytes(bytes.try_into().expect("4 bytes"))
    }
}

// SAFETY: no padding, every bit pattern a valid value.
unsafe impl Plain for u32 {
    fn from_le(bytes: &[u8]) -> Self {
        u32::from_le_bytes(bytes.try_into().expect("4 bytes"))
    }
}

// SAFETY: `half::f16` is `#[repr(transparent)]` over `u16`, so it has no padding and
// every bit pattern is a valid value.
unsafe impl Plain for f16 {
    fn from_le(bytes: &[u8]) -> Self {
        f16::from_le_bytes(bytes.try_into().expect("2 bytes"))
    }
}

/// Views little-endian `T` bytes in place, or `None` when that is not possible
/// (big-endian host, `bytes` not aligned for `T`, or its length not a whole
/// number of `T`s).
pub(crate) fn slice_of<T: Plain>(bytes: &[u8]) -> Option<&[T]> {
    if !cfg!(target_endian = "little")
        || !(bytes.as_ptr() as usize).is_multiple_of(align_of::<T>())
        || !bytes.len().is_multiple_of(size_of::<T>())
    {
        return None;
    }
    // SAFETY: the pointer is aligned for `T` and the length is a whole number of
    // `T`s (both checked above), so the new slice covers exactly the bytes of
    // `bytes` and borrows them for the same lifetime. `T: Plain` guarantees every
    // bit pattern is a valid `T`, and on a little-endian host the in-memory
    // layout is the on-disk little-endian layout.
    Some(unsafe {
        std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size_of::<T>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_a_file_and_views_it_as_floats() {
        let mut file = tempfile::tempfile().unwrap();
        let values = [1.5f32, -2.0, 3.25, 0.0];
        for v in values {
            file.write_all(&v.to_le_bytes()).unwrap();
        }
        file.flush().unwrap();
        let map = MappedFile::map(&file).unwrap();
        assert_eq!(map.bytes().len(), 16);
        if cfg!(target_endian = "little") {
            assert_eq!(slice_of::<f32>(map.bytes()).unwrap(), &values);
            let bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
            assert_eq!(slice_of::<u32>(map.bytes()).unwrap(), &bits[..]);
            let halves = slice_of::<f16>(&map.bytes()[..8]).unwrap();
            assert_eq!(halves.len(), 4);
        }
    }

    #[test]
    fn refuses_misaligned_or_ragged_views() {
        let buf = [0u8; 64];
        // The first 4-aligned offset, so `off + 1` is misaligned for both types.
        let off = (4 - buf.as_ptr() as usize % 4) % 4;
        let bytes = &buf[off..];
        assert!(slice_of::<f32>(&bytes[1..9]).is_none(), "misaligned");
        assert!(slice_of::<f32>(&bytes[..7]).is_none(), "ragged");
        assert!(slice_of::<u32>(&bytes[1..9]).is_none(), "misaligned");
        assert!(slice_of::<u32>(&bytes[..6]).is_none(), "ragged");
        assert!(slice_of::<f16>(&bytes[1..5]).is_none(), "misaligned");
        assert!(slice_of::<f16>(&bytes[..3]).is_none(), "ragged");
        if cfg!(target_endian = "little") {
            assert_eq!(slice_of::<f32>(&bytes[..8]).unwrap(), &[0.0, 0.0]);
            assert_eq!(slice_of::<f16>(&bytes[2..6]).unwrap().len(), 2);
        }
    }
}
