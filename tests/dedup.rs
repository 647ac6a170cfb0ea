//! `dedup` end to end on generated data with known duplicates.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use common::{read_jsonl, semsift, semsift_on, write_corpus};
use semsift::embed::{self, cosine, Encoder};
use semsift::index::IndexKind;
use semsift::pipeline::{run_dedup, DedupOptions, DedupOutcome};
use semsift::progress::Silent;
use semsift::store::Dtype;
use serde_json::Value;

fn options(input: &Path, out: &Path, index: IndexKind) -> DedupOptions {
    DedupOptions {
        index,
        ..DedupOptions::new(input, out)
    }
}

fn model() -> Box<dyn Encoder> {
    Box::new(embed::bundled::default_model().unwrap())
}

/// Removed rows by row number → (duplicate_of, score, exact).
fn removed(out: &Path) -> HashMap<u64, (u64, f64, bool)> {
    read_jsonl(&out.join("removed.jsonl"))
        .iter()
        .map(|v| {
            (
                v["row"].as_u64().unwrap(),
                (
                    v["duplicate_of"].as_u64().unwrap(),
                    v["score"].as_f64().unwrap(),
                    v["exact"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

/// Checks the invariants of a self-dedup output, its scores within `tolerance` of the
/// cosine recomputed in `f32`; returns the removed rows.
fn check_scored_invariants(
    rows: &[Value],
    out: &Path,
    threshold: f64,
    enc: &dyn Encoder,
    tolerance: f64,
) -> BTreeSet<u64> {
    let kept: Vec<u64> = read_jsonl(&out.join("kept.jsonl"))
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    let removed = removed(out);
    // Kept rows are unchanged, in input order.
    assert!(
        kept.windows(2).all(|w| w[0] < w[1]),
        "kept rows in input order"
    );
    for v in read_jsonl(&out.join("kept.jsonl")) {
        assert_eq!(
            v,
            rows[v["id"].as_u64().unwrap() as usize],
            "kept row unchanged"
        );
    }
    // Every row is in exactly one output.
    let kept_set: BTreeSet<u64> = kept.iter().copied().collect();
    assert_eq!(kept_set.len() + removed.len(), rows.len());
    assert!(removed.keys().all(|r| !kept_set.contains(r)));
    let text = |r: u64| rows[r as usize]["text"].as_str().unwrap().to_string();
    for line in read_jsonl(&out.join("removed.jsonl")) {
        let row = line["row"].as_u64().unwrap();
        assert_eq!(
            line["record"], rows[row as usize],
            "record is the original row"
        );
    }
    for (&row, &(dup, score, exact)) in &removed {
        assert!(
            kept_set.contains(&dup),
            "row {row} points to {dup}, which is not kept"
        );
        assert!(dup < row, "points to an earlier row");
        if exact {
            // Exact copies match by text (even texts that embed to a zero vector).
            assert_eq!((text(row), score), (text(dup), 1.0));
            continue;
        }
        let v = enc.encode(&[&text(row), &text(dup)]).unwrap();
        let cos = cosine(&v[..enc.dim()], &v[enc.dim()..]);
        assert!(
            cos >= threshold - tolerance.min(1e-5),
            "row {row} vs {dup}: cosine {cos}"
        );
        assert!(
            (cos - score).abs() < tolerance,
            "reported {score}, recomputed {cos}"
        );
    }
    removed.keys().copied().collect()
}

/// [`check_scored_invariants`] for `f32` vectors (the default at this size).
fn check_self_invariants(
    rows: &[Value],
    out: &Path,
    threshold: f64,
    enc: &dyn Encoder,
) -> BTreeSet<u64> {
    check_scored_invariants(rows, out, threshold, enc, 1e-4)
}

#[test]
fn vectors_held_as_f16_keep_the_invariants_within_their_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.jsonl");
    let rows = write_corpus(&input, 6, 42);
    let enc = model();
    let mut removed_by = Vec::new();
    for (kind, precision) in [
        (IndexKind::Exact, Dtype::F32),
        (IndexKind::Exact, Dtype::F16),
        (IndexKind::Hnsw, Dtype::F16),
        (IndexKind::Ivf, Dtype::F16),
    ] {
        let out = tmp.path().join(format!("{}-{precision}", kind.name()));
        let opts = DedupOptions {
            precision: Some(precision),
            ..options(&input, &out, kind)
        };
        let outcome = run_dedup(&opts, enc.as_ref(), &Silent).unwrap();
        assert_eq!(outcome.summary["index"]["precision"], precision.to_string());
        // Scores of the rounded vectors: within 2^-10 of the f32 cosine, a removed
        // row's f32 cosine no further below the threshold.
        let bound = (2f64).powi(-10);
        let set = check_scored_invariants(&rows, &out, 0.9 - bound, enc.as_ref(), bound);
        removed_by.push(set);
    }
    let exact = &removed_by[0];
    for (name, found) in [
        ("exact", &removed_by[1]),
        ("hnsw", &removed_by[2]),
        ("ivf", &removed_by[3]),
    ] {
        let differ = exact.symmetric_difference(found).count() as f64 / exact.len() as f64;
        eprintln!("f16 {name} vs f32 exact: {differ:.4} of removed rows differ");
        assert!(differ <= 0.02, "f16 {name}: {differ}");
    }
    // Only pairs within the bound of the threshold can change sides in exact search.
    assert!(exact.symmetric_difference(&removed_by[1]).count() <= exact.len() / 200);
}

#[test]
fn every_row_lands_once_and_approximate_indexes_match_exact_search() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.jsonl");
    let rows = write_corpus(&input, 6, 42);
    let enc = model();
    let mut removed_by = Vec::new();
    for kind in [IndexKind::Exact, IndexKind::Hnsw, IndexKind::Ivf] {
        let out = tmp.path().join(kind.name());
        let outcome = run_dedup(&options(&input, &out, kind), enc.as_ref(), &Silent).unwrap();
        let set = check_self_invariants(&rows, &out, 0.9, enc.as_ref());
        assert_eq!(outcome.removed as usize, set.len());
        removed_by.push(set);
    }
    let exact = &removed_by[0];
    // The corpus holds many exact copies and near copies.
    let copies = rows.iter().filter(|r| r["kind"] == "exact").count();
    assert!(
        exact.len() > copies + 200,
        "exact search removed {} rows",
        exact.len()
    );
    for (name, found) in [("hnsw", &removed_by[1]), ("ivf", &removed_by[2])] {
        let missed = exact.difference(found).count();
        let extra = found.difference(exact).count();
        let miss_rate = missed as f64 / exact.len() as f64;
        eprintln!(
            "{name} vs exact: {} vs {} removed; missed {missed}, extra {extra}, miss rate {miss_rate:.4}",
            found.len(),
            exact.len()
        );
        // A missed pair can only make the index keep a row that exact search removes, and
        // a row kept that way can in turn become the canonical of a later row; both rare.
        assert!(miss_rate <= 0.01, "{name} miss rate {miss_rate}");
        assert!(extra <= missed, "{name}: extra {extra} > missed {missed}");
    }
}

#[test]
fn exact_copies_are_flagged_and_copies_of_removed_rows_follow_their_canonical() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    let texts = [
        "How do I reset my password?",
        "How can I reset my password?",
        "What is the capital of France?",
        "How do I reset my password?",
        "How can I reset my password?",
    ];
    let body: String = texts
        .iter()
        .map(|t| format!("{}\n", serde_json::json!({"text": t})))
        .collect();
    std::fs::write(&input, body).unwrap();
    let out = tmp.path().join("out");
    run_dedup(
        &options(&input, &out, IndexKind::Exact),
        model().as_ref(),
        &Silent,
    )
    .unwrap();
    let r = removed(&out);
    assert_eq!(r.len(), 3);
    assert_eq!(r[&3], (0, 1.0, true), "copy of a kept row");
    let (dup, score, exact) = r[&1];
    assert_eq!((dup, exact), (0, false));
    assert!((0.9..1.0).contains(&score), "{score}");
    assert_eq!(
        r[&4],
        (0, score, false),
        "copy of a removed row points to its canonical"
    );
}

#[test]
fn sweep_and_target_rows_agree_with_separate_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.jsonl");
    write_corpus(&input, 3, 7);
    let enc = model();
    let mut opts = options(&input, &tmp.path().join("sweep"), IndexKind::Exact);
    opts.threshold = 0.95;
    opts.sweep = vec![0.8, 0.85, 0.9, 0.95];
    let swept = run_dedup(&opts, enc.as_ref(), &Silent).unwrap();
    let table = swept.summary["sweep"].as_array().unwrap().clone();
    assert_eq!(table.len(), 4);
    let mut last = 0;
    for entry in &table {
        let t = entry["threshold"].as_f64().unwrap() as f32;
        let mut single = options(&input, &tmp.path().join(format!("t{t}")), IndexKind::Exact);
        single.threshold = t;
        let one = run_dedup(&single, enc.as_ref(), &Silent).unwrap();
        assert_eq!(entry["kept"].as_u64().unwrap(), one.kept, "threshold {t}");
        assert!(one.kept >= last, "kept rows grow with the threshold");
        last = one.kept;
    }
    assert_eq!(swept.kept, last, "the run itself used 0.95");

    // --target-rows: the highest threshold keeping at most N rows.
    let target = table[1]["kept"].as_u64().unwrap(); // what 0.85 keeps
    let mut t_opts = options(&input, &tmp.path().join("target"), IndexKind::Exact);
    t_opts.threshold = 0.8;
    t_opts.target_rows = Some(target);
    let chosen: DedupOutcome = run_dedup(&t_opts, enc.as_ref(), &Silent).unwrap();
    assert!(chosen.kept <= target);
    assert!(chosen.threshold >= 0.85, "chose {}", chosen.threshold);
    assert_eq!(chosen.summary["target_rows"]["reached"], true);
    let mut above = options(&input, &tmp.path().join("above"), IndexKind::Exact);
    above.threshold = chosen.threshold + 1e-4;
    assert!(run_dedup(&above, enc.as_ref(), &Silent).unwrap().kept > target);
}

#[test]
fn against_a_reference_removes_contaminated_rows_only() {
    let tmp = tempfile::tempdir().unwrap();
    let all = tmp.path().join("all.jsonl");
    let rows = write_corpus(&all, 2, 3);
    // Train: the first half; test: the second half (which repeats and varies train rows).
    let (train_rows, test_rows) = rows.split_at(rows.len() / 2);
    let write = |name: &str, rows: &[Value]| {
        let p = tmp.path().join(name);
        std::fs::write(
            &p,
            rows.iter().map(|r| format!("{r}\n")).collect::<String>(),
        )
        .unwrap();
        p
    };
    let (train, test) = (
        write("train.jsonl", train_rows),
        write("test.jsonl", test_rows),
    );
    let out = tmp.path().join("out");
    let mut opts = options(&test, &out, IndexKind::Hnsw);
    opts.against = Some(train.clone());
    let outcome = run_dedup(&opts, model().as_ref(), &Silent).unwrap();
    let enc = model();
    let r = removed(&out);
    assert!(r.len() > 50, "{} contaminated rows", r.len());
    let kept = read_jsonl(&out.join("kept.jsonl"));
    assert_eq!(kept.len() + r.len(), test_rows.len());
    assert_eq!(outcome.summary["rows"]["reference"], train_rows.len());
    for (&row, &(dup, score, exact)) in &r {
        let (a, b) = (
            test_rows[row as usize]["text"].as_str().unwrap(),
            train_rows[dup as usize]["text"].as_str().unwrap(),
        );
        if exact {
            assert_eq!((a, score), (b, 1.0));
            continue;
        }
        let v = enc.encode(&[a, b]).unwrap();
        let cos = cosine(&v[..enc.dim()], &v[enc.dim()..]);
        assert!(
            cos >= 0.9 - 1e-5 && (cos - score).abs() < 1e-4,
            "{row}→{dup}: {cos} vs {score}"
        );
    }
    // Rows are not compared with each other: an exact copy inside the test set whose text
    // is not in train stays.
    let train_texts: BTreeSet<&str> = train_rows
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    let exact_in_train = test_rows
        .iter()
        .filter(|r| train_texts.contains(r["text"].as_str().unwrap()))
        .count();
    assert_eq!(r.values().filter(|x| x.2).count(), exact_in_train);
}

#[test]
fn a_store_makes_a_second_run_skip_embedding() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.jsonl");
    write_corpus(&input, 2, 5);
    let store = tmp.path().join("store");
    let enc = model();
    let run = |out: &str, t: f32| {
        let mut o = options(&input, &tmp.path().join(out), IndexKind::Exact);
        o.store = Some(store.clone());
        o.threshold = t;
        run_dedup(&o, enc.as_ref(), &Silent).unwrap()
    };
    let first = run("a", 0.9);
    let e = &first.summary["embedding"]["input"];
    assert!(e["embedded"].as_u64().unwrap() > 0 && e["reused"] == 0);
    let second = run("b", 0.9);
    let e2 = &second.summary["embedding"]["input"];
    assert_eq!(e2["embedded"], 0);
    assert_eq!(e2["reused"], e["embedded"]);
    assert_eq!(
        std::fs::read(tmp.path().join("a/removed.jsonl")).unwrap(),
        std::fs::read(tmp.path().join("b/removed.jsonl")).unwrap()
    );
    let third = run("c", 0.95);
    assert_eq!(third.summary["embedding"]["input"]["embedded"], 0);
    assert!(third.kept > first.kept);
    // The store holds one checksummed file; corrupting it makes the next run rebuild it.
    let files: Vec<PathBuf> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let at = bytes.len() - 3;
    bytes[at] ^= 0x55;
    std::fs::write(&files[0], bytes).unwrap();
    let fourth = run("d", 0.9);
    assert_eq!(fourth.summary["embedding"]["input"]["reused"], 0);
    assert_eq!(
        std::fs::read(tmp.path().join("a/removed.jsonl")).unwrap(),
        std::fs::read(tmp.path().join("d/removed.jsonl")).unwrap()
    );
}

#[test]
fn csv_keeps_every_column_and_quoting() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.csv");
    std::fs::write(
        &input,
        "id,text,note\n1,\"Hello, world\",a\n2,\"Hello, world\",\"multi\nline\"\n3,Something else entirely,c\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let outcome = run_dedup(
        &options(&input, &out, IndexKind::Hnsw),
        model().as_ref(),
        &Silent,
    )
    .unwrap();
    assert_eq!((outcome.kept, outcome.removed), (2, 1));
    let kept = std::fs::read_to_string(out.join("kept.csv")).unwrap();
    assert_eq!(
        kept,
        "id,text,note\n1,\"Hello, world\",a\n3,Something else entirely,c\n"
    );
    let r = read_jsonl(&out.join("removed.jsonl"));
    assert_eq!(
        r[0]["record"],
        serde_json::json!({"id": "2", "text": "Hello, world", "note": "multi\nline"})
    );
}

