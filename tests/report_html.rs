//! `report.html` rendering: escaping of hostile dataset text, the Content Security
//! Policy, self-containment, chart and card counts, and (with `--ignored`) a real
//! headless Chromium run of the page's script.

mod common;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use semsift::dataset::template::{ColumnTemplates, CommonSpan, SpanKind, Templates};
use semsift::report::model::{
    ClusteringInfo, Coverage, Diversity, Example, Gap, Keyword, Map, MapPoint, Report,
    SetDiversity, SetInfo, Share, Topic, SCHEMA,
};
use semsift::report::render_html;
use sha2::{Digest, Sha256};

const SCRIPT: &str = "<script>alert(1)</script>";
const BREAKOUT: &str = "</script><script>document.body.dataset.pwned=1</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const JS_URL: &str = "javascript:alert(1)";
const QUOTES: &str = "it's \"quoted\" & 'single'";

/// Every hostile string that contains a character HTML escaping must change.
const HOSTILE: [&str; 4] = [SCRIPT, BREAKOUT, IMG, QUOTES];

/// The escaping the page must use: `& < > " '`.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn set(path: &str, rows: u64) -> SetInfo {
    SetInfo {
        path: path.to_string(),
        rows,
        unique_rows: rows - 3,
        empty_rows: 2,
        skipped_rows: 0,
    }
}

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

/// Six topics over two sets, with hostile text wherever the data can put text.
fn hostile_report() -> Report {
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
        .collect();
    let points = (0..120)
        .map(|i| MapPoint {
            x: (i as f32 * 0.37).sin() * 3.0,
            y: (i as f32 * 0.11).cos() * 2.0 - 1.0,
            topic: i % 6,
            reference: i.is_multiple_of(3),
        })
        .collect();
    let gap = |topic: usize, ratio: f64| Gap {
        topic,
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
        },
        near_duplicate_threshold: 0.95,
        diversity: Diversity {
            input: diversity(4.8),
            reference: Some(diversity(4.1)),
        },
        coverage: Some(Coverage {
            js_divergence_bits: 0.21,
            kl_reference_input_bits: 1.7,
            coverage: 0.55,
            coverage_threshold: 0.5,
            smoothing: format!("add-one {QUOTES}"),
            missing: vec![gap(5, 0.01), gap(2, 0.4), gap(1, 0.6)],
            over: vec![gap(0, 3.0)],
        }),
        topics,
        map: Map {
            method: format!("PCA {BREAKOUT}"),
            explained_variance: [0.31, 0.12],
            points,
        },
        timings_s: timings,
        devices: serde_json::Map::new(),
    }
}

/// The report without a reference set.
fn input_only_report() -> Report {
    let mut r = hostile_report();
    r.reference = None;
    r.coverage = None;
    r.diversity.reference = None;
    for t in &mut r.topics {
        t.reference = None;
    }
    for p in &mut r.map.points {
        p.reference = false;
    }
    r
}

/// The text between the page's one `<script>` and `</script>`.
fn inline_script(html: &str) -> &str {
    let start = html.find("<script>").expect("a <script> element") + "<script>".len();
    let end = html[start..].find("</script>").expect("a </script>") + start;
    &html[start..end]
}

