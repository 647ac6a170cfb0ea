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

use std::collections::HashMap;

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

/// The `top` best keywords of each topic.
///
/// `members[c]` lists topic `c`'s rows as `(row id, weight)` (a weight counts a row's
/// exact copies); `text(id)` gives a row's text.
pub fn topic_keywords<T>(members: &[Vec<(u32, f64)>], text: T, top: usize) -> Vec<Vec<Keyword>>
where
    T: Fn(u32) -> String + Sync,
{
    // Term counts per topic.
    let counts: Vec<HashMap<String, f64>> = members
        .par_iter()
        .map(|rows| {
            let mut counts: HashMap<String, f64> = HashMap::new();
            let step = rows.len().div_ceil(MAX_ROWS).max(1);
            for &(id, w) in rows.iter().step_by(step) {
                words(&text(id), |word| match counts.get_mut(word) {
                    Some(c) => *c += w,
                    None => {
                        counts.insert(word.to_string(), w);
                    }
                });
            }
            counts
        })
        .collect();
    let mut everywhere: HashMap<&str, f64> = HashMap::new();
    let mut words_total = 0f64;
    for c in &counts {
        for (t, &n) in c {
            *everywhere.entry(t.as_str()).or_default() += n;
            words_total += n;
        }
    }
    let average = words_total / counts.len().max(1) as f64;
    counts
        .par_iter()
        .map(|c| {
            let total: f64 = c.values().sum();
            let mut scored: Vec<(&str, f64)> = c
                .iter()
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
}
