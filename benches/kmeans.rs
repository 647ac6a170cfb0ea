//! k-means cost per Lloyd iteration against its floor, the bare matrix product.
//!
//! The acceptance criterion: on 1M × 256 synthetic unit vectors with k = 1000, one of our
//! Lloyd iterations (`lloyd::assign` + `lloyd::update` + `lloyd::reseed_empty`) costs at
//! most 2× the plain matrix product it needs (`rows × centroidsᵀ` in blocks of 4096 rows,
//! no copy of the scores). Group `kmeans_step` measures, on the same seeded data:
//!
//! - `plain_matmul`: the floor, candle `matmul` per block, scores left where they are;
//! - `lloyd_step`: our whole iteration;
//! - `assign` and `update` (with `reseed_empty`): the step's two halves, to see where the
//!   time goes;
//!
//! and prints `lloyd_step / plain_matmul` when done, from criterion's means and then
//! from a few back-to-back rounds of all four (robust to other load on the machine,
//! which criterion's one-bench-after-another runs are not). Group `kmeans_fit` times a
//! whole `KMeans::fit` (k-means++ seeding included) on a smaller input.
//!
//! Sizes come from the environment so a quick run is possible:
//!
//! | variable                         | `cargo bench` default | test-mode default |
//! |----------------------------------|-----------------------|-------------------|
//! | `SEMSIFT_BENCH_KMEANS_ROWS`      | 1,000,000             | 20,000            |
//! | `SEMSIFT_BENCH_KMEANS_DIM`       | 256                   | 256               |
//! | `SEMSIFT_BENCH_KMEANS_K`         | 1000                  | 100               |
//! | `SEMSIFT_BENCH_KMEANS_ROUNDS`    | 3                     | 0                 |
//! | `SEMSIFT_BENCH_KMEANS_FIT_ROWS`  | 100,000               | 5,000             |
//! | `SEMSIFT_BENCH_KMEANS_FIT_K`     | 100                   | 20                |
//!
//! "Test mode" is criterion's: `cargo test --benches` (or `--all-targets`) runs each
//! bench once, so it gets small sizes unless the variables say otherwise.

use std::cell::{OnceCell, RefCell};
use std::hint::black_box;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use semsift::cluster::{self, lloyd, KMeans, KMeansParams};
use semsift::progress::Silent;

mod common;
use common::size;

/// Rows per matrix product, as in `lloyd::assign`.
const BLOCK: usize = 4096;

/// The step's input: `rows × dim` unit vectors in `k` groups, and `k` starting
/// centroids (one row of each group).
struct StepData {
    dim: usize,
    k: usize,
    vectors: Vec<f32>,
    centroids: Vec<f32>,
}

impl StepData {
    fn new(rows: usize, dim: usize, k: usize) -> Self {
        assert!(
            k >= 1 && k <= rows,
            "need 1 ≤ k ≤ rows (k = {k}, rows = {rows})"
        );
        let started = Instant::now();
        let per_group = rows.div_ceil(k);
        let vectors = cluster::synthetic(rows, dim, per_group, 0.5, 7);
        let stride = rows / k;
        let centroids: Vec<f32> = (0..k)
            .flat_map(|j| vectors[j * stride * dim..][..dim].iter().copied())
            .collect();
        eprintln!(
            "kmeans bench: {rows} × {dim} vectors, k = {k} ({:.1} GiB) built in {:.1?}",
            (rows * dim * 4) as f64 / (1u64 << 30) as f64,
            started.elapsed()
        );
        StepData {
            dim,
            k,
            vectors,
            centroids,
        }
    }

    /// The floor: every block's `rows × centroidsᵀ`, read back. Returns a checksum so
    /// the work cannot be optimised away.
    fn plain_matmul(&self, centroids_t: &Tensor) -> f32 {
        let mut check = 0f32;
        for block in self.vectors.chunks(BLOCK * self.dim) {
            let x = Tensor::from_slice(block, (block.len() / self.dim, self.dim), &Device::Cpu)
                .expect("block tensor");
            // The product alone: one score is read back to keep the work observable.
            let scores = x.matmul(centroids_t).expect("matmul");
            check += scores
                .get(0)
                .and_then(|r| r.get(0))
                .and_then(|s| s.to_scalar::<f32>())
                .expect("a score");
        }
        check
    }

