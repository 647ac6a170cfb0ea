//! Which text of a record a column names: field paths into nested values, and chat
//! presets that pick turns out of a conversation.
//!
//! # Field paths
//!
//! A column name is first looked up as a top-level key, whole, so keys that contain `.` or
//! `[` keep working. When the record has no such key it is read as a path:
//!
//! | path | selects |
//! |---|---|
//! | `a.b` | key `b` of the object under key `a` |
//! | `messages[0].content` | the first element's `content` (`[-1]`: the last element) |
//! | `messages[*].content` | every element's `content`, joined with a newline |
//! | `messages[role=user].content` | the `content` of the elements whose `role` is `user` |
//!
//! Under `[*]` or `[key=value]` an element that lacks the rest of the path (or holds `null`
//! there) is left out; when no element is left the row is an error. Outside them a missing
//! key, an index out of range or a `null` is an error naming the part of the path that
//! failed. The values selected are rendered as any column value is (strings as they are,
//! other JSON as compact JSON) and joined with `\n`.
//!
//! # Chat presets
//!
//! With a [`Chat`] preset a column whose value is a list of chat turns gives the text of
//! some of its turns, joined with `\n`. The layout of each turn is detected: OpenAI
//! (`role` / `content`) or ShareGPT (`from` / `value`); roles `user`, `human` → user,
//! `assistant`, `gpt`, `bot`, `model` → assistant, `system` → system, anything else (e.g.
//! `tool`) → other. A `content` that is a list of parts (`[{"type": "text", "text": …}]`)
//! gives its text parts; a turn whose content is `null` (a tool call) is left out. A column
//! whose value is text (a preference set's string `prompt`) is used as it is.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::error::list;
use super::DatasetError;

/// Which turns of a conversation are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chat {
    /// Every user turn.
    User,
    /// Every assistant turn.
    Assistant,
    /// Every turn: system, user, assistant and others, in order.
    All,
    /// The first user turn (the prompt that opens the conversation).
    FirstUser,
    /// The last assistant turn (the final answer).
    LastAssistant,
}

impl Chat {
    /// Every preset, in the order the CLI documents them.
    pub const ALL: [Chat; 5] = [
        Chat::User,
        Chat::Assistant,
        Chat::All,
        Chat::FirstUser,
        Chat::LastAssistant,
    ];

    fn name(self) -> &'static str {
        match self {
            Chat::User => "user",
            Chat::Assistant => "assistant",
            Chat::All => "all",
            Chat::FirstUser => "first-user",
            Chat::LastAssistant => "last-assistant",
        }
    }

    /// What the preset wants, in words (for errors).
    fn wanted(self) -> &'static str {
        match self {
            Chat::User | Chat::FirstUser => "user turn",
            Chat::Assistant | Chat::LastAssistant => "assistant turn",
            Chat::All => "turn with text",
        }
    }
}

impl fmt::Display for Chat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Chat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Chat::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!("expected user, assistant, all, first-user or last-assistant, not `{s}`")
            })
    }
}

/// The top-level keys tried, in order, for a conversation when `--chat` names no column
/// (see [`conversation_column`](super::conversation_column)).
pub const CONVERSATION_KEYS: [&str; 3] = ["messages", "conversations", "conversation"];

/// One step of a field path after its first key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// `.key`
    Key(String),
    /// `[i]`, negative from the end.
    Index(i64),
    /// `[*]`
    Each,
    /// `[key=value]`
    Where { key: String, value: String },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Key(k) => write!(f, ".{k}"),
            Step::Index(i) => write!(f, "[{i}]"),
            Step::Each => f.write_str("[*]"),
            Step::Where { key, value } => write!(f, "[{key}={value}]"),
        }
    }
}

/// A column as requested: a top-level key or a path, and the chat preset applied to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name as written.
    spec: String,
    /// The path's first key (or, when the spec does not parse as a path, the spec).
    root: String,
    /// The rest of the path.
    steps: Vec<Step>,
    chat: Option<Chat>,
    /// Why the spec is not a path, when it is not (it is then only a key).
    not_a_path: Option<String>,
}

