//! [`VectorStore`]: a directory of vector files, one per [`StoreKey`], so
//! vectors computed once are reused by later runs.

use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::header::Dtype;
use super::vectors::{VectorFile, VectorWriter};
use super::StoreError;

/// What a stored vector file holds: vectors of which input, by which model,
/// in which shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreKey {
    /// The caller's hash of the input rows (and whatever else decides the
    /// text that was embedded).
    pub content: u128,
    /// The fingerprint of the model that computes the vectors.
    pub fingerprint: String,
    /// Values per row.
    pub dim: usize,
    /// The element type on disk.
    pub dtype: Dtype,
}

impl StoreKey {
    /// The file name for this key:
    /// `<content as 32 hex digits>-<xxh3-64 of the fingerprint as 16>-<dtype>.svec`.
    pub fn file_name(&self) -> String {
        let fp = xxh3_64(self.fingerprint.as_bytes());
        format!("{:032x}-{fp:016x}-{}.svec", self.content, self.dtype)
    }

    /// Why `file` does not hold this key's vectors, or `None` if it does.
    fn mismatch(&self, file: &VectorFile) -> Option<String> {
        if file.content_key() != self.content {
            Some(format!(
                "it holds vectors of other input (content key {:032x})",
                file.content_key()
            ))
        } else if file.fingerprint() != self.fingerprint {
            Some(format!(
                "it was written by another model ({:?})",
                file.fingerprint()
            ))
        } else if (file.dim(), file.dtype()) != (self.dim, self.dtype) {
            Some(format!(
                "its rows are {} × {}, wanted {} × {}",
                file.dim(),
                file.dtype(),
                self.dim,
                self.dtype
            ))
        } else {
            None
        }
    }
}

/// What [`VectorStore::lookup`] found for a key.
#[derive(Debug)]
pub enum Lookup {
    /// A finished file that passed every check.
    Found(VectorFile),
    /// No file.
    Missing,
    /// A file that failed a check, now deleted so it gets rebuilt.
    Discarded {
        /// Which file and what was wrong with it.
        reason: String,
    },
}

/// A directory of vector files keyed by [`StoreKey`].
///
/// [`VectorStore::get`] returns a finished file if there is a valid one;
/// anything damaged or mismatched is deleted (with a warning) so it gets
/// rebuilt. [`VectorStore::writer`] writes (or resumes writing) one.
#[derive(Clone, Debug)]
pub struct VectorStore {
    dir: PathBuf,
}

