//! `report.html`: one self-contained page rendered from a [`Report`].
//!
//! The page needs nothing from the network: the style sheet and the one script
//! (`report.js` and the map explorer's `explorer.js` and `explorer_view.js`, joined)
//! are inlined, the charts are SVG generated in Rust ([`super::svg`]) and the map's
//! points a JSON data block that the script draws on a canvas ([`super::html_map`]). A
//! Content Security Policy allows only that script (by its SHA-256 hash), so nothing
//! taken from the data could run even if escaping failed. Every text taken from the data goes through
//! [`escape`]; the only links are `#topic-<id>` anchors.

use std::collections::HashMap;
use std::fmt::Write;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use sha2::{Digest, Sha256};

use super::html_map;
use super::model::{Coverage, FineTopic, Gap, Keyword, Report, SetDiversity, SetInfo, Topic};
use super::svg::{self, int, key, num, pct};
use crate::dataset::template::ColumnTemplates;

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($($arg:tt)*) => {
        let _ = write!($($arg)*);
    };
}

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");
const EXPLORER_JS: &str = include_str!("assets/explorer.js");
const EXPLORER_VIEW_JS: &str = include_str!("assets/explorer_view.js");

/// Topics shown in the share chart; the rest are counted below it.
const BAR_LIMIT: usize = 40;
/// Topic cards whose examples start unfolded.
const OPEN_EXAMPLES: usize = 40;
/// Keywords shown per topic in the gap tables.
const GAP_KEYWORDS: usize = 6;

/// Topics by id.
pub(super) type TopicIndex<'a> = HashMap<usize, &'a Topic>;
/// Fine topics by id.
type FineIndex<'a> = HashMap<usize, &'a FineTopic>;

/// Renders `report` as one self-contained HTML page (`report.html`).
///
/// The page holds a summary, a 2-D map of the sampled rows, a chart of the topic
/// shares, the coverage gaps (with a reference), a sortable table of all topics and one
/// card per topic with its keywords and examples.
pub fn render_html(report: &Report) -> String {
    // The HTML parser turns CR LF into LF before the browser hashes the script, so
    // hash (and write) the normalised text.
    // The explorer's two files are one function's body (see explorer.js).
    let script = format!("{JS}\n(function () {{\n{EXPLORER_JS}\n{EXPLORER_VIEW_JS}}})();\n")
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let topics: TopicIndex = report.topics.iter().map(|t| (t.id, t)).collect();
    let fine: FineIndex = report.fine_topics.iter().map(|t| (t.id, t)).collect();
    let ranked = ranked_topics(&report.topics);
    let has_ref = report.reference.is_some();
    let input_path = escape(&report.input.path);

    let map = html_map::map_section(report);
    let mut out = String::with_capacity(64 * 1024 + map.len());
    w!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{}'; \
         base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>semsift report: {input_path}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        script_hash(&script)
    );
    w!(
        out,
        "<header class=\"top\"><h1>semsift report: <span class=\"path\">{input_path}</span></h1>"
    );
    if let Some(reference) = &report.reference {
        w!(
            out,
            "<p class=\"sub\">compared with reference <span class=\"path\">{}</span></p>",
            escape(&reference.path)
        );
    }
    out.push_str("<nav><a href=\"#summary\">Summary</a><a href=\"#map\">Map</a><a href=\"#shares\">Shares</a>");
    if report.coverage.is_some() {
        out.push_str("<a href=\"#gaps\">Gaps</a>");
    }
    out.push_str("<a href=\"#topics\">Topics</a></nav></header>\n<main>\n");

    summary(&mut out, report);

    out.push_str(&map);

    let shown = &ranked[..ranked.len().min(BAR_LIMIT)];
    w!(
        out,
        "<section id=\"shares\" class=\"card\"><h2>Topic shares</h2>{}",
        svg::share_bars(shown, has_ref)
    );
    if ranked.len() > shown.len() {
        let rest = &ranked[shown.len()..];
        let rest_in: f64 = rest.iter().map(|t| t.input.share).sum();
        let rest_ref: f64 = rest
            .iter()
            .filter_map(|t| t.reference.map(|r| r.share))
            .sum();
        let rest_ref = match has_ref {
            true => format!(", {} of the reference", pct(rest_ref)),
            false => String::new(),
        };
        w!(out, "<p class=\"note\">Top {} of {} topics shown; {} more hold {} of the input{rest_ref}. All are in the <a href=\"#topics\">topic table</a>.</p>", shown.len(), ranked.len(), rest.len(), pct(rest_in));
    }
    out.push_str("</section>\n");

    if let Some(cov) = &report.coverage {
        w!(out, "<section id=\"gaps\" class=\"card\"><h2>Coverage gaps</h2><p class=\"note\">Measured over {}. Covered: a topic where the input has at least {:.2}× the reference's share. Smoothing: {}.</p>", escape(&cov.level), cov.coverage_threshold, escape(&cov.smoothing));
        let missing = ("Missing or under-represented", "missing", &cov.missing);
        for (title, class, gaps) in [missing, ("Over-represented", "over", &cov.over)] {
            gap_table(&mut out, title, class, gaps, &topics, &fine);
        }
        out.push_str("</section>\n");
    }

    common_text(&mut out, report);
    topic_table(&mut out, &ranked, has_ref);
    out.push_str("<div class=\"cards\">\n");
    for (i, t) in ranked.iter().enumerate() {
        // A topic's badge comes from its fine topics' gaps: the worst of them.
        let gaps = |f: fn(&Coverage) -> &Vec<Gap>| {
            let c = report.coverage.as_ref();
            c.map_or(Vec::new(), |c| {
                f(c).iter().filter(|g| g.parent == t.id).collect::<Vec<_>>()
            })
        };
        let (missing, over) = (gaps(|c| &c.missing), gaps(|c| &c.over));
        let badge = if missing.iter().any(|g| !g.covered) {
            "<span class=\"badge missing\">missing</span>"
        } else if !missing.is_empty() {
            "<span class=\"badge thin\">under-represented</span>"
        } else if !over.is_empty() {
            "<span class=\"badge over\">over-represented</span>"
        } else {
            ""
        };
        topic_card(&mut out, t, badge, i < OPEN_EXAMPLES);
    }
    out.push_str("</div>\n</main>\n");

    footer(&mut out, report);
    w!(out, "<script>{script}</script>\n</body>\n</html>\n");
    out
}

