//! `semsift pool` end to end, through the binary: adding rows batch by batch accepts
//! exactly the rows one exact-index dedup of their concatenation keeps, with the same
//! matches and scores; blocklists; queries; and a writer killed with SIGKILL during an
//! add or a merge loses no accepted row and leaves a pool the next writer opens.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        common::stderr(out)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    lines(&std::fs::read_to_string(path).unwrap())
}

/// Writes `rows` to `path` as JSONL.
fn write_rows(path: &Path, rows: &[Value]) {
    let body: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, body).unwrap();
}

/// `semsift pool add DIR FILE`, its decision lines.
fn add(dir: &Path, file: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["pool", "add", dir.to_str().unwrap(), file.to_str().unwrap()];
    args.extend_from_slice(extra);
    lines(&ok(&common::semsift(&args), "pool add"))
}

/// `semsift pool export DIR -o DEST` succeeds.
fn run_export(dir: &Path, dest: &Path) {
    ok(
        &common::semsift(&[
            "pool",
            "export",
            dir.to_str().unwrap(),
            "-o",
            dest.to_str().unwrap(),
        ]),
        "pool export",
    );
}

/// `semsift pool export DIR -o DEST` (a `.jsonl`), its lines.
fn export(dir: &Path, dest: &Path) -> Vec<Value> {
    run_export(dir, dest);
    read_jsonl(dest)
}

/// `semsift pool query DIR FILE -k K`, its lines.
fn query(dir: &Path, file: &Path, k: usize) -> Vec<Value> {
    let k = k.to_string();
    let args = [
        "pool",
        "query",
        dir.to_str().unwrap(),
        file.to_str().unwrap(),
        "-k",
        &k,
    ];
    lines(&ok(&common::semsift(&args), "pool query"))
}

/// A Parquet export's `pool_id` and `text` columns.
fn read_parquet_export(path: &Path) -> (Vec<u64>, Vec<String>) {
    use arrow_array::{Array, StringArray, UInt64Array};
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let (mut ids, mut texts) = (Vec::new(), Vec::new());
    for batch in reader {
        let batch = batch.unwrap();
        assert_eq!(batch.schema().field(0).name(), "pool_id");
        let id = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        ids.extend(id.values().iter().copied());
        let text = batch.column_by_name("text").unwrap();
        let text = text.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(text.null_count(), 0);
        texts.extend(text.iter().map(|t| t.unwrap().to_string()));
    }
    (ids, texts)
}

/// `semsift pool verify DIR` succeeds.
fn verify(dir: &Path) {
    ok(
        &common::semsift(&["pool", "verify", dir.to_str().unwrap()]),
        "pool verify",
    );
}

fn init(dir: &Path, threshold: &str) {
    ok(
        &common::semsift(&["pool", "init", dir.to_str().unwrap(), "-t", threshold]),
        "pool init",
    );
}

/// Splits `rows` into `parts` files under `dir`; returns their paths and first rows.
fn split(dir: &Path, rows: &[Value], parts: usize) -> Vec<(PathBuf, usize)> {
    (0..parts)
        .map(|p| {
            let (a, b) = (p * rows.len() / parts, (p + 1) * rows.len() / parts);
            let path = dir.join(format!("part-{p:03}.jsonl"));
            write_rows(&path, &rows[a..b]);
            (path, a)
        })
        .filter(|(_, a)| *a < rows.len())
        .collect()
}

