//! Common text ("templates") shared by many rows of one column, and its removal from the
//! text that is embedded.
//!
//! Synthetic and SFT data sets often wrap every row in the same system prompt, tool
//! description or instruction header. The embedding of such a row is dominated by the
//! template, so rows with different content look alike. [`Templates::detect`] finds such
//! common text in one column and [`Stripper::strip`] removes it from the text to embed (never
//! from the rows written out).
//!
//! # Algorithm
//!
//! Detection runs on at most [`TemplateParams::sample`] rows (an evenly strided, deterministic
//! sample); the spans found are then recounted exactly over all rows, so the reported
//! [`CommonSpan::rows`] and [`CommonSpan::share`] are exact.
//!
//! 1. **Lines.** Every row is split on `'\n'` (one trailing `'\r'` per line dropped); the
//!    distinct non-blank lines of each row with two non-blank lines or more (a one-line row
//!    is a value, not a template around one) are counted once per row in a hash map over the
//!    sample. Lines in at least [`TemplateParams::min_rows`] rows and a share of at least
//!    [`TemplateParams::min_share`] are the common lines.
//! 2. **Prefixes and suffixes.** The common lines are removed from every sampled row (the
//!    remaining lines joined with `'\n'`, then trimmed), and the remaining texts are sorted.
//!    A prefix shared by at least `m = max(min_rows, ceil(min_share * sample), 2)` rows is a
//!    run of at least `m` consecutive sorted texts, so for each window of `m` consecutive
//!    texts the longest common prefix of its first and last text is shared by the whole
//!    window. That prefix is cut back so that it never ends inside a word (see below), and
//!    kept when it still has [`TemplateParams::min_span_chars`] characters. The candidates
//!    are counted (binary search in the sorted texts), and a prefix is dropped when a longer
//!    candidate extending it is in as many rows (the longest prefix per count is kept).
//!    Suffixes are found the same way, sorting by the reversed bytes. This costs a sort of
//!    the sample plus linear passes.
//! 3. **Report.** Spans are sorted by share (highest first), then by length (longest first),
//!    then by text, and at most [`TemplateParams::max_spans`] are kept.
//!    [`Templates::template_fraction`] is computed exactly over all rows with those spans.
//!
//! A prefix is cut at the longest position where the texts of its window change between a
//! word (letters, digits, `_`) and something else: preferably at whitespace; a cut right after
//! punctuation is used too, unless that punctuation is preceded by whitespace inside the
//! prefix (then it belongs to the varying text, as the opening quote of `Say: "…`). The same
//! holds for suffixes, mirrored (`"…? Answer briefly."` gives the suffix `Answer briefly.`,
//! leaving the question mark with the question). Leading and trailing whitespace of a span is
//! dropped. A row has a prefix (suffix) when its text starts (ends) with it and the prefix
//! does not end inside a word of the row.
//!
//! # Stripping
//!
//! [`Stripper::strip`] removes the common lines, trims the rest, then removes the longest
//! matching prefix and the longest matching suffix of what remains (at most one of each), and
//! trims again: the same order detection used. A row that would be left with nothing but
//! whitespace is returned whole, so rows made only of template still match each other.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

use rayon::prelude::*;

use affix::{exact_affixes, sample_affixes, window_size, Dir};
use count::{count_sample_lines, recount_affixes, recount_lines};

mod affix;
mod count;
#[cfg(test)]
mod tests;
use serde::{Deserialize, Serialize};

/// What kind of common text a [`CommonSpan`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A whole line, wherever it is in the row.
    Line,
    /// Text at the start of the row (after the common lines are removed).
    Prefix,
    /// Text at the end of the row (after the common lines are removed).
    Suffix,
}

/// A piece of text that many rows of a column have in common.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommonSpan {
    /// Whether it is a whole line, a prefix or a suffix.
    pub kind: SpanKind,
    /// The text: for a Line, the whole line without its line end (compared after trimming
    /// trailing '\r' only; leading/trailing spaces are part of the line);
    /// for a Prefix/Suffix, the exact span.
    pub text: String,
    /// Rows (of those examined) containing it (a line counted once per row).
    pub rows: u64,
    /// `rows` / rows examined.
    pub share: f64,
}

/// Knobs of [`Templates::detect`].
///
/// Default: `min_share` 0.05, `min_rows` 2, `sample` 100 000, `min_span_chars` 24,
/// `max_spans` 50.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemplateParams {
    /// Smallest share of rows a span must be in to be reported.
    pub min_share: f64,
    /// Smallest number of rows a span must be in. Prefixes and suffixes must in any case be
    /// in at least 2 rows.
    pub min_rows: u64,
    /// Detect on at most this many rows (an evenly strided deterministic sample when there are
    /// more); shares are then recounted exactly over all rows for the spans found. 0 counts
    /// as 1.
    pub sample: usize,
    /// Prefix/suffix spans shorter than this (in chars) are ignored (lines have no minimum,
    /// but blank / whitespace-only lines are never spans).
    pub min_span_chars: usize,
    /// Report at most this many spans (highest share first; ties: longer text first, then
    /// text order).
    pub max_spans: usize,
}

