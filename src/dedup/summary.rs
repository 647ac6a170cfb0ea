//! The summary of a deduplication, typed: `summary.json` of `semsift dedup`, and the
//! `summary` of the Python package's results (which leave the file fields empty).

use serde::Serialize;
use serde_json::{Map, Value};

use super::job::{least_similar, short_f32, Deduplication, SweepPoint, TargetOutcome};
use super::{Decision, ExactGroups};
use crate::dataset::template::ColumnTemplates;
use crate::dataset::{DiskTexts, RowNumbers, Texts};

/// How many least-similar removed pairs a summary lists.
pub const LEAST_SIMILAR: usize = 20;

/// Everything `summary.json` says, in its order.
#[derive(Debug, Clone, Serialize)]
pub struct DedupSummary {
    /// Always `"dedup"`.
    pub command: &'static str,
    /// The semsift version that wrote it.
    pub semsift_version: &'static str,
    /// The input file (`None` in memory).
    pub input: Option<String>,
    /// The input's format (`None` in memory).
    pub format: Option<String>,
    /// The columns that identify a row.
    pub columns: Vec<String>,
    /// The chat preset applied to the columns, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    /// The share from which common text was stripped from the embedded text, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strip_common: Option<f64>,
    /// Per column of the input, the text many rows share (empty in memory).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<ColumnTemplates>,
    /// The same for the reference set, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_templates: Option<Vec<ColumnTemplates>>,
    /// The reference file (against a reference read from a file).
    pub against: Option<String>,
    /// What was done with unreadable rows (`fail` or `skip`).
    pub on_error: String,
    /// Row counts.
    pub rows: RowCounts,
    /// Removed rows over input rows.
    pub duplicate_ratio: f64,
    /// Rows removed as exact copies over input rows.
    pub exact_duplicate_ratio: f64,
    /// The threshold applied.
    #[serde(serialize_with = "short_f32")]
    pub threshold: f32,
    /// What `target_rows` chose, when given.
    pub target_rows: Option<TargetOutcome>,
    /// The model.
    pub model: ModelInfo,
    /// The index and what the search found.
    pub index: Value,
    /// Where each stage ran: `embed`, `index`, `search`, `select` (`cpu`, `cuda:0`,
    /// `candle-cpu`).
    pub devices: Map<String, Value>,
    /// How the vectors were obtained (store use, reuse), per set.
    pub embedding: Value,
    /// Seconds per stage, then `total`.
    pub timings_s: Map<String, Value>,
    /// The process's peak resident memory, MiB.
    pub peak_rss_mib: Option<u64>,
    /// The memory limit in force, MiB.
    pub memory_limit_mib: Option<u64>,
    /// The least similar removed pairs, with their texts.
    pub least_similar: Vec<LeastSimilar>,
    /// Kept counts per sweep threshold.
    pub sweep: Vec<SweepPoint>,
    /// The output files with their rows, bytes and SHA-256 (empty in memory).
    pub outputs: Value,
}

/// Row counts of a deduplication.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RowCounts {
    /// Input rows (`kept + removed + skipped`).
    pub input: u64,
    /// Distinct rows (exact-copy groups).
    pub unique: u64,
    /// Rows kept.
    pub kept: u64,
    /// Rows removed, exact copies included.
    pub removed: u64,
    /// Rows removed as exact copies.
    pub exact_removed: u64,
    /// Rows left out as unreadable.
    pub skipped: u64,
    /// Reference rows, skipped ones included (against a reference).
    pub reference: Option<u64>,
    /// Reference rows left out as unreadable (against a reference).
    pub reference_skipped: Option<u64>,
}

impl RowCounts {
    /// The counts of `result` over `unique` distinct rows, with `skipped` unreadable rows
    /// besides the ones decided.
    pub fn of(result: &Deduplication, unique: u64, skipped: u64) -> Self {
        Self::of_decisions(&result.decisions, unique, skipped)
    }

