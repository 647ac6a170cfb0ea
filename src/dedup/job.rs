//! Deduplication as one call over vectors in memory: what `semsift dedup` runs between
//! reading its input and writing its outputs, and what the Python package calls.
//!
//! [`dedup_self`] takes the exact-copy groups of the rows and one unit vector per unique
//! row; [`dedup_against`] the same for a query set and a reference set. Both build the
//! chosen index, search it at the lowest threshold asked for (the threshold, the sweep),
//! select, and return a [`Deduplication`]: a decision for every row, the threshold
//! applied, the sweep, and what the search did. A self-deduplication keeps its similar
//! pairs, so [`Deduplication::rethreshold`] can decide again at any threshold at or above
//! the one searched without a new search.

use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

use super::{
    best_matches, blockwise, decide_cross, decide_self, highest_threshold_keeping, kept_count,
    select, Canonical, Decision, EarlierPairs, ExactGroups, IdenticalVectors, RefMatch, VectorRows,
    RESCORE_MARGIN,
};
use crate::embed::Device;
use crate::index::{
    self, DeviceCellsIndex, DeviceCellsParams, DeviceIndex, DeviceParams, HnswParams, IndexKind,
    IvfParams, VectorIndex, MAX_HITS,
};
use crate::linalg::dot;
use crate::process::{spill_budget, Stopwatch};
use crate::progress::Progress;
use crate::store::Vectors;
use crate::Error;

/// How to deduplicate; [`Default`] gives the command line's defaults.
#[derive(Debug, Clone)]
pub struct DedupParams {
    /// Rows at least this similar (cosine) to a kept row are removed. In `(0, 1]`.
    pub threshold: f32,
    /// Extra thresholds to report kept counts for, from the same search.
    pub sweep: Vec<f32>,
    /// Pick the highest threshold (not below `threshold`) that keeps at most this many rows.
    pub target_rows: Option<u64>,
    /// Which neighbour index to search with.
    pub index: IndexKind,
    /// HNSW parameters (when `index` is HNSW).
    pub hnsw: HnswParams,
    /// Clustered-index parameters (when `index` is IVF).
    pub ivf: IvfParams,
    /// Bytes of memory the search should stay within: its candidate buffers are held to
    /// half of what is left below it (`process::spill_budget`) and the rest spills to temporary
    /// files. `None`: never spill.
    pub memory_limit: Option<u64>,
    /// Keep the similar pairs a self-deduplication finds, for
    /// [`Deduplication::pairs`] and [`Deduplication::rethreshold`]. Without them, and
    /// without a sweep or a target, the default index decides rows block by block
    /// against the rows kept so far ([`super::blockwise`]) and never lists the pairs.
    pub keep_pairs: bool,
    /// IVF cells each row, and each reference row searching back, is scored against in a
    /// contamination check ([`dedup_against`]), in place of `ivf.probes`. A missed leak
    /// is what such a check must not have: on 1M rows against 1M (`scripts/bench-against.sh`)
    /// 24 probes flag 0.9988 of the rows exact search flags, 10 probes 0.9917.
    pub against_probes: usize,
    /// Where the index is built and searched: the CPU kernels ([`Device::Cpu`]), or a
    /// device ([`Device::is_device_path`]: a CUDA GPU, or candle's CPU backend), where
    /// the exact index is [`DeviceIndex`] and the default one [`DeviceCellsIndex`], and
    /// selection always decides from the pairs found. HNSW runs on the CPU either way.
    pub device: Device,
    /// How a device holds and scores the vectors.
    pub device_params: DeviceParams,
}

/// Cells a device index probes at least: products are cheap there, and probes are
/// what finds a pair.
pub const DEVICE_PROBES: usize = 24;

/// The default [`DedupParams::against_probes`].
pub const AGAINST_PROBES: usize = 24;

impl Default for DedupParams {
    fn default() -> Self {
        DedupParams {
            threshold: 0.9,
            sweep: Vec::new(),
            target_rows: None,
            index: IndexKind::Ivf,
            hnsw: HnswParams::default(),
            ivf: IvfParams::default(),
            memory_limit: None,
            keep_pairs: false,
            against_probes: AGAINST_PROBES,
            device: Device::Cpu,
            device_params: DeviceParams::default(),
        }
    }
}

