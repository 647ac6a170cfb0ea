//! `filter` end to end: read → embed → index → rank → write outliers or representatives.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use super::dedup::{describe_outputs, fields, num, OUTPUT_FAMILY};
use super::output::{write_split, OutputDir};
use super::rows::load_rows;
use super::templates::{check_strip_share, find_templates};
use super::vectors::embed_texts;
use crate::dataset::{self, OnError, ReadOptions, SplitOptions};
use crate::embed::{Device, Encoder};
use crate::filter::{density_in, outliers, refine_outlier_scores, representatives};
use crate::index::{DeviceIndex, DeviceParams, HnswParams, IndexKind, IvfParams, VectorIndex};
use crate::process::round3;
use crate::progress::Progress;
use crate::store::Dtype;
use crate::Error;

/// Neighbours each row's density score averages over (SemHash's 100).
pub const DENSITY_NEIGHBOURS: usize = 100;

/// What `filter` selects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FilterMode {
    /// Remove this fraction (`[0, 1]`) of rows: those with the sparsest neighbourhoods.
    Outliers {
        /// Fraction of rows to remove (rounded up).
        fraction: f64,
    },
    /// Keep `count` representative rows, diversified with MMR.
    Representatives {
        /// How many to keep.
        count: usize,
        /// MMR trade-off: 0 pure relevance, 1 pure diversity.
        diversity: f32,
        /// Candidates considered (`None`: SemHash's automatic rule).
        candidates: Option<usize>,
    },
}

/// Everything `filter` needs besides the encoder.
#[derive(Debug, Clone)]
pub struct FilterOptions {
    /// The dataset.
    pub input: PathBuf,
    /// Its format and text columns.
    pub read: ReadOptions,
    /// What to do with rows that cannot be read.
    pub on_error: OnError,
    /// What to select.
    pub mode: FilterMode,
    /// Which neighbour index to search with.
    pub index: IndexKind,
    /// HNSW parameters.
    pub hnsw: HnswParams,
    /// Clustered-index parameters.
    pub ivf: IvfParams,
    /// A vector-store directory to reuse embeddings from.
    pub store: Option<PathBuf>,
    /// Element type of vectors written to the store.
    pub store_dtype: Dtype,
    /// Strip the text at least this share of rows have in common from the text that is
    /// embedded (see [`find_templates`]).
    pub strip_common: Option<f64>,
    /// Where the neighbour search runs (the encoder brings its own device): the CPU
    /// kernels with `index`, or on a device ([`Device::is_device_path`]) exactly, with
    /// [`DeviceIndex`], whatever `index` says.
    pub device: Device,
    /// How a device holds and scores the vectors.
    pub device_params: DeviceParams,
    /// Where the outputs go.
    pub out_dir: PathBuf,
}

/// What a filter run did.
#[derive(Debug, Clone)]
pub struct FilterOutcome {
    /// Input rows.
    pub rows: u64,
    /// Rows kept (inliers, or the representatives).
    pub kept: u64,
    /// Rows removed.
    pub removed: u64,
    /// Rows left out as unreadable (with [`OnError::Skip`]), listed in `skipped.jsonl`.
    pub skipped: u64,
    /// The summary, as written.
    pub summary: Value,
}