/// `value` as JSON that can sit in a `<script type="application/json">` element: `<`,
/// `>` and `&` (so no text can end the element or open a comment in it) and
/// U+2028/U+2029 are `\u` escapes, which JSON reads back as the same characters (they
/// only occur inside strings).
pub(super) fn script_json(value: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(value).expect("page data serialises");
    let mut out = String::with_capacity(json.len() + json.len() / 32);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The summary section: one card per `(name, value, note)` (markup, already escaped).
pub(super) fn stat_cards(
    out: &mut String,
    stats: impl IntoIterator<Item = (String, String, String)>,
) {
    out.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"stats\">");
    for (name, value, note) in stats {
        w!(
            out,
            "<div class=\"stat\"><div class=\"k\">{name}</div><div class=\"v\">{value}</div>"
        );
        if !note.is_empty() {
            w!(out, "<div class=\"s\">{note}</div>");
        }
        out.push_str("</div>");
    }
    out.push_str("</div></section>\n");
}

/// `'sha256-…'` source of a CSP: the base64 SHA-256 of the script's exact text.
pub(super) fn script_hash(script: &str) -> String {
    BASE64_STANDARD.encode(Sha256::digest(script.as_bytes()))
}

/// Escapes `s` for HTML text and quoted attribute values (`& < > " '`); NUL, which the
/// HTML parser would drop or replace anyway, becomes U+FFFD.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The larger of a topic's two shares (non-finite counts as 0): the display order.
fn rank_share(t: &Topic) -> f64 {
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    finite(t.input.share).max(t.reference.map_or(0.0, |r| finite(r.share)))
}

/// Topics by the larger of their input and reference shares, largest first (ties by id).
pub(super) fn ranked_topics(topics: &[Topic]) -> Vec<&Topic> {
    let mut ranked: Vec<&Topic> = topics.iter().collect();
    ranked.sort_by(|a, b| {
        rank_share(b)
            .total_cmp(&rank_share(a))
            .then(a.id.cmp(&b.id))
    });
    ranked
}

