//! The hostile `Report` the report tests render: six topics over two sets, with text
//! that would run as script, break out of an element or attribute, or smuggle a
//! `javascript:` URL wherever a dataset can put text.

use semsift::dataset::template::{ColumnTemplates, CommonSpan, SpanKind, Templates};
use semsift::report::model::{
    ClusteringInfo, Coverage, Diversity, Example, FineTopic, Gap, Keyword, Map, MapPoint,
    MapQuality, Report, SetDiversity, SetInfo, Share, Topic, SCHEMA,
};

/// A script element.
pub const SCRIPT: &str = "<script>alert(1)</script>";
/// Ends the page's script element and starts one that marks the body `data-pwned`.
pub const BREAKOUT: &str = "</script><script>document.body.dataset.pwned=1</script>";
/// Leaves an attribute value and adds an element with an event handler.
pub const IMG: &str = "\"><img src=x onerror=alert(1)>";
/// A `javascript:` URL.
pub const JS_URL: &str = "javascript:alert(1)";
/// Both quotes and an ampersand.
pub const QUOTES: &str = "it's \"quoted\" & 'single'";

/// A set of `rows` rows at `path`.
fn set(path: &str, rows: u64) -> SetInfo {
    SetInfo {
        path: path.to_string(),
        rows,
        unique_rows: rows - 3,
        empty_rows: 2,
        skipped_rows: 0,
    }
}

/// A set's diversity with `effective` effective topics.
fn diversity(effective: f64) -> SetDiversity {
    SetDiversity {
        entropy_bits: effective.log2(),
        effective_topics: effective,
        evenness: effective / 6.0,
        largest_share: 0.3,
        topics_present: 6,
        near_duplicate_share: 0.0123,
    }
}

