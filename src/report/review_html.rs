//! `review.html`: one self-contained page rendered from a [`Review`]; the ids it keeps
//! stable are listed in [`super::review`].
//!
//! The rules are `report.html`'s: nothing from the network, the style sheet and one
//! script inlined, a Content Security Policy that allows only that script (by its
//! SHA-256), every text taken from the data through [`escape`] where it is written as
//! markup. The rows and their texts are a JSON data block ([`script_json`]) that the
//! script reads and writes into the page as text.

use std::fmt::Write;

use super::html::{escape, script_hash, script_json, stat_cards};
use super::review::{Review, ReviewPoint};
use super::svg::{int, num};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($($arg:tt)*) => {
        let _ = write!($($arg)*);
    };
}

const CSS: &str = include_str!("assets/report.css");
const REVIEW_CSS: &str = include_str!("assets/review.css");
const JS: &str = include_str!("assets/review.js");

/// Renders `review` as one self-contained HTML page (`review.html`): a summary, the
/// threshold slider with its counts and a chart of removed rows per threshold, and the
/// table of removed rows beside the rows they duplicate, built by the page's script.
pub fn render_review(review: &Review) -> String {
    // The HTML parser turns CR LF into LF before the browser hashes the script, so
    // hash (and write) the normalised text.
    let script = JS.replace("\r\n", "\n").replace('\r', "\n");
    let hash = script_hash(&script);
    let input = escape(&review.info.input);
    let data = script_json(review);
    let mut out = String::with_capacity(32 * 1024 + data.len());
    w!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'; \
         base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>semsift review: {input}</title>\n<style>\n{CSS}{REVIEW_CSS}</style>\n</head>\n<body>\n\
         <header class=\"top\"><h1>semsift review: <span class=\"path\">{input}</span></h1>"
    );
    if let Some(against) = &review.info.against {
        w!(
            out,
            "<p class=\"sub\">checked against reference <span class=\"path\">{}</span></p>",
            escape(against)
        );
    }
    out.push_str("</header>\n<main>\n");
    summary(&mut out, review);
    controls(&mut out, review);
    table(&mut out, review);
    w!(
        out,
        "</main>\n<footer><p>Written by semsift {}.</p></footer>\n\
         <script type=\"application/json\" id=\"review-data\">{data}</script>\n\
         <script>{script}</script>\n</body>\n</html>\n",
        escape(review.semsift_version)
    );
    out
}

/// A threshold as the data has it (the shortest form that reads back as the `f32`).
fn threshold(t: f32) -> String {
    t.to_string()
}

/// `at 0.87: 9,812 kept · 188 removed (40 exact)`, as the script writes it too.
fn counts_line(p: &ReviewPoint) -> String {
    format!(
        "at {}: {} kept · {} removed ({} exact)",
        threshold(p.threshold),
        int(p.kept),
        int(p.removed),
        int(p.exact_removed)
    )
}

/// The summary cards.
fn summary(out: &mut String, r: &Review) {
    let rows = match r.info.skipped {
        0 => int(r.rows),
        n => format!(
            "{} <small class=\"skipped\">+\u{a0}{}\u{a0}skipped</small>",
            int(r.rows),
            int(n)
        ),
    };
    let applied = r.applied();
    let grid = format!(
        "{} thresholds from {} (the search floor) to 1",
        r.points.len(),
        threshold(r.floor)
    );
    let mut stats = vec![
        (
            "Rows",
            rows,
            format!("columns: {}", escape(&r.info.columns.join(", "))),
        ),
        (
            "Applied threshold",
            threshold(r.threshold),
            "what kept and removed.jsonl hold".to_string(),
        ),
        (
            "Removed",
            applied.map_or_else(String::new, |p| int(p.removed)),
            applied.map_or_else(String::new, |p| {
                format!(
                    "{} exact copies; {} kept",
                    int(p.exact_removed),
                    int(p.kept)
                )
            }),
        ),
        ("Slider", int(r.points.len() as u64), grid),
        (
            "Model",
            format!("<span class=\"mono\">{}</span>", escape(&r.info.model)),
            String::new(),
        ),
    ];
    if let Some(against) = &r.info.against {
        stats.push((
            "Reference",
            format!("<span class=\"mono\">{}</span>", escape(against)),
            "duplicate_of is a reference row".to_string(),
        ));
    }
    stat_cards(
        out,
        stats
            .into_iter()
            .map(|(name, value, note)| (name.to_string(), value, note)),
    );
}

