//! `semsift filter`: drop outliers, or pick representative rows.

use std::path::PathBuf;

use clap::Args;
use semsift::dataset::OnError;
use semsift::pipeline::{run_filter, FilterMode, FilterOptions};

use super::common::{IndexArgs, InputArgs, ModelArgs, StoreArgs, TemplateArgs};
use super::progress::Bars;

/// Flags of `semsift filter`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["outliers", "representatives"])))]
pub struct FilterArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rows that cannot be read (invalid JSON, a missing or null column, invalid
    /// UTF-8, a malformed CSV record): `fail` stops with an error naming the file,
    /// line and column; `skip` leaves them out, counts them in summary.json and
    /// lists each (row, line, reason, raw text) in skipped.jsonl, so that kept +
    /// removed + skipped = input rows.
    #[arg(long, default_value = "fail", value_name = "fail|skip")]
    pub on_error: OnError,
    /// Remove this fraction of rows (0–1): those whose 100 nearest neighbours
    /// are least similar on average.
    #[arg(long, value_name = "FRACTION")]
    pub outliers: Option<f64>,
    /// Keep K representative rows: the densest candidates, diversified with
    /// maximal marginal relevance.
    #[arg(long, value_name = "K")]
    pub representatives: Option<usize>,
    /// MMR trade-off for --representatives: 0 pure relevance, 1 pure diversity.
    #[arg(long, default_value_t = 0.5, value_name = "D")]
    pub diversity: f32,
    /// Candidates MMR chooses from (default: 10% of rows, at least 100 and K,
    /// at most 1000).
    #[arg(long, value_name = "N")]
    pub candidates: Option<usize>,
    #[command(flatten)]
    pub templates: TemplateArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub index: IndexArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output directory: kept.<ext>, removed.jsonl (with each row's score) and
    /// summary.json.
    #[arg(short, long, value_name = "OUTDIR")]
    pub output: PathBuf,
}

pub fn run(args: FilterArgs, bars: &Bars) -> anyhow::Result<()> {
    let mode = match (args.outliers, args.representatives) {
        (Some(fraction), _) => FilterMode::Outliers { fraction },
        (None, Some(count)) => FilterMode::Representatives {
            count,
            diversity: args.diversity,
            candidates: args.candidates,
        },
        (None, None) => unreachable!("clap requires one mode"),
    };
    let encoder = args.model.load()?;
    let opts = FilterOptions {
        input: args.input.input.clone(),
        read: args.input.read_options()?,
        strip_common: args.templates.strip_common,
        on_error: args.on_error,
        mode,
        index: args.index.index,
        hnsw: args.index.hnsw(),
        ivf: args.index.ivf(),
        store: args.store.store.clone(),
        store_dtype: args.store.store_dtype,
        device: args.model.device,
        device_params: args.model.device_params(),
        out_dir: args.output.clone(),
    };
    let outcome = run_filter(&opts, encoder.as_ref(), bars)?;
    if !bars.is_quiet() {
        eprintln!(
            "semsift: {} rows → kept {}, removed {}, skipped {} → {}",
            outcome.rows,
            outcome.kept,
            outcome.removed,
            outcome.skipped,
            args.output.display()
        );
    }
    Ok(())
}
