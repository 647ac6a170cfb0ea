//! Flags shared by the commands that read a dataset, embed it and search it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use semsift::dataset::{self, Chat, Format, ReadOptions};
use semsift::embed::{self, Device, Encoder, LoadOptions};
use semsift::index::{HnswParams, IndexKind, IvfParams};
use semsift::store::Dtype;

/// Which rows to read.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input dataset: .jsonl/.json (JSON Lines, or one JSON array of objects when
    /// the file starts with `[`), .csv, .tsv, .parquet or .txt (one row per line),
    /// optionally .gz or .zst compressed.
    pub input: PathBuf,
    /// Column holding the text (repeatable: columns are embedded separately and
    /// concatenated, and a row's identity for exact duplicates is all of them).
    /// In JSON and Parquet files a path into nested values: `a.b`,
    /// `messages[0].content`, `messages[-1].content`, `messages[*].content` (every
    /// element, joined with newlines), `messages[role=user].content` (the elements
    /// whose `role` is `user`). Default: `text`, or with --chat the first of
    /// messages, conversations, conversation in the first row.
    #[arg(short, long = "column", value_name = "NAME")]
    pub columns: Vec<String>,
    /// Embed these turns of a conversation column (OpenAI role/content or ShareGPT
    /// from/value turns, detected): user (every user turn), assistant (every
    /// assistant turn), all (every turn, system and tool turns included),
    /// first-user (the opening prompt), last-assistant (the final answer); turns
    /// joined with newlines. A column holding plain text is used as it is.
    #[arg(long, value_name = "TURNS")]
    pub chat: Option<Chat>,
    /// Input format when the file name does not tell it.
    #[arg(long, value_name = "jsonl|json|csv|tsv|parquet|text")]
    pub format: Option<Format>,
    /// CSV/TSV: the file has no header row; columns are named by position, 1, 2, 3, ...
    /// (e.g. -c 3)
    #[arg(long)]
    pub no_header: bool,
}

impl InputArgs {
    /// The reader options these flags describe. With --chat and no --column, the first
    /// row of the input says which column holds the conversation.
    pub fn read_options(&self) -> anyhow::Result<ReadOptions> {
        let mut opts = ReadOptions {
            format: self.format,
            columns: self.columns.clone(),
            chat: self.chat,
            no_header: self.no_header,
        };
        if opts.columns.is_empty() {
            opts.columns = match self.chat {
                Some(_) => vec![dataset::conversation_column(&self.input, &opts)?],
                None => vec!["text".to_string()],
            };
        }
        Ok(opts)
    }
}

/// What is embedded of templated rows.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Leave out of the text that is embedded (never out of the rows written) the
    /// lines, and the leading and trailing spans, that at least SHARE of the rows
    /// have in common: a system prompt, a tool description, an instruction header
    /// (e.g. 0.05). Rows that are nothing but such text are embedded whole. What
    /// is common is listed under `templates` in the summary either way.
    #[arg(long, value_name = "SHARE")]
    pub strip_common: Option<f64>,
}

/// Which model embeds the rows.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model folder: a model2vec static model or a sentence-transformers BERT
    /// (default: the bundled static all-MiniLM-L6-v2 distillation).
    #[arg(short, long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Where the heavy stages run: cpu (the CPU kernels), cuda or cuda:N (a GPU;
    /// needs a build with `--features cuda`), or candle-cpu (the GPU code path run
    /// on the CPU, for testing it without a GPU). On a device, a transformer
    /// embeds there (a static model tokenises on the CPU and averages its rows
    /// there), and the index (exact, or the default clustered one: one flat
    /// level of k-means cells), the threshold search and k-means run there;
    /// selection decides from the pairs found, on the CPU. hnsw always runs on
    /// the CPU. summary.json's `devices` says where each stage ran.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: Device,
    /// Arithmetic on a device: f16 (tensor cores) for the similarity products,
    /// where every pair within the documented rounding bound of the threshold
    /// is rescored in f32, so decisions are those of f32 search, and for a
    /// transformer's weights and activations (vectors within about 0.999
    /// cosine of f32 ones; a store keeps them apart); or f32 throughout.
    #[arg(long, default_value = "f16", value_name = "f16|f32")]
    pub device_precision: semsift::index::Precision,
    /// Device memory the indexed vectors may take, e.g. 8G: larger sets are
    /// uploaded and searched in windows of this size.
    #[arg(long, default_value = "8G", value_name = "SIZE", value_parser = parse_size)]
    pub device_memory: u64,
    /// Texts per transformer forward pass (static models take whole chunks).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub batch_size: usize,
}