/// Adds `rows` to a new pool in `parts` batches and checks the outcome against one
/// `semsift dedup --index exact --precision f16` of all of them: the same rows accepted
/// (kept), in order; every rejected row names the same kept row with the same score.
fn batches_match_one_dedup(tmp: &Path, rows: &[Value], parts: usize, threshold: &str) -> usize {
    let all = tmp.join("all.jsonl");
    write_rows(&all, rows);
    let out = tmp.join("dedup");
    ok(
        &common::semsift_on(
            "dedup",
            &all,
            &out,
            &["--index", "exact", "--precision", "f16", "-t", threshold],
        ),
        "dedup",
    );
    let kept_rows: Vec<usize> = {
        let kept = read_jsonl(&out.join("kept.jsonl"));
        let removed = read_jsonl(&out.join("removed.jsonl"));
        let removed_rows: std::collections::HashSet<u64> =
            removed.iter().map(|r| r["row"].as_u64().unwrap()).collect();
        let kept_rows: Vec<usize> = (0..rows.len())
            .filter(|r| !removed_rows.contains(&(*r as u64)))
            .collect();
        assert_eq!(kept_rows.len(), kept.len());
        kept_rows
    };
    let removed: std::collections::HashMap<usize, (usize, String)> =
        read_jsonl(&out.join("removed.jsonl"))
            .iter()
            .map(|r| {
                (
                    r["row"].as_u64().unwrap() as usize,
                    (
                        r["duplicate_of"].as_u64().unwrap() as usize,
                        r["score"].to_string(),
                    ),
                )
            })
            .collect();

    let pool = tmp.join("pool");
    init(&pool, threshold);
    let mut accepted = Vec::new();
    for (file, first) in split(tmp, rows, parts) {
        for d in add(&pool, &file, &[]) {
            let row = first + d["row"].as_u64().unwrap() as usize;
            if d["accepted"].as_bool().unwrap() {
                assert_eq!(d["id"].as_u64().unwrap() as usize, accepted.len());
                accepted.push(row);
            } else {
                let near = &d["nearest"];
                let of = accepted[near["id"].as_u64().unwrap() as usize];
                let (want_of, want_score) = &removed[&row];
                assert_eq!(of, *want_of, "row {row}: {d}");
                if near["exact"].as_bool().unwrap() {
                    assert_eq!(rows[of]["text"], rows[row]["text"], "row {row}");
                } else {
                    assert_eq!(&near["score"].to_string(), want_score, "row {row}: {d}");
                }
            }
        }
    }
    assert_eq!(accepted, kept_rows, "accepted rows vs dedup's kept rows");
    // Export gives the accepted rows, in order, with their ids.
    let exported = export(&pool, &tmp.join("export.jsonl"));
    assert_eq!(exported.len(), accepted.len());
    for (id, (e, &row)) in exported.iter().zip(&accepted).enumerate() {
        assert_eq!(e["pool_id"].as_u64().unwrap() as usize, id);
        assert_eq!(e["text"], rows[row]["text"]);
    }
    verify(&pool);
    accepted.len()
}

#[test]
fn batches_accept_what_one_exact_dedup_keeps_on_the_fixture_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus.jsonl");
    let rows = common::write_corpus(&corpus, 3, 7);
    let kept = batches_match_one_dedup(tmp.path(), &rows, 10, "0.85");
    assert!(
        kept > 200 && kept < rows.len() - 200,
        "{kept} of {}",
        rows.len()
    );
}

/// CI's data check: 5,000 real Alpaca instructions in 100 batches.
#[test]
#[ignore = "needs ../shared/data (CI runs it)"]
fn batches_accept_what_one_exact_dedup_keeps_on_alpaca() {
    let path = common::root()
        .join("../shared/data/alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = std::io::read_to_string(flate2::read::GzDecoder::new(file)).unwrap();
    let rows: Vec<Value> = text
        .lines()
        .take(5000)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            serde_json::json!({ "text": v["instruction"] })
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let kept = batches_match_one_dedup(tmp.path(), &rows, 100, "0.8");
    assert!(kept < rows.len(), "{kept}");
}

#[test]
fn a_blocklist_pool_rejects_its_rows_and_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus.jsonl");
    let rows = common::write_corpus(&corpus, 1, 3);
    let test_set = tmp.path().join("test-set");
    init(&test_set, "0.9");
    let bench = tmp.path().join("bench.jsonl");
    write_rows(&bench, &rows[..60]);
    add(&test_set, &bench, &[]);
    let pool = tmp.path().join("pool");
    init(&pool, "0.9");
    let candidates = tmp.path().join("candidates.jsonl");
    write_rows(&candidates, &rows[..200]);
    let decisions = add(
        &pool,
        &candidates,
        &["--against-pool", test_set.to_str().unwrap()],
    );
    for d in &decisions[..60] {
        assert!(!d["accepted"].as_bool().unwrap(), "{d}");
        assert_eq!(d["blocked"]["pool"], test_set.to_str().unwrap());
        assert_eq!(d["blocked"]["exact"], true);
    }
    let accepted = decisions.iter().filter(|d| d["accepted"] == true).count();
    assert!(accepted > 50, "{accepted}");
    // Query: a row of the pool finds itself first.
    let probe = tmp.path().join("probe.jsonl");
    let first_accepted = decisions
        .iter()
        .position(|d| d["accepted"] == true)
        .unwrap();
    write_rows(&probe, &rows[first_accepted..first_accepted + 1]);
    let q = query(&pool, &probe, 3);
    assert_eq!(q[0]["nearest"][0]["id"], 0);
    assert!(q[0]["nearest"][0]["score"].as_f64().unwrap() > 0.999);
    assert_eq!(q[0]["nearest"].as_array().unwrap().len(), 3);
    // Stats.
    let stats: Value = serde_json::from_str(&ok(
        &common::semsift(&["pool", "stats", pool.to_str().unwrap()]),
        "pool stats",
    ))
    .unwrap();
    assert_eq!(stats["rows"].as_u64().unwrap() as usize, accepted);
}

