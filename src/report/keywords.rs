//! Topic keywords by class-based TF-IDF (c-TF-IDF, as in BERTopic).
//!
//! All rows of a topic are one "document". A term's weight in topic `c` is
//! `tf(t, c) · ln(1 + A / f(t))`: its frequency among the topic's words, times an inverse
//! frequency where `f(t)` is the term's count over all topics and `A` the average number
//! of words per topic. Words frequent everywhere score low; words frequent in one topic
//! and rare elsewhere score high.
//!
//! Words are lower-cased runs of letters and digits; stop words
//! (`report::stopwords`), one-character words, pure numbers and words over 30
//! characters are left out. A topic contributes at most [`MAX_ROWS`] rows, taken evenly
//! across it, so large inputs cost the same as mid-sized ones.
//!
//! Words in a large share of the rows of most topics (e-mail headers, signatures,
//! template words) are boilerplate ([`TermCounts::boilerplate`]) and never keywords.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::model::Keyword;
use super::stopwords::is_stop_word;

/// Rows per topic that keywords are counted from.
pub const MAX_ROWS: usize = 2000;

/// Longest word considered, in characters.
const MAX_WORD: usize = 30;

/// Calls `f` with every keyword candidate of `text`, lower-cased.
pub fn words(text: &str, mut f: impl FnMut(&str)) {
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        let chars = word.chars().count();
        if (2..=MAX_WORD).contains(&chars)
            && !word.chars().all(|c| c.is_ascii_digit())
            && !is_stop_word(word)
        {
            f(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            flush(&mut word);
        }
    }
    if !word.is_empty() {
        flush(&mut word);
    }
}

/// A topic's word is boilerplate, not a keyword, when it is in at least this share of
/// the topic's rows ...
pub const BOILERPLATE_ROWS: f64 = 0.2;
/// ... in more than this share of the topics (with at least [`BOILERPLATE_MIN_TOPICS`]).
pub const BOILERPLATE_TOPICS: f64 = 0.5;
/// Fewer topics than this say nothing about which words are everywhere.
pub const BOILERPLATE_MIN_TOPICS: usize = 4;

/// Word counts per topic, from which keywords are scored.
#[derive(Debug, Clone, Default)]
pub struct TermCounts {
    /// Per topic: each word's weighted occurrences.
    counts: Vec<HashMap<String, f64>>,
    /// Per topic: each word's weighted rows (a row counts once however often it has it).
    rows_with: Vec<HashMap<String, f64>>,
    /// Per topic: the weighted rows counted.
    rows: Vec<f64>,
}

impl TermCounts {
    /// Counts the words of each topic. `members[c]` lists topic `c`'s rows as
    /// `(row id, weight)` (a weight counts a row's exact copies); `text(id)` gives a
    /// row's text. A topic contributes at most [`MAX_ROWS`] rows, taken evenly across it
    /// and weighted up by the stride, so its counts estimate the whole topic's.
    pub fn count<T>(members: &[Vec<(u32, f64)>], text: T) -> Self
    where
        T: Fn(u32) -> String + Sync,
    {
        let per_topic: Vec<_> = members
            .par_iter()
            .map(|rows| {
                let mut counts: HashMap<String, f64> = HashMap::new();
                let mut rows_with: HashMap<String, f64> = HashMap::new();
                let mut seen: Vec<String> = Vec::new();
                let mut total = 0f64;
                let step = rows.len().div_ceil(MAX_ROWS).max(1);
                for &(id, w) in rows.iter().step_by(step) {
                    let w = w * step as f64;
                    total += w;
                    seen.clear();
                    words(&text(id), |word| {
                        match counts.get_mut(word) {
                            Some(c) => *c += w,
                            None => {
                                counts.insert(word.to_string(), w);
                            }
                        }
                        seen.push(word.to_string());
                    });
                    seen.sort_unstable();
                    seen.dedup();
                    for word in seen.drain(..) {
                        *rows_with.entry(word).or_default() += w;
                    }
                }
                (counts, rows_with, total)
            })
            .collect();
        let mut out = TermCounts::default();
        for (counts, rows_with, rows) in per_topic {
            out.counts.push(counts);
            out.rows_with.push(rows_with);
            out.rows.push(rows);
        }
        out
    }

    /// The counts of topics merged into `k` groups: topic `c` goes to `parent[c]`.
    pub fn merge(&self, parent: &[usize], k: usize) -> Self {
        let mut out = TermCounts {
            counts: vec![HashMap::new(); k],
            rows_with: vec![HashMap::new(); k],
            rows: vec![0.0; k],
        };
        for (c, &to) in parent.iter().enumerate() {
            for (t, &n) in &self.counts[c] {
                *out.counts[to].entry(t.clone()).or_default() += n;
            }
            for (t, &n) in &self.rows_with[c] {
                *out.rows_with[to].entry(t.clone()).or_default() += n;
            }
            out.rows[to] += self.rows[c];
        }
        out
    }

    /// Words that are in at least [`BOILERPLATE_ROWS`] of the rows of more than
    /// [`BOILERPLATE_TOPICS`] of the topics: e-mail headers, signatures, a prompt
    /// template's words. They describe the dataset, not a topic, so keywords leave them
    /// out. Empty with fewer than [`BOILERPLATE_MIN_TOPICS`] topics.
    pub fn boilerplate(&self) -> HashSet<String> {
        let topics = self.counts.len();
        if topics < BOILERPLATE_MIN_TOPICS {
            return HashSet::new();
        }
        let mut frequent_in: HashMap<&str, usize> = HashMap::new();
        for (rows_with, &rows) in self.rows_with.iter().zip(&self.rows) {
            for (t, &n) in rows_with {
                if rows > 0.0 && n / rows >= BOILERPLATE_ROWS {
                    *frequent_in.entry(t.as_str()).or_default() += 1;
                }
            }
        }
        frequent_in
            .into_iter()
            .filter(|&(_, c)| c as f64 > BOILERPLATE_TOPICS * topics as f64)
            .map(|(t, _)| t.to_string())
            .collect()
    }