impl VectorStore {
    /// Opens the store in `dir`, creating the directory if needed.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the directory cannot be created.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the finished file for `key` lives.
    pub fn path_for(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The finished, validated vector file for `key`, or `None` if there is
    /// none. A file that is there but corrupt, truncated, incomplete, of
    /// another format version or written for another key is logged (with
    /// the file and the reason), deleted, and reported as `None`, so the
    /// caller rebuilds it; [`lookup`](Self::lookup) also says why.
    ///
    /// # Errors
    ///
    /// As [`lookup`](Self::lookup).
    pub fn get(&self, key: &StoreKey) -> Result<Option<VectorFile>, StoreError> {
        Ok(match self.lookup(key)? {
            Lookup::Found(file) => Some(file),
            Lookup::Missing | Lookup::Discarded { .. } => None,
        })
    }

    /// What the store holds for `key`: a finished, validated vector file; nothing; or a
    /// file that was there but corrupt, truncated, incomplete, of another format version
    /// or written for another key, which is logged, deleted and reported with the reason.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the file exists but cannot be read or mapped
    /// (other than being missing), or cannot be deleted;
    /// [`StoreError::NewerVersion`] if a newer semsift wrote it (it is left as
    /// it is: point `--store` elsewhere, or delete it, to rebuild).
    pub fn lookup(&self, key: &StoreKey) -> Result<Lookup, StoreError> {
        let path = self.path_for(key);
        let reason = match VectorFile::open(&path) {
            Ok(file) => match key.mismatch(&file) {
                None => return Ok(Lookup::Found(file)),
                // `file` is dropped here, unmapping it before the delete.
                Some(reason) => format!("{}: {reason}", path.display()),
            },
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Lookup::Missing)
            }
            Err(e @ StoreError::Io { .. }) => return Err(e),
            // Written by a newer semsift: not ours to delete, so refuse it.
            Err(e @ StoreError::NewerVersion { .. }) => return Err(e),
            // The error names the file.
            Err(e) => e.to_string(),
        };
        tracing::warn!("discarding stored vectors ({reason}); they will be recomputed");
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(Lookup::Discarded { reason }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lookup::Discarded { reason }),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// A writer for `key`'s file, continuing an interrupted one where
    /// possible (see [`VectorWriter::resume_or_create`]).
    ///
    /// # Errors
    ///
    /// As [`VectorWriter::resume_or_create`].
    pub fn writer(&self, key: &StoreKey) -> Result<VectorWriter, StoreError> {
        VectorWriter::resume_or_create(
            &self.path_for(key),
            key.dim,
            key.dtype,
            key.content,
            &key.fingerprint,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoreKey {
        StoreKey {
            content: (0xfeed_u128 << 112) | 0xbeef,
            fingerprint: "static:model".into(),
            dim: 3,
            dtype: Dtype::F16,
        }
    }

    fn fill(store: &VectorStore, key: &StoreKey, data: &[f32]) -> VectorFile {
        let mut w = store.writer(key).unwrap();
        w.append(data).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn names_files_by_key() {
        let k = key();
        let name = k.file_name();
        let fp = xxh3_64(b"static:model");
        assert_eq!(
            name,
            format!("feed000000000000000000000000beef-{fp:016x}-f16.svec")
        );
        let other = StoreKey {
            dtype: Dtype::F32,
            ..k.clone()
        };
        assert_ne!(other.file_name(), name);
    }

    #[test]
    fn stores_and_finds_vectors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache").join("vectors");
        let store = VectorStore::open(&dir).unwrap();
        assert!(dir.is_dir());
        let k = key();
        assert!(store.get(&k).unwrap().is_none());
        let data = [0.5, -0.25, 1.0, 0.125, 0.0, -1.0];
        fill(&store, &k, &data);
        assert_eq!(store.path_for(&k), dir.join(k.file_name()));
        let f = store.get(&k).unwrap().expect("stored");
        assert_eq!(f.to_f32_vec(), data, "these values are exact in f16");
        assert_eq!(f.fingerprint(), "static:model");
    }

    #[test]
    fn get_deletes_a_corrupt_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = VectorStore::open(tmp.path()).unwrap();
        let k = key();
        fill(&store, &k, &[1.0; 6]);
        let path = store.path_for(&k);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        assert!(store.get(&k).unwrap().is_none());
        assert!(!path.exists(), "deleted so it gets rebuilt");

        // A truncated one too.
        fill(&store, &k, &[1.0; 6]);
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(4096 + 3).unwrap();
        drop(f);
        assert!(store.get(&k).unwrap().is_none());
        assert!(!path.exists());
    }

    #[test]
    fn get_deletes_a_file_written_for_another_key() {
        let tmp = tempfile::tempdir().unwrap();
        let store = VectorStore::open(tmp.path()).unwrap();
        let k = key();
        // A valid file under `k`'s name but holding another model's vectors.
        let mut w =
            VectorWriter::create(&store.path_for(&k), 3, Dtype::F16, k.content, "other").unwrap();
        w.append(&[0.0; 3]).unwrap();
        w.finish().unwrap();
        assert!(store.get(&k).unwrap().is_none());
        assert!(!store.path_for(&k).exists());
    }

    #[test]
    fn writer_resumes_an_interrupted_build() {
        let tmp = tempfile::tempdir().unwrap();
        let store = VectorStore::open(tmp.path()).unwrap();
        let k = key();
        let mut w = store.writer(&k).unwrap();
        w.append(&[0.5; 6]).unwrap();
        w.checkpoint().unwrap();
        drop(w);
        assert!(store.get(&k).unwrap().is_none(), "not finished yet");
        let mut w = store.writer(&k).unwrap();
        assert_eq!(w.rows(), 2);
        w.append(&[0.25; 3]).unwrap();
        w.finish().unwrap();
        let f = store.get(&k).unwrap().unwrap();
        assert_eq!(
            f.to_f32_vec(),
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
        );
    }
}