    /// `centroidsᵀ` as `lloyd::assign` builds it (a transposed view).
    fn centroids_t(&self) -> Tensor {
        Tensor::from_slice(&self.centroids, (self.k, self.dim), &Device::Cpu)
            .and_then(|c| c.t())
            .expect("centroid tensor")
    }

    fn assign(&self) -> lloyd::Assignment {
        lloyd::assign(&self.vectors, self.dim, &self.centroids, None).expect("assign")
    }

    /// The update half of a step (with `reseed_empty`), from the starting centroids.
    fn update(&self, a: &lloyd::Assignment) -> Vec<f32> {
        let mut centroids = self.centroids.clone();
        let (_, empty) = lloyd::update(&self.vectors, self.dim, None, &a.labels, &mut centroids);
        lloyd::reseed_empty(&self.vectors, self.dim, a, &empty, &mut centroids);
        centroids
    }

    /// One whole Lloyd iteration from the starting centroids, as `KMeans::fit` runs it.
    fn lloyd_step(&self) -> Vec<f32> {
        self.update(&self.assign())
    }
}

/// Mean time per iteration of each bench, collected through `iter_custom` (warm-up
/// included), to print ratios after the group.
#[derive(Default)]
struct Means(RefCell<Vec<(&'static str, Duration, u64)>>);

impl Means {
    fn add(&self, name: &'static str, elapsed: Duration, iters: u64) {
        let mut all = self.0.borrow_mut();
        match all.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, d, i)) => {
                *d += elapsed;
                *i += iters;
            }
            None => all.push((name, elapsed, iters)),
        }
    }

    fn mean(&self, name: &str) -> Option<f64> {
        self.0
            .borrow()
            .iter()
            .find(|(n, _, i)| *n == name && *i > 0)
            .map(|(_, d, i)| d.as_secs_f64() / *i as f64)
    }
}

/// Times `routine` `iters` times and records the total under `name`.
fn timed(means: &Means, name: &'static str, iters: u64, mut routine: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        routine();
    }
    let elapsed = started.elapsed();
    means.add(name, elapsed, iters);
    elapsed
}

/// A group for multi-second iterations: 10 flat samples, 20 s, throughput in rows.
fn slow_group(c: &mut Criterion, name: String, rows: usize) -> BenchmarkGroup<'_, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(rows as u64));
    group
}

fn bench_step(c: &mut Criterion) {
    let rows = size("SEMSIFT_BENCH_KMEANS_ROWS", 1_000_000, 20_000);
    let dim = size("SEMSIFT_BENCH_KMEANS_DIM", 256, 256);
    let k = size("SEMSIFT_BENCH_KMEANS_K", 1000, 100);
    let rounds = size("SEMSIFT_BENCH_KMEANS_ROUNDS", 3, 0);
    // Built on first use (criterion calls each bench's closure once per sample), so a
    // filtered-out group costs nothing.
    let cell: OnceCell<StepData> = OnceCell::new();
    let data = || cell.get_or_init(|| StepData::new(rows, dim, k));
    let assignment: OnceCell<lloyd::Assignment> = OnceCell::new();
    let means = Means::default();
    eprintln!("load average before: {}", load_average());

    let mut group = slow_group(c, format!("kmeans_step/{rows}x{dim}/k{k}"), rows);

    group.bench_function("plain_matmul", |b| {
        let d = data();
        let ct = d.centroids_t();
        b.iter_custom(|iters| {
            timed(&means, "plain_matmul", iters, || {
                black_box(d.plain_matmul(&ct));
            })
        })
    });
    group.bench_function("lloyd_step", |b| {
        let d = data();
        b.iter_custom(|iters| {
            timed(&means, "lloyd_step", iters, || {
                black_box(d.lloyd_step());
            })
        })
    });
    group.bench_function("assign", |b| {
        let d = data();
        b.iter_custom(|iters| {
            timed(&means, "assign", iters, || {
                black_box(d.assign());
            })
        })
    });
    group.bench_function("update", |b| {
        let d = data();
        let a = assignment.get_or_init(|| d.assign());
        b.iter_custom(|iters| {
            timed(&means, "update", iters, || {
                black_box(d.update(a));
            })
        })
    });
    group.finish();

    let fmt = |name: &str| {
        means
            .mean(name)
            .map_or_else(|| "not run".to_string(), |s| format!("{s:.3} s/iter"))
    };
    eprintln!("kmeans_step {rows} × {dim}, k = {k} (criterion: means over all timed iterations):");
    for name in PARTS {
        eprintln!("  {name:>12}: {}", fmt(name));
    }
    if let (Some(step), Some(plain)) = (means.mean("lloyd_step"), means.mean("plain_matmul")) {
        eprintln!(
            "  lloyd_step / plain_matmul = {:.2}× (acceptance: at most 2×)",
            step / plain
        );
    }
    eprintln!("load average after: {}", load_average());
    if let Some(d) = cell.get() {
        paired(d, rounds, &assignment);
    }
}