impl Default for TemplateParams {
    fn default() -> Self {
        TemplateParams {
            min_share: 0.05,
            min_rows: 2,
            sample: 100_000,
            min_span_chars: 24,
            max_spans: 50,
        }
    }
}

/// Common text found in one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Templates {
    /// Rows examined (all rows given, not just the sample).
    pub rows: u64,
    /// Spans with share >= min_share, sorted as described in [`TemplateParams::max_spans`].
    pub spans: Vec<CommonSpan>,
    /// Mean over rows of (chars of the row inside reported spans / chars of the row); 0 for
    /// empty rows and for rows that are nothing but common text (those are embedded
    /// whole). Measures how much of the embedded text stripping would remove.
    pub template_fraction: f64,
}

/// The common text found in one column of a set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnTemplates {
    /// The column (as requested).
    pub column: String,
    /// What was found.
    #[serde(flatten)]
    pub found: Templates,
    /// Unique rows whose embedded text had common text removed (0 unless stripping).
    pub stripped_rows: u64,
}

/// Rows per block when summing [`Templates::template_fraction`], so that the floating-point
/// sum does not depend on how rayon splits the work.
const FRACTION_BLOCK: usize = 4096;

impl Templates {
    /// Detects common spans over `n` rows whose text is `text(i)` (see the module docs).
    ///
    /// `text` is called for the sampled rows during detection and for every row in the exact
    /// passes, possibly from several threads. The result is deterministic.
    pub fn detect<'a>(
        n: usize,
        text: impl Fn(usize) -> &'a str + Sync,
        params: &TemplateParams,
    ) -> Templates {
        if n == 0 {
            return Templates {
                rows: 0,
                spans: Vec::new(),
                template_fraction: 0.0,
            };
        }
        let text = &text;
        let total = n as u64;
        let sample = sample_indices(n, params.sample);
        let sampled = sample.len() < n;
        let sample_total = sample.len() as u64;

        // 1. Common lines: counted on the sample, recounted exactly when sampled.
        let mut lines: Vec<(&'a str, u64)> = count_sample_lines(&sample, text)
            .into_iter()
            .map(|(line, count)| (line, u64::from(count)))
            .filter(|&(_, count)| passes(count, sample_total, params))
            .collect();
        if sampled && !lines.is_empty() {
            let exact = recount_lines(n, text, &lines);
            lines = lines
                .into_iter()
                .zip(exact)
                .map(|((line, _), count)| (line, count))
                .filter(|&(_, count)| passes(count, total, params))
                .collect();
        }
        lines.sort_unstable_by(|x, y| {
            span_order((x.1, x.0, SpanKind::Line), (y.1, y.0, SpanKind::Line))
        });
        lines.truncate(params.max_spans);
        let line_stripper = Stripper::from_parts(
            lines.iter().map(|&(line, _)| line.to_string()),
            Vec::new(),
            Vec::new(),
        );

        // 2. Prefixes and suffixes of the sampled rows without their common lines.
        let (mut prefixes, mut suffixes) = {
            let bodies: Vec<Cow<'a, str>> = sample
                .par_iter()
                .map(|&i| line_stripper.strip_lines(text(i)).0)
                .collect();
            let texts: Vec<&str> = bodies.iter().map(|b| b.as_ref()).collect();
            let m = window_size(params, sample.len());
            let is_line = |s: &str| line_stripper.lines.contains(s);
            let prefixes =
                sample_affixes(texts.clone(), Dir::Fwd, m, sample_total, params, &is_line);
            let suffixes = sample_affixes(texts, Dir::Rev, m, sample_total, params, &is_line);
            (prefixes, suffixes)
        };
        if sampled && !(prefixes.is_empty() && suffixes.is_empty()) {
            let exact = recount_affixes(n, text, &line_stripper, &prefixes, &suffixes);
            let (exact_prefixes, exact_suffixes) = exact.split_at(prefixes.len());
            prefixes = exact_affixes(prefixes, exact_prefixes, Dir::Fwd, total, params);
            suffixes = exact_affixes(suffixes, exact_suffixes, Dir::Rev, total, params);
        }

        // 3. Report.
        let share = |rows: u64| rows as f64 / total as f64;
        let mut spans: Vec<CommonSpan> = lines
            .iter()
            .map(|&(line, rows)| (SpanKind::Line, line.to_string(), rows))
            .chain(
                prefixes
                    .into_iter()
                    .map(|(t, rows)| (SpanKind::Prefix, t, rows)),
            )
            .chain(
                suffixes
                    .into_iter()
                    .map(|(t, rows)| (SpanKind::Suffix, t, rows)),
            )
            .map(|(kind, text, rows)| CommonSpan {
                kind,
                text,
                rows,
                share: share(rows),
            })
            .collect();
        spans.sort_by(|x, y| {
            span_order(
                (x.rows, x.text.as_str(), x.kind),
                (y.rows, y.text.as_str(), y.kind),
            )
        });
        spans.truncate(params.max_spans);
        let stripper = Stripper::from_spans(&spans);
        let template_fraction = template_fraction(n, text, &stripper);
        Templates {
            rows: total,
            spans,
            template_fraction,
        }
    }

    /// A stripper removing the spans with share >= `share` (a value in (0, 1]).
    pub fn stripper(&self, share: f64) -> Stripper {
        Stripper::from_spans(self.spans.iter().filter(|s| s.share >= share))
    }
}

