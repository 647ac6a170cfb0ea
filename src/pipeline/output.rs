//! The output directory: every file written under a temporary name and renamed when
//! complete, none of them allowed to land on an input.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::rows::{LoadedRows, SkippedRow};
use crate::atomic::{self, partial_path};
use crate::dataset::{self, DatasetError, OnError, Route, RowNumbers, SplitOptions};
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
        let partial = partial_path(&path);
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

    /// Starts a new set of outputs whose completion marker is `marker` (the file written
    /// last, e.g. `summary.json`): a marker left by an earlier run is removed first, so
    /// that until this run writes its own, the directory does not claim to hold a
    /// complete set.
    pub fn start_set(&self, marker: &str) -> Result<(), Error> {
        let path = self.file(marker)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(
                    "replacing the outputs of an earlier run in {}",
                    self.dir.display()
                );
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Output { path, source }),
        }
    }

    /// Before the marker is written: removes the files of `family` (names, or `stem.*` for
    /// any name starting `stem.`; their `.partial` files too) that this run did not write,
    /// so an earlier run's outputs never sit beside this run's as if they belonged to it.
    pub fn finish_set(&self, family: &[&str], written: &[&Path]) -> Result<(), Error> {
        let in_family = |name: &str| {
            let name = name.strip_suffix(".partial").unwrap_or(name);
            family.iter().any(|f| match f.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *f,
            })
        };
        let entries = fs::read_dir(&self.dir).map_err(|source| Error::Output {
            path: self.dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale = in_family(name)
                && entry.file_type().is_ok_and(|t| t.is_file())
                && !written.iter().any(|w| *w == path)
                && self.file(name).is_ok();
            if stale {
                tracing::info!("removing {} (left by an earlier run)", path.display());
                fs::remove_file(&path).map_err(|source| Error::Output { path, source })?;
            }
        }
        Ok(())
    }

    /// Writes output `name` in one go, atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, Error> {
        let mut w = self.writer(name)?;
        w.write_all(bytes).map_err(|e| w.error(e))?;
        w.commit()
    }
}

/// One finished output file, as `summary.json` lists it so that a later job can check it.
#[derive(Debug, Clone)]
pub struct OutputFile {
    /// Its path.
    pub path: PathBuf,
    /// Rows (lines, records) it holds.
    pub rows: u64,
}

impl OutputFile {
    /// `{"file", "rows", "bytes", "sha256"}`, reading the file back to hash it.
    pub fn describe(&self) -> Result<Value, Error> {
        let error = |source| Error::Output {
            path: self.path.clone(),
            source,
        };
        let mut file = File::open(&self.path).map_err(error)?;
        let mut hasher = Sha256::new();
        let bytes = std::io::copy(&mut file, &mut hasher).map_err(error)?;
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        Ok(json!({
            "file": name,
            "rows": self.rows,
            "bytes": bytes,
            "sha256": format!("{:x}", hasher.finalize()),
        }))
    }
}

/// The files [`write_split`] wrote.
#[derive(Debug, Clone)]
pub struct SplitFiles {
    /// The kept rows, in the input's format.
    pub kept: OutputFile,
    /// `removed.jsonl`.
    pub removed: OutputFile,
    /// `skipped.jsonl`, when the job was asked to skip unreadable rows.
    pub skipped: Option<OutputFile>,
}

impl SplitFiles {
    /// The files, in the order written.
    pub fn all(&self) -> Vec<&OutputFile> {
        let mut all = vec![&self.kept, &self.removed];
        all.extend(&self.skipped);
        all
    }
}

/// What [`write_split`] needs to know of how the job read its input.
#[derive(Debug, Clone, Copy)]
pub struct SplitRows<'a> {
    /// Rows read (not skipped).
    pub read: u64,
    /// How reading treated unreadable rows.
    pub on_error: OnError,
    /// File row numbers of the rows read.
    pub numbers: &'a RowNumbers,
    /// The rows left out as unreadable, in order.
    pub skipped: &'a [SkippedRow],
}

impl<'a> From<&'a LoadedRows> for SplitRows<'a> {
    fn from(rows: &'a LoadedRows) -> Self {
        SplitRows {
            read: rows.groups.rows() as u64,
            on_error: rows.on_error,
            numbers: &rows.numbers,
            skipped: &rows.skipped,
        }
    }
}

