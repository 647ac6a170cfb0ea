//! A report as one call over rows in memory: what `semsift report` runs between reading
//! its sets and writing `report.json`, `report.html` and `clusters.jsonl`, and what the
//! Python package calls.
//!
//! [`build`] takes one or two [`ReportSet`]s (the input, and optionally a reference):
//! each the exact-copy groups of its rows, the texts and one unit vector per unique row,
//! and the rows' numbers. It clusters the non-empty unique rows (spherical k-means,
//! sets weighted to the same total), describes each topic (keywords, examples, cohesion,
//! near duplicates), measures diversity and, against a reference, coverage and gaps,
//! and returns a [`BuiltReport`]: the [`Report`] and every row's topic.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde_json::{json, Map};

use crate::cluster::{auto_k, ClusterError, KMeans, KMeansParams};
use crate::dataset::{RowNumbers, Texts};
use crate::dedup::{check_threshold, ExactGroups};
use crate::embed::{truncate_chars, Device};
use crate::index::DeviceParams;
use crate::linalg::Rng;
use crate::process::Stopwatch;
use crate::progress::Progress;
use crate::report::coverage::{self, COVERED, SMOOTHING};
use crate::report::keywords::topic_keywords;
use crate::report::model::{
    ClusteringInfo, Coverage, Diversity, Example, Keyword, Map as MapModel, MapPoint, SetDiversity,
    SetInfo, Share, Topic, SCHEMA,
};
use crate::report::projection::pca_2d;
use crate::report::topics::{members, near_duplicates, near_duplicates_on, nearest_to_centroid};
use crate::report::Report;
use crate::Error;

/// How many clusters (topics) to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clusters {
    /// Chosen from the number of distinct rows by [`auto_k`].
    #[default]
    Auto,
    /// Exactly this many.
    Fixed(usize),
}

impl FromStr for Clusters {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(Clusters::Auto);
        }
        match s.parse::<usize>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(k) => Ok(Clusters::Fixed(k)),
            Err(_) => Err(format!("{s:?} is neither a number nor \"auto\"")),
        }
    }
}

impl fmt::Display for Clusters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clusters::Auto => f.write_str("auto"),
            Clusters::Fixed(k) => write!(f, "{k}"),
        }
    }
}

/// How to build a report.
#[derive(Debug, Clone)]
pub struct ReportParams {
    /// Number of topics.
    pub clusters: Clusters,
    /// Seed of k-means's random choices and the map's sample.
    pub seed: u64,
    /// Most k-means iterations.
    pub max_iter: usize,
    /// Cosine at or above which a row is a near duplicate of an earlier row in its topic.
    pub near_duplicate_threshold: f32,
    /// Names of the text columns (for the report and its error messages).
    pub columns: Vec<String>,
    /// The model's fingerprint (for the report).
    pub model: String,
    /// Where k-means and the near-duplicate scan run: the CPU kernels, or a device
    /// ([`Device::is_device_path`]).
    pub device: Device,
    /// How a device holds and scores the vectors (the near-duplicate scan).
    pub device_params: DeviceParams,
}

/// One set of rows to report on: borrowed pieces of a dataset read and embedded.
#[derive(Clone, Copy)]
pub struct ReportSet<'a> {
    /// What the set is called in the report and in errors (its file's path).
    pub name: &'a str,
    /// Exact-copy groups of its rows.
    pub groups: &'a ExactGroups,
    /// Texts of its unique rows (one per group).
    pub texts: &'a Texts,
    /// One unit vector per unique row, row-major.
    pub vectors: &'a [f32],
    /// The file's row number of each row read (identity in memory).
    pub numbers: &'a RowNumbers,
    /// Rows left out as unreadable.
    pub skipped_rows: u64,
}

/// A report and where each row went.
#[derive(Debug, Clone)]
pub struct BuiltReport {
    /// The report (`report.json`); `timings_s` holds the job's stages.
    pub report: Report,
    /// For each set, each unique row's topic and cosine to its centroid (`None`: the row
    /// is empty and was not clustered).
    pub topics: Vec<Vec<Option<(u32, f32)>>>,
}