impl DedupParams {
    /// Checks the thresholds (each in `(0, 1]`) and the target (at least one row).
    pub fn check(&self) -> Result<(), Error> {
        check_threshold("threshold", self.threshold)?;
        for &t in &self.sweep {
            check_threshold("sweep threshold", t)?;
        }
        if self.target_rows == Some(0) {
            return Err(Error::InvalidOption {
                name: "target rows",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Whether a self-deduplication is decided block by block against the kept rows
    /// ([`super::blockwise`]): with the default index, when nothing asks for its pairs
    /// (no sweep, no target, `keep_pairs` off).
    pub fn blockwise(&self) -> bool {
        self.index == IndexKind::Ivf
            && !self.device.is_device_path()
            && self.sweep.is_empty()
            && self.target_rows.is_none()
            && !self.keep_pairs
    }

    /// Where the index is built and searched: the device on the device path, else `cpu`.
    pub fn index_device(&self) -> String {
        match self.device.is_device_path() && self.index != IndexKind::Hnsw {
            true => self.device.to_string(),
            false => "cpu".into(),
        }
    }

    /// The lowest threshold a decision will be asked for: the search finds every pair
    /// at or above it.
    pub fn floor(&self) -> f32 {
        self.sweep.iter().copied().fold(self.threshold, f32::min)
    }
}

/// A cosine threshold must lie in `(0, 1]`.
pub fn check_threshold(name: &'static str, t: f32) -> Result<(), Error> {
    if t > 0.0 && t <= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            name,
            reason: format!("{t} is outside (0, 1]"),
        })
    }
}

/// Kept and removed rows at one threshold of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SweepPoint {
    /// The threshold.
    #[serde(serialize_with = "short_f32")]
    pub threshold: f32,
    /// Rows kept at it.
    pub kept: u64,
    /// Rows removed at it.
    pub removed: u64,
}

/// What `target_rows` chose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetOutcome {
    /// The most rows to keep.
    pub requested: u64,
    /// Whether a threshold at or above the floor keeps that few.
    pub reached: bool,
    /// The threshold applied: the highest that keeps at most `requested` rows, or the
    /// floor when none does.
    #[serde(serialize_with = "short_f32")]
    pub chosen_threshold: f32,
    /// Rows kept at `chosen_threshold` (when reached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<u64>,
    /// Why the target was not reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// A removed row and the row it duplicates, as [`Deduplication::least_similar`] lists them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemovedRow {
    /// The removed row.
    pub row: u64,
    /// The row it duplicates (a reference row against a reference).
    pub duplicate_of: u64,
    /// Their cosine similarity (1.0 for exact copies).
    pub score: f32,
    /// Whether it is an exact copy.
    pub exact: bool,
}

/// The result of a deduplication.
pub struct Deduplication {
    /// What happens to each row, in input order.
    pub decisions: Vec<Decision>,
    /// The threshold applied (chosen by `target_rows` when given).
    pub threshold: f32,
    /// What `target_rows` chose, when given.
    pub target: Option<TargetOutcome>,
    /// Kept counts at each sweep threshold, lowest first.
    pub sweep: Vec<SweepPoint>,
    /// The index and what the search found, for summaries.
    pub index: Value,
    /// Seconds per stage (`index`, `search`, `select`).
    pub timings: Map<String, Value>,
    /// The lowest threshold the search covered.
    pub floor: f32,
    state: State,
}

/// What a deduplication keeps to decide again at another threshold.
enum State {
    SelfSearch(Box<SelfState>),
    /// Decided without listing pairs: another threshold needs a new search.
    Decided,
    Against {
        matches: Vec<Option<RefMatch>>,
        ref_first_row: Vec<u64>,
    },
}

/// What a self-deduplication keeps: its pairs and the vectors they were scored with.
struct SelfState {
    /// One vector per group of identical vectors.
    distinct: Vectors,
    identical: IdenticalVectors,
    pairs: EarlierPairs,
    dim: usize,
}

