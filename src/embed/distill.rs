//! Distillation: a static model from a sentence-transformers model.
//!
//! The recipe is model2vec's `distill`:
//! 1. take the tokenizer's vocabulary minus tokens matching `[unusedN]`;
//! 2. run every token through the transformer on its own, as
//!    `[CLS] token [SEP]`, and mean-pool all three output states;
//! 3. PCA to `dims` dimensions (see `embed::pca`);
//! 4. weight row `i` (0-based, in vocabulary order) by the SIF weight
//!    `a / (a + p_i)` with Zipf probabilities `p_i ∝ 1 / (i + 2)`;
//! 5. store as float16 with `normalize: true`, and rewrite the tokenizer so
//!    its ids are the rows of the new table.
//!
//! The result loads in Python model2vec (`StaticModel.from_pretrained`) and in
//! [`super::StaticModel`].

use std::path::Path;

use half::f16;
use safetensors::tensor::TensorView;
use serde_json::{json, Value};

use super::pca::pca;
use super::tensors::read_json;
use super::{EmbedError, Encoder, TransformerModel};
use crate::atomic::{partial_path, AtomicDir};
use crate::progress::Progress;

/// Settings for [`distill`].
#[derive(Debug, Clone)]
pub struct DistillOptions {
    /// Output dimensionality after PCA; `None` keeps the transformer's width
    /// (no PCA at all).
    pub dims: Option<usize>,
    /// SIF coefficient `a` (model2vec default `1e-4`); `None` disables weighting.
    pub sif_coefficient: Option<f64>,
    /// Tokens per forward pass.
    pub batch_size: usize,
    /// Where the transformer runs.
    pub device: super::Device,
}

impl Default for DistillOptions {
    fn default() -> Self {
        Self {
            dims: Some(256),
            sif_coefficient: Some(1e-4),
            batch_size: 256,
            device: super::Device::Cpu,
        }
    }
}

/// A distilled static model, ready to [`save`](Distilled::save).
pub struct Distilled {
    /// Row-major `[vocab, dim]` table (float32 before the float16 cast).
    pub embeddings: Vec<f32>,
    /// Width of each row.
    pub dim: usize,
    /// The rewritten `tokenizer.json`.
    pub tokenizer: Value,
    /// The model2vec `config.json`.
    pub config: Value,
    /// Name of the source model.
    pub base_model: String,
}

