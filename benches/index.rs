//! Threshold search (`VectorIndex::above`, what dedup runs) per backend, on the same
//! seeded data: build and self-search time for the clustered index (`ivf`, the default),
//! HNSW and exact search, and at the end each approximate backend's recall of exact
//! search's pairs, so the default can be judged on speed *and* recall in one run.
//!
//! Data: `semsift::cluster::synthetic` unit vectors in groups of 4 near copies (noise
//! 0.3: pairs straddle the 0.9 threshold) among unrelated groups.
//!
//! | variable                      | `cargo bench` default | test-mode default |
//! |-------------------------------|-----------------------|-------------------|
//! | `SEMSIFT_BENCH_INDEX_ROWS`    | 50,000                | 3,000             |
//! | `SEMSIFT_BENCH_INDEX_DIM`     | 256                   | 64                |

use std::collections::HashSet;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use semsift::cluster::synthetic;
use semsift::index::{
    ExactIndex, HnswIndex, HnswParams, IvfIndex, IvfParams, Neighbors, VectorIndex,
};
use semsift::progress::Silent;

mod common;
use common::size;

const THRESHOLD: f32 = 0.9;

fn recall(got: &Neighbors, want: &Neighbors) -> f64 {
    let (mut found, mut total) = (0usize, 0usize);
    for i in 0..want.len() {
        let g: HashSet<u32> = got.get(i).0.iter().copied().collect();
        total += want.get(i).0.len();
        found += want.get(i).0.iter().filter(|j| g.contains(j)).count();
    }
    found as f64 / total.max(1) as f64
}

fn bench_index(c: &mut Criterion) {
    let rows = size("SEMSIFT_BENCH_INDEX_ROWS", 50_000, 3_000);
    let dim = size("SEMSIFT_BENCH_INDEX_DIM", 256, 64);
    let v = synthetic(rows, dim, 4, 0.3, 7);
    let mut group = c.benchmark_group("index");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(rows as u64));
    group.bench_function("ivf_build", |b| {
        b.iter(|| IvfIndex::build(&v, dim, IvfParams::default(), &Silent).unwrap())
    });
    let ivf = IvfIndex::build(&v, dim, IvfParams::default(), &Silent).unwrap();
    group.bench_function("ivf_above", |b| {
        b.iter(|| ivf.above(&v, THRESHOLD, &Silent).unwrap())
    });
    group.bench_function("exact_above", |b| {
        b.iter(|| {
            let exact = ExactIndex::new(&v, dim).unwrap();
            exact.above(&v, THRESHOLD, &Silent).unwrap()
        })
    });
    group.bench_function("hnsw_build", |b| {
        b.iter(|| HnswIndex::build(&v, dim, HnswParams::default(), &Silent).unwrap())
    });
    let hnsw = HnswIndex::build(&v, dim, HnswParams::default(), &Silent).unwrap();
    group.bench_function("hnsw_above", |b| {
        b.iter(|| hnsw.above(&v, THRESHOLD, &Silent).unwrap())
    });
    group.finish();

    let want = ExactIndex::new(&v, dim)
        .unwrap()
        .above(&v, THRESHOLD, &Silent)
        .unwrap();
    let ivf_found = ivf.above(&v, THRESHOLD, &Silent).unwrap();
    let hnsw_found = hnsw.above(&v, THRESHOLD, &Silent).unwrap();
    eprintln!(
        "index: {rows} x {dim}, threshold {THRESHOLD}: {} pairs (self included); recall of exact \
         search's pairs: ivf {:.4} ({} cells), hnsw {:.4}",
        want.total(),
        recall(&ivf_found, &want),
        ivf.lists(),
        recall(&hnsw_found, &want),
    );
}

criterion_group!(benches, bench_index);
criterion_main!(benches);