impl std::fmt::Debug for Deduplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduplication")
            .field("rows", &self.decisions.len())
            .field("kept", &self.kept())
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl Deduplication {
    /// Rows kept.
    pub fn kept(&self) -> u64 {
        self.decisions.iter().filter(|d| d.is_kept()).count() as u64
    }

    /// Rows removed, exact copies included.
    pub fn removed(&self) -> u64 {
        self.decisions.len() as u64 - self.kept()
    }

    /// Rows removed as exact copies.
    pub fn exact_removed(&self) -> u64 {
        self.decisions
            .iter()
            .filter(|d| matches!(d, Decision::Remove { exact: true, .. }))
            .count() as u64
    }

    /// Where each stage ran (`index`, `search`, `select`), as summaries list them: the
    /// device the index names, else `cpu`.
    pub fn devices(&self) -> Map<String, Value> {
        let on = self
            .index
            .get("device")
            .cloned()
            .unwrap_or_else(|| json!("cpu"));
        let mut out = Map::new();
        out.insert("index".into(), on.clone());
        out.insert("search".into(), on);
        out.insert("select".into(), json!("cpu"));
        out
    }

    /// The kept rows, increasing.
    pub fn kept_rows(&self) -> Vec<u64> {
        (0..self.decisions.len() as u64)
            .filter(|&i| self.decisions[i as usize].is_kept())
            .collect()
    }

    /// The `n` removed rows least similar to the row they duplicate (ties: the earlier
    /// row first): where the threshold is most likely too low.
    pub fn least_similar(&self, n: usize) -> Vec<RemovedRow> {
        least_similar(&self.decisions, n)
    }

    /// The similar pairs the search found between unique rows, `(later, earlier, score)`,
    /// at or above [`floor`](Self::floor) (a self-deduplication only).
    pub fn pairs(&self) -> Option<&EarlierPairs> {
        match &self.state {
            State::SelfSearch(state) => Some(&state.pairs),
            State::Decided | State::Against { .. } => None,
        }
    }

    /// The decisions at another threshold, from the pairs already found: `None` when
    /// `threshold` is below [`floor`](Self::floor) or no pairs were kept
    /// ([`DedupParams::keep_pairs`]; a new search is needed), or it is outside `(0, 1]`.
    /// `groups` are the rows' exact-copy groups, as given to the job.
    pub fn rethreshold(&self, groups: &ExactGroups, threshold: f32) -> Option<Vec<Decision>> {
        if threshold < self.floor || check_threshold("threshold", threshold).is_err() {
            return None;
        }
        Some(match &self.state {
            State::SelfSearch(state) => {
                let rows = VectorRows::mapped(
                    state.distinct.as_slice(),
                    state.dim,
                    state.identical.group_of(),
                );
                decide_self(groups, &select(&state.pairs, rows, threshold))
            }
            State::Against {
                matches,
                ref_first_row,
            } => decide_cross(groups, matches, ref_first_row, threshold),
            State::Decided => return None,
        })
    }
}

/// The `n` removed rows of `decisions` least similar to the row they duplicate (ties:
/// the earlier row first).
pub fn least_similar(decisions: &[Decision], n: usize) -> Vec<RemovedRow> {
    let mut removed: Vec<RemovedRow> = decisions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match *d {
            Decision::Remove {
                duplicate_of,
                score,
                exact,
            } => Some(RemovedRow {
                row: i as u64,
                duplicate_of,
                score,
                exact,
            }),
            Decision::Keep => None,
        })
        .collect();
    removed.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.row.cmp(&b.row)));
    removed.truncate(n);
    removed
}

/// Deduplicates rows against each other (SemHash's `self_deduplicate`): `groups` are
/// their exact-copy groups, `vectors` one unit vector per group (per unique row), `dim`
/// wide. A row is removed when an earlier kept row is at least `params.threshold`
/// similar; see [`select()`].
pub fn dedup_self(
    groups: &ExactGroups,
    mut vectors: Vectors,
    dim: usize,
    params: &DedupParams,
    progress: &dyn Progress,
) -> Result<Deduplication, Error> {
    params.check()?;
    check_vectors(vectors.len(), groups.groups(), dim)?;
    let mut watch = Stopwatch::start();
    // One vector per group of bit-identical vectors: the others are dropped here, and
    // rows are mapped to their group's vector from then on.
    let held = vectors.held();
    let identical = IdenticalVectors::group_bytes(held.bytes(), dim * held.dtype().size());
    if identical.groups() < groups.groups() {
        vectors.retain_rows(identical.reps(), dim);
    }
    if params.blockwise() {
        return blockwise(groups, vectors, identical, dim, params, watch, progress);
    }
    // The pair search reads `f32` vectors.
    vectors.widen(dim);
    let floor = params.floor();
    let distinct = vectors.as_slice();
    let index = build_index(params, distinct, dim, true, progress)?;
    watch.lap_on("index", &params.index_device());
    let found = index.stream_above_at_most(distinct, floor - RESCORE_MARGIN, MAX_HITS, progress)?;
    let mut summary = index.describe();
    drop(index);
    let rows = VectorRows::mapped(distinct, dim, identical.group_of());
    let budget = spill_budget(params.memory_limit);
    let pairs = EarlierPairs::from_group_search(found, &identical, rows, floor, budget)
        .map_err(index::IndexError::Spill)?;
    watch.lap_on("search", &params.index_device());
    let kept_at = |t: f32| kept_count(&select(&pairs, rows, t)) as u64;
    let (threshold, target) =
        choose_threshold(params, || pairs.iter().map(|p| p.2).collect(), kept_at);
    let decisions = decide_self(groups, &select(&pairs, rows, threshold));
    let sweep = sweep(params, groups.rows() as u64, kept_at);
    watch.lap("select");
    summary["pairs_found"] = json!(pairs.pairs());
    summary["pairs_on_disk"] = json!(pairs.is_on_disk());
    summary["distinct_vectors"] = json!(identical.groups());
    summary["max_hits"] = json!(MAX_HITS);
    summary["rows_at_max_hits"] = json!(pairs.cut_count());
    summary["search_floor"] = short(floor);
    Ok(Deduplication {
        decisions,
        threshold,
        target,
        sweep,
        index: summary,
        timings: watch.laps(),
        floor,
        state: State::SelfSearch(Box::new(SelfState {
            distinct: vectors,
            identical,
            pairs,
            dim,
        })),
    })
}

