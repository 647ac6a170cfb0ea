//! The rows a report clusters: each set's unique rows with their copy counts, and the
//! non-empty ones of all sets numbered as one list of points.

use std::borrow::Cow;

use super::job::ReportSet;
use super::model::SetInfo;

/// A set with what the report needs about its rows.
pub(super) struct Set<'a> {
    pub(super) rows: ReportSet<'a>,
    /// Rows per unique row (1 + its exact copies).
    pub(super) counts: Vec<u32>,
    /// Unique rows whose every column is empty or white space.
    pub(super) empty: Vec<bool>,
}

impl<'a> Set<'a> {
    pub(super) fn new(rows: ReportSet<'a>) -> Self {
        let mut counts = vec![0u32; rows.groups.groups()];
        for &g in rows.groups.group_of_row() {
            counts[g as usize] += 1;
        }
        let texts = rows.texts;
        let empty = (0..texts.len())
            .map(|u| (0..texts.columns()).all(|c| texts.get(u, c).trim().is_empty()))
            .collect();
        Set {
            rows,
            counts,
            empty,
        }
    }

    pub(super) fn non_empty_rows(&self) -> u64 {
        self.counts
            .iter()
            .zip(&self.empty)
            .filter(|(_, &e)| !e)
            .map(|(&c, _)| c as u64)
            .sum()
    }

    pub(super) fn info(&self) -> SetInfo {
        SetInfo {
            path: self.rows.name.to_string(),
            rows: self.rows.groups.rows() as u64,
            unique_rows: self.rows.groups.groups() as u64,
            empty_rows: self.rows.groups.rows() as u64 - self.non_empty_rows(),
            skipped_rows: self.rows.skipped_rows,
        }
    }

    /// The file's own row number (skipped rows counted) of read row `i`.
    pub(super) fn file_row(&self, i: u64) -> u64 {
        self.rows.numbers.file_row(i)
    }

    /// The text of unique row `u`, columns joined with `sep`.
    pub(super) fn text(&self, u: usize, sep: &str) -> String {
        let t = self.rows.texts;
        (0..t.columns())
            .map(|c| t.get(u, c))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// The rows being clustered: the non-empty unique rows of the input, then of the
/// reference.
pub(super) struct Points<'a> {
    pub(super) sets: Vec<&'a Set<'a>>,
    /// `(set, unique row)` of each point.
    pub(super) origin: Vec<(u8, u32)>,
    /// Point id of each unique row of each set (`None` for empty rows).
    pub(super) point_of: Vec<Vec<Option<u32>>>,
    pub(super) vectors: Cow<'a, [f32]>,
}

impl<'a> Points<'a> {
    pub(super) fn new(sets: Vec<&'a Set<'a>>, dim: usize) -> Self {
        let mut origin = Vec::new();
        let mut point_of = Vec::new();
        for (s, set) in sets.iter().enumerate() {
            let ids = set
                .empty
                .iter()
                .enumerate()
                .map(|(u, &e)| {
                    (!e).then(|| {
                        origin.push((s as u8, u as u32));
                        (origin.len() - 1) as u32
                    })
                })
                .collect();
            point_of.push(ids);
        }
        let all_of_first = sets.len() == 1 && origin.len() == sets[0].empty.len();
        let vectors = if all_of_first {
            Cow::Borrowed(sets[0].rows.vectors)
        } else {
            let mut v = Vec::with_capacity(origin.len() * dim);
            for &(s, u) in &origin {
                v.extend_from_slice(&sets[s as usize].rows.vectors[u as usize * dim..][..dim]);
            }
            Cow::Owned(v)
        };
        Points {
            sets,
            origin,
            point_of,
            vectors,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.origin.len()
    }

    pub(super) fn count(&self, p: u32) -> u32 {
        let (s, u) = self.origin[p as usize];
        self.sets[s as usize].counts[u as usize]
    }

    pub(super) fn text(&self, p: u32, sep: &str) -> String {
        let (s, u) = self.origin[p as usize];
        self.sets[s as usize].text(u as usize, sep)
    }
}
