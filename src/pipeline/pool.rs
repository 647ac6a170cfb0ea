//! A dataset file through a [`Pool`]: read → embed → decide (and append), or query.
//!
//! A pool stores each accepted row whole (every field of the input row, as a JSON
//! object), not only the columns it embeds: the texts are read as every job reads them,
//! and the rows themselves in a second pass ([`for_each_record`]) through a temporary file.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};
use std::path::Path;

use serde_json::{json, Value};

use super::dedup::num;
use super::rows::load_rows;
use crate::dataset::{
    for_each_record, DatasetError, OnError, ReadOptions, SplitOptions, TextSource, Texts,
};
use crate::dedup::row_key;
use crate::embed::Encoder;
use crate::pool::{Candidates, Hit, Pool, PoolError, Source, Verdict};
use crate::progress::{Progress, Silent};
use crate::store::Dtype;
use crate::Error;

/// A file's rows as candidates: every row in order (exact copies included), its unit
/// vector, exact-text key and stored row (`{column: text, ...}`).
#[derive(Debug)]
pub struct FileCandidates {
    /// Rows read.
    pub rows: usize,
    vectors: Vec<f32>,
    keys: Vec<u128>,
    stored: Vec<String>,
}

impl FileCandidates {
    /// The candidates, for [`Pool::add`] or [`Pool::decide`].
    pub fn candidates(&self) -> Candidates<'_> {
        Candidates {
            vectors: &self.vectors,
            keys: &self.keys,
            rows: &self.stored,
        }
    }

    /// The unit vectors, row-major.
    pub fn vectors(&self) -> &[f32] {
        &self.vectors
    }
}

/// Fails unless `encoder` is the pool's model and `read` reads the pool's columns.
fn check_pool(pool: &Pool, encoder: &dyn Encoder, read: &ReadOptions) -> Result<(), Error> {
    let settings = pool.settings();
    if encoder.fingerprint() != settings.model {
        return Err(PoolError::Mismatch {
            path: pool.dir().to_path_buf(),
            reason: format!(
                "the pool's vectors come from model {:?}; this model is {:?} (give the pool's \
                 model with --model, or none for the one recorded at init)",
                settings.model,
                encoder.fingerprint()
            ),
        }
        .into());
    }
    if read.columns != settings.columns {
        return Err(PoolError::Mismatch {
            path: pool.dir().to_path_buf(),
            reason: format!(
                "the pool embeds columns {:?}; asked to read {:?}",
                settings.columns, read.columns
            ),
        }
        .into());
    }
    Ok(())
}

/// Rows read and embedded at a time by [`import_file`].
const IMPORT_CHUNK: usize = 1 << 16;

/// Imports every row of `input` into `pool` as it is, without deciding it
/// ([`Pool::import`]), a chunk of rows at a time, so the file need not fit in memory.
/// Returns the first new id and the rows imported.
pub fn import_file(
    pool: &mut Pool,
    encoder: &dyn Encoder,
    input: &Path,
    read: &ReadOptions,
    progress: &dyn Progress,
) -> Result<(u64, u64), Error> {
    check_pool(pool, encoder, read)?;
    let columns = pool.settings().columns.clone();
    let (mut records, total) = records_file(input, read, progress)?;
    let mut reader = crate::dataset::open(input, read)?;
    let mut importer = pool.importer()?;
    progress.begin("import", None);
    loop {
        if progress.cancelled() {
            return Err(Error::Cancelled);
        }
        let batch = reader.next_batch(IMPORT_CHUNK)?;
        if batch.is_empty() {
            break;
        }
        let mut texts = Texts::new(columns.len());
        let mut keys = Vec::with_capacity(batch.len());
        let mut stored = Vec::with_capacity(batch.len());
        for r in &batch {
            texts.push(&r.texts);
            keys.push(row_key(&r.texts));
            stored.push(next_record(&mut records, input, total)?);
        }
        let (vectors, _) = super::embed_texts(
            TextSource::Memory(&texts),
            0,
            encoder,
            None,
            Dtype::F32,
            Dtype::F32,
            &Silent,
        )?;
        let vectors = vectors.into_owned(encoder.dim() * columns.len());
        importer.push(Candidates {
            vectors: &vectors,
            keys: &keys,
            rows: &stored,
        })?;
        progress.advance(batch.len() as u64);
    }
    progress.end();
    let rows = importer.rows();
    if rows != total {
        return Err(Error::InputChanged {
            path: input.to_path_buf(),
            expected: total,
            found: rows,
        });
    }
    let first = importer.finish()?;
    Ok((first, rows))
}

/// Every row of `input` as it will be stored (a JSON object without its newline), one a
/// line, in a temporary file (unlinked: it goes when closed) read from its start; and how
/// many rows it holds.
fn records_file(
    input: &Path,
    read: &ReadOptions,
    progress: &dyn Progress,
) -> Result<(BufReader<File>, u64), Error> {
    let temp = |source| Error::TempFile {
        what: "the rows to store",
        source,
    };
    let mut out =
        BufWriter::with_capacity(1 << 20, crate::scratch::unlinked_temp_file().map_err(temp)?);
    let opts = SplitOptions {
        format: read.format,
        no_header: read.no_header,
    };
    let rows = for_each_record(
        input,
        &opts,
        &mut |_, object| {
            serde_json::to_writer(&mut out, &object)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|source| DatasetError::Output {
                    path: std::env::temp_dir(),
                    source,
                })
        },
        progress,
    )?;
    let mut file = out.into_inner().map_err(|e| temp(e.into_error()))?;
    file.rewind().map_err(temp)?;
    Ok((BufReader::with_capacity(1 << 20, file), rows))
}

