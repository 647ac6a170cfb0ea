//! `semsift report`: the topics of a dataset and, against a reference, its coverage gaps.

use std::path::PathBuf;

use clap::Args;
use semsift::dataset::OnError;
use semsift::pipeline::{run_report, Clusters, ReportOptions};

use super::common::{InputArgs, ModelArgs, StoreArgs, TemplateArgs};
use super::progress::Bars;

/// Flags of `semsift report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rows that cannot be read (invalid JSON, a missing or null column, invalid
    /// UTF-8, a malformed CSV record), in INPUT or REF: `fail` stops with an error
    /// naming the file, line and column; `skip` leaves them out of every figure,
    /// counts them (skipped_rows in report.json, shown beside the rows in
    /// report.html) and lists each (set, row, line, reason; not its raw text, which
    /// would take a second pass over the file) in skipped.jsonl. Row numbers stay
    /// the file's own.
    #[arg(long, default_value = "fail", value_name = "fail|skip")]
    pub on_error: OnError,
    /// Reference set to compare with (a target distribution, an eval suite, another
    /// dataset): topics are fitted on both, and the report lists the topics INPUT
    /// lacks or over-represents. Read with the same --column names.
    #[arg(short, long, value_name = "REF")]
    pub reference: Option<PathBuf>,
    /// Number of topics (k-means clusters), or `auto`: round(sqrt(n / 10)) for n
    /// distinct non-empty rows, between 2 and 200.
    #[arg(short = 'k', long, default_value = "auto", value_name = "K|auto")]
    pub clusters: Clusters,
    /// Seed of the clustering's random choices (same seed, same topics).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Most k-means iterations (it stops earlier once assignments settle).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_iter: usize,
    /// Cosine at or above which a row counts as a near duplicate of an earlier row
    /// in its topic.
    #[arg(long, default_value_t = 0.9, value_name = "T")]
    pub near_duplicate_threshold: f32,
    /// Most rows drawn on report.html's map: larger sets show a seeded sample of
    /// this many distinct rows, laid out from their nearest neighbours.
    #[arg(long, default_value_t = semsift::report::job::MAP_POINTS, value_name = "N")]
    pub map_points: usize,
    #[command(flatten)]
    pub templates: TemplateArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output directory: report.html (open it in a browser), report.json (the
    /// same, machine-readable), clusters.jsonl (each row's topic) and, with
    /// --on-error skip, skipped.jsonl, each written atomically, report.json last
    /// (a skipped.jsonl of an earlier run is removed). Default: `<input name>-report`.
    #[arg(short, long, value_name = "OUTDIR")]
    pub output: Option<PathBuf>,
}

pub fn run(args: ReportArgs, bars: &Bars) -> anyhow::Result<()> {
    let encoder = args.model.load()?;
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| super::embed::default_output(&args.input.input, "-report"));
    let opts = ReportOptions {
        input: args.input.input.clone(),
        read: args.input.read_options()?,
        strip_common: args.templates.strip_common,
        reference: args.reference.clone(),
        on_error: args.on_error,
        clusters: args.clusters,
        seed: args.seed,
        max_iter: args.max_iter,
        near_duplicate_threshold: args.near_duplicate_threshold,
        store: args.store.store.clone(),
        store_dtype: args.store.store_dtype,
        device: args.model.device,
        device_params: args.model.device_params(),
        map_points: args.map_points,
        out_dir: out_dir.clone(),
    };
    let outcome = run_report(&opts, encoder.as_ref(), bars)?;
    if !bars.is_quiet() {
        let r = &outcome.report;
        let mut line = format!(
            "semsift: {} rows in {} topics (effective {:.1})",
            r.input.rows, r.clustering.k, r.diversity.input.effective_topics
        );
        if let Some(c) = &r.coverage {
            line += &format!(
                "; vs reference: coverage {:.1}%, JS divergence {:.3} bits, {} missing and {} over-represented topics",
                100.0 * c.coverage,
                c.js_divergence_bits,
                c.missing.len(),
                c.over.len()
            );
        }
        eprintln!("{line} → {}", out_dir.join("report.html").display());
        let skipped = r.input.skipped_rows + r.reference.as_ref().map_or(0, |s| s.skipped_rows);
        if skipped > 0 {
            eprintln!(
                "semsift: skipped {skipped} unreadable rows (listed in {})",
                out_dir.join("skipped.jsonl").display()
            );
        }
    }
    Ok(())
}
