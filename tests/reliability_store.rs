//! Store integrity through the command line: a truncated, corrupted, foreign or
//! newer-version vector file under `--store` is never read as vectors. The run either
//! rebuilds it (warning about the file and what is wrong with it, then writing outputs
//! identical to a clean run's) or fails with exit code 1 and a message naming the file
//! and what is wrong. An interrupted `.partial` file resumes from its last checkpoint.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{stderr, write_corpus};
use semsift::store::{VectorFile, VectorWriter, HEADER_LEN};
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64;

/// Runs semsift without `--quiet`, so warnings reach stderr.
fn semsift_loud(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_semsift"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run semsift")
}

/// A summary's `embedding.input` (or `run.embedding.input`, should it move there).
fn embedding_input(summary: &Value) -> &Value {
    let e = &summary["embedding"]["input"];
    if e.is_null() {
        &summary["run"]["embedding"]["input"]
    } else {
        e
    }
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// The data outputs of a dedup run, byte for byte, and its stable summary.
fn outputs(dir: &Path) -> (Vec<Vec<u8>>, Value) {
    let files = ["kept.jsonl", "removed.jsonl", "pairs.jsonl"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    (files, common::stable_summary(summary(dir)))
}

struct Setup {
    _tmp: tempfile::TempDir,
    input: PathBuf,
    store: PathBuf,
    root: PathBuf,
}

impl Setup {
    fn new(copies: usize) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let input = root.join("corpus.jsonl");
        write_corpus(&input, copies, 3);
        Setup {
            input,
            store: root.join("store"),
            root,
            _tmp: tmp,
        }
    }

    /// `semsift dedup` of the corpus through the store, into `<root>/<out>`.
    fn dedup(&self, out: &str, dtype: &str) -> (Output, PathBuf) {
        let dir = self.root.join(out);
        let o = semsift_loud(&[
            "dedup",
            self.input.to_str().unwrap(),
            "--store",
            self.store.to_str().unwrap(),
            "--store-dtype",
            dtype,
            "--index",
            "exact",
            "--pairs",
            "-o",
            dir.to_str().unwrap(),
        ]);
        (o, dir)
    }

    /// The store's files (and nothing else is there).
    fn files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.store)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    /// The one finished vector file in the store.
    fn vector_file(&self) -> PathBuf {
        let files = self.files();
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].to_str().unwrap().ends_with(".svec"), "{files:?}");
        files[0].clone()
    }
}

fn flip(bytes: &mut [u8], at: usize) {
    bytes[at] ^= 0x5a;
}

/// The header's checksum over bytes `0..4088`, recomputed so a changed field is what is
/// checked, not the checksum (the layout is in `src/store/mod.rs`).
fn reseal(bytes: &mut [u8]) {
    let sum = xxh3_64(&bytes[..HEADER_LEN - 8]);
    bytes[HEADER_LEN - 8..HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
}

/// Ways to damage a finished vector file, each with the words the warning or error
/// must contain besides the file's path.
#[allow(clippy::type_complexity)]
fn damages() -> Vec<(
    &'static str,
    Box<dyn Fn(&mut Vec<u8>)>,
    &'static [&'static str],
)> {
    vec![
        (
            "truncated in the data",
            Box::new(|b| b.truncate(b.len() - 100)),
            &["truncated"],
        ),
        (
            "truncated in the header",
            Box::new(|b| b.truncate(1000)),
            &["truncated"],
        ),
        (
            "longer than its header says",
            Box::new(|b| b.extend_from_slice(&[0u8; 1024])),
            &["header says"],
        ),
        (
            "a byte flipped in the data",
            Box::new(|b| {
                let at = HEADER_LEN + (b.len() - HEADER_LEN) / 2;
                flip(b, at)
            }),
            &["data checksum mismatch"],
        ),
        (
            "a byte flipped in the last row",
            Box::new(|b| {
                let at = b.len() - 1;
                flip(b, at)
            }),
            &["data checksum mismatch"],
        ),
        (
            "a byte flipped in the row count",
            Box::new(|b| flip(b, 24)),
            &["header checksum mismatch"],
        ),
        (
            "a byte flipped in the header padding",
            Box::new(|b| flip(b, 3000)),
            &["header checksum mismatch"],
        ),
        (
            "row count changed, header resealed",
            Box::new(|b| {
                let rows = u64::from_le_bytes(b[24..32].try_into().unwrap());
                b[24..32].copy_from_slice(&(rows - 1).to_le_bytes());
                reseal(b)
            }),
            &["header says"],
        ),
        (
            "marked incomplete, header resealed",
            Box::new(|b| {
                b[20] = 0;
                reseal(b)
            }),
            &["incomplete"],
        ),
        (
            "bad magic",
            Box::new(|b| b[0] = b'X'),
            &["not a semsift vector file"],
        ),
        (
            "all zeros",
            Box::new(|b| b.iter_mut().for_each(|x| *x = 0)),
            &["not a semsift vector file"],
        ),
        (
            "garbage",
            Box::new(|b| {
                let mut s = 0x9E37_79B9_7F4A_7C15u64;
                for x in b.iter_mut() {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    *x = s as u8;
                }
            }),
            &["not a semsift vector file"],
        ),
        ("empty", Box::new(|b| b.clear()), &["not a semsift"]),
    ]
}

