//! Input file formats and how to guess them from a file name.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON Lines: one JSON object per line (`.jsonl`, `.ndjson`, and also `.json`).
    ///
    /// A file of this format whose first non-whitespace byte is `[` is read as a
    /// [`Format::JsonArray`] instead, and [`Reader::format`](super::Reader::format) says so.
    Jsonl,
    /// One top-level JSON array of objects, one row per element (`.json` files starting
    /// with `[`; detected from the contents of any [`Format::Jsonl`] file).
    JsonArray,
    /// Comma-separated values with a header row, unless
    /// [`ReadOptions::no_header`](super::ReadOptions::no_header) (`.csv`).
    Csv,
    /// Tab-separated values with a header row (unless
    /// [`ReadOptions::no_header`](super::ReadOptions::no_header)) and no quoting (`.tsv`).
    Tsv,
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// Plain text, one row per line, with the single column `text` (`.txt`, `.text`).
    Text,
}

impl Format {
    /// All formats, in a fixed order.
    pub const ALL: [Format; 6] = [
        Format::Jsonl,
        Format::JsonArray,
        Format::Csv,
        Format::Tsv,
        Format::Parquet,
        Format::Text,
    ];

    /// Guesses the format from the file name, ignoring a trailing `.gz` / `.zst`
    /// (case-insensitive).
    ///
    /// `.jsonl`, `.ndjson` and `.json` map to [`Format::Jsonl`]: the name cannot tell JSON
    /// Lines from a JSON array, so [`open`](super::open) and [`split`](super::split) look at
    /// the contents: a first non-whitespace byte `[` means [`Format::JsonArray`]. `.csv` maps to
    /// [`Format::Csv`], `.tsv` to [`Format::Tsv`], `.parquet`/`.pq` to
    /// [`Format::Parquet`], and `.txt`/`.text` to [`Format::Text`]. Anything else is `None`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .unwrap_or(&name);
        let (stem, ext) = name.rsplit_once('.')?;
        if stem.is_empty() {
            return None;
        }
        match ext {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "tsv" => Some(Format::Tsv),
            "parquet" | "pq" => Some(Format::Parquet),
            "txt" | "text" => Some(Format::Text),
            _ => None,
        }
    }

    /// The usual file extension, without the dot: `jsonl`, `json` (JSON array), `csv`, `tsv`,
    /// `parquet`, `txt`.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::JsonArray => "json",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Text => "txt",
        }
    }

    /// The canonical name, as accepted by [`FromStr`]: `jsonl`, `json-array`, `csv`, `tsv`,
    /// `parquet`, `text`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::JsonArray => "json-array",
            other => other.extension(),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error from parsing a [`Format`] name.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error(
    "unknown format `{name}` (expected one of: jsonl, json, json-array, csv, tsv, parquet, text)"
)]
pub struct ParseFormatError {
    /// The name that was not recognised.
    pub name: String,
}

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Parses `jsonl`/`json`/`ndjson` (JSON Lines, or a JSON array when the contents start
    /// with `[`), `json-array`/`jsonarray`, `csv`, `tsv`, `parquet`, `text`/`txt`
    /// (case-insensitive, surrounding whitespace ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            "json-array" | "jsonarray" => Ok(Format::JsonArray),
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "parquet" => Ok(Format::Parquet),
            "text" | "txt" => Ok(Format::Text),
            _ => Err(ParseFormatError {
                name: s.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(name: &str) -> Option<Format> {
        Format::from_path(Path::new(name))
    }

    #[test]
    fn from_path_by_extension() {
        assert_eq!(guess("a.jsonl"), Some(Format::Jsonl));
        assert_eq!(guess("dir/a.ndjson"), Some(Format::Jsonl));
        assert_eq!(guess("a.json"), Some(Format::Jsonl));
        assert_eq!(guess("a.csv"), Some(Format::Csv));
        assert_eq!(guess("a.tsv"), Some(Format::Tsv));
        assert_eq!(guess("a.parquet"), Some(Format::Parquet));
        assert_eq!(guess("a.pq"), Some(Format::Parquet));
        assert_eq!(guess("a.txt"), Some(Format::Text));
        assert_eq!(guess("a.text"), Some(Format::Text));
        assert_eq!(guess("A.JSONL"), Some(Format::Jsonl));
    }

    #[test]
    fn from_path_ignores_compression_suffix() {
        assert_eq!(guess("a.jsonl.gz"), Some(Format::Jsonl));
        assert_eq!(guess("a.csv.zst"), Some(Format::Csv));
        assert_eq!(guess("a.tar.gz"), None);
        assert_eq!(guess("a.gz"), None);
        assert_eq!(guess("a"), None);
        assert_eq!(guess(".jsonl"), None);
        assert_eq!(guess("a.xlsx"), None);
    }

    #[test]
    fn parse_names() {
        assert_eq!("jsonl".parse::<Format>(), Ok(Format::Jsonl));
        assert_eq!("JSON".parse::<Format>(), Ok(Format::Jsonl));
        assert_eq!("ndjson".parse::<Format>(), Ok(Format::Jsonl));
        assert_eq!("json-array".parse::<Format>(), Ok(Format::JsonArray));
        assert_eq!("JsonArray".parse::<Format>(), Ok(Format::JsonArray));
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
        assert_eq!("tsv".parse::<Format>(), Ok(Format::Tsv));
        assert_eq!("parquet".parse::<Format>(), Ok(Format::Parquet));
        assert_eq!("txt".parse::<Format>(), Ok(Format::Text));
        assert_eq!("text".parse::<Format>(), Ok(Format::Text));
        let err = "xml".parse::<Format>().unwrap_err();
        assert_eq!(err.name, "xml");
        assert!(err.to_string().contains("unknown format `xml`"));
    }

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
            // A `.json` name means JSON Lines until the contents say otherwise.
            let by_name = if f == Format::JsonArray {
                Format::Jsonl
            } else {
                f
            };
            assert_eq!(f.extension().parse::<Format>(), Ok(by_name));
            let file = format!("x.{}", f.extension());
            assert_eq!(Format::from_path(Path::new(&file)), Some(by_name));
        }
        assert_eq!(Format::JsonArray.to_string(), "json-array");
        assert_eq!(Format::JsonArray.extension(), "json");
        assert_eq!(Format::Text.to_string(), "text");
        assert_eq!(Format::Text.extension(), "txt");
    }
}
