//! Command definitions and dispatch. Each subcommand lives in its own file
//! and documents its flags where they are defined.

mod bench_device;
mod common;
mod dedup;
mod distill;
mod embed;
mod filter;
mod pool;
mod progress;
mod report;

use clap::{Args, Parser, Subcommand};

/// semsift: semantic deduplication and topic coverage for LLM training data.
///
/// Runs offline: models come from folders on disk, and a distilled
/// all-MiniLM-L6-v2 static model is built into the binary as the default.
#[derive(Debug, Parser)]
#[command(name = "semsift", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress bars and no log output below errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Worker threads (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Remove exact and near-duplicate rows (or, with --against, rows that
    /// appear in a reference set), saying for each which row it duplicates.
    Dedup(dedup::DedupArgs),
    /// Remove outlier rows, or pick representative rows.
    Filter(filter::FilterArgs),
    /// Describe a dataset's topics (k-means, keywords, examples) and, with
    /// --reference, which topics it lacks or over-represents; writes report.html.
    Report(report::ReportArgs),
    /// Embed a dataset's text into an .npy matrix (float32, one row per input row;
    /// with --on-error skip, per readable row, with sidecars listing the rest).
    Embed(embed::EmbedArgs),
    /// A growing pool of rows for generation loops: `init`, then `add` files of
    /// candidates (only rows new relative to the pool and to blocklist pools are
    /// accepted), `query`, `stats`, `export`, `verify`.
    Pool(pool::PoolArgs),
    /// Make a static (model2vec-format) model from a sentence-transformers model.
    Distill(distill::DistillArgs),
    /// Time exact threshold search, k-means steps and (with --model) embedding on
    /// a device (cpu or cuda), on seeded synthetic data; one JSON line per measure.
    BenchDevice(bench_device::BenchDeviceArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let bars = progress::Bars::new(cli.global.quiet);
    match cli.command {
        Command::Dedup(args) => dedup::run(args, &bars),
        Command::Filter(args) => filter::run(args, &bars),
        Command::Report(args) => report::run(args, &bars),
        Command::Embed(args) => embed::run(args, &bars),
        Command::Pool(args) => pool::run(args, &bars),
        Command::Distill(args) => distill::run(args, &bars),
        Command::BenchDevice(args) => bench_device::run(args, &bars),
    }
}

/// Sends `tracing` output to stderr, at a level set by -v/-q or RUST_LOG.
pub fn init_logging(verbose: u8, quiet: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
