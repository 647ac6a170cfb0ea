//! `--on-error skip` for `semsift report` and `semsift embed`, through the real binary
//! with the bundled model: unreadable rows are left out, counted and listed with the
//! file's own row numbers, every input row is accounted for, and without the flag the
//! first bad row stops the run naming its file and line. (`dedup` and `filter` are in
//! `tests/reliability.rs`.)

mod common;

use std::fs;
use std::path::Path;

use common::{read_jsonl, semsift, semsift_on, stderr, write_lines};
use semsift::store::npy;
use serde_json::{json, Value};

/// Twelve readable texts: a few topics, with an exact copy (rows 0 and 1).
const GOOD: [&str; 12] = [
    "The river flooded the valley after three days of rain.",
    "The river flooded the valley after three days of rain.",
    "Heavy rain made the river burst its banks in the valley.",
    "A quiet library is the best place to study for exams.",
    "Compilers translate source code into machine instructions.",
    "The compiler turns source code into machine code.",
    "My grandmother bakes bread every Sunday morning.",
    "Volcanic ash grounded flights across northern Europe.",
    "The orchestra tuned their instruments before the concert.",
    "Penguins huddle together to survive the Antarctic winter.",
    "Interest rates rose for the third time this year.",
    "Students revise in the library before their exams.",
];

/// The bad rows spliced in, and what their error says (after `file:line`).
const BAD: [(&[u8], &str); 3] = [
    (b"{\"text\": oops}", "invalid JSON"),
    (b"{\"body\":\"no text column\"}", "column `text` not found"),
    (b"{\"text\":\"caf\xe9 au lait\"}", "invalid UTF-8"),
];

/// Writes the good rows with the bad ones at rows 1, 5 and 9 (lines 2, 6, 10); returns
/// every line and the bad row numbers.
fn mixed_jsonl(path: &Path) -> (Vec<Vec<u8>>, Vec<u64>) {
    let mut lines: Vec<Vec<u8>> = GOOD
        .iter()
        .map(|t| json!({ "text": t }).to_string().into_bytes())
        .collect();
    let mut bad_rows = Vec::new();
    for (k, (bytes, _)) in BAD.iter().enumerate() {
        let at = 1 + 4 * k;
        lines.insert(at, bytes.to_vec());
        bad_rows.push(at as u64);
    }
    write_lines(path, &lines);
    (lines, bad_rows)
}

/// The text of a readable line.
fn text_of(line: &[u8]) -> String {
    let v: Value = serde_json::from_slice(line).unwrap();
    v["text"].as_str().unwrap().to_string()
}

/// Asserts that `skipped` lists exactly `rows` of `file` (in order), each with its line
/// (`row + 1`: no blank lines) and a reason naming the file, the line and what was wrong.
fn assert_skipped(skipped: &[Value], file: &str, rows: &[u64], whats: &[&str]) {
    let listed: Vec<u64> = skipped.iter().map(|s| s["row"].as_u64().unwrap()).collect();
    assert_eq!(listed, rows, "{skipped:?}");
    for ((s, &row), what) in skipped.iter().zip(rows).zip(whats) {
        assert_eq!(s["line"], row + 1, "{s}");
        let reason = s["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("{file}:{}:", row + 1)) && reason.contains(what),
            "{reason}"
        );
    }
}

fn report(args: &[&str], out: &Path) -> std::process::Output {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend(["-o", out.to_str().unwrap(), "-k", "3"]);
    semsift(&all)
}

