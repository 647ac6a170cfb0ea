//! Tables from Python through the Arrow PyCapsule interface (`__arrow_c_stream__`):
//! pyarrow Tables and RecordBatches, pandas DataFrames (through pyarrow), Hugging Face
//! `datasets` (their Arrow table), Polars and anything else that exports an Arrow stream.
//! The batches are read in Rust; no row becomes a Python object.

use std::ffi::CStr;

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{Array, RecordBatch, RecordBatchReader};
use arrow_schema::DataType;
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};

use crate::dataset::Field;

const STREAM: &CStr = c"arrow_array_stream";

/// The Arrow stream `data` exports, with the index in its schema of the top-level column
/// each field reads. A column that is not there is a `KeyError` naming it and the columns
/// that are; a column read as it is (no path, no chat preset) that is not text (string,
/// large string, string view, or dictionary of strings) is a `TypeError` naming its type.
pub fn stream(
    data: &Bound<'_, PyAny>,
    fields: &[Field],
) -> PyResult<(RecordBatchStreamReader, Vec<usize>)> {
    let capsule = data.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let pointer = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: the capsule is named `arrow_array_stream`, which the Arrow PyCapsule
    // interface reserves for a pointer to an `ArrowArrayStream` C struct, the layout of
    // `FFI_ArrowArrayStream`. `from_raw` moves the struct out and leaves a released one
    // behind (its `release` set to null), which the capsule's destructor then skips, so
    // the stream is released exactly once, by the reader. No Python code runs between
    // taking the pointer and reading it.
    let reader = unsafe {
        RecordBatchStreamReader::from_raw(pointer.as_ptr().cast::<FFI_ArrowArrayStream>())
    }
    .map_err(|e| PyValueError::new_err(format!("cannot read the Arrow stream: {e}")))?;
    let schema = reader.schema();
    let mut indices = Vec::with_capacity(fields.len());
    for field in fields {
        let name = field.spec();
        let Some(i) = field
            .root_in(|k| schema.index_of(k).is_ok())
            .and_then(|root| schema.index_of(root).ok())
        else {
            let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(PyKeyError::new_err(format!(
                "column '{name}' is not in the table (its columns: {})",
                have.join(", ")
            )));
        };
        let t = schema.field(i).data_type();
        if !field.is_nested() && !is_text(t) {
            return Err(PyTypeError::new_err(format!(
                "column '{name}' holds {t}, not text: semsift embeds string columns (convert it to strings first, or name a path into it, or pass chat=)"
            )));
        }
        indices.push(i);
    }
    Ok((reader, indices))
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(
            **v,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ),
        _ => false,
    }
}

/// Column `i` of `batch` as text: `f(row, text)` for every row, or `Err(row)` at the
/// first null.
pub fn for_each_text(
    batch: &RecordBatch,
    i: usize,
    mut f: impl FnMut(usize, &str),
) -> Result<(), usize> {
    use arrow_array::cast::AsArray;
    let column = batch.column(i);
    let owned;
    let column = if let DataType::Dictionary(..) = column.data_type() {
        owned = arrow_cast::cast(column, &DataType::Utf8)
            .expect("a dictionary of strings casts to strings");
        &owned
    } else {
        column
    };
    if let Some(row) = (0..column.len()).find(|&r| column.is_null(r)) {
        return Err(row);
    }
    match column.data_type() {
        DataType::Utf8 => column
            .as_string::<i32>()
            .iter()
            .enumerate()
            .for_each(|(r, s)| f(r, s.unwrap_or(""))),
        DataType::LargeUtf8 => column
            .as_string::<i64>()
            .iter()
            .enumerate()
            .for_each(|(r, s)| f(r, s.unwrap_or(""))),
        DataType::Utf8View => column
            .as_string_view()
            .iter()
            .enumerate()
            .for_each(|(r, s)| f(r, s.unwrap_or(""))),
        other => unreachable!("checked by stream(): {other}"),
    }
    Ok(())
}

/// Reads every batch, handing each to `f`; stream errors become `ValueError`s.
pub fn for_each_batch(
    reader: RecordBatchStreamReader,
    mut f: impl FnMut(&RecordBatch) -> PyResult<()>,
) -> PyResult<()> {
    for batch in reader {
        let batch = batch
            .map_err(|e| PyValueError::new_err(format!("cannot read the Arrow stream: {e}")))?;
        f(&batch)?;
    }
    Ok(())
}
