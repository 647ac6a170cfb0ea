//! Tests of template detection and stripping.

use super::affix::cut;
use super::count::multi_line;
use super::*;

/// Each span's kind, text and rows, in report order.
fn kinds_texts_rows(t: &Templates) -> Vec<(SpanKind, &str, u64)> {
    t.spans
        .iter()
        .map(|s| (s.kind, s.text.as_str(), s.rows))
        .collect()
}

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'w>(&mut self, words: &[&'w str]) -> &'w str {
        words[self.below(words.len())]
    }
}

fn detect(rows: &[String], params: &TemplateParams) -> Templates {
    Templates::detect(rows.len(), |i| rows[i].as_str(), params)
}

const HEADER: &str = "toolformer: enabled";
const TOOLS: [(&str, &str); 4] = [
    (
        "wikipedia",
        "A wrapper around Wikipedia. Useful for when you need to display general information about people, places, companies, historical events, or other subjects. Input should be a search query.",
    ),
    (
        "calculator",
        "Useful for getting the result of a math expression. The input to this tool should be a valid mathematical expression that could be executed by a simple calculator.",
    ),
    (
        "weather",
        "Useful for when you need to know the current weather or forecast for a city. Input should be the name of a city.",
    ),
    (
        "news",
        "Use this when you want to get information about the top headlines of current news stories. Input should be a topic.",
    ),
];

/// Toolformer-like rows: a universal header, one of 4 tools (3 lines each) and a unique
/// last line. Returns the rows and their last lines.
fn toolformer(n: usize, seed: u64) -> (Vec<String>, Vec<String>) {
    let verbs = [
        "Summarize",
        "Describe",
        "Explain",
        "Compare",
        "Outline",
        "Analyze",
        "Discuss",
        "Review",
        "Illustrate",
        "Evaluate",
        "Sketch",
        "Recount",
    ];
    let adjs = [
        "ancient",
        "modern",
        "famous",
        "obscure",
        "major",
        "tragic",
        "peaceful",
        "turbulent",
        "decisive",
        "forgotten",
        "celebrated",
        "disputed",
    ];
    let nouns = [
        "battle",
        "treaty",
        "revolution",
        "discovery",
        "election",
        "voyage",
        "invention",
        "expedition",
        "festival",
        "reform",
        "uprising",
        "migration",
    ];
    let places = [
        "Rome", "Egypt", "China", "Peru", "France", "India", "Japan", "Mexico", "Persia", "Greece",
        "Norway", "Kenya",
    ];
    let mut rng = Lcg(seed);
    let mut rows = Vec::with_capacity(n);
    let mut last = Vec::with_capacity(n);
    for _ in 0..n {
        let (tool, desc) = TOOLS[rng.below(TOOLS.len())];
        let unique = format!(
            "{} the {} {} in {} around the year {}",
            rng.pick(&verbs),
            rng.pick(&adjs),
            rng.pick(&nouns),
            rng.pick(&places),
            1000 + rng.below(900)
        );
        rows.push(format!(
            "{HEADER}\ntoolformer access: {tool}\n{desc}\n{tool}(query)\n{unique}"
        ));
        last.push(unique);
    }
    (rows, last)
}

/// Names that all start with "Al", so sorted neighbours share a partial word.
fn names() -> Vec<String> {
    let first = ["ba", "de", "fi", "go", "ku", "la", "mo", "ne"];
    let second = ["n", "r", "s", "x", "na", "ra", "sa", "ta"];
    first
        .iter()
        .flat_map(|a| second.iter().map(move |b| format!("Al{a}{b}")))
        .collect()
}

