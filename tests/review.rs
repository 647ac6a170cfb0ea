//! `semsift dedup --review` through the real binary: the data in `review.html` agrees
//! with the run's own `removed.jsonl` and `summary.json` and with separate runs at other
//! thresholds, with and without a reference; hostile texts stay text; the page loads
//! nothing and runs only its own script; it belongs to the output set like the others.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use common::{read_jsonl, semsift_on, stderr, write_corpus};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const DATA_OPEN: &str = "<script type=\"application/json\" id=\"review-data\">";

/// Texts that would run or inject markup if they reached the page as markup.
const HOSTILE: [&str; 3] = [
    "</script><script>document.body.dataset.pwned = \"1\"</script> the river flooded the valley",
    "<img src=x onerror=\"document.body.dataset.pwned=1\"> \"double\" 'single' & more \u{2028}line",
    "<!-- <script> --> compilers translate source code into machine instructions",
];

/// A run's outputs.
struct Run {
    dir: PathBuf,
    summary: Value,
    removed: Vec<Value>,
}

impl Run {
    fn html(&self) -> String {
        fs::read_to_string(self.dir.join("review.html")).unwrap()
    }

    /// The removed rows as `(row, duplicate_of, score, exact)`, lowest score first (ties:
    /// the earlier row), at most `cap`.
    fn lowest(&self, cap: usize) -> Vec<(u64, u64, f64, bool)> {
        let mut rows: Vec<_> = self.removed.iter().map(entry).collect();
        rows.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        rows.truncate(cap);
        rows
    }

    fn removed_rows(&self) -> BTreeSet<u64> {
        self.removed
            .iter()
            .map(|v| v["row"].as_u64().unwrap())
            .collect()
    }
}

