//! Comparing two distributions over the same topics: divergences, coverage, diversity.
//!
//! Shares are fractions summing to 1. Logs are base 2 (bits).

use super::model::Gap;

/// Pseudo-rows added to every topic of each set before ratios and the KL divergence
/// (add-½, the Krichevsky–Trofimov estimator), so a topic a set lacks has a small
/// positive share instead of zero.
pub const SMOOTHING: f64 = 0.5;

/// A topic counts as covered when the input has at least this fraction of the
/// reference's share in it.
pub const COVERED: f64 = 0.5;

/// Topics whose smoothed ratio input/reference lies within `[LISTED, 1 / LISTED]` differ by
/// less than sampling noise usually makes, and are in neither gap list.
pub const LISTED: f64 = 0.9;

/// `counts` scaled to sum to 1 (all zeros stay zeros).
pub fn shares(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| if total > 0.0 { c / total } else { 0.0 })
        .collect()
}

/// Shares after adding [`SMOOTHING`] pseudo-rows to each topic.
pub fn smoothed(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum::<f64>() + SMOOTHING * counts.len() as f64;
    counts.iter().map(|&c| (c + SMOOTHING) / total).collect()
}

/// Shannon entropy in bits.
pub fn entropy_bits(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| x * x.log2())
        .sum::<f64>()
}

/// KL(p ‖ q) in bits; `q` must be positive wherever `p` is.
pub fn kl_bits(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .filter(|(&a, _)| a > 0.0)
        .map(|(&a, &b)| a * (a / b).log2())
        .sum()
}

/// Jensen–Shannon divergence in bits, in `[0, 1]`.
pub fn js_bits(p: &[f64], q: &[f64]) -> f64 {
    let m: Vec<f64> = p.iter().zip(q).map(|(a, b)| (a + b) / 2.0).collect();
    ((kl_bits(p, &m) + kl_bits(q, &m)) / 2.0).clamp(0.0, 1.0)
}

/// Share of the reference (`q`) lying in topics where the input (`p`) has at least
/// [`COVERED`] times the reference's share.
pub fn coverage(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .filter(|(&a, &b)| b > 0.0 && a >= COVERED * b)
        .map(|(_, &b)| b)
        .sum()
}

/// The missing (under-represented) and over-represented topics, worst first.
///
/// `parent[t]` is topic `t`'s coarse topic, copied into its [`Gap`].
///
/// `input` and `reference` are row counts per topic. Every topic whose smoothed ratio
/// input/reference is below [`LISTED`] is in the first list, ranked by `q·log2(q/p)` (its
/// term of KL(reference ‖ input)): topics the input lacks entirely come first, slight
/// shortfalls last. Every topic with a ratio above `1 / LISTED` is in the second, ranked
/// by `p·log2(p/q)`.
/// [`Gap::covered`] says whether a topic reaches [`COVERED`].
pub fn gaps(input: &[f64], reference: &[f64], parent: &[usize]) -> (Vec<Gap>, Vec<Gap>) {
    let (p, q) = (shares(input), shares(reference));
    let (ps, qs) = (smoothed(input), smoothed(reference));
    let gap = |t: usize, contribution: f64| Gap {
        topic: t,
        parent: parent[t],
        input_share: p[t],
        reference_share: q[t],
        ratio: ps[t] / qs[t],
        contribution_bits: contribution,
        covered: ps[t] / qs[t] >= COVERED,
    };
    let mut missing = Vec::new();
    let mut over = Vec::new();
    for t in 0..p.len() {
        let ratio = ps[t] / qs[t];
        if ratio < LISTED {
            missing.push(gap(t, qs[t] * (qs[t] / ps[t]).log2()));
        } else if ratio > 1.0 / LISTED {
            over.push(gap(t, ps[t] * (ps[t] / qs[t]).log2()));
        }
    }
    let worst_first = |a: &Gap, b: &Gap| {
        b.contribution_bits
            .total_cmp(&a.contribution_bits)
            .then(a.topic.cmp(&b.topic))
    };
    missing.sort_by(worst_first);
    over.sort_by(worst_first);
    (missing, over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_effective_topics() {
        assert!((entropy_bits(&[0.25; 4]) - 2.0).abs() < 1e-12);
        assert_eq!(entropy_bits(&[1.0, 0.0]), 0.0);
    }

    #[test]
    fn divergences_are_zero_for_equal_and_bounded_for_disjoint() {
        let p = [0.5, 0.5, 0.0, 0.0];
        let q = [0.0, 0.0, 0.5, 0.5];
        assert!(js_bits(&p, &p).abs() < 1e-12);
        assert!((js_bits(&p, &q) - 1.0).abs() < 1e-12);
        assert!(
            (kl_bits(&[0.5, 0.5], &[0.25, 0.75])
                - (0.5 * 1f64.log2() + 0.5 * (2.0f64 / 3.0).log2() + 0.5))
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn coverage_counts_reference_mass_in_covered_topics() {
        // Topic 0: input has 0.1 vs 0.4 (< half): not covered. Topic 1: 0.3 vs 0.4: covered.
        let p = [0.1, 0.3, 0.6];
        let q = [0.4, 0.4, 0.2];
        assert!((coverage(&p, &q) - 0.6).abs() < 1e-12);
    }

    #[test]
    fn gaps_rank_absent_topics_first() {
        let input = [0.0, 50.0, 50.0, 100.0, 2.0];
        let reference = [60.0, 50.0, 50.0, 20.0, 20.0];
        let (missing, over) = gaps(&input, &reference, &[0, 0, 1, 1, 2]);
        assert_eq!(missing[1].parent, 2);
        let ids: Vec<usize> = missing.iter().map(|g| g.topic).collect();
        // Topics 1 and 2 have equal shares and are in neither list.
        assert_eq!(ids, vec![0, 4]);
        assert!(!missing[0].covered && !missing[1].covered);
        assert_eq!(over.len(), 1);
        assert_eq!(over[0].topic, 3);
        assert!(over[0].covered);
        assert!(missing[0].ratio < 0.02 && over[0].ratio > 3.0);
        assert_eq!(missing[0].input_share, 0.0);
        let (missing, _) = gaps(&[50.0, 35.0], &[50.0, 50.0], &[0, 1]);
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].covered,
            "ratio 0.82 is under-represented but covered"
        );
    }
}