/// A prefix or suffix to remove, with its length in chars.
#[derive(Debug, Clone)]
struct Affix {
    text: String,
    chars: usize,
}

impl Affix {
    fn new(text: String) -> Affix {
        let chars = text.chars().count();
        Affix { text, chars }
    }
}

/// Removes common spans (from [`Templates::stripper`]) from a text.
///
/// The default stripper removes nothing.
#[derive(Debug, Clone, Default)]
pub struct Stripper {
    /// Common lines, without line ends.
    lines: HashSet<String>,
    /// Prefixes, longest first.
    prefixes: Vec<Affix>,
    /// Suffixes, longest first.
    suffixes: Vec<Affix>,
}

impl Stripper {
    fn from_parts(
        lines: impl IntoIterator<Item = String>,
        prefixes: Vec<String>,
        suffixes: Vec<String>,
    ) -> Stripper {
        let affixes = |mut v: Vec<String>| {
            v.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            v.dedup();
            v.into_iter().map(Affix::new).collect()
        };
        Stripper {
            lines: lines.into_iter().collect(),
            prefixes: affixes(prefixes),
            suffixes: affixes(suffixes),
        }
    }

    fn from_spans<'s>(spans: impl IntoIterator<Item = &'s CommonSpan>) -> Stripper {
        let mut lines = Vec::new();
        let mut prefixes = Vec::new();
        let mut suffixes = Vec::new();
        for span in spans {
            let list = match span.kind {
                SpanKind::Line => &mut lines,
                SpanKind::Prefix => &mut prefixes,
                SpanKind::Suffix => &mut suffixes,
            };
            list.push(span.text.clone());
        }
        Stripper::from_parts(lines, prefixes, suffixes)
    }

    /// Whether it removes nothing (no span at the share).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.prefixes.is_empty() && self.suffixes.is_empty()
    }

    /// `text` without the common lines, then without a common prefix and suffix (order: lines
    /// first, then the prefix/suffix of what remains, matching how detection found them).
    ///
    /// Remaining lines keep their order, joined with '\n' (without their '\r'); whitespace
    /// that stripping exposes at the start and end is trimmed. Returns `text` unchanged
    /// (borrowed) when nothing matched; when stripping would leave only whitespace, returns
    /// the original text unchanged (a row that is all template is embedded whole, so
    /// all-template rows still match each other).
    pub fn strip<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.is_empty() {
            return Cow::Borrowed(text);
        }
        let (out, stripped) = self.apply(text);
        if stripped == 0 || out.is_empty() {
            Cow::Borrowed(text)
        } else {
            out
        }
    }

    /// A stable 64-bit fingerprint of what it strips (FNV-1a over the sorted span kinds and
    /// texts), for cache keys. Equal for strippers removing the same spans.
    pub fn fingerprint(&self) -> u64 {
        let mut items: Vec<(u8, &str)> = self
            .lines
            .iter()
            .map(|l| (0, l.as_str()))
            .chain(self.prefixes.iter().map(|a| (1, a.text.as_str())))
            .chain(self.suffixes.iter().map(|a| (2, a.text.as_str())))
            .collect();
        items.sort_unstable();
        let mut h = fnv1a(FNV_OFFSET, b"semsift.template.v1");
        for (tag, text) in items {
            h = fnv1a(h, &[tag]);
            h = fnv1a(h, &(text.len() as u64).to_le_bytes());
            h = fnv1a(h, text.as_bytes());
        }
        h
    }

    /// `text` without its common lines, trimmed, and the number of chars removed (0 when no
    /// line was removed; the trimmed `text` is then borrowed).
    fn strip_lines<'t>(&self, text: &'t str) -> (Cow<'t, str>, usize) {
        let common = |piece: &str| self.lines.contains(strip_cr(piece));
        if self.lines.is_empty() || !text.split('\n').any(common) {
            return (Cow::Borrowed(text.trim()), 0);
        }
        let mut removed = 0;
        let mut out = String::with_capacity(text.len());
        let mut first = true;
        for piece in text.split('\n') {
            let line = strip_cr(piece);
            if self.lines.contains(line) {
                removed += line.chars().count();
                continue;
            }
            if !first {
                out.push('\n');
            }
            first = false;
            out.push_str(line);
        }
        let trimmed = out.trim();
        if trimmed.len() != out.len() {
            out = trimmed.to_string();
        }
        (Cow::Owned(out), removed)
    }

    /// `text` stripped of lines, prefix and suffix, trimmed, and the number of chars removed
    /// (0 when nothing matched; the trimmed `text` is then borrowed). Unlike [`Self::strip`],
    /// the result may be empty.
    fn apply<'t>(&self, text: &'t str) -> (Cow<'t, str>, usize) {
        let (body, mut stripped) = self.strip_lines(text);
        let (start, end) = {
            let s: &str = &body;
            let mut start = 0;
            if let Some(p) = self.prefixes.iter().find(|p| Dir::Fwd.matches(s, &p.text)) {
                start = p.text.len();
                stripped += p.chars;
            }
            let mut end = s.len();
            if let Some(x) = self
                .suffixes
                .iter()
                .find(|x| Dir::Rev.matches(&s[start..], &x.text))
            {
                end -= x.text.len();
                stripped += x.chars;
            }
            if start == 0 && end == s.len() {
                (0, s.len())
            } else {
                let inner = &s[start..end];
                let from = start + (inner.len() - inner.trim_start().len());
                (from, from + inner.trim().len())
            }
        };
        let out = match body {
            Cow::Borrowed(b) => Cow::Borrowed(&b[start..end]),
            Cow::Owned(mut o) => {
                o.truncate(end);
                o.drain(..start);
                Cow::Owned(o)
            }
        };
        (out, stripped)
    }
}