/// [`dedup_self`] decided block by block against the kept rows ([`super::blockwise`]):
/// `vectors` one per group of `identical`.
fn blockwise(
    groups: &ExactGroups,
    vectors: Vectors,
    identical: IdenticalVectors,
    dim: usize,
    params: &DedupParams,
    mut watch: Stopwatch,
    progress: &dyn Progress,
) -> Result<Deduplication, Error> {
    let threshold = params.threshold;
    let held = vectors.held();
    // Rows with a bit-identical vector point to the first of them, at its self-similarity.
    let mut buf = Vec::new();
    let self_score: Vec<f32> = (0..identical.groups())
        .map(|g| match identical.members(g).len() {
            1 => 1.0,
            _ => {
                let v = held.read(g * dim..(g + 1) * dim, dim, &mut buf);
                dot(v, v)
            }
        })
        .collect();
    let ivf = IvfParams {
        self_threshold: Some(threshold - RESCORE_MARGIN),
        ..params.ivf
    };
    let (partition, mut summary) = index::IvfIndex::partition_held(held, dim, ivf, progress)?;
    summary["precision"] = json!(held.dtype().to_string());
    watch.lap_on("index", &params.index_device());
    let by_vector = match partition {
        Some(partition) => {
            let block = blockwise::block_rows(identical.groups());
            let (out, stats) = match vectors {
                Vectors::Half(v) => {
                    blockwise::select_blockwise(v, dim, partition, threshold, block, progress)?
                }
                v => blockwise::select_blockwise(
                    v.into_owned(dim),
                    dim,
                    partition,
                    threshold,
                    block,
                    progress,
                )?,
            };
            summary["selection"] = json!({
                "method": "blockwise",
                "block_rows": block,
                "blocks": stats.blocks,
                "halved": stats.halved,
                "within_pairs": stats.within_pairs,
                "products": {"forward": stats.forward, "within": stats.within, "reverse": stats.reverse},
            });
            out
        }
        None => Vec::new(), // no rows
    };
    watch.lap_on("search", &params.index_device());
    let reps = identical.reps();
    let canon: Vec<Canonical> = identical
        .group_of()
        .iter()
        .enumerate()
        .map(|(u, &g)| {
            let c = by_vector[g as usize];
            match (c.is_kept(g as usize), reps[g as usize] as usize == u) {
                // A vector too far from itself (a zero vector: no token the model
                // knows) matches nothing, not even its copies, which are kept as it is.
                (true, false) if self_score[g as usize] >= threshold => Canonical {
                    of: reps[g as usize],
                    score: self_score[g as usize],
                },
                (true, _) => Canonical {
                    of: u as u32,
                    score: 1.0,
                },
                (false, _) => Canonical {
                    of: reps[c.of as usize],
                    score: c.score,
                },
            }
        })
        .collect();
    let decisions = decide_self(groups, &canon);
    watch.lap("select");
    summary["distinct_vectors"] = json!(identical.groups());
    summary["search_floor"] = short(threshold);
    Ok(Deduplication {
        decisions,
        threshold,
        target: None,
        sweep: Vec::new(),
        index: summary,
        timings: watch.laps(),
        floor: threshold,
        state: State::Decided,
    })
}

/// Deduplicates rows against a reference set (SemHash's `deduplicate`, a contamination
/// check): a row is removed when the reference holds an exact copy of it (the same key)
/// or a row at least `params.threshold` similar. `groups`/`keys`/`vectors` describe the
/// rows (keys and vectors one per unique row), `reference`/`ref_vectors` the reference;
/// rows are not compared with each other. `duplicate_of` is a reference row.
#[allow(clippy::too_many_arguments)]
pub fn dedup_against(
    groups: &ExactGroups,
    keys: &[u128],
    vectors: &[f32],
    reference: &ExactGroups,
    ref_vectors: &[f32],
    dim: usize,
    params: &DedupParams,
    progress: &dyn Progress,
) -> Result<Deduplication, Error> {
    params.check()?;
    check_vectors(vectors.len(), groups.groups(), dim)?;
    check_vectors(ref_vectors.len(), reference.groups(), dim)?;
    let mut watch = Stopwatch::start();
    let params = &DedupParams {
        ivf: IvfParams {
            probes: params.against_probes,
            ..params.ivf
        },
        ..params.clone()
    };
    let index = build_index(params, ref_vectors, dim, false, progress)?;
    // An approximate search finds a pair from one side only when the query probes the
    // reference row's cell; searching the other way too (the reference rows against the
    // rows' own cells) finds it when either side does, as a self-search does.
    let reverse = match params.index {
        IndexKind::Ivf => {
            // The forward search already scores the dense cells near each row; the
            // reverse one only has to cover pairs that straddle a cell boundary.
            let reverse = DedupParams {
                ivf: IvfParams {
                    dense_margin: 0.0,
                    ..params.ivf
                },
                ..params.clone()
            };
            Some(build_index(&reverse, vectors, dim, false, progress)?)
        }
        _ => None,
    };
    watch.lap_on("index", &params.index_device());
    let mut result = against(
        groups,
        keys,
        vectors,
        reference,
        ref_vectors,
        (&*index, reverse.as_deref()),
        params,
        progress,
    )?;
    let mut timings = watch.laps();
    timings.append(&mut result.timings);
    result.timings = timings;
    Ok(result)
}