/// Rows the pool holds, by `pool stats`.
fn pool_rows(dir: &Path) -> u64 {
    let stats: Value = serde_json::from_str(&ok(
        &common::semsift(&["pool", "stats", dir.to_str().unwrap()]),
        "pool stats",
    ))
    .unwrap();
    stats["rows"].as_u64().unwrap()
}

/// Starts `semsift pool add DIR FILE` with `env`, and kills it with SIGKILL once
/// `ready` says so (or after `max`).
fn kill_add_when(
    dir: &Path,
    file: &Path,
    env: &[(&str, &str)],
    ready: impl Fn() -> bool,
    max: Duration,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_semsift"))
        .args([
            "pool",
            "add",
            dir.to_str().unwrap(),
            file.to_str().unwrap(),
            "-q",
        ])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready() && start.elapsed() < max {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    child.wait().unwrap();
}

#[test]
fn a_writer_killed_during_an_add_or_a_merge_loses_no_accepted_row() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus.jsonl");
    let rows = common::write_corpus(&corpus, 6, 11);
    let pool = tmp.path().join("pool");
    init(&pool, "0.9");
    let files = split(tmp.path(), &rows, 12);
    // Killed at a spread of moments during adds: the pool holds what the adds that
    // returned accepted, and maybe the killed one's rows, never part of them.
    let mut expected = 0;
    for (i, (file, _)) in files.iter().enumerate().take(6) {
        let before = pool_rows(&pool);
        let wait = Duration::from_millis(5 + 23 * i as u64);
        let start = Instant::now();
        kill_add_when(&pool, file, &[], || start.elapsed() >= wait, wait);
        let after = pool_rows(&pool);
        verify(&pool);
        let decisions = add(&pool, file, &["--dry-run"]);
        let fresh = decisions.iter().filter(|d| d["accepted"] == true).count() as u64;
        assert!(
            after == before || fresh == 0,
            "a killed add left part of its rows"
        );
        let done = add(&pool, file, &[]);
        expected = pool_rows(&pool);
        assert_eq!(
            expected,
            after + done.iter().filter(|d| d["accepted"] == true).count() as u64
        );
    }
    // Killed while merging: paused just before the merged segment is named in the
    // manifest, then killed. Adds go on until one merges.
    let marker = pool.join("paused");
    let mut at = 6;
    while !marker.exists() {
        assert!(at < files.len(), "no add merged");
        expected = pool_rows(&pool);
        kill_add_when(
            &pool,
            &files[at].0,
            &[("SEMSIFT_POOL_PAUSE", "merge")],
            || marker.exists(),
            Duration::from_secs(60),
        );
        at += 1;
    }
    std::fs::remove_file(&marker).unwrap();
    // The add named its new segment before merging: its rows are in, and the merged
    // segment it was writing is the one folder the manifest does not name.
    assert!(pool_rows(&pool) > expected);
    verify(&pool);
    let (named, present) = segment_dirs(&pool);
    assert_eq!(present.len(), named.len() + 1, "{named:?} {present:?}");
    // The next writer removes it and goes on.
    let more = add(&pool, &files[at].0, &[]);
    assert!(more.iter().any(|d| d["accepted"] == true));
    let (named, present) = segment_dirs(&pool);
    assert_eq!(named, present);
    verify(&pool);
}

