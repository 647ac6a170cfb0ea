//! The duplicate review of a deduplication (`review.html` of `semsift dedup --review`):
//! what each threshold would remove, for a person to look at before choosing one.
//!
//! [`build_review`] takes a finished [`Deduplication`] that kept its pairs
//! ([`DedupParams::keep_pairs`](crate::dedup::DedupParams::keep_pairs), or a sweep, or a
//! reference set) and the texts of its rows, decides again at every threshold of the
//! slider ([`review_thresholds`]: the applied one, the sweep, and a grid in steps of
//! 0.01 from the search floor to 1.0) through [`Deduplication::rethreshold`], and returns
//! a [`Review`]: per threshold the exact kept, removed and exact-removed counts and the
//! removed rows with the lowest scores (the borderline ones, at most
//! [`ReviewParams::rows`]), and the texts of the rows listed, once per row.
//! [`render_review`](super::render_review) renders it as one self-contained page.
//!
//! # The page
//!
//! Like `report.html`, it needs nothing from the network and runs one inline script,
//! allowed by its SHA-256 in a Content Security Policy. The [`Review`] is a JSON data
//! block in which `<`, `>`, `&`, U+2028 and U+2029 are `\u` escapes, so no text can end
//! the element; the script reads it with `JSON.parse` and writes every text with
//! `textContent`. These ids and attributes are stable (browser tests rely on them):
//!
//! - `#review-data`: `<script type="application/json">`, the [`Review`] as serialised.
//! - `#threshold`: `<input type="range">` whose value is an index into `points`
//!   (thresholds increasing), starting at the applied threshold's; the arrow keys
//!   step through the thresholds. `#threshold-value` shows the threshold selected.
//! - `#review-counts`: `at 0.87: 9,812 kept · 188 removed (40 exact)`.
//! - `#review-changes`: against the applied threshold, how many rows the selected one
//!   removes that it keeps (`new`), and keeps that it removes (`restored`).
//! - `#review-shown`: how many removed rows are listed, and how many the cap hides.
//! - `#review-chart`: an SVG of removed rows against the threshold, one
//!   `circle[data-i]` per threshold (a click selects it; the selected one has class
//!   `sel`), `#review-marker` the line at the selected threshold.
//! - `#review-table`: one `tbody tr[data-row]` per listed row (`data-duplicate-of`,
//!   `data-score`): score, removed row and its text, the row it duplicates (a reference
//!   row against a reference) and its text, exact. Class `new` (badge `.badge.new`): a
//!   row removed at the selected threshold and kept at the applied one; class
//!   `restored` (badge `.badge.restored`): removed at the applied threshold, kept at the
//!   selected one, with its match and score at the applied threshold. Sorted by score
//!   ascending; `#review-sort` (in `th#review-score-head`, whose `aria-sort` says the
//!   order) toggles descending.
//! - `#review-filter`: keeps the rows whose text or whose match's text holds the
//!   filter text (case-insensitive).
//! - `body[data-ready="1"]` once the page is built; script errors are appended to
//!   `body[data-errors]`.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rayon::prelude::*;
use serde::Serialize;

use crate::dedup::job::short_f32;
use crate::dedup::{Decision, Deduplication, QuotedRows, QuotedTexts};
use crate::progress::Progress;

/// The default [`ReviewParams::rows`].
pub const REVIEW_ROWS: usize = 1000;

/// The default [`ReviewParams::text_chars`].
pub const REVIEW_TEXT_CHARS: usize = 500;

/// Grid steps per unit of threshold: the slider's grid is every 0.01.
const GRID_STEPS: u32 = 100;

/// Thresholds decided at once (each holds a decision per row while it runs).
const PARALLEL: usize = 4;

/// What a review lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewParams {
    /// Removed rows listed per threshold, the lowest scores first (and as many rows
    /// removed at the applied threshold but kept at another). The counts are exact
    /// whatever this is.
    pub rows: usize,
    /// Characters of a row's text quoted (its columns joined by newlines); a longer
    /// text is cut and ends with `…`.
    pub text_chars: usize,
}

impl Default for ReviewParams {
    fn default() -> Self {
        ReviewParams {
            rows: REVIEW_ROWS,
            text_chars: REVIEW_TEXT_CHARS,
        }
    }
}

