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

use std::fmt;
use std::str::FromStr;

use serde_json::{json, Map};

use crate::cluster::{auto_k, ClusterError, KMeans, KMeansParams};
use crate::dataset::{RowNumbers, Texts};
use crate::dedup::{check_threshold, ExactGroups};
use crate::embed::Device;
use crate::index::DeviceParams;
use crate::process::Stopwatch;
use crate::progress::Progress;
use crate::report::coverage::{self, COVERED, SMOOTHING};
use crate::report::fine::{self, fine_k, FineLevel, FINE_RULE};
use crate::report::keywords::TermCounts;
use crate::report::map::{build_map, cut, PointFacts};
use crate::report::model::{
    ClusteringInfo, Coverage, Diversity, Example, FineTopic, Keyword, SetDiversity, Share, Topic,
    SCHEMA,
};
use crate::report::points::{Points, Set};
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
    /// Most rows on the map (a seeded sample of larger sets; [`MAP_POINTS`] by default).
    pub map_points: usize,
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
    /// For each set, each unique row's fine topic (`None`: empty).
    pub fine_topics: Vec<Vec<Option<u32>>>,
}

impl BuiltReport {
    /// Topic and similarity of row `row` (a row read, not a file row) of set `set`.
    pub fn topic_of(&self, set: usize, groups: &ExactGroups, row: usize) -> Option<(u32, f32)> {
        self.topics[set][groups.group_of_row()[row] as usize]
    }

    /// Fine topic of row `row` (a row read) of set `set`.
    pub fn fine_topic_of(&self, set: usize, groups: &ExactGroups, row: usize) -> Option<u32> {
        self.fine_topics[set][groups.group_of_row()[row] as usize]
    }
}

/// Examples shown per topic.
const EXAMPLES: usize = 5;
/// Keywords listed per topic.
const KEYWORDS: usize = 10;
/// Rows drawn on the map unless [`ReportParams::map_points`] says otherwise.
pub const MAP_POINTS: usize = 50_000;
/// Examples shown per fine topic.
const FINE_EXAMPLES: usize = 2;
/// Example texts are cut to this many characters.
const EXAMPLE_CHARS: usize = 600;

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
    let fine = fine::split(
        &points.vectors,
        dim,
        &weights,
        &topic_members,
        fine_k(points.len(), k),
        &kparams,
        progress,
    )?;
    let kf = fine.parent.len();
    let mut described = describe_topics(&points, &topic_members, &assignment, &flagged);
    let fine_described = describe_fine(&points, &fine);
    let term_counts = TermCounts::count(&weighted(&points, &fine.members), |p| points.text(p, " "));
    let boilerplate = term_counts.boilerplate();
    let fine_keywords = term_counts.keywords(&boilerplate, KEYWORDS);
    described.keywords = term_counts
        .merge(&fine.parent, k)
        .keywords(&boilerplate, KEYWORDS);
    watch.lap_on("topics", &on);

    let facts = PointFacts {
        coarse: &assignment.labels,
        fine: &fine.labels,
        similarity: &assignment.similarity,
        flagged: &flagged,
    };
    let map = build_map(
        &points,
        dim,
        &facts,
        params.map_points,
        params.seed,
        progress,
    )?;
    watch.lap("map");
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
    let fine_counts = |s: usize| -> Vec<f64> {
        (0..kf)
            .map(|f| fine_described.rows[f].get(s).copied().unwrap_or(0) as f64)
            .collect()
    };
    let coverage = reference.as_ref().map(|_| {
        let (input_counts, ref_counts) = (fine_counts(0), fine_counts(1));
        let (p, q) = (
            coverage::shares(&input_counts),
            coverage::shares(&ref_counts),
        );
        let (missing, over) = coverage::gaps(&input_counts, &ref_counts, &fine.parent);
        Coverage {
            level: format!("the {kf} fine topics (fine_topics), each within one of the {k} topics"),
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
            let share = |s: usize| share_of(&described.rows[c], s, &totals);
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
    let fine_topics: Vec<FineTopic> = (0..kf)
        .map(|f| {
            let share = |s: usize| share_of(&fine_described.rows[f], s, &totals);
            FineTopic {
                id: f,
                parent: fine.parent[f],
                label: label(&fine_keywords[f]),
                keywords: fine_keywords[f].clone(),
                input: share(0),
                reference: reference.as_ref().map(|_| share(1)),
                examples: fine_described.examples[f].clone(),
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
            fine_k: kf,
            fine_rule: FINE_RULE.into(),
        },
        near_duplicate_threshold: t,
        diversity,
        coverage,
        topics,
        fine_topics,
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
    let fine_topics = points
        .point_of
        .iter()
        .map(|ids| {
            ids.iter()
                .map(|p| p.map(|p| fine.labels[p as usize]))
                .collect()
        })
        .collect();
    Ok(BuiltReport {
        report,
        topics,
        fine_topics,
    })
}

/// A topic's rows of set `s` (`rows`: per set) and their share of the set's `totals`.
fn share_of(rows: &[u64], s: usize, totals: &[f64]) -> Share {
    let rows = rows.get(s).copied().unwrap_or(0);
    Share {
        rows,
        share: rows as f64 / totals[s],
    }
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
    d.examples = examples(points, topic_members, &assignment.similarity, EXAMPLES);
    d
}

/// Per fine topic: rows of each set and examples.
struct FineDescribed {
    rows: Vec<Vec<u64>>,
    examples: Vec<Vec<Example>>,
}

fn describe_fine(points: &Points, fine: &FineLevel) -> FineDescribed {
    let sets = points.sets.len();
    let rows = fine
        .members
        .iter()
        .map(|ids| {
            let mut r = vec![0u64; sets];
            for &p in ids {
                r[points.origin[p as usize].0 as usize] += points.count(p) as u64;
            }
            r
        })
        .collect();
    FineDescribed {
        rows,
        examples: examples(points, &fine.members, &fine.similarity, FINE_EXAMPLES),
    }
}

/// Each topic's members weighted by their rows (exact copies count), for keywords.
fn weighted(points: &Points, members: &[Vec<u32>]) -> Vec<Vec<(u32, f64)>> {
    members
        .iter()
        .map(|ids| ids.iter().map(|&p| (p, points.count(p) as f64)).collect())
        .collect()
}

/// The `n` rows of each topic nearest its centroid, as examples.
fn examples(
    points: &Points,
    members: &[Vec<u32>],
    similarity: &[f32],
    n: usize,
) -> Vec<Vec<Example>> {
    nearest_to_centroid(members, similarity, n)
        .into_iter()
        .map(|ids| {
            ids.into_iter()
                .map(|p| {
                    let (s, u) = points.origin[p as usize];
                    let set = points.sets[s as usize];
                    Example {
                        set: if s == 0 { "input" } else { "reference" }.into(),
                        row: set.file_row(set.rows.groups.first_row()[u as usize]),
                        similarity: round6(similarity[p as usize] as f64),
                        text: cut(&points.text(p, "\n"), EXAMPLE_CHARS),
                    }
                })
                .collect()
        })
        .collect()
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

    #[test]
    fn default_map_points_is_documented() {
        assert_eq!(MAP_POINTS, 50_000);
    }
}