/// A run after damage either rebuilt the file (same outputs as the clean run, nothing
/// reused, a warning naming the file and the problem) or refused (exit code 1, an error
/// naming the file and the problem). Returns whether it rebuilt.
fn rebuilt_or_refused(
    what: &str,
    o: &Output,
    dir: &Path,
    file: &Path,
    words: &[&str],
    clean: &(Vec<Vec<u8>>, Value),
    embedded: &Value,
) -> bool {
    let err = stderr(o);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(name),
        "{what}: stderr does not name {name}: {err}"
    );
    for w in words {
        assert!(err.contains(w), "{what}: stderr does not say {w:?}: {err}");
    }
    let outcome = if o.status.success() {
        "rebuilt"
    } else {
        "refused"
    };
    eprintln!("{what}: {outcome}: {}", err.trim_end());
    if o.status.success() {
        assert!(
            &outputs(dir) == clean,
            "{what}: outputs differ from the clean run"
        );
        let e = embedding_input(&summary(dir)).clone();
        assert_eq!(e["reused"], 0, "{what}: vectors were reused: {e}");
        assert_eq!(&e["embedded"], embedded, "{what}: {e}");
        // The summary says why, as the warning did, even under --quiet.
        let why = e["discarded"].as_str().unwrap_or_default();
        assert!(why.contains(name), "{what}: discarded names no file: {e}");
        for w in words {
            assert!(why.contains(w), "{what}: discarded does not say {w:?}: {e}");
        }
        // The rebuilt file is valid, and the next run reuses it.
        VectorFile::open(file).unwrap_or_else(|e| panic!("{what}: rebuilt file: {e}"));
        true
    } else {
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert!(
            !dir.join("kept.jsonl").exists(),
            "{what}: a refused run wrote outputs"
        );
        false
    }
}

fn damaged_store_files_are_rebuilt_or_refused(dtype: &str) {
    let s = Setup::new(4);
    let (o, first) = s.dedup("clean", dtype);
    assert!(o.status.success(), "{}", stderr(&o));
    let clean = outputs(&first);
    let e = embedding_input(&summary(&first)).clone();
    let embedded = e["embedded"].clone();
    assert!(embedded.as_u64().unwrap() > 500, "{e}");
    assert_eq!(e["reused"], 0, "{e}");
    let file = s.vector_file();
    assert_eq!(e["store_file"], file.to_str().unwrap(), "{e}");
    let good = std::fs::read(&file).unwrap();

    // Sanity: an intact file is reused, with the same outputs.
    let (o, dir) = s.dedup("again", dtype);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(outputs(&dir), clean);
    let e = embedding_input(&summary(&dir)).clone();
    assert_eq!(
        (&e["embedded"], &e["reused"]),
        (&0.into(), &embedded),
        "{e}"
    );

    for (i, (what, damage, words)) in damages().into_iter().enumerate() {
        let mut bytes = good.clone();
        damage(&mut bytes);
        std::fs::write(&file, &bytes).unwrap();
        let (o, dir) = s.dedup(&format!("damaged-{i}"), dtype);
        if rebuilt_or_refused(what, &o, &dir, &file, words, &clean, &embedded) {
            assert_eq!(std::fs::read(&file).unwrap(), good, "{what}: rebuilt file");
        }
        assert!(
            s.files().iter().all(|f| f.extension().unwrap() == "svec"),
            "{what}: left {:?}",
            s.files()
        );
        std::fs::write(&file, &good).unwrap();
    }
}

