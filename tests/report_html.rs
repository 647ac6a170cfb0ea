//! `report.html` rendering: escaping of hostile dataset text, the Content Security
//! Policy, self-containment, chart and card counts, and (with `--ignored`) a real
//! headless Chromium run of the page's script.

mod common;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use common::report_fixture::{hostile_report, input_only_report, BREAKOUT, IMG, QUOTES, SCRIPT};
use semsift::report::model::{Share, Topic};
use semsift::report::render_html;
use sha2::{Digest, Sha256};

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
    // The map's data block and the one script; nothing from the data ends either.
    assert_eq!(
        html.matches("<script").count(),
        2,
        "exactly the data block and the script"
    );
    assert_eq!(
        html.matches("<script type=\"application/json\" id=\"map-data\">")
            .count(),
        1
    );
    assert_eq!(html.matches("<script>").count(), 1);
    assert_eq!(html.matches("</script").count(), 2);
    assert!(!html.contains("<img") && !html.contains("<!--"));
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
    assert!(!script.contains("new Function") && !script.contains("insertAdjacentHTML"));
    // The map explorer is in it, and writes only text.
    assert!(script.contains("map-data") && script.contains("dataset.mapReady = \"1\""));
    assert!(!script.contains("outerHTML") && !script.contains("document.write"));
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
    let data = map_data(&html);
    check_map_data(&data, &report);
    assert_eq!(data["has_reference"], true);
    assert!(html.contains("id=\"map-show-reference\""));
    assert!(html.contains(
        "<p id=\"map-count\" class=\"map-count\" aria-live=\"polite\">120 of 120 rows</p>"
    ));
    // The layout's quality is in the note, beside PCA's.
    assert!(html.contains("the map keeps 62.0% on average (PCA: 31.0%)"));
    // One option per topic in the topic selector, labels escaped.
    assert_eq!(html.matches("<option value=\"").count(), 6 + 1 + 2);
    assert!(html.contains(&format!("<option value=\"0\">0: {}", escaped(SCRIPT))));
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
            "<tr data-topic=\"{id}\" data-fine-topic=\"{id}\"><td><a href=\"#topic-{id}\">"
        )));
    }
}

#[test]
fn input_only_report_has_no_gap_section() {
    let report = input_only_report();
    let html = render_html(&report);
    assert!(!html.contains("id=\"gaps\"") && !html.contains("href=\"#gaps\""));
    assert!(!html.contains("class=\"ref\"") && !html.contains("Reference share"));
    assert!(!html.contains("id=\"map-show-reference\"") && !html.contains("○ reference"));
    let data = map_data(&html);
    check_map_data(&data, &report);
    assert_eq!(data["has_reference"], false);
    assert!(numbers(&data["ref"]).iter().all(|&r| r == 0));
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
    report.fine_topics.clear();
    report.map.points.clear();
    report.map.quality = None;
    let html = render_html(&report);
    assert!(html.contains("No rows were sampled") && html.ends_with("</html>\n"));
    assert!(!html.contains("id=\"map-data\""));
    assert!(!html.contains("<canvas"));

    // Non-finite coordinates are left out; the rest are still on the map.
    let mut report = hostile_report();
    for p in &mut report.map.points {
        p.x = 1.0;
    }
    report.map.points[0].y = f32::NAN;
    report.map.points[1].x = f32::INFINITY;
    report.map.points[2].y = f32::NEG_INFINITY;
    report.topics[0].input.share = f64::NAN;
    report.fine_topics.clear();
    let html = render_html(&report);
    let data = map_data(&html);
    check_map_data(&data, &report);
    assert_eq!(numbers(&data["x"]).len(), report.map.points.len() - 3);
    // A degenerate axis (every x the same) quantises to 0.
    assert!(numbers(&data["x"]).iter().all(|&x| x == 0));
    let page = &html[..html.find("<script>").unwrap_or(html.len())];
    assert!(
        !page.contains("NaN") && !page.contains("inf"),
        "non-finite numbers written"
    );

    // Every point non-finite, or one point alone: an empty or a one-point map.
    for keep in [0, 1] {
        let mut report = hostile_report();
        for (i, p) in report.map.points.iter_mut().enumerate() {
            if i >= keep {
                p.x = f32::NAN;
            }
        }
        let html = render_html(&report);
        let data = map_data(&html);
        check_map_data(&data, &report);
        assert_eq!(numbers(&data["x"]).len(), keep);
        assert!(html.contains(&format!(">{keep} of {keep} rows</p>")));
    }
}

/// The map's data block, parsed (the `\u003c` escapes read back as `<`).
fn map_data(html: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"map-data\">";
    let start = html.find(open).expect("the map's data block") + open.len();
    let end = html[start..].find("</script>").expect("its end") + start;
    let json = &html[start..end];
    for raw in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
        assert!(!json.contains(raw), "raw {raw:?} in the data block");
    }
    serde_json::from_str(json).expect("the data block is JSON")
}