#[test]
fn bad_options_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"text\": \"a b c\", \"q\": \"x\"}\n{\"text\": \"d e f\", \"q\": \"y\"}\n",
    )
    .unwrap();
    let other = tmp.path().join("ref.jsonl");
    std::fs::write(&other, "{\"question\": \"a b c\"}\n").unwrap();
    let out = tmp.path().join("out");
    let (i, o, r) = (
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        other.to_str().unwrap(),
    );
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["dedup", i, "-o", o, "--threshold", "0"],
            vec!["invalid threshold", "outside (0, 1]"],
        ),
        (
            vec!["dedup", i, "-o", o, "--threshold", "1.5"],
            vec!["outside (0, 1]"],
        ),
        (
            vec!["dedup", i, "-o", o, "--sweep", "0.8,2"],
            vec!["sweep threshold", "2"],
        ),
        (
            vec!["dedup", i, "-o", o, "--against", r],
            vec!["ref.jsonl:1", "column `text` not found"],
        ),
        (vec!["dedup", i, "-o", i], vec!["is a file"]),
        (
            vec!["dedup", i, "-o", o, "--index", "hnsw", "--hnsw-m", "1000"],
            vec!["m = 1000"],
        ),
        (
            vec!["dedup", i, "-o", o, "--ivf-probes", "0"],
            vec!["probes = 0"],
        ),
        (
            vec!["filter", i, "-o", o, "--outliers", "1.5"],
            vec!["outlier fraction"],
        ),
    ];
    for (args, needles) in cases {
        let res = semsift(&args);
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
        }
    }
    // An output directory whose kept file would be the input.
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let kept_input = dir.join("kept.jsonl");
    std::fs::copy(&input, &kept_input).unwrap();
    let res = semsift(&[
        "dedup",
        kept_input.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1));
    assert!(err.contains("refusing to overwrite input"), "{err}");
    assert_eq!(
        std::fs::read(&kept_input).unwrap(),
        std::fs::read(&input).unwrap()
    );
}