/// Whether a token matches model2vec's default removal pattern `\[unused\d+\]`
/// (anchored at the start, as Python's `re.match` is).
pub fn is_unused_token(token: &str) -> bool {
    token
        .strip_prefix("[unused")
        .and_then(|rest| rest.split_once(']'))
        .is_some_and(|(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// SIF weights from Zipf's law over `n` tokens in vocabulary order.
pub fn sif_weights(n: usize, coefficient: f64) -> Vec<f64> {
    let total: f64 = (0..n).map(|i| 1.0 / (i + 2) as f64).sum();
    (0..n)
        .map(|i| {
            let p = (1.0 / (i + 2) as f64) / total;
            coefficient / (coefficient + p)
        })
        .collect()
}

/// Distils the sentence-transformers model in `from`.
pub fn distill(
    from: &Path,
    options: &DistillOptions,
    progress: &dyn Progress,
) -> Result<Distilled, EmbedError> {
    if options.dims == Some(0) {
        return Err(EmbedError::InvalidArgument(
            "--dims must be at least 1".into(),
        ));
    }
    let model = TransformerModel::from_dir(from, options.device, options.batch_size)?;
    let tokenizer_path = from.join("tokenizer.json");
    let tokenizer_json: Value = read_json(&tokenizer_path)?;
    let vocab = vocabulary(&tokenizer_json, &tokenizer_path)?;
    let kept: Vec<(String, u32)> = vocab
        .into_iter()
        .filter(|(t, _)| !is_unused_token(t))
        .collect();
    if kept.len() < 2 {
        return Err(EmbedError::UnsupportedModel {
            path: tokenizer_path,
            reason: "vocabulary is empty after removing [unused] tokens".into(),
        });
    }
    let (prefix, suffix) = model.special_affixes()?;
    let sequences: Vec<Vec<u32>> = kept
        .iter()
        .map(|(_, id)| prefix.iter().chain([id]).chain(&suffix).copied().collect())
        .collect();

    progress.begin("distil: encode vocabulary", Some(sequences.len() as u64));
    let mut raw = model.embed_ids(&sequences, progress)?;
    progress.end();
    raw.iter_mut()
        .filter(|x| !x.is_finite())
        .for_each(|x| *x = 0.0);

    let width = model.dim();
    let dim = match options.dims {
        Some(d) if d > width => {
            tracing::warn!(
                requested = d,
                width,
                "PCA dims above model width; keeping width"
            );
            Some(width)
        }
        other => other,
    };
    progress.begin("distil: PCA", None);
    let (mut table, dim) = match dim {
        Some(d) if d < kept.len() => (pca(&raw, width, d), d),
        _ => (raw.iter().map(|&x| x as f64).collect(), width),
    };
    progress.end();
    if let Some(a) = options.sif_coefficient {
        if !(a > 0.0 && a < 1.0) {
            return Err(EmbedError::InvalidArgument(
                "SIF coefficient must be > 0 and < 1".into(),
            ));
        }
        let w = sif_weights(kept.len(), a);
        for (row, w) in table.chunks_exact_mut(dim).zip(&w) {
            row.iter_mut().for_each(|x| *x *= w);
        }
    }

    let base_model = from
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let config = json!({
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": base_model,
        "apply_pca": options.dims,
        "sif_coefficient": options.sif_coefficient,
        "hidden_dim": dim,
        "seq_length": 1_000_000,
        "normalize": true,
        "pooling": "mean",
        "embedding_dtype": "float16",
        "distilled_by": concat!("semsift ", env!("CARGO_PKG_VERSION")),
    });
    Ok(Distilled {
        embeddings: table.into_iter().map(|x| x as f32).collect(),
        dim,
        tokenizer: rewrite_tokenizer(tokenizer_json, &kept),
        config,
        base_model,
    })
}

/// `(token, id)` pairs of the tokenizer's vocabulary (model vocab plus added
/// tokens), in id order.
fn vocabulary(tokenizer: &Value, path: &Path) -> Result<Vec<(String, u32)>, EmbedError> {
    let bad = |reason: &str| EmbedError::UnsupportedModel {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let model = tokenizer.get("model").ok_or_else(|| bad("no `model`"))?;
    if model.get("type").and_then(Value::as_str) != Some("WordPiece") {
        return Err(bad(
            "distillation supports WordPiece (BERT) tokenizers only",
        ));
    }
    let vocab = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no `model.vocab`"))?;
    let mut pairs: Vec<(String, u32)> = vocab
        .iter()
        .map(|(t, id)| (t.clone(), id.as_u64().unwrap_or(u64::MAX) as u32))
        .collect();
    for added in tokenizer["added_tokens"].as_array().into_iter().flatten() {
        if let (Some(t), Some(id)) = (added["content"].as_str(), added["id"].as_u64()) {
            if !vocab.contains_key(t) {
                pairs.push((t.to_string(), id as u32));
            }
        }
    }
    pairs.sort_by_key(|(_, id)| *id);
    Ok(pairs)
}

/// The tokenizer with removed tokens gone, ids renumbered to table rows, and
/// no post-processor, padding or truncation (a static model needs none).
fn rewrite_tokenizer(mut tokenizer: Value, kept: &[(String, u32)]) -> Value {
    let new_id: std::collections::HashMap<&str, usize> = kept
        .iter()
        .enumerate()
        .map(|(row, (t, _))| (t.as_str(), row))
        .collect();
    let vocab: serde_json::Map<String, Value> = kept
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| tokenizer["model"]["vocab"].get(t).is_some())
        .map(|(row, (t, _))| (t.clone(), json!(row)))
        .collect();
    tokenizer["model"]["vocab"] = Value::Object(vocab);
    if let Some(added) = tokenizer["added_tokens"].as_array_mut() {
        added.retain(|a| {
            a["content"]
                .as_str()
                .is_some_and(|t| new_id.contains_key(t))
        });
        for a in added.iter_mut() {
            let row = new_id[a["content"].as_str().unwrap_or_default()];
            a["id"] = json!(row);
        }
    }
    tokenizer["post_processor"] = Value::Null;
    tokenizer["padding"] = Value::Null;
    tokenizer["truncation"] = Value::Null;
    tokenizer
}

impl Distilled {
    /// Writes the model2vec folder (`model.safetensors`, `tokenizer.json`,
    /// `config.json`, `modules.json`, `README.md`) to `dir`, atomically: files
    /// go to a sibling `*.partial` folder (removed on an error) that is synced
    /// and renamed into place.
    pub fn save(&self, dir: &Path) -> Result<(), EmbedError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbedError::Io { path, source }
        };
        let out = AtomicDir::create(dir).map_err(io(&partial_path(dir)))?;

        let rows = self.embeddings.len() / self.dim;
        let bytes: Vec<u8> = self
            .embeddings
            .iter()
            .flat_map(|&x| f16::from_f32(x).to_le_bytes())
            .collect();
        let view = TensorView::new(safetensors::Dtype::F16, vec![rows, self.dim], &bytes)
            .map_err(|e| EmbedError::InvalidArgument(e.to_string()))?;
        let st = safetensors::serialize([("embeddings", view)], None)
            .map_err(|e| EmbedError::InvalidArgument(e.to_string()))?;
        let write =
            |name: &str, data: &[u8]| out.write(name, data).map_err(io(&out.partial().join(name)));
        write("model.safetensors", &st)?;
        write("tokenizer.json", self.tokenizer.to_string().as_bytes())?;
        write("config.json", pretty(&self.config).as_bytes())?;
        let modules = json!([
            {"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"},
            {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"}
        ]);
        write("modules.json", pretty(&modules).as_bytes())?;
        write("README.md", self.model_card().as_bytes())?;
        out.commit().map_err(io(dir))
    }

    fn model_card(&self) -> String {
        format!(
            "---\nlibrary_name: model2vec\nlicense: apache-2.0\nbase_model: {base}\ntags:\n- model2vec\n- static-embeddings\n---\n\n\
             # {base} distilled to a static model\n\n\
             Made by `semsift distill` with model2vec's recipe: every vocabulary token \
             through `{base}` as `[CLS] token [SEP]`, mean pooled; `[unused*]` tokens dropped; \
             PCA to {dim} dimensions; Zipf/SIF weights (coefficient {sif:?}); float16; normalised.\n\n\
             Loads in Python with `model2vec.StaticModel.from_pretrained(path)` and in semsift with `--model path`.\n",
            base = self.base_model,
            dim = self.dim,
            sif = self.config["sif_coefficient"],
        )
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_pattern_matches_model2vec() {
        assert!(is_unused_token("[unused0]"));
        assert!(is_unused_token("[unused993]"));
        assert!(!is_unused_token("[unused]"));
        assert!(!is_unused_token("[UNK]"));
        assert!(!is_unused_token("unused1"));
        assert!(!is_unused_token("[unusedx]"));
    }

    #[test]
    fn sif_weights_follow_zipf() {
        let w = sif_weights(1000, 1e-4);
        assert!(w.windows(2).all(|p| p[0] < p[1]), "rarer tokens weigh more");
        let total: f64 = (0..1000).map(|i| 1.0 / (i + 2) as f64).sum();
        let p0 = 0.5 / total;
        assert!((w[0] - 1e-4 / (1e-4 + p0)).abs() < 1e-12);
    }

    #[test]
    fn rewritten_tokenizer_renumbers_ids() {
        let tok = json!({
            "added_tokens": [{"id": 0, "content": "[PAD]"}, {"id": 3, "content": "[UNK]"}],
            "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[unused0]": 1, "[unused1]": 2, "[UNK]": 3, "hello": 4}},
            "post_processor": {"type": "TemplateProcessing"},
        });
        let vocab = vocabulary(&tok, Path::new("t.json")).unwrap();
        let kept: Vec<_> = vocab
            .into_iter()
            .filter(|(t, _)| !is_unused_token(t))
            .collect();
        let out = rewrite_tokenizer(tok, &kept);
        assert_eq!(
            out["model"]["vocab"],
            json!({"[PAD]": 0, "[UNK]": 1, "hello": 2})
        );
        assert_eq!(out["added_tokens"][1]["id"], json!(1));
        assert!(out["post_processor"].is_null());
    }
}
