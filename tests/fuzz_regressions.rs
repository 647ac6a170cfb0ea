//! Replays the fuzz seeds (`fuzz/seeds/<target>/`) and the inputs that once broke an
//! invariant (`tests/data/fuzz/<target>/`) through the checks the cargo-fuzz targets run
//! (`tests/common/fuzz_checks.rs`), so they stay fixed without cargo-fuzz. Fuzzing itself:
//! `scripts/fuzz.sh`.

#[path = "common/fuzz_checks.rs"]
mod fuzz_checks;

use std::path::{Path, PathBuf};

use fuzz_checks::Scratch;

/// The files of `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target`'s check on every seed and regression input it has.
fn replay(target: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let check = fuzz_checks::checks()[target];
    let scratch = Scratch::new();
    let inputs: Vec<PathBuf> = [
        root.join("fuzz/seeds").join(target),
        root.join("tests/data/fuzz").join(target),
    ]
    .iter()
    .flat_map(|dir| files(dir))
    .collect();
    assert!(!inputs.is_empty(), "no inputs for {target}");
    for input in inputs {
        eprintln!("{target}: {}", input.display());
        check(&scratch, &std::fs::read(&input).unwrap());
    }
}

#[test]
fn jsonl() {
    replay("jsonl");
}

#[test]
fn csv() {
    replay("csv");
}

#[test]
fn text() {
    replay("text");
}

#[test]
fn store_header() {
    replay("store_header");
}