/// What the page says about the run besides the decisions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewInfo {
    /// The input file (or a name for rows in memory).
    pub input: String,
    /// The reference file, against a reference.
    pub against: Option<String>,
    /// The model's fingerprint.
    pub model: String,
    /// The columns that identify a row.
    pub columns: Vec<String>,
    /// Input rows left out as unreadable (not in the decisions).
    pub skipped: u64,
}

/// A review: the data of `review.html`, serialised into the page as it is.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The run.
    #[serde(flatten)]
    pub info: ReviewInfo,
    /// The semsift version that built it.
    pub semsift_version: &'static str,
    /// Whether the rows were checked against a reference set: `duplicate_of` then names
    /// a reference row, quoted in `reference_texts`.
    pub reference: bool,
    /// The threshold applied (what `kept.<ext>` and `removed.jsonl` hold).
    #[serde(serialize_with = "short_f32")]
    pub threshold: f32,
    /// The lowest threshold the search covered: the slider's lowest.
    #[serde(serialize_with = "short_f32")]
    pub floor: f32,
    /// Rows decided (read, not skipped).
    pub rows: u64,
    /// At most this many rows listed per threshold ([`ReviewParams::rows`]).
    pub cap: usize,
    /// One per threshold of the slider, increasing.
    pub points: Vec<ReviewPoint>,
    /// The text of every input row listed, by the file's row number (columns joined
    /// with newlines, cut to [`ReviewParams::text_chars`]).
    pub texts: BTreeMap<u64, String>,
    /// Against a reference, the text of every reference row listed, by its row number.
    pub reference_texts: BTreeMap<u64, String>,
}

/// One threshold of the slider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewPoint {
    /// The threshold.
    #[serde(serialize_with = "short_f32")]
    pub threshold: f32,
    /// Whether it is the threshold applied.
    pub applied: bool,
    /// Whether it is one of the sweep's.
    pub sweep: bool,
    /// Rows kept at it.
    pub kept: u64,
    /// Rows removed at it, exact copies included.
    pub removed: u64,
    /// Rows removed at it as exact copies.
    pub exact_removed: u64,
    /// Rows removed at it and kept at the applied threshold.
    pub new: u64,
    /// Rows kept at it and removed at the applied threshold.
    pub restored: u64,
    /// The removed rows with the lowest scores (ties: the earlier row first), at most
    /// [`Review::cap`].
    pub removed_rows: Vec<ReviewRow>,
    /// Rows kept at it but removed at the applied threshold, with their decision
    /// there, the lowest scores first, at most [`Review::cap`].
    pub restored_rows: Vec<ReviewRow>,
}

/// A removed row and the row it duplicates, by the files' row numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReviewRow {
    /// The removed row.
    pub row: u64,
    /// The row it duplicates (a reference row against a reference).
    pub duplicate_of: u64,
    /// Their cosine similarity (1.0 for exact copies).
    #[serde(serialize_with = "short_f32")]
    pub score: f32,
    /// Whether it is an exact copy.
    pub exact: bool,
    /// Whether the applied threshold keeps it.
    pub new: bool,
}

/// Why a review could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The deduplication cannot decide again at a threshold of the slider.
    #[error(
        "cannot decide again at threshold {threshold} (search floor {floor}): the \
         deduplication kept no similar pairs; run it with keep_pairs (--review does)"
    )]
    NoPairs {
        /// The threshold.
        threshold: f32,
        /// The deduplication's search floor.
        floor: f32,
    },
    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,
    /// A quoted text could not be read back from its temporary file.
    #[error("cannot read the text of row {row} back for the review: {source}")]
    Text {
        /// The file's row number.
        row: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl From<ReviewError> for crate::Error {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::NoPairs { .. } => crate::Error::InvalidOption {
                name: "review",
                reason: e.to_string(),
            },
            ReviewError::Cancelled => crate::Error::Cancelled,
            ReviewError::Text { row, source } => crate::Error::TempFile {
                what: "the texts quoted in review.html",
                source: std::io::Error::new(source.kind(), format!("row {row}: {source}")),
            },
        }
    }
}