/// A text as the page quotes it: its first 500 characters, then `…` when it is longer.
fn cut(text: &str) -> String {
    match text.char_indices().nth(500) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `(row, duplicate_of, score, exact)` of a removed.jsonl line or a listed row.
fn entry(v: &Value) -> (u64, u64, f64, bool) {
    (
        v["row"].as_u64().unwrap(),
        v["duplicate_of"].as_u64().unwrap(),
        v["score"].as_f64().unwrap(),
        v["exact"].as_bool().unwrap(),
    )
}

fn dedup(input: &Path, out: &Path, extra: &[&str]) -> Run {
    let done = semsift_on("dedup", input, out, extra);
    assert!(done.status.success(), "{extra:?}: {}", stderr(&done));
    let summary = serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    Run {
        dir: out.to_path_buf(),
        summary,
        removed: read_jsonl(&out.join("removed.jsonl")),
    }
}

/// The JSON data block of a review page.
fn review_data(html: &str) -> Value {
    let start = html.find(DATA_OPEN).expect("a data block") + DATA_OPEN.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// The point of the slider at threshold `t`.
fn point(data: &Value, t: f64) -> &Value {
    data["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["threshold"].as_f64() == Some(t))
        .unwrap_or_else(|| panic!("no point at {t}"))
}

fn listed(p: &Value) -> Vec<(u64, u64, f64, bool)> {
    p["removed_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(entry)
        .collect()
}

/// The counts a point shares with a summary's `rows`.
fn counts(p: &Value) -> (u64, u64, u64) {
    let n = |k: &str| p[k].as_u64().unwrap();
    (n("kept"), n("removed"), n("exact_removed"))
}

fn summary_counts(s: &Value) -> (u64, u64, u64) {
    let n = |k: &str| s["rows"][k].as_u64().unwrap();
    (n("kept"), n("removed"), n("exact_removed"))
}

/// The corpus with the hostile rows appended (each twice, and once with a suffix):
/// its path and every row's text, by row number.
fn corpus(dir: &Path, name: &str, copies: usize, seed: u64) -> (PathBuf, Vec<String>) {
    let path = dir.join(name);
    let rows = write_corpus(&path, copies, seed);
    let mut texts: Vec<String> = rows
        .iter()
        .map(|r| r["text"].as_str().unwrap().into())
        .collect();
    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    for h in HOSTILE {
        for text in [h.to_string(), h.to_string(), format!("{h} again")] {
            writeln!(file, "{}", json!({"id": texts.len(), "text": text})).unwrap();
            texts.push(text);
        }
    }
    (path, texts)
}

#[test]
fn the_review_agrees_with_the_run_and_with_runs_at_other_thresholds() {
    let tmp = tempfile::tempdir().unwrap();
    // A file name that would be markup if it were not escaped.
    let (input, texts) = corpus(tmp.path(), "corpus-<b>&'x.jsonl", 3, 7);
    let exact = ["--index", "exact"];
    let main = dedup(
        &input,
        &tmp.path().join("review"),
        &["--review", "--sweep", "0.8", "--index", "exact"],
    );
    let html = main.html();
    let data = review_data(&html);

    // The slider: 0.80 (the sweep and the search floor) to 1.00 in hundredths.
    let thresholds: Vec<f64> = data["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["threshold"].as_f64().unwrap())
        .collect();
    let grid: Vec<f64> = (80..=100).map(|k| k as f64 / 100.0).collect();
    assert_eq!(thresholds, grid);
    assert_eq!(data["threshold"], json!(0.9));
    assert_eq!(data["floor"], json!(0.8));
    assert_eq!(data["cap"], json!(1000));
    assert_eq!(data["input"], json!(input.display().to_string()));
    assert_eq!(data["rows"].as_u64().unwrap() as usize, texts.len());

    // At the applied threshold: the run's own counts and removed rows.
    let applied = point(&data, 0.9);
    assert_eq!(applied["applied"], json!(true));
    assert_eq!(counts(applied), summary_counts(&main.summary));
    assert!(main.removed.len() > 100, "{} removed", main.removed.len());
    assert_eq!(listed(applied), main.lowest(1000));
    assert!(applied["removed_rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["new"] == json!(false)));

    // At the sweep's threshold: summary.json's sweep.
    let sweep = main.summary["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 1);
    for s in sweep {
        let p = point(&data, s["threshold"].as_f64().unwrap());
        assert_eq!(p["sweep"], json!(true));
        assert_eq!((&p["kept"], &p["removed"]), (&s["kept"], &s["removed"]));
    }

    // At grid thresholds: what a run at that threshold decides, rows marked where the
    // applied threshold decides the other way.
    let applied_rows = main.removed_rows();
    for (t, name) in [(0.85, "t85"), (0.95, "t95")] {
        let ts = t.to_string();
        let mut args = vec!["--threshold", ts.as_str()];
        args.extend(exact);
        let other = dedup(&input, &tmp.path().join(name), &args);
        let p = point(&data, t);
        assert_eq!(counts(p), summary_counts(&other.summary), "{t}");
        assert_eq!(listed(p), other.lowest(1000), "{t}");
        let rows = other.removed_rows();
        let new: BTreeSet<u64> = p["removed_rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["new"] == json!(true))
            .map(|r| r["row"].as_u64().unwrap())
            .collect();
        let want_new: BTreeSet<u64> = rows.difference(&applied_rows).copied().collect();
        assert_eq!(new, want_new, "{t}");
        assert_eq!(p["new"].as_u64().unwrap() as usize, want_new.len());
        let restored: BTreeSet<u64> = p["restored_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect();
        let want_restored: BTreeSet<u64> = applied_rows.difference(&rows).copied().collect();
        assert_eq!(restored, want_restored, "{t}");
        assert_eq!(
            p["restored"].as_u64().unwrap() as usize,
            want_restored.len()
        );
    }
    assert!(
        point(&data, 0.85)["new"].as_u64().unwrap() > 0,
        "0.85 removes more"
    );
    assert!(
        point(&data, 0.95)["restored"].as_u64().unwrap() > 0,
        "0.95 keeps more"
    );

    // Every listed row and its match is quoted once, by its row number.
    let quoted: BTreeMap<u64, String> = data["texts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.as_str().unwrap().to_string()))
        .collect();
    let mut rows_listed = BTreeSet::new();
    for p in data["points"].as_array().unwrap() {
        for r in p["removed_rows"]
            .as_array()
            .unwrap()
            .iter()
            .chain(p["restored_rows"].as_array().unwrap())
        {
            let (row, dup, _, _) = entry(r);
            rows_listed.insert(row);
            for row in [row, dup] {
                assert_eq!(quoted[&row], cut(&texts[row as usize]), "row {row}");
            }
        }
    }
    assert!(
        quoted.values().any(|t| t.ends_with('…')),
        "long texts are cut"
    );
    assert_eq!(data["reference_texts"], json!({}));
    assert_eq!(data["reference"], json!(false));

    // summary.json lists the page with the other outputs.
    let listing = &main.summary["outputs"]["review"];
    assert_eq!(listing["file"], "review.html");
    assert_eq!(
        listing["rows"].as_u64().unwrap() as usize,
        rows_listed.len()
    );
    let sha = format!("{:x}", Sha256::digest(html.as_bytes()));
    assert_eq!(listing["sha256"], json!(sha));
    assert_eq!(listing["bytes"], json!(html.len()));

    // The hostile texts are in the data as they were, and nowhere as markup.
    for h in HOSTILE {
        assert!(quoted.values().any(|t| t == h), "{h} quoted");
    }
    check_page(&html);
    assert!(html.contains("corpus-&lt;b&gt;&amp;&#39;x.jsonl"));
    assert!(!html.contains("corpus-<b>"));
}

/// The page holds two scripts, its data and its code; the code is the one the CSP
/// allows by hash, writes no markup and loads nothing; no text from the data is markup.
fn check_page(html: &str) {
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    for raw in [
        "<img",
        "<!-- <script>",
        "</script><script>document",
        "\u{2028}",
        "\u{2029}",
    ] {
        assert!(!html.contains(raw), "{raw:?} in the page");
    }
    let start = html.rfind("<script>").unwrap() + "<script>".len();
    let end = start + html[start..].find("</script>").unwrap();
    let script = &html[start..end];
    let hash = BASE64_STANDARD.encode(Sha256::digest(script.as_bytes()));
    let csp = html
        .split("Content-Security-Policy\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}';")),
        "{csp}"
    );
    for banned in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "eval(",
        "document.write",
    ] {
        assert!(!script.contains(banned), "{banned} in the script");
    }
    for id in [
        "id=\"threshold\"",
        "id=\"review-counts\"",
        "id=\"review-table\"",
        "id=\"review-filter\"",
        "id=\"review-chart\"",
    ] {
        assert!(html.contains(id), "{id}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(
        !html.contains("src=\"") && !html.contains("href=\""),
        "nothing loaded or linked"
    );
}

#[test]
fn the_cap_lists_the_lowest_scores_and_the_page_leaves_the_set_with_its_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, _) = corpus(tmp.path(), "corpus.jsonl", 3, 11);
    let out = tmp.path().join("out");
    // The default index, its pairs kept for the review.
    let run = dedup(
        &input,
        &out,
        &["--review", "--review-rows", "25", "--sweep", "0.85,0.95"],
    );
    let data = review_data(&run.html());
    assert_eq!(data["cap"], json!(25));
    assert_eq!(listed(point(&data, 0.9)), run.lowest(25));
    assert_eq!(counts(point(&data, 0.9)), summary_counts(&run.summary));
    for s in run.summary["sweep"].as_array().unwrap() {
        let p = point(&data, s["threshold"].as_f64().unwrap());
        assert_eq!((&p["kept"], &p["removed"]), (&s["kept"], &s["removed"]));
    }
    for p in data["points"].as_array().unwrap() {
        let n = p["removed_rows"].as_array().unwrap().len() as u64;
        assert_eq!(n, p["removed"].as_u64().unwrap().min(25));
        let scores: Vec<f64> = listed(p).iter().map(|r| r.2).collect();
        assert!(scores.windows(2).all(|w| w[0] <= w[1]), "lowest first");
    }
    assert!(point(&data, 0.85)["removed"].as_u64().unwrap() > 25);
    assert_eq!(run.summary["outputs"]["review"]["file"], "review.html");

    // A run without --review into the same directory removes the earlier page.
    let again = dedup(&input, &out, &[]);
    assert!(!out.join("review.html").exists());
    assert!(again.summary["outputs"].get("review").is_none());

    // --review-rows means nothing without --review.
    let done = semsift_on("dedup", &input, &out, &["--review-rows", "5"]);
    assert!(!done.status.success());
    assert!(stderr(&done).contains("--review"), "{}", stderr(&done));
}

#[test]
fn against_a_reference_the_review_quotes_the_reference_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, texts) = corpus(tmp.path(), "eval.jsonl", 1, 5);
    let (reference, ref_texts) = corpus(tmp.path(), "train.jsonl", 1, 9);
    let ref_arg = reference.to_str().unwrap();
    let run = dedup(
        &input,
        &tmp.path().join("leaks"),
        &[
            "--against",
            ref_arg,
            "--review",
            "--sweep",
            "0.85",
            "--index",
            "exact",
        ],
    );
    let html = run.html();
    let data = review_data(&html);
    assert_eq!(data["against"], json!(reference.display().to_string()));
    assert_eq!(data["reference"], json!(true));
    let applied = point(&data, 0.9);
    assert_eq!(counts(applied), summary_counts(&run.summary));
    assert!(run.removed.len() > 50, "{} removed", run.removed.len());
    assert_eq!(listed(applied), run.lowest(1000));
    for s in run.summary["sweep"].as_array().unwrap() {
        let p = point(&data, s["threshold"].as_f64().unwrap());
        assert_eq!((&p["kept"], &p["removed"]), (&s["kept"], &s["removed"]));
    }
    // Another threshold, decided again from the reference matches, as a run there.
    let other = dedup(
        &input,
        &tmp.path().join("t95"),
        &[
            "--against",
            ref_arg,
            "--threshold",
            "0.95",
            "--index",
            "exact",
        ],
    );
    let p = point(&data, 0.95);
    assert_eq!(counts(p), summary_counts(&other.summary));
    assert_eq!(listed(p), other.lowest(1000));
    // Removed rows are quoted from the input, their matches from the reference.
    for p in data["points"].as_array().unwrap() {
        for r in p["removed_rows"].as_array().unwrap() {
            let (row, dup, _, _) = entry(r);
            assert_eq!(
                data["texts"][row.to_string()],
                json!(cut(&texts[row as usize]))
            );
            assert_eq!(
                data["reference_texts"][dup.to_string()],
                json!(cut(&ref_texts[dup as usize]))
            );
        }
    }
    check_page(&html);
    assert!(html.contains("Reference row it matches"));
}

/// The page in headless Chromium: the slider steps through the thresholds with the
/// keyboard and the counts, the listed rows and their marks follow the data; the
/// filter keeps the rows whose texts hold it; hostile texts stay text.
#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn the_review_page_follows_the_slider_and_the_filter_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, _) = corpus(tmp.path(), "corpus.jsonl", 3, 11);
    let run = dedup(
        &input,
        &tmp.path().join("out"),
        &["--review", "--sweep", "0.8", "--index", "exact"],
    );
    let page = run.dir.join("review.html");
    let data = review_data(&run.html());
    let points = data["points"].as_array().unwrap();
    let applied = points.iter().position(|p| p["applied"] == true).unwrap();
    assert!(
        applied > 0,
        "the sweep puts thresholds below the applied one"
    );
    let mut b = common::cdp::Browser::open(&page, tmp.path(), 1280, 900);
    b.wait_for("document.body.dataset.ready === '1'", common::cdp::TIMEOUT);
    let text = |b: &mut common::cdp::Browser, sel: &str| -> String {
        b.eval(&format!("document.querySelector('{sel}').textContent"))
            .as_str()
            .unwrap()
            .to_string()
    };
    let rows = |b: &mut common::cdp::Browser| -> Vec<(u64, bool)> {
        let v = b.eval(
            "Array.from(document.querySelectorAll('#review-table tbody tr[data-row]'))\
             .filter(r => !r.hidden && r.style.display !== 'none')\
             .map(r => [Number(r.dataset.row), r.classList.contains('new')])",
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_u64().unwrap(), r[1].as_bool().unwrap()))
            .collect()
    };
    let int = |n: u64| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    // At the applied threshold: its counts, and exactly its listed rows, none new.
    let check = |b: &mut common::cdp::Browser, p: &Value| {
        let counts = text(b, "#review-counts");
        for key in ["kept", "removed"] {
            let n = int(p[key].as_u64().unwrap());
            assert!(counts.contains(&format!("{n} {key}")), "{counts:?} vs {p}");
        }
        let shown = rows(b);
        let listed: BTreeSet<u64> = listed(p).iter().map(|r| r.0).collect();
        let removed_shown: BTreeSet<u64> = shown
            .iter()
            .map(|r| r.0)
            .filter(|r| listed.contains(r))
            .collect();
        assert_eq!(removed_shown, listed, "at {}", p["threshold"]);
        shown
    };
    let at_applied = check(&mut b, &points[applied]);
    assert!(
        at_applied.iter().all(|r| !r.1),
        "nothing is new at the applied threshold"
    );
    // One step down with the keyboard: a lower threshold removes more rows, the extra
    // ones marked new.
    let (x, y) = b.center_of("#threshold");
    b.click(x, y);
    b.key("ArrowLeft");
    b.frames(2);
    let lower = &points[applied - 1];
    let shown = check(&mut b, lower);
    let new_shown = shown.iter().filter(|r| r.1).count() as u64;
    assert_eq!(
        new_shown,
        lower["new"].as_u64().unwrap().min(shown.len() as u64)
    );
    assert!(
        lower["removed"].as_u64() >= points[applied]["removed"].as_u64(),
        "a lower threshold removes at least as many rows"
    );
    // The filter keeps the rows whose text (or their match's) holds it.
    let (x, y) = b.center_of("#review-filter");
    b.click(x, y);
    b.type_text("FLOODED THE VALLEY");
    b.frames(2);
    let filtered = rows(&mut b);
    let texts = data["texts"].as_object().unwrap();
    let holds = |row: u64| {
        texts
            .get(&row.to_string())
            .and_then(Value::as_str)
            .is_some_and(|t| t.to_lowercase().contains("flooded the valley"))
    };
    assert!(
        !filtered.is_empty(),
        "the hostile rows are duplicates of each other"
    );
    for (row, _) in &filtered {
        let p = lower["removed_rows"]
            .as_array()
            .unwrap()
            .iter()
            .chain(lower["restored_rows"].as_array().unwrap())
            .find(|r| r["row"].as_u64() == Some(*row))
            .unwrap();
        assert!(
            holds(*row) || holds(p["duplicate_of"].as_u64().unwrap()),
            "row {row} does not hold the filter"
        );
    }
    // Hostile texts were written as text.
    assert!(
        b.eval("document.querySelector('[data-pwned]') === null && document.body.dataset.pwned === undefined")
            .as_bool()
            .unwrap()
    );
    let table_text = text(&mut b, "#review-table");
    assert!(
        table_text.contains("</script><script>"),
        "the hostile text is shown as text"
    );
    assert!(b.exceptions().is_empty(), "{:?}", b.exceptions());
    assert!(
        b.eval("document.body.dataset.errors === undefined")
            .as_bool()
            .unwrap(),
        "script errors"
    );
}