/// Why a field could not be read from a record (readers add the file and line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// The record has no top-level key for the field.
    Missing {
        /// The key looked for.
        column: String,
        /// The record's keys.
        available: Vec<String>,
    },
    /// The field is `null`.
    Null {
        /// The path that is `null`.
        column: String,
    },
    /// The path (or the chat preset) fails further in.
    Path(String),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Missing { column, .. } => {
                write!(f, "column `{}` not found", column.escape_debug())
            }
            FieldError::Null { column } => write!(f, "column `{}` is null", column.escape_debug()),
            FieldError::Path(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for FieldError {}

impl FieldError {
    /// The error for `field` at `line` of `path`.
    pub(super) fn at(self, path: &Path, line: u64, field: &Field) -> DatasetError {
        let path = path.to_path_buf();
        match self {
            FieldError::Missing { column, available } => DatasetError::MissingColumn {
                path,
                line,
                column,
                available,
            },
            FieldError::Null { column } => DatasetError::NullValue { path, line, column },
            FieldError::Path(message) => DatasetError::Field {
                path,
                line,
                field: field.spec.clone(),
                message,
            },
        }
    }
}

/// How far into the record a walk got: the path so far, for messages.
struct Walk {
    at: String,
    /// Whether a `[*]` or `[key=value]` was passed, so several values are selected and
    /// elements without the rest of the path are left out.
    fanned: bool,
}

impl Field {
    /// The field named `spec`, with `chat` applied to what it selects.
    ///
    /// A `spec` that does not parse as a path is taken as a plain key.
    pub fn new(spec: &str, chat: Option<Chat>) -> Self {
        let (root, steps, not_a_path) = match parse(spec) {
            Ok((root, steps)) => (root, steps, None),
            Err(why) => (spec.to_string(), Vec::new(), Some(why)),
        };
        Field {
            spec: spec.to_string(),
            root,
            steps,
            chat,
            not_a_path,
        }
    }

    /// Checks that `spec` is a well-formed path (or a plain key).
    pub fn check(spec: &str) -> Result<(), String> {
        parse(spec).map(drop)
    }

    /// The name as written.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Whether reading the field takes more than a top-level value as it is: a path or a
    /// chat preset.
    pub fn is_nested(&self) -> bool {
        !self.steps.is_empty() || self.chat.is_some()
    }

    /// The path's first key (the whole name when it is not a path).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// How many steps the path has after its first key.
    pub fn steps_len(&self) -> usize {
        self.steps.len()
    }

    /// The top-level key the field starts from in a record whose keys are tested by `has`:
    /// the whole spec when it is a key, else the path's first key. `None` when the record
    /// has neither.
    pub fn root_in(&self, has: impl Fn(&str) -> bool) -> Option<&str> {
        if has(&self.spec) {
            Some(&self.spec)
        } else if has(&self.root) {
            Some(&self.root)
        } else {
            None
        }
    }

    /// The field's text in `object`.
    pub fn select(&self, object: &Map<String, Value>) -> Result<String, FieldError> {
        let Some(root) = self.root_in(|k| object.contains_key(k)) else {
            return Err(self.missing(object.keys().cloned().collect()));
        };
        self.select_from(root, &object[root])
    }

    /// The error for a record without the field's top-level key.
    pub fn missing(&self, available: Vec<String>) -> FieldError {
        match &self.not_a_path {
            // Say why it is not a path, which is more likely what was meant.
            Some(why) if self.spec.contains(['.', '[']) => FieldError::Path(format!(
                "no such column, and not a path: {why} (columns: {})",
                list(&available)
            )),
            _ => FieldError::Missing {
                column: self.root.clone(),
                available,
            },
        }
    }

    /// The field's text, given the value of its top-level key `root` (from
    /// [`root_in`](Self::root_in)).
    pub fn select_from(&self, root: &str, value: &Value) -> Result<String, FieldError> {
        let steps: &[Step] = if root == self.root && root != self.spec {
            &self.steps
        } else {
            &[]
        };
        if value.is_null() {
            return Err(FieldError::Null {
                column: root.to_string(),
            });
        }
        let mut walk = Walk {
            at: root.to_string(),
            fanned: false,
        };
        let mut values = vec![value];
        for step in steps {
            values = walk.step(step, values)?;
        }
        let mut texts = Vec::with_capacity(values.len());
        for value in values {
            match (self.chat, value) {
                (Some(chat), Value::Array(turns)) => {
                    texts.push(conversation(chat, turns, &walk.at)?);
                }
                (Some(_), Value::String(_)) | (None, _) => texts.push(render(value)),
                (Some(_), other) => {
                    return Err(FieldError::Path(format!(
                        "`{}` is {}, not a conversation (a list of turns) or text",
                        walk.at,
                        kind(other)
                    )))
                }
            }
        }
        Ok(texts.join("\n"))
    }
}

impl Walk {
    /// Adds what a key or an index `found` to `next`. Outside a `[*]` or `[key=value]`, a
    /// `null` is an error and so is nothing found (`missing` says why); under one, both
    /// leave the element out.
    fn take<'v>(
        &self,
        found: Option<&'v Value>,
        next: &mut Vec<&'v Value>,
        missing: impl FnOnce() -> String,
    ) -> Result<(), FieldError> {
        match found {
            Some(Value::Null) if !self.fanned => Err(FieldError::Null {
                column: self.at.clone(),
            }),
            None if !self.fanned => Err(FieldError::Path(missing())),
            Some(Value::Null) | None => Ok(()),
            Some(v) => {
                next.push(v);
                Ok(())
            }
        }
    }

    /// Applies one step to every value selected so far.
    fn step<'v>(
        &mut self,
        step: &Step,
        values: Vec<&'v Value>,
    ) -> Result<Vec<&'v Value>, FieldError> {
        let mut next = Vec::with_capacity(values.len());
        let here = format!("{}{step}", self.at);
        let before = std::mem::replace(&mut self.at, here);
        for value in values {
            match step {
                Step::Key(key) => match value {
                    Value::Object(object) => self.take(object.get(key), &mut next, || {
                        format!("`{before}` has no key `{key}` (keys: {})", keys(object))
                    })?,
                    _ if self.fanned => {}
                    other => return Err(not_a(&before, other, "an object")),
                },
                Step::Index(i) => match value {
                    Value::Array(items) => {
                        let len = items.len() as i64;
                        let at = if *i < 0 { len + i } else { *i };
                        let found = items.get(usize::try_from(at).unwrap_or(usize::MAX));
                        self.take(found, &mut next, || {
                            let s = if len == 1 { "" } else { "s" };
                            format!("`{before}` has {len} element{s}; index {i} is out of range")
                        })?;
                    }
                    _ if self.fanned => {}
                    other => return Err(not_a(&before, other, "a list")),
                },
                Step::Each | Step::Where { .. } => match value {
                    Value::Array(items) => next.extend(items.iter().filter(|item| {
                        !item.is_null()
                            && match step {
                                Step::Where { key, value } => item
                                    .get(key)
                                    .is_some_and(|v| !v.is_null() && render(v) == *value),
                                _ => true,
                            }
                    })),
                    _ if self.fanned => {}
                    other => return Err(not_a(&before, other, "a list")),
                },
            }
        }
        if matches!(step, Step::Each | Step::Where { .. }) {
            self.fanned = true;
        }
        if next.is_empty() {
            let what = match step {
                Step::Where { key, value } => {
                    format!("no element of `{before}` has {key}={value}")
                }
                Step::Each => format!("`{before}` is empty"),
                _ => format!(
                    "no element of `{before}` has `{}`",
                    step.to_string().trim_start_matches('.')
                ),
            };
            return Err(FieldError::Path(what));
        }
        Ok(next)
    }
}

