//! Atomic replacement of output files and folders.
//!
//! Every output is written under a temporary name, `DEST.partial`, and renamed onto
//! `DEST` only once it is complete and synced to disk, so a reader never sees a
//! half-written file under the final name, and a crash leaves at worst a `.partial`
//! beside the old `DEST`. [`AtomicFile`] does this for a file, [`AtomicDir`] for a folder;
//! dropped without being committed (say, after an error), either removes its partial copy.
//!
//! Errors are plain [`io::Error`]s: each caller wraps them in its own error type, with the
//! path it names in its messages.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Buffer of an [`AtomicFile`]'s writer.
const BUFFER: usize = 1 << 20;

/// `<path>.partial`: the name appended to, not replaced.
pub(crate) fn partial_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".partial");
    PathBuf::from(name)
}

/// The folder `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Syncs the folder `dir` itself, so that a rename in it is on disk. A no-op where
/// folders cannot be opened as files (outside Unix).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A file written to `DEST.partial` through a buffer, then flushed, synced and renamed onto
/// `DEST` by [`commit`](Self::commit). Dropped uncommitted, the partial file is removed.
///
/// It is written through [`Write`] (buffered). A caller that must go back over what it
/// wrote takes the file with [`file_mut`](Self::file_mut); one whose writer must own the
/// file (a compressor, a Parquet writer) takes it out with
/// [`take_file`](Self::take_file) and hands it back to
/// [`commit_file`](Self::commit_file).
#[derive(Debug)]
pub(crate) struct AtomicFile {
    dest: PathBuf,
    partial: PathBuf,
    /// `None` once taken out by [`take_file`](Self::take_file) (or committed).
    out: Option<BufWriter<File>>,
    /// Whether the partial file is still ours to remove (not yet renamed).
    pending: bool,
}

impl AtomicFile {
    /// Creates (or truncates) `DEST.partial`, to be renamed onto `dest`.
    pub(crate) fn create(dest: impl Into<PathBuf>) -> io::Result<Self> {
        let dest = dest.into();
        let partial = partial_path(&dest);
        let file = File::create(&partial)?;
        Ok(AtomicFile {
            dest,
            partial,
            out: Some(BufWriter::with_capacity(BUFFER, file)),
            pending: true,
        })
    }

    /// The final path.
    pub(crate) fn dest(&self) -> &Path {
        &self.dest
    }

    /// The path written until [`commit`](Self::commit): `DEST.partial`.
    pub(crate) fn partial(&self) -> &Path {
        &self.partial
    }

    fn writer(&mut self) -> &mut BufWriter<File> {
        self.out.as_mut().expect("the file was taken out")
    }

    /// Flushes the buffer and lends the file itself, e.g. to seek back and rewrite a
    /// header; writes through [`Write`] carry on from wherever it is left.
    pub(crate) fn file_mut(&mut self) -> io::Result<&mut File> {
        let out = self.writer();
        out.flush()?;
        Ok(out.get_mut())
    }

    /// Flushes the buffer and takes the file out, for a writer that must own it; give it
    /// back to [`commit_file`](Self::commit_file). Until then, writing through [`Write`]
    /// panics; the partial file is still removed if `self` is dropped.
    pub(crate) fn take_file(&mut self) -> io::Result<File> {
        self.writer().flush()?;
        let out = self.out.take().expect("the file was taken out");
        out.into_inner().map_err(io::IntoInnerError::into_error)
    }

    /// Flushes, syncs the file, renames it onto the final path and syncs that folder.
    /// Returns the final path. On an error the partial file is removed when `self` drops.
    pub(crate) fn commit(mut self) -> io::Result<PathBuf> {
        let file = self.take_file()?;
        self.commit_file(file)
    }

    /// [`commit`](Self::commit) for the file [`take_file`](Self::take_file) took out
    /// (whatever its owner wrote to it, flushed).
    pub(crate) fn commit_file(mut self, file: File) -> io::Result<PathBuf> {
        file.sync_all()?;
        drop(file);
        fs::rename(&self.partial, &self.dest)?;
        self.pending = false;
        sync_dir(parent_dir(&self.dest))?;
        Ok(std::mem::take(&mut self.dest))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Close the file without flushing what is buffered: it is being thrown away.
        if let Some(out) = self.out.take() {
            drop(out.into_parts());
        }
        if self.pending {
            remove_partial(&self.partial, fs::remove_file(&self.partial));
        }
    }
}

/// Logs a failure to remove a partial file or folder (a missing one is fine).
fn remove_partial(partial: &Path, removed: io::Result<()>) {
    if let Err(e) = removed {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(
                path = %partial.display(),
                "cannot remove the partial output: {e}"
            );
        }
    }
}

