//! `semsift dedup`: drop exact and near duplicates, and say why each row went.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use semsift::dataset::OnError;
use semsift::pipeline::{run_dedup, DedupOptions};
use semsift::report::review::REVIEW_ROWS;
use semsift::report::ReviewParams;
use semsift::store::Dtype;

use super::common::{IndexArgs, InputArgs, ModelArgs, StoreArgs, TemplateArgs};
use super::progress::Bars;

/// Flags of `semsift dedup`.
#[derive(Debug, Args)]
pub struct DedupArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rows that cannot be read (invalid JSON, a missing or null column, invalid
    /// UTF-8, a malformed CSV record): `fail` stops with an error naming the file,
    /// line and column; `skip` leaves them out, counts them in summary.json and
    /// lists each (row, line, reason, raw text) in skipped.jsonl, so that kept +
    /// removed + skipped = input rows.
    #[arg(long, default_value = "fail", value_name = "fail|skip")]
    pub on_error: OnError,
    /// Rows whose cosine similarity to an earlier kept row is at least this are
    /// removed, in (0, 1]. With --target-rows, the lowest threshold considered.
    #[arg(short, long, default_value_t = 0.9, value_name = "T")]
    pub threshold: f32,
    /// Reference set (e.g. a train set): remove the INPUT rows that match one of
    /// its rows instead of deduplicating INPUT against itself; duplicate_of then
    /// names the reference row. Read with the same --column names.
    #[arg(long, value_name = "REF")]
    pub against: Option<PathBuf>,
    /// Also report how many rows each of these thresholds would keep
    /// (comma-separated), from the same neighbour search.
    #[arg(long, value_delimiter = ',', value_name = "T,T,...")]
    pub sweep: Vec<f32>,
    /// Choose the highest threshold (not below --threshold) that keeps at most N
    /// rows; summary.json says which threshold it chose.
    #[arg(long, value_name = "N")]
    pub target_rows: Option<u64>,
    /// Also write pairs.jsonl: every similar pair found at the threshold. The
    /// default index then lists every similar pair before it selects (as it does
    /// with --sweep or --target-rows) instead of scoring rows against the kept
    /// rows only, which is slower on dense data.
    #[arg(long)]
    pub pairs: bool,
    /// Also write review.html, a self-contained page (nothing from the network)
    /// for choosing a threshold: a slider steps through the applied threshold,
    /// every --sweep value and each 0.01 from the lowest of them up to 1.0, and
    /// shows at each the exact kept, removed and exact-copy counts, a chart of
    /// removed rows per threshold, and the removed rows with the lowest scores
    /// beside the row each duplicates (the reference row with --against), both
    /// texts quoted; rows the applied threshold decides the other way are
    /// marked. A --sweep value below --threshold extends the slider down to it.
    /// Keeps the similar pairs to decide again at each threshold, as --pairs
    /// does (with the same cost on dense data).
    #[arg(long)]
    pub review: bool,
    /// With --review: removed rows listed per threshold, the lowest scores
    /// first; the page says how many it leaves out (its counts are exact).
    #[arg(long, value_name = "N", default_value_t = REVIEW_ROWS, requires = "review")]
    pub review_rows: usize,
    /// Memory to stay within, e.g. 4G, 512M or a number of bytes: the search's
    /// hit and candidate buffers (with --pairs, --review, --sweep or
    /// --target-rows, or another index) are held to half of what is left below
    /// it and spill to sorted runs in the temporary directory ($TMPDIR) beyond
    /// that, and the similar-pair lists built from spilled runs stay there too,
    /// memory-mapped; the results are the same. Default: the memory available
    /// when the run starts.
    #[arg(long, value_name = "SIZE", value_parser = super::common::parse_size)]
    pub memory_limit: Option<u64>,
    /// Precision the vectors are held and compared in: f32, or f16 (half the
    /// memory, the bulk of a large run's; every score is then computed on the
    /// rounded vectors, within about 2^-10 of the f32 cosine and 1e-5
    /// typically). auto: f32 unless the f32 vectors would take more than a
    /// quarter of the memory available when the run starts (not of
    /// --memory-limit, which changes how a run spills, never its results).
    /// summary.json's index.precision says which was used.
    #[arg(long, value_enum, default_value_t = Precision::Auto)]
    pub precision: Precision,
    #[command(flatten)]
    pub templates: TemplateArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub index: IndexArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output directory: kept.<ext> (kept rows, unchanged, in the input's
    /// format), removed.jsonl (one line per removed row with the row it
    /// duplicates), review.html (with --review) and summary.json, each written
    /// atomically, summary last.
    /// Default: `<input name>-dedup` in the current directory.
    #[arg(short, long, value_name = "OUTDIR")]
    pub output: Option<PathBuf>,
}

/// `--precision`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    Auto,
    F16,
    F32,
}

impl Precision {
    fn dtype(self) -> Option<Dtype> {
        match self {
            Precision::Auto => None,
            Precision::F16 => Some(Dtype::F16),
            Precision::F32 => Some(Dtype::F32),
        }
    }
}

pub fn run(args: DedupArgs, bars: &Bars) -> anyhow::Result<()> {
    let encoder = args.model.load()?;
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| super::embed::default_output(&args.input.input, "-dedup"));
    let opts = DedupOptions {
        input: args.input.input.clone(),
        read: args.input.read_options()?,
        strip_common: args.templates.strip_common,
        on_error: args.on_error,
        threshold: args.threshold,
        against: args.against.clone(),
        index: args.index.index,
        hnsw: args.index.hnsw(),
        ivf: args.index.ivf(),
        against_probes: args
            .index
            .ivf_probes
            .unwrap_or(semsift::dedup::AGAINST_PROBES),
        store: args.store.store.clone(),
        store_dtype: args.store.store_dtype,
        precision: args.precision.dtype(),
        sweep: args.sweep.clone(),
        target_rows: args.target_rows,
        write_pairs: args.pairs,
        review: args.review.then(|| ReviewParams {
            rows: args.review_rows,
            ..ReviewParams::default()
        }),
        memory_limit: args.memory_limit,
        device: args.model.device,
        device_params: args.model.device_params(),
        out_dir: out_dir.clone(),
    };
    let outcome = run_dedup(&opts, encoder.as_ref(), bars)?;
    if !bars.is_quiet() {
        let pct = |x: u64| 100.0 * x as f64 / outcome.rows.max(1) as f64;
        eprintln!(
            "semsift: {} rows → kept {} ({:.2}%), removed {} ({:.2}%; {} exact copies) at threshold {} in {:.2}s → {}",
            outcome.rows,
            outcome.kept,
            pct(outcome.kept),
            outcome.removed,
            pct(outcome.removed),
            outcome.exact_removed,
            outcome.threshold,
            outcome.summary["timings_s"]["total"].as_f64().unwrap_or(0.0),
            out_dir.display()
        );
        if args.review {
            eprintln!(
                "semsift: review of every threshold → {}",
                out_dir.join("review.html").display()
            );
        }
        if outcome.skipped > 0 {
            eprintln!(
                "semsift: skipped {} unreadable rows (listed in {})",
                outcome.skipped,
                out_dir.join("skipped.jsonl").display()
            );
        }
        if let Some(false) = outcome.summary["target_rows"]["reached"].as_bool() {
            eprintln!(
                "semsift: warning: no threshold at or above {} keeps at most {} rows; lower --threshold to search further",
                args.threshold,
                args.target_rows.unwrap_or_default()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::common::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("64kb"), Ok(64 << 10));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("4X").is_err());
    }
}
