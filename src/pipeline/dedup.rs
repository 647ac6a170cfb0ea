//! `dedup` end to end: read → embed → index → search → select → write.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::output::{write_split, OutputDir, OutputFile};
use super::rows::{load_rows, LoadedRows};
use super::timings::{peak_rss_mib, Stopwatch};
use super::vectors::{embed_texts, EmbedReport};
use crate::dataset::{self, OnError, ReadOptions, SplitOptions};
use crate::dedup::{
    best_matches, decide_cross, decide_self, highest_threshold_keeping, kept_count, select,
    Decision, EarlierPairs, IdenticalVectors, RefMatch, VectorRows, RESCORE_MARGIN,
};
use crate::embed::Encoder;
use crate::index::{
    ExactIndex, HnswIndex, HnswParams, IndexKind, IvfIndex, IvfParams, VectorIndex, MAX_HITS,
};
use crate::progress::Progress;
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
    /// A vector-store directory to reuse and resume embeddings from.
    pub store: Option<PathBuf>,
    /// Element type of vectors written to the store.
    pub store_dtype: Dtype,
    /// Extra thresholds to report kept counts for, from the same neighbour search.
    pub sweep: Vec<f32>,
    /// Pick the highest threshold (not below `threshold`) that keeps at most this many rows.
    pub target_rows: Option<u64>,
    /// Also write every similar pair found (`pairs.jsonl`).
    pub write_pairs: bool,
    /// Bytes of memory the run should stay within: the search's candidate buffers are
    /// held to half of what is left below it (see `spill_budget`) and the rest spills to
    /// temporary files. `None`: the memory available when the run starts.
    pub memory_limit: Option<u64>,
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
            store: None,
            store_dtype: Dtype::F32,
            sweep: vec![],
            target_rows: None,
            write_pairs: false,
            memory_limit: None,
            out_dir: out_dir.into(),
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

/// How many least-similar removed pairs the summary lists.
const LEAST_SIMILAR: usize = 20;

/// The files a dedup run may write besides `summary.json`, which is written last and marks
/// the set complete (see [`OutputDir::finish_set`]).
pub(super) const OUTPUT_FAMILY: &[&str] =
    &["kept.*", "removed.jsonl", "pairs.jsonl", "skipped.jsonl"];

/// A cosine threshold must lie in `(0, 1]`.
pub(super) fn check_threshold(name: &'static str, t: f32) -> Result<(), Error> {
    if t > 0.0 && t <= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            name,
            reason: format!("{t} is outside (0, 1]"),
        })
    }
}

/// Builds the chosen index over `vectors` (which the IVF index borrows).
pub fn build_index<'a>(
    kind: IndexKind,
    hnsw: HnswParams,
    ivf: IvfParams,
    vectors: &'a [f32],
    dim: usize,
    progress: &dyn Progress,
) -> Result<Box<dyn VectorIndex + 'a>, Error> {
    Ok(match kind {
        IndexKind::Ivf => Box::new(IvfIndex::build(vectors, dim, ivf, progress)?),
        IndexKind::Exact => Box::new(ExactIndex::new(vectors, dim)?),
        IndexKind::Hnsw => Box::new(HnswIndex::build(vectors, dim, hnsw, progress)?),
    })
}