#[test]
fn filter_removes_outliers_and_picks_representatives() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.jsonl");
    let rows = write_corpus(&input, 2, 9);
    let n = rows.len();
    let out = tmp.path().join("outliers");
    let res = semsift(&[
        "-q",
        "filter",
        input.to_str().unwrap(),
        "--outliers",
        "0.1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let removed = read_jsonl(&out.join("removed.jsonl"));
    let kept = read_jsonl(&out.join("kept.jsonl"));
    assert_eq!(removed.len(), (n as f64 * 0.1).ceil() as usize);
    assert_eq!(kept.len() + removed.len(), n);
    // Outliers are the rows with the sparsest neighbourhoods: their scores are the lowest.
    let max_removed = removed
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows"]["removed"], removed.len());
    assert!(max_removed < 0.9, "outlier scores {max_removed}");
    // The device path (exact neighbours on the device, here candle's CPU backend) picks
    // the same outliers as the CPU's exactly rescored ones.
    let on_device = tmp.path().join("outliers-device");
    let done = semsift_on(
        "filter",
        &input,
        &on_device,
        &["--outliers", "0.1", "--device", "candle-cpu"],
    );
    assert!(done.status.success(), "{}", common::stderr(&done));
    let device_removed = read_jsonl(&on_device.join("removed.jsonl"));
    let rows_of =
        |v: &[Value]| -> Vec<u64> { v.iter().map(|r| r["row"].as_u64().unwrap()).collect() };
    assert_eq!(rows_of(&device_removed), rows_of(&removed));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(on_device.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["devices"]["search"], "candle-cpu");

    let out = tmp.path().join("reps");
    let res = semsift(&[
        "-q",
        "filter",
        input.to_str().unwrap(),
        "--representatives",
        "10",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let kept = read_jsonl(&out.join("kept.jsonl"));
    assert_eq!(kept.len(), 10);
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let picks = summary["representatives"]["selected"].as_array().unwrap();
    assert_eq!(picks.len(), 10);
    // Diversified: the picks come from different source sentences.
    let sources: BTreeSet<u64> = kept.iter().map(|r| r["source"].as_u64().unwrap()).collect();
    assert_eq!(sources.len(), 10);
}

/// The device code path, run on the CPU through candle (`--device candle-cpu`): with the
/// exact index its decisions are those of exact search on the CPU, in `f16` and `f32`,
/// whether the vectors are resident or uploaded in windows (on the same vectors, from a
/// store, the outputs are byte for byte the same); the default (cells) index finds nearly
/// all of them; `summary.json` says where each stage ran.
#[test]
fn the_device_path_decides_as_exact_search() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.jsonl");
    let store = tmp.path().join("store");
    let rows = write_corpus(&input, 6, 17);
    let run = |name: &str, extra: &[&str]| -> (PathBuf, Value) {
        let out = tmp.path().join(name);
        let done = semsift_on("dedup", &input, &out, extra);
        assert!(done.status.success(), "{name}: {}", common::stderr(&done));
        let summary: Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        (out, summary)
    };
    let store_arg = store.to_str().unwrap();
    let (exact, summary) = run("exact", &["--index", "exact", "--store", store_arg]);
    assert_eq!(summary["devices"]["index"], "cpu");
    assert_eq!(summary["devices"]["embed"], "cpu");
    let same_bytes = |a: &Path, b: &Path, file: &str| {
        std::fs::read(a.join(file)).unwrap() == std::fs::read(b.join(file)).unwrap()
    };
    let want = removed(&exact);
    assert!(want.len() > 300, "{} removed", want.len());
    for (name, extra) in [
        ("f16", &["--device-precision", "f16"][..]),
        ("f32", &["--device-precision", "f32"][..]),
        ("windows", &["--device-memory", "64K"][..]),
    ] {
        let mut args = vec![
            "--index",
            "exact",
            "--device",
            "candle-cpu",
            "--store",
            store_arg,
        ];
        args.extend_from_slice(extra);
        let (out, summary) = run(name, &args);
        for file in ["removed.jsonl", "kept.jsonl"] {
            assert!(same_bytes(&exact, &out, file), "{name}: {file} differs");
        }
        for stage in ["index", "search"] {
            assert_eq!(summary["devices"][stage], "candle-cpu", "{name}");
        }
        assert_eq!(summary["devices"]["select"], "cpu");
        assert_eq!(summary["index"]["resident"], name != "windows", "{name}");
    }
    // Embedded on the device too (no store): the vectors differ from the CPU's in the
    // last bits of their sums, the decisions do not.
    let (embedded, summary) = run("embedded", &["--index", "exact", "--device", "candle-cpu"]);
    assert_eq!(summary["devices"]["embed"], "candle-cpu");
    let got = removed(&embedded);
    assert_eq!(got.len(), want.len());
    for (row, (dup, score, exact)) in &got {
        let (w_dup, w_score, w_exact) = want[row];
        assert_eq!((*dup, *exact), (w_dup, w_exact), "row {row}");
        assert!(
            (score - w_score).abs() < 1e-5,
            "row {row}: {score} vs {w_score}"
        );
    }
    let (cells, summary) = run("cells", &["--device", "candle-cpu"]);
    assert_eq!(summary["index"]["kind"], "ivf");
    // Deterministic for a device and seed: a second run writes the same bytes.
    let (again, _) = run("cells-again", &["--device", "candle-cpu"]);
    for file in ["removed.jsonl", "kept.jsonl"] {
        assert!(
            same_bytes(&cells, &again, file),
            "cells: {file} differs between runs"
        );
    }
    assert_eq!(summary["devices"]["search"], "candle-cpu");
    let enc = model();
    let found = check_self_invariants(&rows, &cells, 0.9, enc.as_ref());
    let exact: BTreeSet<u64> = want.into_keys().collect();
    let missed = exact.difference(&found).count() as f64 / exact.len() as f64;
    assert!(missed <= 0.01, "cells missed {missed}");
}

/// A CUDA device in a build without CUDA is a clear error, not a silent CPU run.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_in_a_cpu_build_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.jsonl");
    write_corpus(&input, 1, 1);
    let done = semsift_on(
        "dedup",
        &input,
        &tmp.path().join("out"),
        &["--device", "cuda"],
    );
    assert!(!done.status.success());
    let err = common::stderr(&done);
    assert!(err.contains("without CUDA"), "{err}");
}

/// CI's data check of the device path on real rows: 20,000 Alpaca instructions. On the
/// same stored vectors, `--device candle-cpu --index exact` writes exactly what the CPU's
/// exact search writes; the device's cells index removes at least 0.99 of those rows.
#[test]
#[ignore = "needs ../shared/data (CI runs it)"]
fn the_device_path_matches_the_cpu_on_alpaca() {
    let path = common::root()
        .join("../shared/data/alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz");
    assert!(path.is_file(), "{} missing", path.display());
    let file = std::fs::File::open(&path).unwrap();
    let text = std::io::read_to_string(flate2::read::GzDecoder::new(file)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("alpaca.jsonl");
    let rows: String = text
        .lines()
        .take(20_000)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&input, rows).unwrap();
    let store = tmp.path().join("store");
    let run = |name: &str, extra: &[&str]| -> PathBuf {
        let out = tmp.path().join(name);
        let mut args = vec![
            "-c",
            "instruction",
            "-t",
            "0.85",
            "--store",
            store.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let done = semsift_on("dedup", &input, &out, &args);
        assert!(done.status.success(), "{name}: {}", common::stderr(&done));
        out
    };
    let exact = run("exact", &["--index", "exact"]);
    let device = run("device", &["--index", "exact", "--device", "candle-cpu"]);
    for file in ["removed.jsonl", "kept.jsonl"] {
        let same =
            std::fs::read(exact.join(file)).unwrap() == std::fs::read(device.join(file)).unwrap();
        assert!(same, "{file} differs");
    }
    let cells = run("cells", &["--device", "candle-cpu"]);
    let want: BTreeSet<u64> = removed(&exact).into_keys().collect();
    let got: BTreeSet<u64> = removed(&cells).into_keys().collect();
    assert!(want.len() > 500, "{} removed", want.len());
    let found = want.intersection(&got).count() as f64 / want.len() as f64;
    eprintln!(
        "device cells: {} removed, exact {}; found {found:.4}",
        got.len(),
        want.len()
    );
    assert!(
        found >= 0.99,
        "the device cells found {found} of exact search's removals"
    );
}
