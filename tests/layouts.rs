//! Real LLM dataset layouts: chat conversations (OpenAI and ShareGPT), preference pairs
//! and Parquet list<struct> columns, read through field paths and chat presets, on the
//! fixtures in `tests/data/layouts` (made by `scripts/make-layout-fixtures.py`); and, with
//! `--ignored`, on the team's real files in `../shared/data`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{read_jsonl, semsift_on, stderr};
use semsift::dataset::{self, Chat, DatasetError, OnError, ReadOptions};
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
fn lines(path: &Path) -> Vec<Vec<u8>> {
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
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
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
    let input_lines = lines(&input);
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
    assert_eq!(lines(&out.join("kept.jsonl")), want);
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
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
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

/// Skipping as the library does it: `OnError` is reported by the reader per row, so a
/// skipped row never shifts the numbers of the rows after it.
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
    let _ = OnError::Skip;
}