/// Runs a deduplication and writes `kept.<ext>`, `removed.jsonl`, (`pairs.jsonl`) and,
/// last, `summary.json` to `opts.out_dir`.
pub fn run_dedup(
    opts: &DedupOptions,
    encoder: &dyn Encoder,
    progress: &dyn Progress,
) -> Result<DedupOutcome, Error> {
    let mut watch = Stopwatch::start();
    let memory_limit = opts.memory_limit.or_else(available_memory);
    check_threshold("threshold", opts.threshold)?;
    for &t in &opts.sweep {
        check_threshold("sweep threshold", t)?;
    }
    if opts.target_rows == Some(0) {
        return Err(Error::InvalidOption {
            name: "target rows",
            reason: "must be at least 1".into(),
        });
    }
    let mut inputs: Vec<&Path> = vec![&opts.input];
    inputs.extend(opts.against.as_deref());
    let out = OutputDir::create(&opts.out_dir, &inputs)?;
    out.file("removed.jsonl")?;
    out.file("summary.json")?;

    let rows = load_rows(&opts.input, &opts.read, opts.on_error, progress)?;
    let kept_name = dataset::output_file_name("kept", rows.format, rows.compression);
    out.file(&kept_name)?;
    let reference = match &opts.against {
        Some(path) => {
            let read = ReadOptions {
                format: None,
                columns: opts.read.columns.clone(),
                no_header: opts.read.no_header,
            };
            Some(load_rows(path, &read, opts.on_error, progress)?)
        }
        None => None,
    };
    watch.lap("read");

    let dim = encoder.dim() * opts.read.columns.len();
    let embed = |r: &LoadedRows| {
        embed_texts(
            &r.texts,
            r.groups.content_key(),
            encoder,
            opts.store.as_deref(),
            opts.store_dtype,
            progress,
        )
    };
    let (mut vectors, embed_report) = embed(&rows)?;
    let ref_embedded = reference.as_ref().map(embed).transpose()?;
    // A self-search needs one vector per group of bit-identical vectors: the others are
    // dropped here, and rows are mapped to their group's vector from then on.
    let identical = reference.is_none().then(|| {
        let identical = IdenticalVectors::group(vectors.as_slice(), dim);
        if identical.groups() < rows.texts.len() {
            vectors.retain_rows(identical.reps(), dim);
        }
        identical
    });
    watch.lap("embed");

    let floor = opts.sweep.iter().copied().fold(opts.threshold, f32::min);
    let mut run = Run {
        opts,
        rows: &rows,
        vectors: vectors.as_slice(),
        dim,
        floor,
        memory_limit,
        watch,
        progress,
    };
    let result = match (&reference, &ref_embedded, &identical) {
        (Some(r), Some((rv, _)), _) => run.cross(r, rv.as_slice())?,
        (_, _, Some(identical)) => run.self_dedup(identical)?,
        _ => unreachable!("a run has a reference or groups of identical vectors"),
    };
    let mut watch = run.watch;

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
        &rows,
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
    let written: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    out.finish_set(OUTPUT_FAMILY, &written)?;
    watch.lap("write");
    let timings = watch.finish();

    let skipped = rows.skipped.len() as u64;
    let n = decisions.len() as u64 + skipped;
    let removed = decisions.iter().filter(|d| !d.is_kept()).count() as u64;
    let kept = n - removed - skipped;
    let exact_removed = decisions
        .iter()
        .filter(|d| matches!(d, Decision::Remove { exact: true, .. }))
        .count() as u64;
    let ratio = |x: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let summary = json!({
        "command": "dedup",
        "semsift_version": env!("CARGO_PKG_VERSION"),
        "input": opts.input.display().to_string(),
        "format": rows.format.to_string(),
        "columns": opts.read.columns,
        "against": opts.against.as_ref().map(|p| p.display().to_string()),
        "on_error": opts.on_error.to_string(),
        "rows": {
            "input": n,
            "unique": rows.groups.groups(),
            "kept": kept,
            "removed": removed,
            "exact_removed": exact_removed,
            "skipped": skipped,
            "reference": reference.as_ref().map(|r| r.groups.rows() + r.skipped.len()),
            "reference_skipped": reference.as_ref().map(|r| r.skipped.len()),
        },
        "duplicate_ratio": ratio(removed),
        "exact_duplicate_ratio": ratio(exact_removed),
        "threshold": num(result.threshold),
        "target_rows": result.target,
        "model": { "fingerprint": encoder.fingerprint(), "dim": dim },
        "index": result.index,
        "embedding": embed_summary(&embed_report, ref_embedded.as_ref().map(|e| &e.1)),
        "timings_s": timings,
        "peak_rss_mib": peak_rss_mib(),
        "memory_limit_mib": memory_limit.map(|b| b >> 20),
        "least_similar": least_similar(decisions, &rows, reference.as_ref(), &opts.read.columns),
        "sweep": result.sweep,
        "outputs": describe_outputs(&files)?,
    });
    let mut text = serde_json::to_vec_pretty(&summary).expect("JSON values serialise");
    text.push(b'\n');
    let mut files: Vec<PathBuf> = files.into_iter().map(|f| f.path).collect();
    files.push(out.write("summary.json", &text)?);
    Ok(DedupOutcome {
        rows: n,
        skipped,
        kept,
        removed,
        exact_removed,
        threshold: result.threshold,
        summary,
        files,
    })
}

/// Bytes the search's candidate buffers may hold before they spill to disk: half of what
/// is left between the process's resident memory now and `limit` (the other half is
/// headroom: the block being read, sort buffers, the allocator's slack), and never less
/// than 8 MiB. `None` (no limit known) never spills.
pub fn spill_budget(limit: Option<u64>) -> Option<usize> {
    let limit = limit?;
    let used = resident_bytes().unwrap_or(0);
    let budget = (limit.saturating_sub(used) / 2).max(8 << 20);
    Some(usize::try_from(budget).unwrap_or(usize::MAX))
}

