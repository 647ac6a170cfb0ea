//! The default model, compiled into the binary.
//!
//! `models/minilm-l6-static-256/` holds all-MiniLM-L6-v2 distilled to a
//! 256-dimensional static model by `semsift distill` (see its README for
//! provenance and licence). Embedding it means `semsift` works from any
//! directory with no `--model` flag and no files beside the binary.

use std::path::PathBuf;

use super::static_model::StaticModelFiles;
use super::{EmbedError, StaticModel};

/// Folder name of the bundled model under `models/`.
pub const NAME: &str = "minilm-l6-static-256";

const WEIGHTS: &[u8] = include_bytes!("../../models/minilm-l6-static-256/model.safetensors");
const TOKENIZER: &[u8] = include_bytes!("../../models/minilm-l6-static-256/tokenizer.json");
const CONFIG: &[u8] = include_bytes!("../../models/minilm-l6-static-256/config.json");

/// Loads the bundled default static model.
pub fn default_model() -> Result<StaticModel, EmbedError> {
    let origin = PathBuf::from(format!("<bundled {NAME}>"));
    let config = serde_json::from_slice(CONFIG).map_err(|source| EmbedError::Json {
        path: origin.join("config.json"),
        source,
    })?;
    StaticModel::from_files(StaticModelFiles {
        safetensors: WEIGHTS,
        tokenizer: TOKENIZER,
        config: Some(config),
        origin,
        name: NAME.to_string(),
    })
}