/// Every start tag outside `<script>`/`<style>`: `(name, [(attribute, value)])`.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let end = rest.find('>').expect("tag end");
        let tag = &rest[..end];
        let name_end = tag
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(tag.len());
        let name = tag[..name_end].to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut a = tag[name_end..].trim_start_matches(['/', ' ']);
        while !a.is_empty() {
            let eq = a
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(a.len());
            let attr = a[..eq].to_ascii_lowercase();
            a = &a[eq..];
            let mut value = String::new();
            if let Some(v) = a.strip_prefix("=\"") {
                let close = v.find('"').expect("closing quote");
                value = v[..close].to_string();
                a = &v[close + 1..];
            }
            attrs.push((attr, value));
            a = a.trim_start_matches(['/', ' ']);
        }
        rest = &rest[end..];
        if name == "script" || name == "style" {
            let close = rest.find(&format!("</{name}>")).expect("closing tag");
            rest = &rest[close..];
        }
        out.push((name, attrs));
    }
    out
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let html = render_html(&hostile_report());
    for raw in HOSTILE {
        assert!(!html.contains(raw), "raw {raw:?} in the page");
        assert!(html.contains(&escaped(raw)), "escaped {raw:?} missing");
    }
    assert_eq!(
        html.matches("<script").count(),
        1,
        "exactly one script element"
    );
    assert_eq!(html.matches("</script").count(), 1);
    assert!(!html.contains("<img"));
    assert!(html.contains("<title>semsift report: data/&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The hostile strings appear in SVG tooltips too, escaped.
    assert!(html.contains("<title>Topic 0: &lt;script&gt;alert(1)&lt;/script&gt;, alpha, beta"));
    let tags = tags(&html);
    assert!(tags.len() > 200, "{} tags", tags.len());
    let sections = ["#summary", "#map", "#shares", "#gaps", "#topics"];
    for (name, attrs) in &tags {
        for (attr, value) in attrs {
            assert!(!attr.starts_with("on"), "<{name} {attr}>");
            assert!(
                !matches!(attr.as_str(), "src" | "srcdoc" | "action" | "formaction"),
                "<{name} {attr}>"
            );
            assert!(
                !value.to_ascii_lowercase().contains("javascript:"),
                "<{name} {attr}={value:?}>"
            );
            if attr == "href" || attr == "xlink:href" {
                let topic = value
                    .strip_prefix("#topic-")
                    .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
                assert!(
                    topic || sections.contains(&value.as_str()),
                    "<{name} href={value:?}>"
                );
            }
        }
    }
    assert!(!tags.iter().any(|(name, _)| [
        "img", "iframe", "object", "embed", "link", "base", "form"
    ]
    .contains(&name.as_str())));
}

#[test]
fn csp_allows_exactly_the_inline_script() {
    let html = render_html(&hostile_report());
    let hash = BASE64_STANDARD.encode(Sha256::digest(inline_script(&html).as_bytes()));
    let csp = tags(&html)
        .into_iter()
        .filter(|(name, _)| name == "meta")
        .find_map(|(_, attrs)| {
            let is_csp = attrs
                .iter()
                .any(|(a, v)| a == "http-equiv" && v == "Content-Security-Policy");
            let content = attrs
                .iter()
                .find(|(a, _)| a == "content")
                .map(|(_, v)| v.clone());
            content.filter(|_| is_csp)
        })
        .expect("a CSP meta element");
    assert!(
        csp.starts_with("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}'")),
        "{csp} vs {hash}"
    );
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'unsafe-inline'"));
    // The policy comes before anything it governs.
    let meta = html.find("Content-Security-Policy").unwrap_or(usize::MAX);
    assert!(meta < html.find("<style").unwrap_or(0) && meta < html.find("<script").unwrap_or(0));
    let script = inline_script(&html);
    assert!(script.contains("window.onerror") && script.contains("dataset.ready = \"1\""));
    assert!(!script.contains("innerHTML") && !script.contains("eval("));
}

#[test]
fn page_is_self_contained() {
    let html = render_html(&hostile_report());
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    assert!(!html.contains("url(") && !html.contains("@import") && !html.contains("@font-face"));
}

#[test]
fn one_marker_per_map_point_and_one_card_per_topic() {
    let report = hostile_report();
    let html = render_html(&report);
    assert_eq!(html.matches("<circle").count(), report.map.points.len());
    let reference_points = report.map.points.iter().filter(|p| p.reference).count();
    assert_eq!(
        html.matches("<circle class=\"r\"").count(),
        reference_points
    );
    assert!(
        html.contains("axis 1 · 31.0% of variance") && html.contains("axis 2 · 12.0% of variance")
    );
    let mut positions = Vec::new();
    for t in &report.topics {
        let anchor = format!(
            "<article class=\"card topic\" id=\"topic-{}\" data-topic=\"{}\"",
            t.id, t.id
        );
        assert_eq!(html.matches(&anchor).count(), 1, "card of topic {}", t.id);
        positions.push((html.find(&anchor).unwrap_or(0), t.id));
    }
    positions.sort();
    let order: Vec<usize> = positions.iter().map(|&(_, id)| id).collect();
    // By the larger of input and reference share: 5 (40% ref), 0 (30%), 1 (25%), 2, 3, 4.
    assert_eq!(order, [5, 0, 1, 2, 3, 4]);
    // Share chart: one bar row per topic, input and reference bars, in the same order.
    assert_eq!(html.matches("<g class=\"bar\"").count(), 6);
    assert_eq!(
        html.matches("<rect class=\"ref\"").count(),
        6 + 1,
        "six bars and the legend"
    );
    assert!(html.contains("<section id=\"gaps\""));
    assert!(
        html.contains("40.0%")
            && html.contains("0.00%")
            && html.contains("cosine\u{a0}≥\u{a0}0.95")
    );
    assert_eq!(
        html.matches("<span class=\"badge missing\">").count(),
        2,
        "topics 5 and 2"
    );
    assert_eq!(
        html.matches("<span class=\"badge thin\">").count(),
        1,
        "topic 1"
    );
    assert_eq!(
        html.matches("<span class=\"badge over\">").count(),
        1,
        "topic 0"
    );
    assert_eq!(
        html.matches("<td>yes</td>").count(),
        2,
        "topics 1 and 0 are covered"
    );
    for id in [5, 2, 1, 0] {
        assert!(html.contains(&format!(
            "<tr data-topic=\"{id}\"><td><a href=\"#topic-{id}\">"
        )));
    }
}