/// The memory available to new work now (`MemAvailable`, Linux); `None` elsewhere.
fn available_memory() -> Option<u64> {
    meminfo_kib("/proc/meminfo", "MemAvailable:").map(|k| k << 10)
}

/// The process's resident memory now (`VmRSS`, Linux).
fn resident_bytes() -> Option<u64> {
    meminfo_kib("/proc/self/status", "VmRSS:").map(|k| k << 10)
}

/// The value in kiB of the line starting `key` of a `/proc` file.
fn meminfo_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The decisions of a run and what the summary says about how they were reached.
struct Decided {
    decisions: Vec<Decision>,
    threshold: f32,
    target: Value,
    sweep: Value,
    index: Value,
    /// Similar pairs `(later unique, earlier unique, score)` at the final threshold
    /// (self-dedup only).
    pairs: Option<EarlierPairs>,
}

/// The search-and-select part of a run.
struct Run<'a> {
    opts: &'a DedupOptions,
    rows: &'a LoadedRows,
    vectors: &'a [f32],
    dim: usize,
    floor: f32,
    /// The memory limit in force (given, or what was available at the start).
    memory_limit: Option<u64>,
    watch: Stopwatch,
    progress: &'a dyn Progress,
}

impl Run<'_> {
    fn lap(&mut self, name: &str) {
        self.watch.lap(name);
    }

    /// Builds the index over `vectors`; `self_search` says they will also be the queries.
    fn index<'v>(
        &mut self,
        vectors: &'v [f32],
        self_search: bool,
    ) -> Result<Box<dyn VectorIndex + 'v>, Error> {
        let ivf = IvfParams {
            self_threshold: self_search.then_some(self.floor - RESCORE_MARGIN),
            spill_budget: spill_budget(self.memory_limit),
            ..self.opts.ivf
        };
        let index = build_index(
            self.opts.index,
            self.opts.hnsw,
            ivf,
            vectors,
            self.dim,
            self.progress,
        )?;
        self.lap("index");
        Ok(index)
    }

    /// `self.vectors` holds one vector per group of `identical`.
    fn self_dedup(&mut self, identical: &IdenticalVectors) -> Result<Decided, Error> {
        let distinct = self.vectors;
        let index = self.index(distinct, true)?;
        let found = index.stream_above_at_most(
            distinct,
            self.floor - RESCORE_MARGIN,
            MAX_HITS,
            self.progress,
        )?;
        let index_summary = index.describe();
        drop(index);
        let rows = VectorRows::mapped(distinct, self.dim, identical.group_of());
        let budget = spill_budget(self.memory_limit);
        let pairs = EarlierPairs::from_group_search(found, identical, rows, self.floor, budget)
            .map_err(crate::index::IndexError::Spill)?;
        let cut_rows = pairs.cut_count();
        self.lap("search");
        let kept_at = |t: f32| kept_count(&select(&pairs, rows, t)) as u64;
        let (threshold, target) =
            self.choose_threshold(|| pairs.iter().map(|p| p.2).collect(), kept_at);
        let canon = select(&pairs, rows, threshold);
        let decisions = decide_self(&self.rows.groups, &canon);
        let sweep = self.sweep(kept_at);
        self.lap("select");
        let mut index_summary = index_summary;
        index_summary["pairs_found"] = json!(pairs.pairs());
        index_summary["pairs_on_disk"] = json!(pairs.is_on_disk());
        index_summary["distinct_vectors"] = json!(identical.groups());
        index_summary["max_hits"] = json!(MAX_HITS);
        index_summary["rows_at_max_hits"] = json!(cut_rows);
        index_summary["search_floor"] = num(self.floor);
        Ok(Decided {
            decisions,
            threshold,
            target,
            sweep,
            index: index_summary,
            pairs: Some(pairs),
        })
    }

    fn cross(&mut self, reference: &LoadedRows, ref_vectors: &[f32]) -> Result<Decided, Error> {
        let index = self.index(ref_vectors, false)?;
        let found = index.above_at_most(
            self.vectors,
            self.floor - RESCORE_MARGIN,
            MAX_HITS,
            self.progress,
        )?;
        let mut matches = best_matches(&found, self.vectors, ref_vectors, self.dim, self.floor);
        drop(found);
        for (u, m) in matches.iter_mut().enumerate() {
            if let Some(g) = reference.groups.find(self.rows.keys[u]) {
                *m = Some(RefMatch {
                    of: g,
                    score: 1.0,
                    exact: true,
                });
            }
        }
        self.lap("search");
        let mut group_size = vec![0u64; matches.len()];
        for &g in self.rows.groups.group_of_row() {
            group_size[g as usize] += 1;
        }
        let total: u64 = group_size.iter().sum();
        let kept_at = |t: f32| {
            total
                - matches
                    .iter()
                    .zip(&group_size)
                    .filter(|(m, _)| m.is_some_and(|m| m.exact || m.score >= t))
                    .map(|(_, n)| n)
                    .sum::<u64>()
        };
        let scores = || matches.iter().flatten().map(|m| m.score).collect();
        let (threshold, target) = self.choose_threshold(scores, kept_at);
        let decisions = decide_cross(
            &self.rows.groups,
            &matches,
            reference.groups.first_row(),
            threshold,
        );
        let sweep = self.sweep(kept_at);
        self.lap("select");
        let mut index_summary = index.describe();
        index_summary["search_floor"] = num(self.floor);
        Ok(Decided {
            decisions,
            threshold,
            target,
            sweep,
            index: index_summary,
            pairs: None,
        })
    }

    /// The threshold to apply: the given one, or the one `--target-rows` picks among the
    /// `scores` of the pairs found (gathered only then).
    fn choose_threshold(
        &self,
        scores: impl FnOnce() -> Vec<f32>,
        kept_at: impl FnMut(f32) -> u64,
    ) -> (f32, Value) {
        let Some(target) = self.opts.target_rows else {
            return (self.opts.threshold, Value::Null);
        };
        let scores: Vec<f32> = scores()
            .into_iter()
            .filter(|&s| s >= self.opts.threshold)
            .collect();
        match highest_threshold_keeping(scores, target, kept_at) {
            Some((t, kept)) => (
                t,
                json!({"requested": target, "reached": true, "chosen_threshold": num(t), "kept": kept}),
            ),
            None => {
                tracing::warn!(
                    target,
                    floor = self.opts.threshold,
                    "no threshold at or above the floor keeps at most the target rows; using the floor"
                );
                (
                    self.opts.threshold,
                    json!({"requested": target, "reached": false, "chosen_threshold": num(self.opts.threshold),
                           "note": "no threshold at or above --threshold keeps this few rows; lower --threshold to search further"}),
                )
            }
        }
    }

    fn sweep(&self, mut kept_at: impl FnMut(f32) -> u64) -> Value {
        let mut ts = self.opts.sweep.clone();
        ts.sort_by(f32::total_cmp);
        ts.dedup();
        Value::Array(
            ts.into_iter()
                .map(|t| {
                    let kept = kept_at(t);
                    let n = self.rows.groups.rows() as u64;
                    json!({"threshold": num(t), "kept": kept, "removed": n - kept})
                })
                .collect(),
        )
    }
}

