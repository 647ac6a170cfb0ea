//! A large segment's cells: k-means cells over its rows, so a candidate is scored against
//! the rows of its nearest cells instead of every row.
//!
//! Segments of at least [`PoolSettings::index_rows`](super::PoolSettings::index_rows) rows
//! get cells when they are written (by an add, an import or a merge): the clustered
//! index's quantizer ([`Quantizer`], cells of about [`CELL_ROWS`] rows found through
//! groups of cells) fitted to the segment's canonical vectors, and each row listed in its
//! nearest cell. A candidate is scored, with the same products and [`dot`] rescoring as an
//! exact scan, against the rows of its [`PROBES`] nearest cells: an approximate search,
//! which may miss a match that lies in a farther cell (`scripts/bench-pool.sh` measures
//! how often).
//!
//! A segment with cells stores its vectors cell by cell (`vectors.svec` position `p` holds
//! row `rows[p]`), so a cell's rows are read as one run of memory, not gathered from all
//! over a file that is mostly not in cache. The file `cells.bin` holds `SSPCELL2`, the
//! quantizer's bytes, the cell offsets (`u64`), the rows cell by cell (`u32`) and each
//! stored vector's inverse norm once widened (`f32`, by position), little-endian; its
//! XXH3-64 is in the manifest. (`SSPCELL1` files, from before, describe vectors stored in
//! row order, with inverse norms by row; they are read as such.)
//!
//! [`dot`]: crate::linalg::dot

use std::ops::Range;

use half::f16;
use rayon::prelude::*;

use super::error::PoolError;
use super::search::{best_rows, Hit};
use crate::index::quantizer::{Quantizer, QuantizerParams};
use crate::linalg::{dot, dot_half, inverse_norm, scores_into, widen_scaled};
use crate::progress::Silent;
use crate::store::HeldRef;

/// The file's name in a segment folder.
pub(crate) const CELLS_FILE: &str = "cells.bin";
const MAGIC: &[u8; 8] = b"SSPCELL2";
/// Cells of a segment whose vectors are stored in row order.
const MAGIC_ROW_ORDER: &[u8; 8] = b"SSPCELL1";
/// Rows per cell, on average.
pub(crate) const CELL_ROWS: usize = 256;
/// Cells a candidate's rows are scored in.
pub(crate) const PROBES: usize = 24;
/// Groups of cells a candidate looks for its cells in. At 1M pool rows (62 groups), 8,
/// 16 and 32 groups gave 0.9933, 0.9957 and 0.9977 of exact search's decisions on the
/// near candidates of `scripts/bench-pool.sh`, in about the same time.
const COARSE_PROBES: usize = 32;
/// Probers from which a cell's products are one matrix product: at 100k pool rows
/// (about 60 probers a cell for 1,000 candidates) it halves `add`'s time against products
/// one by one; at 1M (about 6) 4, 8, 16 and 32 all measured within noise of each other.
const GEMM_PROBERS: usize = 16;
/// Groups of cells a row looks for its own cell in when the cells are built. At 1M pool
/// rows, 8 gave the same decisions on the near candidates of `scripts/bench-pool.sh` as
/// 32 (2,993 of 3,000), with the import 15.6 s instead of 23.3 s.
const ASSIGN_COARSE_PROBES: usize = 8;
/// Rows widened at a time to find their cells.
const ASSIGN_CHUNK: usize = 1 << 16;

/// A segment's cells and their rows.
#[derive(Debug)]
pub(crate) struct Cells {
    quantizer: Quantizer,
    /// Cell `c` holds rows `rows[offsets[c]..offsets[c + 1]]`, in row order.
    offsets: Vec<usize>,
    rows: Vec<u32>,
    /// Each stored vector's inverse norm once widened ([`inverse_norm`]): what widening
    /// scales it by to make its canonical vector, kept so a search widens and scales in
    /// one pass.
    scales: Vec<f32>,
    /// Whether the segment's vectors are stored cell by cell (position `p` holds row
    /// `rows[p]`); otherwise in row order.
    cell_order: bool,
}

impl Cells {
    /// Fits cells to `halves` (the segment's `f16` rows, `dim` wide, in row order) and
    /// lists each row in its nearest one, for vectors to be stored in
    /// [`order`](Self::order). Seeded: the same rows give the same cells.
    pub fn build(halves: &[f16], dim: usize) -> Result<Cells, PoolError> {
        let n = halves.len() / dim;
        let params = QuantizerParams {
            lists: (n / CELL_ROWS).max(1),
            fit_per_list: 32,
            iterations: 6,
            seed: 0,
        };
        let quantizer = Quantizer::fit(HeldRef::F16(halves), dim, params, &Silent)?;
        let mut own = Vec::with_capacity(n);
        let mut scales = Vec::with_capacity(n);
        let mut buf = Vec::new();
        for chunk in halves.chunks(ASSIGN_CHUNK * dim) {
            buf.resize(chunk.len(), 0.0);
            widen_scaled(chunk, 1.0, &mut buf);
            for row in buf.chunks_exact_mut(dim) {
                let inv = inverse_norm(row);
                scales.push(inv);
                row.iter_mut().for_each(|x| *x *= inv);
            }
            let (best, _) = quantizer.best_cells(&buf, 1, ASSIGN_COARSE_PROBES, None)?;
            own.extend(best.iter().map(|&(c, _)| c));
        }
        let lists = quantizer.lists();
        let mut offsets = vec![0usize; lists + 1];
        for &c in &own {
            offsets[c as usize + 1] += 1;
        }
        for c in 0..lists {
            offsets[c + 1] += offsets[c];
        }
        let mut at = offsets.clone();
        let mut rows = vec![0u32; n];
        for (r, &c) in own.iter().enumerate() {
            rows[at[c as usize]] = r as u32;
            at[c as usize] += 1;
        }
        let scales = rows.iter().map(|&r| scales[r as usize]).collect();
        Ok(Cells {
            quantizer,
            offsets,
            rows,
            scales,
            cell_order: true,
        })
    }

