//! `semsift bench-device`: times the matrix-product stages (exact threshold search,
//! k-means assignment) and, with --model, transformer embedding on one device, on seeded
//! synthetic data. Prints one JSON object per measurement on stdout.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use semsift::cluster::{self, DeviceRows, Rng};
use semsift::dataset::{self, ReadOptions};
use semsift::embed::{self, Device, LoadOptions, ModelKind};
use semsift::index::{DeviceIndex, DeviceParams, Precision, VectorIndex, MAX_HITS};
use semsift::progress::Progress;
use serde_json::{json, Value};

use super::progress::Bars;

/// Synthetic rows come in groups of this many near copies of one random centre.
const GROUP: usize = 4;
/// Noise of the near copies, relative to the centre's coordinates.
const NOISE: f32 = 0.3;
/// Timed k-means iterations.
const ITERATIONS: usize = 3;
/// Rows of the small untimed run before each timed one (kernel compilation, library
/// start-up on a GPU).
const WARMUP_ROWS: usize = 4096;

/// Flags of `semsift bench-device`.
#[derive(Debug, Args)]
pub struct BenchDeviceArgs {
    /// Where the matrix products and a transformer --model run: cpu, cuda or cuda:N
    /// (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: Device,
    /// Synthetic unit vectors to search and cluster (groups of 4 near copies).
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub rows: usize,
    /// Width of the synthetic vectors.
    #[arg(long, default_value_t = 256, value_name = "D")]
    pub dim: usize,
    /// k-means clusters (the first K rows are the starting centroids).
    #[arg(long, default_value_t = 1000, value_name = "K")]
    pub k: usize,
    /// Cosine similarity of the exact rows × rows threshold search.
    #[arg(long, default_value_t = 0.9, value_name = "T")]
    pub threshold: f32,
    /// Seed of the synthetic vectors and of the generated sentences.
    #[arg(long, default_value_t = 42, value_name = "S")]
    pub seed: u64,
    /// Also time embedding with this model folder (e.g. a sentence-transformers
    /// checkpoint such as models/all-MiniLM-L6-v2), loaded as `semsift embed` does, on
    /// --device. Model load time is reported separately.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Texts for the embedding measurement: the `text` column of a .jsonl, .csv,
    /// .tsv or .parquet file, or the lines of a .txt (default: generated sentences).
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// Texts to embed: this many generated sentences, or the first N rows of --texts
    /// (0 with --texts: all of them).
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub text_rows: usize,
    /// Texts per transformer forward pass.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub batch_size: usize,
    /// Arithmetic of the search's products: f16 (candidates rescored in f32 on the
    /// host, as `dedup --device` does) or f32.
    #[arg(long, default_value = "f16", value_name = "f16|f32")]
    pub precision: Precision,
    /// Run the transformer in f16 on the device (as `dedup --device` does by default).
    #[arg(long)]
    pub half: bool,
    /// Device memory the searched vectors may take; larger sets are searched in windows.
    #[arg(long, default_value = "8G", value_name = "SIZE", value_parser = super::common::parse_size)]
    pub device_memory: u64,
}