#[test]
fn report_skips_bad_rows_of_both_sets_and_keeps_file_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.jsonl");
    let (lines, bad) = mixed_jsonl(&input);
    // The reference: the good texts reversed, with a bad row at row 2.
    let reference = dir.path().join("ref.jsonl");
    let mut ref_lines: Vec<Vec<u8>> = GOOD
        .iter()
        .rev()
        .map(|t| json!({ "text": t }).to_string().into_bytes())
        .collect();
    ref_lines.insert(2, b"{\"text\":null}".to_vec());
    write_lines(&reference, &ref_lines);
    let out = dir.path().join("out");

    let run = report(
        &[
            input.to_str().unwrap(),
            "--reference",
            reference.to_str().unwrap(),
            "--on-error",
            "skip",
        ],
        &out,
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).is_empty(), "--quiet: {}", stderr(&run));

    // skipped.jsonl: the input's bad rows, then the reference's, with file row numbers.
    let skipped = read_jsonl(&out.join("skipped.jsonl"));
    let (of_input, of_ref): (Vec<Value>, Vec<Value>) =
        skipped.into_iter().partition(|s| s["set"] == "input");
    assert!(of_ref.iter().all(|s| s["set"] == "reference"));
    let whats: Vec<&str> = BAD.iter().map(|(_, w)| *w).collect();
    assert_skipped(&of_input, "mixed.jsonl", &bad, &whats);
    assert_skipped(&of_ref, "ref.jsonl", &[2], &["column `text` is null"]);

    let r: Value = serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["input"]["rows"], GOOD.len());
    assert_eq!(r["input"]["skipped_rows"], bad.len());
    assert_eq!(r["input"]["unique_rows"], GOOD.len() - 1);
    assert_eq!(r["reference"]["rows"], GOOD.len());
    assert_eq!(r["reference"]["skipped_rows"], 1);
    let shown: u64 = r["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["input"]["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(shown, GOOD.len() as u64, "skipped rows are in no topic");

    // Examples name file rows: the text at that row of the file is the example's.
    let mut examples = 0;
    for t in r["topics"].as_array().unwrap() {
        for e in t["examples"].as_array().unwrap() {
            let row = e["row"].as_u64().unwrap();
            let file_lines = if e["set"] == "input" {
                assert!(!bad.contains(&row), "{e}");
                &lines
            } else {
                assert_ne!(row, 2, "{e}");
                &ref_lines
            };
            assert_eq!(e["text"], text_of(&file_lines[row as usize]), "{e}");
            examples += 1;
        }
    }
    assert!(examples > 0);

    // clusters.jsonl: one line per row read, numbered as in the file.
    let clusters = read_jsonl(&out.join("clusters.jsonl"));
    let rows_of = |set: &str| -> Vec<u64> {
        clusters
            .iter()
            .filter(|c| c["set"] == set)
            .map(|c| c["row"].as_u64().unwrap())
            .collect()
    };
    let good_rows: Vec<u64> = (0..lines.len() as u64)
        .filter(|r| !bad.contains(r))
        .collect();
    assert_eq!(rows_of("input"), good_rows);
    let ref_good: Vec<u64> = (0..ref_lines.len() as u64).filter(|&r| r != 2).collect();
    assert_eq!(rows_of("reference"), ref_good);

    // The page shows the skipped rows beside the rows.
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("+\u{a0}3\u{a0}skipped"),
        "input's skipped rows"
    );
    assert!(
        html.contains("+\u{a0}1\u{a0}skipped"),
        "reference's skipped rows"
    );

    // A rerun without skipping, on clean input, leaves no skipped.jsonl behind.
    let clean = dir.path().join("clean.jsonl");
    let clean_lines: Vec<Vec<u8>> = GOOD
        .iter()
        .map(|t| json!({ "text": t }).to_string().into_bytes())
        .collect();
    write_lines(&clean, &clean_lines);
    fs::write(out.join("skipped.jsonl.partial"), "half a line").unwrap();
    let rerun = report(&[clean.to_str().unwrap()], &out);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(!out.join("skipped.jsonl").exists());
    assert!(!out.join("skipped.jsonl.partial").exists());
    let r: Value = serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["input"]["skipped_rows"], 0);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("skipped</small>"));
    let mut present: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    assert_eq!(present, ["clusters.jsonl", "report.html", "report.json"]);

    // Skipping with nothing to skip: an empty skipped.jsonl says so.
    let again = report(&[clean.to_str().unwrap(), "--on-error", "skip"], &out);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(fs::read(out.join("skipped.jsonl")).unwrap(), b"");
}

#[test]
fn report_without_skip_stops_at_the_first_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.jsonl");
    mixed_jsonl(&input);
    let out = dir.path().join("out");
    for extra in [&[][..], &["--on-error", "fail"][..]] {
        let mut args = vec![input.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = report(&args, &out);
        let err = stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{err}");
        assert!(
            err.contains(input.to_str().unwrap()) && err.contains("mixed.jsonl:2:10: invalid JSON"),
            "{err}"
        );
        assert!(!out.join("report.json").exists() && !out.join("skipped.jsonl").exists());
    }

    // A reference's bad row stops it too, naming the reference.
    let clean = dir.path().join("clean.jsonl");
    fs::write(
        &clean,
        "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\"}\n",
    )
    .unwrap();
    let run = report(
        &[
            clean.to_str().unwrap(),
            "--reference",
            input.to_str().unwrap(),
        ],
        &out,
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("mixed.jsonl:2:10"),
        "{}",
        stderr(&run)
    );

    // Nothing readable at all is an error even when skipping.
    let all_bad = dir.path().join("bad.jsonl");
    fs::write(&all_bad, "{oops\n{\"body\":1}\n").unwrap();
    let run = report(&[all_bad.to_str().unwrap(), "--on-error", "skip"], &out);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("bad.jsonl"), "{}", stderr(&run));
}

