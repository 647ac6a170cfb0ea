//! Per-topic figures computed from the assignment: members, examples, near duplicates.

use rayon::prelude::*;

use crate::cluster::lloyd::members_by_cluster;
use crate::index::{ExactIndex, IndexError, VectorIndex};
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

/// Marks every row that has an earlier row (lower id) of the same set in the same topic
/// with cosine at least `threshold`: the rows SemDeDup would drop, searched exactly
/// within each topic (pairs split across two topics are not seen).
///
/// `vectors` are the rows (row-major, `dim` wide, unit length); `set[i]` says which
/// dataset row `i` comes from (rows of different sets are never duplicates of each
/// other here). Progress stage `near-duplicates`, in rows.
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
        if progress.cancelled() {
            return Err(IndexError::Cancelled);
        }
        if rows.len() < 2 {
            progress.advance(rows.len() as u64);
            continue;
        }
        let mut v = Vec::with_capacity(rows.len() * dim);
        for &r in rows {
            v.extend_from_slice(&vectors[r as usize * dim..][..dim]);
        }
        let index = ExactIndex::new(&v, dim)?;
        let found = index.above(&v, threshold, &Silent)?;
        for (local, &r) in rows.iter().enumerate() {
            let (ids, _) = found.get(local);
            // Members are in row order, so an earlier row has a lower local id.
            flagged[r as usize] = ids.iter().any(|&j| {
                (j as usize) < local && set[rows[j as usize] as usize] == set[r as usize]
            });
        }
        progress.advance(rows.len() as u64);
    }
    progress.end();
    Ok(flagged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::dot;

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
}
