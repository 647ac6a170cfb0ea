//! Cross-set matches: the most similar reference row of each query row.

use rayon::prelude::*;

use crate::index::Neighbors;
use crate::linalg::dot;

/// A query row's best match in the reference set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefMatch {
    /// The reference unique row.
    pub of: u32,
    /// Exact similarity ([`dot`]).
    pub score: f32,
    /// Whether the texts are equal (not only the vectors).
    pub exact: bool,
}

/// For each query, the candidate from `found` (an index over `refs` searched with
/// `queries`) that is most similar after exact rescoring, if it reaches `floor`
/// (ties: the earliest reference row).
pub fn best_matches(
    found: &Neighbors,
    queries: &[f32],
    refs: &[f32],
    dim: usize,
    floor: f32,
) -> Vec<Option<RefMatch>> {
    (0..found.len())
        .into_par_iter()
        .map(|i| {
            let q = &queries[i * dim..(i + 1) * dim];
            let (ids, _) = found.get(i);
            ids.iter()
                .map(|&j| (j, dot(&refs[j as usize * dim..(j as usize + 1) * dim], q)))
                .filter(|&(_, s)| s >= floor)
                .fold(None::<RefMatch>, |best, (j, s)| match best {
                    Some(b) if b.score > s || (b.score == s && b.of < j) => Some(b),
                    _ => Some(RefMatch {
                        of: j,
                        score: s,
                        exact: false,
                    }),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{testutil::clustered, ExactIndex, VectorIndex};
    use crate::progress::Silent;

    #[test]
    fn picks_the_most_similar_reference_row() {
        let dim = 16;
        let v = clustered(400, dim, 4, 0.3, 9);
        // Even rows are the reference, odd rows the queries: they share clusters.
        let (mut refs, mut queries) = (Vec::new(), Vec::new());
        for (i, r) in v.chunks_exact(dim).enumerate() {
            if i % 2 == 0 {
                refs.extend_from_slice(r)
            } else {
                queries.extend_from_slice(r)
            }
        }
        let (refs, queries) = (&refs[..], &queries[..]);
        let found = ExactIndex::new(refs, dim)
            .unwrap()
            .above(queries, 0.7, &Silent)
            .unwrap();
        let got = best_matches(&found, queries, refs, dim, 0.75);
        for (i, m) in got.iter().enumerate() {
            let q = &queries[i * dim..(i + 1) * dim];
            let (j, s) = (0..200)
                .map(|j| (j, dot(&refs[j * dim..(j + 1) * dim], q)))
                .fold((0, f32::MIN), |b, x| if x.1 > b.1 { x } else { b });
            match m {
                Some(m) => assert_eq!((m.of as usize, m.score), (j, s)),
                None => assert!(s < 0.75),
            }
        }
        assert!(got.iter().filter(|m| m.is_some()).count() > 20);
    }
}
