//! `semsift pool`: a growing pool of rows that only accepts new ones.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use semsift::dataset::{Format, ReadOptions};
use semsift::embed::{self, Encoder, LoadOptions};
use semsift::pipeline::{
    hits_json, import_file, read_candidates, read_queries, verdict_json, AtomicFile,
};
use semsift::pool::{Pool, PoolSettings, INDEX_ROWS};
use serde_json::json;

use super::common::ModelArgs;
use super::progress::Bars;

/// Pool subcommands.
#[derive(Debug, Args)]
pub struct PoolArgs {
    #[command(subcommand)]
    pub command: PoolCommand,
}

/// What to do with a pool.
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Create an empty pool in DIR, fixing its model, columns and threshold.
    Init(InitArgs),
    /// Decide every row of FILE in order: accepted when no pool row, no row
    /// accepted before it and no row of an --against-pool is at least the pool's
    /// threshold similar (or has the same text); append the accepted ones, whole
    /// (every field of the row, not only the columns compared). Prints one JSON line
    /// per row (or writes them to -o).
    Add(AddArgs),
    /// Append every row of FILE as it is, without deciding it: to seed a pool with
    /// rows already deduplicated (say `dedup`'s kept.jsonl). Prints the ids given.
    Import(FileArgs),
    /// The K nearest pool rows of every row of FILE, one JSON line per row.
    Query(QueryArgs),
    /// Rows, segments and bytes on disk, as JSON.
    Stats(DirArg),
    /// Write the pool's rows in order, as JSON Lines or Parquet (`pool_id` first, then
    /// the row's fields).
    Export(ExportArgs),
    /// Read every file of the pool and check every checksum.
    Verify(DirArg),
}

/// `pool init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The pool's folder (created; must not hold a pool).
    pub dir: PathBuf,
    /// Column holding the text (repeatable; see `dedup --column`). Default: `text`.
    #[arg(short, long = "column", value_name = "NAME")]
    pub columns: Vec<String>,
    /// Reject a candidate at least this similar (cosine) to a pool row.
    #[arg(short, long, default_value_t = 0.9, value_name = "T")]
    pub threshold: f32,
    /// Score every candidate against every pool row, however large the pool: the
    /// decisions of `dedup --index exact`, at a cost that grows with the pool. By
    /// default segments of 65,536 rows or more are searched through cells (their
    /// nearest 24 of cells of about 256 rows), which may miss a rare match.
    #[arg(long)]
    pub exact: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Reading a file of candidates or queries.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The pool's folder.
    pub dir: PathBuf,
    /// Rows to add or look up (any format `dedup` reads), with the pool's columns.
    pub input: PathBuf,
    /// Input format when the file name does not tell it.
    #[arg(long, value_name = "jsonl|json|csv|tsv|parquet|text")]
    pub format: Option<Format>,
    /// CSV/TSV: the file has no header row (columns named 1, 2, 3, ...).
    #[arg(long)]
    pub no_header: bool,
    /// Model folder, when the pool's (recorded at init) has moved; it must be the same
    /// model (its fingerprint is checked).
    #[arg(short, long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Write the JSON lines to this file (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `pool add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Also reject rows at least the threshold similar to a row of this pool (a
    /// benchmark's test set, say), opened read-only (repeatable).
    #[arg(long = "against-pool", value_name = "DIR")]
    pub against: Vec<PathBuf>,
    /// Decide and report, but add nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `pool query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Nearest rows per query row.
    #[arg(short, default_value_t = 10, value_name = "N")]
    pub k: usize,
}

/// A pool folder.
#[derive(Debug, Args)]
pub struct DirArg {
    /// The pool's folder.
    pub dir: PathBuf,
}

/// `pool export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The pool's folder.
    pub dir: PathBuf,
    /// Output file: `.jsonl` (one `{"pool_id", ...row}` object a line) or `.parquet`
    /// (zstd; columns inferred from the rows, `pool_id` first); written atomically, never
    /// inside the pool's folder.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// Runs `semsift pool ...`.
pub fn run(args: PoolArgs, bars: &Bars) -> anyhow::Result<()> {
    match args.command {
        PoolCommand::Init(a) => init(a),
        PoolCommand::Add(a) => add(a, bars),
        PoolCommand::Import(a) => import(a, bars),
        PoolCommand::Query(a) => query(a, bars),
        PoolCommand::Stats(a) => {
            let pool = Pool::open(&a.dir)?;
            let s = pool.stats()?;
            let rows = s.rows.max(1) as f64;
            println!(
                "{}",
                json!({
                    "rows": s.rows,
                    "segments": s.segments,
                    "disk_bytes": s.disk_bytes,
                    "bytes_per_row": (s.disk_bytes as f64 / rows).round(),
                    "settings": pool.settings(),
                })
            );
            Ok(())
        }
        PoolCommand::Export(a) => export(a, bars),
        PoolCommand::Verify(a) => {
            let pool = Pool::open(&a.dir)?;
            pool.verify()?;
            println!("{}", json!({"rows": pool.len(), "ok": true}));
            Ok(())
        }
    }
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    let encoder = a.model.load()?;
    let columns = if a.columns.is_empty() {
        vec!["text".to_string()]
    } else {
        a.columns
    };
    let model_path = match &a.model.model {
        Some(p) => Some(std::path::absolute(p).with_context(|| format!("{}", p.display()))?),
        None => None,
    };
    let settings = PoolSettings {
        model: encoder.fingerprint().to_string(),
        model_path,
        dim: encoder.dim() * columns.len(),
        columns,
        threshold: a.threshold,
        index_rows: if a.exact { u64::MAX } else { INDEX_ROWS },
    };
    let pool = Pool::create(&a.dir, settings)?;
    println!(
        "{}",
        json!({"created": a.dir.display().to_string(), "settings": pool.settings()})
    );
    Ok(())
}