/// A JSON array of numbers.
fn numbers(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("a number"))
        .collect()
}

/// The data block holds one entry per finite point of `report`, in order, with its
/// coordinates quantised over the bounding box, its row, set, flags, topics and text,
/// and every topic named with its colour and label position.
fn check_map_data(data: &serde_json::Value, report: &semsift::report::Report) {
    let points: Vec<_> = report
        .map
        .points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let n = points.len();
    let column = |name: &str| numbers(&data[name]);
    for name in ["x", "y", "topic", "fine", "ref", "row", "copies", "flags"] {
        assert_eq!(column(name).len(), n, "{name}");
    }
    let texts: Vec<&str> = data["text"]
        .as_array()
        .expect("texts")
        .iter()
        .map(|t| t.as_str().expect("a text"))
        .collect();
    let expected: Vec<&str> = points.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, expected);
    let fine_level = !report.fine_topics.is_empty();
    let (x, y) = (column("x"), column("y"));
    let lo = |f: fn(&&semsift::report::model::MapPoint) -> f32| {
        points
            .iter()
            .map(f)
            .fold(f64::MAX, |a, b| a.min(f64::from(b)))
    };
    let hi = |f: fn(&&semsift::report::model::MapPoint) -> f32| {
        points
            .iter()
            .map(f)
            .fold(f64::MIN, |a, b| a.max(f64::from(b)))
    };
    let (x0, x1, y0, y1) = (lo(|p| p.x), hi(|p| p.x), lo(|p| p.y), hi(|p| p.y));
    let span = (x1 - x0).max(y1 - y0);
    let q = |v: f64| match span > 0.0 {
        true => (v / span * 65535.0).round() as u64,
        false => 0,
    };
    for (i, p) in points.iter().enumerate() {
        assert_eq!(x[i], q(f64::from(p.x) - x0), "x of point {i}");
        assert_eq!(y[i], q(y1 - f64::from(p.y)), "y of point {i} (flipped)");
        assert_eq!(column("topic")[i], p.topic as u64);
        let fine = if fine_level { p.fine_topic } else { p.topic };
        assert_eq!(column("fine")[i], fine as u64);
        assert_eq!(column("ref")[i], u64::from(p.reference));
        assert_eq!(column("row")[i], p.row);
        assert_eq!(column("copies")[i], u64::from(p.copies));
        let flags = u64::from(p.near_duplicate) | u64::from(p.outlier) << 1;
        assert_eq!(column("flags")[i], flags, "flags of point {i}");
    }
    if n > 0 {
        let top = if span > 0.0 { 65535 } else { 0 };
        assert_eq!(x.iter().chain(&y).max().copied(), Some(top));
    }
    // Both topic levels, every id a point names among them, each with its colour and,
    // where it has points, a label position among theirs.
    for (level, ids) in [("topics", "topic"), ("fine_topics", "fine")] {
        let topics = data[level].as_array().expect("topics");
        for id in column(ids) {
            assert!(
                topics.iter().any(|t| t["id"] == id),
                "{level}: {id} missing"
            );
        }
        for t in topics {
            let colour = t["colour"].as_str().expect("a colour");
            assert!(colour.len() == 7 && colour.starts_with('#'), "{colour}");
            let members: Vec<usize> = (0..n)
                .filter(|&i| Some(column(ids)[i]) == t["id"].as_u64())
                .collect();
            assert_eq!(t["n"], members.len(), "{level} {}", t["id"]);
            if let Some(at) = t["x"].as_u64() {
                assert!(members.iter().any(|&i| x[i] <= at) && members.iter().any(|&i| x[i] >= at));
            } else {
                assert!(members.is_empty());
            }
        }
        assert!(topics
            .iter()
            .all(|t| level == "topics" || t["parent"].is_u64()));
    }
    for t in &report.topics {
        let entry = data["topics"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["id"] == t.id))
            .expect("every topic of the report");
        assert_eq!(entry["label"], t.label.as_str());
    }
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
    assert!(
        body_tag.contains("data-map-ready=\"1\""),
        "map explorer did not start: {body_tag}"
    );
    assert!(dom.contains("<canvas id=\"map-canvas\"") && dom.contains("<svg class=\"chart bars\""));
    assert!(dom.contains("data-frames=\"") && dom.contains(">120 of 120 rows</p>"));
    // The table lists the rows, their hostile text as text.
    assert_eq!(dom.matches("<tr data-i=\"").count(), 120);
    assert!(
        dom.contains("<table class=\"sortable missing\"")
            && dom.contains("<table class=\"sortable topics\"")
    );
    assert_eq!(dom.matches("<article class=\"card topic\"").count(), 6);
    assert!(!dom.contains("<img"));
}