fn embed_summary(input: &EmbedReport, reference: Option<&EmbedReport>) -> Value {
    json!({ "input": input, "reference": reference })
}

/// The least similar removed pairs, with the texts of both rows.
fn least_similar(
    decisions: &[Decision],
    rows: &LoadedRows,
    reference: Option<&LoadedRows>,
    columns: &[String],
) -> Value {
    let mut removed: Vec<(usize, u64, f32, bool)> = decisions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match *d {
            Decision::Remove {
                duplicate_of,
                score,
                exact,
            } => Some((i, duplicate_of, score, exact)),
            Decision::Keep => None,
        })
        .collect();
    removed.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    let texts = |r: &LoadedRows, row: u64| {
        let g = r.groups.group_of_row()[row as usize] as usize;
        let mut m = Map::new();
        for (c, name) in columns.iter().enumerate() {
            m.insert(name.clone(), json!(r.texts.get(g, c)));
        }
        Value::Object(m)
    };
    Value::Array(
        removed
            .into_iter()
            .take(LEAST_SIMILAR)
            .map(|(row, dup, score, exact)| {
                let dups = reference.unwrap_or(rows);
                json!({
                    "row": rows.numbers.file_row(row as u64),
                    "duplicate_of": dups.numbers.file_row(dup),
                    "score": num(score), "exact": exact,
                    "text": texts(rows, row as u64),
                    "duplicate_text": texts(dups, dup),
                })
            })
            .collect(),
    )
}

/// Writes every similar pair at or above the applied threshold, by input row numbers.
fn write_pairs(out: &OutputDir, result: &Decided, rows: &LoadedRows) -> Result<OutputFile, Error> {
    let mut w = out.writer("pairs.jsonl")?;
    let first = rows.groups.first_row();
    let row = |u: usize| rows.numbers.file_row(first[u]);
    let mut lines = 0;
    if let Some(pairs) = &result.pairs {
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
            Some(name) => name.strip_suffix(".jsonl").unwrap_or(name),
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
    x.to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