impl BuiltReport {
    /// Topic and similarity of row `row` (a row read, not a file row) of set `set`.
    pub fn topic_of(&self, set: usize, groups: &ExactGroups, row: usize) -> Option<(u32, f32)> {
        self.topics[set][groups.group_of_row()[row] as usize]
    }
}

/// Examples shown per topic.
const EXAMPLES: usize = 5;
/// Keywords listed per topic.
const KEYWORDS: usize = 10;
/// Rows drawn on the map.
const MAP_POINTS: usize = 5000;
/// Example texts are cut to this many characters.
const EXAMPLE_CHARS: usize = 600;

/// A set with what the report needs about its rows.
struct Set<'a> {
    rows: ReportSet<'a>,
    /// Rows per unique row (1 + its exact copies).
    counts: Vec<u32>,
    /// Unique rows whose every column is empty or white space.
    empty: Vec<bool>,
}

impl<'a> Set<'a> {
    fn new(rows: ReportSet<'a>) -> Self {
        let mut counts = vec![0u32; rows.groups.groups()];
        for &g in rows.groups.group_of_row() {
            counts[g as usize] += 1;
        }
        let texts = rows.texts;
        let empty = (0..texts.len())
            .map(|u| (0..texts.columns()).all(|c| texts.get(u, c).trim().is_empty()))
            .collect();
        Set {
            rows,
            counts,
            empty,
        }
    }

    fn non_empty_rows(&self) -> u64 {
        self.counts
            .iter()
            .zip(&self.empty)
            .filter(|(_, &e)| !e)
            .map(|(&c, _)| c as u64)
            .sum()
    }

    fn info(&self) -> SetInfo {
        SetInfo {
            path: self.rows.name.to_string(),
            rows: self.rows.groups.rows() as u64,
            unique_rows: self.rows.groups.groups() as u64,
            empty_rows: self.rows.groups.rows() as u64 - self.non_empty_rows(),
            skipped_rows: self.rows.skipped_rows,
        }
    }

    /// The file's own row number (skipped rows counted) of read row `i`.
    fn file_row(&self, i: u64) -> u64 {
        self.rows.numbers.file_row(i)
    }

    /// The text of unique row `u`, columns joined with `sep`.
    fn text(&self, u: usize, sep: &str) -> String {
        let t = self.rows.texts;
        (0..t.columns())
            .map(|c| t.get(u, c))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// The rows being clustered: the non-empty unique rows of the input, then of the
/// reference.
struct Points<'a> {
    sets: Vec<&'a Set<'a>>,
    /// `(set, unique row)` of each point.
    origin: Vec<(u8, u32)>,
    /// Point id of each unique row of each set (`None` for empty rows).
    point_of: Vec<Vec<Option<u32>>>,
    vectors: Cow<'a, [f32]>,
}

impl<'a> Points<'a> {
    fn new(sets: Vec<&'a Set<'a>>, dim: usize) -> Self {
        let mut origin = Vec::new();
        let mut point_of = Vec::new();
        for (s, set) in sets.iter().enumerate() {
            let ids = set
                .empty
                .iter()
                .enumerate()
                .map(|(u, &e)| {
                    (!e).then(|| {
                        origin.push((s as u8, u as u32));
                        (origin.len() - 1) as u32
                    })
                })
                .collect();
            point_of.push(ids);
        }
        let all_of_first = sets.len() == 1 && origin.len() == sets[0].empty.len();
        let vectors = if all_of_first {
            Cow::Borrowed(sets[0].rows.vectors)
        } else {
            let mut v = Vec::with_capacity(origin.len() * dim);
            for &(s, u) in &origin {
                v.extend_from_slice(&sets[s as usize].rows.vectors[u as usize * dim..][..dim]);
            }
            Cow::Owned(v)
        };
        Points {
            sets,
            origin,
            point_of,
            vectors,
        }
    }

    fn len(&self) -> usize {
        self.origin.len()
    }

    fn count(&self, p: u32) -> u32 {
        let (s, u) = self.origin[p as usize];
        self.sets[s as usize].counts[u as usize]
    }