/// `n` simple sentences "<Name> <verb> the <noun> <adverb> with <Name>." (no trailing
/// period when `period` is false). They start and end with varied names.
fn sentences(n: usize, seed: u64, period: bool) -> Vec<String> {
    let names = names();
    let verbs = [
        "paints", "finds", "sells", "cleans", "builds", "opens", "moves", "reads", "hides", "fixes",
    ];
    let nouns = [
        "house", "boat", "garden", "letter", "window", "bridge", "table", "lamp", "car", "fence",
    ];
    let advs = [
        "slowly",
        "quickly",
        "quietly",
        "happily",
        "carefully",
        "badly",
        "early",
        "late",
    ];
    let mut rng = Lcg(seed);
    (0..n)
        .map(|_| {
            let name = &names[rng.below(names.len())];
            let (verb, noun, adv) = (rng.pick(&verbs), rng.pick(&nouns), rng.pick(&advs));
            let other = &names[rng.below(names.len())];
            let end = if period { "." } else { "" };
            format!("{name} {verb} the {noun} {adv} with {other}{end}")
        })
        .collect()
}

const FRENCH: &str = "Translate the following sentence into French:";

#[test]
fn toolformer_lines() {
    let (rows, last) = toolformer(1000, 7);
    let t = detect(&rows, &TemplateParams::default());
    assert_eq!(t.rows, 1000);
    assert_eq!(t.spans.len(), 1 + 3 * TOOLS.len(), "{:#?}", t.spans);
    assert!(t.spans.iter().all(|s| s.kind == SpanKind::Line));
    assert_eq!(t.spans[0].text, HEADER);
    assert_eq!(t.spans[0].rows, 1000);
    assert_eq!(t.spans[0].share, 1.0);
    for (tool, desc) in TOOLS {
        let access = format!("toolformer access: {tool}");
        let call = format!("{tool}(query)");
        let shares: Vec<&CommonSpan> = [access.as_str(), desc, call.as_str()]
            .iter()
            .map(|l| t.spans.iter().find(|s| s.text == *l).unwrap())
            .collect();
        for s in &shares {
            assert!(s.share > 0.18 && s.share < 0.32, "{s:?}");
            assert_eq!(s.rows, shares[0].rows);
            assert_eq!(s.share, s.rows as f64 / 1000.0);
        }
    }
    // No unique line, nor part of one, is a span.
    assert!(t
        .spans
        .iter()
        .all(|s| !last.iter().any(|u| u.contains(&s.text))));
    let stripper = t.stripper(0.05);
    assert!(!stripper.is_empty());
    for (row, unique) in rows.iter().zip(&last) {
        assert_eq!(stripper.strip(row), unique.as_str());
    }
    assert!(t.template_fraction > 0.5, "{}", t.template_fraction);
    assert!(t.template_fraction < 1.0);
    // Only the header at share 1.
    let header_only = t.stripper(1.0);
    let stripped = header_only.strip(&rows[0]);
    assert!(!stripped.contains(HEADER));
    assert!(stripped.starts_with("toolformer access: "));
}

#[test]
fn spans_are_sorted_and_capped() {
    let (rows, _) = toolformer(400, 3);
    let t = detect(&rows, &TemplateParams::default());
    for w in t.spans.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        assert!(
            a.rows > b.rows
                || (a.rows == b.rows
                    && (a.text.chars().count() > b.text.chars().count()
                        || (a.text.chars().count() == b.text.chars().count() && a.text < b.text))),
            "{a:?} before {b:?}"
        );
    }
    let capped = detect(
        &rows,
        &TemplateParams {
            max_spans: 3,
            ..TemplateParams::default()
        },
    );
    assert_eq!(capped.spans, t.spans[..3]);
    assert!(capped.template_fraction < t.template_fraction);
}

#[test]
fn prefix_not_line_aligned() {
    let sentences = sentences(400, 11, true);
    let rows: Vec<String> = sentences.iter().map(|s| format!("{FRENCH} {s}")).collect();
    let t = detect(&rows, &TemplateParams::default());
    assert_eq!(
        t.spans,
        vec![CommonSpan {
            kind: SpanKind::Prefix,
            text: FRENCH.to_string(),
            rows: 400,
            share: 1.0,
        }]
    );
    let stripper = t.stripper(0.5);
    for (row, s) in rows.iter().zip(&sentences) {
        let out = stripper.strip(row);
        assert_eq!(out, s.as_str());
        // No copy needed: the result borrows the row.
        assert!(matches!(out, Cow::Borrowed(_)));
    }
    assert!(t.template_fraction > 0.4 && t.template_fraction < 0.8);
}