/// The slider, its counts and the chart.
fn controls(out: &mut String, r: &Review) {
    let at = r.points.iter().position(|p| p.applied).unwrap_or(0);
    let last = r.points.len().saturating_sub(1);
    let counts = r.points.get(at).map(counts_line).unwrap_or_default();
    w!(
        out,
        "<section id=\"review-controls\" class=\"card\"><h2>Threshold</h2>\
         <p class=\"note\">Move the slider (or use the arrow keys) to see what each threshold \
         would remove; the counts are exact, from the pairs the search found. A lower \
         <span class=\"mono\">--sweep</span> value extends the slider below the applied \
         threshold.</p>\
         <div class=\"slider\"><label for=\"threshold\">Threshold</label>\
         <input type=\"range\" id=\"threshold\" min=\"0\" max=\"{last}\" step=\"1\" value=\"{at}\" \
         aria-describedby=\"review-counts\">\
         <output id=\"threshold-value\" for=\"threshold\">{}</output></div>\
         <p id=\"review-counts\" class=\"counts\" aria-live=\"polite\">{counts}</p>\
         <p id=\"review-changes\" class=\"note\">the applied threshold</p>",
        threshold(r.threshold)
    );
    chart(out, r, at);
    out.push_str("</section>\n");
}

/// Width, height and margins (left, right, top, bottom) of the chart's view box.
const CHART: (f64, f64, [f64; 4]) = (720.0, 200.0, [64.0, 16.0, 12.0, 34.0]);

/// Removed rows against the threshold, one dot per threshold of the slider; the
/// applied threshold dashed, the selected one (at first the applied) marked.
fn chart(out: &mut String, r: &Review, at: usize) {
    let (width, height, [left, right, top, bottom]) = CHART;
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let lo = r.points.first().map_or(0.0, |p| f64::from(p.threshold));
    let hi = r.points.last().map_or(1.0, |p| f64::from(p.threshold));
    let span = (hi - lo).max(1e-6);
    let max = r.points.iter().map(|p| p.removed).max().unwrap_or(0).max(1);
    let x = |t: f32| match r.points.len() {
        1 => left + plot_w / 2.0,
        _ => left + (f64::from(t) - lo) / span * plot_w,
    };
    let y = |n: u64| top + plot_h - n as f64 / max as f64 * plot_h;
    w!(
        out,
        "<svg id=\"review-chart\" class=\"chart review\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"Rows removed at each threshold\">\
         <rect class=\"frame\" x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\"/>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text class=\"axis\" x=\"{left}\" y=\"{}\">{}</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">threshold → rows removed</text>",
        left - 6.0,
        top + 12.0,
        int(max),
        left - 6.0,
        top + plot_h,
        height - 10.0,
        num(lo, 2),
        width - right,
        height - 10.0,
        num(hi, 2),
        left + plot_w / 2.0,
        height - 10.0,
    );
    let ax = num(x(r.threshold), 1);
    w!(
        out,
        "<line class=\"applied\" x1=\"{ax}\" x2=\"{ax}\" y1=\"{top}\" y2=\"{}\"/>",
        top + plot_h
    );
    let sx = r
        .points
        .get(at)
        .map_or(ax.clone(), |p| num(x(p.threshold), 1));
    w!(
        out,
        "<line id=\"review-marker\" class=\"marker\" x1=\"{sx}\" x2=\"{sx}\" y1=\"{top}\" y2=\"{}\"/>",
        top + plot_h
    );
    let line: Vec<String> = r
        .points
        .iter()
        .map(|p| format!("{},{}", num(x(p.threshold), 1), num(y(p.removed), 1)))
        .collect();
    w!(
        out,
        "<polyline class=\"removed\" points=\"{}\"/>",
        line.join(" ")
    );
    for (i, p) in r.points.iter().enumerate() {
        let mut class = String::from("dot");
        for (on, name) in [
            (p.applied, " applied"),
            (p.sweep, " sweep"),
            (i == at, " sel"),
        ] {
            if on {
                class.push_str(name);
            }
        }
        w!(
            out,
            "<circle class=\"{class}\" data-i=\"{i}\" cx=\"{}\" cy=\"{}\" r=\"4\">\
             <title>{}</title></circle>",
            num(x(p.threshold), 1),
            num(y(p.removed), 1),
            counts_line(p)
        );
    }
    out.push_str("</svg>");
}

