//! The report's map: the rows (or a seeded sample of large sets) laid out in two
//! dimensions by [`layout_2d`], each with what the page shows on hover: text, row,
//! topics at both levels, duplicate and outlier flags. How well the layout keeps
//! neighbours is measured beside PCA on the same rows ([`MapQuality`]).

use super::layout::{layout_2d, LayoutParams};
use super::model::{Map, MapPoint, MapQuality};
use super::points::Points;
use super::preservation::{neighbourhood_preservation, trustworthiness};
use super::projection::pca_2d;
use crate::embed::truncate_chars;
use crate::linalg::Rng;
use crate::progress::Progress;
use crate::Error;

/// Characters of a row's text kept for the page.
pub const MAP_TEXT: usize = 240;
/// Neighbours compared by [`MapQuality`].
const QUALITY_K: usize = 10;
/// Rows whose neighbours [`MapQuality`] compares.
const QUALITY_SAMPLE: usize = 500;
/// Rows needed before the quality figures mean anything.
const QUALITY_MIN: usize = 50;
/// Share of each set's rows, least similar to their topic's centroid, flagged outliers.
pub const OUTLIER_SHARE: f64 = 0.02;

/// What the map needs about every point besides its vector.
pub(super) struct PointFacts<'a> {
    /// Coarse topic of each point.
    pub coarse: &'a [u32],
    /// Fine topic of each point.
    pub fine: &'a [u32],
    /// Cosine of each point to its coarse topic's centroid.
    pub similarity: &'a [f32],
    /// Whether each point has a near duplicate earlier in its set and topic.
    pub flagged: &'a [bool],
}

/// Lays out up to `max_points` of `points` (all of them when there are no more; else a
/// sample drawn with `seed`) and describes each.
pub(super) fn build_map(
    points: &Points,
    dim: usize,
    facts: &PointFacts,
    max_points: usize,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Map, Error> {
    let n = points.len();
    let mut ids = Rng::new(seed ^ 0x006d_6170).sample(n, n.min(max_points));
    ids.sort_unstable();
    let mut v = Vec::with_capacity(ids.len() * dim);
    for &p in &ids {
        v.extend_from_slice(&points.vectors[p * dim..][..dim]);
    }
    let params = LayoutParams {
        seed,
        ..LayoutParams::default()
    };
    let layout = layout_2d(&v, dim, &params, progress)?;
    let quality = (ids.len() >= QUALITY_MIN).then(|| {
        let pca = pca_2d(&v, dim).points;
        let measure = |xy: &[[f32; 2]]| {
            (
                neighbourhood_preservation(&v, dim, xy, QUALITY_K, QUALITY_SAMPLE, seed),
                trustworthiness(&v, dim, xy, QUALITY_K, QUALITY_SAMPLE, seed),
            )
        };
        let (preservation, trust) = measure(&layout.points);
        let (pca_preservation, pca_trust) = measure(&pca);
        MapQuality {
            k: QUALITY_K,
            sample: QUALITY_SAMPLE.min(ids.len()),
            preservation: super::round6(preservation),
            pca_preservation: super::round6(pca_preservation),
            trustworthiness: super::round6(trust),
            pca_trustworthiness: super::round6(pca_trust),
        }
    });
    let outlier_below = outlier_thresholds(points, facts.similarity);
    let map_points = ids
        .iter()
        .zip(&layout.points)
        .map(|(&p, xy)| {
            let (s, u) = points.origin[p];
            let set = points.sets[s as usize];
            let copies = points.count(p as u32);
            MapPoint {
                x: xy[0],
                y: xy[1],
                topic: facts.coarse[p] as usize,
                fine_topic: facts.fine[p] as usize,
                reference: s == 1,
                row: set.file_row(set.rows.groups.first_row()[u as usize]),
                copies,
                near_duplicate: facts.flagged[p] || copies > 1,
                outlier: facts.similarity[p] < outlier_below[s as usize],
                text: cut(&points.text(p as u32, "\n"), MAP_TEXT),
            }
        })
        .collect();
    Ok(Map {
        method: layout.method,
        sample: if ids.len() == n {
            format!("all {n} distinct non-empty rows")
        } else {
            format!(
                "{} of {n} distinct non-empty rows, drawn at random (seed {seed}; --map-points)",
                ids.len()
            )
        },
        quality,
        points: map_points,
    })
}

/// Per set, the similarity below which a point is an outlier: the [`OUTLIER_SHARE`]
/// quantile of its points' similarities to their centroids (a point at it is not one).
fn outlier_thresholds(points: &Points, similarity: &[f32]) -> Vec<f32> {
    (0..points.sets.len())
        .map(|s| {
            let mut sims: Vec<f32> = points
                .origin
                .iter()
                .zip(similarity)
                .filter(|((set, _), _)| *set as usize == s)
                .map(|(_, &x)| x)
                .collect();
            let cut = (sims.len() as f64 * OUTLIER_SHARE).floor() as usize;
            if cut == 0 {
                return f32::NEG_INFINITY;
            }
            let (_, &mut nth, _) = sims.select_nth_unstable_by(cut, f32::total_cmp);
            nth
        })
        .collect()
}

/// `text` cut to `max` characters, with "…" when cut.
pub(super) fn cut(text: &str, max: usize) -> String {
    let kept = truncate_chars(text, max);
    if kept.len() < text.len() {
        format!("{kept}…")
    } else {
        text.to_string()
    }
}