/// The four timings of the step group, in the order of `paired`'s columns.
const PARTS: [&str; 4] = ["plain_matmul", "lloyd_step", "assign", "update"];

/// Times plain, step, assign and update back to back, `rounds` times (the order
/// reversed every other round), and prints each round's `lloyd_step / plain_matmul`
/// and their median. On a shared machine other load comes and goes over criterion's
/// minutes-long runs of one bench after another; back-to-back rounds see the same load
/// for both sides of the ratio.
fn paired(d: &StepData, rounds: usize, assignment: &OnceCell<lloyd::Assignment>) {
    if rounds == 0 {
        return;
    }
    let ct = d.centroids_t();
    let a = assignment.get_or_init(|| d.assign());
    let mut ratios = Vec::with_capacity(rounds);
    eprintln!("paired rounds (s): plain_matmul, lloyd_step, assign, update → step/plain");
    for round in 0..rounds {
        let mut t = [0f64; 4];
        let order: [usize; 4] = if round % 2 == 0 {
            [0, 1, 2, 3]
        } else {
            [3, 2, 1, 0]
        };
        for part in order {
            let started = Instant::now();
            match part {
                0 => {
                    black_box(d.plain_matmul(&ct));
                }
                1 => {
                    black_box(d.lloyd_step());
                }
                2 => {
                    black_box(d.assign());
                }
                _ => {
                    black_box(d.update(a));
                }
            }
            t[part] = started.elapsed().as_secs_f64();
        }
        let ratio = t[1] / t[0];
        ratios.push(ratio);
        eprintln!(
            "  round {round}: {:.3}, {:.3}, {:.3}, {:.3} → {ratio:.2}× (load {})",
            t[0],
            t[1],
            t[2],
            t[3],
            load_average()
        );
    }
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "  median lloyd_step / plain_matmul over {rounds} rounds = {:.2}× (acceptance: at most 2×)",
        ratios[rounds / 2]
    );
}

/// The 1-, 5- and 15-minute load averages (Linux), to judge how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn bench_fit(c: &mut Criterion) {
    let rows = size("SEMSIFT_BENCH_KMEANS_FIT_ROWS", 100_000, 5_000);
    let dim = size("SEMSIFT_BENCH_KMEANS_DIM", 256, 256);
    let k = size("SEMSIFT_BENCH_KMEANS_FIT_K", 100, 20);
    let data: OnceCell<StepData> = OnceCell::new();
    let params = KMeansParams {
        max_iter: 10,
        seed: 1,
        ..KMeansParams::with_k(k)
    };

    let mut group = slow_group(c, format!("kmeans_fit/{rows}x{dim}/k{k}"), rows);
    group.bench_function("fit_max_iter_10", |b| {
        let d = data.get_or_init(|| StepData::new(rows, dim, k));
        b.iter(|| KMeans::fit(&d.vectors, d.dim, None, &params, &Silent).expect("fit"))
    });
    group.finish();
}

criterion_group!(benches, bench_step, bench_fit);
criterion_main!(benches);
