//! Scratch files: created in the system's temporary directory (`TMPDIR`) and unlinked at
//! once, so they vanish when closed and a crash leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A new, empty file open for reading and writing, already unlinked: its data lives until
/// the handle is closed. (Where an open file cannot be removed, it stays until the OS
/// cleans the directory.)
pub(crate) fn unlinked_temp_file() -> io::Result<File> {
    let path = temp_path("spill");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// A path in the system's temporary directory no other call of this process gets:
/// `semsift-<what>-<pid>-<n>`.
pub(crate) fn temp_path(what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("semsift-{what}-{}-{n}", std::process::id()))
}