/// Runs a filter and writes `kept.<ext>`, `removed.jsonl` and, last, `summary.json`.
///
/// Exact copies share their first row's score. Outliers: rows are ranked by score (stable,
/// so ties keep input order), and the last `ceil(rows × fraction)` are removed. Every
/// removed row's line carries its score; representatives are kept in input order and the
/// summary lists them in selection order with their marginal gains.
pub fn run_filter(
    opts: &FilterOptions,
    encoder: &dyn Encoder,
    progress: &dyn Progress,
) -> Result<FilterOutcome, Error> {
    let started = Instant::now();
    match opts.mode {
        FilterMode::Outliers { fraction } if !(0.0..=1.0).contains(&fraction) => {
            return Err(Error::InvalidOption {
                name: "outlier fraction",
                reason: format!("{fraction} is outside [0, 1]"),
            })
        }
        FilterMode::Representatives { diversity, .. } if !(0.0..=1.0).contains(&diversity) => {
            return Err(Error::InvalidOption {
                name: "diversity",
                reason: format!("{diversity} is outside [0, 1]"),
            })
        }
        _ => {}
    }
    check_strip_share(opts.strip_common)?;
    let out = OutputDir::create(&opts.out_dir, &[&opts.input])?;
    let rows = load_rows(&opts.input, &opts.read, opts.on_error, progress)?;
    let kept_name = dataset::output_file_name("kept", rows.format, rows.compression);
    out.file(&kept_name)?;
    let name = opts.input.display().to_string();
    let common = find_templates(
        &name,
        &opts.read.columns,
        &rows.texts,
        rows.groups.content_key(),
        opts.strip_common,
    );
    let dim = encoder.dim() * opts.read.columns.len();
    let (vectors, embed_report) = embed_texts(
        common.texts(&rows.texts).into(),
        common.content_key,
        encoder,
        opts.store.as_deref(),
        opts.store_dtype,
        Dtype::F32,
        progress,
    )?;
    let v = vectors.as_slice();
    let on_device = opts.device.is_device_path();
    let index: Box<dyn VectorIndex> = match on_device {
        true => Box::new(DeviceIndex::new(
            v,
            dim,
            &opts.device.to_candle()?,
            opts.device.to_string(),
            opts.device_params,
        )?),
        false => crate::index::build(opts.index, opts.hnsw, opts.ivf, v, dim, progress)?,
    };
    let mut scores = density_in(&*index, v, DENSITY_NEIGHBOURS, true, progress)?;
    let mut index_summary = index.describe();
    drop(index);
    let group_of_row = rows.groups.group_of_row();
    let mut rescored = None;
    if let (FilterMode::Outliers { fraction }, false) =
        (opts.mode, opts.index == IndexKind::Exact || on_device)
    {
        rescored = Some(refine_outlier_scores(
            &mut scores,
            group_of_row,
            fraction,
            v,
            dim,
            DENSITY_NEIGHBOURS,
            progress,
        )?);
    }
    if let Some(rows) = rescored {
        // The outliers' scores are exact: approximate neighbours decided nothing.
        index_summary["exactly_rescored"] = json!(rows);
    }
    let n = group_of_row.len();
    let mut keep = vec![false; n];
    let mut selection = Value::Null;
    match opts.mode {
        FilterMode::Outliers { fraction } => keep = outliers(group_of_row, &scores, fraction),
        FilterMode::Representatives {
            count,
            diversity,
            candidates,
        } => {
            let (limit, picks) = representatives(v, dim, &scores, count, diversity, candidates);
            let first = rows.groups.first_row();
            let mut list = Vec::new();
            for (rank, pick) in picks.iter().enumerate() {
                let g = pick.unique as usize;
                keep[first[g] as usize] = true;
                let row = rows.numbers.file_row(first[g]);
                list.push(
                    json!({"rank": rank, "row": row, "score": num(pick.score), "gain": num(pick.gain)}),
                );
            }
            selection = json!({"candidates": limit, "diversity": num(diversity), "selected": list});
        }
    }

    // Write: summary.json last, listing the other files with their checksums.
    out.start_set("summary.json")?;
    let split = write_split(
        &out,
        &opts.input,
        SplitOptions {
            format: Some(rows.format),
            no_header: opts.read.no_header,
        },
        &kept_name,
        (&rows).into(),
        &|i| {
            let r = i as usize;
            (!*keep.get(r)?).then(|| {
                let score = scores[group_of_row[r] as usize];
                fields(json!({"row": rows.numbers.file_row(i), "score": num(score)}))
            })
        },
        progress,
    )?;
    let files: Vec<_> = split.all().into_iter().cloned().collect();
    let written: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    out.finish_set(OUTPUT_FAMILY, &written)?;
    let (kept, removed, skipped) = (
        split.kept.rows,
        split.removed.rows,
        rows.skipped.len() as u64,
    );
    let (mode, params) = match opts.mode {
        FilterMode::Outliers { fraction } => ("outliers", json!({"fraction": fraction})),
        FilterMode::Representatives { count, .. } => ("representatives", json!({"count": count})),
    };
    let summary = json!({
        "command": "filter",
        "semsift_version": env!("CARGO_PKG_VERSION"),
        "mode": mode,
        "parameters": params,
        "input": opts.input.display().to_string(),
        "columns": opts.read.columns,
        "chat": opts.read.chat.map(|c| c.to_string()),
        "strip_common": opts.strip_common,
        "templates": common.templates,
        "on_error": opts.on_error.to_string(),
        "rows": {"input": n as u64 + skipped, "unique": scores.len(), "kept": kept, "removed": removed, "skipped": skipped},
        "neighbours": DENSITY_NEIGHBOURS,
        "model": {"fingerprint": encoder.fingerprint(), "dim": dim},
        "index": index_summary,
        "devices": {
            "embed": encoder.device().to_string(),
            "search": if on_device { opts.device.to_string() } else { "cpu".into() },
        },
        "embedding": embed_report,
        "representatives": selection,
        "seconds": round3(started.elapsed().as_secs_f64()),
        "outputs": describe_outputs(&files)?,
    });
    let mut text = serde_json::to_vec_pretty(&summary).expect("JSON values serialise");
    text.push(b'\n');
    out.write("summary.json", &text)?;
    Ok(FilterOutcome {
        rows: n as u64 + skipped,
        kept,
        removed,
        skipped,
        summary,
    })
}
