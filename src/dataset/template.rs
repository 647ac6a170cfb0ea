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
use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
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
fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

/// Whether `c` is part of a word: a spans never ends between two such chars.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a span in `count` of `total` rows is frequent enough to report.
fn passes(count: u64, total: u64, params: &TemplateParams) -> bool {
    count > 0 && count >= params.min_rows && count as f64 / total as f64 >= params.min_share
}

/// The order of reported spans: more rows first, then longer text (in chars), then text, then
/// kind.
fn span_order(a: (u64, &str, SpanKind), b: (u64, &str, SpanKind)) -> Ordering {
    b.0.cmp(&a.0)
        .then_with(|| b.1.chars().count().cmp(&a.1.chars().count()))
        .then_with(|| a.1.cmp(b.1))
        .then_with(|| (a.2 as u8).cmp(&(b.2 as u8)))
}

/// The rows to detect on: all of them, or `sample` evenly strided ones.
fn sample_indices(n: usize, sample: usize) -> Vec<usize> {
    let sample = sample.max(1);
    if n <= sample {
        (0..n).collect()
    } else {
        (0..sample)
            .map(|k| (k as u128 * n as u128 / sample as u128) as usize)
            .collect()
    }
}

/// Counts the distinct non-blank lines of the sampled rows, once per row.
fn count_sample_lines<'a, F>(sample: &[usize], text: &F) -> HashMap<&'a str, u32>
where
    F: Fn(usize) -> &'a str + Sync,
{
    sample
        .par_iter()
        .fold(
            || (HashMap::new(), Vec::new()),
            |(mut counts, mut row): (HashMap<&'a str, u32>, Vec<&'a str>), &i| {
                row.clear();
                row.extend(
                    text(i)
                        .split('\n')
                        .map(strip_cr)
                        .filter(|l| !l.trim().is_empty()),
                );
                if row.len() < 2 {
                    // A one-line row is a value, not a template around one.
                    row.clear();
                    return (counts, row);
                }
                row.sort_unstable();
                row.dedup();
                for line in row.drain(..) {
                    *counts.entry(line).or_insert(0) += 1;
                }
                (counts, row)
            },
        )
        .map(|(counts, _)| counts)
        .reduce(HashMap::new, |a, b| {
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (line, count) in small {
                *big.entry(line).or_insert(0) += count;
            }
            big
        })
}

/// Whether `text` has at least two non-blank lines (only such rows have common lines).
fn multi_line(text: &str) -> bool {
    text.split('\n')
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .count()
        == 2
}

/// The exact number of rows of all `n` with two lines or more containing each of `lines`.
fn recount_lines<'a, F>(n: usize, text: &F, lines: &[(&'a str, u64)]) -> Vec<u64>
where
    F: Fn(usize) -> &'a str + Sync,
{
    let index: HashMap<&str, usize> = lines
        .iter()
        .enumerate()
        .map(|(j, &(l, _))| (l, j))
        .collect();
    let k = lines.len();
    (0..n)
        .into_par_iter()
        .fold(
            || (vec![0u64; k], Vec::new()),
            |(mut counts, mut seen): (Vec<u64>, Vec<usize>), i| {
                seen.clear();
                if !multi_line(text(i)) {
                    return (counts, seen);
                }
                seen.extend(
                    text(i)
                        .split('\n')
                        .filter_map(|p| index.get(strip_cr(p)).copied()),
                );
                seen.sort_unstable();
                seen.dedup();
                for &j in &seen {
                    counts[j] += 1;
                }
                (counts, seen)
            },
        )
        .map(|(counts, _)| counts)
        .reduce(|| vec![0u64; k], add_counts)
}

