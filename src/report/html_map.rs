//! The map explorer of `report.html`: the `<section id="map">` markup (controls, canvas,
//! tooltip, pinned-row panel, table) and the map's points as a JSON data block that
//! the page's script (`assets/explorer.js`) draws on a canvas.
//!
//! The data block, `<script type="application/json" id="map-data">`, is columnar: one
//! array per field, index `i` of every array describing point `i`. Points with a
//! non-finite coordinate are left out.
//!
//! - `x`, `y`: integers in `0..=65535`, the coordinates quantised over the points'
//!   bounding box with one scale for both axes (so the map keeps its aspect ratio),
//!   `y` pointing down the screen (the report's `y` axis is flipped).
//! - `topic`, `fine`: the coarse and fine topic ids (the fine ids are the coarse ones
//!   when the report has no fine level).
//! - `ref`: 1 for a reference row, 0 for an input row.
//! - `row`, `copies`: the row number in its set's file and its exact copies (1 + copies).
//! - `flags`: bit 0 near duplicate, bit 1 outlier.
//! - `text`: the row's text as the report holds it (at most 240 characters).
//! - `topics`: `{id, label, colour, n, x, y}` per coarse topic (the topics of the
//!   report, then any other id a point names), `n` its points on the map and `x`/`y`
//!   (absent when `n` is 0) the median of their quantised coordinates, where its label
//!   goes; `fine_topics`: the same with `parent`, for the fine level.
//! - `has_reference`: whether the report has a reference set.
//!
//! The JSON is made safe to sit in a `<script>` element by [`script_json`]: `<`, `>`,
//! `&`, U+2028 and U+2029 are `\u` escapes, so no text can end the element.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::html::{escape, script_json};
use super::model::{MapPoint, Report};
use super::svg::{int, num, pct, topic_colour};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($($arg:tt)*) => {
        let _ = write!($($arg)*);
    };
}

/// The largest quantised coordinate.
const Q: f64 = 65535.0;

/// Characters of a topic label in the topic selector.
const OPTION_CHARS: usize = 60;

/// The map's points, column by column (see the module documentation).
#[derive(Serialize)]
struct MapData<'a> {
    has_reference: bool,
    x: Vec<u16>,
    y: Vec<u16>,
    topic: Vec<usize>,
    fine: Vec<usize>,
    #[serde(rename = "ref")]
    reference: Vec<u8>,
    row: Vec<u64>,
    copies: Vec<u32>,
    flags: Vec<u8>,
    text: Vec<&'a str>,
    topics: Vec<TopicEntry<'a>>,
    fine_topics: Vec<TopicEntry<'a>>,
}

/// One topic of either level, with where its label goes.
#[derive(Serialize)]
struct TopicEntry<'a> {
    id: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<usize>,
    label: &'a str,
    colour: String,
    n: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<u16>,
}