#[test]
fn damaged_f32_store_files_are_rebuilt_or_refused() {
    damaged_store_files_are_rebuilt_or_refused("f32");
}

#[test]
fn damaged_f16_store_files_are_rebuilt_or_refused() {
    damaged_store_files_are_rebuilt_or_refused("f16");
}

#[test]
fn a_store_file_of_a_newer_format_version_is_never_read() {
    let s = Setup::new(2);
    let (o, first) = s.dedup("clean", "f32");
    assert!(o.status.success(), "{}", stderr(&o));
    let clean = outputs(&first);
    let embedded = embedding_input(&summary(&first))["embedded"].clone();
    let file = s.vector_file();
    let mut bytes = std::fs::read(&file).unwrap();
    // Version 2 with a valid header checksum: the version check is what must fire.
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    reseal(&mut bytes);
    std::fs::write(&file, &bytes).unwrap();
    let (o, dir) = s.dedup("newer", "f32");
    // Refused, and left alone: a newer semsift's file is not this build's to replace.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    rebuilt_or_refused(
        "format version 2",
        &o,
        &dir,
        &file,
        &["newer semsift", "format version 2"],
        &clean,
        &embedded,
    );
}

#[test]
fn an_interrupted_store_file_resumes_from_its_last_checkpoint() {
    let s = Setup::new(4);
    let (o, first) = s.dedup("clean", "f32");
    assert!(o.status.success(), "{}", stderr(&o));
    let clean = outputs(&first);
    let embedded = embedding_input(&summary(&first))["embedded"]
        .as_u64()
        .unwrap();
    let file = s.vector_file();

    // Recreate what an interrupted run leaves: a `.partial` file written by the store's
    // own writer up to a checkpoint, with a torn tail after it.
    let done = VectorFile::open(&file).unwrap();
    let (dim, rows) = (done.dim(), done.rows());
    let at = rows / 3;
    let data = done.to_f32_vec();
    let mut w = VectorWriter::create(
        &file,
        dim,
        done.dtype(),
        done.content_key(),
        done.fingerprint(),
    )
    .unwrap();
    drop(done);
    std::fs::remove_file(&file).unwrap();
    w.append(&data[..at * dim]).unwrap();
    w.checkpoint().unwrap();
    w.append(&data[at * dim..(at + 5) * dim]).unwrap();
    let partial = w.partial_path().to_path_buf();
    drop(w);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&partial)
        .unwrap();
    std::io::Write::write_all(&mut f, &[0xAB; 1000]).unwrap();
    drop(f);
    assert!(std::fs::metadata(&partial).unwrap().len() > (HEADER_LEN + at * dim * 4) as u64);

    let (o, dir) = s.dedup("resumed", "f32");
    assert!(o.status.success(), "{}", stderr(&o));
    let e = embedding_input(&summary(&dir)).clone();
    assert_eq!(e["reused"], at as u64, "{e}");
    assert_eq!(e["embedded"], embedded - at as u64, "{e}");
    assert!(outputs(&dir) == clean, "resumed outputs differ");
    assert_eq!(
        s.files(),
        vec![file.clone()],
        "the partial file was renamed"
    );
    VectorFile::open(&file).unwrap();

    // A damaged partial file is not resumed: embedding starts over, with a warning.
    let (o, _) = s.dedup("clean-again", "f32");
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::rename(&file, &partial).unwrap();
    let mut bytes = std::fs::read(&partial).unwrap();
    bytes[20] = 0; // incomplete, as a writer leaves it
    reseal(&mut bytes);
    let at = HEADER_LEN + 10;
    flip(&mut bytes, at);
    std::fs::write(&partial, &bytes).unwrap();
    let (o, dir) = s.dedup("restarted", "f32");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("cannot resume") && err.contains("data checksum mismatch"),
        "{err}"
    );
    let e = embedding_input(&summary(&dir)).clone();
    assert_eq!(e["reused"], 0, "{e}");
    assert!(outputs(&dir) == clean, "restarted outputs differ");
}