/// The exact number of rows of all `n` (without their common lines) having each prefix, then
/// each suffix.
fn recount_affixes<'a, F>(
    n: usize,
    text: &F,
    lines: &Stripper,
    prefixes: &[(String, u64)],
    suffixes: &[(String, u64)],
) -> Vec<u64>
where
    F: Fn(usize) -> &'a str + Sync,
{
    let k = prefixes.len() + suffixes.len();
    (0..n)
        .into_par_iter()
        .fold(
            || vec![0u64; k],
            |mut counts, i| {
                let (body, _) = lines.strip_lines(text(i));
                let cands = prefixes
                    .iter()
                    .map(|p| (Dir::Fwd, p))
                    .chain(suffixes.iter().map(|s| (Dir::Rev, s)));
                for (count, (dir, (affix, _))) in counts.iter_mut().zip(cands) {
                    if dir.matches(&body, affix) {
                        *count += 1;
                    }
                }
                counts
            },
        )
        .reduce(|| vec![0u64; k], add_counts)
}

fn add_counts(mut a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

/// The number of consecutive sorted texts a reported prefix must span in the sample.
fn window_size(params: &TemplateParams, len: usize) -> usize {
    let by_share = (params.min_share * len as f64).ceil();
    let by_share = if by_share.is_nan() || by_share <= 0.0 {
        0
    } else if by_share >= len as f64 {
        len.saturating_add(1)
    } else {
        by_share as usize
    };
    let by_rows = usize::try_from(params.min_rows).unwrap_or(usize::MAX);
    by_rows.max(by_share).max(2)
}

/// Prefixes (or suffixes) of the sampled texts passing the thresholds on the sample, nested
/// ones pruned, at most `max_spans` of them, with their sample counts.
fn sample_affixes(
    texts: Vec<&str>,
    dir: Dir,
    m: usize,
    sample_total: u64,
    params: &TemplateParams,
    is_line: &dyn Fn(&str) -> bool,
) -> Vec<(String, u64)> {
    let kind = dir.kind();
    let found: Vec<(String, u64)> = find_affixes(texts, dir, m, params.min_span_chars)
        .into_iter()
        .filter(|&(s, count)| count >= 2 && passes(count, sample_total, params) && !is_line(s))
        .map(|(s, count)| (s.to_string(), count))
        .collect();
    let mut kept = prune_nested(found, dir);
    kept.sort_by(|x, y| span_order((x.1, x.0.as_str(), kind), (y.1, y.0.as_str(), kind)));
    kept.truncate(params.max_spans);
    kept
}

/// `affixes` with their exact counts, those passing the thresholds, nested ones pruned.
fn exact_affixes(
    affixes: Vec<(String, u64)>,
    exact: &[u64],
    dir: Dir,
    total: u64,
    params: &TemplateParams,
) -> Vec<(String, u64)> {
    let recounted = affixes
        .into_iter()
        .zip(exact)
        .map(|((s, _), &count)| (s, count))
        .filter(|&(_, count)| count >= 2 && passes(count, total, params))
        .collect();
    prune_nested(recounted, dir)
}

/// Drops each affix that a longer one extending it (a prefix starting with it, a suffix ending
/// with it) is in as many rows as. `affixes` are distinct.
fn prune_nested(mut affixes: Vec<(String, u64)>, dir: Dir) -> Vec<(String, u64)> {
    // In this order the affixes extending one follow it directly.
    affixes.sort_unstable_by(|x, y| dir.cmp(&x.0, &y.0));
    let keep: Vec<bool> = (0..affixes.len())
        .map(|j| {
            let (s, count) = &affixes[j];
            !affixes[j + 1..]
                .iter()
                .take_while(|x| dir.has(&x.0, s))
                .any(|x| x.1 >= *count)
        })
        .collect();
    affixes
        .into_iter()
        .zip(keep)
        .filter_map(|(a, keep)| keep.then_some(a))
        .collect()
}

/// Candidate prefixes (suffixes) shared by at least `m` of `texts`, cut at word boundaries,
/// with the number of texts having each.
fn find_affixes<'t>(
    mut texts: Vec<&'t str>,
    dir: Dir,
    m: usize,
    min_chars: usize,
) -> Vec<(&'t str, u64)> {
    if m == 0 || texts.len() < m {
        return Vec::new();
    }
    texts.sort_unstable_by(|a, b| dir.cmp(a, b));
    let mut cands: Vec<&'t str> = Vec::new();
    for w in texts.windows(m) {
        let (a, b) = (w[0], w[m - 1]);
        let l = dir.lcp(a, b);
        if l == 0 {
            continue;
        }
        if let Some(s) = cut(a, b, l, dir, min_chars) {
            if cands.last() != Some(&s) {
                cands.push(s);
            }
        }
    }
    cands.sort_unstable_by(|a, b| dir.cmp(a, b));
    cands.dedup();
    cands
        .into_iter()
        .map(|c| (c, count_sorted(&texts, c, dir)))
        .collect()
}