/// Splits `input` (read again, as `split` says) into `kept_name`, `removed.jsonl` and,
/// when `rows` were read with [`OnError::Skip`], `skipped.jsonl` in `out`, so that every row of the input lands in
/// exactly one of them.
///
/// `rows` is the input as the job read it: its skipped rows go to `skipped.jsonl` as
/// `{"row", "line", "reason", "raw"}` (see [`Route::Skip`]); for the others,
/// `removed(i)` (with `i` the row's number among the rows read) gives the fields of a
/// removed row's line, to which the original row is added as `record`, or `None` to keep
/// it unchanged. Fails with [`Error::InputChanged`] unless the input still has as many rows.
pub fn write_split(
    out: &OutputDir,
    input: &Path,
    split: SplitOptions,
    kept_name: &str,
    rows: SplitRows<'_>,
    removed: &dyn Fn(u64) -> Option<Map<String, Value>>,
    progress: &dyn Progress,
) -> Result<SplitFiles, Error> {
    let expected_rows = rows.read + rows.skipped.len() as u64;
    let kept_path = out.file(kept_name)?;
    let mut removed_file = out.writer("removed.jsonl")?;
    let removed_path = out.dir().join("removed.jsonl");
    let mut skipped_file = (rows.on_error == OnError::Skip)
        .then(|| out.writer("skipped.jsonl"))
        .transpose()?;
    let skipped_path = out.dir().join("skipped.jsonl");
    let numbers = rows.numbers;
    let mut next_skipped = rows.skipped.iter().peekable();
    let stats = dataset::split_with(
        input,
        &split,
        &kept_path,
        &mut |row| match numbers.read_row(row) {
            None => Route::Skip,
            Some(i) if removed(i).is_some() => Route::Remove,
            Some(_) => Route::Keep,
        },
        &mut |row, record| {
            let (line, path, file) = match numbers.read_row(row) {
                Some(i) => {
                    let mut line = removed(i).unwrap_or_default();
                    line.insert("record".into(), Value::Object(record));
                    (line, &removed_path, &mut removed_file)
                }
                None => {
                    let skipped = next_skipped
                        .next_if(|s| s.row == row)
                        .expect("skipped rows are listed in order");
                    let mut line = Map::new();
                    line.insert("row".into(), json!(row));
                    line.insert("line".into(), json!(skipped.line));
                    line.insert("reason".into(), json!(skipped.reason));
                    line.extend(record);
                    let Some(file) = skipped_file.as_mut() else {
                        return Err(DatasetError::Output {
                            path: skipped_path.clone(),
                            source: std::io::Error::other(
                                "rows were skipped without --on-error skip",
                            ),
                        });
                    };
                    (line, &skipped_path, file)
                }
            };
            file.write_json_line(&Value::Object(line))
                .map_err(|source| DatasetError::Output {
                    path: path.clone(),
                    source,
                })
        },
        progress,
    )?;
    if stats.rows != expected_rows || stats.skipped != rows.skipped.len() as u64 {
        return Err(Error::InputChanged {
            path: input.to_path_buf(),
            expected: expected_rows,
            found: stats.rows,
        });
    }
    let skipped = match skipped_file {
        Some(file) => Some(OutputFile {
            path: file.commit()?,
            rows: stats.skipped,
        }),
        None => None,
    };
    Ok(SplitFiles {
        kept: OutputFile {
            path: kept_path,
            rows: stats.kept,
        },
        removed: OutputFile {
            path: removed_file.commit()?,
            rows: stats.removed,
        },
        skipped,
    })
}

/// A file written to `<path>.partial` and renamed to `path` by [`AtomicFile::commit`];
/// dropped uncommitted, the partial file is removed. Errors name the file.
pub struct AtomicFile {
    inner: atomic::AtomicFile,
}

impl AtomicFile {
    /// Creates `<path>.partial`.
    pub fn create(path: PathBuf) -> Result<Self, Error> {
        let partial = partial_path(&path);
        let inner = atomic::AtomicFile::create(path).map_err(|source| Error::Output {
            path: partial,
            source,
        })?;
        Ok(AtomicFile { inner })
    }

    /// The path it is renamed to on commit.
    pub fn path(&self) -> &Path {
        self.inner.dest()
    }

    /// Wraps an I/O error with this file's name.
    pub fn error(&self, source: std::io::Error) -> Error {
        Error::Output {
            path: self.inner.dest().to_path_buf(),
            source,
        }
    }

    /// Writes `value` as one line of JSON.
    pub fn write_json_line(&mut self, value: &Value) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.inner, value)?;
        self.inner.write_all(b"\n")
    }

    /// Flushes, syncs and renames into place (syncing the directory); returns the final
    /// path.
    pub fn commit(self) -> Result<PathBuf, Error> {
        let path = self.inner.dest().to_path_buf();
        self.inner
            .commit()
            .map_err(|source| Error::Output { path, source })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
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
