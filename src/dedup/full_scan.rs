//! Checking rows against every kept row, many rows per pass over the kept vectors.
//!
//! Selection compares a row whose neighbour list was cut at the index's hit limit, and
//! that found no kept match in it, with every row kept before it. One such scan reads
//! every kept vector, so at a million rows with thousands of cut rows the scans alone
//! cost minutes, and nearly all of them find nothing. [`first_match`] scans a batch of
//! such rows together: kept vectors are gathered a block at a time and scored against
//! the whole batch with one matrix product, so each pass over memory serves the batch.

use rayon::prelude::*;

use super::pairs::RESCORE_MARGIN;
use super::select::Canonical;
use super::VectorRows;
use crate::linalg::{dot, scores_into};

/// Kept vectors gathered and scored per block.
const BLOCK: usize = 2048;

/// For `rows` (ascending), each checked against the rows of `kept` (ascending) that come
/// before it: the first row with a kept row at least `threshold` similar, and its match
/// (the most similar, ties: the earliest; the score exact, by [`dot`]). `None` if no row
/// has one. Candidates come from a matrix product down to `threshold − RESCORE_MARGIN`
/// and are rescored with [`dot`], so the answer is the one a row-by-row scan gives.
pub fn first_match(
    rows: &[usize],
    kept: &[u32],
    vectors: VectorRows<'_>,
    threshold: f32,
) -> Option<(usize, Canonical)> {
    let dim = vectors.dim();
    if rows.is_empty() || kept.is_empty() {
        return None;
    }
    let last = *rows.last().expect("not empty");
    let kept = &kept[..kept.partition_point(|&k| (k as usize) < last)];
    let mut queries = Vec::with_capacity(rows.len() * dim);
    for &r in rows {
        queries.extend_from_slice(vectors.row(r));
    }
    let floor = threshold - RESCORE_MARGIN;
    // Per block: (position in `rows`, kept id) pairs scoring at least `floor`.
    let candidates: Vec<(usize, u32)> = kept
        .par_chunks(BLOCK)
        .flat_map_iter(|block| {
            let mut gathered = Vec::with_capacity(block.len() * dim);
            for &k in block {
                gathered.extend_from_slice(vectors.row(k as usize));
            }
            let mut scores = vec![0f32; rows.len() * block.len()];
            scores_into(&queries, &gathered, dim, &mut scores);
            let mut found = Vec::new();
            for (q, line) in scores.chunks_exact(block.len()).enumerate() {
                for (&s, &k) in line.iter().zip(block) {
                    if s >= floor && (k as usize) < rows[q] {
                        found.push((q, k));
                    }
                }
            }
            found
        })
        .collect();
    let mut best: Option<(usize, Canonical)> = None;
    for (q, k) in candidates {
        if best.is_some_and(|(bq, _)| bq < q) {
            continue;
        }
        let score = dot(vectors.row(k as usize), vectors.row(rows[q]));
        if score < threshold {
            continue;
        }
        let better = match best {
            None => true,
            Some((bq, b)) => q < bq || score > b.score || (score == b.score && k < b.of),
        };
        if better {
            best = Some((q, Canonical { of: k, score }));
        }
    }
    best.map(|(q, c)| (rows[q], c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testutil::clustered;

    /// The row-by-row answer: each row's most similar earlier kept row.
    fn one_by_one(
        rows: &[usize],
        kept: &[u32],
        v: VectorRows<'_>,
        t: f32,
    ) -> Option<(usize, Canonical)> {
        rows.iter().find_map(|&r| {
            kept.iter()
                .filter(|&&k| (k as usize) < r)
                .map(|&k| Canonical {
                    of: k,
                    score: dot(v.row(k as usize), v.row(r)),
                })
                .filter(|c| c.score >= t)
                .reduce(|a, b| {
                    if b.score > a.score || (b.score == a.score && b.of < a.of) {
                        b
                    } else {
                        a
                    }
                })
                .map(|c| (r, c))
        })
    }

    #[test]
    fn batch_gives_the_row_by_row_answer() {
        let dim = 24;
        let data = clustered(6000, dim, 30, 0.4, 3);
        let v = VectorRows::new(&data, dim);
        let kept: Vec<u32> = (0..6000u32).filter(|k| k % 7 == 0).collect();
        for t in [0.8, 0.9, 0.97, 0.999] {
            for rows in [
                (1..6000).step_by(97).collect::<Vec<_>>(),
                (3000..6000).step_by(11).filter(|r| r % 7 != 0).collect(),
                vec![5999],
                vec![1],
            ] {
                assert_eq!(
                    first_match(&rows, &kept, v, t),
                    one_by_one(&rows, &kept, v, t),
                    "t {t}, rows {:?}..",
                    &rows[..rows.len().min(3)]
                );
            }
        }
        assert!(
            first_match(&[10, 20], &kept, v, 0.8).is_some(),
            "the data has matches"
        );
        assert_eq!(first_match(&[], &kept, v, 0.5), None);
        assert_eq!(
            first_match(&[0], &kept, v, 0.5),
            None,
            "nothing before row 0"
        );
    }
}