/// The `<section id="map">` of `report.html`: a note on the layout, the explorer's
/// controls, canvas, tooltip, pinned-row panel and table, and the data block. Without
/// points it is only the note.
pub(super) fn map_section(report: &Report) -> String {
    let map = &report.map;
    let sentence = |s: &str| escape(s.trim_end().trim_end_matches('.'));
    let mut note = format!("{}. {}.", sentence(&map.method), sentence(&map.sample));
    if let Some(q) = &map.quality {
        w!(
            note,
            " Of each row's {} nearest neighbours, the map keeps {} on average \
             (PCA: {}); trustworthiness {} (PCA: {}), measured on {} rows.",
            q.k,
            pct(q.preservation),
            pct(q.pca_preservation),
            num(q.trustworthiness, 3),
            num(q.pca_trustworthiness, 3),
            int(q.sample as u64)
        );
    }
    if map.points.is_empty() {
        return format!(
            "<section id=\"map\" class=\"card\"><h2>Map</h2><p class=\"note\">{note}<br>\
             No rows were sampled for the map.</p></section>\n"
        );
    }
    let data = map_data(report);
    let n = data.x.len();
    let has_ref = report.reference.is_some();
    let json = script_json(&data);

    let mut out = String::with_capacity(4096 + json.len() + data.topics.len() * 96);
    w!(
        out,
        "<section id=\"map\" class=\"card\"><h2>Map</h2><p class=\"note\">{note}</p>\
         <div class=\"map-controls\" role=\"group\" aria-label=\"Map filters\">\
         <label class=\"map-search\">Search <input type=\"search\" id=\"map-search\" \
         placeholder=\"text in the rows\" autocomplete=\"off\" spellcheck=\"false\"></label>\
         <label><input type=\"checkbox\" id=\"map-show-input\" checked> input</label>"
    );
    if has_ref {
        out.push_str(
            "<label><input type=\"checkbox\" id=\"map-show-reference\" checked> reference</label>",
        );
    }
    out.push_str(
        "<label><input type=\"checkbox\" id=\"map-only-dups\"> only near duplicates</label>\
         <label><input type=\"checkbox\" id=\"map-only-outliers\"> only outliers</label>\
         <label>Topic <select id=\"map-topic\"><option value=\"\">all topics</option>",
    );
    for t in &data.topics {
        let label: String = t.label.chars().take(OPTION_CHARS).collect();
        let more = if label.len() < t.label.len() {
            "…"
        } else {
            ""
        };
        w!(
            out,
            "<option value=\"{}\">{}: {}{more} ({})</option>",
            t.id,
            t.id,
            escape(&label),
            int(t.n as u64)
        );
    }
    w!(
        out,
        "</select></label>\
         <label>Colour <select id=\"map-level\"><option value=\"coarse\">by topic</option>\
         <option value=\"fine\">by fine topic</option></select></label>\
         <button type=\"button\" id=\"map-reset\">Reset view</button></div>\
         <p id=\"map-count\" class=\"map-count\" aria-live=\"polite\">{0} of {0} rows</p>\
         <div class=\"map-wrap\"><canvas id=\"map-canvas\" tabindex=\"0\" role=\"img\" \
         aria-label=\"Map of {0} rows, coloured by topic. Wheel or + and - keys zoom, \
         dragging or the arrow keys pan, clicking a point pins its row.\"></canvas>\
         <div id=\"map-tip\" class=\"map-tip\" role=\"tooltip\" hidden></div>\
         <aside id=\"map-pin\" class=\"map-pin\" aria-label=\"Pinned row\" hidden>\
         <div class=\"map-pin-head\"><strong>Pinned row</strong>\
         <button type=\"button\" id=\"map-unpin\">Unpin</button></div>\
         <div id=\"map-pin-body\"></div></aside></div>\
         <p class=\"note\">● input{1}; a ring marks the pinned row. Hover a point for its \
         text, click it to pin it; click empty space or press Escape to unpin. Rows \
         outside the filters are drawn faint.</p>\
         <p id=\"map-table-note\" class=\"note\"></p>\
         <div class=\"scroll map-rows\"><table id=\"map-table\" class=\"map-table\"><thead><tr>\
         <th scope=\"col\">Set</th><th scope=\"col\" class=\"num\">Row</th>\
         <th scope=\"col\">Topic</th><th scope=\"col\">Flags</th><th scope=\"col\">Text</th>\
         </tr></thead><tbody></tbody></table></div>\
         <noscript><p class=\"note\">The map needs JavaScript.</p></noscript>\
         <script type=\"application/json\" id=\"map-data\">{json}</script></section>\n",
        int(n as u64),
        if has_ref { ", ○ reference" } else { "" }
    );
    out
}

/// Quantises `v` in `[lo, lo + span]` to `0..=65535` (0 when the span is empty).
fn quantise(v: f64, lo: f64, span: f64) -> u16 {
    if span > 0.0 {
        ((v - lo) / span * Q).round().clamp(0.0, Q) as u16
    } else {
        0
    }
}

/// The median of `v` (the upper one of an even count); `None` when empty.
fn median(v: &mut [u16]) -> Option<u16> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    Some(*v.select_nth_unstable(mid).1)
}

/// A `#rrggbb` colour mixed towards white (`t > 0`) or black (`t < 0`) by `|t|`.
fn shade(colour: &str, t: f64) -> String {
    let channel = |i: usize| u8::from_str_radix(colour.get(i..i + 2).unwrap_or("80"), 16);
    let mut out = String::from("#");
    for i in [1, 3, 5] {
        let c = f64::from(channel(i).unwrap_or(0x80));
        let v = if t >= 0.0 {
            c + (255.0 - c) * t
        } else {
            c * (1.0 + t)
        };
        w!(out, "{:02x}", v.round().clamp(0.0, 255.0) as u8);
    }
    out
}

