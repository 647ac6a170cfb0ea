//! The inline SVG charts of `report.html`: the 2-D map of sampled rows and the bar
//! chart of topic shares. They are plain markup generated here, so they work without
//! JavaScript; the page's script only adds highlighting through `data-topic`.
//!
//! Every text taken from the report goes through [`escape`]; everything else written
//! here is a number formatted by Rust or a constant. The number formatting helpers at
//! the end ([`pct`], [`num`], [`int`]) are shared with the rest of the page.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

use super::html::{escape, TopicIndex};
use super::model::{Map, MapPoint, Topic};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($($arg:tt)*) => {
        let _ = write!($($arg)*);
    };
}

/// Categorical palette: twenty distinct hues (Tableau 10 and ten more).
const PALETTE: [(u8, u8, u8); 20] = [
    (0x4e, 0x79, 0xa7),
    (0xf2, 0x8e, 0x2b),
    (0xe1, 0x57, 0x59),
    (0x76, 0xb7, 0xb2),
    (0x59, 0xa1, 0x4f),
    (0xed, 0xc9, 0x48),
    (0xb0, 0x7a, 0xa1),
    (0xff, 0x9d, 0xa7),
    (0x9c, 0x75, 0x5f),
    (0x79, 0x70, 0x6e),
    (0x1f, 0x3a, 0x93),
    (0x00, 0x9e, 0x73),
    (0xd4, 0x50, 0x87),
    (0x66, 0x51, 0x91),
    (0x8c, 0xb3, 0x1d),
    (0xcc, 0x66, 0x00),
    (0x17, 0xbe, 0xcf),
    (0x8b, 0x1e, 0x3f),
    (0x5a, 0x6b, 0x2f),
    (0xbc, 0x80, 0xbd),
];

/// Lightness variants for the palette's later rounds: > 0 mixes towards white,
/// < 0 towards black.
const SHADES: [f64; 5] = [0.0, -0.35, 0.4, -0.55, 0.6];

/// The colour of topic `id`, as `#rrggbb`: the palette, cycled, with a different
/// lightness in each round of twenty.
pub(super) fn topic_colour(id: usize) -> String {
    let (r, g, b) = PALETTE[id % PALETTE.len()];
    let shade = SHADES[(id / PALETTE.len()) % SHADES.len()];
    let mix = |c: u8| -> u8 {
        let c = f64::from(c);
        let v = if shade >= 0.0 {
            c + (255.0 - c) * shade
        } else {
            c * (1.0 + shade)
        };
        v.round().clamp(0.0, 255.0) as u8
    };
    format!("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b))
}

const MAP_W: f64 = 1000.0;
const MAP_H: f64 = 640.0;
const PLOT_L: f64 = 36.0;
const PLOT_R: f64 = 988.0;
const PLOT_T: f64 = 12.0;
const PLOT_B: f64 = 596.0;

/// `[lo, hi]` widened by 5 % on each side; `[-1, 1]` when empty (`lo > hi`), and
/// ±1 around a single value.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if lo > hi {
        return (-1.0, 1.0);
    }
    let span = hi - lo;
    if !span.is_finite() || span <= f64::EPSILON * lo.abs().max(1.0) {
        return (lo - 1.0, lo + 1.0);
    }
    (lo - span * 0.05, hi + span * 0.05)
}

