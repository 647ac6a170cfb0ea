//! The report's data model: what `report.json` holds (its schema) and what
//! `report.html` renders.
//!
//! Shares are fractions in `[0, 1]`; divergences are in bits (log base 2); similarities
//! are cosines. Topic ids are the cluster numbers used in `clusters.jsonl`. Every field
//! is always present; fields that only exist with a reference set are `null` without one.

use serde::{Deserialize, Serialize};

use crate::dataset::template::ColumnTemplates;

/// Version tag written as `schema` at the top of `report.json`.
pub const SCHEMA: &str = "semsift.report/2";

/// Everything `semsift report` found (`report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// The semsift version that wrote the report.
    pub semsift_version: String,
    /// The dataset being described.
    pub input: SetInfo,
    /// The reference it is compared with (`--reference`), if any.
    pub reference: Option<SetInfo>,
    /// The text columns read, in order (a row's text is these, joined).
    pub columns: Vec<String>,
    /// The chat preset applied to the columns (`null`: none).
    #[serde(default)]
    pub chat: Option<String>,
    /// The share from which common text was left out of the embedded text (`null`:
    /// nothing was).
    #[serde(default)]
    pub strip_common: Option<f64>,
    /// Per column of the input, the text many rows share (a system prompt, a template
    /// header); empty when the report was built in memory.
    #[serde(default)]
    pub templates: Vec<ColumnTemplates>,
    /// The same for the reference (`null` without one).
    #[serde(default)]
    pub reference_templates: Option<Vec<ColumnTemplates>>,
    /// The model that embedded the rows (its fingerprint).
    pub model: String,
    /// How the clusters were fitted.
    pub clustering: ClusteringInfo,
    /// Cosine at or above which a row counts as a near duplicate of an earlier row in its
    /// topic ([`Topic::near_duplicates`]).
    pub near_duplicate_threshold: f32,
    /// Diversity figures of each set over the topics.
    pub diversity: Diversity,
    /// Comparison with the reference (`null` without one).
    pub coverage: Option<Coverage>,
    /// Every topic (cluster), by id: the coarse level, for reading.
    pub topics: Vec<Topic>,
    /// The fine level: every coarse topic split again by k-means, by id. Coverage and
    /// its gap lists are measured on these, so a topic the input lacks stands out
    /// whatever `k` the coarse level has.
    pub fine_topics: Vec<FineTopic>,
    /// A 2-D map of the rows (all of them, or a seeded sample of large sets).
    pub map: Map,
    /// Seconds spent per stage (`read`, `embed`, `cluster`, `topics`, `write`, `total`).
    pub timings_s: serde_json::Map<String, serde_json::Value>,
    /// Where each stage ran: `embed`, `cluster`, `near_duplicates` (`cpu`, `cuda:0`,
    /// `candle-cpu`).
    #[serde(default)]
    pub devices: serde_json::Map<String, serde_json::Value>,
}

/// One dataset file and how its rows were counted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetInfo {
    /// The file as given on the command line.
    pub path: String,
    /// Data rows read from the file: all of them, unless `skipped_rows` were left out
    /// (the file then holds `rows + skipped_rows`).
    pub rows: u64,
    /// Rows left after merging exact copies (copies still count towards topic shares).
    pub unique_rows: u64,
    /// Rows whose text is empty or only white space: they are not clustered
    /// (`cluster: null` in `clusters.jsonl`) and not counted in any share.
    pub empty_rows: u64,
    /// Rows that could not be read and were left out (`--on-error skip`; 0 otherwise),
    /// each listed in `skipped.jsonl`. They count in no figure of the report, but row
    /// numbers everywhere count them (they are the file's own). Added within
    /// `semsift.report/1`; absent from reports written before it, read as 0.
    #[serde(default)]
    pub skipped_rows: u64,
}

