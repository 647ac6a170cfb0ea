//! The vector of each unique row, stored once per distinct vector.

/// Row-major unit vectors looked up by unique row: directly (`data` holds one vector per
/// row) or through a map from row to a row of `data` (rows with bit-identical vectors
/// share one stored copy, so a million-row set with many such rows is not held twice).
#[derive(Debug, Clone, Copy)]
pub struct VectorRows<'a> {
    data: &'a [f32],
    dim: usize,
    map: Option<&'a [u32]>,
}

impl<'a> VectorRows<'a> {
    /// Row `i` is `data[i × dim..][..dim]`.
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        VectorRows {
            data,
            dim,
            map: None,
        }
    }

    /// Row `i` is row `map[i]` of `data`.
    pub fn mapped(data: &'a [f32], dim: usize, map: &'a [u32]) -> Self {
        VectorRows {
            data,
            dim,
            map: Some(map),
        }
    }

    /// Width of each vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The vector of row `i`.
    pub fn row(&self, i: usize) -> &'a [f32] {
        let r = self.map.map_or(i, |m| m[i] as usize);
        &self.data[r * self.dim..(r + 1) * self.dim]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_and_mapped_rows() {
        let data = [1.0, 0.0, 0.0, 1.0];
        let direct = VectorRows::new(&data, 2);
        assert_eq!(direct.row(1), &[0.0, 1.0]);
        let map = [1, 0, 1];
        let mapped = VectorRows::mapped(&data, 2, &map);
        assert_eq!(mapped.row(0), &[0.0, 1.0]);
        assert_eq!(mapped.row(2), &[0.0, 1.0]);
        assert_eq!(mapped.row(1), &[1.0, 0.0]);
    }
}
