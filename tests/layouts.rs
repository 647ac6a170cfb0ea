//! Real LLM dataset layouts: chat conversations (OpenAI and ShareGPT), preference pairs
//! and Parquet list<struct> columns, read through field paths and chat presets, on the
//! fixtures in `tests/data/layouts` (made by `scripts/make-layout-fixtures.py`); and, with
//! `--ignored`, on the team's real files in `../shared/data`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{read_jsonl, semsift_on, stderr};
use semsift::dataset::{self, Chat, DatasetError, ReadOptions};
use serde_json::Value;

fn layout(name: &str) -> PathBuf {
    common::root().join("tests/data/layouts").join(name)
}

fn opts(columns: &[&str], chat: Option<Chat>) -> ReadOptions {
    let mut o = ReadOptions::new(columns.iter().copied());
    o.chat = chat;
    o
}

/// Every row's texts, panicking on any error.
fn texts(path: &Path, columns: &[&str], chat: Option<Chat>) -> Vec<Vec<String>> {
    dataset::open(path, &opts(columns, chat))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")).texts)
        .collect()
}

/// One column of every row.
fn column(path: &Path, spec: &str, chat: Option<Chat>) -> Vec<String> {
    texts(path, &[spec], chat)
        .into_iter()
        .map(|mut t| t.remove(0))
        .collect()
}

/// The first error reading `path`.
fn first_error(path: &Path, columns: &[&str], chat: Option<Chat>) -> DatasetError {
    match dataset::open(path, &opts(columns, chat)) {
        Err(e) => e,
        Ok(reader) => reader.filter_map(Result::err).next().expect("an error"),
    }
}

/// What the fixture's conversations hold, computed here from the JSON, independently of
/// the reader: the text of the turns whose role passes `keep`.
fn turns_of(row: &Value, key: &str, keep: &dyn Fn(&str) -> bool) -> Vec<String> {
    row[key]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|turn| {
            let role = turn.get("role").or_else(|| turn.get("from"))?.as_str()?;
            let content = turn.get("content").or_else(|| turn.get("value"))?;
            let text = match content {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p.get("text")?.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => return None,
            };
            keep(role).then_some(text)
        })
        .collect()
}

fn is_user(role: &str) -> bool {
    matches!(role, "user" | "human")
}

fn is_assistant(role: &str) -> bool {
    matches!(role, "assistant" | "gpt")
}