/// The segment folders the manifest names, and those present, sorted.
fn segment_dirs(pool: &Path) -> (Vec<String>, Vec<String>) {
    let manifest = std::fs::read_to_string(pool.join("pool.json")).unwrap();
    let body: Value = serde_json::from_str(manifest.lines().next().unwrap()).unwrap();
    let mut named: Vec<String> = body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    let mut present: Vec<String> = std::fs::read_dir(pool.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    named.sort();
    present.sort();
    (named, present)
}

#[test]
fn an_import_keeps_every_row_and_later_adds_are_decided_against_them() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus.jsonl");
    let rows = common::write_corpus(&corpus, 2, 5);
    let pool = tmp.path().join("pool");
    init(&pool, "0.9");
    let out = ok(
        &common::semsift(&[
            "pool",
            "import",
            pool.to_str().unwrap(),
            corpus.to_str().unwrap(),
        ]),
        "pool import",
    );
    let line: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["imported"].as_u64().unwrap() as usize, rows.len());
    assert_eq!(pool_rows(&pool) as usize, rows.len());
    // Every row, near and exact copies included, in order.
    let exported = export(&pool, &tmp.path().join("export.jsonl"));
    assert_eq!(exported.len(), rows.len());
    for (e, r) in exported.iter().zip(&rows) {
        assert_eq!(e["text"], r["text"]);
    }
    // The same rows as Parquet: `pool_id` (u64) first, then the pool's column.
    let parquet = tmp.path().join("export.parquet");
    run_export(&pool, &parquet);
    let (ids, texts) = read_parquet_export(&parquet);
    assert_eq!(ids, (0..rows.len() as u64).collect::<Vec<_>>());
    let want: Vec<&str> = rows.iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert_eq!(texts, want);
    // Never into the pool's folder, and only to formats it writes.
    for bad in [pool.join("rows.jsonl"), tmp.path().join("export.csv")] {
        let out = common::semsift(&[
            "pool",
            "export",
            pool.to_str().unwrap(),
            "-o",
            bad.to_str().unwrap(),
        ]);
        assert!(!out.status.success() && !bad.exists(), "{}", bad.display());
    }
    // The same rows again: all rejected, each naming its own copy in the pool.
    let decisions = add(&pool, &corpus, &[]);
    for (i, d) in decisions.iter().enumerate() {
        assert_eq!(d["accepted"], false, "{d}");
        let id = d["nearest"]["id"].as_u64().unwrap() as usize;
        assert_eq!(rows[id]["text"], rows[i]["text"]);
        assert!(id <= i);
    }
}

#[test]
fn rows_are_stored_whole_whatever_the_input_format() {
    let tmp = tempfile::tempdir().unwrap();
    let pool = tmp.path().join("pool");
    ok(
        &common::semsift(&["pool", "init", pool.to_str().unwrap(), "-c", "instruction"]),
        "pool init",
    );
    // JSON Lines with fields beyond the column compared, nested ones included; the third
    // row repeats the first's instruction and is rejected.
    let jsonl = tmp.path().join("a.jsonl");
    let rows = [
        serde_json::json!({"instruction": "Name three primary colours.", "output": "Red, yellow, blue.", "meta": {"round": 1, "tags": ["art"]}}),
        serde_json::json!({"instruction": "How far is the Moon from the Earth?", "output": "About 384,400 km.", "meta": {"round": 1, "tags": []}}),
        serde_json::json!({"instruction": "Name three primary colours.", "output": "Cyan, magenta, yellow.", "meta": null}),
    ];
    write_rows(&jsonl, &rows);
    let decisions = add(&pool, &jsonl, &[]);
    let accepted: Vec<bool> = decisions.iter().map(|d| d["accepted"] == true).collect();
    assert_eq!(accepted, [true, true, false]);
    // CSV: every column, as text.
    let csv = tmp.path().join("b.csv");
    std::fs::write(
        &csv,
        "instruction,output,score\n\"Write a haiku, about rain.\",\"Soft rain...\",4.5\n",
    )
    .unwrap();
    let decisions = add(&pool, &csv, &[]);
    assert_eq!(decisions[0]["accepted"], true);
    let exported = export(&pool, &tmp.path().join("export.jsonl"));
    let want = [
        serde_json::json!({"pool_id": 0, "instruction": "Name three primary colours.", "output": "Red, yellow, blue.", "meta": {"round": 1, "tags": ["art"]}}),
        serde_json::json!({"pool_id": 1, "instruction": "How far is the Moon from the Earth?", "output": "About 384,400 km.", "meta": {"round": 1, "tags": []}}),
        serde_json::json!({"pool_id": 2, "instruction": "Write a haiku, about rain.", "output": "Soft rain...", "score": "4.5"}),
    ];
    assert_eq!(exported, want);
    // A query reads only the column compared.
    assert_eq!(query(&pool, &csv, 1)[0]["nearest"][0]["id"], 2);
}