/// The filter and the (empty) table the script fills.
fn table(out: &mut String, r: &Review) {
    let matched = match r.reference {
        true => "Reference row it matches",
        false => "Kept row it duplicates",
    };
    w!(
        out,
        "<section id=\"review-list\" class=\"card\"><h2>Removed rows</h2>\
         <p class=\"note\">The removed rows with the lowest scores (the borderline ones) at the \
         selected threshold, at most {} per threshold (<span class=\"mono\">--review-rows</span>). \
         <span class=\"badge new\">new</span> removed here but kept at the applied threshold \
         {}; <span class=\"badge restored\">kept here</span> removed at the applied threshold \
         (its match and score there) but kept here.</p>\
         <div class=\"filter\"><label for=\"review-filter\">Filter</label>\
         <input type=\"search\" id=\"review-filter\" placeholder=\"text in either row\" \
         autocomplete=\"off\"></div>\
         <p id=\"review-shown\" class=\"note\"></p>\
         <div class=\"scroll\"><table id=\"review-table\" class=\"review\"><thead><tr>\
         <th id=\"review-score-head\" class=\"num\" aria-sort=\"ascending\">\
         <button type=\"button\" id=\"review-sort\" title=\"Sort by score\">Score</button></th>\
         <th>Removed row</th><th>{matched}</th><th>Exact</th></tr></thead><tbody></tbody></table></div>\
         <noscript><p class=\"note\">The table needs JavaScript; the data is in the page's \
         review-data block.</p></noscript></section>\n",
        int(r.cap as u64),
        threshold(r.threshold)
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::review::{ReviewInfo, ReviewRow};
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    use sha2::{Digest, Sha256};

    fn review(text: &str) -> Review {
        let row = ReviewRow {
            row: 2,
            duplicate_of: 0,
            score: 0.93,
            exact: false,
            new: false,
        };
        let point = |t: f32, applied| ReviewPoint {
            threshold: t,
            applied,
            sweep: false,
            kept: 2,
            removed: 1,
            exact_removed: 0,
            new: 0,
            restored: 0,
            removed_rows: vec![row],
            restored_rows: vec![],
        };
        Review {
            info: ReviewInfo {
                input: format!("{text}.jsonl"),
                model: text.into(),
                columns: vec![text.into()],
                ..Default::default()
            },
            semsift_version: "0",
            reference: false,
            threshold: 0.9,
            floor: 0.9,
            rows: 3,
            cap: 1000,
            points: vec![point(0.9, true), point(0.91, false)],
            texts: BTreeMap::from([(0, text.to_string()), (2, format!("{text}!"))]),
            reference_texts: BTreeMap::new(),
        }
    }

    #[test]
    fn data_cannot_end_its_script_element() {
        let hostile = "</script><script>alert(1)</script><!-- <img src=x onerror=alert(2)> & \"q\" 'q' \u{2028}\u{2029}";
        let page = render_review(&review(hostile));
        let data = script_json(&review(hostile));
        for raw in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!data.contains(raw), "{raw:?} in the data block");
        }
        let back: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(back["texts"]["0"], hostile);
        assert_eq!(back["texts"]["2"], format!("{hostile}!"));
        assert_eq!(back["points"][0]["removed_rows"][0]["score"], 0.93);
        // Two script elements, each closed once; the hostile text never raw.
        assert_eq!(page.matches("</script>").count(), 2);
        assert_eq!(page.matches("<script").count(), 2);
        assert!(!page.contains("<img"));
        assert!(
            page.contains("&lt;/script&gt;&lt;script&gt;alert(1)"),
            "escaped in the title"
        );
    }

    #[test]
    fn the_page_allows_its_own_script_only_and_starts_at_the_applied_threshold() {
        let page = render_review(&review("plain"));
        let start = page.rfind("<script>").unwrap() + "<script>".len();
        let end = page[start..].find("</script>").unwrap() + start;
        let hash = BASE64_STANDARD.encode(Sha256::digest(&page.as_bytes()[start..end]));
        assert!(page.contains(&format!("script-src 'sha256-{hash}'")));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(page.contains("id=\"threshold\" min=\"0\" max=\"1\" step=\"1\" value=\"0\""));
        assert!(page.contains("<p id=\"review-counts\" class=\"counts\" aria-live=\"polite\">at 0.9: 2 kept · 1 removed (0 exact)</p>"));
        assert_eq!(page.matches("<circle").count(), 2);
        for id in [
            "review-table",
            "review-filter",
            "review-sort",
            "review-marker",
            "review-shown",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
    }
}
