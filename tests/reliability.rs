//! Reliability through the real binary: bad input stops with its location or is skipped,
//! counted and listed; every input row lands in exactly one output; outputs are listed
//! with checksums in `summary.json`, written last; a second run replaces the whole set.
//!
//! Crash safety is in `tests/reliability_crash.rs`, determinism in
//! `tests/reliability_determinism.rs`, store damage in `tests/reliability_store.rs`, the
//! report's handling of hostile text in `tests/report.rs` and `tests/report_html.rs`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
use common::{read_jsonl, semsift, semsift_on, stderr, write_lines};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// Runs `semsift dedup INPUT -o OUT EXTRA...`.
fn dedup(input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    semsift_on("dedup", input, out, extra)
}

/// Asserts that a run failed with exit code 1 and an error naming `needles` (the file,
/// its line and column, what was wrong), and wrote no summary.
fn assert_fails(output: &std::process::Output, out: &Path, needles: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    assert_eq!(
        err.lines().filter(|l| l.contains("error")).count(),
        1,
        "one error line: {err}"
    );
    assert!(!out.join("summary.json").exists());
}

fn line(text: &str) -> String {
    format!("{}\n", json!({ "text": text }))
}

/// Twelve readable rows: three sentences, each with an exact and a near copy, and six
/// unrelated ones.
fn good_rows() -> Vec<String> {
    [
        "The river flooded the valley after three days of rain.",
        "The river flooded the valley after three days of rain.",
        "The river flooded the valley after three days of heavy rain.",
        "A quiet library is the best place to study for exams.",
        "Compilers translate source code into machine instructions.",
        "Compilers translate source code into machine instructions!",
        "My grandmother bakes bread every Sunday morning.",
        "Volcanic ash grounded flights across northern Europe.",
        "Volcanic ash grounded flights across northern Europe.",
        "The orchestra tuned their instruments before the concert.",
        "Penguins huddle together to survive the Antarctic winter.",
        "Interest rates rose for the third time this year.",
    ]
    .iter()
    .map(|t| line(t))
    .collect()
}

#[test]
fn bad_jsonl_rows_stop_the_run_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cases: [(&str, &[u8], &[&str]); 6] = [
        (
            "malformed",
            b"{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\": oops}\n",
            &[":3:10: invalid JSON"],
        ),
        (
            "missing",
            b"{\"text\":\"a\"}\n{\"body\":\"b\"}\n",
            &[":2: column `text` not found (available: body)"],
        ),
        (
            "null",
            b"{\"text\":\"a\"}\n\n{\"text\":null}\n",
            &[":3: column `text` is null"],
        ),
        (
            "utf8",
            b"{\"text\":\"a\"}\n{\"text\":\"caf\xe9\"}\n",
            &[":2: invalid UTF-8"],
        ),
        (
            "not_object",
            b"{\"text\":\"a\"}\n[1,2]\n",
            &[":2: expected a JSON object"],
        ),
        ("empty", b"", &["file is empty"]),
    ];
    for (name, bytes, needles) in cases {
        let input = dir.path().join(format!("{name}.jsonl"));
        fs::write(&input, bytes).unwrap();
        let run = dedup(&input, &out, &[]);
        let mut all = vec![input.to_str().unwrap()];
        all.extend_from_slice(needles);
        assert_fails(&run, &out, &all);
        // The input is never touched.
        assert_eq!(fs::read(&input).unwrap(), bytes, "{name}");
    }
}

