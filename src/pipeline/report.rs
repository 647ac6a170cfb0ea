//! `report` end to end: read → embed → [`report::build`](crate::report::build) → write.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::output::OutputDir;
use super::rows::{load_rows, LoadedRows};
use super::templates::{check_strip_share, find_templates};
use super::vectors::embed_texts;
use crate::dataset::template::ColumnTemplates;
use crate::dataset::{OnError, ReadOptions};
use crate::dedup::check_threshold;
use crate::embed::{Device, Encoder};
use crate::index::DeviceParams;
use crate::process::Stopwatch;
use crate::progress::Progress;
use crate::report::{self, render_html, BuiltReport, Clusters, Report, ReportParams, ReportSet};
use crate::store::{Dtype, Vectors};
use crate::Error;

/// Everything `report` needs besides the encoder.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The dataset to describe.
    pub input: PathBuf,
    /// Its format (`None`: from the file name) and the text columns.
    pub read: ReadOptions,
    /// A reference set to compare topic shares with. Read with the same columns.
    pub reference: Option<PathBuf>,
    /// What to do with rows of the input or the reference that cannot be read: stop
    /// ([`OnError::Fail`]), or leave them out and list them in `skipped.jsonl`
    /// ([`OnError::Skip`]).
    pub on_error: OnError,
    /// Number of topics.
    pub clusters: Clusters,
    /// Seed of k-means's random choices and the map's sample.
    pub seed: u64,
    /// Most k-means iterations.
    pub max_iter: usize,
    /// Cosine at or above which a row is a near duplicate of an earlier row in its topic.
    pub near_duplicate_threshold: f32,
    /// A vector-store directory to reuse and resume embeddings from.
    pub store: Option<PathBuf>,
    /// Element type of vectors written to the store.
    pub store_dtype: Dtype,
    /// Strip the text at least this share of rows have in common from the text that is
    /// embedded (see [`find_templates`]).
    pub strip_common: Option<f64>,
    /// Where k-means and the near-duplicate scan run (the encoder brings its own
    /// device); see [`ReportParams::device`].
    pub device: Device,
    /// How a device holds and scores the vectors.
    pub device_params: DeviceParams,
    /// Most rows on the map ([`crate::report::job::MAP_POINTS`] by default).
    pub map_points: usize,
    /// Where the outputs go.
    pub out_dir: PathBuf,
}

/// The outputs a report run may write besides its marker, `report.json` (written last):
/// files of these names that a run did not write are removed before the marker lands.
const OUTPUT_FAMILY: &[&str] = &["clusters.jsonl", "report.html", "skipped.jsonl"];

/// What a report run produced.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    /// The report, as written to `report.json`.
    pub report: Report,
    /// The files written, in order (`report.json` last).
    pub files: Vec<PathBuf>,
}

/// One dataset read and embedded.
struct Set {
    name: String,
    rows: LoadedRows,
    vectors: Vectors,
    /// What its columns have in common.
    templates: Vec<ColumnTemplates>,
}

impl Set {
    fn load(
        path: &Path,
        read: &ReadOptions,
        opts: &ReportOptions,
        encoder: &dyn Encoder,
        progress: &dyn Progress,
    ) -> Result<Set, Error> {
        let rows = load_rows(path, read, opts.on_error, progress)?;
        let name = path.display().to_string();
        let common = find_templates(
            &name,
            &read.columns,
            &rows.texts,
            rows.groups.content_key(),
            opts.strip_common,
        );
        let (vectors, _) = embed_texts(
            common.texts(&rows.texts).into(),
            common.content_key,
            encoder,
            opts.store.as_deref(),
            opts.store_dtype,
            Dtype::F32,
            progress,
        )?;
        Ok(Set {
            name,
            rows,
            vectors,
            templates: common.templates,
        })
    }

    fn as_report_set(&self) -> ReportSet<'_> {
        ReportSet {
            name: &self.name,
            groups: &self.rows.groups,
            texts: &self.rows.texts,
            vectors: self.vectors.as_slice(),
            numbers: &self.rows.numbers,
            skipped_rows: self.rows.skipped.len() as u64,
        }
    }
}

