//! Field paths and chat presets over Python records (dicts): the record's top-level value
//! becomes JSON and [`Field`] follows the path into it, as the file readers do.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::dataset::{Chat, Field, FieldError};

/// The chat preset named `chat` (`None`: no preset); a bad name is a `ValueError`.
pub fn chat(chat: Option<&str>) -> PyResult<Option<Chat>> {
    chat.map(|c| {
        c.parse::<Chat>()
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("chat: {e}")))
    })
    .transpose()
}

/// The text `column` (a key or a field path) selects in each of `records` (dicts), with
/// the chat preset `chat` applied.
#[pyfunction]
#[pyo3(signature = (records, column, chat=None))]
pub fn select_texts(
    py: Python<'_>,
    records: Bound<'_, PyAny>,
    column: &str,
    chat: Option<&str>,
) -> PyResult<Vec<String>> {
    let field = Field::new(column, self::chat(chat)?);
    let mut out = Vec::new();
    for (i, record) in records.try_iter()?.enumerate() {
        let record = record?;
        let dict = record.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!(
                "record {i} is {}, not a dict",
                record
                    .get_type()
                    .name()
                    .map_or("?".into(), |n| n.to_string())
            ))
        })?;
        let Some(root) = field.root_in(|k| dict.contains(k).unwrap_or(false)) else {
            let message = format!("record {i} has no column '{}'", field.spec());
            return Err(missing(py, i as u64, column, &message));
        };
        let value = dict.get_item(root)?.expect("checked above");
        let json = to_json(&value, i, root)?;
        match field.select_from(root, &json) {
            Ok(text) => out.push(text),
            Err(e) => return Err(field_error(py, "record", i as u64, column, &e)),
        }
    }
    Ok(out)
}

/// The top-level column a field path starts from (`messages[0].content` → `messages`;
/// a name that is not a path is its own root).
#[pyfunction]
pub fn field_root(column: &str) -> String {
    Field::new(column, None).root().to_string()
}

/// The Python exception for a field that cannot be read from `noun` (`record` or `row`)
/// `row`: `MissingColumnError` for a missing or null column, `FieldPathError` for a path
/// that fails further in.
pub fn field_error(py: Python<'_>, noun: &str, row: u64, column: &str, e: &FieldError) -> PyErr {
    match e {
        FieldError::Missing { .. } => missing(
            py,
            row,
            column,
            &format!("{noun} {row} has no column '{column}'"),
        ),
        FieldError::Null { column: at } => missing(
            py,
            row,
            column,
            &format!("{noun} {row}: column '{at}' is null"),
        ),
        FieldError::Path(m) => typed(
            py,
            "FieldPathError",
            row,
            column,
            &format!("{noun} {row}: field '{column}': {m}"),
        ),
    }
}

/// A `semsift.errors.MissingColumnError`.
pub fn missing(py: Python<'_>, row: u64, column: &str, message: &str) -> PyErr {
    typed(py, "MissingColumnError", row, column, message)
}

fn typed(py: Python<'_>, class: &str, row: u64, column: &str, message: &str) -> PyErr {
    match py
        .import("semsift.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|cls| cls.call1((row, column, message)))
    {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// A Python value as JSON: dicts (string keys), lists and tuples, strings, numbers,
/// booleans and `None`. Anything else is a `TypeError` naming the record and column.
fn to_json(value: &Bound<'_, PyAny>, record: usize, column: &str) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if value.is_instance_of::<PyString>() {
        return Ok(Value::String(value.extract()?));
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        return Ok(Value::String(value.str()?.to_string()));
    }
    if value.is_instance_of::<PyFloat>() {
        let f: f64 = value.extract()?;
        return Ok(Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "record {record}: column '{column}' holds a dict with a key that is not a string"
                ))
            })?;
            map.insert(key, to_json(&v, record, column)?);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|v| to_json(&v?, record, column))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "record {record}: column '{column}' holds {}, which has no text",
        value
            .get_type()
            .name()
            .map_or("?".into(), |n| n.to_string())
    )))
}