/// A folder written as `DEST.partial` and renamed onto `DEST` by
/// [`commit`](Self::commit), replacing any folder there. Dropped uncommitted, the partial
/// folder is removed.
#[derive(Debug)]
pub(crate) struct AtomicDir {
    dest: PathBuf,
    partial: PathBuf,
    pending: bool,
}

impl AtomicDir {
    /// Creates an empty `DEST.partial` folder (removing one an earlier run left).
    pub(crate) fn create(dest: impl Into<PathBuf>) -> io::Result<Self> {
        let dest = dest.into();
        let partial = partial_path(&dest);
        if partial.exists() {
            fs::remove_dir_all(&partial)?;
        }
        fs::create_dir_all(&partial)?;
        Ok(AtomicDir {
            dest,
            partial,
            pending: true,
        })
    }

    /// The folder written until [`commit`](Self::commit): `DEST.partial`.
    pub(crate) fn partial(&self) -> &Path {
        &self.partial
    }

    /// Writes `data` to the file `name` in the partial folder, and syncs it.
    pub(crate) fn write(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut file = File::create(self.partial.join(name))?;
        file.write_all(data)?;
        file.sync_all()
    }

    /// Syncs the partial folder, removes any folder at the final path, renames the partial
    /// folder onto it and syncs the folder it is in.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        sync_dir(&self.partial)?;
        if self.dest.exists() {
            fs::remove_dir_all(&self.dest)?;
        }
        fs::rename(&self.partial, &self.dest)?;
        self.pending = false;
        sync_dir(parent_dir(&self.dest))
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if self.pending {
            remove_partial(&self.partial, fs::remove_dir_all(&self.partial));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("x.txt");
        fs::write(&dest, "old").unwrap();
        let mut w = AtomicFile::create(&dest).unwrap();
        assert_eq!(w.dest(), dest);
        assert_eq!(w.partial(), tmp.path().join("x.txt.partial"));
        w.write_all(b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert!(w.partial().exists());
        assert_eq!(w.commit().unwrap(), dest);
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert!(!partial_path(&dest).exists());
    }

    #[test]
    fn a_dropped_file_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("y.txt");
        let mut w = AtomicFile::create(&dest).unwrap();
        w.write_all(b"half").unwrap();
        drop(w);
        assert!(!dest.exists() && !partial_path(&dest).exists());
        let mut w = AtomicFile::create(&dest).unwrap();
        let file = w.take_file().unwrap();
        drop(file);
        drop(w);
        assert!(!partial_path(&dest).exists());
    }

    #[test]
    fn a_file_can_be_rewritten_or_taken_out() {
        use std::io::{Seek, SeekFrom};
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("z.bin");
        let mut w = AtomicFile::create(&dest).unwrap();
        w.write_all(b"..cd").unwrap();
        let file = w.file_mut().unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.write_all(b"ab").unwrap();
        w.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"abcd");

        let mut w = AtomicFile::create(&dest).unwrap();
        w.write_all(b"12").unwrap();
        let mut file = w.take_file().unwrap();
        file.write_all(b"34").unwrap();
        assert_eq!(w.commit_file(file).unwrap(), dest);
        assert_eq!(fs::read(&dest).unwrap(), b"1234");
    }

    #[test]
    fn a_bare_file_name_is_in_the_current_folder() {
        assert_eq!(parent_dir(Path::new("plain")), Path::new("."));
        assert_eq!(parent_dir(Path::new("a/b")), Path::new("a"));
        assert_eq!(
            partial_path(Path::new("a/b.npy")),
            Path::new("a/b.npy.partial")
        );
    }

    #[test]
    fn a_folder_replaces_the_old_one_only_when_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("model");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("stale.txt"), "old").unwrap();
        fs::create_dir(partial_path(&dest)).unwrap();
        fs::write(partial_path(&dest).join("left.txt"), "earlier run").unwrap();

        let d = AtomicDir::create(&dest).unwrap();
        assert!(
            !d.partial().join("left.txt").exists(),
            "a stale partial is cleared"
        );
        d.write("a.json", b"{}").unwrap();
        assert!(dest.join("stale.txt").exists());
        d.commit().unwrap();
        assert_eq!(fs::read(dest.join("a.json")).unwrap(), b"{}");
        assert!(!dest.join("stale.txt").exists());
        assert!(!partial_path(&dest).exists());

        let d = AtomicDir::create(&dest).unwrap();
        d.write("b.json", b"[]").unwrap();
        drop(d);
        assert!(!partial_path(&dest).exists());
        assert!(dest.join("a.json").exists(), "the old folder stays");
    }
}