/// The text of the turns of `turns` that `chat` picks, joined with `\n`.
fn conversation(chat: Chat, turns: &[Value], at: &str) -> Result<String, FieldError> {
    let mut picked: Vec<String> = Vec::new();
    for (i, turn) in turns.iter().enumerate() {
        let Some((role, content)) = chat_turn(turn) else {
            return Err(FieldError::Path(format!(
                "element {i} of `{at}` is not a chat turn (expected role/content or from/value keys)"
            )));
        };
        let Some(text) = content else { continue };
        let wanted = match chat {
            Chat::User | Chat::FirstUser => role == Role::User,
            Chat::Assistant | Chat::LastAssistant => role == Role::Assistant,
            Chat::All => true,
        };
        if wanted {
            if chat == Chat::LastAssistant {
                picked.clear();
            }
            picked.push(text);
            if chat == Chat::FirstUser {
                break;
            }
        }
    }
    if picked.is_empty() {
        return Err(FieldError::Path(format!(
            "the conversation in `{at}` has no {}",
            chat.wanted()
        )));
    }
    Ok(picked.join("\n"))
}

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    System,
    User,
    Assistant,
    Other,
}

/// A turn's role and text (`None` for a turn without text, such as a tool call), or
/// `None` when `turn` is not a chat turn.
fn chat_turn(turn: &Value) -> Option<(Role, Option<String>)> {
    let object = turn.as_object()?;
    let (role, content) = match (object.get("role"), object.get("from")) {
        (Some(role), _) => (role, object.get("content")),
        (None, Some(from)) => (from, object.get("value")),
        (None, None) => return None,
    };
    let role = match role.as_str()?.to_ascii_lowercase().as_str() {
        "user" | "human" | "prompter" => Role::User,
        "assistant" | "gpt" | "bot" | "model" | "chatgpt" => Role::Assistant,
        "system" => Role::System,
        _ => Role::Other,
    };
    let text = match content? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|part| match part {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(o) => o.get("text").and_then(Value::as_str),
                    _ => None,
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        other => Some(render(other)),
    };
    Some((role, text))
}

