//! Neighbour lists of many queries, stored flat.

/// For each query, a list of `(id, score)` hits, stored compressed-sparse-row style so
/// millions of mostly empty lists cost 8 bytes each plus their hits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbors {
    offsets: Vec<usize>,
    ids: Vec<u32>,
    scores: Vec<f32>,
    /// Queries whose list was cut at a hit limit (empty when none was).
    cut: Vec<bool>,
}

impl Neighbors {
    /// Number of queries.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are no queries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hits of query `i`: ids and scores, in the order they were added.
    pub fn get(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        (&self.ids[a..b], &self.scores[a..b])
    }

    /// Whether query `i`'s list was cut short
    /// ([`VectorIndex::above_at_most`](super::VectorIndex::above_at_most)): it may lack
    /// similar vectors.
    pub fn is_cut(&self, i: usize) -> bool {
        self.cut.get(i).copied().unwrap_or(false)
    }

    /// Number of queries whose list was cut short.
    pub fn cut_count(&self) -> usize {
        self.cut.iter().filter(|&&c| c).count()
    }

    /// Total number of hits over all queries.
    pub fn total(&self) -> usize {
        self.ids.len()
    }

    /// Iterates `(query, id, score)` over all hits.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u32, f32)> + '_ {
        (0..self.len()).flat_map(move |q| {
            let (ids, scores) = self.get(q);
            ids.iter().zip(scores).map(move |(&id, &s)| (q, id, s))
        })
    }
}

/// Appends neighbour lists query by query.
#[derive(Debug, Default)]
pub struct NeighborsBuilder {
    inner: Neighbors,
}

impl NeighborsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        NeighborsBuilder {
            inner: Neighbors {
                offsets: vec![0],
                ids: Vec::new(),
                scores: Vec::new(),
                cut: Vec::new(),
            },
        }
    }

    /// Adds the hits of the next query.
    pub fn push(&mut self, hits: impl IntoIterator<Item = (u32, f32)>) {
        for (id, s) in hits {
            self.inner.ids.push(id);
            self.inner.scores.push(s);
        }
        self.inner.offsets.push(self.inner.ids.len());
    }

    /// Marks the list pushed last as cut short at a hit limit.
    pub fn mark_cut(&mut self) {
        let n = self.inner.len();
        assert!(n > 0, "no list pushed yet");
        self.inner.cut.resize(n, false);
        self.inner.cut[n - 1] = true;
    }

    /// The finished lists.
    pub fn finish(mut self) -> Neighbors {
        if !self.inner.cut.is_empty() {
            let n = self.inner.len();
            self.inner.cut.resize(n, false);
        }
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_lists_in_order() {
        let mut b = NeighborsBuilder::new();
        b.push([(3, 0.9), (1, 0.8)]);
        b.push([]);
        b.push([(7, 0.95)]);
        let n = b.finish();
        assert_eq!(n.len(), 3);
        assert_eq!(n.get(0), (&[3u32, 1][..], &[0.9f32, 0.8][..]));
        assert_eq!(n.get(1).0.len(), 0);
        assert_eq!(n.total(), 3);
        let all: Vec<_> = n.iter().collect();
        assert_eq!(all, vec![(0, 3, 0.9), (0, 1, 0.8), (2, 7, 0.95)]);
        assert!(!n.is_cut(0) && n.cut_count() == 0);
    }

    #[test]
    fn cut_lists_are_remembered() {
        let mut b = NeighborsBuilder::new();
        b.push([(1, 0.9)]);
        b.push([(2, 0.9)]);
        b.mark_cut();
        b.push([]);
        let n = b.finish();
        assert_eq!(
            (n.is_cut(0), n.is_cut(1), n.is_cut(2)),
            (false, true, false)
        );
        assert_eq!(n.cut_count(), 1);
    }
}