/// The summary cards.
fn summary(out: &mut String, r: &Report) {
    let vs = |v: Option<String>| v.map(|v| format!("reference {v}")).unwrap_or_default();
    let set = |f: fn(&SetInfo) -> u64| {
        (
            int(f(&r.input)),
            vs(r.reference.as_ref().map(|s| int(f(s)))),
        )
    };
    let (d, dr) = (&r.diversity.input, r.diversity.reference.as_ref());
    let div = |f: &dyn Fn(&SetDiversity) -> String| (f(d), vs(dr.map(f)));
    let c = &r.clustering;
    // Rows read, and next to them the unreadable rows left out, if any.
    let rows = |s: &SetInfo| match s.skipped_rows {
        0 => int(s.rows),
        n => format!(
            "{} <small class=\"skipped\">+\u{a0}{}\u{a0}skipped</small>",
            int(s.rows),
            int(n)
        ),
    };
    let mut stats = vec![
        ("Rows", (rows(&r.input), vs(r.reference.as_ref().map(rows)))),
        ("Unique rows", set(|s| s.unique_rows)),
        ("Empty rows", set(|s| s.empty_rows)),
        ("Topics (k)", (int(c.k as u64), escape(&c.k_rule))),
        ("Effective topics", div(&|x| num(x.effective_topics, 1))),
        ("Evenness", div(&|x| num(x.evenness, 3))),
        ("Largest topic", div(&|x| pct(x.largest_share))),
        ("Topics present", div(&|x| int(x.topics_present as u64))),
        ("Near duplicates", div(&|x| pct(x.near_duplicate_share))),
    ];
    if let Some((_, (_, note))) = stats.last_mut() {
        let threshold = num(f64::from(r.near_duplicate_threshold), 2);
        let sep = if note.is_empty() { "" } else { "; " };
        *note = format!("{note}{sep}cosine\u{a0}≥\u{a0}{threshold}");
    }
    if let Some(v) = &r.coverage {
        let bits = |x: f64| format!("{} bits", num(x, 4));
        let notes = [
            "of the reference's rows in covered topics",
            "0 = same mix, 1 = disjoint",
        ];
        stats.push(("Coverage", (pct(v.coverage), notes[0].into())));
        stats.push((
            "JS divergence",
            (bits(v.js_divergence_bits), notes[1].into()),
        ));
        let kl = (
            bits(v.kl_reference_input_bits),
            "extra bits per reference row".into(),
        );
        stats.push(("KL(reference ‖ input)", kl));
    }
    let model = format!("<span class=\"mono\">{}</span>", escape(&r.model));
    stats.push((
        "Model",
        (model, format!("columns: {}", escape(&r.columns.join(", ")))),
    ));
    let converged = ["not converged", "converged"][usize::from(c.converged)];
    let note = format!(
        "{converged}; fit on {} ({} rows), seed {}; mean cohesion {}",
        escape(&c.fit_on),
        int(c.fit_rows),
        c.seed,
        num(c.mean_cohesion, 3)
    );
    stats.push((
        "Clustering",
        (format!("k-means, {} iterations", c.iterations), note),
    ));
    let cards = stats
        .into_iter()
        .map(|(name, (value, note))| (name.to_string(), value, note));
    stat_cards(out, cards);
}

/// Characters of a common span shown in the page.
const SPAN_CHARS: usize = 300;

