//! Determinism: the same input, model, threshold and seed give byte-identical outputs
//! across runs and thread counts, with every index (HNSW included).
//!
//! Each command runs twice at each thread count. `--threads` sizes semsift's own thread
//! pool; `RAYON_NUM_THREADS` also changes how candle splits a matrix product (candle reads
//! it, not the pool), so the runs vary both. Data files must match byte for byte;
//! `summary.json` and `report.json` must match once their timings and embedding
//! statistics (which legitimately vary) are removed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::write_corpus;
use serde_json::Value;

/// Thread settings each command runs under: `--threads`, and `RAYON_NUM_THREADS` (None:
/// unset). Each appears twice, so every setting is also compared with itself.
const THREADS: [(&str, Option<&str>); 5] = [
    ("1", Some("1")),
    ("2", None),
    ("1", Some("1")),
    ("2", None),
    ("4", Some("4")),
];

/// Runs semsift with `--threads` and `RAYON_NUM_THREADS` set as given; panics with stderr
/// on failure.
fn run(threads: &str, rayon: Option<&str>, args: &[&str]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_semsift"));
    cmd.args(["--quiet", "--threads", threads]).args(args);
    cmd.env_remove("RAYON_NUM_THREADS")
        .env_remove("CANDLE_NUM_THREADS")
        .env_remove("RUST_LOG");
    if let Some(n) = rayon {
        cmd.env("RAYON_NUM_THREADS", n);
    }
    let out = cmd.output().expect("run semsift");
    assert!(
        out.status.success(),
        "semsift --threads {threads} (RAYON_NUM_THREADS={rayon:?}) {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir` (relative path → contents), JSON documents (`*.json`) through
/// [`common::stable_summary`] and re-serialised, everything else as bytes.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let bytes = std::fs::read(&path).unwrap();
            let bytes = if rel.ends_with(".json") {
                let v: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                serde_json::to_vec_pretty(&common::stable_summary(v)).unwrap()
            } else {
                bytes
            };
            out.insert(rel, bytes);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs `args` (ending in an output flag: `-o` is appended with a fresh directory) under
/// every setting in [`THREADS`]; asserts that every run wrote the same outputs, and that
/// they include `expect`. Returns the first run's directory.
fn same_everywhere(tmp: &Path, name: &str, args: &[&str], expect: &[&str]) -> PathBuf {
    let mut first: Option<(PathBuf, BTreeMap<String, Vec<u8>>)> = None;
    for (i, (threads, rayon)) in THREADS.iter().enumerate() {
        let dir = tmp.join(format!("{name}-{i}"));
        let mut all = args.to_vec();
        all.extend(["-o", dir.to_str().unwrap()]);
        run(threads, *rayon, &all);
        let got = outputs(&dir);
        for file in expect {
            assert!(got.contains_key(*file), "{name}: no {file} in {got:?}");
        }
        match &first {
            None => first = Some((dir, got)),
            Some((_, want)) => {
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    want.keys().collect::<Vec<_>>(),
                    "{name}: other files with --threads {threads}"
                );
                for (file, bytes) in &got {
                    assert!(
                        bytes == &want[file],
                        "{name}: {file} differs between --threads {} and --threads {threads} \
                         (RAYON_NUM_THREADS {:?}, run {i})",
                        THREADS[0].0,
                        rayon
                    );
                }
            }
        }
    }
    first.unwrap().0
}

/// A corpus of about 4,000 rows: enough for IVF to fit ~200 cells and for the HNSW graph
/// to have several layers (one node in 16 goes up a layer at the default M = 16).
fn corpus(tmp: &Path) -> PathBuf {
    let input = tmp.join("corpus.jsonl");
    let rows = write_corpus(&input, 15, 42);
    assert!(rows.len() > 3500, "{} rows", rows.len());
    input
}

#[test]
fn dedup_outputs_are_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let input = corpus(tmp.path());
    let input = input.to_str().unwrap();
    for index in ["exact", "ivf", "hnsw"] {
        // A lower threshold than the default gives long lists too (HNSW grows k for them).
        for threshold in ["0.9", "0.75"] {
            let dir = same_everywhere(
                tmp.path(),
                &format!("dedup-{index}-{threshold}"),
                &[
                    "dedup",
                    input,
                    "--index",
                    index,
                    "--threshold",
                    threshold,
                    "--pairs",
                ],
                &["kept.jsonl", "removed.jsonl", "pairs.jsonl", "summary.json"],
            );
            // Not vacuous: rows were removed and pairs found.
            let removed = std::fs::read_to_string(dir.join("removed.jsonl")).unwrap();
            let pairs = std::fs::read_to_string(dir.join("pairs.jsonl")).unwrap();
            assert!(removed.lines().count() > 1000, "{index} {threshold}");
            assert!(pairs.lines().count() > 1000, "{index} {threshold}");
        }
    }
}

#[test]
fn dedup_against_a_reference_is_identical_across_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let input = corpus(tmp.path());
    let reference = tmp.path().join("reference.jsonl");
    write_corpus(&reference, 1, 9);
    for index in ["ivf", "hnsw"] {
        same_everywhere(
            tmp.path(),
            &format!("against-{index}"),
            &[
                "dedup",
                input.to_str().unwrap(),
                "--against",
                reference.to_str().unwrap(),
                "--index",
                index,
                "--pairs",
            ],
            &["kept.jsonl", "removed.jsonl", "summary.json"],
        );
    }
}

#[test]
fn report_is_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let input = corpus(tmp.path());
    same_everywhere(
        tmp.path(),
        "report",
        &["report", input.to_str().unwrap(), "--seed", "7"],
        &["report.json", "clusters.jsonl"],
    );
}

#[test]
fn filter_is_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let input = corpus(tmp.path());
    let input = input.to_str().unwrap();
    for index in ["exact", "ivf", "hnsw"] {
        same_everywhere(
            tmp.path(),
            &format!("outliers-{index}"),
            &["filter", input, "--outliers", "0.1", "--index", index],
            &["kept.jsonl", "removed.jsonl", "summary.json"],
        );
    }
    same_everywhere(
        tmp.path(),
        "representatives",
        &["filter", input, "--representatives", "50"],
        &["kept.jsonl", "summary.json"],
    );
}
