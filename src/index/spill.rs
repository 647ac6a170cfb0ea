//! Hit triples `(key, id, score)` sorted past a memory budget: full buffers are sorted and
//! written to temporary files as runs, and [`Merge`] reads the runs back as one sorted
//! stream (an external merge sort).
//!
//! The search's candidate buffers are the part of a dedup run that grows fastest with the
//! data (12 bytes per candidate pair, several hundred million at a million rows of dense
//! text); with a budget they stay bounded and the rest waits on disk. The runs live in
//! the system's temporary directory (`TMPDIR`), in files unlinked as soon as they are
//! created, so nothing is left behind by a crash. The output is the same with or
//! without spilling: runs are merged in the same total order the in-memory sort uses.
//!
//! Lists merged from runs are large by construction, so [`DiskNeighborsBuilder`] writes
//! them to unlinked temporary files too and maps them read-only: a [`Neighbors`] whose
//! hits are page cache the system can drop and reread, not memory the process holds.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use super::neighbors::{Column, Neighbors};
use crate::scratch::unlinked_temp_file;
use crate::store::mmap::{MappedFile, Plain};

/// A hit or candidate pair: `(key, id, score)`.
pub(crate) type Triple = (u32, u32, f32);

/// A total order on triples.
pub(crate) type TripleOrder = fn(&Triple, &Triple) -> Ordering;

/// Bytes one triple takes in memory and in a run file.
pub(crate) const TRIPLE_BYTES: usize = 12;

/// Buffer of each run's reader and of the writer.
const IO_BUFFER: usize = 1 << 20;

/// Writes `sorted` to a new unlinked temporary file and returns it, rewound.
pub(crate) fn write_run(sorted: &[Triple]) -> io::Result<File> {
    let mut file = unlinked_temp_file()?;
    let mut out = BufWriter::with_capacity(IO_BUFFER, &mut file);
    for &(key, id, score) in sorted {
        out.write_all(&key.to_le_bytes())?;
        out.write_all(&id.to_le_bytes())?;
        out.write_all(&score.to_le_bytes())?;
    }
    out.flush()?;
    drop(out);
    file.rewind()?;
    tracing::debug!(triples = sorted.len(), "spilled a sorted run to disk");
    Ok(file)
}

/// One run being read back.
struct Run {
    reader: BufReader<File>,
}

