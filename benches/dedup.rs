//! Deduplication after the search: turning neighbour lists into exactly rescored pairs
//! (`EarlierPairs::from_self_search`) and SemHash's greedy selection (`select`), on
//! seeded vectors; and one whole `run_dedup` (read → embed → index → search → select →
//! write) on a generated JSONL file with the bundled model.
//!
//! | variable                      | `cargo bench` default | test-mode default |
//! |-------------------------------|-----------------------|-------------------|
//! | `SEMSIFT_BENCH_DEDUP_ROWS`    | 200,000               | 5,000             |
//! | `SEMSIFT_BENCH_DEDUP_E2E_ROWS`| 100,000               | 2,000             |

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use semsift::cluster::synthetic;
use semsift::dedup::{kept_count, select, EarlierPairs, VectorRows};
use semsift::embed::{self, Encoder};
use semsift::index::{IvfIndex, IvfParams, VectorIndex};
use semsift::pipeline::{run_dedup, DedupOptions};
use semsift::progress::Silent;

mod common;
use common::size;

const THRESHOLD: f32 = 0.9;

fn bench_select(c: &mut Criterion) {
    let rows = size("SEMSIFT_BENCH_DEDUP_ROWS", 200_000, 5_000);
    let dim = 256;
    let v = synthetic(rows, dim, 4, 0.3, 3);
    let found = IvfIndex::build(&v, dim, IvfParams::default(), &Silent)
        .unwrap()
        .above(&v, THRESHOLD - 1e-3, &Silent)
        .unwrap();
    let vr = VectorRows::new(&v, dim);
    let mut group = c.benchmark_group("dedup");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(rows as u64));
    group.bench_function("rescore_pairs", |b| {
        b.iter(|| EarlierPairs::from_self_search(&found, vr, THRESHOLD))
    });
    let pairs = EarlierPairs::from_self_search(&found, vr, THRESHOLD);
    group.bench_function("select", |b| {
        b.iter(|| kept_count(&select(&pairs, vr, THRESHOLD)))
    });
    group.finish();
}

/// `n` rows of seeded word salad; every fourth row is an earlier row with one word changed.
fn write_corpus(path: &std::path::Path, n: usize) {
    const WORDS: &[&str] = &[
        "river", "market", "energy", "story", "function", "people", "city", "language", "light",
        "history", "science", "recipe", "computer", "music", "ocean", "garden", "winter", "engine",
        "letter", "mountain", "bridge", "planet", "teacher", "window", "forest", "doctor",
        "summer", "machine", "village", "harbour", "kitchen", "museum",
    ];
    let mut seed: u64 = 5;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut rows: Vec<Vec<&str>> = Vec::with_capacity(n);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let words = if i % 4 == 3 {
            let mut w = rows[next() % i].clone();
            let at = next() % w.len();
            w[at] = WORDS[next() % WORDS.len()];
            w
        } else {
            (0..8 + next() % 8)
                .map(|_| WORDS[next() % WORDS.len()])
                .collect()
        };
        writeln!(f, "{}", serde_json::json!({ "text": words.join(" ") })).unwrap();
        rows.push(words);
    }
    f.flush().unwrap();
}

fn bench_end_to_end(c: &mut Criterion) {
    let rows = size("SEMSIFT_BENCH_DEDUP_E2E_ROWS", 100_000, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("corpus.jsonl");
    write_corpus(&input, rows);
    let model: Box<dyn Encoder> = Box::new(embed::bundled::default_model().unwrap());
    let run = AtomicUsize::new(0);
    let mut group = c.benchmark_group("dedup");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(rows as u64));
    group.bench_function("end_to_end", |b| {
        b.iter(|| {
            let out = dir
                .path()
                .join(format!("out-{}", run.fetch_add(1, Ordering::Relaxed)));
            let opts = DedupOptions {
                threshold: THRESHOLD,
                ..DedupOptions::new(&input, &out)
            };
            let outcome = run_dedup(&opts, model.as_ref(), &Silent).unwrap();
            std::fs::remove_dir_all(&out).unwrap();
            outcome.removed
        })
    });
    group.finish();
}

criterion_group!(benches, bench_select, bench_end_to_end);
criterion_main!(benches);
