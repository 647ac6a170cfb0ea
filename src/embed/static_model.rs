//! The model2vec-style static encoder.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use safetensors::SafeTensors;
use tokenizers::Tokenizer;

use super::tensors::{digest, read_json, tensor_f32, tensor_indices};
use super::tokenizer::{load_plain, tokens_by_id, unk_token_id};
use super::wordpiece::FastWordPiece;
use super::{EmbedError, Encoder};
use crate::linalg::normalize_rows;

/// Token cap model2vec applies by default (`max_length=512`).
const DEFAULT_MAX_TOKENS: usize = 512;

/// A static embedding model in model2vec format.
///
/// Encoding follows Python model2vec's `StaticModel.encode` step for step:
/// cut the text to `max_tokens * median_token_length` characters, tokenise
/// without special tokens, keep the first `max_tokens` ids, drop the unknown
/// token, look up each id's row (through `mapping` when present) scaled by its
/// `weights` entry, take the mean, and L2-normalise when the config says
/// `normalize`. A text with no known tokens gives a zero vector.
pub struct StaticModel {
    /// Row-major `[rows, dim]` embedding table.
    embeddings: Vec<f32>,
    dim: usize,
    /// Optional per-token scale, indexed by token id.
    weights: Option<Vec<f32>>,
    /// Optional token id → table row map (vocabulary quantisation).
    mapping: Option<Vec<u32>>,
    tokenizer: Tokenizer,
    /// WordPiece fast path giving the same ids as `tokenizer` (BERT vocabularies).
    fast: Option<FastWordPiece>,
    fast_enabled: bool,
    unk_id: Option<u32>,
    /// Character cap before tokenisation, `max_tokens * median_token_length`.
    max_chars: Option<usize>,
    max_tokens: Option<usize>,
    normalize: bool,
    fingerprint: String,
}

/// The three files of a model2vec model, already in memory.
pub struct StaticModelFiles<'a> {
    /// `model.safetensors`.
    pub safetensors: &'a [u8],
    /// `tokenizer.json`.
    pub tokenizer: &'a [u8],
    /// `config.json`, when there is one.
    pub config: Option<serde_json::Value>,
    /// Where the files came from, for error messages.
    pub origin: PathBuf,
    /// A short name for the model, used in its fingerprint.
    pub name: String,
}

impl StaticModel {
    /// Loads a model2vec folder: either the native layout (`model.safetensors`,
    /// `tokenizer.json`, `config.json`) or the sentence-transformers layout
    /// (`0_StaticEmbedding/` with `modules.json` saying whether to normalise).
    pub fn from_dir(dir: &Path) -> Result<Self, EmbedError> {
        let read =
            |p: PathBuf| std::fs::read(&p).map_err(|source| EmbedError::Io { path: p, source });
        let st_dir = dir.join("0_StaticEmbedding");
        let (files_dir, mut config) = if st_dir.is_dir() {
            let normalize = read_json::<serde_json::Value>(&dir.join("modules.json"))
                .map(|m| m.to_string().contains("Normalize"))
                .unwrap_or(false);
            (st_dir, serde_json::json!({ "normalize": normalize }))
        } else {
            let config_path = dir.join("config.json");
            let config = if config_path.is_file() {
                read_json(&config_path)?
            } else {
                serde_json::json!({})
            };
            (dir.to_path_buf(), config)
        };
        if !files_dir.join("model.safetensors").is_file() {
            return Err(EmbedError::UnsupportedModel {
                path: dir.to_path_buf(),
                reason: "no model.safetensors".into(),
            });
        }
        let weights = read(files_dir.join("model.safetensors"))?;
        let tokenizer = read(files_dir.join("tokenizer.json"))?;
        if config.get("normalize").is_none() {
            config["normalize"] = serde_json::Value::Bool(false);
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "static".into());
        Self::from_files(StaticModelFiles {
            safetensors: &weights,
            tokenizer: &tokenizer,
            config: Some(config),
            origin: files_dir,
            name,
        })
    }

    /// Builds a model from files already in memory (used for the bundled model).
    pub fn from_files(files: StaticModelFiles<'_>) -> Result<Self, EmbedError> {
        let weights_path = files.origin.join("model.safetensors");
        let st =
            SafeTensors::deserialize(files.safetensors).map_err(|e| EmbedError::BadWeights {
                path: weights_path.clone(),
                reason: e.to_string(),
            })?;
        let table = ["embeddings", "embedding.weight", "0"]
            .iter()
            .find_map(|name| tensor_f32(&st, name, &weights_path).transpose())
            .transpose()?
            .ok_or_else(|| EmbedError::BadWeights {
                path: weights_path.clone(),
                reason: "no `embeddings` tensor".into(),
            })?;
        let [rows, dim] = table.shape[..] else {
            return Err(EmbedError::BadWeights {
                path: weights_path,
                reason: format!("`embeddings` has shape {:?}; expected 2-D", table.shape),
            });
        };
        let weights = tensor_f32(&st, "weights", &weights_path)?.map(|t| t.data);
        let mapping = tensor_indices(&st, "mapping", &weights_path)?;

        let tokenizer_path = files.origin.join("tokenizer.json");
        let tokenizer_json: serde_json::Value =
            serde_json::from_slice(files.tokenizer).map_err(|source| EmbedError::Json {
                path: tokenizer_path.clone(),
                source,
            })?;
        let tokenizer = load_plain(files.tokenizer, &tokenizer_path)?;
        let tokens = tokens_by_id(&tokenizer);
        let vocab = tokens.len();
        match &mapping {
            None if vocab != rows => {
                return Err(EmbedError::DimensionMismatch {
                    what: "embedding rows vs tokenizer vocabulary",
                    expected: vocab,
                    got: rows,
                })
            }
            Some(m) if m.len() < vocab || m.iter().any(|&r| r as usize >= rows) => {
                return Err(EmbedError::BadWeights {
                    path: weights_path,
                    reason: "`mapping` does not cover the vocabulary or points past the table"
                        .into(),
                })
            }
            _ => {}
        }
        if let Some(w) = &weights {
            if w.len() < vocab {
                return Err(EmbedError::DimensionMismatch {
                    what: "weights vs tokenizer vocabulary",
                    expected: vocab,
                    got: w.len(),
                });
            }
        }

        let config = files.config.unwrap_or_else(|| serde_json::json!({}));
        let normalize = config
            .get("normalize")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let max_tokens = match config.get("max_length") {
            Some(serde_json::Value::Null) => None,
            Some(v) => v.as_u64().map(|v| v as usize).or(Some(DEFAULT_MAX_TOKENS)),
            None => Some(DEFAULT_MAX_TOKENS),
        };
        let median = median_token_length(&tokens);
        Ok(Self {
            embeddings: table.data,
            dim,
            weights,
            mapping,
            unk_id: unk_token_id(&tokenizer, &tokenizer_json),
            fast: FastWordPiece::from_json(&tokenizer_json),
            fast_enabled: true,
            tokenizer,
            max_chars: max_tokens.map(|m| m * median),
            max_tokens,
            normalize,
            fingerprint: format!("static:{}:{}", files.name, digest(files.safetensors)),
        })
    }