/// [`dedup_against`] with an index already built over `ref_vectors` (one a caller keeps
/// to check batch after batch against the same reference). Its parameters are the
/// index's own; `params.index`, `hnsw` and `ivf` are not used.
#[allow(clippy::too_many_arguments)]
pub fn dedup_against_index(
    groups: &ExactGroups,
    keys: &[u128],
    vectors: &[f32],
    reference: &ExactGroups,
    ref_vectors: &[f32],
    index: &dyn VectorIndex,
    params: &DedupParams,
    progress: &dyn Progress,
) -> Result<Deduplication, Error> {
    against(
        groups,
        keys,
        vectors,
        reference,
        ref_vectors,
        (index, None),
        params,
        progress,
    )
}

/// [`dedup_against_index`]; `indexes.1`, when given, is an index over `vectors` that the
/// reference rows are searched in as well, and a pair either search finds counts.
#[allow(clippy::too_many_arguments)]
fn against(
    groups: &ExactGroups,
    keys: &[u128],
    vectors: &[f32],
    reference: &ExactGroups,
    ref_vectors: &[f32],
    indexes: (&dyn VectorIndex, Option<&dyn VectorIndex>),
    params: &DedupParams,
    progress: &dyn Progress,
) -> Result<Deduplication, Error> {
    let (index, reverse) = indexes;
    let dim = index.dim();
    params.check()?;
    check_vectors(vectors.len(), groups.groups(), dim)?;
    check_vectors(ref_vectors.len(), reference.groups(), dim)?;
    if keys.len() != groups.groups() {
        return Err(Error::InvalidOption {
            name: "keys",
            reason: format!(
                "{} keys for {} unique rows: one per unique row",
                keys.len(),
                groups.groups()
            ),
        });
    }
    if index.len() != reference.groups() {
        return Err(Error::InvalidOption {
            name: "index",
            reason: format!(
                "it holds {} vectors, the reference {} unique rows",
                index.len(),
                reference.groups()
            ),
        });
    }
    let mut watch = Stopwatch::start();
    let floor = params.floor();
    let found = index.above_at_most(vectors, floor - RESCORE_MARGIN, MAX_HITS, progress)?;
    let mut matches = best_matches(&found, vectors, ref_vectors, dim, floor);
    drop(found);
    if let Some(reverse) = reverse {
        let found =
            reverse.above_at_most(ref_vectors, floor - RESCORE_MARGIN, MAX_HITS, progress)?;
        for j in 0..found.len() {
            let r = &ref_vectors[j * dim..(j + 1) * dim];
            for &i in found.get(j).0 {
                let s = dot(r, &vectors[i as usize * dim..(i as usize + 1) * dim]);
                let best = &mut matches[i as usize];
                let better = match best {
                    Some(b) => s > b.score || (s == b.score && (j as u32) < b.of),
                    None => true,
                };
                if s >= floor && better {
                    *best = Some(RefMatch {
                        of: j as u32,
                        score: s,
                        exact: false,
                    });
                }
            }
        }
    }
    for (u, m) in matches.iter_mut().enumerate() {
        if let Some(g) = reference.find(keys[u]) {
            *m = Some(RefMatch {
                of: g,
                score: 1.0,
                exact: true,
            });
        }
    }
    watch.lap_on("search", &params.index_device());
    let mut group_size = vec![0u64; matches.len()];
    for &g in groups.group_of_row() {
        group_size[g as usize] += 1;
    }
    let total: u64 = group_size.iter().sum();
    let kept_at = |t: f32| {
        total
            - matches
                .iter()
                .zip(&group_size)
                .filter(|(m, _)| m.is_some_and(|m| m.exact || m.score >= t))
                .map(|(_, n)| n)
                .sum::<u64>()
    };
    let scores = || matches.iter().flatten().map(|m| m.score).collect();
    let (threshold, target) = choose_threshold(params, scores, kept_at);
    let ref_first_row = reference.first_row().to_vec();
    let decisions = decide_cross(groups, &matches, &ref_first_row, threshold);
    let sweep = sweep(params, groups.rows() as u64, kept_at);
    watch.lap("select");
    let mut summary = index.describe();
    summary["search_floor"] = short(floor);
    summary["searched_both_ways"] = json!(reverse.is_some());
    Ok(Deduplication {
        decisions,
        threshold,
        target,
        sweep,
        index: summary,
        timings: watch.laps(),
        floor,
        state: State::Against {
            matches,
            ref_first_row,
        },
    })
}