/// Runs a report and writes `clusters.jsonl`, `report.html`, with [`OnError::Skip`]
/// `skipped.jsonl`, and, last, `report.json` to `opts.out_dir`.
///
/// Row numbers in the outputs are the files' own (0-based data rows, skipped rows
/// counted). A report that was asked not to skip removes the `skipped.jsonl` of an
/// earlier run, so the directory only ever holds one run's set.
pub fn run_report(
    opts: &ReportOptions,
    encoder: &dyn Encoder,
    progress: &dyn Progress,
) -> Result<ReportOutcome, Error> {
    let mut watch = Stopwatch::start();
    check_threshold("near-duplicate threshold", opts.near_duplicate_threshold)?;
    check_strip_share(opts.strip_common)?;
    let mut inputs: Vec<&Path> = vec![&opts.input];
    inputs.extend(opts.reference.as_deref());
    let out = OutputDir::create(&opts.out_dir, &inputs)?;
    for name in OUTPUT_FAMILY.iter().chain(&["report.json"]) {
        out.file(name)?;
    }

    let input = Set::load(&opts.input, &opts.read, opts, encoder, progress)?;
    let reference = match &opts.reference {
        Some(path) => {
            let read = ReadOptions {
                format: None,
                columns: opts.read.columns.clone(),
                chat: opts.read.chat,
                no_header: opts.read.no_header,
            };
            Some(Set::load(path, &read, opts, encoder, progress)?)
        }
        None => None,
    };
    watch.lap("read_embed");
    let params = ReportParams {
        clusters: opts.clusters,
        seed: opts.seed,
        max_iter: opts.max_iter,
        near_duplicate_threshold: opts.near_duplicate_threshold,
        columns: opts.read.columns.clone(),
        model: encoder.fingerprint().to_string(),
        device: opts.device,
        device_params: opts.device_params,
        map_points: opts.map_points,
    };
    let dim = encoder.dim() * opts.read.columns.len();
    let mut built = report::build(
        input.as_report_set(),
        reference.as_ref().map(Set::as_report_set),
        dim,
        &params,
        progress,
    )?;
    // The job's stages join this run's; the page is rendered without timings (they are
    // only known in full once it is written).
    watch.extend(std::mem::take(&mut built.report.timings_s));
    let stages = std::mem::take(&mut built.report.devices);
    built.report.devices =
        std::iter::once(("embed".to_string(), json!(encoder.device().to_string())))
            .chain(stages)
            .collect();
    built.report.chat = opts.read.chat.map(|c| c.to_string());
    built.report.strip_common = opts.strip_common;
    built.report.templates = input.templates.clone();
    built.report.reference_templates = reference.as_ref().map(|r| r.templates.clone());

    let sets: Vec<&Set> = std::iter::once(&input).chain(&reference).collect();
    let rows: Vec<ReportSet> = sets.iter().map(|s| s.as_report_set()).collect();
    out.start_set("report.json")?;
    let mut files = write_report_files(&out, &built, &rows, progress)?;
    if opts.on_error == OnError::Skip {
        files.push(write_skipped(&out, &sets)?);
    }
    let written: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    out.finish_set(OUTPUT_FAMILY, &written)?;
    watch.lap("write");
    let mut report = built.report;
    report.timings_s = watch.finish();
    files.push(write_report_json(&out, &report)?);
    Ok(ReportOutcome { report, files })
}

/// Writes `clusters.jsonl` and `report.html` of `built`, whose sets are `rows` (the
/// input, then the reference).
pub(crate) fn write_report_files(
    out: &OutputDir,
    built: &BuiltReport,
    rows: &[ReportSet<'_>],
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>, Error> {
    let mut files = vec![write_clusters(out, built, rows, progress)?];
    files.push(out.write("report.html", render_html(&built.report).as_bytes())?);
    Ok(files)
}

/// Writes `report.json`, the marker of a complete set: last.
pub(crate) fn write_report_json(out: &OutputDir, report: &Report) -> Result<PathBuf, Error> {
    let mut text = serde_json::to_vec_pretty(report).expect("the report serialises");
    text.push(b'\n');
    out.write("report.json", &text)
}

/// `clusters.jsonl`: one line per row read of the input, then of the reference, in row
/// order, each with its file row number (skipped rows have no line).
fn write_clusters(
    out: &OutputDir,
    built: &BuiltReport,
    sets: &[ReportSet<'_>],
    progress: &dyn Progress,
) -> Result<PathBuf, Error> {
    let mut w = out.writer("clusters.jsonl")?;
    let total: usize = sets.iter().map(|s| s.groups.rows()).sum();
    progress.begin("write", Some(total as u64));
    for (s, set) in sets.iter().enumerate() {
        let name = if s == 0 { "input" } else { "reference" };
        for i in 0..set.groups.rows() {
            let row = set.numbers.file_row(i as u64);
            let fine = built.fine_topic_of(s, set.groups, i);
            let line = match (built.topic_of(s, set.groups, i), fine) {
                (Some((cluster, similarity)), Some(fine)) => format!(
                    "{{\"set\":\"{name}\",\"row\":{row},\"cluster\":{cluster},\"fine_topic\":{fine},\"similarity\":{}}}\n",
                    json!(report::round6(similarity as f64))
                ),
                _ => format!(
                    "{{\"set\":\"{name}\",\"row\":{row},\"cluster\":null,\"fine_topic\":null,\"similarity\":null,\"empty\":true}}\n"
                ),
            };
            w.write_all(line.as_bytes()).map_err(|e| w.error(e))?;
            if i % 65536 == 65535 {
                progress.advance(65536);
            }
        }
        progress.advance((set.groups.rows() % 65536) as u64);
    }
    progress.end();
    w.commit()
}

/// `skipped.jsonl`: one `{"set", "row", "line", "reason"}` line per row left out as
/// unreadable, the input's first, then the reference's, in row order. The raw text is not
/// included: it would take a second pass over the files.
fn write_skipped(out: &OutputDir, sets: &[&Set]) -> Result<PathBuf, Error> {
    let mut w = out.writer("skipped.jsonl")?;
    for (s, set) in sets.iter().enumerate() {
        let name = if s == 0 { "input" } else { "reference" };
        for skipped in &set.rows.skipped {
            let line = json!({
                "set": name,
                "row": skipped.row,
                "line": skipped.line,
                "reason": skipped.reason,
            });
            w.write_json_line(&line).map_err(|e| w.error(e))?;
        }
    }
    w.commit()
}

/// Writes a report built in memory (the Python package's `report`) to `out_dir`:
/// `clusters.jsonl`, `report.html`, then `report.json`, as `semsift report` does.
pub fn write_report(
    out_dir: &Path,
    built: &BuiltReport,
    sets: &[ReportSet<'_>],
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>, Error> {
    let out = OutputDir::create(out_dir, &[])?;
    out.start_set("report.json")?;
    let mut files = write_report_files(&out, built, sets, progress)?;
    let written: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    out.finish_set(OUTPUT_FAMILY, &written)?;
    files.push(write_report_json(&out, &built.report)?);
    Ok(files)
}