/// How many of `texts` (sorted in `dir` order) have the affix `c`.
fn count_sorted(texts: &[&str], c: &str, dir: Dir) -> u64 {
    let lo = texts.partition_point(|t| dir.cmp(t, c) == Ordering::Less);
    let hi = lo + texts[lo..].partition_point(|t| dir.has(t, c));
    let range = &texts[lo..hi];
    if dir.inner(c, c.len()).is_some_and(|ch| !is_word(ch)) {
        range.len() as u64
    } else {
        range.iter().filter(|t| dir.matches(t, c)).count() as u64
    }
}

/// The longest affix of at most `l` bytes that `a` and `b` share (they share `l` bytes in
/// `dir`), cut where it does not end inside a word (see the module docs), trimmed, when it
/// has at least `min_chars` chars.
fn cut<'t>(a: &'t str, b: &str, l: usize, dir: Dir, min_chars: usize) -> Option<&'t str> {
    let mut k = l;
    while k > 0 {
        let inner = dir.inner(a, k)?;
        let (out_a, out_b) = (dir.outer(a, k), dir.outer(b, k));
        let outside = |f: fn(char) -> bool| out_a.is_none_or(f) && out_b.is_none_or(f);
        let accept = if inner.is_whitespace() || outside(char::is_whitespace) {
            true
        } else if is_word(inner) {
            outside(|c| !is_word(c))
        } else {
            // Punctuation: part of the span unless whitespace separates it from the span.
            dir.inner2(a, k).is_none_or(|c| !c.is_whitespace())
        };
        if accept {
            let s = dir.trim(dir.affix(a, k));
            return (!s.is_empty() && s.chars().count() >= min_chars).then_some(s);
        }
        k -= inner.len_utf8();
    }
    None
}

/// Which end of the texts an affix is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Prefixes.
    Fwd,
    /// Suffixes.
    Rev,
}

impl Dir {
    fn kind(self) -> SpanKind {
        match self {
            Dir::Fwd => SpanKind::Prefix,
            Dir::Rev => SpanKind::Suffix,
        }
    }

    /// An order in which texts sharing an affix are contiguous (bytes, or reversed bytes).
    fn cmp(self, a: &str, b: &str) -> Ordering {
        match self {
            Dir::Fwd => a.cmp(b),
            Dir::Rev => a.bytes().rev().cmp(b.bytes().rev()),
        }
    }

    /// Whether `t` starts (ends) with `affix`, wherever that ends.
    fn has(self, t: &str, affix: &str) -> bool {
        match self {
            Dir::Fwd => t.starts_with(affix),
            Dir::Rev => t.ends_with(affix),
        }
    }

    /// Whether `t` starts (ends) with `affix`, and `affix` does not end (start) inside a word
    /// of `t`.
    fn matches(self, t: &str, affix: &str) -> bool {
        if !self.has(t, affix) {
            return false;
        }
        let k = affix.len();
        self.inner(t, k).is_some_and(|c| !is_word(c))
            || self.outer(t, k).is_none_or(|c| !is_word(c))
    }