/// How the k-means fit went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusteringInfo {
    /// Number of clusters (topics).
    pub k: usize,
    /// How `k` was chosen: `"given"` or the automatic rule, spelled out.
    pub k_rule: String,
    /// Which rows the centroids were fitted on, in words.
    pub fit_on: String,
    /// Unique vectors the centroids were fitted on (a seeded sample of large inputs).
    pub fit_rows: u64,
    /// Seed of the random choices (seeding, sampling).
    pub seed: u64,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Whether the assignments settled before the iteration limit.
    pub converged: bool,
    /// Mean cosine of every clustered row to its topic's centroid.
    pub mean_cohesion: f64,
    /// Number of fine topics (see [`Report::fine_topics`]).
    pub fine_k: usize,
    /// How `fine_k` was chosen, spelled out.
    pub fine_rule: String,
}

/// Diversity of each set's rows over the topics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diversity {
    /// The input's figures.
    pub input: SetDiversity,
    /// The reference's figures (`null` without one).
    pub reference: Option<SetDiversity>,
}

/// Diversity figures of one set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetDiversity {
    /// Shannon entropy of the topic shares, in bits.
    pub entropy_bits: f64,
    /// Effective number of topics: `2^entropy_bits` (= e^H in nats). Equals k when every
    /// topic has the same share, 1 when one topic holds everything.
    pub effective_topics: f64,
    /// `effective_topics / k`, in (0, 1].
    pub evenness: f64,
    /// Share of the largest topic.
    pub largest_share: f64,
    /// Topics holding at least one row.
    pub topics_present: usize,
    /// Share of rows that are exact copies or near duplicates (see [`Topic::near_duplicates`]).
    pub near_duplicate_share: f64,
}

/// How the input's topic shares compare with the reference's, over the fine topics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coverage {
    /// The topics the figures are measured over, in words (the fine level).
    pub level: String,
    /// Jensen–Shannon divergence between the two share vectors, in bits: 0 when equal,
    /// 1 when disjoint. Computed on the unsmoothed shares.
    pub js_divergence_bits: f64,
    /// KL(reference ‖ input) in bits, on smoothed input shares (see `smoothing`): how
    /// many extra bits per row the input's topic mix costs when coding the reference.
    pub kl_reference_input_bits: f64,
    /// Share of the reference's rows that lie in topics where the input has at least
    /// `coverage_threshold` of the reference's share.
    pub coverage: f64,
    /// The ratio input-share / reference-share a topic needs to count as covered (0.5).
    pub coverage_threshold: f64,
    /// The smoothing applied before the KL divergence and the ratios, in words.
    pub smoothing: String,
    /// Every topic the input has less of than the reference (smoothed ratio below 0.9),
    /// ranked by its term of KL(reference ‖ input): topics it lacks come first.
    pub missing: Vec<Gap>,
    /// Every topic the input has more of than the reference (ratio above 1/0.9), ranked by
    /// `p·log2(p/q)`: the most over-represented first.
    pub over: Vec<Gap>,
}

/// One fine topic in a gap list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gap {
    /// The fine topic's id ([`Report::fine_topics`]).
    pub topic: usize,
    /// The coarse topic it belongs to ([`Report::topics`]).
    pub parent: usize,
    /// The input's share.
    pub input_share: f64,
    /// The reference's share.
    pub reference_share: f64,
    /// Smoothed input share / smoothed reference share.
    pub ratio: f64,
    /// This topic's term of the divergence that ranks the list, in bits:
    /// `q·log2(q/p)` for missing topics, `p·log2(p/q)` for over-represented ones.
    pub contribution_bits: f64,
    /// Whether the input has at least `coverage_threshold` times the reference's share
    /// (a topic in `missing` may still be covered, just thinner).
    pub covered: bool,
}

/// One topic (cluster).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    /// The cluster id, as in `clusters.jsonl`.
    pub id: usize,
    /// A short name: the top three keywords, joined with ", ".
    pub label: String,
    /// Top keywords by class-based TF-IDF, best first.
    pub keywords: Vec<Keyword>,
    /// The input's rows in this topic.
    pub input: Share,
    /// The reference's rows in this topic (`null` without a reference).
    pub reference: Option<Share>,
    /// Mean cosine of the topic's rows to its centroid (1 = all the same).
    pub cohesion: f64,
    /// The topic's rows (input and reference together) that are an exact copy of an
    /// earlier row of the same set, or have an earlier row of the same set in the same
    /// topic at least `near_duplicate_threshold` similar.
    pub near_duplicates: u64,
    /// The rows nearest the centroid, nearest first.
    pub examples: Vec<Example>,
}

