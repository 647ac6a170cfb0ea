//! Parquet: streamed in record batches, projected to the requested string columns.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use super::{DatasetError, Record};

/// Rows decoded per record batch.
const BATCH_SIZE: usize = 8192;

/// Rows of a Parquet file.
pub(super) struct ParquetRows {
    path: PathBuf,
    batches: ParquetRecordBatchReader,
    columns: Vec<String>,
    /// The requested columns of the current batch, in request order.
    current: Vec<StrColumn>,
    /// Rows in the current batch, and the next one to return.
    len: usize,
    pos: usize,
    row: u64,
    done: bool,
}

impl ParquetRows {
    /// Reads the footer, checks that every requested column exists and holds strings, and
    /// prepares a reader that decodes only those columns.
    pub(super) fn new(
        path: PathBuf,
        file: File,
        columns: Vec<String>,
    ) -> Result<Self, DatasetError> {
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(&path, e))?;
        let schema = builder.schema().clone();
        let mut roots = Vec::with_capacity(columns.len());
        for column in &columns {
            let Ok(index) = schema.index_of(column) else {
                return Err(DatasetError::MissingColumn {
                    path,
                    line: 1,
                    column: column.clone(),
                    available: schema.fields().iter().map(|f| f.name().clone()).collect(),
                });
            };
            let data_type = schema.field(index).data_type();
            if !matches!(
                data_type,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) {
                return Err(DatasetError::UnsupportedType {
                    path,
                    column: column.clone(),
                    found: data_type.to_string(),
                });
            }
            roots.push(index);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let batches = builder
            .with_projection(mask)
            .with_batch_size(BATCH_SIZE)
            .build()
            .map_err(|e| parquet_error(&path, e))?;
        Ok(ParquetRows {
            path,
            batches,
            columns,
            current: Vec::new(),
            len: 0,
            pos: 0,
            row: 0,
            done: false,
        })
    }

