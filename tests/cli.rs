//! The `semsift` binary end to end: `embed` output, and one-line errors with
//! a non-zero exit for bad input.

mod common;

use std::path::Path;

use common::{semsift, stderr};
use std::process::Command;

use semsift::embed::{self, cosine, Encoder};
use semsift::store::npy;

/// Runs `embed` on `input` and asserts a one-line error containing every `needle`.
fn assert_embed_error(input: &Path, extra: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.npy");
    let mut args = vec![
        "embed",
        input.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = semsift(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "exit code for {input:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "error {err:?} should mention {n:?}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out_path.exists(), "no output file after a failed run");
}

#[test]
fn embed_writes_rows_in_input_order_matching_the_library() {
    let input = common::root().join("tests/data/example.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("v.npy");
    let out = semsift(&[
        "embed",
        input.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (rows, dim, data) = npy::read_f32(&out_path).unwrap();
    let texts = common::jsonl_texts(&input);
    assert_eq!((rows, dim), (texts.len(), 256));
    let model = embed::bundled::default_model().unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let want = model.encode(&refs).unwrap();
    assert_eq!(data, want, "CLI output equals library output, row for row");
    // Rows 0 and 56 are the same text; rows 0 and 1 are paraphrases.
    assert_eq!(texts[0], texts[56]);
    assert!(cosine(&data[..256], &data[56 * 256..57 * 256]) > 0.9999);
    assert!(
        cosine(&data[..256], &data[256..512]) > cosine(&data[..256], &data[52 * 256..53 * 256])
    );
}

#[test]
fn several_columns_are_concatenated() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("two.csv");
    std::fs::write(&input, "q,a\nWhat is 2+2?,Four\n\"Name a color\",Blue\n").unwrap();
    let out_path = dir.path().join("v.npy");
    let out = semsift(&[
        "embed",
        input.to_str().unwrap(),
        "-c",
        "q",
        "-c",
        "a",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (rows, dim, data) = npy::read_f32(&out_path).unwrap();
    assert_eq!((rows, dim), (2, 512));
    let model = embed::bundled::default_model().unwrap();
    let a = model.encode(&["Four"]).unwrap();
    assert_eq!(&data[256..512], &a[..]);
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    assert_embed_error(&p("nope.jsonl"), &[], &["nope.jsonl"]);

    std::fs::write(
        p("bad.jsonl"),
        "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": oops}\n",
    )
    .unwrap();
    assert_embed_error(&p("bad.jsonl"), &[], &["bad.jsonl:3:", "invalid JSON"]);

    std::fs::write(p("col.jsonl"), "{\"text\": \"ok\"}\n{\"body\": \"x\"}\n").unwrap();
    assert_embed_error(&p("col.jsonl"), &[], &["col.jsonl:2", "`text`"]);

    std::fs::write(p("hdr.csv"), "a,b\n1,2\n").unwrap();
    assert_embed_error(
        &p("hdr.csv"),
        &["--column", "prompt"],
        &["hdr.csv", "`prompt`", "a, b"],
    );

    let mut bytes = b"first line\nsecond line\n".to_vec();
    bytes.extend_from_slice(b"bad \xff\xfe here\n");
    std::fs::write(p("utf.txt"), bytes).unwrap();
    assert_embed_error(&p("utf.txt"), &[], &["utf.txt:3", "UTF-8"]);

    std::fs::write(p("empty.jsonl"), "").unwrap();
    assert_embed_error(&p("empty.jsonl"), &[], &["empty.jsonl", "empty"]);

    std::fs::write(p("what.xyz"), "text\n").unwrap();
    assert_embed_error(&p("what.xyz"), &[], &["what.xyz", "--format"]);
}

#[test]
fn missing_model_and_cuda_are_reported() {
    let input = common::root().join("tests/data/example.jsonl");
    let dir = tempfile::tempdir().unwrap();
    assert_embed_error(
        &input,
        &["--model", dir.path().join("none").to_str().unwrap()],
        &["none", "does not exist"],
    );
    #[cfg(not(feature = "cuda"))]
    assert_embed_error(
        &input,
        &[
            "--model",
            common::minilm_dir().to_str().unwrap(),
            "--device",
            "cuda",
        ],
        &["without CUDA"],
    );
}

#[test]
fn refuses_to_overwrite_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "hello\n").unwrap();
    let out = semsift(&[
        "embed",
        input.to_str().unwrap(),
        "--format",
        "text",
        "-o",
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("overwrite"));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "hello\n");
}

#[test]
fn usage_errors_exit_2_and_help_documents_flags() {
    let out = semsift(&["embed"]);
    assert_eq!(out.status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_semsift"))
        .args(["embed", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--column",
        "--model",
        "--device",
        "--batch-size",
        "--output",
        "--format",
    ] {
        assert!(text.contains(flag), "embed --help documents {flag}");
    }
}