    /// The rows cell by cell: the order the segment stores its vectors in when
    /// [`cell_order`](Self::cell_order).
    pub fn order(&self) -> &[u32] {
        &self.rows
    }

    /// Whether the segment stores its vectors cell by cell ([`order`](Self::order));
    /// otherwise in row order.
    pub fn cell_order(&self) -> bool {
        self.cell_order
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = if self.cell_order {
            MAGIC
        } else {
            MAGIC_ROW_ORDER
        }
        .to_vec();
        out.extend_from_slice(&self.quantizer.to_bytes());
        out.extend_from_slice(&(self.offsets.len() as u64).to_le_bytes());
        for &o in &self.offsets {
            out.extend_from_slice(&(o as u64).to_le_bytes());
        }
        for &r in &self.rows {
            out.extend_from_slice(&r.to_le_bytes());
        }
        for &x in &self.scales {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Reads cells [`to_bytes`](Self::to_bytes) wrote for a segment of `rows` rows of
    /// width `dim`; the error says what was wrong.
    pub fn from_bytes(bytes: &[u8], rows: usize, dim: usize) -> Result<Cells, String> {
        let (body, cell_order) = match bytes.strip_prefix(MAGIC.as_slice()) {
            Some(body) => (body, true),
            None => bytes
                .strip_prefix(MAGIC_ROW_ORDER.as_slice())
                .map(|body| (body, false))
                .ok_or("not a cells file (no SSPCELL2 or SSPCELL1)")?,
        };
        let (quantizer, rest) = Quantizer::from_bytes(body)?;
        if quantizer.dim() != dim {
            return Err(format!("cells of width {}, rows of {dim}", quantizer.dim()));
        }
        let lists = quantizer.lists();
        let want = 8 + (lists + 1) * 8 + rows * 8;
        if rest.len() != want
            || u64::from_le_bytes(rest[..8].try_into().expect("8")) as usize != lists + 1
        {
            return Err(format!(
                "{} bytes of row lists; {lists} cells of {rows} rows need {want}",
                rest.len()
            ));
        }
        let offsets: Vec<usize> = rest[8..8 + (lists + 1) * 8]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8")) as usize)
            .collect();
        let at = 8 + (lists + 1) * 8;
        let list: Vec<u32> = rest[at..at + rows * 4]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4")))
            .collect();
        let scales: Vec<f32> = rest[at + rows * 4..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
            .collect();
        let ok = offsets[0] == 0
            && offsets[lists] == rows
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && list.iter().all(|&r| (r as usize) < rows);
        if !ok {
            return Err("cell offsets or rows out of range".into());
        }
        Ok(Cells {
            quantizer,
            offsets,
            rows: list,
            scales,
            cell_order,
        })
    }

    /// For each canonical vector of `canon`: its `k` nearest among the rows of its
    /// [`PROBES`] nearest cells (ids from `first_id`), best first, with [`dot`] scores.
    ///
    /// [`dot`]: crate::linalg::dot
    pub fn nearest(
        &self,
        halves: &[f16],
        dim: usize,
        first_id: u64,
        canon: &[f32],
        k: usize,
    ) -> Result<Vec<Vec<Hit>>, PoolError> {
        let n = canon.len() / dim;
        let (cells, starts) = self
            .quantizer
            .best_cells(canon, PROBES, COARSE_PROBES, None)?;
        // Each cell's probing candidates.
        let mut probers: Vec<(u32, u32)> = Vec::with_capacity(cells.len());
        for q in 0..n {
            for &(c, _) in &cells[starts[q]..starts[q + 1]] {
                probers.push((c, q as u32));
            }
        }
        probers.sort_unstable();
        let runs: Vec<Range<usize>> = {
            let mut runs = Vec::new();
            let mut s = 0;
            for i in 1..=probers.len() {
                if i == probers.len() || probers[i].0 != probers[s].0 {
                    runs.push(s..i);
                    s = i;
                }
            }
            runs
        };
        let found: Vec<(u32, Vec<Hit>)> = runs
            .par_iter()
            .flat_map_iter(|run| {
                let cell = probers[run.start].0 as usize;
                let span = self.offsets[cell]..self.offsets[cell + 1];
                let members = &self.rows[span.clone()];
                let queries = probers[run.clone()].iter().map(|p| p.1);
                // Member `j`'s stored vector and its scale.
                let stored = |j: usize| {
                    let v = if self.cell_order {
                        span.start + j
                    } else {
                        members[j] as usize
                    };
                    (&halves[v * dim..(v + 1) * dim], self.scales[v])
                };
                // A cell's products with its probers: one matrix product over the cell
                // widened once when it has many probers; with few, products one by one on
                // the stored halves as they are (too few for the product's packing, or
                // for widening the cell, to pay). Only the rows rescored are widened then.
                let width = members.len();
                let (mut own, mut line) = (vec![0f32; width], Vec::new());
                let mut wide = vec![0f32; dim];
                let matrix: Option<Vec<f32>> = (run.len() >= GEMM_PROBERS).then(|| {
                    let mut cell = vec![0f32; width * dim];
                    for (j, out) in cell.chunks_exact_mut(dim).enumerate() {
                        let (h, scale) = stored(j);
                        widen_scaled(h, scale, out);
                    }
                    let mut qs = Vec::with_capacity(run.len() * dim);
                    for (_, q) in &probers[run.clone()] {
                        qs.extend_from_slice(&canon[*q as usize * dim..(*q as usize + 1) * dim]);
                    }
                    let mut out = vec![0f32; run.len() * width];
                    scores_into(&qs, &cell, dim, &mut out);
                    out
                });
                queries
                    .enumerate()
                    .map(|(i, q)| {
                        let qv = &canon[q as usize * dim..(q as usize + 1) * dim];
                        let products: &[f32] = match &matrix {
                            Some(all) => &all[i * width..(i + 1) * width],
                            None => {
                                for (j, p) in own.iter_mut().enumerate() {
                                    let (h, scale) = stored(j);
                                    *p = dot_half(qv, h) * scale;
                                }
                                &own
                            }
                        };
                        let id = |j: usize| first_id + u64::from(members[j]);
                        let rescore = |j: usize| {
                            let (h, scale) = stored(j);
                            widen_scaled(h, scale, &mut wide);
                            dot(qv, &wide)
                        };
                        (q, best_rows(products, k, &mut line, id, rescore))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut out = vec![Vec::new(); n];
        for (q, hits) in found {
            out[q as usize].extend(hits);
        }
        for list in &mut out {
            super::sort_hits(list, k);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::testutil::unit_rows;
    use crate::pool::search::{narrow, widen_unit};

    /// Cells of vectors stored in row order (`SSPCELL1`, from before cell order) search
    /// exactly as the same cells over vectors stored cell by cell, and both survive a
    /// round trip through their bytes.
    #[test]
    fn row_order_and_cell_order_cells_find_the_same_rows() {
        let dim = 32;
        let n = 3000;
        let halves = narrow(&unit_rows(n, dim, 5));
        let cells = Cells::build(&halves, dim).unwrap();
        assert!(cells.cell_order());
        let mut sorted = Vec::with_capacity(halves.len());
        for &r in cells.order() {
            sorted.extend_from_slice(&halves[r as usize * dim..(r as usize + 1) * dim]);
        }
        let mut by_row = vec![0f32; n];
        for (&r, &s) in cells.rows.iter().zip(&cells.scales) {
            by_row[r as usize] = s;
        }
        let old = Cells {
            quantizer: cells.quantizer.clone(),
            offsets: cells.offsets.clone(),
            rows: cells.rows.clone(),
            scales: by_row,
            cell_order: false,
        };
        let old = Cells::from_bytes(&old.to_bytes(), n, dim).unwrap();
        let new = Cells::from_bytes(&cells.to_bytes(), n, dim).unwrap();
        assert!(!old.cell_order() && new.cell_order());
        let (mut queries, mut stored) = (Vec::new(), Vec::new());
        widen_unit(&narrow(&unit_rows(200, dim, 6)), dim, &mut queries);
        // Some queries are stored rows: each finds itself first.
        widen_unit(&halves[..20 * dim], dim, &mut stored);
        queries.extend_from_slice(&stored);
        let a = new.nearest(&sorted, dim, 7, &queries, 5).unwrap();
        let b = old.nearest(&halves, dim, 7, &queries, 5).unwrap();
        assert_eq!(a, b);
        for (i, hits) in a[200..].iter().enumerate() {
            assert_eq!(hits[0].id, 7 + i as u64);
        }
        assert!(a.iter().all(|hits| hits.len() == 5));
        // Alone, a query is its cells' only prober: products one by one on the stored
        // halves instead of one matrix product per cell, and the same hits.
        assert!(
            queries.len() / dim >= GEMM_PROBERS,
            "together, a matrix product a cell"
        );
        for i in [0, 13, 200, 219] {
            let alone = new.nearest(&sorted, dim, 7, &queries[i * dim..(i + 1) * dim], 5);
            assert_eq!(alone.unwrap()[0], a[i], "query {i}");
        }
    }
}