    /// Switches the WordPiece fast path off (`false`) or back on; ids
    /// are the same either way, only speed differs. For tests and benchmarks.
    pub fn set_fast_tokenizer(&mut self, on: bool) {
        self.fast_enabled = on;
    }

    /// Whether the WordPiece fast path is available and switched on.
    pub fn has_fast_tokenizer(&self) -> bool {
        self.fast_enabled && self.fast.is_some()
    }

    /// Whether outputs are L2-normalised.
    pub fn normalize(&self) -> bool {
        self.normalize
    }

    /// The token ids a text contributes, after truncation and unknown-token removal.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let text = match self.max_chars {
            Some(m) => truncate_chars(text, m),
            None => text,
        };
        let mut ids = Vec::new();
        let fast = self.fast_enabled
            && self
                .fast
                .as_ref()
                .is_some_and(|f| f.tokenize(text, &mut ids));
        if !fast {
            let encoding =
                self.tokenizer
                    .encode_fast(text, false)
                    .map_err(|e| EmbedError::Tokenizer {
                        path: PathBuf::from("<static model>"),
                        message: e.to_string(),
                    })?;
            ids = encoding.get_ids().to_vec();
        }
        if let Some(m) = self.max_tokens {
            ids.truncate(m);
        }
        ids.retain(|&id| Some(id) != self.unk_id);
        Ok(ids)
    }

    /// The table row and scale token `id` contributes.
    pub(crate) fn row_of(&self, id: u32) -> (u32, f32) {
        let row = self.mapping.as_ref().map_or(id, |m| m[id as usize]);
        (row, self.weights.as_ref().map_or(1.0, |w| w[id as usize]))
    }

    /// The embedding table, row-major, [`Encoder::dim`] wide.
    pub(crate) fn table(&self) -> &[f32] {
        &self.embeddings
    }

    fn encode_one(&self, text: &str, out: &mut [f32]) -> Result<(), EmbedError> {
        let ids = self.token_ids(text)?;
        if ids.is_empty() {
            return Ok(());
        }
        for &id in &ids {
            let row = match &self.mapping {
                Some(m) => m[id as usize] as usize,
                None => id as usize,
            };
            let src = &self.embeddings[row * self.dim..(row + 1) * self.dim];
            let w = self.weights.as_ref().map_or(1.0, |w| w[id as usize]);
            for (o, &s) in out.iter_mut().zip(src) {
                *o += w * s;
            }
        }
        let inv = 1.0 / ids.len() as f32;
        out.iter_mut().for_each(|x| *x *= inv);
        Ok(())
    }
}

impl Encoder for StaticModel {
    fn dim(&self) -> usize {
        self.dim
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        let mut out = vec![0f32; texts.len() * self.dim];
        out.par_chunks_mut(self.dim)
            .zip(texts.par_iter())
            .with_min_len(64)
            .try_for_each(|(row, text)| self.encode_one(text, row))?;
        if self.normalize {
            normalize_rows(&mut out, self.dim);
        }
        Ok(out)
    }
}

/// The first `n` characters of `s` (Python's `s[:n]`).
pub(crate) fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((byte, _)) => &s[..byte],
        None => s,
    }
}

/// `int(np.median([len(t) for t in tokens]))`, lengths in characters.
fn median_token_length(tokens: &[String]) -> usize {
    let mut lens: Vec<usize> = tokens.iter().map(|t| t.chars().count()).collect();
    if lens.is_empty() {
        return 1;
    }
    lens.sort_unstable();
    let n = lens.len();
    let median = if n % 2 == 1 {
        lens[n / 2] as f64
    } else {
        (lens[n / 2 - 1] + lens[n / 2]) as f64 / 2.0
    };
    (median as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_by_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("ab", 5), "ab");
        assert_eq!(truncate_chars("東京タワー", 3), "東京タ");
    }

    #[test]
    fn median_matches_numpy_int_median() {
        let toks = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(median_token_length(&toks(&["a", "bbb", "cc"])), 2);
        // numpy: median([1, 2, 3, 4]) = 2.5 -> int 2
        assert_eq!(median_token_length(&toks(&["a", "bb", "ccc", "dddd"])), 2);
        assert_eq!(median_token_length(&toks(&["é", "東京"])), 1);
    }
}