    /// The `top` best keywords of each topic by c-TF-IDF, leaving out the words in `drop`.
    pub fn keywords(&self, drop: &HashSet<String>, top: usize) -> Vec<Vec<Keyword>> {
        let mut everywhere: HashMap<&str, f64> = HashMap::new();
        let mut words_total = 0f64;
        for c in &self.counts {
            for (t, &n) in c {
                *everywhere.entry(t.as_str()).or_default() += n;
                words_total += n;
            }
        }
        let average = words_total / self.counts.len().max(1) as f64;
        self.counts
            .par_iter()
            .map(|c| {
                let total: f64 = c.values().sum();
                let mut scored: Vec<(&str, f64)> = c
                    .iter()
                    .filter(|(t, _)| !drop.contains(t.as_str()))
                    .map(|(t, &n)| {
                        let idf = (1.0 + average / everywhere[t.as_str()]).ln();
                        (t.as_str(), n / total * idf)
                    })
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
                scored
                    .into_iter()
                    .take(top)
                    .map(|(term, score)| Keyword {
                        term: term.to_string(),
                        score: (score * 1e6).round() / 1e6,
                    })
                    .collect()
            })
            .collect()
    }
}

/// The `top` best keywords of each topic, boilerplate left out: [`TermCounts::count`],
/// then [`TermCounts::keywords`] without [`TermCounts::boilerplate`].
pub fn topic_keywords<T>(members: &[Vec<(u32, f64)>], text: T, top: usize) -> Vec<Vec<Keyword>>
where
    T: Fn(u32) -> String + Sync,
{
    let counts = TermCounts::count(members, text);
    counts.keywords(&counts.boilerplate(), top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_and_filtered() {
        let mut got = Vec::new();
        words(
            "The Café's 2024 budget: don't CUT it! x 42 über-long",
            |w| got.push(w.to_string()),
        );
        assert_eq!(got, vec!["café", "budget", "cut", "über", "long"]);
    }

    #[test]
    fn keywords_single_out_what_is_particular_to_each_topic() {
        let texts = [
            "the striker scored a late goal in the football match",
            "football fans cheered the goal and the match result",
            "the match ended with a penalty goal for the home team",
            "the central bank raised interest rates to fight inflation",
            "inflation fell after the bank cut interest rates again",
            "markets rallied as the bank held interest rates steady",
        ];
        let members = vec![
            vec![(0, 1.0), (1, 1.0), (2, 1.0)],
            vec![(3, 1.0), (4, 1.0), (5, 1.0)],
        ];
        let kw = topic_keywords(&members, |i| texts[i as usize].to_string(), 3);
        let terms = |c: usize| kw[c].iter().map(|k| k.term.as_str()).collect::<Vec<_>>();
        assert_eq!(terms(0)[..2], ["goal", "match"]);
        assert!(terms(0).contains(&"football"), "{:?}", terms(0));
        // ("interest" is on scikit-learn's stop list.)
        assert_eq!(terms(1)[..2], ["bank", "rates"]);
        assert!(kw[0][0].score > kw[0][2].score);
    }

    #[test]
    fn weights_count_copies() {
        let texts = ["apple banana", "cherry"];
        let members = vec![vec![(0, 1.0), (1, 5.0)], vec![(0, 1.0)]];
        let kw = topic_keywords(&members, |i| texts[i as usize].to_string(), 1);
        assert_eq!(kw[0][0].term, "cherry");
    }

    #[test]
    fn words_in_most_topics_are_boilerplate() {
        // Every row has a header ("writes", "article"); each topic has its own words.
        let topics = [
            "hockey puck",
            "orbit launch",
            "render pixel",
            "bible faith",
            "engine car",
        ];
        let texts: Vec<String> = (0..50)
            .map(|i| format!("someone writes in article: {} {i}", topics[i % 5]))
            .collect();
        let members: Vec<Vec<(u32, f64)>> = (0..5)
            .map(|c| {
                (0..50)
                    .filter(|i| i % 5 == c)
                    .map(|i| (i as u32, 1.0))
                    .collect()
            })
            .collect();
        let counts = TermCounts::count(&members, |i| texts[i as usize].clone());
        let drop = counts.boilerplate();
        assert!(
            drop.contains("writes") && drop.contains("article"),
            "{drop:?}"
        );
        assert!(!drop.contains("hockey") && !drop.contains("orbit"));
        let kw = counts.keywords(&drop, 2);
        let terms: Vec<&str> = kw[0].iter().map(|k| k.term.as_str()).collect();
        assert_eq!(terms, ["hockey", "puck"]);
        // Merged into two groups, counts add up.
        let merged = counts.merge(&[0, 0, 1, 1, 1], 2);
        assert_eq!(merged.rows, vec![20.0, 30.0]);
        assert_eq!(merged.counts[0]["writes"], 20.0);
        // Too few topics to tell: nothing is boilerplate.
        assert!(merged.boilerplate().is_empty());
    }

    #[test]
    fn sampled_rows_are_weighted_by_the_stride() {
        let members = vec![(0..(3 * MAX_ROWS) as u32)
            .map(|i| (i, 1.0))
            .collect::<Vec<_>>()];
        let counts = TermCounts::count(&members, |_| "word".to_string());
        assert_eq!(counts.rows[0], (3 * MAX_ROWS) as f64);
        assert_eq!(counts.counts[0]["word"], (3 * MAX_ROWS) as f64);
    }
}
