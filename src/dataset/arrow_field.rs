//! A field read from an Arrow column: Parquet record batches and the Arrow tables the
//! Python package receives go through the same code as JSON records.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow_schema::{DataType, Field as ArrowField, Schema};
use serde_json::Value;

use super::split::json_objects;
use super::{Field, FieldError};

/// One field's values in one batch: the rows of its top-level column, read as text when
/// the column holds strings and the field takes them as they are, else as JSON values that
/// the field's path and chat preset are followed into.
pub struct FieldColumn {
    field: Field,
    root: String,
    values: Values,
}

enum Values {
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
    Json(Vec<Value>),
}

impl FieldColumn {
    /// `field` over `array`, the batch's column named `root` (from
    /// [`Field::root_in`] over the schema). Fails when the column cannot be converted
    /// to JSON.
    pub fn new(field: &Field, root: &str, array: &ArrayRef) -> Result<Self, String> {
        // Text is taken as it is when no path step follows (a chat preset leaves text
        // alone too).
        let whole = field.steps_len() == 0 || root == field.spec();
        let values = match array.data_type() {
            DataType::Utf8 if whole => Values::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 if whole => Values::LargeUtf8(array.as_string::<i64>().clone()),
            DataType::Utf8View if whole => Values::Utf8View(array.as_string_view().clone()),
            _ => Values::Json(json_values(root, array)?),
        };
        Ok(FieldColumn {
            field: field.clone(),
            root: root.to_string(),
            values,
        })
    }

    /// The field's text in row `i`.
    pub fn text(&self, i: usize) -> Result<Cow<'_, str>, FieldError> {
        let text = match &self.values {
            Values::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Values::LargeUtf8(a) => a.is_valid(i).then(|| a.value(i)),
            Values::Utf8View(a) => a.is_valid(i).then(|| a.value(i)),
            Values::Json(values) => {
                return self
                    .field
                    .select_from(&self.root, &values[i])
                    .map(Cow::Owned)
            }
        };
        text.map(Cow::Borrowed).ok_or_else(|| FieldError::Null {
            column: self.root.clone(),
        })
    }
}

/// Every value of `array` (the column `root`) as JSON, nulls as `null`.
fn json_values(root: &str, array: &ArrayRef) -> Result<Vec<Value>, String> {
    let schema = Schema::new(vec![ArrowField::new(root, array.data_type().clone(), true)]);
    let one = RecordBatch::try_new(Arc::new(schema), vec![array.clone()])
        .map_err(|e| format!("column `{root}`: {e}"))?;
    let objects = json_objects(&one).map_err(|message| format!("column `{root}`: {message}"))?;
    Ok(objects
        .into_iter()
        .map(|mut object| object.remove(root).unwrap_or(Value::Null))
        .collect())
}
