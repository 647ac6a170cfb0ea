//! `semsift distill`: sentence-transformers model → static model2vec model.

use std::path::PathBuf;

use clap::Args;
use semsift::embed::distill::{distill, DistillOptions};
use semsift::embed::Device;

use super::progress::Bars;

/// Flags of `semsift distill`.
#[derive(Debug, Args)]
pub struct DistillArgs {
    /// The sentence-transformers model folder to distil (config.json,
    /// model.safetensors, tokenizer.json).
    #[arg(long = "from", value_name = "DIR")]
    pub from: PathBuf,
    /// Output folder for the model2vec-format static model (replaced atomically).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Dimensions kept by PCA; 0 keeps the transformer's width without PCA.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub dims: usize,
    /// SIF coefficient for the Zipf token weights; 0 disables weighting.
    #[arg(long, default_value_t = 1e-4, value_name = "A")]
    pub sif_coefficient: f64,
    /// Tokens per forward pass.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub batch_size: usize,
    /// Where the transformer runs: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: Device,
}

pub fn run(args: DistillArgs, bars: &Bars) -> anyhow::Result<()> {
    let options = DistillOptions {
        dims: (args.dims > 0).then_some(args.dims),
        sif_coefficient: (args.sif_coefficient > 0.0).then_some(args.sif_coefficient),
        batch_size: args.batch_size,
        device: args.device,
    };
    let model = distill(&args.from, &options, bars)?;
    model.save(&args.output)?;
    tracing::info!(
        rows = model.embeddings.len() / model.dim,
        dim = model.dim,
        "distilled"
    );
    if !bars.is_quiet() {
        eprintln!(
            "semsift: distilled {} tokens × {} dims → {}",
            model.embeddings.len() / model.dim,
            model.dim,
            args.output.display()
        );
    }
    Ok(())
}
