//! Helpers shared by the dataset tests.

use std::path::{Path, PathBuf};

use super::{open, DatasetError, ReadOptions, Record};

/// Writes `contents` to a file called `name` in a fresh temporary directory.
pub(super) fn write_file(name: &str, contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

/// Reads every record, panicking on any error.
pub(super) fn records(path: &Path, opts: &ReadOptions) -> Vec<Record> {
    open(path, opts)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// Reads every record's texts, panicking on any error.
pub(super) fn texts(path: &Path, opts: &ReadOptions) -> Vec<Vec<String>> {
    records(path, opts).into_iter().map(|r| r.texts).collect()
}

/// Reads until the first error and returns it (opening errors included).
pub(super) fn first_error(path: &Path, opts: &ReadOptions) -> DatasetError {
    match open(path, opts) {
        Err(e) => e,
        Ok(mut reader) => reader
            .find_map(Result::err)
            .expect("expected an error while reading"),
    }
}