#[test]
fn prefix_does_not_match_inside_a_word() {
    let t = Templates {
        rows: 2,
        spans: vec![CommonSpan {
            kind: SpanKind::Prefix,
            text: "Please answer the next question".to_string(),
            rows: 2,
            share: 1.0,
        }],
        template_fraction: 0.0,
    };
    let s = t.stripper(1.0);
    assert_eq!(s.strip("Please answer the next question: why?"), ": why?");
    assert_eq!(
        s.strip("Please answer the next question"),
        "Please answer the next question"
    );
    let mid_word = "Please answer the next questionnaire now";
    assert!(matches!(s.strip(mid_word), Cow::Borrowed(x) if std::ptr::eq(x, mid_word)));
}

#[test]
fn cut_stops_at_word_boundaries() {
    let cut_fwd = |a: &'static str, b: &str| cut(a, b, Dir::Fwd.lcp(a, b), Dir::Fwd, 1);
    assert_eq!(cut_fwd("Hello there world", "Hello thermal"), Some("Hello"));
    assert_eq!(cut_fwd("Hello world.", "Hello world!"), Some("Hello world"));
    assert_eq!(cut_fwd("Say: \"yes\"", "Say: \"no\""), Some("Say:"));
    assert_eq!(cut_fwd("Task:Translate", "Task:Summarize"), Some("Task:"));
    assert_eq!(cut_fwd("abc", "abd"), None);
    let cut_rev = |a: &'static str, b: &str| cut(a, b, Dir::Rev.lcp(a, b), Dir::Rev, 1);
    assert_eq!(
        cut_rev("Why? Answer now.", "How? Answer now."),
        Some("Answer now.")
    );
    assert_eq!(
        cut_rev("x Answer now.", "y Answer now."),
        Some("Answer now.")
    );
    assert_eq!(cut_rev("the wording", "a sing"), None);
    // Multi-byte chars: the common bytes of 'é' (C3 A9) and 'è' (C3 A8) are not a char.
    assert_eq!(Dir::Fwd.lcp("caf\u{e9}", "caf\u{e8}"), 3);
    assert_eq!(Dir::Rev.lcp("\u{e9}x", "\u{e8}x"), 1);
    assert_eq!(Dir::Rev.lcp("a\u{e9}", "b\u{e9}"), 2);
}

#[test]
fn suffix_template() {
    let questions = sentences(400, 5, false);
    let suffix = "Respond in formal English and cite your sources.";
    let rows: Vec<String> = questions
        .iter()
        .map(|q| format!("Why {q}? {suffix}"))
        .collect();
    let t = detect(&rows, &TemplateParams::default());
    assert_eq!(t.spans.len(), 1, "{:#?}", t.spans);
    assert_eq!(t.spans[0].kind, SpanKind::Suffix);
    assert_eq!(t.spans[0].text, suffix);
    assert_eq!(t.spans[0].rows, 400);
    let stripper = t.stripper(1.0);
    for (row, q) in rows.iter().zip(&questions) {
        assert_eq!(stripper.strip(row), format!("Why {q}?"));
    }
}

#[test]
fn lines_then_prefix() {
    let sentences = sentences(300, 21, true);
    let header = "You are a helpful assistant.";
    let rows: Vec<String> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i % 2 == 0 {
                format!("{header}\r\n\r\n{FRENCH}\t{s}\r\n")
            } else {
                format!("{FRENCH} {s}\n\n{header}")
            }
        })
        .collect();
    let t = detect(&rows, &TemplateParams::default());
    let got = kinds_texts_rows(&t);
    assert_eq!(
        got,
        vec![
            (SpanKind::Prefix, FRENCH, 300),
            (SpanKind::Line, header, 300)
        ]
    );
    let stripper = t.stripper(0.5);
    for (row, s) in rows.iter().zip(&sentences) {
        assert_eq!(stripper.strip(row), s.as_str());
    }
}

