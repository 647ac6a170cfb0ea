//! Every row of a file as a JSON object, whatever its format: what a row *is*, beyond the
//! columns a job reads (a pool stores whole rows).

use std::path::Path;

use serde_json::{Map, Value};

use super::split::{split_with, Route, SplitOptions};
use super::DatasetError;
use crate::progress::Progress;

/// Calls `each(row, object)` for every row of `input`, in order, as [`split_with`] hands
/// removed rows over: JSON objects as they are, CSV/TSV rows as `{column: text}`, Parquet
/// rows as `arrow_json` renders them, text lines as `{"text": line}`. Returns the rows
/// read. Reading errors are [`split_with`]'s (the first bad row ends the pass).
pub fn for_each_record(
    input: &Path,
    opts: &SplitOptions,
    each: &mut dyn FnMut(u64, Map<String, Value>) -> Result<(), DatasetError>,
    progress: &dyn Progress,
) -> Result<u64, DatasetError> {
    // The split writes the rows it keeps (none) to a file: an empty one in a folder of
    // its own, removed afterwards.
    let dir = crate::scratch::temp_path("records");
    std::fs::create_dir(&dir).map_err(|e| DatasetError::output(&dir, e))?;
    let result = split_with(
        input,
        opts,
        &dir.join("kept"),
        &mut |_| Route::Remove,
        each,
        progress,
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(result?.rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn every_format_gives_its_rows_as_objects() {
        let tmp = tempfile::tempdir().unwrap();
        let cases: [(&str, &str, Vec<Value>); 4] = [
            (
                "a.jsonl",
                "{\"text\": \"x\", \"n\": 1, \"tags\": [\"a\"]}\n\n{\"text\": \"y\", \"n\": 2}\n",
                vec![
                    serde_json::json!({"text": "x", "n": 1, "tags": ["a"]}),
                    serde_json::json!({"text": "y", "n": 2}),
                ],
            ),
            (
                "a.json",
                "[{\"text\": \"x\"}, {\"text\": \"y\", \"k\": null}]",
                vec![
                    serde_json::json!({"text": "x"}),
                    serde_json::json!({"text": "y", "k": null}),
                ],
            ),
            (
                "a.csv",
                "text,label\n\"x, quoted\",1\ny,2\n",
                vec![
                    serde_json::json!({"text": "x, quoted", "label": "1"}),
                    serde_json::json!({"text": "y", "label": "2"}),
                ],
            ),
            (
                "a.txt",
                "x\ny\n",
                vec![
                    serde_json::json!({"text": "x"}),
                    serde_json::json!({"text": "y"}),
                ],
            ),
        ];
        for (name, content, want) in cases {
            let path = tmp.path().join(name);
            std::fs::write(&path, content).unwrap();
            let mut got = Vec::new();
            let rows = for_each_record(
                &path,
                &SplitOptions::default(),
                &mut |row, object| {
                    got.push((row, Value::Object(object)));
                    Ok(())
                },
                &Silent,
            )
            .unwrap();
            assert_eq!(rows, want.len() as u64, "{name}");
            let rows: Vec<u64> = got.iter().map(|(r, _)| *r).collect();
            assert_eq!(rows, (0..want.len() as u64).collect::<Vec<_>>(), "{name}");
            let values: Vec<Value> = got.into_iter().map(|(_, v)| v).collect();
            assert_eq!(values, want, "{name}");
        }
        // The input is untouched and nothing is left behind.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 4);
    }
}
