//! Neighbour lists of many queries, stored flat.

use crate::store::mmap::{slice_of, MappedFile, Plain};

/// For each query, a list of `(id, score)` hits, stored compressed-sparse-row style so
/// millions of mostly empty lists cost 8 bytes each plus their hits.
///
/// The hits live in memory, or, for lists built from results spilled past a memory limit
/// (`index::spill`), in memory-mapped temporary files: read-only page cache the
/// system can drop and reread, rather than memory the process holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbors {
    offsets: Vec<usize>,
    ids: Column<u32>,
    scores: Column<f32>,
    /// Queries whose list was cut at a hit limit (empty when none was).
    cut: Vec<bool>,
}

/// One column of hits: a vector, or a mapped file of little-endian values.
#[derive(Debug)]
pub(crate) enum Column<T: Plain> {
    Memory(Vec<T>),
    Mapped(MappedFile),
}

impl<T: Plain> Column<T> {
    /// A mapped column, or the values read into memory where the bytes cannot be viewed
    /// in place (a big-endian host).
    pub(crate) fn mapped(map: MappedFile) -> Self {
        if slice_of::<T>(map.bytes()).is_some() {
            return Column::Mapped(map);
        }
        let values = map
            .bytes()
            .chunks_exact(size_of::<T>())
            .map(T::from_le)
            .collect();
        Column::Memory(values)
    }

    fn as_slice(&self) -> &[T] {
        match self {
            Column::Memory(v) => v,
            Column::Mapped(m) => slice_of(m.bytes()).expect("checked when mapped"),
        }
    }
}

impl<T: Plain> Default for Column<T> {
    fn default() -> Self {
        Column::Memory(Vec::new())
    }
}

impl<T: Plain> Clone for Column<T> {
    /// A copy in memory.
    fn clone(&self) -> Self {
        Column::Memory(self.as_slice().to_vec())
    }
}

impl<T: Plain> PartialEq for Column<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
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
        (&self.ids.as_slice()[a..b], &self.scores.as_slice()[a..b])
    }

    /// Whether the hits are memory-mapped from disk rather than held in memory.
    pub fn is_on_disk(&self) -> bool {
        matches!(self.ids, Column::Mapped(_))
    }

    /// Lists from their parts: `offsets` has one more entry than there are queries and
    /// ends at the columns' length; `cut` is empty or one flag per query.
    pub(crate) fn from_parts(
        offsets: Vec<usize>,
        ids: Column<u32>,
        scores: Column<f32>,
        cut: Vec<bool>,
    ) -> Self {
        let total = offsets.last().copied().unwrap_or(0);
        assert_eq!(ids.as_slice().len(), total, "ids column length");
        assert_eq!(scores.as_slice().len(), total, "scores column length");
        assert!(
            cut.is_empty() || cut.len() + 1 == offsets.len(),
            "cut flags"
        );
        Neighbors {
            offsets,
            ids,
            scores,
            cut,
        }
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
        self.offsets.last().copied().unwrap_or(0)
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
                ids: Column::Memory(Vec::new()),
                scores: Column::Memory(Vec::new()),
                cut: Vec::new(),
            },
        }
    }

    /// Adds the hits of the next query.
    pub fn push(&mut self, hits: impl IntoIterator<Item = (u32, f32)>) {
        let (Column::Memory(ids), Column::Memory(scores)) =
            (&mut self.inner.ids, &mut self.inner.scores)
        else {
            unreachable!("a builder's columns are in memory");
        };
        for (id, s) in hits {
            ids.push(id);
            scores.push(s);
        }
        self.inner.offsets.push(ids.len());
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
