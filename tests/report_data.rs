//! `semsift report` on real data from `../shared/data` (CI's data checks run these with
//! `--ignored`): on 20 Newsgroups with three groups held out of the input and the whole
//! set as the reference, the held-out groups head the missing list whatever `-k` is, and
//! no topic is named by the newsgroups' header words.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use common::{read_jsonl, semsift};
use serde_json::Value;

const HELD_OUT: [&str; 3] = ["rec.sport.hockey", "sci.space", "comp.graphics"];

fn newsgroups() -> PathBuf {
    common::root().join("../shared/data/20newsgroups/20news_bydate.jsonl.gz")
}

/// Writes the reference (every row) and the input (every row not in `HELD_OUT`); returns
/// each reference row's newsgroup.
fn split(dir: &Path) -> Vec<String> {
    let file = std::fs::File::open(newsgroups()).expect("../shared/data/20newsgroups");
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    let mut reference = std::fs::File::create(dir.join("ref.jsonl")).unwrap();
    let mut input = std::fs::File::create(dir.join("in.jsonl")).unwrap();
    let mut labels = Vec::new();
    for line in lines {
        let line = line.unwrap();
        let row: Value = serde_json::from_str(&line).unwrap();
        let label = row["label"].as_str().unwrap().to_string();
        writeln!(reference, "{line}").unwrap();
        if !HELD_OUT.contains(&label.as_str()) {
            writeln!(input, "{line}").unwrap();
        }
        labels.push(label);
    }
    labels
}

/// Runs the report at `k`; returns report.json and clusters.jsonl.
fn run(dir: &Path, k: &str) -> (Value, Vec<Value>) {
    let out = dir.join(format!("out-{k}"));
    let (input, reference) = (dir.join("in.jsonl"), dir.join("ref.jsonl"));
    let o = semsift(&[
        "report",
        input.to_str().unwrap(),
        "-c",
        "text",
        "--reference",
        reference.to_str().unwrap(),
        "-k",
        k,
        "--map-points",
        "5000",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    (report, read_jsonl(&out.join("clusters.jsonl")))
}

#[test]
#[ignore = "reads ../shared/data (CI's data checks)"]
fn held_out_newsgroups_head_the_missing_list_at_any_k() {
    let dir = tempfile::tempdir().unwrap();
    let labels = split(dir.path());
    for k in ["20", "auto"] {
        let (report, clusters) = run(dir.path(), k);
        // Each fine topic's reference rows, by newsgroup.
        let mut groups: HashMap<u64, HashMap<&str, usize>> = HashMap::new();
        let reference = clusters.iter().filter(|c| c["set"] == "reference");
        for c in reference {
            let row = c["row"].as_u64().unwrap() as usize;
            if let Some(f) = c["fine_topic"].as_u64() {
                *groups
                    .entry(f)
                    .or_default()
                    .entry(&labels[row])
                    .or_default() += 1;
            }
        }
        let plurality = |f: u64| -> &str {
            let g = &groups[&f];
            g.iter()
                .max_by_key(|(name, n)| (**n, std::cmp::Reverse(**name)))
                .map(|(name, _)| *name)
                .unwrap()
        };
        let missing = report["coverage"]["missing"].as_array().unwrap();
        // The head of the list: the topics before the first whose reference rows come
        // mostly from a newsgroup the input has.
        let head: Vec<&str> = missing
            .iter()
            .map(|g| plurality(g["topic"].as_u64().unwrap()))
            .take_while(|name| HELD_OUT.contains(name))
            .collect();
        let found: BTreeSet<&str> = head.iter().copied().collect();
        assert_eq!(
            found.len(),
            3,
            "-k {k}: the head of the missing list is {head:?}; then {:?}",
            missing
                .iter()
                .skip(head.len())
                .take(3)
                .map(|g| (plurality(g["topic"].as_u64().unwrap()), g["ratio"].clone()))
                .collect::<Vec<_>>()
        );
        // The first gap is a topic the input lacks almost entirely.
        assert!(
            missing[0]["ratio"].as_f64().unwrap() < 0.2,
            "{}",
            missing[0]
        );
        // Every gap names its coarse topic, and the fine topics nest in the coarse ones.
        let k_coarse = report["clustering"]["k"].as_u64().unwrap();
        for g in missing {
            let f = &report["fine_topics"][g["topic"].as_u64().unwrap() as usize];
            assert_eq!(f["parent"], g["parent"]);
            assert!(g["parent"].as_u64().unwrap() < k_coarse);
        }
        // Header words of every post are not keywords of any topic.
        for t in report["topics"].as_array().unwrap() {
            for kw in t["keywords"].as_array().unwrap() {
                let term = kw["term"].as_str().unwrap();
                assert!(
                    ![
                        "edu",
                        "writes",
                        "article",
                        "subject",
                        "lines",
                        "organization"
                    ]
                    .contains(&term),
                    "-k {k}: topic {} has keyword {term:?}",
                    t["label"]
                );
            }
        }
    }
}