/// The map: one circle per point (hollow for reference rows), grouped per topic in
/// `<g data-topic>` elements that carry the colour and a tooltip. Points with a
/// non-finite coordinate are left out.
pub(super) fn map_svg(map: &Map, topics: &TopicIndex) -> String {
    let finite = |p: &&MapPoint| p.x.is_finite() && p.y.is_finite();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut groups: BTreeMap<usize, Vec<&MapPoint>> = BTreeMap::new();
    for p in map.points.iter().filter(finite) {
        let (x, y) = (f64::from(p.x), f64::from(p.y));
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
        groups.entry(p.topic).or_default().push(p);
    }
    let (x0, x1) = padded(x0, x1);
    let (y0, y1) = padded(y0, y1);
    let sx = |x: f64| PLOT_L + (x - x0) / (x1 - x0) * (PLOT_R - PLOT_L);
    let sy = |y: f64| PLOT_B - (y - y0) / (y1 - y0) * (PLOT_B - PLOT_T);
    let n = groups.values().map(Vec::len).sum::<usize>();
    let r = match n {
        0..=999 => 3.2,
        1000..=2999 => 2.4,
        _ => 1.9,
    };

    let mut out = String::with_capacity(1024 + n * 40);
    let method = escape(&map.method);
    w!(
        out,
        "<svg class=\"chart map\" id=\"map-svg\" viewBox=\"0 0 {MAP_W} {MAP_H}\" \
         role=\"img\" aria-label=\"{method}\"><title>{method}</title>\
         <rect class=\"frame\" x=\"{PLOT_L}\" y=\"{PLOT_T}\" width=\"{}\" height=\"{}\"/>",
        PLOT_R - PLOT_L,
        PLOT_B - PLOT_T
    );
    // Zero lines, where the origin is in view.
    if x0 < 0.0 && x1 > 0.0 {
        let x = sx(0.0);
        w!(
            out,
            "<line class=\"zero\" x1=\"{x:.1}\" y1=\"{PLOT_T}\" x2=\"{x:.1}\" y2=\"{PLOT_B}\"/>"
        );
    }
    if y0 < 0.0 && y1 > 0.0 {
        let y = sy(0.0);
        w!(
            out,
            "<line class=\"zero\" x1=\"{PLOT_L}\" y1=\"{y:.1}\" x2=\"{PLOT_R}\" y2=\"{y:.1}\"/>"
        );
    }
    for (&topic, points) in &groups {
        let colour = topic_colour(topic);
        let label = topics.get(&topic).map_or("", |t| t.label.as_str());
        w!(
            out,
            "<g class=\"t\" data-topic=\"{topic}\" fill=\"{colour}\" stroke=\"{colour}\">\
             <title>Topic {topic}: {}</title>",
            escape(label)
        );
        // Reference rows first, so the input's filled dots stay on top.
        for reference in [true, false] {
            for p in points.iter().filter(|p| p.reference == reference) {
                let class = if reference { " class=\"r\"" } else { "" };
                w!(
                    out,
                    "<circle{class} cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\"/>",
                    sx(f64::from(p.x)),
                    sy(f64::from(p.y))
                );
            }
        }
        out.push_str("</g>");
    }
    let [ev1, ev2] = map.explained_variance;
    w!(
        out,
        "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">axis 1 · {} of variance</text>\
         <text class=\"axis\" transform=\"translate(20 {}) rotate(-90)\" text-anchor=\"middle\">axis 2 · {} of variance</text>\
         </svg>",
        (PLOT_L + PLOT_R) / 2.0,
        PLOT_B + 30.0,
        pct(ev1),
        (PLOT_T + PLOT_B) / 2.0,
        pct(ev2)
    );
    out
}

const BAR_W: f64 = 1000.0;
const LABEL_END: f64 = 318.0;
const BAR_X: f64 = 344.0;
const BAR_MAX: f64 = 560.0;

