//! A pool's rows, in id order, as a JSON Lines or Parquet file (`semsift pool export`,
//! `semsift.Pool.export`).

use std::path::Path;
use std::sync::Arc;

use arrow_json::reader::infer_json_schema_from_iterator;
use arrow_json::ReaderBuilder;
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as Codec, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use super::output::AtomicFile;
use crate::dataset::{Compression, Format};
use crate::pool::{Pool, PoolError};
use crate::progress::Progress;
use crate::Error;

/// The field an export adds to each row: its id in the pool. (Not `id`: rows often
/// have an `id` of their own.)
pub const ID_FIELD: &str = "pool_id";

/// Rows per Parquet batch (and per row group's worth of decoding).
const PARQUET_BATCH: usize = 8192;

/// Writes every row of `pool`, in id order, to `output` as `{"pool_id": id, ...the
/// row}`: JSON Lines for a `.jsonl` name, Parquet (zstd; columns inferred from every row,
/// `pool_id` first) for `.parquet`. Written atomically; `output` must not lie in the pool's folder.
/// Returns the rows written.
pub fn export_file(pool: &Pool, output: &Path, progress: &dyn Progress) -> Result<u64, Error> {
    let format = Format::from_path(output);
    if !matches!(format, Some(Format::Jsonl | Format::Parquet))
        || Compression::from_path(output) != Compression::None
    {
        return Err(Error::InvalidOption {
            name: "output",
            reason: format!("{}: a pool exports to .jsonl or .parquet", output.display()),
        });
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if absolute(output).starts_with(absolute(pool.dir())) {
        return Err(Error::InvalidOption {
            name: "output",
            reason: format!(
                "refusing to write {} inside the pool's folder",
                output.display()
            ),
        });
    }
    let mut file = AtomicFile::create(output.to_path_buf())?;
    let written = if format == Some(Format::Parquet) {
        write_parquet(pool, &mut file, progress)?
    } else {
        progress.begin("export", Some(pool.len()));
        let mut written = 0;
        for_each_line(pool, |line| {
            file.write_json_line(&Value::Object(line))
                .map_err(|e| file.error(e))?;
            written += 1;
            progress.advance(1);
            Ok(())
        })?;
        progress.end();
        written
    };
    file.commit()?;
    Ok(written)
}

/// Calls `each` with every row as it is exported: `{"pool_id": id, ...the row}`.
fn for_each_line(
    pool: &Pool,
    mut each: impl FnMut(Map<String, Value>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut failed = None;
    let result = pool.for_each_row(|id, row| {
        let value: Map<String, Value> =
            serde_json::from_str(row).map_err(|e| PoolError::BadSegment {
                path: pool.dir().to_path_buf(),
                reason: format!("row {id} is not a JSON object: {e}"),
            })?;
        if value.contains_key(ID_FIELD) {
            failed = Some(Error::InvalidOption {
                name: "output",
                reason: format!(
                    "row {id} of {} has a field {ID_FIELD:?} of its own, which the export \
                     adds",
                    pool.dir().display()
                ),
            });
            return Err(PoolError::Cancelled);
        }
        let mut line = Map::with_capacity(value.len() + 1);
        line.insert(ID_FIELD.into(), Value::from(id));
        line.extend(value);
        // `for_each_row` takes pool errors; keep any other and stop.
        each(line).map_err(|e| {
            failed = Some(e);
            PoolError::Cancelled
        })
    });
    match (result, failed) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
        (Ok(()), None) => Ok(()),
    }
}

/// Two passes over the rows: the columns from every row (arrow's JSON inference, fed
/// through a channel so no more than a few rows are held), then the rows in batches.
fn write_parquet(
    pool: &Pool,
    file: &mut AtomicFile,
    progress: &dyn Progress,
) -> Result<u64, Error> {
    let inferred = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Value>(1024);
        let reader = scope.spawn(move || {
            for_each_line(pool, |line| {
                // A closed channel means inference failed; its error is reported.
                tx.send(Value::Object(line))
                    .map_err(|_| Error::Pool(PoolError::Cancelled))
            })
        });
        let inferred = infer_json_schema_from_iterator(rx.into_iter().map(Ok));
        // (The receiver is gone now: a failed inference stops the reader.)
        let read = reader.join().expect("the row reader does not panic");
        match (inferred, read) {
            (Err(e), _) => Err(bad(pool, format!("cannot infer Parquet columns: {e}"))),
            (Ok(_), Err(e)) => Err(e),
            (Ok(schema), Ok(())) => Ok(schema),
        }
    })?;
    // The id first, always a non-null u64.
    let mut fields = vec![Arc::new(Field::new(ID_FIELD, DataType::UInt64, false))];
    fields.extend(
        inferred
            .fields()
            .iter()
            .filter(|f| f.name() != ID_FIELD)
            .cloned(),
    );
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_compression(Codec::ZSTD(ZstdLevel::default()))
        .build();
    let path = file.path().to_path_buf();
    let failed = |e: String| Error::Output {
        path: path.clone(),
        source: std::io::Error::other(e),
    };
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(PARQUET_BATCH)
        .build_decoder()
        .map_err(|e| failed(e.to_string()))?;
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| failed(e.to_string()))?;
    progress.begin("export", Some(pool.len()));
    let mut batch: Vec<Value> = Vec::with_capacity(PARQUET_BATCH);
    let mut written = 0u64;
    let mut flush = |batch: &mut Vec<Value>, writer: &mut ArrowWriter<&mut AtomicFile>| {
        decoder
            .serialize(batch)
            .map_err(|e| failed(e.to_string()))?;
        if let Some(records) = decoder.flush().map_err(|e| failed(e.to_string()))? {
            writer.write(&records).map_err(|e| failed(e.to_string()))?;
        }
        progress.advance(batch.len() as u64);
        written += batch.len() as u64;
        batch.clear();
        Ok::<(), Error>(())
    };
    for_each_line(pool, |line| {
        batch.push(Value::Object(line));
        if batch.len() == PARQUET_BATCH {
            flush(&mut batch, &mut writer)?;
        }
        Ok(())
    })?;
    flush(&mut batch, &mut writer)?;
    writer.close().map_err(|e| failed(e.to_string()))?;
    progress.end();
    Ok(written)
}

fn bad(pool: &Pool, reason: String) -> Error {
    PoolError::BadSegment {
        path: pool.dir().to_path_buf(),
        reason,
    }
    .into()
}
