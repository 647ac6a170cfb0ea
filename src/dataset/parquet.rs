//! Parquet: streamed in record batches, projected to the requested columns. String
//! columns are read as they are; list, struct and map columns that a field path or chat
//! preset reads into are converted to JSON values batch by batch (through `arrow_json`).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use super::arrow_field::FieldColumn;
use super::{DatasetError, Field, Record};

/// Rows decoded per record batch.
const BATCH_SIZE: usize = 8192;

/// Rows of a Parquet file.
pub(super) struct ParquetRows {
    path: PathBuf,
    batches: ParquetRecordBatchReader,
    fields: Vec<Field>,
    /// The top-level column each field reads.
    roots: Vec<String>,
    /// The fields' columns in the current batch, in request order.
    current: Vec<FieldColumn>,
    /// Rows in the current batch, and the next one to return.
    len: usize,
    pos: usize,
    row: u64,
    done: bool,
}

impl ParquetRows {
    /// Reads the footer, checks that every requested column exists (and does not hold
    /// bytes), and prepares a reader that decodes
    /// only those columns.
    pub(super) fn new(path: PathBuf, file: File, fields: Vec<Field>) -> Result<Self, DatasetError> {
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(&path, e))?;
        let schema = builder.schema().clone();
        let mut indices = Vec::with_capacity(fields.len());
        let mut roots = Vec::with_capacity(fields.len());
        for field in &fields {
            let Some(root) = field.root_in(|name| schema.index_of(name).is_ok()) else {
                let available = schema.fields().iter().map(|f| f.name().clone()).collect();
                return Err(field.missing(available).at(&path, 1, field));
            };
            let index = schema.index_of(root).expect("found above");
            let data_type = schema.field(index).data_type();
            if is_binary(data_type) {
                return Err(DatasetError::UnsupportedType {
                    path,
                    column: root.to_string(),
                    found: data_type.to_string(),
                });
            }
            indices.push(index);
            roots.push(root.to_string());
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        let batches = builder
            .with_projection(mask)
            .with_batch_size(BATCH_SIZE)
            .build()
            .map_err(|e| parquet_error(&path, e))?;
        Ok(ParquetRows {
            path,
            batches,
            fields,
            roots,
            current: Vec::new(),
            len: 0,
            pos: 0,
            row: 0,
            done: false,
        })
    }

    /// Makes `batch` the current batch.
    fn load(&mut self, batch: RecordBatch) -> Result<(), DatasetError> {
        let mut current = Vec::with_capacity(self.fields.len());
        for (field, root) in self.fields.iter().zip(&self.roots) {
            let array = batch
                .column_by_name(root)
                .ok_or_else(|| DatasetError::Parquet {
                    path: self.path.clone(),
                    message: format!("column `{root}` missing from a decoded batch"),
                })?;
            let column =
                FieldColumn::new(field, root, array).map_err(|message| DatasetError::Parquet {
                    path: self.path.clone(),
                    message,
                })?;
            current.push(column);
        }
        self.current = current;
        self.len = batch.num_rows();
        self.pos = 0;
        Ok(())
    }

    /// The requested texts of row `i` of the current batch.
    fn texts(&self, i: usize, line: u64) -> Result<Vec<String>, DatasetError> {
        self.current
            .iter()
            .zip(&self.fields)
            .map(|(column, field)| {
                column
                    .text(i)
                    .map(String::from)
                    .map_err(|p| p.at(&self.path, line, field))
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

/// Whether a column holds bytes, which have no text to embed.
fn is_binary(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
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
        // Numbers render as their JSON text, as in JSON files.
        assert_eq!(
            texts(&path, &ReadOptions::new(["text", "num"])),
            vec![vec!["text 0", "0"], vec!["text 1", "1"]]
        );
        // Bytes have no text.
        let bytes = arrow_array::BinaryArray::from_iter_values([b"\x00\x01"]);
        let batch = RecordBatch::try_from_iter([("blob", Arc::new(bytes) as ArrayRef)]).unwrap();
        let mut buf = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let (_dir, path) = write_file("b.parquet", &buf);
        let err = open(&path, &ReadOptions::new(["blob"])).unwrap_err();
        match &err {
            DatasetError::UnsupportedType { column, found, .. } => {
                assert_eq!(column, "blob");
                assert_eq!(found, "Binary");
            }
            other => panic!("unexpected error {other}"),
        }
    }

    /// Writes `batch` to a Parquet file in a new temporary directory.
    fn write_batch(name: &str, batch: &RecordBatch) -> (tempfile::TempDir, std::path::PathBuf) {
        let mut buf = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
        write_file(name, &buf)
    }

    #[test]
    fn paths_read_into_lists_and_structs_across_batches() {
        use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder};
        use arrow_schema::{DataType, Field};
        // 20,000 rows (three record batches): `turns` list<struct<role, content>>, with
        // a null list at row 9,000 and an empty list at row 9,001.
        let n = 20_000;
        let fields = vec![
            Field::new("role", DataType::Utf8, true),
            Field::new("content", DataType::Utf8, true),
        ];
        let mut turns = ListBuilder::new(StructBuilder::from_fields(fields, n * 2));
        for i in 0..n {
            if i == 9_000 {
                turns.append(false);
                continue;
            }
            if i != 9_001 {
                for (role, content) in [("user", format!("q{i}")), ("assistant", format!("a{i}"))] {
                    let s = turns.values();
                    s.field_builder::<StringBuilder>(0)
                        .unwrap()
                        .append_value(role);
                    s.field_builder::<StringBuilder>(1)
                        .unwrap()
                        .append_value(content);
                    s.append(true);
                }
            }
            turns.append(true);
        }
        let batch =
            RecordBatch::try_from_iter([("turns", Arc::new(turns.finish()) as ArrayRef)]).unwrap();
        let (_dir, path) = write_batch("t.parquet", &batch);
        let results: Vec<_> = open(
            &path,
            &ReadOptions::new(["turns[-1].content", "turns[role=user].content"]),
        )
        .unwrap()
        .collect();
        assert_eq!(results.len(), n);
        for (i, r) in results.iter().enumerate() {
            match (i, r) {
                (9_000, Err(e)) => assert_eq!(
                    e.to_string(),
                    format!("{}:9001: column `turns` is null", path.display())
                ),
                (9_001, Err(e)) => assert_eq!(
                    e.to_string(),
                    format!(
                        "{}:9002: field `turns[-1].content`: `turns` has 0 elements; index -1 is out of range",
                        path.display()
                    )
                ),
                (_, Ok(r)) => {
                    assert_eq!((r.row, r.line), (i as u64, i as u64 + 1));
                    assert_eq!(r.texts, vec![format!("a{i}"), format!("q{i}")]);
                }
                (_, other) => panic!("row {i}: {other:?}"),
            }
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
