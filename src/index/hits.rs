//! Threshold-search results read back query by query, from memory or from sorted runs
//! spilled to disk, so a consumer that goes through them in order never holds all of them.

use std::fs::File;
use std::io;

use super::exact::hit_order;
use super::neighbors::{Neighbors, NeighborsBuilder};
use super::spill::{DiskNeighborsBuilder, Merge, Triple};

/// The hit lists of a threshold search ([`super::VectorIndex::stream_above_at_most`]), to
/// be read in query order: with [`next_block`](Self::next_block) a block at a time, or all
/// at once with [`collect`](Self::collect).
pub struct HitStream {
    source: Source,
    queries: usize,
    /// The first query not read yet.
    next: usize,
}

enum Source {
    Memory(Neighbors),
    /// Runs of hits sorted by query, each query's hits most similar first.
    Runs {
        merge: Merge,
        max_hits: usize,
        /// Queries already known to be cut (more hits qualified than `max_hits`).
        cut: Vec<bool>,
        group: Vec<Triple>,
    },
}

impl From<Neighbors> for HitStream {
    fn from(lists: Neighbors) -> Self {
        HitStream {
            queries: lists.len(),
            source: Source::Memory(lists),
            next: 0,
        }
    }
}

impl HitStream {
    /// The lists of `queries` queries merged from `runs` of hits `(query, id, score)`, each
    /// sorted by query and holding at most `max_hits` per query. A query's list is the
    /// `max_hits` lowest ids of its hits over all runs, most similar first (ties by id), and
    /// is cut when it had more or when `cut` (one flag per query, or empty) says so.
    pub(crate) fn from_runs(
        runs: Vec<File>,
        queries: usize,
        max_hits: usize,
        cut: Vec<bool>,
    ) -> io::Result<Self> {
        // A run is sorted by query, but each query's hits most similar first.
        fn by_query(a: &Triple, b: &Triple) -> std::cmp::Ordering {
            a.0.cmp(&b.0)
        }
        Ok(HitStream {
            source: Source::Runs {
                merge: Merge::new(runs, by_query)?,
                max_hits,
                cut,
                group: Vec::new(),
            },
            queries,
            next: 0,
        })
    }

    /// Number of queries.
    pub fn queries(&self) -> usize {
        self.queries
    }

    /// Whether every list has been read.
    pub fn is_done(&self) -> bool {
        self.next == self.queries
    }

    /// The lists of the next queries as `(first query, lists)`: whole lists, at least one,
    /// and no more once they hold `max_hits` hits between them; `None` once all are read.
    pub fn next_block(&mut self, max_hits: usize) -> io::Result<Option<(usize, Neighbors)>> {
        if self.is_done() {
            return Ok(None);
        }
        let first = self.next;
        let mut block = NeighborsBuilder::new();
        let mut hits = 0;
        let mut list = Vec::new();
        while !self.is_done() && (self.next == first || hits < max_hits) {
            let cut = self.next_list(&mut list)?;
            hits += list.len();
            block.push(list.iter().copied());
            if cut {
                block.mark_cut();
            }
        }
        Ok(Some((first, block.finish())))
    }

    /// All the lists not read yet (all of them, on a fresh stream), as one [`Neighbors`]:
    /// mapped from disk when the stream was spilled.
    pub fn collect(mut self) -> io::Result<Neighbors> {
        if let Source::Memory(lists) = &mut self.source {
            if self.next == 0 {
                return Ok(std::mem::take(lists));
            }
            let mut out = NeighborsBuilder::new();
            self.drain(|list, cut| {
                out.push(list.iter().copied());
                if cut {
                    out.mark_cut();
                }
                Ok(())
            })?;
            return Ok(out.finish());
        }
        let mut out = DiskNeighborsBuilder::new()?;
        self.drain(|list, cut| {
            out.push(list.iter().copied())?;
            if cut {
                out.mark_cut();
            }
            Ok(())
        })?;
        out.finish()
    }