    /// The affix of `k` bytes of `t` (`k` on a char boundary).
    fn affix(self, t: &str, k: usize) -> &str {
        match self {
            Dir::Fwd => &t[..k],
            Dir::Rev => &t[t.len() - k..],
        }
    }

    /// `t` without its affix of `k` bytes.
    fn rest(self, t: &str, k: usize) -> &str {
        match self {
            Dir::Fwd => &t[k..],
            Dir::Rev => &t[..t.len() - k],
        }
    }

    /// The char of the affix of `k` bytes next to the rest (last of a prefix, first of a
    /// suffix).
    fn inner(self, t: &str, k: usize) -> Option<char> {
        let a = self.affix(t, k);
        match self {
            Dir::Fwd => a.chars().next_back(),
            Dir::Rev => a.chars().next(),
        }
    }

    /// The char of the affix next to [`Self::inner`], on the inside.
    fn inner2(self, t: &str, k: usize) -> Option<char> {
        let mut chars = self.affix(t, k).chars();
        match self {
            Dir::Fwd => chars.nth_back(1),
            Dir::Rev => chars.nth(1),
        }
    }

    /// The char of the rest next to the affix of `k` bytes, if any.
    fn outer(self, t: &str, k: usize) -> Option<char> {
        let r = self.rest(t, k);
        match self {
            Dir::Fwd => r.chars().next(),
            Dir::Rev => r.chars().next_back(),
        }
    }

    /// Bytes of the longest common affix of `a` and `b`, on a char boundary.
    fn lcp(self, a: &str, b: &str) -> usize {
        let (x, y) = (a.as_bytes(), b.as_bytes());
        match self {
            Dir::Fwd => {
                let mut l = x.iter().zip(y).take_while(|(p, q)| p == q).count();
                while !a.is_char_boundary(l) {
                    l -= 1;
                }
                l
            }
            Dir::Rev => {
                let mut l = x
                    .iter()
                    .rev()
                    .zip(y.iter().rev())
                    .take_while(|(p, q)| p == q)
                    .count();
                while !a.is_char_boundary(a.len() - l) {
                    l -= 1;
                }
                l
            }
        }
    }

    /// `s` without whitespace at its rest side.
    fn trim(self, s: &str) -> &str {
        match self {
            Dir::Fwd => s.trim_end(),
            Dir::Rev => s.trim_start(),
        }
    }
}

/// Mean over the `n` rows of the share of their chars that `stripper` removes.
fn template_fraction<'a, F>(n: usize, text: &F, stripper: &Stripper) -> f64
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

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, continuing from `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "Rome", "Egypt", "China", "Peru", "France", "India", "Japan", "Mexico", "Persia",
            "Greece", "Norway", "Kenya",
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
            "paints", "finds", "sells", "cleans", "builds", "opens", "moves", "reads", "hides",
            "fixes",
        ];
        let nouns = [
            "house", "boat", "garden", "letter", "window", "bridge", "table", "lamp", "car",
            "fence",
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
                            || (a.text.chars().count() == b.text.chars().count()
                                && a.text < b.text))),
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
        let got: Vec<(SpanKind, &str, u64)> = t
            .spans
            .iter()
            .map(|s| (s.kind, s.text.as_str(), s.rows))
            .collect();
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
            "我", "我们", "你", "你们", "他", "他们", "老师", "学生", "医生", "孩子", "朋友",
            "邻居",
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
        let got: Vec<(SpanKind, &str, u64)> = t
            .spans
            .iter()
            .map(|s| (s.kind, s.text.as_str(), s.rows))
            .collect();
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
            .map(|i| {
                format!("🎉🎉 Celebrate the special occasion with us 🎉🎉\nParty number {i} 🎈")
            })
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
                        std::ptr::eq(out.as_ref(), r.as_str())
                            || out.trim() == out && !out.is_empty()
                    );
                }
            }
        }
    }
}
