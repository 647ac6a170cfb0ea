//! `dedup` end to end: read → embed → index → search → select → write.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::output::{write_split, OutputDir, OutputFile};
use super::rows::{load_rows, LoadedRows};
use super::templates::{check_strip_share, find_templates, EmbedTexts};
use super::vectors::{embed_texts, EmbedReport};
use crate::dataset::{self, DiskTexts, OnError, ReadOptions, SplitOptions, TextSource};
use crate::dedup::{
    dedup_against, dedup_self, Decision, DedupParams, DedupSummary, Deduplication, LeastSimilar,
    ModelInfo, QuotedRows, QuotedTexts, RowCounts,
};
use crate::embed::{Device, Encoder};
use crate::index::{DeviceParams, HnswParams, IndexKind, IvfParams};
use crate::process::{available_memory, peak_rss_mib, Stopwatch};
use crate::progress::Progress;
use crate::report::render_review;
use crate::report::review::{build_review, ReviewInfo, ReviewParams};
use crate::store::Dtype;
use crate::Error;

/// Everything `dedup` needs besides the encoder.
#[derive(Debug, Clone)]
pub struct DedupOptions {
    /// The dataset to deduplicate.
    pub input: PathBuf,
    /// Its format (`None`: from the file name) and the columns that identify a row.
    pub read: ReadOptions,
    /// What to do with rows that cannot be read (of the input and of `against`).
    pub on_error: OnError,
    /// Rows at least this similar (cosine) to a kept row are removed. In `(0, 1]`.
    pub threshold: f32,
    /// A reference set: remove input rows that match one of its rows instead of
    /// deduplicating the input against itself. Read with the same columns.
    pub against: Option<PathBuf>,
    /// Which neighbour index to search with.
    pub index: IndexKind,
    /// HNSW parameters (when `index` is HNSW).
    pub hnsw: HnswParams,
    /// Clustered-index parameters (when `index` is IVF).
    pub ivf: IvfParams,
    /// IVF cells searched per row with `against` ([`DedupParams::against_probes`]).
    pub against_probes: usize,
    /// A vector-store directory to reuse and resume embeddings from.
    pub store: Option<PathBuf>,
    /// Element type of vectors written to the store.
    pub store_dtype: Dtype,
    /// Element type the vectors are held and compared in. [`Dtype::F16`] halves the
    /// memory they take, the largest part of a large run's; every score is then computed
    /// on the rounded vectors (scaled back to unit length), within about `2⁻¹⁰` of the
    /// `f32` vectors' cosine and `10⁻⁵` typically. [`Dtype::F32`] compares the vectors as
    /// computed. `None` (the default): `f32` unless the `f32` vectors would take more than
    /// a quarter of the memory available when the run starts ([`AUTO_F16_SHARE`]; not of
    /// `memory_limit`, so that a limit changes how a run spills, never its results).
    pub precision: Option<Dtype>,
    /// Extra thresholds to report kept counts for, from the same neighbour search.
    pub sweep: Vec<f32>,
    /// Pick the highest threshold (not below `threshold`) that keeps at most this many rows.
    pub target_rows: Option<u64>,
    /// Also write every similar pair found (`pairs.jsonl`).
    pub write_pairs: bool,
    /// Also write `review.html`, the removed rows beside their matches at every
    /// threshold from the search floor to 1.0 ([`build_review`]). Keeps the similar
    /// pairs, as `write_pairs` does, to decide again at each threshold.
    pub review: Option<ReviewParams>,
    /// Bytes of memory the run should stay within: the search's candidate buffers are
    /// held to half of what is left below it (see `spill_budget`) and the rest spills to
    /// temporary files. `None`: the memory available when the run starts.
    pub memory_limit: Option<u64>,
    /// Strip the lines and leading/trailing spans that at least this share of rows have
    /// in common from the text that is embedded (never from the rows written out); see
    /// [`find_templates`]. `None`: embed the rows as they are (what is common is
    /// reported in any case).
    pub strip_common: Option<f64>,
    /// Where the index is built and searched (the encoder brings its own device): the
    /// CPU kernels, or a device; see [`DedupParams::device`].
    pub device: Device,
    /// How a device holds and scores the vectors.
    pub device_params: DeviceParams,
    /// Where the outputs go.
    pub out_dir: PathBuf,
}

impl DedupOptions {
    /// Options for a self-deduplication of `input`'s `text` column into `out_dir`, with
    /// the command line's defaults: threshold 0.9, the clustered (IVF) index, no store,
    /// unreadable rows an error.
    pub fn new(input: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        DedupOptions {
            input: input.into(),
            read: ReadOptions::new(["text"]),
            on_error: OnError::Fail,
            threshold: 0.9,
            against: None,
            index: IndexKind::Ivf,
            hnsw: HnswParams::default(),
            ivf: IvfParams::default(),
            against_probes: crate::dedup::AGAINST_PROBES,
            store: None,
            store_dtype: Dtype::F32,
            precision: None,
            sweep: vec![],
            target_rows: None,
            write_pairs: false,
            review: None,
            memory_limit: None,
            strip_common: None,
            device: Device::Cpu,
            device_params: DeviceParams::default(),
            out_dir: out_dir.into(),
        }
    }

