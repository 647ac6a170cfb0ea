//! Static-encoder throughput (texts/s) with the bundled model.
//!
//! Texts come from `../shared/data/alpaca_cleaned_partial` when that folder is
//! present (short: instructions; long: outputs), otherwise from a seeded
//! generator over common English words, so the bench runs on any clone.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use semsift::dataset::{self, ReadOptions};
use semsift::embed::{self, Encoder};

const N: usize = 10_000;

fn shared_texts(column: &str) -> Option<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz");
    let mut reader = dataset::open(&path, &ReadOptions::new([column])).ok()?;
    let batch = reader.next_batch(N).ok()?;
    Some(
        batch
            .into_iter()
            .map(|r| r.texts.into_iter().next().unwrap_or_default())
            .collect(),
    )
}

fn generated_texts(words_per_text: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "the",
        "model",
        "data",
        "write",
        "explain",
        "how",
        "river",
        "market",
        "a",
        "of",
        "energy",
        "story",
        "function",
        "describe",
        "quickly",
        "people",
        "city",
        "language",
        "between",
        "light",
        "history",
        "science",
        "recipe",
        "summarize",
        "computer",
        "music",
        "ocean",
        "because",
        "list",
    ];
    let mut seed: u64 = 42;
    (0..N)
        .map(|_| {
            (0..words_per_text)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    WORDS[(seed >> 33) as usize % WORDS.len()]
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn bench_static(c: &mut Criterion) {
    let model = embed::bundled::default_model().expect("bundled model");
    let sets = [
        (
            "short",
            shared_texts("instruction").unwrap_or_else(|| generated_texts(14)),
        ),
        (
            "long",
            shared_texts("output").unwrap_or_else(|| generated_texts(120)),
        ),
    ];
    let mut group = c.benchmark_group("static_encode");
    group.sample_size(10);
    for (name, texts) in &sets {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        group.throughput(Throughput::Elements(refs.len() as u64));
        group.bench_function(*name, |b| b.iter(|| model.encode(&refs).expect("encode")));
    }
    group.finish();
}

criterion_group!(benches, bench_static);
criterion_main!(benches);
