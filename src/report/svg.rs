//! The inline SVG chart of `report.html`: the bar chart of topic shares (the map is a
//! canvas, [`super::html_map`]). It is plain markup generated here, so it works without
//! JavaScript; the page's script only adds highlighting through `data-topic`; the
//! topic colours ([`topic_colour`]) are shared with the map.
//!
//! Every text taken from the report goes through [`escape`]; everything else written
//! here is a number formatted by Rust or a constant. The number formatting helpers at
//! the end ([`pct`], [`num`], [`int`]) are shared with the rest of the page.

use std::borrow::Cow;
use std::fmt::Write;

use super::html::escape;
use super::model::Topic;

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