impl ModelArgs {
    /// How a device holds and scores vectors (`--device-precision`, `--device-memory`).
    pub fn device_params(&self) -> semsift::index::DeviceParams {
        semsift::index::DeviceParams {
            precision: self.device_precision,
            memory: self.device_memory,
        }
    }

    /// Loads the model.
    pub fn load(&self) -> anyhow::Result<Box<dyn Encoder>> {
        embed::load(
            self.model.as_deref(),
            &LoadOptions {
                device: self.device,
                batch_size: self.batch_size,
                half: self.device_precision == semsift::index::Precision::Half,
            },
        )
        .with_context(|| match &self.model {
            Some(m) => format!("loading model {}", m.display()),
            None => "loading the bundled model".to_string(),
        })
    }
}

/// How neighbours are searched.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Neighbour search: ivf (k-means cells, each row scored exactly against
    /// the members of its nearest cells; fast, and finds nearly every pair exact
    /// search finds at dedup thresholds), hnsw (approximate graph) or exact (brute
    /// force, the ground truth; fine up to some 10^5 rows).
    #[arg(long, default_value = "ivf", value_name = "ivf|hnsw|exact")]
    pub index: IndexKind,
    /// IVF cells (k-means centroids); 0 = round(sqrt(rows x probes)), but cells of
    /// at most 256 rows on average.
    #[arg(long, default_value_t = IvfParams::default().lists, value_name = "N")]
    pub ivf_lists: usize,
    /// IVF cells each row is scored against: its own, then those it comes
    /// closest to (cells no match can lie in are skipped). More find more pairs;
    /// the search costs about proportionally more. Default 10, and 24 for
    /// `dedup --against`, where a missed leak costs more than time.
    #[arg(long, value_name = "N")]
    pub ivf_probes: Option<usize>,
    /// IVF cells are found through groups of cells: each row is compared with
    /// the cells of this many nearest groups, an eighth more (rounded up) above
    /// 4,096 cells, where groups are smaller (indexes of fewer than 1,024 cells have
    /// one group). More find a row's nearest cells more surely; the cost of
    /// finding them grows proportionally.
    #[arg(long, default_value_t = IvfParams::default().coarse_probes, value_name = "N")]
    pub ivf_coarse_probes: usize,
    /// HNSW links per node (M): higher finds more neighbours, builds slower.
    #[arg(long, default_value_t = HnswParams::default().m, value_name = "N")]
    pub hnsw_m: usize,
    /// HNSW candidate list while building (ef_construction).
    #[arg(long, default_value_t = HnswParams::default().ef_construction, value_name = "N")]
    pub ef_construction: usize,
    /// HNSW candidate list while searching (ef_search; raised to k when a query
    /// asks for more neighbours).
    #[arg(long, default_value_t = HnswParams::default().ef_search, value_name = "N")]
    pub ef_search: usize,
    /// Build the HNSW graph with all threads: faster on many cores, but the
    /// graph depends on thread timing, so the output may vary between runs
    /// (the default serial build gives the same output every run).
    #[arg(long)]
    pub hnsw_parallel_build: bool,
}

impl IndexArgs {
    /// The IVF parameters these flags describe.
    pub fn ivf(&self) -> IvfParams {
        IvfParams {
            lists: self.ivf_lists,
            probes: self.ivf_probes.unwrap_or(IvfParams::default().probes),
            coarse_probes: self.ivf_coarse_probes,
            ..IvfParams::default()
        }
    }

    /// The HNSW parameters these flags describe.
    pub fn hnsw(&self) -> HnswParams {
        HnswParams {
            m: self.hnsw_m,
            ef_construction: self.ef_construction,
            ef_search: self.ef_search,
            parallel_build: self.hnsw_parallel_build,
            ..HnswParams::default()
        }
    }
}

/// Where embeddings are kept between runs.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Vector-store directory: embeddings are saved there (memory-mapped,
    /// checksummed) and reused when the same rows are embedded with the same
    /// model again, e.g. to rerun at another threshold; an interrupted
    /// embedding resumes from its last checkpoint.
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Element type of stored vectors: f32 (exact) or f16 (half the disk).
    #[arg(long, default_value = "f32", value_name = "f32|f16", value_parser = parse_dtype)]
    pub store_dtype: Dtype,
}

fn parse_dtype(s: &str) -> Result<Dtype, String> {
    match s {
        "f32" => Ok(Dtype::F32),
        "f16" => Ok(Dtype::F16),
        other => Err(format!("unknown dtype {other:?} (expected f32 or f16)")),
    }
}

/// A size in bytes: a number, optionally with a K, M, G or T suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "`{s}`: expected a size such as 4G, 512M or 1000000"
            ))
        }
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: expected a size such as 4G, 512M or 1000000"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("`{s}`: must be more than zero"));
    }
    Ok((value * (1u64 << shift) as f64) as u64)
}