/// A JSON value as column text: strings as they are, anything else as compact JSON.
pub(super) fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn not_a(at: &str, value: &Value, wanted: &str) -> FieldError {
    FieldError::Path(format!("`{at}` is {}, not {wanted}", kind(value)))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn keys(object: &Map<String, Value>) -> String {
    list(&object.keys().cloned().collect::<Vec<_>>())
}

/// Splits a path into its first key and the steps after it.
fn parse(spec: &str) -> Result<(String, Vec<Step>), String> {
    let mut steps = Vec::new();
    let mut rest = spec;
    let mut root: Option<String> = None;
    let mut after_key = true;
    while !rest.is_empty() || after_key {
        if after_key {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                return Err(match root {
                    None => "a path starts with a key".to_string(),
                    Some(_) => "a `.` must be followed by a key".to_string(),
                });
            }
            match root {
                None => root = Some(key.to_string()),
                Some(_) => steps.push(Step::Key(key.to_string())),
            }
            rest = &rest[end..];
            after_key = false;
        } else if let Some(tail) = rest.strip_prefix('.') {
            rest = tail;
            after_key = true;
        } else if let Some(tail) = rest.strip_prefix('[') {
            let close = tail
                .find(']')
                .ok_or_else(|| "a `[` is not closed by `]`".to_string())?;
            steps.push(selector(tail[..close].trim())?);
            rest = &tail[close + 1..];
        } else {
            unreachable!("a key ends at `.`, `[` or the end");
        }
    }
    Ok((root.unwrap_or_default(), steps))
}

