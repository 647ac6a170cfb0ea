//! `semsift report` end to end: topics of a labelled corpus, gaps against a reference,
//! row accounting in clusters.jsonl, bad input, and (with `--ignored`) the page from
//! hostile rows in headless Chromium.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use common::{read_jsonl, root, semsift};
use serde_json::{json, Value};

/// Runs `semsift report` and returns report.json; panics with stderr on failure.
fn report(args: &[&str], out: &Path) -> Value {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend(["-o", out.to_str().unwrap()]);
    let o = semsift(&all);
    assert!(
        o.status.success(),
        "semsift {all:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `semsift report` expecting failure; returns stderr.
fn report_error(args: &[&str], out: &Path) -> String {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend(["-o", out.to_str().unwrap()]);
    let o = semsift(&all);
    assert!(!o.status.success(), "semsift {all:?} should fail");
    assert!(
        !out.join("report.json").exists(),
        "no report after a failure"
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn topics_fixture() -> PathBuf {
    root().join("tests/data/dbpedia_topics.jsonl")
}

#[test]
fn removed_topics_head_the_missing_list() {
    let dir = tempfile::tempdir().unwrap();
    let full = read_jsonl(&topics_fixture());
    let removed: BTreeSet<&str> = ["Album", "Plant", "MeanOfTransportation"].into();
    let kept: Vec<Value> = full
        .iter()
        .filter(|r| !removed.contains(r["label"].as_str().unwrap()))
        .cloned()
        .collect();
    let input = dir.path().join("input.jsonl");
    write_jsonl(&input, &kept);
    let out = dir.path().join("out");
    let r = report(
        &[
            input.to_str().unwrap(),
            "--reference",
            topics_fixture().to_str().unwrap(),
            "-k",
            "14",
        ],
        &out,
    );
    assert_eq!(r["input"]["rows"], kept.len());
    assert_eq!(r["reference"]["rows"], full.len());
    let coverage = &r["coverage"];
    let missing = coverage["missing"].as_array().unwrap();
    assert!(missing.len() >= removed.len(), "{missing:?}");

    // Where the reference's rows of each class went, by fine topic (gaps are measured
    // on fine topics).
    let clusters = read_jsonl(&out.join("clusters.jsonl"));
    let ref_fine: Vec<u64> = clusters
        .iter()
        .filter(|c| c["set"] == "reference")
        .map(|c| c["fine_topic"].as_u64().unwrap())
        .collect();
    assert_eq!(ref_fine.len(), full.len());
    let mut by_topic: HashMap<u64, HashMap<&str, usize>> = HashMap::new();
    for (row, &f) in full.iter().zip(&ref_fine) {
        *by_topic
            .entry(f)
            .or_default()
            .entry(row["label"].as_str().unwrap())
            .or_default() += 1;
    }
    let plurality = |f: u64| -> &str {
        by_topic[&f]
            .iter()
            .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
            .map(|(c, _)| *c)
            .unwrap()
    };
    // The head of the list: the entries before the first whose reference rows are
    // mostly of a class the input has. Every removed class is in it ...
    let head: Vec<u64> = missing
        .iter()
        .map(|g| g["topic"].as_u64().unwrap())
        .take_while(|&f| removed.contains(plurality(f)))
        .collect();
    let classes: BTreeSet<&str> = head.iter().map(|&f| plurality(f)).collect();
    assert_eq!(classes, removed, "head {head:?} of {missing:?}");
    // ... those head topics hold most of the removed rows ...
    let removed_rows = full
        .iter()
        .filter(|r| removed.contains(r["label"].as_str().unwrap()))
        .count();
    let in_head: usize = head
        .iter()
        .map(|f| {
            by_topic[f]
                .iter()
                .filter(|(c, _)| removed.contains(*c))
                .map(|(_, n)| n)
                .sum::<usize>()
        })
        .sum();
    assert!(
        in_head as f64 >= 0.7 * removed_rows as f64,
        "only {in_head} of {removed_rows} removed rows are in the head topics"
    );
    // ... each fine topic names its coarse topic ...
    for g in missing {
        let f = &r["fine_topics"][g["topic"].as_u64().unwrap() as usize];
        assert_eq!(f["parent"], g["parent"]);
    }
    // ... and the worst gap is not covered, with the input far below the reference.
    assert_eq!(missing[0]["covered"], false);
    assert!(missing[0]["ratio"].as_f64().unwrap() < 0.5);
    let js = coverage["js_divergence_bits"].as_f64().unwrap();
    assert!(js > 0.01 && js < 1.0, "JS divergence {js}");
    let cov = coverage["coverage"].as_f64().unwrap();
    assert!(cov > 0.5 && cov < 0.95, "coverage {cov}");
    // The report page exists and names the worst gap.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let worst = &r["fine_topics"][missing[0]["topic"].as_u64().unwrap() as usize]["label"];
    assert!(html.contains(&format!("#topic-{}", missing[0]["parent"])));
    assert!(!worst.as_str().unwrap().is_empty());
}

#[test]
fn every_row_is_accounted_for_and_shares_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = read_jsonl(&topics_fixture());
    rows.truncate(200);
    // Exact copies and rows without text.
    rows.push(rows[3].clone());
    rows.push(rows[3].clone());
    rows.insert(10, json!({"label": "none", "text": ""}));
    rows.push(json!({"label": "none", "text": "   \t "}));
    let input = dir.path().join("input.jsonl");
    write_jsonl(&input, &rows);
    let out = dir.path().join("out");
    let r = report(&[input.to_str().unwrap(), "-k", "6", "--seed", "7"], &out);

    assert_eq!(r["schema"], "semsift.report/2");
    assert_eq!(r["input"]["rows"], rows.len());
    assert_eq!(r["input"]["empty_rows"], 2);
    assert_eq!(r["input"]["unique_rows"], rows.len() - 2);
    assert!(r["reference"].is_null() && r["coverage"].is_null());
    assert_eq!(r["clustering"]["k"], 6);
    assert_eq!(r["clustering"]["seed"], 7);

    // clusters.jsonl: every row once, in order; empty rows have no cluster.
    let clusters = read_jsonl(&out.join("clusters.jsonl"));
    assert_eq!(clusters.len(), rows.len());
    for (i, (c, row)) in clusters.iter().zip(&rows).enumerate() {
        assert_eq!(c["row"], i);
        assert_eq!(c["set"], "input");
        let empty = row["text"].as_str().unwrap().trim().is_empty();
        assert_eq!(c["cluster"].is_null(), empty, "row {i}");
    }
    // Copies share their original's cluster.
    let n = rows.len();
    assert_eq!(clusters[n - 2]["cluster"], clusters[3]["cluster"]);

    // Topic sizes match clusters.jsonl and shares sum to 1.
    let topics = r["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 6);
    let mut sizes = [0u64; 6];
    for c in &clusters {
        if let Some(t) = c["cluster"].as_u64() {
            sizes[t as usize] += 1;
        }
    }
    let mut share_sum = 0.0;
    for (t, topic) in topics.iter().enumerate() {
        assert_eq!(topic["id"], t);
        assert_eq!(topic["input"]["rows"], sizes[t], "topic {t}");
        share_sum += topic["input"]["share"].as_f64().unwrap();
        // Examples: in this topic, most similar first, texts from the input.
        let examples = topic["examples"].as_array().unwrap();
        assert!(!examples.is_empty() && examples.len() <= 5);
        let sims: Vec<f64> = examples
            .iter()
            .map(|e| e["similarity"].as_f64().unwrap())
            .collect();
        assert!(sims.windows(2).all(|w| w[0] >= w[1]), "{sims:?}");
        for e in examples {
            let row = e["row"].as_u64().unwrap() as usize;
            assert_eq!(clusters[row]["cluster"], t);
            assert_eq!(e["text"], rows[row]["text"]);
        }
        assert!(!topic["keywords"].as_array().unwrap().is_empty());
        let cohesion = topic["cohesion"].as_f64().unwrap();
        assert!(cohesion > 0.0 && cohesion <= 1.0);
    }
    assert!((share_sum - 1.0).abs() < 1e-9);
    // The two added copies are near duplicates of row 3.
    let t3 = clusters[3]["cluster"].as_u64().unwrap() as usize;
    assert!(topics[t3]["near_duplicates"].as_u64().unwrap() >= 2);
    let div = &r["diversity"]["input"];
    let eff = div["effective_topics"].as_f64().unwrap();
    assert!(eff > 1.0 && eff <= 6.0 + 1e-9);
    assert_eq!(r["map"]["points"].as_array().unwrap().len(), rows.len() - 4);

    // Same seed, same report (timings aside).
    let again = report(
        &[input.to_str().unwrap(), "-k", "6", "--seed", "7"],
        &dir.path().join("again"),
    );
    let strip = |mut v: Value| {
        v["timings_s"] = Value::Null;
        v
    };
    assert_eq!(strip(r), strip(again));
}

#[test]
fn auto_clusters_follow_the_documented_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = report(&[topics_fixture().to_str().unwrap()], &out);
    // 420 distinct rows: round(sqrt(42)) = 6.
    assert_eq!(r["clustering"]["k"], 6);
    assert!(r["clustering"]["k_rule"]
        .as_str()
        .unwrap()
        .starts_with("auto"));
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.jsonl");
    write_jsonl(
        &small,
        &[
            json!({"text": "one"}),
            json!({"text": "two"}),
            json!({"text": "two"}),
        ],
    );
    let out = dir.path().join("out");
    let err = report_error(&[small.to_str().unwrap(), "-k", "3"], &out);
    assert!(
        err.contains("3 clusters") && err.contains("only 2 distinct non-empty rows"),
        "{err}"
    );

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let err = report_error(
        &[
            topics_fixture().to_str().unwrap(),
            "--reference",
            empty.to_str().unwrap(),
        ],
        &out,
    );
    assert!(err.contains("empty.jsonl"), "{err}");

    let blank = dir.path().join("blank.jsonl");
    write_jsonl(&blank, &[json!({"text": ""}), json!({"text": "  "})]);
    let err = report_error(&[blank.to_str().unwrap()], &out);
    assert!(
        err.contains("blank.jsonl") && err.contains("no row with text"),
        "{err}"
    );

    let err = report_error(&[small.to_str().unwrap(), "-k", "0"], &out);
    assert!(err.contains("at least 1"), "{err}");
    let err = report_error(
        &[small.to_str().unwrap(), "--near-duplicate-threshold", "1.5"],
        &out,
    );
    assert!(err.contains("outside (0, 1]"), "{err}");
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn report_from_hostile_rows_is_safe_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = read_jsonl(&topics_fixture());
    rows.truncate(120);
    let hostile = [
        "<script>document.body.dataset.pwned = 1</script> buy cheap tickets",
        "</script><script>document.body.dataset.pwned = 2</script> tickets",
        "\"><img src=x onerror=\"document.body.dataset.pwned = 3\"> tickets",
        "<a href=\"javascript:document.body.dataset.pwned = 4\">click</a> tickets",
        "'single' & \"double\" quotes <b>bold</b> tickets",
    ];
    for (i, h) in hostile.iter().enumerate() {
        rows.insert(i * 20, json!({"label": "hostile", "text": h}));
    }
    let input = dir.path().join("hostile.jsonl");
    write_jsonl(&input, &rows);
    let out = dir.path().join("out");
    let r = report(&[input.to_str().unwrap(), "-k", "4"], &out);
    assert_eq!(r["input"]["rows"], rows.len());
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for h in hostile {
        assert!(!html.contains(h), "raw hostile text in the page: {h}");
    }
    let dom = common::browser::rendered_dom(&page, dir.path());
    let body = common::browser::body_tag(&dom);
    assert!(
        body.contains("data-ready=\"1\""),
        "script did not finish: {body}"
    );
    assert!(!body.contains("data-errors"), "script errors: {body}");
    assert!(
        !body.contains("data-pwned"),
        "dataset text ran as script: {body}"
    );
    assert!(
        body.contains("data-map-ready=\"1\""),
        "map explorer did not start: {body}"
    );
    assert!(dom.contains("<canvas id=\"map-canvas\"") && dom.contains("<svg class=\"chart bars\""));
    assert_eq!(dom.matches("<article class=\"card topic\"").count(), 4);
}

/// `--device candle-cpu` runs k-means and the near-duplicate scan through the device
/// code on the CPU: the same topics, members and near-duplicate flags as the CPU
/// kernels, and report.json says where each stage ran.
#[test]
fn the_device_path_gives_the_cpu_report() {
    let dir = tempfile::tempdir().unwrap();
    let input = topics_fixture();
    let args = |device| {
        vec![
            input.to_str().unwrap().to_string(),
            "--near-duplicate-threshold".into(),
            "0.8".into(),
            "--device".into(),
            device,
        ]
    };
    let run = |device: &str| {
        let out = dir.path().join(device);
        let a = args(device.to_string());
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = report(&a, &out);
        let labels: Vec<Value> = read_jsonl(&out.join("clusters.jsonl"))
            .into_iter()
            .map(|r| r["cluster"].clone())
            .collect();
        (r, labels)
    };
    let (cpu, cpu_labels) = run("cpu");
    let (dev, dev_labels) = run("candle-cpu");
    assert_eq!(cpu["devices"]["cluster"], "cpu");
    for stage in ["cluster", "near_duplicates"] {
        assert_eq!(dev["devices"][stage], "candle-cpu");
    }
    assert_eq!(dev["devices"]["embed"], "candle-cpu");
    assert_eq!(dev_labels, cpu_labels);
    let near = |r: &Value| -> Vec<u64> {
        r["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["near_duplicates"].as_u64().unwrap())
            .collect()
    };
    assert!(near(&cpu).iter().sum::<u64>() > 0, "{:?}", near(&cpu));
    assert_eq!(near(&dev), near(&cpu));
}