#[test]
fn bad_csv_and_parquet_inputs_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let csv = dir.path().join("bad.csv");
    fs::write(&csv, "id,text\n1,alpha\n2,beta,extra\n3,gamma\n").unwrap();
    assert_fails(&dedup(&csv, &out, &[]), &out, &["bad.csv:3: invalid CSV"]);
    let header = dir.path().join("header.csv");
    fs::write(&header, "id,body\n1,alpha\n").unwrap();
    assert_fails(
        &dedup(&header, &out, &[]),
        &out,
        &["header.csv:1: column `text` not found (available: id, body)"],
    );

    // A binary Parquet column is refused, naming the column and its type (numbers,
    // lists and structs read as their JSON text, as in JSON files).
    let parquet = dir.path().join("typed.parquet");
    write_parquet(
        &parquet,
        vec![(
            "text",
            Arc::new(BinaryArray::from_iter_values([b"a", b"b", b"c"])) as ArrayRef,
        )],
    );
    assert_fails(
        &dedup(&parquet, &out, &[]),
        &out,
        &[
            "typed.parquet: column `text` has type Binary",
            "expected text, or numbers, lists or structs",
        ],
    );
    // A Parquet null is an error at its row (line = row + 1).
    let nulls = dir.path().join("nulls.parquet");
    write_parquet(
        &nulls,
        vec![(
            "text",
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as ArrayRef,
        )],
    );
    assert_fails(
        &dedup(&nulls, &out, &[]),
        &out,
        &["nulls.parquet:3: column `text` is null"],
    );
}

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn values_that_are_not_strings_are_rendered_as_json_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("values.jsonl");
    let body = "{\"text\":42}\n{\"text\":[1,2]}\n{\"text\":true}\n{\"text\":{\"a\":1}}\n\
                {\"text\":\"42\"}\n{\"text\":\"[1,2]\"}\n";
    fs::write(&input, body).unwrap();
    let out = dir.path().join("out");
    let run = dedup(&input, &out, &["--threshold", "1.0"]);
    assert!(run.status.success(), "{}", stderr(&run));
    // The number 42 and the string "42" are the same text, so an exact copy; so are
    // [1,2] and "[1,2]".
    let removed = read_jsonl(&out.join("removed.jsonl"));
    let pairs: Vec<(u64, u64, bool)> = removed
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["duplicate_of"].as_u64().unwrap(),
                r["exact"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(pairs, vec![(4, 0, true), (5, 1, true)]);
    assert_eq!(
        fs::read_to_string(out.join("kept.jsonl")).unwrap(),
        "{\"text\":42}\n{\"text\":[1,2]}\n{\"text\":true}\n{\"text\":{\"a\":1}}\n"
    );
}