/// The columns of the map's finite points and both topic levels.
fn map_data(report: &Report) -> MapData<'_> {
    let finite: Vec<&MapPoint> = report
        .map
        .points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in &finite {
        let (x, y) = (f64::from(p.x), f64::from(p.y));
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let span = (x1 - x0).max(y1 - y0);
    let has_fine = !report.fine_topics.is_empty();
    let fine_of = |p: &MapPoint| if has_fine { p.fine_topic } else { p.topic };
    let n = finite.len();
    let mut data = MapData {
        has_reference: report.reference.is_some(),
        x: Vec::with_capacity(n),
        y: Vec::with_capacity(n),
        topic: Vec::with_capacity(n),
        fine: Vec::with_capacity(n),
        reference: Vec::with_capacity(n),
        row: Vec::with_capacity(n),
        copies: Vec::with_capacity(n),
        flags: Vec::with_capacity(n),
        text: Vec::with_capacity(n),
        topics: Vec::new(),
        fine_topics: Vec::new(),
    };
    // Quantised coordinates per topic, for the label positions.
    let mut coarse_at: BTreeMap<usize, (Vec<u16>, Vec<u16>)> = BTreeMap::new();
    let mut fine_at: BTreeMap<usize, (Vec<u16>, Vec<u16>, usize)> = BTreeMap::new();
    for p in &finite {
        let x = quantise(f64::from(p.x), x0, span);
        // Flipped: the data's y grows upwards, the screen's downwards.
        let y = quantise(y1 - f64::from(p.y), 0.0, span);
        data.x.push(x);
        data.y.push(y);
        data.topic.push(p.topic);
        data.fine.push(fine_of(p));
        data.reference.push(u8::from(p.reference));
        data.row.push(p.row);
        data.copies.push(p.copies);
        data.flags
            .push(u8::from(p.near_duplicate) | u8::from(p.outlier) << 1);
        data.text.push(&p.text);
        let c = coarse_at.entry(p.topic).or_default();
        c.0.push(x);
        c.1.push(y);
        let f = fine_at
            .entry(fine_of(p))
            .or_insert((vec![], vec![], p.topic));
        f.0.push(x);
        f.1.push(y);
    }

    // Coarse topics: the report's, then any other id a point names.
    let mut coarse: Vec<(usize, &str)> = report
        .topics
        .iter()
        .map(|t| (t.id, t.label.as_str()))
        .collect();
    for &id in coarse_at.keys() {
        if !report.topics.iter().any(|t| t.id == id) {
            coarse.push((id, ""));
        }
    }
    for (id, label) in coarse {
        let (mut xs, mut ys) = coarse_at.remove(&id).unwrap_or_default();
        data.topics.push(TopicEntry {
            id,
            parent: None,
            label,
            colour: topic_colour(id),
            n: xs.len(),
            x: median(&mut xs),
            y: median(&mut ys),
        });
    }

    // Fine topics: the report's (or the coarse ones when it has none), then the rest.
    let mut fine: Vec<(usize, usize, &str)> = match has_fine {
        true => report
            .fine_topics
            .iter()
            .map(|f| (f.id, f.parent, f.label.as_str()))
            .collect(),
        false => data.topics.iter().map(|t| (t.id, t.id, t.label)).collect(),
    };
    for (&id, &(_, _, parent)) in &fine_at {
        if !fine.iter().any(|f| f.0 == id) {
            fine.push((id, parent, ""));
        }
    }
    // Each fine topic takes its parent's colour, lighter or darker by its place
    // among its siblings.
    let mut siblings: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(id, parent, _) in &fine {
        siblings.entry(parent).or_default().push(id);
    }
    for (id, parent, label) in fine {
        let (mut xs, mut ys, _) = fine_at.remove(&id).unwrap_or_default();
        let family = &siblings[&parent];
        let rank = family.iter().filter(|&&s| s < id).count();
        let t = match family.len() {
            0 | 1 => 0.0,
            m => (rank as f64 / (m - 1) as f64 - 0.5) * 0.6,
        };
        data.fine_topics.push(TopicEntry {
            id,
            parent: Some(parent),
            label,
            colour: shade(&topic_colour(parent), t),
            n: xs.len(),
            x: median(&mut xs),
            y: median(&mut ys),
        });
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_end_the_element() {
        let s = script_json(&["</script><!-- & \u{2028}\u{2029}"]);
        assert_eq!(
            s,
            "[\"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029\"]"
        );
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, ["</script><!-- & \u{2028}\u{2029}"]);
    }

    #[test]
    fn quantise_spans_the_range_and_survives_an_empty_one() {
        assert_eq!(quantise(1.0, 1.0, 2.0), 0);
        assert_eq!(quantise(3.0, 1.0, 2.0), 65535);
        assert_eq!(quantise(2.0, 1.0, 2.0), 32768);
        assert_eq!(quantise(5.0, 5.0, 0.0), 0);
        assert_eq!(median(&mut [5, 1, 9]), Some(5));
        assert_eq!(median(&mut []), None);
        assert_eq!(shade("#000000", 0.5), "#808080");
        assert_eq!(shade("#ff8000", -0.5), "#804000");
    }
}