/// The slider's thresholds, increasing and distinct: `applied`, the `sweep`, and every
/// hundredth from `floor` (rounded up) to 1.0. None is below `floor`: decisions below it
/// would need a new search.
pub fn review_thresholds(applied: f32, sweep: &[f32], floor: f32) -> Vec<f32> {
    let first = (floor * GRID_STEPS as f32).floor().max(0.0) as u32;
    let grid = (first..=GRID_STEPS)
        .map(|k| k as f32 / GRID_STEPS as f32)
        .filter(|&t| t >= floor && t > 0.0);
    let mut all: Vec<f32> = std::iter::once(applied)
        .chain(sweep.iter().copied())
        .chain(grid)
        .filter(|t| t.is_finite())
        .collect();
    all.sort_by(f32::total_cmp);
    all.dedup();
    all
}

/// Builds the review of `result`: `rows` are its rows (their exact-copy groups, texts
/// and row numbers), `reference` the reference set's when `result` was decided against
/// one (its `duplicate_of` are reference rows), `None` for a self-deduplication. Decides again at each threshold of [`review_thresholds`]
/// (the applied one's decisions are `result.decisions`): each is one more selection over
/// the pairs found, as each threshold of a sweep is. Reports the thresholds decided to
/// `progress` (stage `review`) and stops when it asks to.
pub fn build_review(
    result: &Deduplication,
    rows: QuotedRows<'_>,
    reference: Option<QuotedRows<'_>>,
    info: ReviewInfo,
    params: &ReviewParams,
    progress: &dyn Progress,
) -> Result<Review, ReviewError> {
    let dups = reference.unwrap_or(rows);
    let applied = &result.decisions;
    let sweep: Vec<f32> = result.sweep.iter().map(|p| p.threshold).collect();
    let thresholds = review_thresholds(result.threshold, &sweep, result.floor);
    // Each threshold is a selection over all the pairs: a few run at once, each point
    // reduced to its counts and listed rows before the next starts, so that at most
    // `PARALLEL` sets of decisions are held.
    let mut points = Vec::with_capacity(thresholds.len());
    progress.begin("review", Some(thresholds.len() as u64));
    for chunk in thresholds.chunks(PARALLEL) {
        if progress.cancelled() {
            return Err(ReviewError::Cancelled);
        }
        let decided: Result<Vec<ReviewPoint>, ReviewError> = chunk
            .par_iter()
            .map(|&t| {
                let is_applied = t == result.threshold;
                let again;
                let decisions = match is_applied {
                    true => applied,
                    false => {
                        again = result
                            .rethreshold(rows.groups, t)
                            .ok_or(ReviewError::NoPairs {
                                threshold: t,
                                floor: result.floor,
                            })?;
                        &again
                    }
                };
                let mut point = point(t, decisions, applied, params.rows);
                point.applied = is_applied;
                point.sweep = sweep.contains(&t);
                Ok(point)
            })
            .collect();
        points.extend(decided?);
        progress.advance(chunk.len() as u64);
    }
    progress.end();
    // Rows are numbered as the job read them until here.
    let mut listed = BTreeSet::new();
    let mut listed_dups = BTreeSet::new();
    for p in &mut points {
        for r in p.removed_rows.iter_mut().chain(&mut p.restored_rows) {
            listed.insert(r.row);
            listed_dups.insert(r.duplicate_of);
            r.row = rows.numbers.file_row(r.row);
            r.duplicate_of = dups.numbers.file_row(r.duplicate_of);
        }
    }
    let against = reference.is_some();
    if !against {
        listed.append(&mut listed_dups);
    }
    let quote = |set: &QuotedRows<'_>, rows: BTreeSet<u64>| {
        rows.into_iter()
            .map(|r| {
                let text = quote(set, r, params.text_chars)?;
                Ok((set.numbers.file_row(r), text))
            })
            .collect::<Result<BTreeMap<u64, String>, ReviewError>>()
    };
    let texts = quote(&rows, listed)?;
    let reference_texts = match against {
        true => quote(&dups, listed_dups)?,
        false => BTreeMap::new(),
    };
    Ok(Review {
        info,
        semsift_version: env!("CARGO_PKG_VERSION"),
        reference: against,
        threshold: result.threshold,
        floor: result.floor,
        rows: applied.len() as u64,
        cap: params.rows,
        points,
        texts,
        reference_texts,
    })
}

impl Review {
    /// The point of the applied threshold.
    pub fn applied(&self) -> Option<&ReviewPoint> {
        self.points.iter().find(|p| p.applied)
    }

