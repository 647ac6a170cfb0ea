//! The output directory: every file written under a temporary name and renamed when
//! complete, none of them allowed to land on an input.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::dataset::{self, DatasetError, Route, SplitOptions, SplitStats};
use crate::progress::Progress;
use crate::store::StoreError;
use crate::Error;

/// An output directory, created if needed, that refuses to write over the run's inputs.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    inputs: Vec<PathBuf>,
}

impl OutputDir {
    /// Creates `dir` (and parents) if missing. `inputs` are files no output may replace.
    pub fn create(dir: &Path, inputs: &[&Path]) -> Result<Self, Error> {
        if dir.is_file() {
            return Err(Error::InvalidOption {
                name: "output directory",
                reason: format!("{} is a file, not a directory", dir.display()),
            });
        }
        fs::create_dir_all(dir).map_err(|source| Error::Output {
            path: dir.to_path_buf(),
            source,
        })?;
        let dir = dir.canonicalize().map_err(|source| Error::Output {
            path: dir.to_path_buf(),
            source,
        })?;
        let inputs = inputs
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        Ok(OutputDir { dir, inputs })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of output `name`, refused if it (or its temporary name) is an input.
    pub fn file(&self, name: &str) -> Result<PathBuf, Error> {
        let path = self.dir.join(name);
        let partial = self.dir.join(format!("{name}.partial"));
        for candidate in [&path, &partial] {
            let resolved = candidate
                .canonicalize()
                .unwrap_or_else(|_| candidate.clone());
            if let Some(input) = self.inputs.iter().find(|i| **i == resolved) {
                return Err(StoreError::WouldOverwriteInput(input.clone()).into());
            }
        }
        Ok(path)
    }

    /// Starts writing output `name` (to `name.partial`).
    pub fn writer(&self, name: &str) -> Result<AtomicFile, Error> {
        AtomicFile::create(self.file(name)?)
    }

    /// Writes output `name` in one go, atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, Error> {
        let mut w = self.writer(name)?;
        w.write_all(bytes).map_err(|e| w.error(e))?;
        w.commit()
    }
}

/// Splits `input` (read again, as `split` says) into `kept_name` and `removed.jsonl` in
/// `out`: rows for which `removed(row)` gives fields are removed, and their line is those
/// fields plus the original row as `record`; the others are kept unchanged. Fails with
/// [`Error::InputChanged`] unless the input still has `expected_rows` rows. Returns the
/// kept and removed files' paths and the counts.
pub fn write_split(
    out: &OutputDir,
    input: &Path,
    split: SplitOptions,
    kept_name: &str,
    expected_rows: u64,
    removed: &dyn Fn(u64) -> Option<Map<String, Value>>,
    progress: &dyn Progress,
) -> Result<(PathBuf, PathBuf, SplitStats), Error> {
    let kept_path = out.file(kept_name)?;
    let mut removed_file = out.writer("removed.jsonl")?;
    let removed_path = out.dir().join("removed.jsonl");
    let stats = dataset::split_with(
        input,
        &split,
        &kept_path,
        &mut |row| match removed(row) {
            Some(_) => Route::Remove,
            None => Route::Keep,
        },
        &mut |row, record| {
            let mut line = removed(row).unwrap_or_default();
            line.insert("record".into(), Value::Object(record));
            removed_file
                .write_json_line(&Value::Object(line))
                .map_err(|source| DatasetError::Output {
                    path: removed_path.clone(),
                    source,
                })
        },
        progress,
    )?;
    if stats.rows != expected_rows {
        return Err(Error::InputChanged {
            path: input.to_path_buf(),
            expected: expected_rows,
            found: stats.rows,
        });
    }
    Ok((kept_path, removed_file.commit()?, stats))
}

/// A file written to `<path>.partial` and renamed to `path` by [`AtomicFile::commit`];
/// dropped uncommitted, the partial file is removed.
pub struct AtomicFile {
    path: PathBuf,
    partial: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates `<path>.partial`.
    pub fn create(path: PathBuf) -> Result<Self, Error> {
        let mut name = path.as_os_str().to_owned();
        name.push(".partial");
        let partial = PathBuf::from(name);
        let file = File::create(&partial).map_err(|source| Error::Output {
            path: partial.clone(),
            source,
        })?;
        Ok(AtomicFile {
            path,
            partial,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Wraps an I/O error with this file's name.
    pub fn error(&self, source: std::io::Error) -> Error {
        Error::Output {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes `value` as one line of JSON.
    pub fn write_json_line(&mut self, value: &Value) -> std::io::Result<()> {
        let out = self.out.as_mut().expect("not committed");
        serde_json::to_writer(&mut *out, value)?;
        out.write_all(b"\n")
    }

    /// Flushes, syncs and renames into place; returns the final path.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let out = self.out.take().expect("committed once");
        let file = out.into_inner().map_err(|e| self.error(e.into_error()))?;
        file.sync_all().map_err(|e| self.error(e))?;
        drop(file);
        fs::rename(&self.partial, &self.path).map_err(|e| self.error(e))?;
        Ok(self.path.clone())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.as_mut().expect("not committed").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_atomically_and_cleans_up_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::create(&tmp.path().join("a/b"), &[]).unwrap();
        let mut w = out.writer("x.txt").unwrap();
        w.write_all(b"hello").unwrap();
        assert!(!out.dir().join("x.txt").exists());
        assert!(out.dir().join("x.txt.partial").exists());
        w.commit().unwrap();
        assert_eq!(fs::read(out.dir().join("x.txt")).unwrap(), b"hello");
        let w = out.writer("y.txt").unwrap();
        drop(w);
        assert!(!out.dir().join("y.txt").exists() && !out.dir().join("y.txt.partial").exists());
    }

    #[test]
    fn refuses_to_write_over_an_input() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("removed.jsonl");
        fs::write(&input, "{}\n").unwrap();
        let out = OutputDir::create(tmp.path(), &[&input]).unwrap();
        let err = out.writer("removed.jsonl").err().unwrap();
        assert!(
            err.to_string().contains("refusing to overwrite input"),
            "{err}"
        );
        assert!(out.writer("kept.jsonl").is_ok());
        let file_as_dir = OutputDir::create(&input, &[]).unwrap_err();
        assert!(
            file_as_dir.to_string().contains("is a file"),
            "{file_as_dir}"
        );
    }
}
