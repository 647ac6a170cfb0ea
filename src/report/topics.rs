//! Per-topic figures computed from the assignment: members, examples, near duplicates.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::cluster::lloyd::members_by_cluster;
use crate::embed::Device;
use crate::index::{DeviceIndex, DeviceParams, ExactIndex, IndexError, VectorIndex};
use crate::progress::{Progress, Silent};

/// Each topic's rows, in row order.
pub fn members(labels: &[u32], k: usize) -> Vec<Vec<u32>> {
    let m = members_by_cluster(labels, k);
    (0..k)
        .map(|c| m.order[m.offsets[c]..m.offsets[c + 1]].to_vec())
        .collect()
}

/// The `n` rows of each topic most similar to its centroid, most similar first (ties by
/// row id).
pub fn nearest_to_centroid(members: &[Vec<u32>], similarity: &[f32], n: usize) -> Vec<Vec<u32>> {
    members
        .par_iter()
        .map(|rows| {
            let order = |a: &u32, b: &u32| {
                similarity[*b as usize]
                    .total_cmp(&similarity[*a as usize])
                    .then(a.cmp(b))
            };
            let mut best = rows.clone();
            if best.len() > n && n > 0 {
                best.select_nth_unstable_by(n - 1, order);
            }
            best.truncate(n);
            best.sort_by(order);
            best
        })
        .collect()
}

/// Rows of a topic scored at once as queries.
const QUERY_BLOCK: usize = 1024;

/// Marks every row that has an earlier row (lower id) of the same set in the same topic
/// with cosine at least `threshold`: the rows SemDeDup would drop, searched exactly
/// within each topic (pairs split across two topics are not seen).
///
/// `vectors` are the rows (row-major, `dim` wide, unit length); `set[i]` says which
/// dataset row `i` comes from (rows of different sets are never duplicates of each
/// other here). Each topic is scanned with [`ExactIndex`]'s blocked matrix products,
/// each query block only against the rows up to its own end (the lower triangle),
/// keeping one flag per row (no neighbour lists), so memory stays flat even when a topic
/// is one big group of near-identical rows. Progress stage `near-duplicates`, in rows.
pub fn near_duplicates(
    vectors: &[f32],
    dim: usize,
    set: &[u8],
    members: &[Vec<u32>],
    threshold: f32,
    progress: &dyn Progress,
) -> Result<Vec<bool>, IndexError> {
    let n = vectors.len() / dim;
    let mut flagged = vec![false; n];
    progress.begin("near-duplicates", Some(n as u64));
    for rows in members {
        if rows.len() >= 2 {
            let found = flag_topic(vectors, dim, set, rows, threshold, progress)?;
            for (&r, f) in rows.iter().zip(found) {
                flagged[r as usize] = f;
            }
        }
        progress.advance(rows.len() as u64);
    }
    progress.end();
    Ok(flagged)
}

/// [`near_duplicates`] with the products on a device ([`DeviceIndex`], in
/// `device.1`'s precision, hits rescored in `f32` on the host): each topic's rows of
/// each set are searched against each other, and a row is flagged when its lowest-id
/// hit is an earlier row. Flags match the CPU scan's up to the rounding of pairs within
/// `f32` error of the threshold.
pub fn near_duplicates_on(
    vectors: &[f32],
    dim: usize,
    set: &[u8],
    members: &[Vec<u32>],
    threshold: f32,
    device: (Device, DeviceParams),
    progress: &dyn Progress,
) -> Result<Vec<bool>, IndexError> {
    let (on, params) = device;
    let candle = on
        .to_candle()
        .map_err(|e| IndexError::Compute(e.to_string()))?;
    let n = vectors.len() / dim;
    let mut flagged = vec![false; n];
    progress.begin("near-duplicates", Some(n as u64));
    for rows in members {
        let sets: BTreeSet<u8> = rows.iter().map(|&r| set[r as usize]).collect();
        for s in sets {
            let rows: Vec<u32> = rows
                .iter()
                .copied()
                .filter(|&r| set[r as usize] == s)
                .collect();
            if rows.len() < 2 {
                continue;
            }
            let mut v = Vec::with_capacity(rows.len() * dim);
            for &r in &rows {
                v.extend_from_slice(&vectors[r as usize * dim..][..dim]);
            }
            let index = DeviceIndex::new(&v, dim, &candle, on.to_string(), params)?.earlier_only();
            // The lowest-id hit: an earlier row when there is one.
            let found = index.above_at_most(&v, threshold, 1, &Silent)?;
            for (i, &r) in rows.iter().enumerate() {
                flagged[r as usize] = found.get(i).0.first().is_some_and(|&j| (j as usize) < i);
            }
        }
        if progress.cancelled() {
            return Err(IndexError::Cancelled);
        }
        progress.advance(rows.len() as u64);
    }
    progress.end();
    Ok(flagged)
}