/// The pool's model: `--model`, else the folder recorded at init, else the bundled one.
fn pool_model(pool: &Pool, model: Option<&Path>) -> anyhow::Result<Box<dyn Encoder>> {
    let dir = model.or(pool.settings().model_path.as_deref());
    embed::load(dir, &LoadOptions::default()).with_context(|| match dir {
        Some(d) => format!("loading the pool's model {}", d.display()),
        None => "loading the bundled model".to_string(),
    })
}

fn read_options(pool: &Pool, f: &FileArgs) -> ReadOptions {
    ReadOptions {
        format: f.format,
        columns: pool.settings().columns.clone(),
        chat: None,
        no_header: f.no_header,
    }
}

/// Writes JSON lines to `output` (atomically) or standard output.
fn write_lines(
    output: Option<&Path>,
    lines: impl Iterator<Item = serde_json::Value>,
) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            let mut file = AtomicFile::create(path.to_path_buf())?;
            for line in lines {
                file.write_json_line(&line).map_err(|e| file.error(e))?;
            }
            file.commit()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for line in lines {
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

fn add(a: AddArgs, bars: &Bars) -> anyhow::Result<()> {
    let f = &a.file;
    let mut pool = if a.dry_run {
        Pool::open(&f.dir)?
    } else {
        Pool::open_writer(&f.dir)?
    };
    let blocklists = a
        .against
        .iter()
        .map(|d| Pool::open(d))
        .collect::<Result<Vec<_>, _>>()?;
    let blocklists: Vec<&Pool> = blocklists.iter().collect();
    let encoder = pool_model(&pool, f.model.as_deref())?;
    let read = read_options(&pool, f);
    let cands = read_candidates(&pool, encoder.as_ref(), &f.input, &read, bars)
        .with_context(|| format!("reading {}", f.input.display()))?;
    let verdicts = if a.dry_run {
        pool.decide(cands.candidates(), &blocklists)?
    } else {
        pool.add(cands.candidates(), &blocklists)?
    };
    let accepted = verdicts.iter().filter(|v| v.accepted()).count();
    let blocked = verdicts.iter().filter(|v| v.blocked.is_some()).count();
    tracing::info!(
        rows = verdicts.len(),
        accepted,
        blocked,
        pool_rows = pool.len(),
        "{} {} of {} rows",
        if a.dry_run {
            "would accept"
        } else {
            "accepted"
        },
        accepted,
        verdicts.len()
    );
    write_lines(
        f.output.as_deref(),
        verdicts
            .iter()
            .enumerate()
            .map(|(row, v)| verdict_json(row, v, &blocklists)),
    )
}

fn import(f: FileArgs, bars: &Bars) -> anyhow::Result<()> {
    let mut pool = Pool::open_writer(&f.dir)?;
    let encoder = pool_model(&pool, f.model.as_deref())?;
    let read = read_options(&pool, &f);
    let (first, rows) = import_file(&mut pool, encoder.as_ref(), &f.input, &read, bars)
        .with_context(|| format!("importing {}", f.input.display()))?;
    let line = json!({"imported": rows, "first_id": first, "rows": pool.len()});
    write_lines(f.output.as_deref(), std::iter::once(line))
}

fn query(a: QueryArgs, bars: &Bars) -> anyhow::Result<()> {
    let f = &a.file;
    let pool = Pool::open(&f.dir)?;
    let encoder = pool_model(&pool, f.model.as_deref())?;
    let read = read_options(&pool, f);
    let vectors = read_queries(&pool, encoder.as_ref(), &f.input, &read, bars)
        .with_context(|| format!("reading {}", f.input.display()))?;
    let found = pool.query(&vectors, a.k)?;
    write_lines(
        f.output.as_deref(),
        found
            .iter()
            .enumerate()
            .map(|(row, hits)| hits_json(row, hits)),
    )
}

fn export(a: ExportArgs, bars: &Bars) -> anyhow::Result<()> {
    let pool = Pool::open(&a.dir)?;
    let rows = semsift::pipeline::export_file(&pool, &a.output, bars)?;
    tracing::info!("exported {rows} rows to {}", a.output.display());
    Ok(())
}
