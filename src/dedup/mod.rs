//! Deduplication: which rows to drop, and which kept row each one duplicates.
//!
//! The steps, in the order [`crate::pipeline`] runs them:
//!
//! 1. [`exact`]: rows are grouped by a hash of their chosen columns; only the first row of
//!    each group (a *unique* row) is embedded and searched.
//! 2. [`pairs`]: an index search over the unique rows gives every similar pair, rescored
//!    exactly ([`crate::linalg::dot`]).
//! 3. [`select()`]: SemHash's greedy selection in input order decides which unique rows are
//!    kept; [`decide_self`] spreads that to every input row.
//! 4. With a reference set ([`cross`]), a row is removed when the reference holds an exact
//!    copy or a row at least `threshold` similar; [`decide_cross`].
//!
//! [`job`] runs these steps as one call over vectors in memory: [`dedup_self`] and
//! [`dedup_against`], returning a [`Deduplication`]. With the default index and nothing
//! asking for the pairs, [`dedup_self`] runs steps 2 and 3 as one: [`blockwise`] decides
//! rows block by block against the rows kept so far, without listing pairs.
//!
//! [`cells`] holds the same steps cut into pieces that run on different machines
//! (`semsift.ray`): one cell's or tile's pairs, and the selection over all of them.

pub mod blockwise;
pub mod cells;
pub mod cross;
pub mod exact;
mod full_scan;
pub mod identical;
pub mod job;
pub mod pairs;
mod rows;
pub mod select;
pub mod summary;

pub use cells::{cell_matches, cell_pairs, select_pairs, RowMatch, RowPairs};
pub use cross::{best_matches, RefMatch};
pub use exact::{row_key, ExactGroups};
pub use identical::IdenticalVectors;
pub use job::{
    check_threshold, dedup_against, dedup_against_index, dedup_self, DedupParams, Deduplication,
    RemovedRow, SweepPoint, TargetOutcome, AGAINST_PROBES, DEVICE_PROBES,
};
pub use pairs::{EarlierPairs, RESCORE_MARGIN};
pub use rows::VectorRows;
pub use select::{highest_threshold_keeping, kept_count, select, Canonical};
pub use summary::{
    DedupSummary, LeastSimilar, ModelInfo, QuotedRows, QuotedTexts, RowCounts, LEAST_SIMILAR,
};

/// What happens to one input row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// The row stays.
    Keep,
    /// The row is dropped as a duplicate.
    Remove {
        /// The input row (or, against a reference, the reference row) it duplicates.
        duplicate_of: u64,
        /// Cosine similarity to that row (1.0 for exact copies).
        score: f32,
        /// Whether it is a byte-for-byte copy of that row's chosen columns.
        exact: bool,
    },
}

impl Decision {
    /// Whether the row stays.
    pub fn is_kept(&self) -> bool {
        matches!(self, Decision::Keep)
    }
}

/// Decisions for every input row of a self-deduplication, SemHash-style: the first row of
/// a kept group is kept and its exact copies point to it (`exact`, score 1.0); every row
/// of a removed group, copies included, points to the group's canonical kept row with
/// their similarity.
pub fn decide_self(groups: &ExactGroups, canon: &[Canonical]) -> Vec<Decision> {
    let first = groups.first_row();
    groups
        .group_of_row()
        .iter()
        .enumerate()
        .map(|(row, &g)| {
            let c = canon[g as usize];
            if c.is_kept(g as usize) {
                if first[g as usize] == row as u64 {
                    Decision::Keep
                } else {
                    Decision::Remove {
                        duplicate_of: first[g as usize],
                        score: 1.0,
                        exact: true,
                    }
                }
            } else {
                Decision::Remove {
                    duplicate_of: first[c.of as usize],
                    score: c.score,
                    exact: false,
                }
            }
        })
        .collect()
}

/// Decisions for every input row against a reference set: a row whose unique group's
/// best reference match reaches `threshold` (exact copies always do) is removed and
/// points to that reference row (`ref_first_row` maps reference unique rows to their row
/// numbers). Rows are not compared with each other.
pub fn decide_cross(
    groups: &ExactGroups,
    matches: &[Option<RefMatch>],
    ref_first_row: &[u64],
    threshold: f32,
) -> Vec<Decision> {
    groups
        .group_of_row()
        .iter()
        .map(|&g| match matches[g as usize] {
            Some(m) if m.exact || m.score >= threshold => Decision::Remove {
                duplicate_of: ref_first_row[m.of as usize],
                score: if m.exact { 1.0 } else { m.score },
                exact: m.exact,
            },
            _ => Decision::Keep,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_of_kept_rows_are_exact_and_copies_of_removed_rows_follow_the_canonical() {
        // Rows: 0 "a", 1 "b" (similar to a), 2 "a", 3 "b", 4 "c".
        let mut g = ExactGroups::new();
        for t in ["a", "b", "a", "b", "c"] {
            g.push(row_key(&[t]));
        }
        let canon = [
            Canonical { of: 0, score: 1.0 },
            Canonical { of: 0, score: 0.93 },
            Canonical { of: 2, score: 1.0 },
        ];
        let d = decide_self(&g, &canon);
        let rm = |duplicate_of, score, exact| Decision::Remove {
            duplicate_of,
            score,
            exact,
        };
        assert_eq!(
            d,
            vec![
                Decision::Keep,
                rm(0, 0.93, false),
                rm(0, 1.0, true),
                rm(0, 0.93, false),
                Decision::Keep
            ]
        );
    }

    #[test]
    fn cross_decisions_use_reference_row_numbers() {
        let mut g = ExactGroups::new();
        for t in ["x", "y", "x", "z"] {
            g.push(row_key(&[t]));
        }
        let m = [
            Some(RefMatch {
                of: 1,
                score: 1.0,
                exact: true,
            }),
            Some(RefMatch {
                of: 0,
                score: 0.85,
                exact: false,
            }),
            None,
        ];
        let d = decide_cross(&g, &m, &[10, 20], 0.9);
        assert_eq!(
            d,
            vec![
                Decision::Remove {
                    duplicate_of: 20,
                    score: 1.0,
                    exact: true
                },
                Decision::Keep,
                Decision::Remove {
                    duplicate_of: 20,
                    score: 1.0,
                    exact: true
                },
                Decision::Keep
            ]
        );
        assert!(!decide_cross(&g, &m, &[10, 20], 0.8)[1].is_kept());
    }
}