#[test]
fn openai_paths_and_presets_pick_the_right_text() {
    let path = layout("openai.jsonl");
    let rows = read_jsonl(&path);
    let users: Vec<Vec<String>> = rows
        .iter()
        .map(|r| turns_of(r, "messages", &is_user))
        .collect();
    let answers: Vec<Vec<String>> = rows
        .iter()
        .map(|r| turns_of(r, "messages", &is_assistant))
        .collect();
    let joined = |v: &Vec<String>| v.join("\n");

    assert_eq!(
        column(&path, "messages", Some(Chat::User)),
        users.iter().map(joined).collect::<Vec<_>>()
    );
    assert_eq!(
        column(&path, "messages", Some(Chat::FirstUser)),
        users.iter().map(|u| u[0].clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        column(&path, "messages", Some(Chat::Assistant)),
        answers.iter().map(joined).collect::<Vec<_>>()
    );
    assert_eq!(
        column(&path, "messages", Some(Chat::LastAssistant)),
        answers
            .iter()
            .map(|a| a.last().unwrap().clone())
            .collect::<Vec<_>>()
    );
    // Row 2 has two user turns; row 5 a multimodal content list; row 7 a tool call
    // (null content) and a tool turn.
    let all = column(&path, "messages", Some(Chat::All));
    assert_eq!(users[2].len(), 2);
    assert_eq!(users[5], ["What causes the seasons on Earth?"]);
    assert!(
        all[7].contains("A haiku has 5, 7 and 5 syllables."),
        "{}",
        all[7]
    );
    assert!(
        all[0].starts_with("You are a helpful assistant."),
        "system turn first"
    );
    assert!(
        !all.iter().any(|t| t.contains("\"role\"")),
        "no JSON keys embedded"
    );

    // Paths: a filter on a sibling key equals the preset on OpenAI data (but a path
    // renders a multimodal content list as JSON: presets read its text parts); indices
    // from either end; nested objects.
    let by_path = column(&path, "messages[role=user].content", None);
    for (i, (got, want)) in by_path.iter().zip(users.iter().map(joined)).enumerate() {
        if i == 5 {
            assert!(got.starts_with(r#"[{"type":"text","#), "{got}");
        } else {
            assert_eq!(*got, want, "row {i}");
        }
    }
    assert_eq!(
        column(&path, "messages[-1].content", None),
        rows.iter()
            .map(
                |r| r["messages"].as_array().unwrap().last().unwrap()["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            )
            .collect::<Vec<_>>()
    );
    assert_eq!(column(&path, "messages[1].role", None), vec!["user"; 8]);
    assert_eq!(column(&path, "meta.lang", None), vec!["en"; 8]);
    let roles = column(&path, "messages[*].role", None);
    assert_eq!(roles[7], "system\nuser\nassistant\ntool\nassistant");
}

#[test]
fn sharegpt_json_array_presets_and_paths() {
    let path = layout("sharegpt.json");
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let users: Vec<String> = rows
        .iter()
        .map(|r| turns_of(r, "conversations", &is_user).join("\n"))
        .collect();
    assert_eq!(column(&path, "conversations", Some(Chat::User)), users);
    assert_eq!(
        column(&path, "conversations[from=human].value", None),
        users
    );
    assert_eq!(users[0], "How do I reverse a list in Python?\nThank you!");
    let last = column(&path, "conversations", Some(Chat::LastAssistant));
    assert_eq!(last[0], "You're welcome! Have a nice day.");
    assert_eq!(
        last[1],
        "Water boils at 100 °C (212 °F) at standard atmospheric pressure."
    );
    // Rows and lines are the elements' own.
    let reader = dataset::open(&path, &opts(&["id"], None)).unwrap();
    let lines: Vec<(u64, u64)> = reader
        .map(|r| r.unwrap())
        .map(|r| (r.row, r.line))
        .collect();
    assert_eq!(lines[0], (0, 2));
    assert_eq!(lines.len(), 8);
}

#[test]
fn preference_pairs_mix_text_and_conversations() {
    let path = layout("preference.jsonl");
    let rows = read_jsonl(&path);
    let got = texts(
        &path,
        &["prompt", "chosen", "rejected"],
        Some(Chat::LastAssistant),
    );
    for (row, texts) in rows.iter().zip(&got) {
        let prompt = row["prompt"].as_str().unwrap();
        assert_eq!(texts[0], prompt, "a text column is used as it is");
        assert_eq!(texts[1], row["chosen"][1]["content"].as_str().unwrap());
        assert_eq!(texts[2], row["rejected"][1]["content"].as_str().unwrap());
    }
    // The same through paths.
    assert_eq!(
        column(&path, "chosen[-1].content", None),
        got.iter().map(|t| t[1].clone()).collect::<Vec<_>>()
    );
}

#[test]
fn parquet_list_struct_reads_like_json() {
    let parquet = layout("openai.parquet");
    let jsonl = layout("openai.jsonl");
    // The Parquet file holds the same conversations with every content a string (no
    // multimodal list, no tool call), so these fields agree on every row.
    for (spec, chat) in [
        ("messages", Some(Chat::User)),
        ("messages", Some(Chat::FirstUser)),
        ("messages", Some(Chat::Assistant)),
        ("messages", Some(Chat::LastAssistant)),
        ("messages[role=assistant].content", None),
        ("messages[-1].content", None),
        ("messages[0].content", None),
        ("meta.source", None),
        ("id", Some(Chat::All)),
    ] {
        assert_eq!(
            column(&parquet, spec, chat),
            column(&jsonl, spec, chat),
            "{spec} {chat:?}"
        );
    }
    let roles = column(&parquet, "messages[*].role", None);
    assert_eq!(roles[7], "system\nuser\nassistant");
    // A whole struct column renders as compact JSON.
    assert_eq!(
        column(&parquet, "meta", None)[0],
        r#"{"source":"fixture","lang":"en"}"#
    );
}

#[test]
fn errors_name_file_line_and_path() {
    let jsonl = layout("openai.jsonl");
    let err = first_error(&jsonl, &["messages[3].content"], None);
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: field `messages[3].content`: `messages` has 3 elements; index 3 is out of range",
            jsonl.display()
        )
    );
    assert!(err.is_row_error());
    let err = first_error(&jsonl, &["messages[role=critic].content"], None);
    assert!(
        err.to_string().ends_with(
            ":1: field `messages[role=critic].content`: no element of `messages` has role=critic"
        ),
        "{err}"
    );
    let err = first_error(&jsonl, &["meta.title"], None);
    assert!(
        err.to_string()
            .ends_with(":1: field `meta.title`: `meta` has no key `title` (keys: source, lang)"),
        "{err}"
    );
    let err = first_error(&jsonl, &["metadata.lang"], None);
    assert!(
        matches!(&err, DatasetError::MissingColumn { column, line: 1, .. } if column == "metadata"),
        "{err}"
    );

    let array = layout("sharegpt.json");
    let err = first_error(&array, &["conversations[2].value"], None);
    assert_eq!(
        err.to_string(),
        format!(
            "{}:23: field `conversations[2].value`: `conversations` has 2 elements; index 2 is out of range (element 1 of the JSON array)",
            array.display()
        )
    );

    let parquet = layout("openai.parquet");
    let err = first_error(&parquet, &["messages[3].content"], None);
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: field `messages[3].content`: `messages` has 3 elements; index 3 is out of range",
            parquet.display()
        )
    );
    let err = first_error(&parquet, &["metadata.lang"], None);
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: column `metadata` not found (available: id, messages, meta)",
            parquet.display()
        ),
        "as in a JSON file, the missing top-level column"
    );
    // Without a path or preset a list column reads as its JSON, as in a JSON file.
    let as_json = column(&parquet, "messages", None);
    assert_eq!(
        as_json[0],
        column(&layout("openai.jsonl"), "messages", None)[0]
    );
    assert!(
        as_json[0].starts_with(r#"[{"role":"system","content":"You are"#),
        "{}",
        as_json[0]
    );

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("chat.csv");
    std::fs::write(&csv, "messages\nhello\n").unwrap();
    let err = first_error(&csv, &["messages"], Some(Chat::User));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: chat presets read conversations from JSON Lines, JSON arrays or Parquet, not csv",
            csv.display()
        )
    );
}