pub fn run(args: BenchDeviceArgs, bars: &Bars) -> anyhow::Result<()> {
    check(&args)?;
    // Fails first, with the library's message, for cuda in a CPU-only build.
    let device = args.device.to_candle()?;
    let name = args.device.to_string();
    // Read the texts and check the model folder before the long measurements.
    let texts = match &args.model {
        Some(dir) => {
            let kind = embed::detect_kind(dir)
                .with_context(|| format!("loading model {}", dir.display()))?;
            Some((dir, kind, load_texts(&args)?))
        }
        None => None,
    };

    bars.begin("generate vectors", None);
    let (rows, dim) = (args.rows, args.dim);
    let vectors = cluster::synthetic(rows, dim, GROUP, NOISE, args.seed);
    bars.end();

    // (a) exact threshold search, rows × rows, as `dedup --index exact --device` runs it:
    // each row against the rows up to its own chunk (every pair found from its later row).
    let params = DeviceParams {
        precision: args.precision,
        memory: args.device_memory,
    };
    let start = Instant::now();
    let w = rows.min(WARMUP_ROWS);
    let small = &vectors[..w * dim];
    DeviceIndex::new(small, dim, &device, &name, params)?
        .earlier_only()
        .above_at_most(small, args.threshold, MAX_HITS, &semsift::progress::Silent)?;
    device.synchronize()?;
    let warmup = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let index = DeviceIndex::new(&vectors, dim, &device, &name, params)?.earlier_only();
    device.synchronize()?;
    let build = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let hits = index.above_at_most(&vectors, args.threshold, MAX_HITS, bars)?;
    let seconds = start.elapsed().as_secs_f64();
    let index_resident = index.is_resident();
    drop(index);
    let pairs: usize = (0..hits.len())
        .map(|i| hits.get(i).0.iter().filter(|&&j| (j as usize) < i).count())
        .sum();
    emit(json!({
        "measure": "exact_threshold_search",
        "device": name,
        "precision": args.precision.name(),
        "resident": index_resident,
        "rows": rows,
        "dim": dim,
        // As typed (0.9, not the f32's 0.8999999761581421).
        "threshold": args.threshold.to_string().parse::<f64>().unwrap_or(f64::NAN),
        "max_hits": MAX_HITS,
        "seconds": seconds,
        "build_seconds": build,
        "warmup_seconds": warmup,
        "pairs": pairs,
        "hits": hits.total(),
        "cut_rows": hits.cut_count(),
    }));
    drop(hits);

    // (b) k-means: the rows held on the device, assignment and update there, as
    // `report --device` and the device index fit them.
    let k = args.k;
    let mut centroids = vectors[..k * dim].to_vec();
    let start = Instant::now();
    let small = DeviceRows::new(&vectors[..w * dim], dim, None, &device)?;
    let (_, labels) = small.assign(&centroids)?;
    small.update(&labels, &mut centroids.clone())?;
    device.synchronize()?;
    drop(small);
    let warmup = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let on_device = DeviceRows::new(&vectors, dim, None, &device)?;
    device.synchronize()?;
    let upload = start.elapsed().as_secs_f64();
    let (mut total, mut assign, mut update) = (Vec::new(), Vec::new(), Vec::new());
    let (mut objective, mut empty) = (0.0, 0);
    for it in 1..=ITERATIONS {
        bars.begin(&format!("k-means iteration {it}/{ITERATIONS}"), None);
        let start = Instant::now();
        let (a, labels) = on_device.assign(&centroids)?;
        let assigned = start.elapsed().as_secs_f64();
        let (_, empties) = on_device.update(&labels, &mut centroids)?;
        let seconds = start.elapsed().as_secs_f64();
        bars.end();
        total.push(seconds);
        assign.push(assigned);
        update.push(seconds - assigned);
        objective = a.objective(None);
        empty = empties.len();
    }
    emit(json!({
        "measure": "kmeans_iteration",
        "device": name,
        "rows": rows,
        "dim": dim,
        "k": k,
        "seconds": mean(&total),
        "iterations": total,
        "assign_seconds": assign,
        "update_seconds": update,
        "warmup_seconds": warmup,
        "upload_seconds": upload,
        "objective": objective,
        "empty_clusters": empty,
    }));
    drop(vectors);

    // (c) embedding throughput.
    if let Some((dir, kind, texts)) = texts {
        embed_measure(&args, dir, kind, &texts, bars)?;
    }
    Ok(())
}