    /// Passes each list not read yet, and whether it was cut, to `take`.
    fn drain(
        &mut self,
        mut take: impl FnMut(&[(u32, f32)], bool) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut list = Vec::new();
        while !self.is_done() {
            let cut = self.next_list(&mut list)?;
            take(&list, cut)?;
        }
        Ok(())
    }

    /// Reads the next query's list into `list`; returns whether it was cut.
    fn next_list(&mut self, list: &mut Vec<(u32, f32)>) -> io::Result<bool> {
        let q = self.next;
        self.next += 1;
        list.clear();
        match &mut self.source {
            Source::Memory(lists) => {
                let (ids, scores) = lists.get(q);
                list.extend(ids.iter().copied().zip(scores.iter().copied()));
                Ok(lists.is_cut(q))
            }
            Source::Runs {
                merge,
                max_hits,
                cut,
                group,
            } => {
                merge.take_key(q as u32, group)?;
                // Each run kept its own lowest ids, so the union's lowest are among them.
                group.sort_unstable_by_key(|t| t.1);
                let mut was_cut = cut.get(q).copied().unwrap_or(false);
                if group.len() > *max_hits {
                    group.truncate(*max_hits);
                    was_cut = true;
                }
                list.extend(group.iter().map(|&(_, id, s)| (id, s)));
                list.sort_unstable_by(hit_order);
                Ok(was_cut)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::spill::write_run;
    use super::*;

    #[test]
    fn runs_merge_into_the_lowest_ids_most_similar_first() {
        // Query 0's hits are split over two runs; query 1 has five hits over a limit of 3.
        let a = vec![(0, 5, 0.9), (0, 1, 0.6), (1, 9, 0.95), (1, 2, 0.5)];
        let b = vec![
            (0, 3, 0.7),
            (1, 4, 0.8),
            (1, 7, 0.7),
            (1, 3, 0.6),
            (2, 0, 0.99),
        ];
        let runs = vec![write_run(&a).unwrap(), write_run(&b).unwrap()];
        let mut stream = HitStream::from_runs(runs, 4, 3, vec![false, false, true, false]).unwrap();
        let (first, block) = stream.next_block(2).unwrap().unwrap();
        assert_eq!(first, 0);
        assert_eq!(block.len(), 1, "the first list already holds 3 hits");
        assert_eq!(block.get(0), (&[5u32, 3, 1][..], &[0.9f32, 0.7, 0.6][..]));
        assert!(!block.is_cut(0));
        let rest = stream.collect().unwrap();
        assert!(rest.is_on_disk());
        assert_eq!(rest.len(), 3);
        assert_eq!(rest.get(0), (&[4u32, 3, 2][..], &[0.8f32, 0.6, 0.5][..]));
        assert!(rest.is_cut(0), "five hits over a limit of three");
        assert!(rest.is_cut(1), "cut when the runs were compacted");
        assert_eq!(rest.get(2).0.len(), 0);
        assert!(!rest.is_cut(2));
    }

    #[test]
    fn memory_lists_come_back_in_blocks() {
        let mut b = NeighborsBuilder::new();
        for q in 0..10u32 {
            b.push((0..q).map(|k| (k, 1.0 - k as f32 / 10.0)));
        }
        let lists = b.finish();
        let mut stream = HitStream::from(lists.clone());
        let mut seen = NeighborsBuilder::new();
        let mut starts = Vec::new();
        while let Some((first, block)) = stream.next_block(10).unwrap() {
            starts.push(first);
            (0..block.len()).for_each(|i| {
                let (ids, scores) = block.get(i);
                seen.push(ids.iter().copied().zip(scores.iter().copied()));
            });
        }
        assert_eq!(seen.finish(), lists);
        // A block closes once it holds 10 hits: 0+1+2+3+4, 5+6, 7+8, 9.
        assert_eq!(starts, vec![0, 5, 7, 9]);
        assert!(HitStream::from(lists.clone()).collect().unwrap() == lists);
        let mut partly = HitStream::from(lists.clone());
        partly.next_block(1).unwrap();
        let rest = partly.collect().unwrap();
        assert!(!rest.is_on_disk());
        assert_eq!((rest.len(), rest.get(0).0), (8, &[0u32, 1][..]));
    }
}