impl Run {
    fn next(&mut self) -> io::Result<Option<Triple>> {
        let mut b = [0u8; TRIPLE_BYTES];
        match self.reader.read_exact(&mut b) {
            Ok(()) => Ok(Some((
                u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")),
                u32::from_le_bytes(b[4..8].try_into().expect("4 bytes")),
                f32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
            ))),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The head of one run in the merge heap.
struct Head {
    triple: Triple,
    run: usize,
    order: TripleOrder,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    /// Reversed, so the max-heap pops the smallest; ties go to the earlier run.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.order)(&other.triple, &self.triple).then(other.run.cmp(&self.run))
    }
}

/// Sorted runs merged into one sorted stream.
pub(crate) struct Merge {
    runs: Vec<Run>,
    heap: BinaryHeap<Head>,
    order: TripleOrder,
}

impl Merge {
    /// Merges `runs`, each sorted by `order`.
    pub(crate) fn new(runs: Vec<File>, order: TripleOrder) -> io::Result<Self> {
        let mut merge = Merge {
            runs: runs
                .into_iter()
                .map(|f| Run {
                    reader: BufReader::with_capacity(IO_BUFFER, f),
                })
                .collect(),
            heap: BinaryHeap::new(),
            order,
        };
        for run in 0..merge.runs.len() {
            merge.refill(run)?;
        }
        Ok(merge)
    }

    fn refill(&mut self, run: usize) -> io::Result<()> {
        if let Some(triple) = self.runs[run].next()? {
            self.heap.push(Head {
                triple,
                run,
                order: self.order,
            });
        }
        Ok(())
    }

    /// The smallest triple not yet taken, without taking it.
    pub(crate) fn peek(&self) -> Option<Triple> {
        self.heap.peek().map(|h| h.triple)
    }

    /// Takes the smallest triple.
    pub(crate) fn next_triple(&mut self) -> io::Result<Option<Triple>> {
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        self.refill(head.run)?;
        Ok(Some(head.triple))
    }

    /// Takes every triple whose key is `key` (they come first, as keys lead the order)
    /// into `group`, which is cleared first.
    pub(crate) fn take_key(&mut self, key: u32, group: &mut Vec<Triple>) -> io::Result<()> {
        group.clear();
        while self.peek().is_some_and(|t| t.0 == key) {
            group.extend(self.next_triple()?);
        }
        Ok(())
    }
}

/// Builds [`Neighbors`] list by list with the hits in unlinked temporary files, mapped
/// when finished; memory holds only the list offsets (8 bytes per query).
pub(crate) struct DiskNeighborsBuilder {
    ids: BufWriter<File>,
    scores: BufWriter<File>,
    offsets: Vec<usize>,
    cut: Vec<bool>,
}

impl DiskNeighborsBuilder {
    /// An empty builder, with its two files created.
    pub(crate) fn new() -> io::Result<Self> {
        Ok(DiskNeighborsBuilder {
            ids: BufWriter::with_capacity(IO_BUFFER, unlinked_temp_file()?),
            scores: BufWriter::with_capacity(IO_BUFFER, unlinked_temp_file()?),
            offsets: vec![0],
            cut: Vec::new(),
        })
    }

    /// Adds the hits of the next query.
    pub(crate) fn push(&mut self, hits: impl IntoIterator<Item = (u32, f32)>) -> io::Result<()> {
        let mut total = *self.offsets.last().expect("starts with 0");
        for (id, score) in hits {
            self.ids.write_all(&id.to_le_bytes())?;
            self.scores.write_all(&score.to_le_bytes())?;
            total += 1;
        }
        self.offsets.push(total);
        Ok(())
    }

    /// Marks the list pushed last as cut short at a hit limit.
    pub(crate) fn mark_cut(&mut self) {
        let n = self.offsets.len() - 1;
        assert!(n > 0, "no list pushed yet");
        self.cut.resize(n, false);
        self.cut[n - 1] = true;
    }

    /// The finished lists, their hits mapped from the files.
    pub(crate) fn finish(mut self) -> io::Result<Neighbors> {
        let n = self.offsets.len() - 1;
        if !self.cut.is_empty() {
            self.cut.resize(n, false);
        }
        let total = *self.offsets.last().expect("starts with 0");
        let ids = finish_column(self.ids, total)?;
        let scores = finish_column(self.scores, total)?;
        tracing::debug!(
            queries = n,
            hits = total,
            "neighbour lists mapped from disk"
        );
        Ok(Neighbors::from_parts(self.offsets, ids, scores, self.cut))
    }
}

/// Flushes a column's file and maps it (an empty column stays in memory: there is
/// nothing to map).
fn finish_column<T: Plain>(writer: BufWriter<File>, values: usize) -> io::Result<Column<T>> {
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    if values == 0 {
        return Ok(Column::Memory(Vec::new()));
    }
    let map = MappedFile::map(&file)?;
    let expected = values * size_of::<T>();
    if map.bytes().len() != expected {
        return Err(io::Error::other(format!(
            "spilled list file holds {} bytes, expected {expected}",
            map.bytes().len(),
        )));
    }
    Ok(Column::mapped(map))
}

/// How many triples a buffer may hold under a budget of `bytes` (at least 65,536, so tiny
/// budgets still make runs of a useful size).
pub(crate) fn budget_triples(bytes: Option<usize>) -> Option<usize> {
    bytes.map(|b| (b / TRIPLE_BYTES).max(1 << 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_key_then_id(a: &Triple, b: &Triple) -> Ordering {
        a.0.cmp(&b.0).then(a.1.cmp(&b.1))
    }

    #[test]
    fn merged_runs_come_back_in_order_with_nothing_lost() {
        let mut state = 7u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let all: Vec<Triple> = (0..10_000)
            .map(|_| {
                (
                    (rand() % 300) as u32,
                    (rand() % 5000) as u32,
                    (rand() % 1000) as f32 / 1000.0,
                )
            })
            .collect();
        let runs: Vec<File> = all
            .chunks(1234)
            .map(|c| {
                let mut c = c.to_vec();
                c.sort_by(by_key_then_id);
                write_run(&c).unwrap()
            })
            .collect();
        let mut merge = Merge::new(runs, by_key_then_id).unwrap();
        let mut got = Vec::new();
        let mut group = Vec::new();
        for key in 0..300 {
            merge.take_key(key, &mut group).unwrap();
            assert!(group.iter().all(|t| t.0 == key));
            got.extend_from_slice(&group);
        }
        assert!(merge.next_triple().unwrap().is_none());
        let mut want = all;
        want.sort_by(by_key_then_id);
        assert_eq!(got.len(), want.len());
        assert!(got
            .iter()
            .zip(&want)
            .all(|(a, b)| a.0 == b.0 && a.1 == b.1 && a.2.to_bits() == b.2.to_bits()));
    }

    #[test]
    fn lists_built_on_disk_read_back_as_built_in_memory() {
        let mut disk = DiskNeighborsBuilder::new().unwrap();
        let mut memory = super::super::NeighborsBuilder::new();
        for q in 0..500u32 {
            let hits: Vec<(u32, f32)> = (0..q % 7).map(|k| (q * 10 + k, k as f32 / 8.0)).collect();
            disk.push(hits.iter().copied()).unwrap();
            memory.push(hits);
            if q % 11 == 3 {
                disk.mark_cut();
                memory.mark_cut();
            }
        }
        let (disk, memory) = (disk.finish().unwrap(), memory.finish());
        assert!(disk.is_on_disk() && !memory.is_on_disk());
        assert_eq!(disk, memory);
        assert_eq!(disk.get(9), (&[90u32, 91][..], &[0.0f32, 0.125][..]));
        assert_eq!(disk.cut_count(), memory.cut_count());
        let empty = DiskNeighborsBuilder::new().unwrap();
        assert_eq!(empty.finish().unwrap().len(), 0);
    }

    #[test]
    fn no_runs_is_an_empty_stream() {
        let mut merge = Merge::new(Vec::new(), by_key_then_id).unwrap();
        assert_eq!(merge.peek(), None);
        assert!(merge.next_triple().unwrap().is_none());
        assert_eq!(budget_triples(Some(12)), Some(1 << 16));
        assert_eq!(budget_triples(Some(12 << 20)), Some(1 << 20));
        assert_eq!(budget_triples(None), None);
    }
}