    /// The deduplication parameters, with the memory limit in force.
    fn params(&self, memory_limit: Option<u64>) -> DedupParams {
        DedupParams {
            threshold: self.threshold,
            sweep: self.sweep.clone(),
            target_rows: self.target_rows,
            index: self.index,
            hnsw: self.hnsw,
            ivf: self.ivf,
            memory_limit,
            keep_pairs: self.write_pairs || self.review.is_some(),
            against_probes: self.against_probes,
            device: self.device,
            device_params: self.device_params,
        }
    }
}

/// What a dedup run did (also written to `summary.json`).
#[derive(Debug, Clone)]
pub struct DedupOutcome {
    /// Input rows (`kept + removed + skipped`).
    pub rows: u64,
    /// Input rows left out as unreadable (with [`OnError::Skip`]).
    pub skipped: u64,
    /// Rows kept.
    pub kept: u64,
    /// Rows removed (exact copies included).
    pub removed: u64,
    /// Rows removed as exact copies.
    pub exact_removed: u64,
    /// The threshold applied (chosen by `target_rows` when given).
    pub threshold: f32,
    /// The summary, as written.
    pub summary: Value,
    /// The output files, in the order written.
    pub files: Vec<PathBuf>,
}

/// With `precision: None`, vectors are held as `f16` when as `f32` they would take more
/// than this share of the memory available (10M rows of 256 dimensions: 9.2 GB of `f32`).
pub const AUTO_F16_SHARE: f64 = 0.25;

/// The precision a run holds its vectors in: `asked`, or by [`AUTO_F16_SHARE`] for
/// `rows` unique rows (input and reference) of `dim` dimensions.
fn precision_for(asked: Option<Dtype>, rows: usize, dim: usize, available: Option<u64>) -> Dtype {
    let f32_bytes = (rows * dim * 4) as f64;
    match (asked, available) {
        (Some(p), _) => p,
        (None, Some(limit)) if f32_bytes > AUTO_F16_SHARE * limit as f64 => Dtype::F16,
        (None, _) => Dtype::F32,
    }
}

/// The files a dedup run may write besides `summary.json`, which is written last and marks
/// the set complete (see [`OutputDir::finish_set`]).
pub(super) const OUTPUT_FAMILY: &[&str] = &[
    "kept.*",
    "removed.jsonl",
    "pairs.jsonl",
    "review.html",
    "skipped.jsonl",
];

