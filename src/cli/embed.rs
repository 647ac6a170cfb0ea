//! `semsift embed`: dataset → `.npy` matrix.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use semsift::dataset::{self, Format, ReadOptions};
use semsift::embed::{self, Device, LoadOptions};
use semsift::store::npy::NpyWriter;

use super::progress::Bars;

/// Flags of `semsift embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Input dataset: .jsonl/.json (JSON Lines), .csv, .tsv, .parquet or .txt
    /// (one row per line), optionally .gz or .zst compressed.
    pub input: PathBuf,
    /// Column holding the text (repeatable; several columns are embedded
    /// separately and concatenated, so rows get dim × columns values).
    #[arg(short, long = "column", value_name = "NAME", default_value = "text")]
    pub columns: Vec<String>,
    /// Input format when the file name does not tell it.
    #[arg(long, value_name = "jsonl|csv|tsv|parquet|text")]
    pub format: Option<Format>,
    /// Model folder: a model2vec static model or a sentence-transformers BERT
    /// (default: the bundled static all-MiniLM-L6-v2 distillation).
    #[arg(short, long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Where a transformer model runs: cpu, cuda or cuda:N (needs a build with
    /// `--features cuda`). Static models always run on the CPU.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: Device,
    /// Texts per transformer forward pass (static models take whole chunks).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub batch_size: usize,
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
        .unwrap_or_else(|| default_output(&args.input, ".npy"));
    refuse_overwrite(&args.input, &output)?;
    let options = ReadOptions {
        format: args.format,
        columns: args.columns.clone(),
    };
    let mut reader = dataset::open(&args.input, &options)?;
    let encoder = embed::load(
        args.model.as_deref(),
        &LoadOptions {
            device: args.device,
            batch_size: args.batch_size,
        },
    )
    .with_context(|| match &args.model {
        Some(m) => format!("loading model {}", m.display()),
        None => "loading the bundled model".to_string(),
    })?;
    let chunk_rows = encoder.chunk_rows();
    let mut writer = NpyWriter::create(&output, encoder.dim() * args.columns.len())?;
    let stats = semsift::pipeline::embed_dataset(
        &mut reader,
        encoder.as_ref(),
        args.columns.len(),
        chunk_rows,
        bars,
        |rows| writer.write_rows(rows).map_err(Into::into),
    )?;
    let rows = writer.finish()?;
    tracing::info!(rows, dim = stats.dim, "wrote {}", output.display());
    if !bars.is_quiet() {
        eprintln!(
            "semsift: embedded {rows} rows × {} dims in {:.2}s ({:.0} rows/s) → {}",
            stats.dim,
            stats.embed_time.as_secs_f64() + stats.read_time.as_secs_f64(),
            rows as f64 / (stats.embed_time + stats.read_time).as_secs_f64().max(1e-9),
            output.display()
        );
    }
    Ok(())
}

/// Refuses an output path that names the input file.
pub fn refuse_overwrite(input: &std::path::Path, output: &std::path::Path) -> anyhow::Result<()> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(semsift::store::StoreError::WouldOverwriteInput(input.to_path_buf()).into());
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