/// Six topics over two sets, with hostile text wherever the data can put text. The fine
/// level has one fine topic per topic, with the same id, so a gap names the same topic
/// at both levels.
pub fn hostile_report() -> Report {
    let labels = [
        format!("{SCRIPT}, alpha, beta"),
        format!("{BREAKOUT}, gamma"),
        format!("{IMG}, delta"),
        format!("{JS_URL}, epsilon"),
        format!("{QUOTES}, zeta"),
        "plain, topic, six".to_string(),
    ];
    let input = [0.30, 0.25, 0.20, 0.15, 0.10, 0.0];
    let reference = [0.10, 0.20, 0.05, 0.15, 0.10, 0.40];
    let topics = (0..6)
        .map(|id| Topic {
            id,
            label: labels[id].clone(),
            keywords: vec![
                Keyword {
                    term: SCRIPT.to_string(),
                    score: 0.9,
                },
                Keyword {
                    term: JS_URL.to_string(),
                    score: 0.5,
                },
                Keyword {
                    term: QUOTES.to_string(),
                    score: 0.25,
                },
                Keyword {
                    term: format!("word{id}"),
                    score: 0.1,
                },
            ],
            input: Share {
                rows: (input[id] * 1000.0) as u64,
                share: input[id],
            },
            reference: Some(Share {
                rows: (reference[id] * 500.0) as u64,
                share: reference[id],
            }),
            cohesion: 0.61,
            near_duplicates: 4,
            examples: vec![
                Example {
                    set: "input".into(),
                    row: 17,
                    similarity: 0.93,
                    text: format!("{BREAKOUT}\n{IMG}"),
                },
                Example {
                    set: "reference".into(),
                    row: 1234,
                    similarity: 0.88,
                    text: format!("{JS_URL} {QUOTES} {SCRIPT}"),
                },
            ],
        })
        .collect::<Vec<Topic>>();
    let fine_topics = topics
        .iter()
        .map(|t| FineTopic {
            id: t.id,
            parent: t.id,
            label: t.label.clone(),
            keywords: t.keywords.clone(),
            input: t.input,
            reference: t.reference,
            examples: t.examples[..1].to_vec(),
        })
        .collect();
    let texts = [SCRIPT, BREAKOUT, IMG, JS_URL, QUOTES];
    let points = (0..120)
        .map(|i| MapPoint {
            x: (i as f32 * 0.37).sin() * 3.0,
            y: (i as f32 * 0.11).cos() * 2.0 - 1.0,
            topic: i % 6,
            fine_topic: i % 6,
            reference: i.is_multiple_of(3),
            row: i as u64 * 7,
            copies: 1 + (i % 4 == 0) as u32,
            near_duplicate: i % 5 == 0,
            outlier: i % 11 == 0,
            text: format!("row {i}: {}\n{}", texts[i % 5], texts[(i + 2) % 5]),
        })
        .collect();
    let gap = |topic: usize, ratio: f64| Gap {
        topic,
        parent: topic,
        input_share: input[topic],
        reference_share: reference[topic],
        ratio,
        contribution_bits: 0.12,
        covered: ratio >= 0.5 && topic != 5,
    };
    let mut timings = serde_json::Map::new();
    timings.insert("read".into(), serde_json::json!(1.25));
    timings.insert(SCRIPT.into(), serde_json::json!(BREAKOUT));
    Report {
        schema: SCHEMA.to_string(),
        semsift_version: "0.1.0".into(),
        input: set(&format!("data/{SCRIPT}{IMG}.jsonl"), 1002),
        reference: Some(set(&format!("ref/{BREAKOUT}{QUOTES}.jsonl"), 502)),
        columns: vec![JS_URL.into(), QUOTES.into()],
        chat: Some(QUOTES.into()),
        strip_common: Some(0.05),
        templates: vec![ColumnTemplates {
            column: SCRIPT.into(),
            found: Templates {
                rows: 1002,
                spans: vec![
                    CommonSpan {
                        kind: SpanKind::Line,
                        text: format!("{SCRIPT}{IMG}"),
                        rows: 900,
                        share: 0.898,
                    },
                    CommonSpan {
                        kind: SpanKind::Prefix,
                        text: format!("{BREAKOUT} {JS_URL}"),
                        rows: 500,
                        share: 0.499,
                    },
                ],
                template_fraction: 0.7,
            },
            stripped_rows: 12,
        }],
        reference_templates: Some(vec![]),
        model: BREAKOUT.into(),
        clustering: ClusteringInfo {
            k: 6,
            k_rule: format!("given {IMG}"),
            fit_on: format!("both sets {SCRIPT}"),
            fit_rows: 1500,
            seed: 42,
            iterations: 17,
            converged: true,
            mean_cohesion: 0.6,
            fine_k: 6,
            fine_rule: format!("one per topic {QUOTES}"),
        },
        near_duplicate_threshold: 0.95,
        diversity: Diversity {
            input: diversity(4.8),
            reference: Some(diversity(4.1)),
        },
        coverage: Some(Coverage {
            level: format!("fine topics {SCRIPT}"),
            js_divergence_bits: 0.21,
            kl_reference_input_bits: 1.7,
            coverage: 0.55,
            coverage_threshold: 0.5,
            smoothing: format!("add-one {QUOTES}"),
            missing: vec![gap(5, 0.01), gap(2, 0.4), gap(1, 0.6)],
            over: vec![gap(0, 3.0)],
        }),
        topics,
        fine_topics,
        map: Map {
            method: format!("UMAP {BREAKOUT}"),
            sample: format!("all 120 rows {IMG}"),
            quality: Some(MapQuality {
                k: 10,
                sample: 120,
                preservation: 0.62,
                pca_preservation: 0.31,
                trustworthiness: 0.93,
                pca_trustworthiness: 0.81,
            }),
            points,
        },
        timings_s: timings,
        devices: serde_json::Map::new(),
    }
}

/// The report without a reference set.
pub fn input_only_report() -> Report {
    let mut r = hostile_report();
    r.reference = None;
    r.coverage = None;
    r.diversity.reference = None;
    for t in &mut r.topics {
        t.reference = None;
    }
    for t in &mut r.fine_topics {
        t.reference = None;
    }
    for p in &mut r.map.points {
        p.reference = false;
    }
    r
}
