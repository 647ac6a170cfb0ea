//! A dataset file through a [`Pool`]: read → embed → decide (and append), or query.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::dedup::num;
use super::rows::load_rows;
use crate::dataset::{OnError, ReadOptions, TextSource, Texts};
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
            stored.push(row_json(&columns, |c| r.texts[c].as_str()));
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
    let first = importer.finish()?;
    Ok((first, rows))
}

/// A stored row: `{column: text, ...}`.
fn row_json<'a>(columns: &[String], text: impl Fn(usize) -> &'a str) -> String {
    let mut row = Map::new();
    for (c, name) in columns.iter().enumerate() {
        row.insert(name.clone(), Value::String(text(c).to_string()));
    }
    Value::Object(row).to_string()
}

/// Reads every row of `input` (the pool's columns, as `read` says) and embeds it with
/// `encoder`, which must be the pool's model. Exact copies within the file are embedded
/// once.
pub fn read_candidates(
    pool: &Pool,
    encoder: &dyn Encoder,
    input: &Path,
    read: &ReadOptions,
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
    let stored_unique: Vec<String> = (0..loaded.texts.len())
        .map(|u| row_json(&settings.columns, |c| loaded.texts.get(u, c)))
        .collect();
    let groups = loaded.groups.group_of_row();
    let mut vectors = Vec::with_capacity(groups.len() * dim);
    let mut keys = Vec::with_capacity(groups.len());
    let mut stored = Vec::with_capacity(groups.len());
    for &g in groups {
        let g = g as usize;
        vectors.extend_from_slice(&unique_vectors[g * dim..(g + 1) * dim]);
        keys.push(loaded.keys[g]);
        stored.push(stored_unique[g].clone());
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