/// The text many rows of a column share (templates), per set, when there is any.
fn common_text(out: &mut String, r: &Report) {
    let sets = std::iter::once(("input", &r.templates))
        .chain(r.reference_templates.iter().map(|t| ("reference", t)));
    let rows: Vec<(&str, &ColumnTemplates)> = sets
        .flat_map(|(set, columns)| columns.iter().map(move |c| (set, c)))
        .filter(|(_, c)| !c.found.spans.is_empty())
        .collect();
    if rows.is_empty() {
        return;
    }
    let stripped = match r.strip_common {
        Some(share) => format!(
            "Spans in at least {} of rows were left out of the embedded text.",
            pct(share)
        ),
        None => "Nothing was left out of the embedded text (<span class=\"mono\">--strip-common</span> would).".into(),
    };
    w!(out, "<section id=\"common\" class=\"card\"><h2>Common text</h2><p class=\"note\">Lines and leading or trailing spans that many rows of a column share: a system prompt, a tool description, a template header. {stripped}</p>");
    table_head(
        out,
        "sortable",
        &[
            ("Set", false),
            ("Column", false),
            ("Kind", false),
            ("Rows", true),
            ("Share", true),
            ("Text", false),
        ],
    );
    for (set, c) in rows {
        for span in &c.found.spans {
            let mut text: String = span.text.chars().take(SPAN_CHARS).collect();
            if text.len() < span.text.len() {
                text.push('…');
            }
            let kind = format!("{:?}", span.kind).to_lowercase();
            w!(
                out,
                "<tr><td>{set}</td><td class=\"mono\">{}</td><td>{kind}</td><td class=\"num\" data-sort=\"{}\">{}</td><td class=\"num\" data-sort=\"{}\">{}</td><td class=\"mono\">{}</td></tr>",
                escape(&c.column),
                span.rows,
                int(span.rows),
                key(span.share),
                pct(span.share),
                escape(&text)
            );
        }
    }
    out.push_str("</tbody></table></div></section>\n");
}

/// A topic's name linked to its card: swatch, id and label.
fn topic_link(id: usize, topic: Option<&Topic>) -> String {
    let label = topic.map_or_else(|| format!("topic {id}"), |t| t.label.clone());
    format!(
        "<a href=\"#topic-{id}\"><span class=\"sw\" style=\"background:{}\"></span>{}</a>",
        svg::topic_colour(id),
        escape(&label)
    )
}

/// A sortable table of `head` columns: `(title, numeric)`.
fn table_head(out: &mut String, class: &str, head: &[(&str, bool)]) {
    w!(
        out,
        "<div class=\"scroll\"><table class=\"sortable {class}\"><thead><tr>"
    );
    for (title, numeric) in head {
        let class = if *numeric { " class=\"num\"" } else { "" };
        w!(out, "<th{class} tabindex=\"0\" title=\"Sort\">{title}</th>");
    }
    out.push_str("</tr></thead><tbody>");
}