    /// Makes `batch` the current batch.
    fn load(&mut self, batch: RecordBatch) -> Result<(), DatasetError> {
        self.current = self
            .columns
            .iter()
            .map(|name| {
                let array = batch
                    .column_by_name(name)
                    .ok_or_else(|| DatasetError::Parquet {
                        path: self.path.clone(),
                        message: format!("column `{name}` missing from a decoded batch"),
                    })?;
                StrColumn::new(array).ok_or_else(|| DatasetError::UnsupportedType {
                    path: self.path.clone(),
                    column: name.clone(),
                    found: array.data_type().to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        self.len = batch.num_rows();
        self.pos = 0;
        Ok(())
    }

    /// The requested texts of row `i` of the current batch.
    fn texts(&self, i: usize, line: u64) -> Result<Vec<String>, DatasetError> {
        self.current
            .iter()
            .zip(&self.columns)
            .map(|(array, column)| {
                array
                    .get(i)
                    .map(str::to_string)
                    .ok_or_else(|| DatasetError::NullValue {
                        path: self.path.clone(),
                        line,
                        column: column.clone(),
                    })
            })
            .collect()
    }
}

impl Iterator for ParquetRows {
    type Item = Result<Record, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done && self.pos == self.len {
            let loaded = match self.batches.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(batch) => batch
                    .map_err(|e| DatasetError::Parquet {
                        path: self.path.clone(),
                        message: e.to_string(),
                    })
                    .and_then(|batch| self.load(batch)),
            };
            if let Err(e) = loaded {
                self.done = true;
                return Some(Err(e));
            }
        }
        if self.done {
            return None;
        }
        let i = self.pos;
        self.pos += 1;
        let row = self.row;
        self.row += 1;
        let line = row + 1;
        Some(self.texts(i, line).map(|texts| Record { row, line, texts }))
    }
}

/// One string column of a batch, whichever of the three Arrow string layouts it uses.
enum StrColumn {
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
}

impl StrColumn {
    fn new(array: &ArrayRef) -> Option<Self> {
        match array.data_type() {
            DataType::Utf8 => Some(StrColumn::Utf8(array.as_string::<i32>().clone())),
            DataType::LargeUtf8 => Some(StrColumn::LargeUtf8(array.as_string::<i64>().clone())),
            DataType::Utf8View => Some(StrColumn::Utf8View(array.as_string_view().clone())),
            _ => None,
        }
    }

    /// The value at `i`, or `None` for a null.
    fn get(&self, i: usize) -> Option<&str> {
        match self {
            StrColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::LargeUtf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::Utf8View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> DatasetError {
    DatasetError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    };
    use parquet::arrow::ArrowWriter;

    use super::super::testutil::*;
    use super::super::{open, Compression, DatasetError, Format, ReadOptions};

    /// Writes a Parquet file with `n` rows: `text` (Utf8, null at `null_at`), `large`
    /// (LargeUtf8), `view` (Utf8View) and `num` (Int64).
    fn write_parquet(
        name: &str,
        n: usize,
        null_at: Option<usize>,
    ) -> (tempfile::TempDir, std::path::PathBuf) {
        let text: StringArray = (0..n)
            .map(|i| (Some(i) != null_at).then(|| format!("text {i}")))
            .collect();
        let large: LargeStringArray = (0..n).map(|i| Some(format!("large {i}"))).collect();
        let view: StringViewArray = (0..n)
            .map(|i| Some(format!("a longer view value, not inlined: {i}")))
            .collect();
        let num = Int64Array::from_iter_values(0..n as i64);
        let batch = RecordBatch::try_from_iter([
            ("text", Arc::new(text) as ArrayRef),
            ("large", Arc::new(large) as ArrayRef),
            ("num", Arc::new(num) as ArrayRef),
            ("view", Arc::new(view) as ArrayRef),
        ])
        .unwrap();
        let mut buf = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        write_file(name, &buf)
    }

    #[test]
    fn reads_all_string_layouts() {
        let (_dir, path) = write_parquet("a.parquet", 3, None);
        let reader = open(&path, &ReadOptions::new(["view", "text", "large"])).unwrap();
        assert_eq!(reader.format(), Format::Parquet);
        assert_eq!(reader.compression(), Compression::None);
        let recs: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(recs.len(), 3);
        assert_eq!((recs[2].row, recs[2].line), (2, 3));
        assert_eq!(
            recs[2].texts,
            vec!["a longer view value, not inlined: 2", "text 2", "large 2"]
        );
    }

    #[test]
    fn streams_across_batches() {
        let n = 20_000;
        let (_dir, path) = write_parquet("a.pq", n, None);
        let reader = open(&path, &ReadOptions::new(["large"])).unwrap();
        let mut count = 0u64;
        for rec in reader {
            let rec = rec.unwrap();
            assert_eq!(rec.row, count);
            assert_eq!(rec.texts[0], format!("large {count}"));
            count += 1;
        }
        assert_eq!(count, n as u64);
    }

    #[test]
    fn null_value_reports_row() {
        let (_dir, path) = write_parquet("a.parquet", 5, Some(3));
        let mut reader = open(&path, &ReadOptions::new(["text"])).unwrap();
        let results: Vec<_> = reader.by_ref().collect();
        assert_eq!(results.len(), 5);
        let err = results[3].as_ref().unwrap_err();
        assert!(
            matches!(err, DatasetError::NullValue { line: 4, column, .. } if column == "text"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("{}:4: column `text` is null", path.display())
        );
        assert_eq!(results[4].as_ref().unwrap().texts, vec!["text 4"]);
    }

    #[test]
    fn missing_column_and_wrong_type() {
        let (_dir, path) = write_parquet("a.parquet", 2, None);
        let err = open(&path, &ReadOptions::new(["body"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}:1: column `body` not found (available: text, large, num, view)",
                path.display()
            )
        );
        let err = open(&path, &ReadOptions::new(["text", "num"])).unwrap_err();
        match &err {
            DatasetError::UnsupportedType { column, found, .. } => {
                assert_eq!(column, "num");
                assert_eq!(found, "Int64");
            }
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn empty_and_invalid_files() {
        let (_dir, path) = write_parquet("a.parquet", 0, None);
        let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
        assert!(matches!(err, DatasetError::Empty { .. }), "{err}");
        let (_dir, path) = write_file("b.parquet", b"not parquet at all");
        let err = open(&path, &ReadOptions::new(["text"])).unwrap_err();
        assert!(matches!(err, DatasetError::Parquet { .. }), "{err}");
    }

    #[test]
    fn compressed_wrapper_is_rejected() {
        let (_dir, path) = write_parquet("a.parquet", 2, None);
        let zst = zstd::encode_all(&std::fs::read(&path).unwrap()[..], 1).unwrap();
        let (_dir2, zpath) = write_file("a.parquet.zst", &zst);
        let err = open(&zpath, &ReadOptions::new(["text"])).unwrap_err();
        assert!(
            matches!(
                err,
                DatasetError::CompressedParquet {
                    compression: Compression::Zstd,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("zstd-compressed Parquet is not supported"));
    }
}