#[test]
fn bom_crlf_and_a_50_mb_row_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = b"\xef\xbb\xbf".to_vec();
    for row in good_rows() {
        body.extend_from_slice(row.trim_end().as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    // One row of 50 MB: words, so the tokenizer has real work.
    let big: String = "lorem ipsum dolor sit amet ".repeat(50 << 20 >> 5);
    assert!(big.len() >= 40 << 20);
    body.extend_from_slice(line(&big).as_bytes());
    let input = dir.path().join("crlf.jsonl");
    fs::write(&input, &body).unwrap();
    let out = dir.path().join("out");
    let run = dedup(&input, &out, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let s = summary(&out);
    assert_eq!(s["rows"]["input"], 13);
    assert_eq!(
        s["rows"]["kept"].as_u64().unwrap() + s["rows"]["removed"].as_u64().unwrap(),
        13
    );
    // Kept lines are the input's bytes without the BOM and the `\r`.
    let kept = fs::read_to_string(out.join("kept.jsonl")).unwrap();
    assert!(!kept.contains('\r') && !kept.starts_with('\u{feff}'));
    assert!(kept.ends_with(&line(&big)), "the big row is kept whole");
    let removed: Vec<u64> = read_jsonl(&out.join("removed.jsonl"))
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert!(removed.contains(&1) && removed.contains(&8), "{removed:?}");
}

/// A JSONL file of good rows with one bad row of each kind spliced in; returns the input
/// lines and the row numbers of the bad ones.
fn mixed_jsonl(path: &Path) -> (Vec<Vec<u8>>, Vec<u64>) {
    let bad: [&[u8]; 5] = [
        b"{\"text\": oops}",
        b"{\"body\":\"no text column\"}",
        b"{\"text\":null}",
        b"{\"text\":\"caf\xe9 au lait\"}",
        b"[\"an\",\"array\"]",
    ];
    let mut lines: Vec<Vec<u8>> = good_rows()
        .into_iter()
        .map(|l| l.trim_end().as_bytes().to_vec())
        .collect();
    let mut bad_rows = Vec::new();
    for (k, b) in bad.iter().enumerate() {
        let at = 1 + 3 * k;
        lines.insert(at, b.to_vec());
        bad_rows.push(at as u64);
    }
    write_lines(path, &lines);
    (lines, bad_rows)
}

/// Checks that `out` holds every input row exactly once: kept rows (in order, as
/// `kept_line` gives their text), removed rows and skipped rows, and that the summary's
/// counts and checksums agree with the files.
fn assert_every_row_once(out: &Path, input_rows: &[Vec<u8>], kept_file: &str, bad: &[u64]) {
    let s = summary(out);
    let rows = &s["rows"];
    let n = input_rows.len() as u64;
    let (kept, removed, skipped) = (
        rows["kept"].as_u64().unwrap(),
        rows["removed"].as_u64().unwrap(),
        rows["skipped"].as_u64().unwrap(),
    );
    assert_eq!(rows["input"], n);
    assert_eq!(kept + removed + skipped, n, "{rows}");

    let skipped_lines = read_jsonl(&out.join("skipped.jsonl"));
    let skipped_rows: Vec<u64> = skipped_lines
        .iter()
        .map(|l| l["row"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped_rows, bad);
    for l in &skipped_lines {
        let row = l["row"].as_u64().unwrap() as usize;
        let reason = l["reason"].as_str().unwrap();
        assert!(!reason.is_empty());
        // The raw text is the row as it was, lossily decoded only when it had to be.
        let raw = l["raw"].as_str().unwrap();
        assert_eq!(raw, String::from_utf8_lossy(&input_rows[row]), "row {row}");
        assert_eq!(
            l.get("raw_lossy").is_some(),
            std::str::from_utf8(&input_rows[row]).is_err()
        );
    }

    let removed_lines = read_jsonl(&out.join("removed.jsonl"));
    let mut fate = vec![""; input_rows.len()];
    for r in &removed_lines {
        let row = r["row"].as_u64().unwrap() as usize;
        let of = r["duplicate_of"].as_u64().unwrap() as usize;
        assert_eq!(fate[row], "", "row {row} listed twice");
        fate[row] = "removed";
        if s["against"].is_null() {
            assert!(
                !bad.contains(&(of as u64)),
                "a removed row points to a skipped one"
            );
        }
        let record = serde_json::to_vec(&r["record"]).unwrap();
        let original: Value = serde_json::from_slice(&input_rows[row]).unwrap();
        assert_eq!(record, serde_json::to_vec(&original).unwrap());
    }
    for &b in bad {
        assert_eq!(fate[b as usize], "", "row {b} is skipped and removed");
        fate[b as usize] = "skipped";
    }
    let kept_expected: Vec<u8> = input_rows
        .iter()
        .zip(&fate)
        .filter(|(_, f)| f.is_empty())
        .flat_map(|(l, _)| l.iter().copied().chain([b'\n']))
        .collect();
    assert_eq!(fs::read(out.join(kept_file)).unwrap(), kept_expected);
    assert_eq!(removed_lines.len() as u64, removed);
    assert_eq!(skipped_lines.len() as u64, skipped);
    assert_outputs_verify(out);
}

/// Every file `summary.json` lists has the listed size, SHA-256 and row count, and the
/// directory holds no other output.
fn assert_outputs_verify(out: &Path) {
    let s = summary(out);
    let outputs = s["outputs"].as_object().unwrap();
    let mut listed = vec!["summary.json".to_string()];
    for (role, entry) in outputs {
        let file = entry["file"].as_str().unwrap();
        let bytes = fs::read(out.join(file)).unwrap();
        assert_eq!(entry["bytes"], bytes.len() as u64, "{role}");
        assert_eq!(
            entry["sha256"].as_str().unwrap(),
            format!("{:x}", Sha256::digest(&bytes)),
            "{role}"
        );
        if file.ends_with(".jsonl") {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(entry["rows"], lines, "{role}");
        }
        listed.push(file.to_string());
    }
    let mut present: Vec<String> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    listed.sort();
    assert_eq!(
        present, listed,
        "the directory holds exactly the listed set"
    );
}

#[test]
fn on_error_skip_lists_every_bad_jsonl_row_and_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.jsonl");
    let (lines, bad) = mixed_jsonl(&input);
    let out = dir.path().join("out");
    // By default the first bad row stops the run.
    assert_fails(
        &dedup(&input, &out, &[]),
        &out,
        &["mixed.jsonl:2:10: invalid JSON"],
    );

    let run = dedup(&input, &out, &["--on-error", "skip", "--pairs"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).is_empty(), "--quiet: {}", stderr(&run));
    let s = summary(&out);
    assert_eq!(s["on_error"], "skip");
    assert_eq!(s["rows"]["skipped"], 5);
    assert_eq!(s["rows"]["removed"], 4, "{}", s["rows"]);
    assert_every_row_once(&out, &lines, "kept.jsonl", &bad);
    // Reasons name the file, line and what was wrong.
    let reasons: Vec<String> = read_jsonl(&out.join("skipped.jsonl"))
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect();
    let expect = [
        ":2:10: invalid JSON",
        ":5: column `text` not found",
        ":8: column `text` is null",
        ":11: invalid UTF-8",
        ":14: expected a JSON object",
    ];
    for (reason, want) in reasons.iter().zip(expect) {
        assert!(
            reason.contains("mixed.jsonl") && reason.contains(want),
            "{reason}"
        );
    }
    // Removed rows name file row numbers, skipped rows counted: row 2 (the exact copy of
    // row 0) comes after the bad row 1.
    let first = &read_jsonl(&out.join("removed.jsonl"))[0];
    assert_eq!(
        (first["row"].as_u64(), first["duplicate_of"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(first["exact"], true);
    let pairs = read_jsonl(&out.join("pairs.jsonl"));
    assert!(pairs
        .iter()
        .all(|p| !bad.contains(&p["row"].as_u64().unwrap())
            && !bad.contains(&p["other"].as_u64().unwrap())));
}

#[test]
fn on_error_skip_in_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    // CSV: a record with a field too many, and one with invalid UTF-8.
    let mut csv: Vec<Vec<u8>> = vec![b"id,text".to_vec()];
    let texts = good_rows();
    for (i, l) in texts.iter().enumerate() {
        let v: Value = serde_json::from_str(l).unwrap();
        csv.push(format!("{i},\"{}\"", v["text"].as_str().unwrap()).into_bytes());
    }
    csv.insert(3, b"99,too,many".to_vec());
    csv.insert(6, b"98,caf\xe9".to_vec());
    let input = dir.path().join("mixed.csv");
    let body: Vec<u8> = csv
        .iter()
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    fs::write(&input, &body).unwrap();
    let out = dir.path().join("out");
    let run = dedup(&input, &out, &["--on-error", "skip"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let s = summary(&out);
    assert_eq!(s["rows"]["input"], 14);
    assert_eq!(s["rows"]["skipped"], 2);
    assert_eq!(
        s["rows"]["kept"].as_u64().unwrap() + s["rows"]["removed"].as_u64().unwrap(),
        12
    );
    let skipped = read_jsonl(&out.join("skipped.jsonl"));
    assert_eq!(skipped[0]["row"], 2);
    assert_eq!(skipped[0]["line"], 4);
    assert_eq!(skipped[0]["raw"], "99,too,many");
    assert_eq!(skipped[1]["row"], 5);
    assert_eq!(skipped[1]["raw"], "98,caf\u{fffd}");
    assert_eq!(skipped[1]["raw_lossy"], true);
    let kept = fs::read_to_string(out.join("kept.csv")).unwrap();
    assert!(kept.starts_with("id,text\n0,"));
    assert!(!kept.contains("too,many") && !kept.contains("98,"));
    assert_eq!(
        kept.lines().count() as u64,
        1 + s["rows"]["kept"].as_u64().unwrap()
    );
    assert_outputs_verify(&out);

    // Parquet: a null text is skipped; the row is listed as its object.
    let parquet = dir.path().join("nulls.parquet");
    write_parquet(
        &parquet,
        vec![
            (
                "id",
                Arc::new(Int64Array::from(vec![0, 1, 2, 3])) as ArrayRef,
            ),
            (
                "text",
                Arc::new(StringArray::from(vec![
                    Some("alpha beta"),
                    None,
                    Some("alpha beta"),
                    Some("gamma"),
                ])) as ArrayRef,
            ),
        ],
    );
    let out = dir.path().join("out-parquet");
    let run = dedup(&parquet, &out, &["--on-error", "skip"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let skipped = read_jsonl(&out.join("skipped.jsonl"));
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["row"], 1);
    assert_eq!(skipped[0]["id"], 1);
    assert_eq!(skipped[0]["text"], Value::Null);
    let removed = read_jsonl(&out.join("removed.jsonl"));
    assert_eq!(
        (
            removed[0]["row"].as_u64(),
            removed[0]["duplicate_of"].as_u64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(summary(&out)["rows"]["kept"], 2);
}

#[test]
fn a_file_with_only_bad_rows_is_an_error_even_when_skipping() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    fs::write(&input, "{\"text\":null}\n{oops\n").unwrap();
    let out = dir.path().join("out");
    assert_fails(
        &dedup(&input, &out, &["--on-error", "skip"]),
        &out,
        &["bad.jsonl: file is empty"],
    );
}

#[test]
fn contamination_check_skips_bad_rows_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("test.jsonl");
    let (lines, bad) = mixed_jsonl(&test);
    let train = dir.path().join("train.jsonl");
    fs::write(
        &train,
        format!(
            "{{oops\n{}{}",
            line("Compilers translate source code into machine instructions."),
            line("Interest rates rose for the third time this year.")
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = dedup(
        &test,
        &out,
        &["--against", train.to_str().unwrap(), "--on-error", "skip"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let s = summary(&out);
    assert_eq!(s["rows"]["reference"], 3);
    assert_eq!(s["rows"]["reference_skipped"], 1);
    // duplicate_of is the train file's own row number (its bad row 0 counted).
    let removed = read_jsonl(&out.join("removed.jsonl"));
    let of: Vec<u64> = removed
        .iter()
        .map(|r| r["duplicate_of"].as_u64().unwrap())
        .collect();
    assert!(
        of.contains(&1) && of.contains(&2) && !of.contains(&0),
        "{of:?}"
    );
    // The train file's bad row is not one of the input's: skipped.jsonl lists the input's.
    assert_every_row_once(&out, &lines, "kept.jsonl", &bad);
}

#[test]
fn a_second_run_replaces_the_whole_set_and_never_mixes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.jsonl");
    let (lines, bad) = mixed_jsonl(&input);
    let out = dir.path().join("out");
    let first = dedup(&input, &out, &["--on-error", "skip", "--pairs"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(out.join("pairs.jsonl").exists() && out.join("skipped.jsonl").exists());
    // Leftovers of a killed run, and a file of the user's.
    fs::write(out.join("kept.jsonl.partial"), "half a line").unwrap();
    fs::write(out.join("notes.txt"), "mine").unwrap();

    // A failing run does not touch the finished set.
    let bad_input = dir.path().join("other.jsonl");
    fs::write(&bad_input, "{oops\n").unwrap();
    assert_eq!(dedup(&bad_input, &out, &[]).status.code(), Some(1));
    assert!(out.join("summary.json").exists());

    // A run on clean input without --pairs: the old pairs and skipped files go.
    let clean = dir.path().join("clean.jsonl");
    fs::write(&clean, good_rows().concat()).unwrap();
    let second = dedup(&clean, &out, &[]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!out.join("pairs.jsonl").exists());
    assert!(!out.join("skipped.jsonl").exists());
    assert!(!out.join("kept.jsonl.partial").exists());
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
    fs::remove_file(out.join("notes.txt")).unwrap();
    assert_outputs_verify(&out);
    assert_eq!(summary(&out)["rows"]["input"], 12);

    // And back: the same outputs as the first run, byte for byte.
    let third = dedup(&input, &out, &["--on-error", "skip", "--pairs"]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert_every_row_once(&out, &lines, "kept.jsonl", &bad);

    // A CSV run into the same directory replaces kept.jsonl with kept.csv.
    let csv = dir.path().join("rows.csv");
    fs::write(&csv, "text\nalpha\nbeta\nalpha\n").unwrap();
    let fourth = dedup(&csv, &out, &[]);
    assert!(fourth.status.success(), "{}", stderr(&fourth));
    assert!(out.join("kept.csv").exists() && !out.join("kept.jsonl").exists());
    assert_outputs_verify(&out);
}

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = tempfile::tempdir().unwrap();
    // The input is named like an output and lies in the output directory.
    let input = dir.path().join("removed.jsonl");
    fs::write(&input, good_rows().concat()).unwrap();
    let before = fs::read(&input).unwrap();
    let run = dedup(&input, dir.path(), &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("refusing to overwrite input"),
        "{}",
        stderr(&run)
    );
    assert_eq!(fs::read(&input).unwrap(), before);
    let kept = dir.path().join("kept.jsonl");
    fs::write(&kept, good_rows().concat()).unwrap();
    let run = dedup(&kept, dir.path(), &[]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(fs::read(&kept).unwrap(), before);
    let listing: Vec<PathBuf> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(listing.len(), 2, "nothing else written: {listing:?}");
}

#[test]
fn filter_skips_too_and_accounts_for_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.jsonl");
    let (lines, bad) = mixed_jsonl(&input);
    let out = dir.path().join("out");
    let run = semsift(&[
        "filter",
        input.to_str().unwrap(),
        "--outliers",
        "0.25",
        "--on-error",
        "skip",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let s = summary(&out);
    assert_eq!(s["rows"]["skipped"], 5);
    assert_eq!(s["rows"]["input"], lines.len() as u64);
    let kept = fs::read_to_string(out.join("kept.jsonl"))
        .unwrap()
        .lines()
        .count() as u64;
    let removed = read_jsonl(&out.join("removed.jsonl"));
    assert_eq!(kept + removed.len() as u64 + 5, lines.len() as u64);
    let skipped: Vec<u64> = read_jsonl(&out.join("skipped.jsonl"))
        .iter()
        .map(|l| l["row"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, bad);
    for r in &removed {
        assert!(!bad.contains(&r["row"].as_u64().unwrap()));
    }
    assert_outputs_verify(&out);
}

#[test]
fn on_error_skip_in_json_arrays_and_text_files() {
    let dir = tempfile::tempdir().unwrap();
    let array = dir.path().join("rows.json");
    fs::write(
        &array,
        "[\n  {\"text\": \"alpha beta\"},\n  5,\n  {\"text\": null},\n  {\"text\": \"alpha beta\"}\n]\n",
    )
    .unwrap();
    let out = dir.path().join("out-array");
    let run = dedup(&array, &out, &["--on-error", "skip"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let skipped = read_jsonl(&out.join("skipped.jsonl"));
    let listed: Vec<(u64, u64, &str)> = skipped
        .iter()
        .map(|s| {
            (
                s["row"].as_u64().unwrap(),
                s["line"].as_u64().unwrap(),
                s["raw"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, vec![(1, 3, "5"), (2, 4, "{\"text\": null}")]);
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .contains("element 1 of the JSON array"));
    assert_eq!(
        fs::read_to_string(out.join("kept.json")).unwrap(),
        "[\n{\"text\": \"alpha beta\"}\n]\n"
    );
    let removed = read_jsonl(&out.join("removed.jsonl"));
    assert_eq!(
        (
            removed[0]["row"].as_u64(),
            removed[0]["duplicate_of"].as_u64()
        ),
        (Some(3), Some(0))
    );
    assert_outputs_verify(&out);

    let text = dir.path().join("lines.txt");
    fs::write(&text, b"first line\nbad \xff byte\nfirst line\nlast line\n").unwrap();
    let out = dir.path().join("out-text");
    assert_fails(
        &dedup(&text, &out, &[]),
        &out,
        &["lines.txt:2: invalid UTF-8"],
    );
    let run = dedup(&text, &out, &["--on-error", "skip"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let skipped = read_jsonl(&out.join("skipped.jsonl"));
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (
            skipped[0]["row"].as_u64(),
            skipped[0]["raw_lossy"].as_bool()
        ),
        (Some(1), Some(true))
    );
    assert_eq!(skipped[0]["raw"], "bad \u{fffd} byte");
    assert_eq!(
        fs::read_to_string(out.join("kept.txt")).unwrap(),
        "first line\nlast line\n"
    );
    assert_eq!(read_jsonl(&out.join("removed.jsonl"))[0]["duplicate_of"], 0);
}

#[test]
fn a_memory_limit_spills_to_disk_with_the_same_outputs() {
    // 2,500 variants of one 30-word sentence, two words changed in each: every row is
    // similar to the others, so the search's candidate buffers hold over a million pairs,
    // past the 8 MiB (699,050 triples, spilled at half that) a tiny limit leaves them.
    let words = common::fixture_words();
    let mut rand = common::xorshift(42);
    let base: Vec<usize> = (0..30).map(|_| rand(words.len())).collect();
    let mut body = String::new();
    for _ in 0..2500 {
        let mut w: Vec<&str> = base.iter().map(|&i| words[i].as_str()).collect();
        for _ in 0..2 {
            let k = rand(w.len());
            w[k] = &words[rand(words.len())];
        }
        body.push_str(&line(&w.join(" ")));
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dense.jsonl");
    fs::write(&input, body).unwrap();
    let (free, tight) = (dir.path().join("free"), dir.path().join("tight"));
    let run = dedup(&input, &free, &["--pairs", "--threshold", "0.8"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let run = dedup(
        &input,
        &tight,
        &["--pairs", "--threshold", "0.8", "--memory-limit", "1"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let (a, b) = (summary(&free), summary(&tight));
    assert_eq!(b["memory_limit_mib"], 0);
    assert_eq!(a["index"]["pairs_on_disk"], false);
    assert_eq!(b["index"]["pairs_on_disk"], true, "spilled: {}", b["index"]);
    assert!(
        a["index"]["pairs_found"].as_u64().unwrap() > 1_000_000,
        "dense enough to spill: {}",
        a["index"]
    );
    assert_eq!(
        a["outputs"], b["outputs"],
        "identical files, by their checksums"
    );
    for name in ["kept.jsonl", "removed.jsonl", "pairs.jsonl"] {
        assert_eq!(
            fs::read(free.join(name)).unwrap(),
            fs::read(tight.join(name)).unwrap()
        );
    }
}