    /// Distinct input rows listed at any threshold.
    pub fn listed_rows(&self) -> usize {
        let rows: BTreeSet<u64> = self
            .points
            .iter()
            .flat_map(|p| p.removed_rows.iter().chain(&p.restored_rows))
            .map(|r| r.row)
            .collect();
        rows.len()
    }
}

/// Counts and listed rows at `threshold`, whose decisions are `decisions`, against the
/// `applied` ones; rows as the job numbered them.
fn point(threshold: f32, decisions: &[Decision], applied: &[Decision], cap: usize) -> ReviewPoint {
    let (mut kept, mut exact_removed, mut new, mut restored) = (0, 0, 0, 0);
    let mut removed_rows = Lowest::new(cap);
    let mut restored_rows = Lowest::new(cap);
    for (i, (d, a)) in decisions.iter().zip(applied).enumerate() {
        match (*d, *a) {
            (Decision::Keep, Decision::Keep) => kept += 1,
            (Decision::Keep, Decision::Remove { .. }) => {
                kept += 1;
                restored += 1;
                restored_rows.push(row(i, a, false));
            }
            (Decision::Remove { exact, .. }, _) => {
                exact_removed += u64::from(exact);
                new += u64::from(a.is_kept());
                removed_rows.push(row(i, d, a.is_kept()));
            }
        }
    }
    ReviewPoint {
        threshold,
        applied: false,
        sweep: false,
        kept,
        removed: decisions.len() as u64 - kept,
        exact_removed,
        new,
        restored,
        removed_rows: removed_rows.into_sorted(),
        restored_rows: restored_rows.into_sorted(),
    }
}

/// Row `i` removed by `d`.
fn row(i: usize, d: &Decision, new: bool) -> ReviewRow {
    match *d {
        Decision::Remove {
            duplicate_of,
            score,
            exact,
        } => ReviewRow {
            row: i as u64,
            duplicate_of,
            score,
            exact,
            new,
        },
        Decision::Keep => unreachable!("called for removed rows"),
    }
}

/// The `cap` rows with the lowest `(score, row)` of those pushed, in a bounded max-heap:
/// memory for `cap` rows, however many are pushed.
struct Lowest {
    cap: usize,
    heap: BinaryHeap<ByScore>,
}

/// A row ordered by `(score, row)` (scores by [`f32::total_cmp`]).
struct ByScore(ReviewRow);

impl Ord for ByScore {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .score
            .total_cmp(&other.0.score)
            .then(self.0.row.cmp(&other.0.row))
    }
}

impl PartialOrd for ByScore {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ByScore {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for ByScore {}

impl Lowest {
    fn new(cap: usize) -> Self {
        Lowest {
            cap,
            heap: BinaryHeap::with_capacity(cap.min(1 << 16) + 1),
        }
    }

    fn push(&mut self, r: ReviewRow) {
        if self.cap == 0 {
            return;
        }
        if self.heap.len() == self.cap {
            match self.heap.peek() {
                Some(top) if ByScore(r) < *top => {
                    self.heap.pop();
                }
                _ => return,
            }
        }
        self.heap.push(ByScore(r));
    }

    /// The rows kept, lowest first.
    fn into_sorted(self) -> Vec<ReviewRow> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}

/// Row `row`'s text (as the job numbered it): its columns joined with newlines, cut to
/// `chars` characters with `…`. Empty when the texts were dropped.
fn quote(set: &QuotedRows<'_>, row: u64, chars: usize) -> Result<String, ReviewError> {
    let g = set.groups.group_of_row()[row as usize] as usize;
    let columns = match set.texts {
        QuotedTexts::InMemory(t) => t.columns(),
        QuotedTexts::OnDisk(t) => t.columns(),
    };
    let mut text = String::new();
    for c in 0..columns {
        if c > 0 {
            text.push('\n');
        }
        match set.texts {
            QuotedTexts::InMemory(t) if g < t.len() => text.push_str(t.get(g, c)),
            QuotedTexts::OnDisk(t) if g < t.len() => {
                text.push_str(&t.get(g, c).map_err(|source| ReviewError::Text {
                    row: set.numbers.file_row(row),
                    source,
                })?)
            }
            _ => return Ok(String::new()),
        }
    }
    Ok(cut(text, chars))
}

/// `text` cut to `chars` characters, ending with `…` when it was longer.
fn cut(mut text: String, chars: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(chars) {
        text.truncate(at);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests;