    /// The counts of `decisions` (one per row read) over `unique` distinct rows, with
    /// `skipped` unreadable rows besides.
    pub fn of_decisions(decisions: &[Decision], unique: u64, skipped: u64) -> Self {
        let kept = decisions.iter().filter(|d| d.is_kept()).count() as u64;
        let exact_removed = decisions
            .iter()
            .filter(|d| matches!(d, Decision::Remove { exact: true, .. }))
            .count() as u64;
        RowCounts {
            input: decisions.len() as u64 + skipped,
            unique,
            kept,
            removed: decisions.len() as u64 - kept,
            exact_removed,
            skipped,
            reference: None,
            reference_skipped: None,
        }
    }

    /// `x` over input rows (0 for no rows).
    pub fn ratio(&self, x: u64) -> f64 {
        if self.input == 0 {
            0.0
        } else {
            x as f64 / self.input as f64
        }
    }
}

/// The model a summary's vectors came from.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// Its fingerprint (what the vector store keys on).
    pub fingerprint: String,
    /// Width of a row's vector (the model's width × columns).
    pub dim: usize,
}

/// A removed row, the row it duplicates, and both texts.
#[derive(Debug, Clone, Serialize)]
pub struct LeastSimilar {
    /// The removed row (the file's own row number).
    pub row: u64,
    /// The row it duplicates.
    pub duplicate_of: u64,
    /// Their similarity.
    #[serde(serialize_with = "short_f32")]
    pub score: f32,
    /// Whether it is an exact copy.
    pub exact: bool,
    /// The removed row's columns.
    pub text: Map<String, Value>,
    /// The duplicated row's columns.
    pub duplicate_text: Map<String, Value>,
}

/// A set's rows as a summary quotes them: their exact-copy groups, the texts of their
/// unique rows, and the file's row numbers.
#[derive(Clone, Copy)]
pub struct QuotedRows<'a> {
    /// Exact-copy groups of the rows.
    pub groups: &'a ExactGroups,
    /// Texts of the unique rows (empty when they were dropped: quotes are then empty).
    pub texts: QuotedTexts<'a>,
    /// The file's row number of each row read.
    pub numbers: &'a RowNumbers,
}

impl QuotedRows<'_> {
    /// Row `row`'s columns, by name.
    fn quote(&self, row: u64, columns: &[String]) -> Map<String, Value> {
        let g = self.groups.group_of_row()[row as usize] as usize;
        let mut m = Map::new();
        for (c, name) in columns.iter().enumerate() {
            let text = match self.texts {
                QuotedTexts::InMemory(t) if g < t.len() => t.get(g, c).to_string(),
                QuotedTexts::OnDisk(t) if g < t.len() => match t.get(g, c) {
                    Ok(text) => text,
                    Err(error) => {
                        tracing::warn!(%error, row, "cannot read a quoted text back");
                        return Map::new();
                    }
                },
                _ => return Map::new(),
            };
            m.insert(name.clone(), Value::from(text));
        }
        m
    }
}

/// Where the texts a summary quotes are held.
#[derive(Clone, Copy)]
pub enum QuotedTexts<'a> {
    /// In memory.
    InMemory(&'a Texts),
    /// Moved to a temporary file after embedding ([`Texts::into_disk`]).
    OnDisk(&'a DiskTexts),
}

impl LeastSimilar {
    /// The [`LEAST_SIMILAR`] removed rows of `decisions` least similar to the row they
    /// duplicate, with both rows' texts: the removed rows from `rows`, the rows they
    /// duplicate from `dups` (the reference against one, else `rows` again).
    pub fn list(
        decisions: &[Decision],
        rows: QuotedRows<'_>,
        dups: QuotedRows<'_>,
        columns: &[String],
    ) -> Vec<LeastSimilar> {
        least_similar(decisions, LEAST_SIMILAR)
            .into_iter()
            .map(|r| LeastSimilar {
                row: rows.numbers.file_row(r.row),
                duplicate_of: dups.numbers.file_row(r.duplicate_of),
                score: r.score,
                exact: r.exact,
                text: rows.quote(r.row, columns),
                duplicate_text: dups.quote(r.duplicate_of, columns),
            })
            .collect()
    }
}