/// [`near_duplicates`] for one topic's rows (in row order); flags in the same order.
fn flag_topic(
    vectors: &[f32],
    dim: usize,
    set: &[u8],
    rows: &[u32],
    threshold: f32,
    progress: &dyn Progress,
) -> Result<Vec<bool>, IndexError> {
    let m = rows.len();
    let mut v = Vec::with_capacity(m * dim);
    for &r in rows {
        v.extend_from_slice(&vectors[r as usize * dim..][..dim]);
    }
    let index = ExactIndex::new(&v, dim)?;
    let sets: Vec<u8> = rows.iter().map(|&r| set[r as usize]).collect();
    let mut flags = vec![false; m];
    for q0 in (0..m).step_by(QUERY_BLOCK) {
        if progress.cancelled() {
            return Err(IndexError::Cancelled);
        }
        let q1 = (q0 + QUERY_BLOCK).min(m);
        let block = &mut flags[q0..q1];
        index.scan(&v[q0 * dim..q1 * dim], q1, |scores, b0, width| {
            block
                .par_iter_mut()
                .zip(scores.par_chunks_exact(width))
                .enumerate()
                .for_each(|(i, (flag, line))| {
                    let q = q0 + i;
                    if *flag {
                        return;
                    }
                    let earlier = q.min(b0 + width).saturating_sub(b0);
                    *flag = line[..earlier]
                        .iter()
                        .enumerate()
                        .any(|(j, &s)| s >= threshold && sets[b0 + j] == sets[q]);
                });
        })?;
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::dot;
    use crate::progress::Silent;

    #[test]
    fn members_and_examples() {
        let labels = [1, 0, 1, 1];
        let m = members(&labels, 3);
        assert_eq!(m, vec![vec![1], vec![0, 2, 3], vec![]]);
        let sims = [0.5, 0.9, 0.7, 0.7];
        let ex = nearest_to_centroid(&m, &sims, 2);
        assert_eq!(ex, vec![vec![1], vec![2, 3], vec![]]);
    }

    #[test]
    fn near_duplicates_match_a_quadratic_scan_within_topics() {
        let dim = 16;
        let v = crate::cluster::synthetic(400, dim, 5, 0.15, 4);
        let labels: Vec<u32> = (0..400).map(|i| ((i / 5) % 7) as u32).collect();
        let m = members(&labels, 7);
        let t = 0.95;
        let set: Vec<u8> = (0..400).map(|i| (i % 11 == 0) as u8).collect();
        let got = near_duplicates(&v, dim, &set, &m, t, &Silent).unwrap();
        let row = |i: usize| &v[i * dim..(i + 1) * dim];
        let mut flagged = 0;
        for i in 0..400 {
            let same = |j: usize| labels[j] == labels[i] && set[j] == set[i];
            let want = (0..i).any(|j| same(j) && dot(row(i), row(j)) >= t + 1e-5);
            let maybe = (0..i).any(|j| same(j) && dot(row(i), row(j)) >= t - 1e-5);
            assert!(!want || got[i], "row {i} missed");
            assert!(maybe || !got[i], "row {i} wrongly flagged");
            flagged += got[i] as usize;
        }
        assert!(flagged > 50 && flagged < 350, "{flagged}");
    }

    #[test]
    fn near_duplicates_are_exact_across_block_boundaries() {
        // Two topics of 8,500 rows: several query blocks, and more than one of
        // ExactIndex's 8,192-row base blocks, each.
        let (n, dim) = (17_000, 8);
        assert!(n / 2 > 8192);
        let v = crate::cluster::synthetic(n, dim, 3, 0.2, 8);
        let labels: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let set: Vec<u8> = (0..n).map(|i| (i % 7 == 0) as u8).collect();
        let m = members(&labels, 2);
        let t = 0.97;
        let got = near_duplicates(&v, dim, &set, &m, t, &Silent).unwrap();
        let row = |i: usize| &v[i * dim..(i + 1) * dim];
        let mut flagged = 0;
        for i in 0..n {
            let same = |j: usize| labels[j] == labels[i] && set[j] == set[i];
            let best = (0..i)
                .filter(|&j| same(j))
                .map(|j| dot(row(i), row(j)))
                .fold(f32::MIN, f32::max);
            if (best - t).abs() > 1e-5 {
                assert_eq!(got[i], best >= t, "row {i}: best earlier cosine {best}");
            }
            flagged += got[i] as usize;
        }
        assert!(flagged > 500 && flagged < n - 500, "{flagged}");
    }
}
