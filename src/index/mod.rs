//! Neighbour search: "which indexed vectors are at least this similar to a query?"
//!
//! Deduplication needs *every* neighbour above a similarity threshold, not a fixed
//! top-k, so the central operation is [`VectorIndex::above`]. Three backends implement it:
//!
//! - [`IvfIndex`]: k-means cells; each query is scored exactly, by matrix products,
//!   against the members of its nearest cells. The default: at dedup thresholds it finds
//!   nearly every pair exact search finds, in a fraction of HNSW's build time.
//! - [`HnswIndex`]: an approximate HNSW graph (`hnsw_rs`). It answers
//!   threshold queries by asking for the top `k` and, for rows whose list is full (all `k`
//!   hits above the threshold), asking again with `k × 4` until the list is not full, so
//!   dense clusters are never silently truncated.
//! - [`ExactIndex`]: brute force as blocked matrix products. Exact, so it is the ground
//!   truth for tests and recall measurements, and fast enough for small data.
//!
//! Vectors are unit-normalised, so similarity is the dot product. Scores a backend returns
//! are its own; callers that need scores identical across backends rescore with [`dot`],
//! which always sums in the same order.

mod device;
mod device_cells;
mod error;
mod exact;
mod hits;
mod hnsw;
mod ivf;
mod neighbors;
mod precision;
pub(crate) mod quantizer;
pub(crate) mod spill;

pub use crate::linalg::dot;
pub use device::{DeviceIndex, SEGMENT};
pub use device_cells::{auto_cells, DeviceCellsIndex, DeviceCellsParams, MAX_CELLS};
pub use error::IndexError;
pub use exact::ExactIndex;
pub use hits::HitStream;
pub use hnsw::{HnswIndex, HnswParams};
pub use ivf::{auto_lists, IvfIndex, IvfParams, IvfPartition, CELL_ROWS};
pub use neighbors::{Neighbors, NeighborsBuilder};
pub use precision::{DeviceParams, Precision, DEVICE_MEMORY};

use crate::progress::Progress;

/// Which backend to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexKind {
    /// Exact scoring within the nearest k-means cells.
    #[default]
    Ivf,
    /// Approximate search with an HNSW graph.
    Hnsw,
    /// Exact brute-force search.
    Exact,
}

impl IndexKind {
    /// The name used on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Ivf => "ivf",
            IndexKind::Hnsw => "hnsw",
            IndexKind::Exact => "exact",
        }
    }
}

impl std::str::FromStr for IndexKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ivf" => Ok(IndexKind::Ivf),
            "hnsw" => Ok(IndexKind::Hnsw),
            "exact" => Ok(IndexKind::Exact),
            other => Err(format!(
                "unknown index {other:?} (expected ivf, hnsw or exact)"
            )),
        }
    }
}

/// A searchable set of unit vectors.
pub trait VectorIndex: Send + Sync {
    /// Number of indexed vectors.
    fn len(&self) -> usize;

    /// Whether the index holds no vectors.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width of each vector.
    fn dim(&self) -> usize;

    /// For each row of `queries` (row-major, `dim()` wide), every indexed vector whose
    /// similarity is at least `threshold`, most similar first. Approximate backends may
    /// miss some; they never truncate a list.
    fn above(
        &self,
        queries: &[f32],
        threshold: f32,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError> {
        self.above_at_most(queries, threshold, usize::MAX, progress)
    }

    /// [`above`](Self::above), keeping at most `max_hits` per query: when more qualify,
    /// the `max_hits` with the lowest ids (in a self-search, the earliest rows: the ones
    /// greedy selection keeps), still listed most similar first. A list of exactly
    /// `max_hits` may have been cut. Bounds memory where thousands of rows are all
    /// within the threshold of each other.
    fn above_at_most(
        &self,
        queries: &[f32],
        threshold: f32,
        max_hits: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError>;

    /// [`above_at_most`](Self::above_at_most) as a stream read in query order. A backend
    /// that spills its results past a memory budget (IVF) hands them back still on disk,
    /// so a consumer that reads them in order never holds them all; the others return
    /// their lists in memory.
    fn stream_above_at_most(
        &self,
        queries: &[f32],
        threshold: f32,
        max_hits: usize,
        progress: &dyn Progress,
    ) -> Result<HitStream, IndexError> {
        Ok(self
            .above_at_most(queries, threshold, max_hits, progress)?
            .into())
    }

    /// For each row of `queries`, the `k` most similar indexed vectors (fewer if the index
    /// is smaller), most similar first.
    fn top_k(
        &self,
        queries: &[f32],
        k: usize,
        progress: &dyn Progress,
    ) -> Result<Neighbors, IndexError>;

    /// A short description of the backend and its parameters, for summaries.
    fn describe(&self) -> serde_json::Value;
}

/// Builds the chosen backend over `vectors` (row-major, `dim` wide, unit length). The
/// clustered and exact indexes borrow the vectors; HNSW copies them into its graph.
pub fn build<'a>(
    kind: IndexKind,
    hnsw: HnswParams,
    ivf: IvfParams,
    vectors: &'a [f32],
    dim: usize,
    progress: &dyn Progress,
) -> Result<Box<dyn VectorIndex + 'a>, IndexError> {
    Ok(match kind {
        IndexKind::Ivf => Box::new(IvfIndex::build(vectors, dim, ivf, progress)?),
        IndexKind::Exact => Box::new(ExactIndex::new(vectors, dim)?),
        IndexKind::Hnsw => Box::new(HnswIndex::build(vectors, dim, hnsw, progress)?),
    })
}