/// A 1-D uint64 `.npy` (as `<stem>.rows.npy` is written).
fn read_u64_npy(path: &Path) -> Vec<u64> {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.contains("'descr': '<u8'"), "{header}");
    let body = &bytes[10 + len..];
    let values: Vec<u64> = body
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert!(
        header.contains(&format!("'shape': ({},)", values.len())),
        "{header}"
    );
    values
}

fn embed(input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    semsift_on("embed", input, out, extra)
}

#[test]
fn embed_skips_bad_rows_and_accounts_for_every_input_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.jsonl");
    let (lines, bad) = mixed_jsonl(&input);
    let out = dir.path().join("vectors.npy");
    let rows_file = dir.path().join("vectors.rows.npy");
    let skipped_file = dir.path().join("vectors.skipped.jsonl");

    // By default the first bad row stops the run: no matrix, no sidecars.
    let run = embed(&input, &out, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("mixed.jsonl:2:10: invalid JSON"),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists() && !rows_file.exists() && !skipped_file.exists());

    let run = embed(&input, &out, &["--on-error", "skip"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).is_empty(), "--quiet: {}", stderr(&run));
    let (n, dim, data) = npy::read_f32(&out).unwrap();
    assert_eq!(n, GOOD.len());
    let rows = read_u64_npy(&rows_file);
    let skipped = read_jsonl(&skipped_file);
    let whats: Vec<&str> = BAD.iter().map(|(_, w)| *w).collect();
    assert_skipped(&skipped, "mixed.jsonl", &bad, &whats);
    // Every input row exactly once: in the matrix (at its file row) or skipped.
    let mut all: Vec<u64> = rows.iter().copied().chain(bad.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..lines.len() as u64).collect::<Vec<_>>());
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "in input order");
    assert!(!dir.path().join("vectors.npy.partial").exists());

    // Each vector is the one the clean file gets for that row's text.
    let clean = dir.path().join("clean.jsonl");
    let clean_lines: Vec<Vec<u8>> = rows.iter().map(|&r| lines[r as usize].clone()).collect();
    write_lines(&clean, &clean_lines);
    let clean_out = dir.path().join("clean.npy");
    let run = embed(&clean, &clean_out, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (clean_n, clean_dim, clean_data) = npy::read_f32(&clean_out).unwrap();
    assert_eq!((clean_n, clean_dim), (n, dim));
    assert_eq!(clean_data, data);
    assert!(!dir.path().join("clean.rows.npy").exists());

    // A later run into the same OUT without skipping removes the old sidecars, which
    // would describe another matrix.
    let run = embed(&clean, &out, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(npy::read_f32(&out).unwrap().2, clean_data);
    assert!(!rows_file.exists() && !skipped_file.exists());

    // Skipping on clean input: every row, and sidecars that say so.
    let run = embed(&clean, &out, &["--on-error", "skip"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(read_u64_npy(&rows_file), (0..n as u64).collect::<Vec<_>>());
    assert_eq!(fs::read(&skipped_file).unwrap(), b"");

    // Nothing readable is an error even when skipping.
    let all_bad = dir.path().join("bad.jsonl");
    fs::write(&all_bad, "{oops\n{\"body\":1}\n").unwrap();
    let run = embed(
        &all_bad,
        &dir.path().join("bad.npy"),
        &["--on-error", "skip"],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("bad.jsonl"), "{}", stderr(&run));
    assert!(!dir.path().join("bad.npy").exists());
    assert!(!dir.path().join("bad.rows.npy").exists());
}

#[test]
fn embed_sidecars_never_overwrite_the_input() {
    let dir = tempfile::tempdir().unwrap();
    // The input is named like the skipped-rows sidecar of the output.
    let input = dir.path().join("vectors.skipped.jsonl");
    fs::write(&input, "{\"text\":\"a\"}\n").unwrap();
    let run = embed(
        &input,
        &dir.path().join("vectors.npy"),
        &["--on-error", "skip"],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("refusing to overwrite input"),
        "{}",
        stderr(&run)
    );
    assert_eq!(fs::read(&input).unwrap(), b"{\"text\":\"a\"}\n");
    // Without skipping there are no sidecars: the run goes ahead and, the file being
    // the input, does not take it for an earlier run's sidecar to remove.
    let run = embed(&input, &dir.path().join("vectors.npy"), &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(fs::read(&input).unwrap(), b"{\"text\":\"a\"}\n");
    assert_eq!(npy::read_f32(&dir.path().join("vectors.npy")).unwrap().0, 1);
}