/// Vectors must be whole rows, one per unique row.
fn check_vectors(values: usize, unique: usize, dim: usize) -> Result<(), Error> {
    if dim == 0 || values != unique * dim {
        return Err(Error::InvalidOption {
            name: "vectors",
            reason: format!(
                "{} values for {unique} unique rows of {dim} dimensions (expected {})",
                values,
                unique * dim
            ),
        });
    }
    Ok(())
}

/// Builds the index over `vectors`; `self_search` says they will also be the queries.
fn build_index<'v>(
    params: &DedupParams,
    vectors: &'v [f32],
    dim: usize,
    self_search: bool,
    progress: &dyn Progress,
) -> Result<Box<dyn VectorIndex + 'v>, Error> {
    if params.device.is_device_path() && params.index != IndexKind::Hnsw {
        let device = params.device;
        return Ok(match params.index {
            IndexKind::Exact => {
                let index = DeviceIndex::new(
                    vectors,
                    dim,
                    &device.to_candle()?,
                    device.to_string(),
                    params.device_params,
                )?;
                // Pairs are read from either end: the later row's list is enough.
                Box::new(match self_search {
                    true => index.earlier_only(),
                    false => index,
                })
            }
            _ => Box::new(DeviceCellsIndex::build(
                vectors,
                dim,
                device,
                params.device_params,
                DeviceCellsParams {
                    cells: (params.ivf.lists > 0).then_some(params.ivf.lists),
                    probes: params.ivf.probes.max(DEVICE_PROBES),
                    seed: params.ivf.seed,
                },
                progress,
            )?),
        });
    }
    let ivf = IvfParams {
        self_threshold: self_search.then_some(params.floor() - RESCORE_MARGIN),
        spill_budget: spill_budget(params.memory_limit),
        ..params.ivf
    };
    Ok(index::build(
        params.index,
        params.hnsw,
        ivf,
        vectors,
        dim,
        progress,
    )?)
}

/// The threshold to apply: the given one, or the one `target_rows` picks among the
/// `scores` of the pairs found (gathered only then).
fn choose_threshold(
    params: &DedupParams,
    scores: impl FnOnce() -> Vec<f32>,
    kept_at: impl FnMut(f32) -> u64,
) -> (f32, Option<TargetOutcome>) {
    let Some(requested) = params.target_rows else {
        return (params.threshold, None);
    };
    let scores: Vec<f32> = scores()
        .into_iter()
        .filter(|&s| s >= params.threshold)
        .collect();
    match highest_threshold_keeping(scores, requested, kept_at) {
        Some((t, kept)) => (
            t,
            Some(TargetOutcome {
                requested,
                reached: true,
                chosen_threshold: t,
                kept: Some(kept),
                note: None,
            }),
        ),
        None => {
            tracing::warn!(
                target = requested,
                floor = params.threshold,
                "no threshold at or above the floor keeps at most the target rows; using the floor"
            );
            (
                params.threshold,
                Some(TargetOutcome {
                    requested,
                    reached: false,
                    chosen_threshold: params.threshold,
                    kept: None,
                    note: Some("no threshold at or above --threshold keeps this few rows; lower --threshold to search further"),
                }),
            )
        }
    }
}

/// Kept counts at each distinct sweep threshold, lowest first.
fn sweep(params: &DedupParams, rows: u64, mut kept_at: impl FnMut(f32) -> u64) -> Vec<SweepPoint> {
    let mut ts = params.sweep.clone();
    ts.sort_by(f32::total_cmp);
    ts.dedup();
    ts.into_iter()
        .map(|threshold| {
            let kept = kept_at(threshold);
            SweepPoint {
                threshold,
                kept,
                removed: rows - kept,
            }
        })
        .collect()
}