#[test]
fn the_conversation_column_is_found_by_itself() {
    let find =
        |name: &str| dataset::conversation_column(&layout(name), &opts(&[], Some(Chat::User)));
    assert_eq!(find("openai.jsonl").unwrap(), "messages");
    assert_eq!(find("openai.parquet").unwrap(), "messages");
    assert_eq!(find("sharegpt.json").unwrap(), "conversations");
    let err = find("preference.jsonl").unwrap_err();
    assert!(
        err.to_string().ends_with(
            "preference.jsonl: the first row has no conversation column (messages, conversations, conversation); name it with --column"
        ),
        "{err}"
    );
}

/// The lines of a JSONL file, as bytes.
fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn dedup_by_turn_writes_whole_rows_unchanged() {
    let input = layout("openai.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = semsift_on("dedup", &input, &out, &["--chat", "first-user"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let summary = summary(&out, "summary.json");
    assert_eq!(summary["columns"], serde_json::json!(["messages"]));
    assert_eq!(summary["chat"], "first-user");
    // "How can I reverse a Python list?" repeats row 0's question.
    let removed = read_jsonl(&out.join("removed.jsonl"));
    let pairs: Vec<(u64, u64)> = removed
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["duplicate_of"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(pairs.contains(&(3, 0)), "{pairs:?}");
    // Removed rows keep the whole record; kept rows are the input's lines, byte for byte.
    let input_lines = lines_of(&input);
    for r in &removed {
        let row = r["row"].as_u64().unwrap() as usize;
        let original: Value = serde_json::from_slice(&input_lines[row]).unwrap();
        assert_eq!(r["record"], original);
    }
    let gone: BTreeSet<usize> = pairs.iter().map(|p| p.0 as usize).collect();
    let want: Vec<Vec<u8>> = (0..input_lines.len())
        .filter(|i| !gone.contains(i))
        .map(|i| input_lines[i].clone())
        .collect();
    assert_eq!(lines_of(&out.join("kept.jsonl")), want);
}

#[test]
fn dedup_of_parquet_conversations_keeps_the_schema() {
    let input = layout("openai.parquet");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = semsift_on(
        "dedup",
        &input,
        &out,
        &["-c", "messages[role=user].content"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let removed = read_jsonl(&out.join("removed.jsonl"));
    let gone: BTreeSet<u64> = removed.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert!(gone.contains(&3), "{removed:?}");
    // kept.parquet reads back with the same nested column, minus the removed rows.
    let kept = out.join("kept.parquet");
    let want: Vec<String> = column(&input, "messages", Some(Chat::All))
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !gone.contains(&(*i as u64)))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(column(&kept, "messages", Some(Chat::All)), want);
    assert_eq!(removed[0]["record"]["messages"][1]["role"], "user");
}

#[test]
fn a_missing_path_fails_or_is_counted_and_skipped() {
    let input = layout("sharegpt.json");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fail");
    let run = semsift_on("dedup", &input, &out, &["-c", "conversations[2].value"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.contains("sharegpt.json:23: field `conversations[2].value`: `conversations` has 2 elements; index 2 is out of range (element 1 of the JSON array)"),
        "{err}"
    );
    // Conversations with a third turn are rows 0, 3 and 6 (every third has four turns).
    let out = dir.path().join("skip");
    let run = semsift_on(
        "dedup",
        &input,
        &out,
        &["-c", "conversations[2].value", "--on-error", "skip"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let summary = summary(&out, "summary.json");
    assert_eq!(summary["rows"]["skipped"], 5);
    assert_eq!(
        summary["rows"]["kept"], 1,
        "the three third turns are all \"Thank you!\""
    );
    let skipped = read_jsonl(&out.join("skipped.jsonl"));
    let rows: Vec<u64> = skipped.iter().map(|s| s["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [1, 2, 4, 5, 7]);
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .contains("field `conversations[2].value`"));
}

/// A path that fails in a row is a row error: the reader goes on, and the rows after it
/// keep their numbers (what lets `--on-error skip` leave rows out).
#[test]
fn row_numbers_survive_path_errors() {
    let input = layout("openai.jsonl");
    let reader = dataset::open(&input, &opts(&["messages[3].content"], None)).unwrap();
    let results: Vec<_> = reader.collect();
    assert_eq!(results.len(), 8);
    let ok: Vec<u64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|r| r.row))
        .collect();
    assert_eq!(ok, [2, 7], "only rows 2 and 7 have a fourth turn");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| e.is_row_error()));
}

/// `tests/data/example.jsonl` with every text wrapped in one of three tool headers
/// (four lines each, as in the GPTeacher toolformer set), written to `path`. Returns the
/// original texts.
fn write_templated(path: &Path) -> Vec<String> {
    let tools = [
        ("wikipedia", "A wrapper around Wikipedia. Useful for when you need to display general information about people, places, companies, historical events, or other subjects found in an encyclopedia."),
        ("weather", "Useful for when you want to get weather information from the OpenMeteo API. The input should be a question in natural language that this API can answer."),
        ("python", "A Python shell. Use this to execute python commands. Input should be a valid python command or script, and the output will be what it prints."),
    ];
    let texts = common::jsonl_texts(&common::root().join("tests/data/example.jsonl"));
    let body: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // Copies of a text get the same header, so they stay exact copies.
            let first = texts.iter().position(|x| x == t).unwrap();
            let (tool, about) = tools[first % 3];
            let instruction = format!(
                "toolformer: enabled\ntoolformer access: {tool}\n{about}\n{tool}(query)\n{t}"
            );
            format!(
                "{}\n",
                serde_json::json!({"instruction": instruction, "n": i})
            )
        })
        .collect();
    std::fs::write(path, body).unwrap();
    texts
}

fn summary(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[test]
fn common_template_lines_are_reported_and_stripped_from_what_is_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let wrapped = dir.path().join("wrapped.jsonl");
    let texts = write_templated(&wrapped);

    // Without stripping: the headers are found, reported and warned about; they dominate
    // the vectors, so far more rows look alike than in the plain texts.
    let out = dir.path().join("plain-run");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_semsift"))
        .args([
            "dedup",
            wrapped.to_str().unwrap(),
            "-c",
            "instruction",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains("column `instruction`") && err.contains("--strip-common"),
        "a warning names the column and the flag: {err}"
    );
    let s = summary(&out, "summary.json");
    let found = &s["templates"][0];
    assert_eq!(found["column"], "instruction");
    let unique = texts.iter().collect::<BTreeSet<_>>().len();
    assert_eq!(found["rows"], unique, "unique rows");
    let spans = found["spans"].as_array().unwrap();
    assert_eq!(spans[0]["text"], "toolformer: enabled");
    assert_eq!(spans[0]["share"], 1.0);
    assert_eq!(spans[0]["kind"], "line");
    let lines: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s["kind"] == "line")
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        1 + 3 * 3,
        "the shared line and each tool's three"
    );
    assert!(found["template_fraction"].as_f64().unwrap() > 0.5);
    let kept_wrapped = s["rows"]["kept"].as_u64().unwrap();

    // The same texts without headers, and the wrapped ones with the headers stripped:
    // the same text is embedded, so the decisions are the same, row for row.
    let plain = dir.path().join("plain.jsonl");
    std::fs::copy(common::root().join("tests/data/example.jsonl"), &plain).unwrap();
    let base = dir.path().join("base");
    assert!(semsift_on("dedup", &plain, &base, &[]).status.success());
    let stripped = dir.path().join("stripped");
    let run = semsift_on(
        "dedup",
        &wrapped,
        &stripped,
        &["-c", "instruction", "--strip-common", "0.2"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let decisions = |d: &Path| -> Vec<(Value, Value, Value)> {
        read_jsonl(&d.join("removed.jsonl"))
            .into_iter()
            .map(|r| {
                (
                    r["row"].clone(),
                    r["duplicate_of"].clone(),
                    r["score"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(decisions(&stripped), decisions(&base));
    let s = summary(&stripped, "summary.json");
    assert_eq!(s["strip_common"], 0.2);
    assert_eq!(s["templates"][0]["stripped_rows"], unique);
    assert!(
        s["rows"]["kept"].as_u64().unwrap() > kept_wrapped,
        "headers made rows look alike: {} kept unstripped",
        kept_wrapped
    );
    // Kept rows are the input's lines, headers and all.
    let removed: BTreeSet<u64> = read_jsonl(&stripped.join("removed.jsonl"))
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    let want: Vec<Vec<u8>> = lines_of(&wrapped)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(&(*i as u64)))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(lines_of(&stripped.join("kept.jsonl")), want);

    // The report and the filter report the same and strip the same.
    let report = dir.path().join("report");
    let run = semsift_on(
        "report",
        &wrapped,
        &report,
        &["-c", "instruction", "--strip-common", "0.2", "-k", "5"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let r = summary(&report, "report.json");
    assert_eq!(r["strip_common"], 0.2);
    assert_eq!(r["templates"][0]["spans"][0]["text"], "toolformer: enabled");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("<h2>Common text</h2>") && html.contains("wikipedia(query)"));
    let filter = dir.path().join("filter");
    let run = semsift_on(
        "filter",
        &wrapped,
        &filter,
        &[
            "-c",
            "instruction",
            "--strip-common",
            "0.2",
            "--outliers",
            "0.1",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let f = summary(&filter, "summary.json");
    assert_eq!(f["templates"][0]["stripped_rows"], unique);
}

#[test]
fn a_bad_strip_share_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = semsift_on(
        "dedup",
        &layout("openai.jsonl"),
        &dir.path().join("out"),
        &["--chat", "user", "--strip-common", "1.5"],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("strip-common"), "{}", stderr(&run));
}

/// A file of the team's shared datasets (absent on a user's clone: these tests are
/// `#[ignore]`d there, and `.ci/run` runs them with `--ignored` when `../shared/data`
/// exists).
fn shared(rel: &str) -> PathBuf {
    let path = common::root().join("../shared/data").join(rel);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// A gzipped JSON array, parsed.
fn json_gz(path: &Path) -> Vec<Value> {
    let file = std::fs::File::open(path).unwrap();
    serde_json::from_reader(flate2::read::GzDecoder::new(file)).unwrap()
}

#[test]
#[ignore = "needs ../shared/data; run with --ignored"]
fn real_sharegpt_file_reads_by_turn() {
    let path = shared("fastchat_dummy_conversation/dummy_conversation.json.gz");
    let rows = json_gz(&path);
    assert_eq!(rows.len(), 500);
    let human = |r: &Value| turns_of(r, "conversations", &is_user);
    let gpt = |r: &Value| turns_of(r, "conversations", &is_assistant);
    let want = |f: &dyn Fn(&Value) -> String| rows.iter().map(f).collect::<Vec<_>>();
    assert_eq!(
        column(&path, "conversations", Some(Chat::FirstUser)),
        want(&|r| human(r)[0].clone())
    );
    assert_eq!(
        column(&path, "conversations", Some(Chat::User)),
        want(&|r| human(r).join("\n"))
    );
    assert_eq!(
        column(&path, "conversations", Some(Chat::LastAssistant)),
        want(&|r| gpt(r).last().unwrap().clone())
    );
    assert_eq!(
        column(&path, "conversations[from=gpt].value", None),
        want(&|r| gpt(r).join("\n"))
    );
    assert_eq!(
        dataset::conversation_column(&path, &opts(&[], Some(Chat::User))).unwrap(),
        "conversations"
    );

    // The first human turns are a handful of questions asked many times: exact copies
    // are grouped, and paraphrases removed on top of them.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = semsift_on("dedup", &path, &out, &["--chat", "first-user"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let s = summary(&out, "summary.json");
    let distinct: BTreeSet<String> = rows.iter().map(|r| human(r)[0].clone()).collect();
    assert_eq!(s["rows"]["unique"], distinct.len());
    assert_eq!(s["rows"]["input"], 500);
    let kept = s["rows"]["kept"].as_u64().unwrap() as usize;
    assert!(
        kept < distinct.len(),
        "{kept} kept of {} distinct",
        distinct.len()
    );
    // Kept rows are whole conversations, in the input's format (a JSON array).
    let kept_rows = json_gz(&out.join("kept.json.gz"));
    assert_eq!(kept_rows.len(), kept);
    assert!(kept_rows.iter().all(|r| rows.contains(r)));
}

#[test]
#[ignore = "needs ../shared/data; run with --ignored"]
fn real_toolformer_header_is_found_and_stripped() {
    let path = shared("gpteacher_toolformer/toolformer-dedupe-only-dataset.json.gz");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let run = semsift_on("dedup", &path, &plain, &["-c", "instruction"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let s = summary(&plain, "summary.json");
    let found = &s["templates"][0];
    assert_eq!(found["rows"], 7673);
    assert_eq!(found["spans"][0]["text"], "toolformer: enabled");
    assert_eq!(found["spans"][0]["share"], 1.0);
    let texts: Vec<&str> = found["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    for tool in [
        "wikipedia(query)",
        "toolformer access: weather",
        "python(codetoexecute)",
    ] {
        assert!(texts.contains(&tool), "{tool} in {texts:?}");
    }
    assert!(found["template_fraction"].as_f64().unwrap() > 0.7);
    let kept_plain = s["rows"]["kept"].as_u64().unwrap();
    assert!(
        kept_plain < 200,
        "the header makes every row alike: {kept_plain}"
    );

    let stripped = dir.path().join("stripped");
    let run = semsift_on(
        "dedup",
        &path,
        &stripped,
        &["-c", "instruction", "--strip-common", "0.05"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let s = summary(&stripped, "summary.json");
    assert_eq!(s["templates"][0]["stripped_rows"], 7673);
    let kept = s["rows"]["kept"].as_u64().unwrap();
    // The tasks themselves repeat a lot (the same request with another input), so about
    // half the rows remain; the published 0.9-similarity variant, measured on whole rows
    // with inputs and answers, keeps 5,959.
    assert!((3000..6000).contains(&kept), "{kept}");
    // The rows written are whole, header included.
    let kept_rows = json_gz(&stripped.join("kept.json.gz"));
    assert_eq!(kept_rows.len() as u64, kept);
    assert!(kept_rows[0]["instruction"]
        .as_str()
        .unwrap()
        .starts_with("toolformer: enabled\n"));
}