/// One gap list (of fine topics) as a table: each row names the coarse topic it is part
/// of (linked to its card), then the fine topic's label and keywords.
fn gap_table(
    out: &mut String,
    title: &str,
    class: &str,
    gaps: &[Gap],
    topics: &TopicIndex,
    fine: &FineIndex,
) {
    w!(out, "<h3>{title} <small>({})</small></h3>", gaps.len());
    if gaps.is_empty() {
        out.push_str("<p class=\"note\">None.</p>");
        return;
    }
    let head = [
        ("Part of", false),
        ("Fine topic", false),
        ("Keywords", false),
        ("Input share", true),
        ("Reference share", true),
        ("Ratio", true),
        ("Contribution (bits)", true),
        ("Covered", false),
    ];
    table_head(out, class, &head);
    for g in gaps {
        let parent = topics.get(&g.parent).copied();
        let terms = |k: &[Keyword]| {
            k.iter()
                .take(GAP_KEYWORDS)
                .map(|k| k.term.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (label, keywords) = match fine.get(&g.topic) {
            Some(f) => (f.label.clone(), terms(&f.keywords)),
            None => (
                format!("fine topic {}", g.topic),
                parent.map(|t| terms(&t.keywords)).unwrap_or_default(),
            ),
        };
        w!(
            out,
            "<tr data-topic=\"{}\" data-fine-topic=\"{}\"><td>{}</td><td>{}</td><td class=\"kwcell\">{}</td><td class=\"num\" data-sort=\"{}\">{}</td><td class=\"num\" data-sort=\"{}\">{}</td><td class=\"num\" data-sort=\"{}\">{}</td><td class=\"num\" data-sort=\"{}\">{}</td><td>{}</td></tr>",
            g.parent, g.topic, topic_link(g.parent, parent), escape(&label), escape(&keywords),
            key(g.input_share), pct(g.input_share), key(g.reference_share), pct(g.reference_share),
            key(g.ratio), num(g.ratio, 2), key(g.contribution_bits), num(g.contribution_bits, 4),
            if g.covered { "yes" } else { "no" }
        );
    }
    out.push_str("</tbody></table></div>");
}

/// The sortable table of all topics.
fn topic_table(out: &mut String, ranked: &[&Topic], has_ref: bool) {
    w!(out, "<section id=\"topics\" class=\"card\"><h2>Topics <small>({})</small></h2><p class=\"note\">Click a column to sort; click a topic for its card.</p>", ranked.len());
    let mut head = vec![
        ("Id", true),
        ("Topic", false),
        ("Input rows", true),
        ("Input share", true),
    ];
    if has_ref {
        head.extend([("Reference rows", true), ("Reference share", true)]);
    }
    head.extend([("Cohesion", true), ("Near duplicates", true)]);
    table_head(out, "topics", &head);
    for t in ranked {
        w!(out, "<tr data-topic=\"{0}\"><td class=\"num\" data-sort=\"{0}\">{0}</td><td>{1}</td>\
             <td class=\"num\" data-sort=\"{2}\">{3}</td><td class=\"num\" data-sort=\"{4}\">{5}</td>", t.id, topic_link(t.id, Some(t)), t.input.rows, int(t.input.rows), key(t.input.share), pct(t.input.share));
        if has_ref {
            let (rows, share) = t.reference.map_or((0, 0.0), |r| (r.rows, r.share));
            w!(
                out,
                "<td class=\"num\" data-sort=\"{rows}\">{}</td>\
                 <td class=\"num\" data-sort=\"{}\">{}</td>",
                int(rows),
                key(share),
                pct(share)
            );
        }
        w!(
            out,
            "<td class=\"num\" data-sort=\"{}\">{}</td>\
             <td class=\"num\" data-sort=\"{2}\">{3}</td></tr>",
            key(t.cohesion),
            num(t.cohesion, 3),
            t.near_duplicates,
            int(t.near_duplicates)
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

/// One topic's card.
fn topic_card(out: &mut String, t: &Topic, badge: &str, open: bool) {
    let id = t.id;
    w!(
        out,
        "<article class=\"card topic\" id=\"topic-{id}\" data-topic=\"{id}\"><header>\
         <span class=\"sw\" style=\"background:{}\"></span>\
         <h3><span class=\"tid\">Topic {id}</span> {}</h3>{badge}</header>\
         <dl class=\"facts\"><div><dt>Input</dt><dd>{} rows · {}</dd></div>",
        svg::topic_colour(id),
        escape(&t.label),
        int(t.input.rows),
        pct(t.input.share)
    );
    if let Some(r) = t.reference {
        w!(
            out,
            "<div><dt>Reference</dt><dd>{} rows · {}</dd></div>",
            int(r.rows),
            pct(r.share)
        );
    }
    w!(
        out,
        "<div><dt>Cohesion</dt><dd>{}</dd></div>\
             <div><dt>Near duplicates</dt><dd>{}</dd></div></dl>",
        num(t.cohesion, 3),
        int(t.near_duplicates)
    );
    if !t.keywords.is_empty() {
        out.push_str("<ul class=\"kw\">");
        for k in &t.keywords {
            w!(
                out,
                "<li>{} <small>{}</small></li>",
                escape(&k.term),
                num(k.score, 3)
            );
        }
        out.push_str("</ul>");
    }
    if !t.examples.is_empty() {
        w!(
            out,
            "<details{}><summary>Examples ({})</summary>",
            if open { " open" } else { "" },
            t.examples.len()
        );
        for e in &t.examples {
            w!(
                out,
                "<figure class=\"ex\"><figcaption>{} · row {} · similarity {}</figcaption>\
                 <blockquote>{}</blockquote></figure>",
                escape(&e.set),
                int(e.row),
                num(e.similarity, 3),
                escape(&e.text)
            );
        }
        out.push_str("</details>");
    }
    out.push_str("</article>\n");
}

/// Timings and provenance.
fn footer(out: &mut String, r: &Report) {
    out.push_str("<footer><p>");
    let timings: Vec<String> = r
        .timings_s
        .iter()
        .map(|(stage, v)| match v.as_f64() {
            Some(s) => format!("{} {} s", escape(stage), num(s, 1)),
            None => format!("{} {}", escape(stage), escape(&v.to_string())),
        })
        .collect();
    if !timings.is_empty() {
        w!(out, "Timings: {}.<br>", timings.join(" · "));
    }
    w!(
        out,
        "Written by semsift {} ({}).</p></footer>\n",
        escape(&r.semsift_version),
        escape(&r.schema)
    );
}