    fn text(&self, p: u32, sep: &str) -> String {
        let (s, u) = self.origin[p as usize];
        self.sets[s as usize].text(u as usize, sep)
    }
}

/// Builds the report on `input` (and `reference`): clusters, topics, diversity and
/// coverage. `dim` is the vectors' width. Errors name the set: a set with no text, more
/// clusters than distinct non-empty rows, a threshold outside `(0, 1]`.
pub fn build(
    input: ReportSet<'_>,
    reference: Option<ReportSet<'_>>,
    dim: usize,
    params: &ReportParams,
    progress: &dyn Progress,
) -> Result<BuiltReport, Error> {
    let t = params.near_duplicate_threshold;
    check_threshold("near-duplicate threshold", t)?;
    let mut watch = Stopwatch::start();
    let input = Set::new(input);
    let reference = reference.map(Set::new);
    for set in std::iter::once(&input).chain(&reference) {
        if set.rows.vectors.len() != set.rows.groups.groups() * dim {
            return Err(Error::InvalidOption {
                name: "vectors",
                reason: format!(
                    "{}: {} values for {} unique rows of {dim} dimensions",
                    set.rows.name,
                    set.rows.vectors.len(),
                    set.rows.groups.groups()
                ),
            });
        }
        if set.non_empty_rows() == 0 {
            return Err(Error::InvalidOption {
                name: "input",
                reason: format!(
                    "{} has no row with text in column(s) {}",
                    set.rows.name,
                    params.columns.join(", ")
                ),
            });
        }
    }
    let points = Points::new(std::iter::once(&input).chain(&reference).collect(), dim);
    let k = match params.clusters {
        Clusters::Auto => auto_k(points.len()),
        Clusters::Fixed(k) if k > points.len() => {
            return Err(too_many_clusters(k, points.len()));
        }
        Clusters::Fixed(k) => k,
    };
    // Balanced weights: each set has the same total weight, so the larger one does not
    // decide alone where the centroids go.
    let totals: Vec<f64> = points
        .sets
        .iter()
        .map(|s| s.non_empty_rows() as f64)
        .collect();
    let weights: Vec<f32> = points
        .origin
        .iter()
        .enumerate()
        .map(|(p, &(s, _))| (points.count(p as u32) as f64 / totals[s as usize]) as f32)
        .collect();
    let kparams = KMeansParams {
        seed: params.seed,
        max_iter: params.max_iter,
        device: params.device,
        ..KMeansParams::with_k(k)
    };
    let km = KMeans::fit(&points.vectors, dim, Some(&weights), &kparams, progress).map_err(
        |e| match e {
            ClusterError::TooFewRows { k, rows } => too_many_clusters(k, rows),
            e => e.into(),
        },
    )?;
    let assignment = km.assign(&points.vectors, progress)?;
    let on = params.device.to_string();
    watch.lap_on("cluster", &on);

    let topic_members = members(&assignment.labels, k);
    let set_of: Vec<u8> = points.origin.iter().map(|&(s, _)| s).collect();
    let flagged = match params.device.is_device_path() {
        true => near_duplicates_on(
            &points.vectors,
            dim,
            &set_of,
            &topic_members,
            t,
            (params.device, params.device_params),
            progress,
        )?,
        false => near_duplicates(&points.vectors, dim, &set_of, &topic_members, t, progress)?,
    };
    let described = describe_topics(&points, &topic_members, &assignment, &flagged);
    watch.lap_on("topics", &on);

    let map = map(&points, &assignment.labels, dim, params.seed);
    let set_counts = |s: u8| -> Vec<f64> {
        (0..k)
            .map(|c| described.rows[c].get(s as usize).copied().unwrap_or(0) as f64)
            .collect()
    };
    let input_counts = set_counts(0);
    let diversity = Diversity {
        input: set_diversity(&input_counts, described.dup_rows[0], totals[0]),
        reference: reference
            .as_ref()
            .map(|_| set_diversity(&set_counts(1), described.dup_rows[1], totals[1])),
    };
    let coverage = reference.as_ref().map(|_| {
        let ref_counts = set_counts(1);
        let (p, q) = (
            coverage::shares(&input_counts),
            coverage::shares(&ref_counts),
        );
        let (missing, over) = coverage::gaps(&input_counts, &ref_counts);
        Coverage {
            js_divergence_bits: coverage::js_bits(&p, &q),
            kl_reference_input_bits: coverage::kl_bits(
                &coverage::smoothed(&ref_counts),
                &coverage::smoothed(&input_counts),
            ),
            coverage: coverage::coverage(&p, &q),
            coverage_threshold: COVERED,
            smoothing: format!(
                "{SMOOTHING} pseudo-rows added to every topic of each set before ratios and KL"
            ),
            missing,
            over,
        }
    });

    let topics: Vec<Topic> = (0..k)
        .map(|c| {
            let share = |s: usize| {
                let rows = described.rows[c].get(s).copied().unwrap_or(0);
                Share {
                    rows,
                    share: rows as f64 / totals[s],
                }
            };
            Topic {
                id: c,
                label: label(&described.keywords[c]),
                keywords: described.keywords[c].clone(),
                input: share(0),
                reference: reference.as_ref().map(|_| share(1)),
                cohesion: described.cohesion[c],
                near_duplicates: described.near_dups[c],
                examples: described.examples[c].clone(),
            }
        })
        .collect();
    let total_rows: f64 = totals.iter().sum();
    let mean_cohesion = described
        .cohesion
        .iter()
        .zip(&described.rows)
        .map(|(c, r)| c * r.iter().sum::<u64>() as f64)
        .sum::<f64>()
        / total_rows;

    let report = Report {
        schema: SCHEMA.to_string(),
        semsift_version: env!("CARGO_PKG_VERSION").to_string(),
        input: input.info(),
        reference: reference.as_ref().map(Set::info),
        columns: params.columns.clone(),
        chat: None,
        strip_common: None,
        templates: Vec::new(),
        reference_templates: None,
        model: params.model.clone(),
        clustering: ClusteringInfo {
            k,
            k_rule: match params.clusters {
                Clusters::Auto => format!(
                    "auto: round(sqrt(n / 10)) clamped to [2, 200], n = {} distinct non-empty rows",
                    points.len()
                ),
                Clusters::Fixed(_) => "given".into(),
            },
            fit_on: match reference {
                Some(_) => "input and reference together, each set weighted to the same total (rows × 1/set size), so topics either set has get centroids".into(),
                None => "the input's rows, each weighted by its number of exact copies".into(),
            },
            fit_rows: km.fit_rows as u64,
            seed: params.seed,
            iterations: km.iterations,
            converged: km.converged,
            mean_cohesion,
        },
        near_duplicate_threshold: t,
        diversity,
        coverage,
        topics,
        map,
        timings_s: Map::new(),
        devices: [("cluster", &on), ("near_duplicates", &on)]
            .into_iter()
            .map(|(stage, on)| (stage.to_string(), json!(on)))
            .collect(),
    };

    watch.lap("describe");
    let mut report = report;
    report.timings_s = watch.laps();
    let topics = points
        .point_of
        .iter()
        .map(|ids| {
            ids.iter()
                .map(|p| {
                    p.map(|p| {
                        (
                            assignment.labels[p as usize],
                            assignment.similarity[p as usize],
                        )
                    })
                })
                .collect()
        })
        .collect();
    Ok(BuiltReport { report, topics })
}

fn too_many_clusters(k: usize, rows: usize) -> Error {
    Error::InvalidOption {
        name: "clusters",
        reason: format!(
            "{k} clusters asked for, but there are only {rows} distinct non-empty rows to cluster"
        ),
    }
}

/// Per-topic figures, indexed by topic.
struct Described {
    /// Rows (exact copies included) of each set.
    rows: Vec<Vec<u64>>,
    cohesion: Vec<f64>,
    near_dups: Vec<u64>,
    keywords: Vec<Vec<Keyword>>,
    examples: Vec<Vec<Example>>,
    /// Near-duplicate rows of each set, over all topics.
    dup_rows: Vec<f64>,
}

fn describe_topics(
    points: &Points,
    topic_members: &[Vec<u32>],
    assignment: &crate::cluster::Assignment,
    flagged: &[bool],
) -> Described {
    let sets = points.sets.len();
    let k = topic_members.len();
    let mut d = Described {
        rows: vec![vec![0; sets]; k],
        cohesion: vec![0.0; k],
        near_dups: vec![0; k],
        keywords: Vec::new(),
        examples: Vec::new(),
        dup_rows: vec![0.0; sets],
    };
    for (c, ids) in topic_members.iter().enumerate() {
        let mut sim = 0f64;
        for &p in ids {
            let (s, _) = points.origin[p as usize];
            let n = points.count(p) as u64;
            d.rows[c][s as usize] += n;
            sim += n as f64 * assignment.similarity[p as usize] as f64;
            // A flagged row and all its copies are near duplicates; otherwise its copies are.
            let dups = if flagged[p as usize] { n } else { n - 1 };
            d.near_dups[c] += dups;
            d.dup_rows[s as usize] += dups as f64;
        }
        let total: u64 = d.rows[c].iter().sum();
        d.cohesion[c] = if total > 0 {
            round6(sim / total as f64)
        } else {
            0.0
        };
    }
    let weighted: Vec<Vec<(u32, f64)>> = topic_members
        .iter()
        .map(|ids| ids.iter().map(|&p| (p, points.count(p) as f64)).collect())
        .collect();
    d.keywords = topic_keywords(&weighted, |p| points.text(p, " "), KEYWORDS);
    d.examples = nearest_to_centroid(topic_members, &assignment.similarity, EXAMPLES)
        .into_iter()
        .map(|ids| {
            ids.into_iter()
                .map(|p| {
                    let (s, u) = points.origin[p as usize];
                    let set = points.sets[s as usize];
                    Example {
                        set: if s == 0 { "input" } else { "reference" }.into(),
                        row: set.file_row(set.rows.groups.first_row()[u as usize]),
                        similarity: round6(assignment.similarity[p as usize] as f64),
                        text: cut(&points.text(p, "\n"), EXAMPLE_CHARS),
                    }
                })
                .collect()
        })
        .collect();
    d
}

fn set_diversity(counts: &[f64], dup_rows: f64, total: f64) -> SetDiversity {
    let p = coverage::shares(counts);
    let h = coverage::entropy_bits(&p);
    let effective = h.exp2();
    SetDiversity {
        entropy_bits: h,
        effective_topics: effective,
        evenness: effective / counts.len() as f64,
        largest_share: p.iter().copied().fold(0.0, f64::max),
        topics_present: counts.iter().filter(|&&c| c > 0.0).count(),
        near_duplicate_share: dup_rows / total,
    }
}

/// A topic's short name: its top three keywords.
fn label(keywords: &[Keyword]) -> String {
    if keywords.is_empty() {
        return "(no keywords)".into();
    }
    keywords
        .iter()
        .take(3)
        .map(|k| k.term.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A seeded sample of the points, projected on their first two principal components.
fn map(points: &Points, labels: &[u32], dim: usize, seed: u64) -> MapModel {
    let n = points.len();
    let ids = Rng::new(seed ^ 0x006d_6170).sample(n, n.min(MAP_POINTS));
    let mut v = Vec::with_capacity(ids.len() * dim);
    for &p in &ids {
        v.extend_from_slice(&points.vectors[p * dim..][..dim]);
    }
    let proj = pca_2d(&v, dim);
    MapModel {
        method: format!(
            "PCA: the first two principal components of {} rows sampled at random",
            ids.len()
        ),
        explained_variance: proj.explained.map(round6),
        points: ids
            .iter()
            .zip(&proj.points)
            .map(|(&p, xy)| MapPoint {
                x: xy[0],
                y: xy[1],
                topic: labels[p] as usize,
                reference: points.origin[p].0 == 1,
            })
            .collect(),
    }
}

/// `text` cut to `max` characters, with "…" when cut.
fn cut(text: &str, max: usize) -> String {
    let kept = truncate_chars(text, max);
    if kept.len() < text.len() {
        format!("{kept}…")
    } else {
        text.to_string()
    }
}

/// `x` rounded to six decimals, as the report's figures are.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_flag_parses() {
        assert_eq!("auto".parse::<Clusters>(), Ok(Clusters::Auto));
        assert_eq!("12".parse::<Clusters>(), Ok(Clusters::Fixed(12)));
        assert!("0".parse::<Clusters>().is_err());
        assert!("many".parse::<Clusters>().unwrap_err().contains("neither"));
    }

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("héllo", 3), "hél…");
        assert_eq!(cut("hé", 3), "hé");
    }
}
