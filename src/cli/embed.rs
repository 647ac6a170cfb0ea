//! `semsift embed`: dataset → `.npy` matrix.

use std::path::PathBuf;

use clap::Args;
use semsift::dataset;
use semsift::store::npy::NpyWriter;

use super::common::{InputArgs, ModelArgs};
use super::progress::Bars;

/// Flags of `semsift embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub input: InputArgs,
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
    refuse_overwrite(&args.input.input, &output)?;
    let columns = &args.input.columns;
    let mut reader = dataset::open(&args.input.input, &args.input.read_options())?;
    let encoder = args.model.load()?;
    let chunk_rows = encoder.chunk_rows();
    let mut writer = NpyWriter::create(&output, encoder.dim() * columns.len())?;
    let stats = semsift::pipeline::embed_dataset(
        &mut reader,
        encoder.as_ref(),
        columns.len(),
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
