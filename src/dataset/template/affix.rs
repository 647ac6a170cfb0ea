//! Prefixes and suffixes many rows share: the sorted-window scan, cut at word boundaries.

use super::*;

/// The number of consecutive sorted texts a reported prefix must span in the sample.
pub(super) fn window_size(params: &TemplateParams, len: usize) -> usize {
    let by_share = (params.min_share * len as f64).ceil();
    let by_share = if by_share.is_nan() || by_share <= 0.0 {
        0
    } else if by_share >= len as f64 {
        len.saturating_add(1)
    } else {
        by_share as usize
    };
    let by_rows = usize::try_from(params.min_rows).unwrap_or(usize::MAX);
    by_rows.max(by_share).max(2)
}

/// Prefixes (or suffixes) of the sampled texts passing the thresholds on the sample, nested
/// ones pruned, at most `max_spans` of them, with their sample counts.
pub(super) fn sample_affixes(
    texts: Vec<&str>,
    dir: Dir,
    m: usize,
    sample_total: u64,
    params: &TemplateParams,
    is_line: &dyn Fn(&str) -> bool,
) -> Vec<(String, u64)> {
    let kind = dir.kind();
    let found: Vec<(String, u64)> = find_affixes(texts, dir, m, params.min_span_chars)
        .into_iter()
        .filter(|&(s, count)| count >= 2 && passes(count, sample_total, params) && !is_line(s))
        .map(|(s, count)| (s.to_string(), count))
        .collect();
    let mut kept = prune_nested(found, dir);
    kept.sort_by(|x, y| span_order((x.1, x.0.as_str(), kind), (y.1, y.0.as_str(), kind)));
    kept.truncate(params.max_spans);
    kept
}

/// `affixes` with their exact counts, those passing the thresholds, nested ones pruned.
pub(super) fn exact_affixes(
    affixes: Vec<(String, u64)>,
    exact: &[u64],
    dir: Dir,
    total: u64,
    params: &TemplateParams,
) -> Vec<(String, u64)> {
    let recounted = affixes
        .into_iter()
        .zip(exact)
        .map(|((s, _), &count)| (s, count))
        .filter(|&(_, count)| count >= 2 && passes(count, total, params))
        .collect();
    prune_nested(recounted, dir)
}

/// Drops each affix that a longer one extending it (a prefix starting with it, a suffix ending
/// with it) is in as many rows as. `affixes` are distinct.
pub(super) fn prune_nested(mut affixes: Vec<(String, u64)>, dir: Dir) -> Vec<(String, u64)> {
    // In this order the affixes extending one follow it directly.
    affixes.sort_unstable_by(|x, y| dir.cmp(&x.0, &y.0));
    let keep: Vec<bool> = (0..affixes.len())
        .map(|j| {
            let (s, count) = &affixes[j];
            !affixes[j + 1..]
                .iter()
                .take_while(|x| dir.has(&x.0, s))
                .any(|x| x.1 >= *count)
        })
        .collect();
    affixes
        .into_iter()
        .zip(keep)
        .filter_map(|(a, keep)| keep.then_some(a))
        .collect()
}

/// Candidate prefixes (suffixes) shared by at least `m` of `texts`, cut at word boundaries,
/// with the number of texts having each.
pub(super) fn find_affixes<'t>(
    mut texts: Vec<&'t str>,
    dir: Dir,
    m: usize,
    min_chars: usize,
) -> Vec<(&'t str, u64)> {
    if m == 0 || texts.len() < m {
        return Vec::new();
    }
    texts.sort_unstable_by(|a, b| dir.cmp(a, b));
    let mut cands: Vec<&'t str> = Vec::new();
    for w in texts.windows(m) {
        let (a, b) = (w[0], w[m - 1]);
        let l = dir.lcp(a, b);
        if l == 0 {
            continue;
        }
        if let Some(s) = cut(a, b, l, dir, min_chars) {
            if cands.last() != Some(&s) {
                cands.push(s);
            }
        }
    }
    cands.sort_unstable_by(|a, b| dir.cmp(a, b));
    cands.dedup();
    cands
        .into_iter()
        .map(|c| (c, count_sorted(&texts, c, dir)))
        .collect()
}

/// How many of `texts` (sorted in `dir` order) have the affix `c`.
pub(super) fn count_sorted(texts: &[&str], c: &str, dir: Dir) -> u64 {
    let lo = texts.partition_point(|t| dir.cmp(t, c) == Ordering::Less);
    let hi = lo + texts[lo..].partition_point(|t| dir.has(t, c));
    let range = &texts[lo..hi];
    if dir.inner(c, c.len()).is_some_and(|ch| !is_word(ch)) {
        range.len() as u64
    } else {
        range.iter().filter(|t| dir.matches(t, c)).count() as u64
    }
}