/// The step inside `[…]`.
fn selector(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Each);
    }
    if let Ok(i) = inner.parse::<i64>() {
        return Ok(Step::Index(i));
    }
    if let Some((key, value)) = inner.split_once('=') {
        let key = key.trim();
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if key.is_empty() {
            return Err(format!("`[{inner}]` needs a key before `=`"));
        }
        return Ok(Step::Where {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Err(format!("`[{inner}]` is not an index, `*` or `key=value`"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    fn pick(spec: &str, chat: Option<Chat>, v: Value) -> Result<String, FieldError> {
        Field::new(spec, chat).select(&object(v))
    }

    fn chat_record() -> Value {
        json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": 1}]},
            {"role": "tool", "content": "42"},
            {"role": "user", "content": [{"type": "text", "text": "Why?"}, {"type": "image_url"}]},
            {"role": "assistant", "content": "Because"}
        ], "meta": {"src": {"name": "x"}, "tags": ["a", "b"]}, "a.b": "dotted"})
    }

    #[test]
    fn paths_select_nested_values() {
        let r = chat_record;
        assert_eq!(pick("meta.src.name", None, r()).unwrap(), "x");
        assert_eq!(pick("messages[0].content", None, r()).unwrap(), "Be brief.");
        assert_eq!(pick("messages[-1].content", None, r()).unwrap(), "Because");
        assert_eq!(pick("meta.tags[1]", None, r()).unwrap(), "b");
        assert_eq!(pick("meta.tags", None, r()).unwrap(), r#"["a","b"]"#);
        assert_eq!(
            pick("messages[role=assistant].content", None, r()).unwrap(),
            "Hello\nBecause",
            "a null content under a filter is left out"
        );
        assert_eq!(
            pick("messages[*].role", None, r()).unwrap(),
            "system\nuser\nassistant\nassistant\ntool\nuser\nassistant"
        );
        // A key that holds a dot is found whole before it is read as a path.
        assert_eq!(pick("a.b", None, r()).unwrap(), "dotted");
        // Quoted filter values and spaces are allowed.
        assert_eq!(
            pick("messages[ role = \"tool\" ].content", None, r()).unwrap(),
            "42"
        );
    }

    #[test]
    fn path_errors_name_the_part_that_failed() {
        let r = chat_record;
        let err = |spec: &str| match pick(spec, None, r()).unwrap_err() {
            FieldError::Path(m) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err("meta.src.title"),
            "`meta.src` has no key `title` (keys: name)"
        );
        assert_eq!(
            err("messages[9].content"),
            "`messages` has 7 elements; index 9 is out of range"
        );
        assert_eq!(
            err("messages[role=critic].content"),
            "no element of `messages` has role=critic"
        );
        assert_eq!(err("meta.tags.x"), "`meta.tags` is a list, not an object");
        assert_eq!(err("meta[0]"), "`meta` is an object, not a list");
        assert_eq!(
            err("messages[*].name"),
            "no element of `messages[*]` has `name`"
        );
        assert_eq!(
            pick("messages[3].content", None, r()).unwrap_err(),
            FieldError::Null {
                column: "messages[3].content".into()
            }
        );
        assert_eq!(
            pick("nope.x", None, r()).unwrap_err(),
            FieldError::Missing {
                column: "nope".into(),
                available: vec!["messages".into(), "meta".into(), "a.b".into()]
            }
        );
    }

    #[test]
    fn malformed_paths_are_plain_keys() {
        for bad in ["a[", "a[]", "a..b", ".a", "a[x]", "a[=1]"] {
            assert!(Field::check(bad).is_err(), "{bad}");
            let f = Field::new(bad, None);
            assert_eq!(f.select(&object(json!({ bad: "v" }))).unwrap(), "v");
        }
        // Missing, it is reported as the path it failed to be.
        assert_eq!(
            Field::new("messages[0.content", None).select(&object(json!({"messages": []}))),
            Err(FieldError::Path(
                "no such column, and not a path: a `[` is not closed by `]` (columns: messages)"
                    .into()
            ))
        );
        assert!(matches!(
            Field::new("body text", None).select(&object(json!({"text": "t"}))),
            Err(FieldError::Missing { .. })
        ));
        assert!(Field::check("a.b[0][*].c[k=v]").is_ok());
    }

    #[test]
    fn chat_presets_pick_turns() {
        let r = chat_record;
        let got = |chat| pick("messages", Some(chat), r()).unwrap();
        assert_eq!(got(Chat::User), "Hi\nWhy?");
        assert_eq!(got(Chat::Assistant), "Hello\nBecause");
        assert_eq!(got(Chat::FirstUser), "Hi");
        assert_eq!(got(Chat::LastAssistant), "Because");
        assert_eq!(got(Chat::All), "Be brief.\nHi\nHello\n42\nWhy?\nBecause");
    }

    #[test]
    fn chat_presets_read_sharegpt_and_text() {
        let share = json!({"id": 1, "conversations": [
            {"from": "human", "value": "Who are you?"},
            {"from": "gpt", "value": "I am Vicuna."},
            {"from": "human", "value": "Bye"},
            {"from": "gpt", "value": "Goodbye!"}
        ]});
        assert_eq!(
            pick("conversations", Some(Chat::User), share.clone()).unwrap(),
            "Who are you?\nBye"
        );
        assert_eq!(
            pick("conversations", Some(Chat::LastAssistant), share).unwrap(),
            "Goodbye!"
        );
        // Preference pairs: a string prompt is used as it is, a message list by preset.
        let pair = json!({"prompt": "Q?", "chosen": [
            {"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}
        ]});
        assert_eq!(
            pick("prompt", Some(Chat::LastAssistant), pair.clone()).unwrap(),
            "Q?"
        );
        assert_eq!(
            pick("chosen", Some(Chat::LastAssistant), pair).unwrap(),
            "A."
        );
    }

    #[test]
    fn chat_errors() {
        let none = json!({"messages": [{"role": "user", "content": "only"}]});
        assert_eq!(
            pick("messages", Some(Chat::Assistant), none).unwrap_err(),
            FieldError::Path("the conversation in `messages` has no assistant turn".into())
        );
        let odd = json!({"messages": [{"speaker": "x", "text": "y"}]});
        assert_eq!(
            pick("messages", Some(Chat::All), odd).unwrap_err(),
            FieldError::Path(
                "element 0 of `messages` is not a chat turn (expected role/content or from/value keys)"
                    .into()
            )
        );
        let num = json!({"messages": 3});
        assert_eq!(
            pick("messages", Some(Chat::All), num).unwrap_err(),
            FieldError::Path(
                "`messages` is a number, not a conversation (a list of turns) or text".into()
            )
        );
    }

    #[test]
    fn chat_parses() {
        for chat in Chat::ALL {
            assert_eq!(chat.to_string().parse::<Chat>().unwrap(), chat);
        }
        assert!("users".parse::<Chat>().is_err());
    }
}