/// An `f32` as the JSON number with the shortest decimal form that reads back as the
/// same `f32` (`0.9`, not `0.8999999761581421`); `null` when not finite.
pub fn short(x: f32) -> Value {
    x.to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// [`short`] for serde fields.
pub fn short_f32<S: Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
    short(*x).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::row_key;
    use crate::index::testutil::clustered;
    use crate::progress::Silent;

    fn groups_of(n: usize) -> ExactGroups {
        let mut g = ExactGroups::new();
        for i in 0..n {
            g.push(row_key(&[i.to_string()]));
        }
        g
    }

    /// Rows and a reference that share clusters, with their groups and the rows' keys.
    struct Split {
        rows: Vec<f32>,
        refs: Vec<f32>,
        groups: ExactGroups,
        reference: ExactGroups,
        keys: Vec<u128>,
    }

    /// Every `every`-th row of `v` a row, the others the reference (no exact copies).
    fn split(v: &[f32], dim: usize, every: usize) -> Split {
        let (mut rows, mut refs) = (Vec::new(), Vec::new());
        for (i, r) in v.chunks_exact(dim).enumerate() {
            if i % every == 0 { &mut rows } else { &mut refs }.extend_from_slice(r);
        }
        let (groups, reference) = (groups_of(rows.len() / dim), groups_of(refs.len() / dim));
        let keys = (0..groups.groups())
            .map(|i| u128::MAX - i as u128)
            .collect();
        Split {
            rows,
            refs,
            groups,
            reference,
            keys,
        }
    }

    /// The rows a deduplication removed.
    fn removed_rows(d: &Deduplication) -> std::collections::HashSet<usize> {
        (0..d.decisions.len())
            .filter(|&i| !d.decisions[i].is_kept())
            .collect()
    }

    #[test]
    fn a_contamination_check_probes_its_own_number_of_cells() {
        let dim = 32;
        let Split {
            rows,
            refs,
            groups,
            reference,
            keys,
        } = split(&clustered(6000, dim, 30, 0.6, 7), dim, 4);
        let run = |index, against_probes| {
            let params = DedupParams {
                threshold: 0.75,
                index,
                against_probes,
                ..Default::default()
            };
            let d = dedup_against(
                &groups, &keys, &rows, &reference, &refs, dim, &params, &Silent,
            )
            .unwrap();
            let removed = removed_rows(&d);
            (d.index, removed)
        };
        let (_, want) = run(IndexKind::Exact, AGAINST_PROBES);
        let (few_index, few) = run(IndexKind::Ivf, 1);
        let (many_index, many) = run(IndexKind::Ivf, AGAINST_PROBES);
        // The self-search default stays what `ivf.probes` says.
        assert_eq!(DedupParams::default().ivf.probes, 10);
        assert_eq!(few_index["probes"], json!(1));
        assert_eq!(many_index["probes"], json!(AGAINST_PROBES));
        assert!(few.is_subset(&many) && many.is_subset(&want));
        assert!(
            few.len() < many.len(),
            "more probes find more: {} vs {} of {}",
            few.len(),
            many.len(),
            want.len()
        );
    }

    #[test]
    fn searching_against_a_reference_both_ways_misses_fewer_matches() {
        let dim = 32;
        // Every fifth row is a query, the rest the reference: they share clusters.
        let Split {
            rows,
            refs,
            groups,
            reference,
            keys,
        } = split(&clustered(8000, dim, 40, 0.6, 5), dim, 5);
        let params = |index| DedupParams {
            threshold: 0.75,
            index,
            ivf: IvfParams {
                probes: 1,
                ..IvfParams::default()
            },
            against_probes: 1,
            ..Default::default()
        };
        let run = |index| {
            dedup_against(
                &groups,
                &keys,
                &rows,
                &reference,
                &refs,
                dim,
                &params(index),
                &Silent,
            )
            .unwrap()
        };
        let (exact, both) = (run(IndexKind::Exact), run(IndexKind::Ivf));
        // The same index searched from the rows' side only.
        let forward = build_index(&params(IndexKind::Ivf), &refs, dim, false, &Silent).unwrap();
        let one_way = dedup_against_index(
            &groups,
            &keys,
            &rows,
            &reference,
            &refs,
            &*forward,
            &params(IndexKind::Ivf),
            &Silent,
        )
        .unwrap();
        assert_eq!(both.index["searched_both_ways"], json!(true));
        assert_eq!(one_way.index["searched_both_ways"], json!(false));
        let (want, got, half) = (
            removed_rows(&exact),
            removed_rows(&both),
            removed_rows(&one_way),
        );
        assert!(want.len() > 1000, "the rows have matches ({})", want.len());
        assert!(got.is_subset(&want) && half.is_subset(&got));
        let (missed, missed_one_way) = (want.len() - got.len(), want.len() - half.len());
        assert!(
            missed_one_way >= 20 && missed * 4 <= missed_one_way,
            "missed {missed} both ways, {missed_one_way} one way"
        );
        for i in got {
            let (Decision::Remove { score: s, .. }, Decision::Remove { score: t, .. }) =
                (both.decisions[i], exact.decisions[i])
            else {
                unreachable!("both removed");
            };
            assert!(s <= t + 1e-5, "row {i}: {s} above the best match {t}");
        }
    }

    #[test]
    fn rethreshold_matches_a_fresh_run_at_that_threshold() {
        let dim = 16;
        let v = clustered(600, dim, 20, 0.15, 3);
        let groups = groups_of(600);
        let params = DedupParams {
            threshold: 0.8,
            index: IndexKind::Exact,
            ..Default::default()
        };
        let low = dedup_self(&groups, v.clone().into(), dim, &params, &Silent).unwrap();
        assert!(low.removed() > 0, "the data has near duplicates");
        for t in [0.8, 0.85, 0.9, 0.97] {
            let fresh = dedup_self(
                &groups,
                v.clone().into(),
                dim,
                &DedupParams {
                    threshold: t,
                    ..params.clone()
                },
                &Silent,
            )
            .unwrap();
            assert_eq!(low.rethreshold(&groups, t).unwrap(), fresh.decisions, "{t}");
        }
        assert!(low.rethreshold(&groups, 0.79).is_none(), "below the floor");
    }

    #[test]
    fn blockwise_decides_as_exact_search_with_copies_and_zero_vectors() {
        let dim = 16;
        let mut v = clustered(900, dim, 6, 0.25, 9);
        // Unique rows with bit-identical vectors (a copy of row 5's), and zero vectors.
        let five = v[5 * dim..6 * dim].to_vec();
        for r in (100..900).step_by(97) {
            v[r * dim..(r + 1) * dim].copy_from_slice(&five);
        }
        for r in (50..900).step_by(131) {
            v[r * dim..(r + 1) * dim].fill(0.0);
        }
        let groups = groups_of(900);
        let exact = DedupParams {
            threshold: 0.9,
            index: IndexKind::Exact,
            ..Default::default()
        };
        let want = dedup_self(&groups, v.clone().into(), dim, &exact, &Silent).unwrap();
        assert!(want.removed() > 100, "{} removed", want.removed());
        // Every cell probed: the same candidates as exact search.
        let every = DedupParams {
            index: IndexKind::Ivf,
            ivf: IvfParams {
                lists: 12,
                probes: 12,
                max_probes: 12,
                ..IvfParams::default()
            },
            ..exact.clone()
        };
        assert!(every.blockwise());
        let got = dedup_self(&groups, v.into(), dim, &every, &Silent).unwrap();
        assert_eq!(got.index["selection"]["method"], "blockwise");
        assert_eq!(got.decisions, want.decisions);
        assert!(got.rethreshold(&groups, 0.95).is_none(), "no pairs kept");
    }

    #[test]
    fn vectors_held_as_f16_decide_as_the_rounded_vectors_in_f32() {
        // More rows than one partition chunk, so the chunked widening is crossed.
        let (n, dim) = (70_000, 8);
        let mut v = clustered(n, dim, 40, 0.05, 17);
        let five = v[5 * dim..6 * dim].to_vec();
        for r in (100..n).step_by(997) {
            v[r * dim..(r + 1) * dim].copy_from_slice(&five);
        }
        for r in (50..n).step_by(1301) {
            v[r * dim..(r + 1) * dim].fill(0.0);
        }
        let mut half = Vec::new();
        crate::store::narrow_into(&v, &mut half);
        // Widened rows are scaled back to unit length.
        let mut rounded: Vec<f32> = half.iter().map(|x| x.to_f32()).collect();
        crate::linalg::normalize_rows(&mut rounded, dim);
        assert!(rounded != v, "rounding changed some values");
        let groups = groups_of(n);
        for keep_pairs in [false, true] {
            let params = DedupParams {
                threshold: 0.95,
                keep_pairs,
                ..Default::default()
            };
            assert_eq!(params.blockwise(), !keep_pairs);
            let want = dedup_self(&groups, rounded.clone().into(), dim, &params, &Silent).unwrap();
            let got =
                dedup_self(&groups, Vectors::Half(half.clone()), dim, &params, &Silent).unwrap();
            assert!(want.removed() > 1000, "{} removed", want.removed());
            assert_eq!(got.decisions, want.decisions, "keep_pairs {keep_pairs}");
            if !keep_pairs {
                assert_eq!(got.index["precision"], "f16");
                assert_eq!(want.index["precision"], "f32");
            }
        }
    }

    #[test]
    fn least_similar_lists_removed_rows_lowest_score_first() {
        let dim = 16;
        let v = clustered(300, dim, 10, 0.2, 5);
        let groups = groups_of(300);
        let params = DedupParams {
            threshold: 0.8,
            index: IndexKind::Exact,
            ..Default::default()
        };
        let d = dedup_self(&groups, v.into(), dim, &params, &Silent).unwrap();
        let least = d.least_similar(usize::MAX);
        assert_eq!(least.len() as u64, d.removed());
        assert!(least.windows(2).all(|w| w[0].score <= w[1].score));
        assert!(least
            .iter()
            .all(|r| r.score >= 0.8 && r.duplicate_of < r.row));
        assert_eq!(d.kept_rows().len() as u64, d.kept());
    }

    #[test]
    fn wrong_vector_counts_are_errors() {
        let groups = groups_of(3);
        let err = dedup_self(
            &groups,
            vec![0.0; 8].into(),
            4,
            &Default::default(),
            &Silent,
        )
        .unwrap_err();
        assert!(err.to_string().contains("3 unique rows"), "{err}");
    }
}
