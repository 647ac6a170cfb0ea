//! `semsift bench-device`: the measurement lines it prints, checked against the library.

mod common;

use semsift::index::{ExactIndex, VectorIndex, MAX_HITS};
use semsift::progress::Silent;
use serde_json::Value;

/// Runs `semsift bench-device ARGS`, asserts success, and parses each stdout line.
fn bench(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["bench-device"];
    all.extend_from_slice(args);
    let out = common::semsift(&all);
    assert!(
        out.status.success(),
        "semsift {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn measures(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l["measure"].as_str().unwrap())
        .collect()
}

fn seconds(line: &Value) -> f64 {
    let s = line["seconds"].as_f64().unwrap();
    assert!(s > 0.0, "{line}");
    s
}

#[test]
fn cpu_measurements_match_the_library() {
    let (rows, dim, k, seed) = (3000, 32, 20, 7);
    let lines = bench(&[
        "--device", "cpu", "--rows", "3000", "--dim", "32", "--k", "20", "--seed", "7",
    ]);
    assert_eq!(
        measures(&lines),
        ["exact_threshold_search", "kmeans_iteration"]
    );

    let search = &lines[0];
    seconds(search);
    assert_eq!(search["device"], "cpu");
    assert_eq!(search["rows"], rows);
    assert_eq!(search["dim"], dim);
    let v = semsift::cluster::synthetic(rows, dim, 4, 0.3, seed);
    let hits = ExactIndex::new(&v, dim)
        .unwrap()
        .above_at_most(&v, 0.9, MAX_HITS, &Silent)
        .unwrap();
    let want: usize = (0..rows)
        .map(|i| hits.get(i).0.iter().filter(|&&j| j as usize > i).count())
        .sum();
    assert!(want > 100, "the groups of near copies give pairs ({want})");
    assert_eq!(search["pairs"], want);
    // Every row's own hit, and each pair at least from its later row.
    let listed = search["hits"].as_u64().unwrap() as usize;
    assert!(listed >= rows + want && listed <= hits.total(), "{listed}");

    let kmeans = &lines[1];
    let mean = seconds(kmeans);
    assert_eq!(kmeans["k"], k);
    assert_eq!(kmeans["rows"], rows);
    let each: Vec<f64> = kmeans["iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(each.len(), 3);
    assert!(each.iter().all(|&s| s > 0.0), "{kmeans}");
    assert!((each.iter().sum::<f64>() / 3.0 - mean).abs() < 1e-9);
    assert!(kmeans["objective"].as_f64().unwrap() > 0.0);
}

#[test]
fn embedding_throughput_with_a_static_model_and_a_texts_file() {
    let model = common::fixture("model2vec/tiny-i8");
    let texts = common::fixture("model2vec/texts.jsonl");
    let n = common::jsonl_texts(&texts).len();
    let lines = bench(&[
        "--rows",
        "500",
        "--dim",
        "8",
        "--k",
        "5",
        "--model",
        model.to_str().unwrap(),
        "--texts",
        texts.to_str().unwrap(),
        "--text-rows",
        "0",
    ]);
    assert_eq!(
        measures(&lines),
        [
            "exact_threshold_search",
            "kmeans_iteration",
            "model_load",
            "embed"
        ]
    );
    assert_eq!(lines[2]["kind"], "static");
    let embed = &lines[3];
    seconds(embed);
    assert_eq!(embed["texts"], n);
    assert!(embed["texts_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn embedding_throughput_with_minilm_on_generated_sentences() {
    let model = common::minilm_dir();
    let lines = bench(&[
        "--device",
        "cpu",
        "--rows",
        "200",
        "--dim",
        "8",
        "--k",
        "4",
        "--model",
        model.to_str().unwrap(),
        "--text-rows",
        "48",
        "--batch-size",
        "16",
    ]);
    assert_eq!(measures(&lines)[2..], ["model_load", "embed"]);
    seconds(&lines[2]);
    let embed = &lines[3];
    seconds(embed);
    assert_eq!(embed["kind"], "transformer");
    assert_eq!(embed["device"], "cpu");
    assert_eq!(embed["dim"], 384);
    assert_eq!(embed["texts"], 48);
    assert_eq!(embed["batch_size"], 16);
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_in_a_cpu_build_fails_with_a_clear_message() {
    let out = common::semsift(&["bench-device", "--device", "cuda"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("built without CUDA"), "{err}");
    assert!(out.stdout.is_empty(), "nothing measured");
}
