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

/// Views little-endian `f32` bytes in place, or `None` when that is not
/// possible (big-endian host, `bytes` not 4-byte aligned, or its length not a
/// multiple of 4).
pub(crate) fn f32_slice(bytes: &[u8]) -> Option<&[f32]> {
    if !cfg!(target_endian = "little")
        || !(bytes.as_ptr() as usize).is_multiple_of(align_of::<f32>())
        || !bytes.len().is_multiple_of(size_of::<f32>())
    {
        return None;
    }
    // SAFETY: the pointer is aligned for `f32` and the length is a whole
    // number of `f32`s (both checked above), so the new slice covers exactly
    // the bytes of `bytes` and borrows them for the same lifetime. Every bit
    // pattern is a valid `f32`, and on a little-endian host the in-memory
    // layout is the on-disk little-endian layout.
    Some(unsafe {
        std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / size_of::<f32>())
    })
}

/// Views little-endian `u32` bytes in place, or `None` when that is not
/// possible (big-endian host, `bytes` not 4-byte aligned, or its length not a
/// multiple of 4).
pub(crate) fn u32_slice(bytes: &[u8]) -> Option<&[u32]> {
    if !cfg!(target_endian = "little")
        || !(bytes.as_ptr() as usize).is_multiple_of(align_of::<u32>())
        || !bytes.len().is_multiple_of(size_of::<u32>())
    {
        return None;
    }
    // SAFETY: as for `f32_slice`: aligned, a whole number of elements, every
    // bit pattern is a valid `u32`, and the host layout is little-endian.
    Some(unsafe {
        std::slice::from_raw_parts(bytes.as_ptr().cast::<u32>(), bytes.len() / size_of::<u32>())
    })
}

/// Views little-endian IEEE half-precision bytes in place, or `None` when
/// that is not possible (big-endian host, `bytes` not 2-byte aligned, or its
/// length odd).
pub(crate) fn f16_slice(bytes: &[u8]) -> Option<&[f16]> {
    if !cfg!(target_endian = "little")
        || !(bytes.as_ptr() as usize).is_multiple_of(align_of::<f16>())
        || !bytes.len().is_multiple_of(size_of::<f16>())
    {
        return None;
    }
    // SAFETY: `half::f16` is `#[repr(transparent)]` over `u16`, so every bit
    // pattern is a valid value. The pointer is aligned for it and the length
    // is a whole number of elements (checked above), so the new slice covers
    // exactly the bytes of `bytes` for the same lifetime; on a little-endian
    // host the in-memory layout is the on-disk layout.
    Some(unsafe {
        std::slice::from_raw_parts(bytes.as_ptr().cast::<f16>(), bytes.len() / size_of::<f16>())
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
            assert_eq!(f32_slice(map.bytes()).unwrap(), &values);
            let bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
            assert_eq!(u32_slice(map.bytes()).unwrap(), &bits[..]);
            let halves = f16_slice(&map.bytes()[..8]).unwrap();
            assert_eq!(halves.len(), 4);
        }
    }

    #[test]
    fn refuses_misaligned_or_ragged_views() {
        let buf = [0u8; 64];
        // The first 4-aligned offset, so `off + 1` is misaligned for both types.
        let off = (4 - buf.as_ptr() as usize % 4) % 4;
        let bytes = &buf[off..];
        assert!(f32_slice(&bytes[1..9]).is_none(), "misaligned");
        assert!(f32_slice(&bytes[..7]).is_none(), "ragged");
        assert!(u32_slice(&bytes[1..9]).is_none(), "misaligned");
        assert!(u32_slice(&bytes[..6]).is_none(), "ragged");
        assert!(f16_slice(&bytes[1..5]).is_none(), "misaligned");
        assert!(f16_slice(&bytes[..3]).is_none(), "ragged");
        if cfg!(target_endian = "little") {
            assert_eq!(f32_slice(&bytes[..8]).unwrap(), &[0.0, 0.0]);
            assert_eq!(f16_slice(&bytes[2..6]).unwrap().len(), 2);
        }
    }
}
