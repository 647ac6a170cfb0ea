//! Counting lines and affixes: once per row, over the sample and exactly over all rows.

use std::collections::HashMap;

use rayon::prelude::*;

use super::*;

/// Counts the distinct non-blank lines of the sampled rows, once per row.
pub(super) fn count_sample_lines<'a, F>(sample: &[usize], text: &F) -> HashMap<&'a str, u32>
where
    F: Fn(usize) -> &'a str + Sync,
{
    sample
        .par_iter()
        .fold(
            || (HashMap::new(), Vec::new()),
            |(mut counts, mut row): (HashMap<&'a str, u32>, Vec<&'a str>), &i| {
                row.clear();
                row.extend(
                    text(i)
                        .split('\n')
                        .map(strip_cr)
                        .filter(|l| !l.trim().is_empty()),
                );
                if row.len() < 2 {
                    // A one-line row is a value, not a template around one.
                    row.clear();
                    return (counts, row);
                }
                row.sort_unstable();
                row.dedup();
                for line in row.drain(..) {
                    *counts.entry(line).or_insert(0) += 1;
                }
                (counts, row)
            },
        )
        .map(|(counts, _)| counts)
        .reduce(HashMap::new, |a, b| {
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (line, count) in small {
                *big.entry(line).or_insert(0) += count;
            }
            big
        })
}

/// Whether `text` has at least two non-blank lines (only such rows have common lines).
pub(super) fn multi_line(text: &str) -> bool {
    text.split('\n')
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .count()
        == 2
}

/// The exact number of rows of all `n` with two lines or more containing each of `lines`.
pub(super) fn recount_lines<'a, F>(n: usize, text: &F, lines: &[(&'a str, u64)]) -> Vec<u64>
where
    F: Fn(usize) -> &'a str + Sync,
{
    let index: HashMap<&str, usize> = lines
        .iter()
        .enumerate()
        .map(|(j, &(l, _))| (l, j))
        .collect();
    let k = lines.len();
    (0..n)
        .into_par_iter()
        .fold(
            || (vec![0u64; k], Vec::new()),
            |(mut counts, mut seen): (Vec<u64>, Vec<usize>), i| {
                seen.clear();
                if !multi_line(text(i)) {
                    return (counts, seen);
                }
                seen.extend(
                    text(i)
                        .split('\n')
                        .filter_map(|p| index.get(strip_cr(p)).copied()),
                );
                seen.sort_unstable();
                seen.dedup();
                for &j in &seen {
                    counts[j] += 1;
                }
                (counts, seen)
            },
        )
        .map(|(counts, _)| counts)
        .reduce(|| vec![0u64; k], add_counts)
}

/// The exact number of rows of all `n` (without their common lines) having each prefix, then
/// each suffix.
pub(super) fn recount_affixes<'a, F>(
    n: usize,
    text: &F,
    lines: &Stripper,
    prefixes: &[(String, u64)],
    suffixes: &[(String, u64)],
) -> Vec<u64>
where
    F: Fn(usize) -> &'a str + Sync,
{
    let k = prefixes.len() + suffixes.len();
    (0..n)
        .into_par_iter()
        .fold(
            || vec![0u64; k],
            |mut counts, i| {
                let (body, _) = lines.strip_lines(text(i));
                let cands = prefixes
                    .iter()
                    .map(|p| (Dir::Fwd, p))
                    .chain(suffixes.iter().map(|s| (Dir::Rev, s)));
                for (count, (dir, (affix, _))) in counts.iter_mut().zip(cands) {
                    if dir.matches(&body, affix) {
                        *count += 1;
                    }
                }
                counts
            },
        )
        .reduce(|| vec![0u64; k], add_counts)
}

pub(super) fn add_counts(mut a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}
