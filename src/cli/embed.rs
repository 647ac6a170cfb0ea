//! `semsift embed`: dataset → `.npy` matrix.

use std::path::PathBuf;

use clap::Args;
use semsift::dataset::OnError;
use semsift::pipeline::embed_to_npy;

use super::common::{InputArgs, ModelArgs};
use super::progress::Bars;

/// Flags of `semsift embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rows that cannot be read (invalid JSON, a missing or null column, invalid
    /// UTF-8, a malformed CSV record): `fail` stops with an error naming the file,
    /// line and column; `skip` leaves them out of the .npy and writes two sidecars
    /// next to it, each atomically: `<OUT stem>.rows.npy` (uint64, the 0-based file
    /// row of each .npy row) and `<OUT stem>.skipped.jsonl` (row, line, reason of
    /// each skipped row, without its raw text), so that .npy rows + skipped = input
    /// rows. A run without skip removes sidecars an earlier run left for OUT.
    #[arg(long, default_value = "fail", value_name = "fail|skip")]
    pub on_error: OnError,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output file: float32 [rows, dim] .npy, rows in input order. Written to
    /// OUT.partial and renamed when complete. Default: `<input name>.npy` in
    /// the current directory.
    #[arg(short, long, value_name = "OUT.npy")]
    pub output: Option<PathBuf>,
}

pub fn run(args: EmbedArgs, bars: &Bars) -> anyhow::Result<()> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input.input, ".npy"));
    let encoder = args.model.load()?;
    let outcome = embed_to_npy(
        &args.input.input,
        &args.input.read_options()?,
        args.on_error,
        encoder.as_ref(),
        &output,
        bars,
    )?;
    let stats = &outcome.stats;
    let rows = stats.rows;
    tracing::info!(rows, dim = stats.dim, "wrote {}", output.display());
    if !bars.is_quiet() {
        eprintln!(
            "semsift: embedded {rows} rows × {} dims in {:.2}s ({:.0} rows/s) → {}",
            stats.dim,
            stats.embed_time.as_secs_f64() + stats.read_time.as_secs_f64(),
            rows as f64 / (stats.embed_time + stats.read_time).as_secs_f64().max(1e-9),
            output.display()
        );
        if !stats.skipped.is_empty() {
            eprintln!(
                "semsift: skipped {} unreadable rows (listed in {}; file row of each vector in {})",
                stats.skipped.len(),
                outcome.files.skipped.display(),
                outcome.files.rows.display()
            );
        }
    }
    Ok(())
}

/// `data/train.jsonl.gz` + `suffix` → `train<suffix>` (in the current directory).
pub fn default_output(input: &std::path::Path, suffix: &str) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .split('.')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("embeddings");
    PathBuf::from(format!("{stem}{suffix}"))
}