/// One fine topic: a part of a coarse topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FineTopic {
    /// Its id, as in `clusters.jsonl`'s `fine_topic`.
    pub id: usize,
    /// The coarse topic it is part of.
    pub parent: usize,
    /// A short name: the top three keywords, joined with ", ".
    pub label: String,
    /// Top keywords by class-based TF-IDF among the fine topics, best first.
    pub keywords: Vec<Keyword>,
    /// The input's rows in this topic.
    pub input: Share,
    /// The reference's rows in this topic (`null` without a reference).
    pub reference: Option<Share>,
    /// The rows nearest the centroid, nearest first (fewer than a coarse topic shows).
    pub examples: Vec<Example>,
}

/// How many of a set's rows fall in one topic.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Share {
    /// Rows (exact copies included).
    pub rows: u64,
    /// `rows` over the set's non-empty rows.
    pub share: f64,
}

/// One keyword of a topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Keyword {
    /// The word (lower-cased).
    pub term: String,
    /// Its c-TF-IDF weight in the topic.
    pub score: f64,
}

/// A row shown as an example of a topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Example {
    /// `"input"` or `"reference"`.
    pub set: String,
    /// 0-based data row in that set's file (the first row of its exact-copy group),
    /// skipped unreadable rows counted.
    pub row: u64,
    /// Cosine to the topic's centroid.
    pub similarity: f64,
    /// The row's text (columns joined with a newline), cut to 600 characters with "…".
    pub text: String,
}

/// The 2-D map of the rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Map {
    /// The layout, in words (method, neighbours, epochs, rows).
    pub method: String,
    /// Rows on the map, and how they were chosen when not all are.
    pub sample: String,
    /// How well the map keeps each row's nearest neighbours, beside PCA on the same rows
    /// (`null` with too few rows to measure).
    pub quality: Option<MapQuality>,
    /// The rows on the map.
    pub points: Vec<MapPoint>,
}

/// Neighbourhood preservation of the map and of the first two principal components.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct MapQuality {
    /// Neighbours compared per row.
    pub k: usize,
    /// Rows whose neighbours were compared (a seeded sample of the map's rows).
    pub sample: usize,
    /// Mean share of a row's `k` nearest neighbours in the embedding that are among its
    /// `k` nearest on the map.
    pub preservation: f64,
    /// The same for PCA's first two components.
    pub pca_preservation: f64,
    /// Trustworthiness at `k` (Venna and Kaski): 1 when no row's map neighbours are
    /// strangers in the embedding.
    pub trustworthiness: f64,
    /// The same for PCA.
    pub pca_trustworthiness: f64,
}

/// One row on the map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapPoint {
    /// First axis.
    pub x: f32,
    /// Second axis.
    pub y: f32,
    /// Its coarse topic.
    pub topic: usize,
    /// Its fine topic.
    pub fine_topic: usize,
    /// Whether it comes from the reference (`false`: the input).
    pub reference: bool,
    /// Its data row in its set's file (the first of its exact copies).
    pub row: u64,
    /// Rows with exactly this text (1 + its exact copies).
    pub copies: u32,
    /// Whether it has an exact copy or a near duplicate earlier in its set and topic
    /// (see [`Topic::near_duplicates`]).
    pub near_duplicate: bool,
    /// Whether it is among the rows least similar to their topic's centroid (the
    /// lowest 2 % of each set).
    pub outlier: bool,
    /// Its text, columns joined with a newline, cut to 240 characters. Only in the
    /// page: `report.json` leaves it out (`row` names the row).
    #[serde(skip)]
    pub text: String,
}
