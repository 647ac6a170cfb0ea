//! One writer at a time: an exclusive advisory lock on the pool's `LOCK` file.
//!
//! The operating system drops the lock when its holder exits, however it exits (`kill -9`
//! included), so a crashed writer never leaves the pool locked. While held, the file says
//! who holds it, for the error another writer gets. Readers take no lock: they read the
//! manifest, which a writer replaces atomically, and segments, which are never changed
//! in place.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use fs2::FileExt;

use super::error::{io, PoolError};

/// The lock file's name in the pool folder.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// The pool's writer lock, held until dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    file: File,
}

impl WriterLock {
    /// Takes the lock of the pool in `dir`, or fails at once with
    /// [`PoolError::Locked`] naming the holder.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, PoolError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        if file.try_lock_exclusive().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "another process".to_string(),
                h => h.to_string(),
            };
            return Err(PoolError::Locked {
                path: dir.to_path_buf(),
                holder,
            });
        }
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "this host".to_string());
        let note = format!(
            "process {} on {host} since {since} (seconds since 1970)\n",
            std::process::id()
        );
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(note.as_bytes())
        };
        write(&mut file).map_err(io(&path))?;
        Ok(WriterLock { file })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // The holder's note goes first, so a later reader of the file does not name a
        // process that no longer holds it; the lock goes with the file either way.
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holder_named_until_the_first_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(tmp.path()).unwrap();
        let err = WriterLock::acquire(tmp.path()).unwrap_err();
        match &err {
            PoolError::Locked { holder, .. } => {
                assert!(
                    holder.contains(&format!("process {}", std::process::id())),
                    "{holder}"
                );
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(err.to_string().contains("locked for writing"), "{err}");
        drop(first);
        WriterLock::acquire(tmp.path()).unwrap();
    }
}