#[test]
fn all_template_row_is_kept_whole() {
    let mut rows: Vec<String> = sentences(200, 2, true)
        .iter()
        .map(|s| format!("Header line\n{FRENCH} {s}"))
        .collect();
    rows.push(format!("Header line\n{FRENCH}"));
    rows.push("Header line\n".to_string());
    rows.push(FRENCH.to_string());
    let t = detect(&rows, &TemplateParams::default());
    let kinds: Vec<SpanKind> = t.spans.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, vec![SpanKind::Prefix, SpanKind::Line]);
    assert_eq!(t.spans[0].rows, 202);
    // "Header line\n" has one line: a value, not a template around one.
    assert_eq!(t.spans[1].rows, 201);
    let stripper = t.stripper(0.05);
    for row in &rows[200..] {
        let out = stripper.strip(row);
        assert!(
            matches!(out, Cow::Borrowed(x) if std::ptr::eq(x, row.as_str())),
            "{out:?}"
        );
    }
    // A single row has nothing in common with others. Two equal one-line rows share
    // their whole text (found as a prefix and a suffix, not as a line: a one-line row
    // is a value); they are embedded whole, so none of it counts as template.
    let one = Templates::detect(1, |_| FRENCH, &TemplateParams::default());
    assert!(one.spans.is_empty());
    let two = Templates::detect(2, |_| FRENCH, &TemplateParams::default());
    assert!(two
        .spans
        .iter()
        .all(|s| s.kind != SpanKind::Line && s.rows == 2));
    assert_eq!(two.template_fraction, 0.0);
    assert_eq!(two.stripper(1.0).strip(FRENCH), FRENCH);
}