/// Loads the model and times `Encoder::encode` over `texts`, after one untimed batch.
fn embed_measure(
    args: &BenchDeviceArgs,
    dir: &std::path::Path,
    kind: ModelKind,
    texts: &[String],
    bars: &Bars,
) -> anyhow::Result<()> {
    let kind_name = match kind {
        ModelKind::Static => "static",
        ModelKind::Transformer => "transformer",
    };
    let start = Instant::now();
    let encoder = embed::load(
        Some(dir),
        &LoadOptions {
            device: args.device,
            batch_size: args.batch_size,
            half: args.half,
        },
    )
    .with_context(|| format!("loading model {}", dir.display()))?;
    let load = start.elapsed().as_secs_f64();
    emit(json!({
        "measure": "model_load",
        "device": encoder.device().to_string(),
        "model": dir.display().to_string(),
        "kind": kind_name,
        "seconds": load,
    }));

    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let start = Instant::now();
    encoder.encode(&refs[..refs.len().min(args.batch_size)])?;
    let warmup = start.elapsed().as_secs_f64();
    bars.begin("embed", Some(refs.len() as u64));
    let start = Instant::now();
    for chunk in refs.chunks(encoder.chunk_rows().max(1)) {
        encoder.encode(chunk)?;
        bars.advance(chunk.len() as u64);
    }
    let seconds = start.elapsed().as_secs_f64();
    bars.end();
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    emit(json!({
        "measure": "embed",
        "device": encoder.device().to_string(),
        "model": dir.display().to_string(),
        "kind": kind_name,
        "dim": encoder.dim(),
        "texts": refs.len(),
        "mean_chars": chars as f64 / refs.len() as f64,
        "batch_size": args.batch_size,
        "seconds": seconds,
        "texts_per_second": refs.len() as f64 / seconds.max(1e-9),
        "warmup_seconds": warmup,
    }));
    Ok(())
}

/// Rejects sizes the measurements cannot run with.
fn check(args: &BenchDeviceArgs) -> anyhow::Result<()> {
    if args.rows == 0 || args.dim == 0 {
        bail!("--rows and --dim must be at least 1");
    }
    if args.k == 0 || args.k > args.rows {
        bail!("--k must be in 1..={} (--rows)", args.rows);
    }
    if !args.threshold.is_finite() {
        bail!("--threshold must be a finite number");
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if args.texts.is_some() && args.model.is_none() {
        bail!("--texts is only used with --model");
    }
    if args.texts.is_none() && args.text_rows == 0 {
        bail!("--text-rows must be at least 1 without --texts");
    }
    Ok(())
}

/// The texts of the embedding measurement: --texts (its `text` column, at most
/// --text-rows rows unless that is 0) or generated sentences.
fn load_texts(args: &BenchDeviceArgs) -> anyhow::Result<Vec<String>> {
    let Some(path) = &args.texts else {
        return Ok(sentences(args.text_rows, args.seed));
    };
    let limit = if args.text_rows == 0 {
        usize::MAX
    } else {
        args.text_rows
    };
    let reader = dataset::open(path, &ReadOptions::new(["text"]))?;
    let mut texts = Vec::new();
    for record in reader.take(limit) {
        let mut record = record?;
        texts.push(record.texts.swap_remove(0));
    }
    Ok(texts)
}

/// `n` seeded English-like sentences of 6 to 40 words.
fn sentences(n: usize, seed: u64) -> Vec<String> {
    const SUBJECTS: &str = "the model|a small team|our dataset|the committee|every user|\
        the new index|this paper|a careful reader|the search engine|the city";
    const VERBS: &str = "describes removes measures finds compares improves explains ignores \
        collects reviews";
    const WORDS: &str = "duplicate rows training data with near copies of long documents and \
        short questions about history science music weather in many languages for large \
        language models while keeping the rare examples that matter most to quality";
    let subjects: Vec<&str> = SUBJECTS.split('|').collect();
    let verbs: Vec<&str> = VERBS.split_whitespace().collect();
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = Rng::new(seed ^ 0x5EED_7E47);
    (0..n)
        .map(|_| {
            let mut sentence = vec![
                subjects[rng.below(subjects.len())],
                verbs[rng.below(verbs.len())],
            ];
            let len = 4 + rng.below(35);
            sentence.extend((0..len).map(|_| words[rng.below(words.len())]));
            let mut s = sentence.join(" ");
            s.push('.');
            s[..1].make_ascii_uppercase();
            s
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Prints one measurement line.
fn emit(line: Value) {
    println!("{line}");
}