/// A line without one trailing '\r'.
pub(super) fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

/// Whether `c` is part of a word: a spans never ends between two such chars.
pub(super) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a span in `count` of `total` rows is frequent enough to report.
pub(super) fn passes(count: u64, total: u64, params: &TemplateParams) -> bool {
    count > 0 && count >= params.min_rows && count as f64 / total as f64 >= params.min_share
}

/// The order of reported spans: more rows first, then longer text (in chars), then text, then
/// kind.
pub(super) fn span_order(a: (u64, &str, SpanKind), b: (u64, &str, SpanKind)) -> Ordering {
    b.0.cmp(&a.0)
        .then_with(|| b.1.chars().count().cmp(&a.1.chars().count()))
        .then_with(|| a.1.cmp(b.1))
        .then_with(|| (a.2 as u8).cmp(&(b.2 as u8)))
}

/// The rows to detect on: all of them, or `sample` evenly strided ones.
pub(super) fn sample_indices(n: usize, sample: usize) -> Vec<usize> {
    let sample = sample.max(1);
    if n <= sample {
        (0..n).collect()
    } else {
        (0..sample)
            .map(|k| (k as u128 * n as u128 / sample as u128) as usize)
            .collect()
    }
}

/// Mean over the `n` rows of the share of their chars that `stripper` removes.
pub(super) fn template_fraction<'a, F>(n: usize, text: &F, stripper: &Stripper) -> f64
where
    F: Fn(usize) -> &'a str + Sync,
{
    if stripper.is_empty() || n == 0 {
        return 0.0;
    }
    let blocks: Vec<f64> = (0..n.div_ceil(FRACTION_BLOCK))
        .into_par_iter()
        .map(|b| {
            let lo = b * FRACTION_BLOCK;
            let hi = (lo + FRACTION_BLOCK).min(n);
            (lo..hi)
                .map(|i| {
                    let t = text(i);
                    let chars = t.chars().count();
                    if chars == 0 {
                        return 0.0;
                    }
                    let (out, stripped) = stripper.apply(t);
                    if out.is_empty() {
                        // Nothing but common text: embedded whole, as a value.
                        return 0.0;
                    }
                    (stripped as f64 / chars as f64).min(1.0)
                })
                .sum::<f64>()
        })
        .collect();
    blocks.iter().sum::<f64>() / n as f64
}

pub(super) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(super) const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, continuing from `h`.
pub(super) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}