/// Runs a deduplication and writes `kept.<ext>`, `removed.jsonl`, (`pairs.jsonl`,
/// `review.html`) and, last, `summary.json` to `opts.out_dir`.
pub fn run_dedup(
    opts: &DedupOptions,
    encoder: &dyn Encoder,
    progress: &dyn Progress,
) -> Result<DedupOutcome, Error> {
    let mut watch = Stopwatch::start();
    let memory_limit = opts.memory_limit.or_else(available_memory);
    let params = opts.params(memory_limit);
    params.check()?;
    check_strip_share(opts.strip_common)?;
    let mut inputs: Vec<&Path> = vec![&opts.input];
    inputs.extend(opts.against.as_deref());
    let out = OutputDir::create(&opts.out_dir, &inputs)?;
    out.file("removed.jsonl")?;
    out.file("summary.json")?;
    if opts.review.is_some() {
        out.file("review.html")?;
    }

    let mut rows = load_rows(&opts.input, &opts.read, opts.on_error, progress)?;
    let kept_name = dataset::output_file_name("kept", rows.format, rows.compression);
    out.file(&kept_name)?;
    let mut reference = match &opts.against {
        Some(path) => {
            let read = ReadOptions {
                format: None,
                columns: opts.read.columns.clone(),
                chat: opts.read.chat,
                no_header: opts.read.no_header,
            };
            Some(load_rows(path, &read, opts.on_error, progress)?)
        }
        None => None,
    };
    // The input's key map only served to group its exact copies (400 MB at 10M rows),
    // and its keys only match rows against a reference.
    rows.groups.drop_keys();
    if reference.is_none() {
        rows.keys = Vec::new();
    }
    watch.lap("read");

    // Each set's common text, found (and stripped) on its own.
    let columns = &opts.read.columns;
    let common = |path: &Path, r: &LoadedRows| {
        let name = path.display().to_string();
        find_templates(
            &name,
            columns,
            &r.texts,
            r.groups.content_key(),
            opts.strip_common,
        )
    };
    let templates = common(&opts.input, &rows);
    let ref_templates = opts
        .against
        .as_deref()
        .zip(reference.as_ref())
        .map(|(path, r)| common(path, r));
    watch.lap("templates");

    // The texts are embedded, then only quoted (a few rows of summary.json): they wait
    // in a temporary file, read back a chunk at a time to be embedded, so the vectors
    // and the texts (1 GB at 10M rows) are not in memory together.
    let to_disk = |r: &mut LoadedRows| {
        std::mem::take(&mut r.texts)
            .into_disk()
            .map_err(|source| Error::TempFile {
                what: "the texts",
                source,
            })
    };
    let texts = to_disk(&mut rows)?;
    let ref_texts = reference.as_mut().map(to_disk).transpose()?;
    let dim = encoder.dim() * opts.read.columns.len();
    let unique = texts.len() + ref_texts.as_ref().map_or(0, |t| t.len());
    let precision = precision_for(opts.precision, unique, dim, available_memory());
    let embed = |on_disk: &DiskTexts, t: EmbedTexts| {
        let content_key = t.content_key;
        let stripped = t.into_stripped();
        let source = match &stripped {
            Some(s) => TextSource::Memory(s),
            None => TextSource::Disk(on_disk),
        };
        embed_texts(
            source,
            content_key,
            encoder,
            opts.store.as_deref(),
            opts.store_dtype,
            precision,
            progress,
        )
    };
    let templates_found = templates.templates.clone();
    let (mut vectors, embed_report) = embed(&texts, templates)?;
    let ref_templates_found = ref_templates.as_ref().map(|t| t.templates.clone());
    let mut ref_embedded = ref_texts
        .as_ref()
        .zip(ref_templates)
        .map(|(r, t)| embed(r, t))
        .transpose()?;
    watch.lap_on("embed", &encoder.device().to_string());

    let result = match (&reference, ref_embedded.as_mut()) {
        (Some(r), Some((rv, _))) => dedup_against(
            &rows.groups,
            &rows.keys,
            {
                vectors.widen(dim);
                vectors.as_slice()
            },
            &r.groups,
            {
                rv.widen(dim);
                rv.as_slice()
            },
            dim,
            &params,
            progress,
        )?,
        _ => dedup_self(&rows.groups, vectors, dim, &params, progress)?,
    };
    watch.extend(result.timings.clone());
    let mut result = result;
    result.index["precision"] = json!(precision.to_string());

    // The review decides again at every threshold of its slider, before any output
    // of an earlier run is replaced.
    let review = match &opts.review {
        Some(params) => {
            let info = ReviewInfo {
                input: opts.input.display().to_string(),
                against: opts.against.as_ref().map(|p| p.display().to_string()),
                model: encoder.fingerprint().to_string(),
                columns: opts.read.columns.clone(),
                skipped: rows.skipped.len() as u64,
            };
            let against = reference.as_ref().zip(ref_texts.as_ref());
            let review = build_review(
                &result,
                quoted(&rows, &texts),
                against.map(|(r, t)| quoted(r, t)),
                info,
                params,
                progress,
            )?;
            watch.lap("review");
            Some(review)
        }
        None => None,
    };

    // Write: kept rows through a second pass over the input, removed (and skipped) rows
    // beside them, then summary.json, which lists them all with their checksums.
    out.start_set("summary.json")?;
    let decisions = &result.decisions;
    // Row numbers in the outputs are the files' own, skipped rows counted.
    let dup_numbers = &reference.as_ref().unwrap_or(&rows).numbers;
    let split = write_split(
        &out,
        &opts.input,
        SplitOptions {
            format: Some(rows.format),
            no_header: opts.read.no_header,
        },
        &kept_name,
        (&rows).into(),
        &|i| match decisions.get(i as usize)? {
            &Decision::Remove {
                duplicate_of,
                score,
                exact,
            } => Some(fields(json!({
                "row": rows.numbers.file_row(i),
                "duplicate_of": dup_numbers.file_row(duplicate_of),
                "score": num(score),
                "exact": exact,
            }))),
            Decision::Keep => None,
        },
        progress,
    )?;
    let mut files: Vec<OutputFile> = split.all().into_iter().cloned().collect();
    if opts.write_pairs {
        files.push(write_pairs(&out, &result, &rows)?);
    }
    if let Some(review) = &review {
        let path = out.write("review.html", render_review(review).as_bytes())?;
        files.push(OutputFile {
            path,
            rows: review.listed_rows() as u64,
        });
    }
    let written: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    out.finish_set(OUTPUT_FAMILY, &written)?;
    watch.lap("write");

    let skipped = rows.skipped.len() as u64;
    let mut counts = RowCounts::of(&result, rows.groups.groups() as u64, skipped);
    counts.reference = reference
        .as_ref()
        .map(|r| (r.groups.rows() + r.skipped.len()) as u64);
    counts.reference_skipped = reference.as_ref().map(|r| r.skipped.len() as u64);
    let summary = DedupSummary {
        command: "dedup",
        semsift_version: env!("CARGO_PKG_VERSION"),
        input: Some(opts.input.display().to_string()),
        format: Some(rows.format.to_string()),
        columns: opts.read.columns.clone(),
        chat: opts.read.chat.map(|c| c.to_string()),
        strip_common: opts.strip_common,
        templates: templates_found,
        reference_templates: ref_templates_found,
        against: opts.against.as_ref().map(|p| p.display().to_string()),
        on_error: opts.on_error.to_string(),
        rows: counts,
        duplicate_ratio: counts.ratio(counts.removed),
        exact_duplicate_ratio: counts.ratio(counts.exact_removed),
        threshold: result.threshold,
        target_rows: result.target.clone(),
        model: ModelInfo {
            fingerprint: encoder.fingerprint().to_string(),
            dim,
        },
        index: result.index.clone(),
        devices: {
            let mut devices = Map::new();
            devices.insert("embed".into(), json!(encoder.device().to_string()));
            devices.extend(result.devices());
            devices
        },
        embedding: embed_summary(&embed_report, ref_embedded.as_ref().map(|e| &e.1)),
        timings_s: watch.finish(),
        peak_rss_mib: peak_rss_mib(),
        memory_limit_mib: memory_limit.map(|b| b >> 20),
        least_similar: LeastSimilar::list(
            &result.decisions,
            quoted(&rows, &texts),
            match (&reference, &ref_texts) {
                (Some(r), Some(t)) => quoted(r, t),
                _ => quoted(&rows, &texts),
            },
            &opts.read.columns,
        ),
        sweep: result.sweep.clone(),
        outputs: describe_outputs(&files)?,
    };
    let summary = serde_json::to_value(&summary).expect("summaries serialise");
    let mut text = serde_json::to_vec_pretty(&summary).expect("JSON values serialise");
    text.push(b'\n');
    let mut files: Vec<PathBuf> = files.into_iter().map(|f| f.path).collect();
    files.push(out.write("summary.json", &text)?);
    Ok(DedupOutcome {
        rows: counts.input,
        skipped,
        kept: counts.kept,
        removed: counts.removed,
        exact_removed: counts.exact_removed,
        threshold: result.threshold,
        summary,
        files,
    })
}