/// The longest affix of at most `l` bytes that `a` and `b` share (they share `l` bytes in
/// `dir`), cut where it does not end inside a word (see the module docs), trimmed, when it
/// has at least `min_chars` chars.
pub(super) fn cut<'t>(
    a: &'t str,
    b: &str,
    l: usize,
    dir: Dir,
    min_chars: usize,
) -> Option<&'t str> {
    let mut k = l;
    while k > 0 {
        let inner = dir.inner(a, k)?;
        let (out_a, out_b) = (dir.outer(a, k), dir.outer(b, k));
        let outside = |f: fn(char) -> bool| out_a.is_none_or(f) && out_b.is_none_or(f);
        let accept = if inner.is_whitespace() || outside(char::is_whitespace) {
            true
        } else if is_word(inner) {
            outside(|c| !is_word(c))
        } else {
            // Punctuation: part of the span unless whitespace separates it from the span.
            dir.inner2(a, k).is_none_or(|c| !c.is_whitespace())
        };
        if accept {
            let s = dir.trim(dir.affix(a, k));
            return (!s.is_empty() && s.chars().count() >= min_chars).then_some(s);
        }
        k -= inner.len_utf8();
    }
    None
}

/// Which end of the texts an affix is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    /// Prefixes.
    Fwd,
    /// Suffixes.
    Rev,
}

impl Dir {
    pub(super) fn kind(self) -> SpanKind {
        match self {
            Dir::Fwd => SpanKind::Prefix,
            Dir::Rev => SpanKind::Suffix,
        }
    }

    /// An order in which texts sharing an affix are contiguous (bytes, or reversed bytes).
    pub(super) fn cmp(self, a: &str, b: &str) -> Ordering {
        match self {
            Dir::Fwd => a.cmp(b),
            Dir::Rev => a.bytes().rev().cmp(b.bytes().rev()),
        }
    }

    /// Whether `t` starts (ends) with `affix`, wherever that ends.
    pub(super) fn has(self, t: &str, affix: &str) -> bool {
        match self {
            Dir::Fwd => t.starts_with(affix),
            Dir::Rev => t.ends_with(affix),
        }
    }

    /// Whether `t` starts (ends) with `affix`, and `affix` does not end (start) inside a word
    /// of `t`.
    pub(super) fn matches(self, t: &str, affix: &str) -> bool {
        if !self.has(t, affix) {
            return false;
        }
        let k = affix.len();
        self.inner(t, k).is_some_and(|c| !is_word(c))
            || self.outer(t, k).is_none_or(|c| !is_word(c))
    }

    /// The affix of `k` bytes of `t` (`k` on a char boundary).
    pub(super) fn affix(self, t: &str, k: usize) -> &str {
        match self {
            Dir::Fwd => &t[..k],
            Dir::Rev => &t[t.len() - k..],
        }
    }

    /// `t` without its affix of `k` bytes.
    pub(super) fn rest(self, t: &str, k: usize) -> &str {
        match self {
            Dir::Fwd => &t[k..],
            Dir::Rev => &t[..t.len() - k],
        }
    }

    /// The char of the affix of `k` bytes next to the rest (last of a prefix, first of a
    /// suffix).
    pub(super) fn inner(self, t: &str, k: usize) -> Option<char> {
        let a = self.affix(t, k);
        match self {
            Dir::Fwd => a.chars().next_back(),
            Dir::Rev => a.chars().next(),
        }
    }

    /// The char of the affix next to [`Self::inner`], on the inside.
    fn inner2(self, t: &str, k: usize) -> Option<char> {
        let mut chars = self.affix(t, k).chars();
        match self {
            Dir::Fwd => chars.nth_back(1),
            Dir::Rev => chars.nth(1),
        }
    }

    /// The char of the rest next to the affix of `k` bytes, if any.
    pub(super) fn outer(self, t: &str, k: usize) -> Option<char> {
        let r = self.rest(t, k);
        match self {
            Dir::Fwd => r.chars().next(),
            Dir::Rev => r.chars().next_back(),
        }
    }

    /// Bytes of the longest common affix of `a` and `b`, on a char boundary.
    pub(super) fn lcp(self, a: &str, b: &str) -> usize {
        let (x, y) = (a.as_bytes(), b.as_bytes());
        match self {
            Dir::Fwd => {
                let mut l = x.iter().zip(y).take_while(|(p, q)| p == q).count();
                while !a.is_char_boundary(l) {
                    l -= 1;
                }
                l
            }
            Dir::Rev => {
                let mut l = x
                    .iter()
                    .rev()
                    .zip(y.iter().rev())
                    .take_while(|(p, q)| p == q)
                    .count();
                while !a.is_char_boundary(a.len() - l) {
                    l -= 1;
                }
                l
            }
        }
    }

    /// `s` without whitespace at its rest side.
    pub(super) fn trim(self, s: &str) -> &str {
        match self {
            Dir::Fwd => s.trim_end(),
            Dir::Rev => s.trim_start(),
        }
    }
}
