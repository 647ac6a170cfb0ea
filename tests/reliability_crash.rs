//! Crash safety with a real process: `semsift dedup` is killed with SIGKILL while it
//! embeds, indexes and writes; the same command run again resumes from the vector store
//! where it can and ends with outputs byte-identical to an uninterrupted run.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Unique rows: enough for the store to checkpoint (every 64 MiB, 65,536 rows of 256
/// floats) more than once, so an embedding killed midway has something to resume from.
const ROWS: usize = 140_000;

/// A seeded corpus of `ROWS` sentences: random words from the fixture texts, with every
/// ninth row a near copy (one word changed) and every thirteenth an exact copy of a
/// recent row.
fn write_corpus(path: &Path) {
    let words = common::fixture_words();
    let mut rand = common::xorshift(0x9e37_79b9_7f4a_7c15);
    let mut rows: Vec<String> = Vec::with_capacity(ROWS);
    let mut body = String::new();
    for i in 0..ROWS {
        let text = if i > 100 && i % 13 == 0 {
            rows[i - 1 - rand(100)].clone()
        } else if i > 100 && i % 9 == 0 {
            let mut w: Vec<&str> = rows[i - 1 - rand(100)].split(' ').collect();
            let k = rand(w.len());
            w[k] = &words[rand(words.len())];
            w.join(" ")
        } else {
            let len = 6 + rand(14);
            (0..len)
                .map(|_| words[rand(words.len())].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        body.push_str(&serde_json::json!({ "id": i, "text": text }).to_string());
        body.push('\n');
        rows.push(text);
    }
    fs::write(path, body).unwrap();
}

fn args(input: &Path, out: &Path, store: &Path) -> Vec<String> {
    [
        "dedup",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--pairs",
        "--quiet",
    ]
    .map(String::from)
    .to_vec()
}

fn run_to_end(input: &Path, out: &Path, store: &Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_semsift"))
        .args(args(input, out, store))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// When to kill the run.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// Once the store's partial file holds a checkpoint (embedding is under way).
    Embedding,
    /// As soon as the process logs that this stage is done, i.e. early in the next.
    After(&'static str),
}

/// Starts the command and SIGKILLs it at `at`; returns whether it was killed before it
/// finished on its own.
fn run_and_kill(input: &Path, out: &Path, store: &Path, at: KillAt) -> bool {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_semsift"))
        .args(args(input, out, store))
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let killed = loop {
        assert!(Instant::now() < deadline, "the run never reached {at:?}");
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        let due = match at {
            KillAt::Embedding => partial_rows(store) > 0,
            KillAt::After(stage) => rx.try_iter().any(|line| {
                line.contains("stage done") && line.contains(&format!("stage=\"{stage}\""))
            }),
        };
        if due {
            child.kill().unwrap();
            break true;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    child.wait().unwrap();
    drop(rx);
    reader.join().unwrap();
    killed
}

/// Rows checkpointed in the store's partial vector file, if there is one.
fn partial_rows(store: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(store) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".partial") {
            continue;
        }
        if let Ok(bytes) = fs::read(&path) {
            if let Some(rows) = bytes.get(24..32) {
                return u64::from_le_bytes(rows.try_into().unwrap());
            }
        }
    }
    0
}

fn files(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(out)
        .unwrap()
        .map(|e| {
            let path: PathBuf = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = if name == "summary.json" {
                Vec::new()
            } else {
                fs::read(&path).unwrap()
            };
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn killed_runs_resume_and_end_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("corpus.jsonl");
    write_corpus(&input);
    let input_bytes = fs::read(&input).unwrap();

    let reference_out = dir.path().join("reference");
    // The reference run fills this store; the kills after embedding reuse it (read only).
    let full_store = dir.path().join("store");
    let reference = run_to_end(&input, &reference_out, &full_store);
    let reference_files = files(&reference_out);
    assert!(reference["rows"]["removed"].as_u64().unwrap() > ROWS as u64 / 10);

    for at in [
        KillAt::Embedding,
        KillAt::After("embed"),
        KillAt::After("search"),
        KillAt::After("select"),
    ] {
        let out = dir
            .path()
            .join(format!("out-{at:?}").replace(['(', ')', '"'], ""));
        // With the vectors already stored, the kill lands in a later stage.
        let store = match at {
            KillAt::Embedding => dir.path().join("store-embedding"),
            KillAt::After(_) => full_store.clone(),
        };
        let killed = run_and_kill(&input, &out, &store, at);
        assert!(killed, "{at:?}: the run finished before it could be killed");
        // A killed run never leaves a summary claiming a complete set.
        assert!(!out.join("summary.json").exists(), "{at:?}");

        let resumed = run_to_end(&input, &out, &store);
        let embedding = &resumed["embedding"]["input"];
        if matches!(at, KillAt::Embedding) {
            let reused = embedding["reused"].as_u64().unwrap();
            assert!(
                reused > 0 && embedding["embedded"].as_u64().unwrap() > 0,
                "{at:?}: resumed from the checkpoint: {embedding}"
            );
        } else {
            assert_eq!(embedding["embedded"], 0, "{at:?}: {embedding}");
        }
        assert_eq!(
            common::stable_summary(resumed),
            common::stable_summary(reference.clone()),
            "{at:?}"
        );
        assert_eq!(files(&out), reference_files, "{at:?}");
    }
    assert_eq!(
        fs::read(&input).unwrap(),
        input_bytes,
        "the input is untouched"
    );
}