/// [`build`] over vectors shared with the caller: the index owns what it needs and can be
/// kept (a long-lived object answering many queries against the same set).
pub fn build_shared(
    kind: IndexKind,
    hnsw: HnswParams,
    ivf: IvfParams,
    vectors: std::sync::Arc<[f32]>,
    dim: usize,
    progress: &dyn Progress,
) -> Result<Box<dyn VectorIndex>, IndexError> {
    Ok(match kind {
        IndexKind::Ivf => Box::new(IvfIndex::build_shared(vectors, dim, ivf, progress)?),
        IndexKind::Exact => Box::new(ExactIndex::new(&vectors, dim)?),
        IndexKind::Hnsw => Box::new(HnswIndex::build(&vectors, dim, hnsw, progress)?),
    })
}

/// Checks that a query matrix has whole rows of the index's width.
pub(crate) fn check_queries(queries: &[f32], dim: usize) -> Result<usize, IndexError> {
    if dim == 0 || !queries.len().is_multiple_of(dim) {
        return Err(IndexError::DimensionMismatch {
            expected: dim,
            got: queries.len(),
        });
    }
    Ok(queries.len() / dim)
}

/// Rows of a row-major matrix, `dim` wide.
pub(crate) fn row(data: &[f32], dim: usize, i: usize) -> &[f32] {
    &data[i * dim..(i + 1) * dim]
}

/// Most hits a dedup threshold query keeps per row ([`VectorIndex::above_at_most`]), as
/// SemHash's `MAX_NEIGHBORS`.
pub const MAX_HITS: usize = 1000;

/// Keeps the `max` hits with the lowest ids, then sorts most similar first.
pub(crate) fn keep_lowest_ids(hits: &mut Vec<(u32, f32)>, max: usize) {
    if hits.len() > max {
        hits.select_nth_unstable_by_key(max, |h| h.0);
        hits.truncate(max);
    }
    exact::sort_hits(hits);
}

/// Queries are processed in chunks of this many rows (progress and cancellation points).
pub(crate) const QUERY_CHUNK: usize = 2048;

/// Runs `per_chunk` over chunks of [`QUERY_CHUNK`] query rows (row-major, `dim` wide),
/// reporting a "search" stage to `progress` and stopping when it asks to; `per_chunk`
/// returns one hit list per row of its chunk, and a list of `max_hits` or more is marked
/// cut. The exact and HNSW backends answer queries through this.
pub(crate) fn search_in_chunks(
    queries: &[f32],
    dim: usize,
    max_hits: usize,
    progress: &dyn Progress,
    mut per_chunk: impl FnMut(&[f32]) -> Result<Vec<Vec<(u32, f32)>>, IndexError>,
) -> Result<Neighbors, IndexError> {
    let n = check_queries(queries, dim)?;
    progress.begin("search", Some(n as u64));
    let mut out = NeighborsBuilder::new();
    for chunk in queries.chunks(QUERY_CHUNK * dim) {
        if progress.cancelled() {
            return Err(IndexError::Cancelled);
        }
        for list in per_chunk(chunk)? {
            let full = list.len() >= max_hits;
            out.push(list);
            if full {
                out.mark_cut();
            }
        }
        progress.advance((chunk.len() / dim) as u64);
    }
    progress.end();
    Ok(out.finish())
}

#[cfg(test)]
pub(crate) mod testutil {
    /// Seeded clustered unit vectors: `n` rows around `n / per_cluster` random centres.
    pub fn clustered(n: usize, dim: usize, per_cluster: usize, noise: f32, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            // xorshift64*, mapped to a roughly normal value by summing uniforms.
            let mut s = 0f32;
            for _ in 0..4 {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let u =
                    (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
                s += u - 0.5;
            }
            s * 1.7
        };
        let centres: Vec<f32> = (0..n.div_ceil(per_cluster) * dim).map(|_| next()).collect();
        let mut out = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = &centres[(i / per_cluster) * dim..][..dim];
            out.extend(c.iter().map(|&x| x + noise * next()));
        }
        crate::linalg::normalize_rows(&mut out, dim);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_kind_parses() {
        assert_eq!("hnsw".parse::<IndexKind>().unwrap(), IndexKind::Hnsw);
        assert_eq!("exact".parse::<IndexKind>().unwrap(), IndexKind::Exact);
        assert_eq!("ivf".parse::<IndexKind>().unwrap(), IndexKind::Ivf);
        assert!("faiss"
            .parse::<IndexKind>()
            .unwrap_err()
            .contains("ivf, hnsw or exact"));
    }
}