/// A share as a finite fraction in `[0, 1]` (non-finite values count as 0).
fn unit(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Horizontal bars of the shares of `ranked` (already in display order): the input's
/// share, and the reference's beside it when `with_reference`. Each row links to its
/// topic card and carries `data-topic`.
pub(super) fn share_bars(ranked: &[&Topic], with_reference: bool) -> String {
    let row_h = if with_reference { 30.0 } else { 20.0 };
    let bar_h = if with_reference { 11.0 } else { 13.0 };
    let top = 30.0;
    let height = top + row_h * ranked.len() as f64 + 8.0;
    let max = ranked
        .iter()
        .flat_map(|t| [Some(t.input.share), t.reference.map(|r| r.share)])
        .flatten()
        .map(unit)
        .fold(0.0, f64::max)
        .max(1e-9);
    let scale = |share: f64| (unit(share) / max * BAR_MAX).max(0.0);

    let mut out = String::with_capacity(512 + ranked.len() * 600);
    w!(
        out,
        "<svg class=\"chart bars\" viewBox=\"0 0 {BAR_W} {height}\" role=\"img\" \
         aria-label=\"Topic shares\">\
         <rect class=\"in\" x=\"{BAR_X}\" y=\"6\" width=\"14\" height=\"12\"/>\
         <text class=\"legend\" x=\"{}\" y=\"16\">input</text>",
        BAR_X + 20.0
    );
    if with_reference {
        w!(
            out,
            "<rect class=\"ref\" x=\"{}\" y=\"6\" width=\"14\" height=\"12\"/>\
             <text class=\"legend\" x=\"{}\" y=\"16\">reference</text>",
            BAR_X + 90.0,
            BAR_X + 110.0
        );
    }
    for (i, t) in ranked.iter().enumerate() {
        let y = top + row_h * i as f64;
        let label = escape(&t.label);
        let short = escape(&truncate(&t.label, 40));
        let id = t.id;
        let mid = row_h / 2.0;
        let ref_text = t
            .reference
            .map(|r| format!(", reference {}", pct(r.share)))
            .unwrap_or_default();
        w!(
            out,
            "<a href=\"#topic-{id}\"><g class=\"bar\" data-topic=\"{id}\" transform=\"translate(0 {y})\">\
             <title>Topic {id}: {label} (input {}{ref_text})</title>\
             <rect class=\"hit\" x=\"0\" y=\"0\" width=\"{BAR_W}\" height=\"{row_h}\"/>\
             <rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text class=\"lbl\" x=\"{LABEL_END}\" y=\"{mid}\" text-anchor=\"end\" dominant-baseline=\"middle\">{short}</text>",
            pct(t.input.share),
            LABEL_END + 8.0,
            mid - 5.0,
            topic_colour(id)
        );
        let mut bars = vec![("in", t.input.share)];
        if with_reference {
            bars.push(("ref", t.reference.map_or(0.0, |r| r.share)));
        }
        let y0 = (row_h - bar_h * bars.len() as f64) / 2.0;
        for (j, (class, share)) in bars.into_iter().enumerate() {
            let by = y0 + bar_h * j as f64;
            let width = scale(share);
            w!(
                out,
                "<rect class=\"{class}\" x=\"{BAR_X}\" y=\"{by}\" width=\"{width:.1}\" height=\"{}\"/>\
                 <text class=\"val\" x=\"{:.1}\" y=\"{}\" dominant-baseline=\"middle\">{}</text>",
                bar_h - 1.0,
                BAR_X + width + 5.0,
                by + bar_h / 2.0,
                pct(share)
            );
        }
        out.push_str("</g></a>");
    }
    out.push_str("</svg>");
    out
}

// Number and text formatting, shared with the rest of the page.

/// `s` cut to `max` characters, ending with "…" when cut.
fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some(_) => {
            let keep: String = s.chars().take(max.saturating_sub(1)).collect();
            Cow::Owned(keep + "…")
        }
    }
}

/// A fraction as a percentage with two decimals (one from 10 %).
pub(super) fn pct(x: f64) -> String {
    let p = x * 100.0;
    if !p.is_finite() {
        "–".to_string()
    } else if p != 0.0 && p.abs() < 0.005 {
        "<0.01%".to_string()
    } else if p.abs() < 10.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// A number with `decimals` decimals, "–" when not finite.
pub(super) fn num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "–".to_string()
    }
}

/// A sort key for a `data-sort` attribute: the number, or nothing when not finite.
pub(super) fn key(x: f64) -> String {
    if x.is_finite() {
        x.to_string()
    } else {
        String::new()
    }
}

/// An integer with thousands separators.
pub(super) fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