/// The next row of a [`records_file`] of `total` rows read from `input`.
fn next_record(records: &mut BufReader<File>, input: &Path, total: u64) -> Result<String, Error> {
    let mut line = String::new();
    let n = records
        .read_line(&mut line)
        .map_err(|source| Error::TempFile {
            what: "the rows to store",
            source,
        })?;
    if n == 0 {
        // The texts' pass found more rows than the rows' pass.
        return Err(Error::InputChanged {
            path: input.to_path_buf(),
            expected: total,
            found: total + 1,
        });
    }
    line.truncate(line.trim_end_matches('\n').len());
    Ok(line)
}

/// Reads every row of `input` (the pool's columns, as `read` says, and the whole row to
/// store) and embeds it with `encoder`, which must be the pool's model. Exact copies
/// within the file are embedded once.
pub fn read_candidates(
    pool: &Pool,
    encoder: &dyn Encoder,
    input: &Path,
    read: &ReadOptions,
    progress: &dyn Progress,
) -> Result<FileCandidates, Error> {
    read_file(pool, encoder, input, read, true, progress)
}

/// The unit vectors of every row of `input` (read and embedded as [`read_candidates`]
/// does, without the rows themselves), row-major, for [`Pool::query`].
pub fn read_queries(
    pool: &Pool,
    encoder: &dyn Encoder,
    input: &Path,
    read: &ReadOptions,
    progress: &dyn Progress,
) -> Result<Vec<f32>, Error> {
    Ok(read_file(pool, encoder, input, read, false, progress)?.vectors)
}

/// [`read_candidates`], with the rows to store only when `rows` is set.
fn read_file(
    pool: &Pool,
    encoder: &dyn Encoder,
    input: &Path,
    read: &ReadOptions,
    rows: bool,
    progress: &dyn Progress,
) -> Result<FileCandidates, Error> {
    check_pool(pool, encoder, read)?;
    let settings = pool.settings();
    let loaded = load_rows(input, read, OnError::Fail, progress)?;
    let (vectors, _) = super::embed_texts(
        TextSource::Memory(&loaded.texts),
        loaded.groups.content_key(),
        encoder,
        None,
        Dtype::F32,
        Dtype::F32,
        progress,
    )?;
    let unique_vectors = vectors.into_owned(settings.dim);
    let dim = settings.dim;
    if unique_vectors.len() != loaded.texts.len() * dim {
        return Err(PoolError::Mismatch {
            path: pool.dir().to_path_buf(),
            reason: format!(
                "the model gives {} values a row; the pool holds {dim}",
                unique_vectors.len() / loaded.texts.len().max(1)
            ),
        }
        .into());
    }
    let groups = loaded.groups.group_of_row();
    let mut records = match rows {
        true => Some(records_file(input, read, progress)?),
        false => None,
    };
    if let Some((_, total)) = &records {
        if *total != groups.len() as u64 {
            return Err(Error::InputChanged {
                path: input.to_path_buf(),
                expected: groups.len() as u64,
                found: *total,
            });
        }
    }
    let mut vectors = Vec::with_capacity(groups.len() * dim);
    let mut keys = Vec::with_capacity(groups.len());
    let mut stored = Vec::with_capacity(groups.len());
    for &g in groups {
        let g = g as usize;
        vectors.extend_from_slice(&unique_vectors[g * dim..(g + 1) * dim]);
        keys.push(loaded.keys[g]);
        if let Some((records, total)) = &mut records {
            stored.push(next_record(records, input, *total)?);
        }
    }
    Ok(FileCandidates {
        rows: groups.len(),
        vectors,
        keys,
        stored,
    })
}

/// One candidate's decision as a JSON line: its row number in the file, whether it was
/// accepted (and its new id), its nearest row and any blocklist match (with the
/// blocklist's folder).
pub fn verdict_json(row: usize, v: &Verdict, blocklists: &[&Pool]) -> Value {
    let mut out = json!({ "row": row, "accepted": v.accepted() });
    if let Some(id) = v.id {
        out["id"] = json!(id);
    }
    if let Some(n) = v.nearest {
        out["nearest"] = json!({
            "id": n.id,
            "score": num(n.score),
            "exact": n.exact,
            "in": match n.source { Source::Pool => "pool", Source::Batch => "batch" },
        });
    }
    if let Some(b) = v.blocked {
        out["blocked"] = json!({
            "pool": blocklists[b.blocklist].dir().display().to_string(),
            "id": b.id,
            "score": num(b.score),
            "exact": b.exact,
        });
    }
    out
}

/// A query's hits as a JSON line: the row number and its nearest pool rows.
pub fn hits_json(row: usize, hits: &[Hit]) -> Value {
    json!({
        "row": row,
        "nearest": hits.iter().map(|h| json!({"id": h.id, "score": num(h.score)})).collect::<Vec<_>>(),
    })
}