#[test]
fn input_only_report_has_no_gap_section() {
    let report = input_only_report();
    let html = render_html(&report);
    assert!(!html.contains("id=\"gaps\"") && !html.contains("href=\"#gaps\""));
    assert!(!html.contains("class=\"ref\"") && !html.contains("Reference share"));
    assert!(!html.contains("<circle class=\"r\""));
    assert_eq!(html.matches("<circle").count(), report.map.points.len());
    assert_eq!(html.matches("<article class=\"card topic\"").count(), 6);
    for raw in HOSTILE {
        assert!(!html.contains(raw), "raw {raw:?} in the page");
    }
}

#[test]
fn share_chart_shows_the_top_40() {
    let mut report = input_only_report();
    let template = report.topics[0].clone();
    report.topics = (0..1000)
        .map(|id| Topic {
            id,
            label: format!("topic {id}"),
            input: Share {
                rows: 1000 - id as u64,
                share: (1000 - id) as f64 / 500_500.0,
            },
            ..template.clone()
        })
        .collect();
    report.clustering.k = 1000;
    let html = render_html(&report);
    assert_eq!(html.matches("<g class=\"bar\"").count(), 40);
    assert!(
        html.contains("Top 40 of 1000 topics shown; 960 more hold"),
        "note on the rest"
    );
    // The largest topics are the ones shown.
    assert!(
        html.contains("<g class=\"bar\" data-topic=\"39\"")
            && !html.contains("<g class=\"bar\" data-topic=\"40\"")
    );
    assert_eq!(html.matches("<article class=\"card topic\"").count(), 1000);
}

#[test]
fn degenerate_reports_render() {
    let mut report = input_only_report();
    report.topics.clear();
    report.map.points.clear();
    report.map.explained_variance = [f64::NAN, f64::INFINITY];
    let html = render_html(&report);
    assert!(html.contains("No rows were sampled") && html.ends_with("</html>\n"));
    let mut report = hostile_report();
    for p in &mut report.map.points {
        p.x = 1.0;
    }
    report.map.points[0].y = f32::NAN;
    report.topics[0].input.share = f64::NAN;
    let html = render_html(&report);
    assert_eq!(html.matches("<circle").count(), report.map.points.len() - 1);
    let page = &html[..html.find("<script>").unwrap_or(html.len())];
    assert!(
        !page.contains("NaN") && !page.contains("inf"),
        "non-finite numbers written"
    );
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn page_runs_in_headless_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("report.html");
    std::fs::write(&page, render_html(&hostile_report())).expect("write report.html");
    let dom = common::browser::rendered_dom(&page, dir.path());
    let body_tag = common::browser::body_tag(&dom);
    assert!(
        body_tag.contains("data-ready=\"1\""),
        "script did not finish: {body_tag}"
    );
    assert!(
        !body_tag.contains("data-errors"),
        "script errors: {body_tag}"
    );
    assert!(!dom.contains("data-pwned"), "data ran as script");
    assert!(dom.contains("<svg class=\"chart map\"") && dom.contains("<svg class=\"chart bars\""));
    assert!(
        dom.contains("<table class=\"sortable missing\"")
            && dom.contains("<table class=\"sortable topics\"")
    );
    assert_eq!(dom.matches("<article class=\"card topic\"").count(), 6);
    assert!(!dom.contains("<img"));
}