fn embed_summary(input: &EmbedReport, reference: Option<&EmbedReport>) -> Value {
    json!({ "input": input, "reference": reference })
}

/// A file's rows as the summary quotes them.
fn quoted<'a>(rows: &'a LoadedRows, texts: &'a DiskTexts) -> QuotedRows<'a> {
    QuotedRows {
        groups: &rows.groups,
        texts: QuotedTexts::OnDisk(texts),
        numbers: &rows.numbers,
    }
}

/// Writes every similar pair at or above the applied threshold, by input row numbers.
fn write_pairs(
    out: &OutputDir,
    result: &Deduplication,
    rows: &LoadedRows,
) -> Result<OutputFile, Error> {
    let mut w = out.writer("pairs.jsonl")?;
    let first = rows.groups.first_row();
    let row = |u: usize| rows.numbers.file_row(first[u]);
    let mut lines = 0;
    if let Some(pairs) = result.pairs() {
        for (i, j, s) in pairs.iter().filter(|p| p.2 >= result.threshold) {
            let line = json!({"row": row(i), "other": row(j as usize), "score": num(s)});
            w.write_json_line(&line).map_err(|e| w.error(e))?;
            lines += 1;
        }
    }
    Ok(OutputFile {
        path: w.commit()?,
        rows: lines,
    })
}

/// The `outputs` of a summary: each file written, keyed by its role, with its row count,
/// size and SHA-256.
pub(super) fn describe_outputs(files: &[OutputFile]) -> Result<Value, Error> {
    let mut outputs = Map::new();
    for file in files {
        let role = match file.path.file_name().and_then(|n| n.to_str()) {
            Some(name) if name.starts_with("kept.") => "kept",
            Some(name) => name
                .strip_suffix(".jsonl")
                .or_else(|| name.strip_suffix(".html"))
                .unwrap_or(name),
            None => continue,
        };
        outputs.insert(role.to_string(), file.describe()?);
    }
    Ok(Value::Object(outputs))
}

/// The fields of a JSON object literal.
pub(crate) fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => unreachable!("called with an object literal"),
    }
}

/// An `f32` as the JSON number with the shortest decimal form that reads back as the
/// same `f32` (`0.9`, not `0.8999999761581421`).
pub(crate) fn num(x: f32) -> Value {
    crate::dedup::job::short(x)
}
