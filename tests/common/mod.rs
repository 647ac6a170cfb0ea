//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod browser;
pub mod cdp;
pub mod report_fixture;

/// Runs the `semsift` binary built for these tests with `args` and `--quiet` (errors
/// still reach stderr).
pub fn semsift(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_semsift"))
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run semsift")
}

/// Runs `semsift COMMAND INPUT -o OUT EXTRA...` (see [`semsift`]).
pub fn semsift_on(command: &str, input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        command,
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    semsift(&args)
}

/// A run's stderr, as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `lines` to `path`, each followed by `\n`.
pub fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut body = Vec::new();
    for l in lines {
        body.extend_from_slice(l);
        body.push(b'\n');
    }
    std::fs::write(path, body).unwrap();
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(rel)
}

/// The `text` field of every line of a JSONL file.
pub fn jsonl_texts(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The real all-MiniLM-L6-v2 folder; fails loudly (never skips) when absent.
pub fn minilm_dir() -> PathBuf {
    let dir = root().join("models").join("all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run scripts/fetch-minilm.sh (scripts/test.sh does it for you)",
        dir.display()
    );
    dir
}

/// A seeded corpus with known kinds of duplicates, written as JSONL with fields `id`,
/// `text`, `source` (the fixture sentence it came from) and `kind`.
///
/// Built from the 259 real sentences of `tests/fixtures/model2vec/texts.jsonl`: each
/// appears once as is, and then `copies` rounds of variants follow in a shuffled order:
/// exact copies, case and punctuation changes, dropped or swapped words. So the data has
/// exact duplicates, near duplicates at a spread of similarities, and unrelated rows.
pub fn write_corpus(path: &Path, copies: usize, seed: u64) -> Vec<serde_json::Value> {
    let base = jsonl_texts(&fixture("model2vec/texts.jsonl"));
    let base: Vec<String> = base
        .into_iter()
        .filter(|t| t.split(' ').count() >= 4)
        .collect();
    let mut rand = xorshift(seed | 1);
    let mut rows = Vec::new();
    for (i, t) in base.iter().enumerate() {
        rows.push((t.clone(), i, "original"));
    }
    for _ in 0..copies {
        let mut round = Vec::new();
        for (i, t) in base.iter().enumerate() {
            let words: Vec<&str> = t.split(' ').collect();
            let (text, kind) = match rand(5) {
                0 => (t.clone(), "exact"),
                1 => (t.to_uppercase(), "case"),
                2 => (format!("{}!!", t.trim_end_matches('.')), "punctuation"),
                3 => {
                    let k = rand(words.len());
                    let w: Vec<&str> = words
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != k)
                        .map(|(_, w)| *w)
                        .collect();
                    (w.join(" "), "dropped word")
                }
                _ => {
                    let mut w = words.clone();
                    let k = rand(w.len() - 1);
                    w.swap(k, k + 1);
                    (w.join(" "), "swapped words")
                }
            };
            round.push((text, i, kind));
        }
        for k in (1..round.len()).rev() {
            round.swap(k, rand(k + 1));
        }
        rows.extend(round);
    }
    let values: Vec<serde_json::Value> = rows
        .into_iter()
        .enumerate()
        .map(|(id, (text, source, kind))| {
            serde_json::json!({"id": id, "text": text, "source": source, "kind": kind})
        })
        .collect();
    let body: String = values.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(path, body).unwrap();
    values
}

/// The lines of a JSONL file, parsed.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A summary without what legitimately varies between runs, where present: `timings_s`
/// and `seconds` (filter's), `peak_rss_mib`, `memory_limit_mib` (by default the memory
/// available at the start), `embedding` (it counts rows reused from a store) and `run`.
pub fn stable_summary(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(map) = v.as_object_mut() {
        for key in [
            "timings_s",
            "seconds",
            "peak_rss_mib",
            "memory_limit_mib",
            "embedding",
            "run",
        ] {
            map.remove(key);
        }
    }
    v
}

/// Every word of the fixture sentences (`tests/fixtures/model2vec/texts.jsonl`), in order.
pub fn fixture_words() -> Vec<String> {
    jsonl_texts(&fixture("model2vec/texts.jsonl"))
        .iter()
        .flat_map(|t| t.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// A seeded xorshift generator (`seed` must not be 0): each call gives a number in `0..n`.
pub fn xorshift(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}