#[test]
fn unique_texts_have_no_spans() {
    let syll = ["ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "ve", "zu"];
    let mut rng = Lcg(99);
    let rows: Vec<String> = (0..500)
        .map(|_| {
            (0..8)
                .map(|_| format!("{}{}{}", rng.pick(&syll), rng.pick(&syll), rng.pick(&syll)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let t = detect(&rows, &TemplateParams::default());
    assert!(t.spans.is_empty(), "{:?}", t.spans);
    assert_eq!(t.template_fraction, 0.0);
    let stripper = t.stripper(0.05);
    assert!(stripper.is_empty());
    assert!(matches!(stripper.strip(&rows[0]), Cow::Borrowed(_)));
    assert_eq!(
        Templates::detect(0, |_| "", &TemplateParams::default()).rows,
        0
    );
}

#[test]
fn min_rows_on_tiny_inputs() {
    let rows = ["common line\nA", "common line\r\nB", "other\nC"].map(String::from);
    let t = detect(&rows, &TemplateParams::default());
    assert_eq!(t.spans.len(), 1);
    assert_eq!(t.spans[0].kind, SpanKind::Line);
    assert_eq!(t.spans[0].text, "common line");
    assert_eq!(t.spans[0].rows, 2);
    assert!((t.spans[0].share - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(t.stripper(0.5).strip(&rows[1]), "B");
    assert_eq!(t.stripper(0.5).strip(&rows[2]), "other\nC");
    let strict = TemplateParams {
        min_rows: 3,
        ..TemplateParams::default()
    };
    assert!(detect(&rows, &strict).spans.is_empty());
    // Blank lines are never spans.
    let blank = ["a\n  \n\nb", "c\n  \n\nd"].map(String::from);
    assert!(detect(&blank, &TemplateParams::default()).spans.is_empty());
}

#[test]
fn sampled_matches_unsampled() {
    let small = TemplateParams {
        sample: 50,
        ..TemplateParams::default()
    };
    let (tool_rows, _) = toolformer(1000, 13);
    let prefix_rows: Vec<String> = sentences(400, 17, true)
        .iter()
        .map(|s| format!("{FRENCH} {s}"))
        .collect();
    let suffix_rows: Vec<String> = sentences(400, 19, false)
        .iter()
        .map(|s| format!("Tell me why {s}? Respond in formal English and cite your sources."))
        .collect();
    for rows in [&tool_rows, &prefix_rows, &suffix_rows] {
        let full = detect(rows, &TemplateParams::default());
        let sampled = detect(rows, &small);
        assert!(!full.spans.is_empty());
        assert_eq!(sampled, full);
        assert_eq!(
            sampled.stripper(0.05).fingerprint(),
            full.stripper(0.05).fingerprint()
        );
    }
    // Exact counts, not sample counts.
    let t = detect(&tool_rows, &small);
    for span in &t.spans {
        let exact = tool_rows
            .iter()
            .filter(|r| r.lines().any(|l| l == span.text))
            .count() as u64;
        assert_eq!(span.rows, exact);
    }
    // A line below the share on all rows is dropped by the exact recount even when the
    // sample over-represents it: rows 0, 20, 40, ... are the sample of 50 out of 1000.
    let rows: Vec<String> = (0..1000)
        .map(|i| {
            if i % 20 == 0 && i < 200 {
                format!("rare line\n{i}")
            } else {
                format!("row {i}")
            }
        })
        .collect();
    assert!(detect(&rows, &small).spans.is_empty());
}

#[test]
fn non_ascii() {
    let prefix = "🤖 系统提示：请将下面的句子翻译成英文，并保持原意不变：";
    let suffix = "—— 请直接给出译文，不要添加任何解释，谢谢您的帮助！🙏";
    let subjects = [
        "我", "我们", "你", "你们", "他", "他们", "老师", "学生", "医生", "孩子", "朋友", "邻居",
    ];
    let verbs = ["喜欢", "讨厌", "购买", "出售", "修理", "画", "寻找", "需要"];
    let objects = [
        "苹果",
        "自行车",
        "房子",
        "花园",
        "电脑",
        "小狗",
        "咖啡",
        "雨伞",
        "桌子",
        "书",
    ];
    let mut rng = Lcg(5);
    let bodies: Vec<String> = (0..300)
        .map(|_| {
            format!(
                "{}{}{}。",
                rng.pick(&subjects),
                rng.pick(&verbs),
                rng.pick(&objects)
            )
        })
        .collect();
    let rows: Vec<String> = bodies
        .iter()
        .map(|b| format!("{prefix}{b} {suffix}"))
        .collect();
    let t = detect(&rows, &TemplateParams::default());
    let got = kinds_texts_rows(&t);
    // Equal rows and chars: text order ('—' before '🤖').
    assert_eq!(
        got,
        vec![
            (SpanKind::Suffix, suffix, 300),
            (SpanKind::Prefix, prefix, 300)
        ]
    );
    let stripper = t.stripper(0.5);
    for (row, b) in rows.iter().zip(&bodies) {
        assert_eq!(stripper.strip(row), b.as_str());
    }
    // Emoji in a common line.
    let emoji: Vec<String> = (0..100)
        .map(|i| format!("🎉🎉 Celebrate the special occasion with us 🎉🎉\nParty number {i} 🎈"))
        .collect();
    let t = detect(&emoji, &TemplateParams::default());
    assert_eq!(t.spans.len(), 1);
    assert_eq!(
        t.spans[0].text,
        "🎉🎉 Celebrate the special occasion with us 🎉🎉"
    );
}

#[test]
fn fingerprint_and_serialisation() {
    let (rows, _) = toolformer(300, 1);
    let t = detect(&rows, &TemplateParams::default());
    let mut reversed = rows.clone();
    reversed.reverse();
    let r = detect(&reversed, &TemplateParams::default());
    assert_eq!(r.spans, t.spans);
    assert_eq!(
        t.stripper(0.05).fingerprint(),
        r.stripper(0.05).fingerprint()
    );
    assert_eq!(
        t.stripper(0.05).fingerprint(),
        t.stripper(0.05).fingerprint()
    );
    assert_ne!(
        t.stripper(0.05).fingerprint(),
        t.stripper(1.0).fingerprint()
    );
    assert_ne!(
        t.stripper(1.0).fingerprint(),
        Stripper::default().fingerprint()
    );
    assert_eq!(
        t.stripper(1.01).fingerprint(),
        Stripper::default().fingerprint()
    );
    // The same text as a different kind is a different stripper.
    let as_kind = |kind| {
        Templates {
            rows: 1,
            spans: vec![CommonSpan {
                kind,
                text: "Some shared template text here".to_string(),
                rows: 1,
                share: 1.0,
            }],
            template_fraction: 0.0,
        }
        .stripper(1.0)
        .fingerprint()
    };
    assert_ne!(as_kind(SpanKind::Line), as_kind(SpanKind::Prefix));
    assert_ne!(as_kind(SpanKind::Prefix), as_kind(SpanKind::Suffix));

    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["rows"], 300);
    assert_eq!(json["spans"][0]["kind"], "line");
    assert_eq!(json["spans"][0]["text"], HEADER);
    assert_eq!(json["spans"][0]["share"], 1.0);
}

/// Random rows mixing common lines, prefixes and suffixes (with multi-byte chars) and
/// random text: every reported count is exact, and stripping never panics.
#[test]
fn random_rows_have_exact_counts() {
    let lines = [
        "### Système",
        "规则：只用中文",
        "  indented common line ",
        "Ωmega line 🎯",
    ];
    let prefixes = [
        "Réponds à la question suivante, s'il te plaît:",
        "请回答下面的问题，并给出详细的理由：",
        "Answer the question below (be brief)",
    ];
    let suffixes = [
        "— fin de la consigne ✅",
        "Think step by step before answering.",
    ];
    let alphabet: Vec<char> = "abcdeé 中文字😀,.:-\n".chars().collect();
    for seed in 0..6u64 {
        let mut rng = Lcg(seed);
        let rows: Vec<String> = (0..(150 + 60 * seed as usize))
            .map(|_| {
                let mut parts: Vec<String> = Vec::new();
                for l in lines {
                    if rng.below(3) == 0 {
                        parts.push(l.to_string());
                    }
                }
                let mut body = String::new();
                if rng.below(2) == 0 {
                    body.push_str(prefixes[rng.below(prefixes.len())]);
                    body.push(' ');
                }
                for _ in 0..rng.below(30) {
                    body.push(alphabet[rng.below(alphabet.len())]);
                }
                if rng.below(2) == 0 {
                    body.push(' ');
                    body.push_str(suffixes[rng.below(suffixes.len())]);
                }
                parts.insert(rng.below(parts.len() + 1), body);
                parts.join(if rng.below(2) == 0 { "\n" } else { "\r\n" })
            })
            .collect();
        for sample in [100_000, 37] {
            let params = TemplateParams {
                sample,
                min_span_chars: 10,
                ..TemplateParams::default()
            };
            let t = detect(&rows, &params);
            assert!((0.0..=1.0).contains(&t.template_fraction));
            let reported_lines =
                Stripper::from_spans(t.spans.iter().filter(|s| s.kind == SpanKind::Line));
            for span in &t.spans {
                let exact = rows
                    .iter()
                    .filter(|r| match span.kind {
                        SpanKind::Line => {
                            multi_line(r) && r.split('\n').any(|l| strip_cr(l) == span.text)
                        }
                        SpanKind::Prefix => {
                            Dir::Fwd.matches(&reported_lines.strip_lines(r).0, &span.text)
                        }
                        SpanKind::Suffix => {
                            Dir::Rev.matches(&reported_lines.strip_lines(r).0, &span.text)
                        }
                    })
                    .count() as u64;
                assert_eq!(span.rows, exact, "{span:?}");
                assert_eq!(span.share, exact as f64 / rows.len() as f64);
                assert!(span.share >= params.min_share && span.rows >= params.min_rows);
                assert!(!span.text.trim().is_empty());
            }
            for l in lines {
                assert!(
                    t.spans
                        .iter()
                        .any(|s| s.kind == SpanKind::Line && s.text == l),
                    "{l:?}"
                );
            }
            let stripper = t.stripper(0.05);
            for r in &rows {
                let out = stripper.strip(r);
                assert!(
                    std::ptr::eq(out.as_ref(), r.as_str()) || out.trim() == out && !out.is_empty()
                );
            }
        }
    }
}
