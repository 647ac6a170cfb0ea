//! Loading Hugging Face `tokenizer.json` files the way each encoder needs them.

use std::path::Path;

use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use super::EmbedError;

/// Parses a `tokenizer.json` and switches off its padding and truncation.
///
/// Many checkpoints ship with `padding: Fixed(128)`; a static encoder must
/// never see pad tokens and the transformer pads per batch itself.
pub(crate) fn load_plain(bytes: &[u8], origin: &Path) -> Result<Tokenizer, EmbedError> {
    let mut tokenizer = Tokenizer::from_bytes(bytes).map_err(|e| EmbedError::Tokenizer {
        path: origin.to_path_buf(),
        message: e.to_string(),
    })?;
    tokenizer.with_padding(None::<PaddingParams>);
    tokenizer
        .with_truncation(None::<TruncationParams>)
        .map_err(|e| EmbedError::Tokenizer {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(tokenizer)
}

/// The id of the model's unknown token, as model2vec finds it: the WordPiece,
/// BPE or WordLevel `unk_token`, or the Unigram `unk_id`.
pub(crate) fn unk_token_id(tokenizer: &Tokenizer, json: &serde_json::Value) -> Option<u32> {
    let model = json.get("model")?;
    if let Some(token) = model.get("unk_token") {
        return token.as_str().and_then(|t| tokenizer.token_to_id(t));
    }
    model.get("unk_id")?.as_u64().map(|v| v as u32)
}

/// Tokens of the vocabulary ordered by id (including added tokens).
pub(crate) fn tokens_by_id(tokenizer: &Tokenizer) -> Vec<String> {
    let mut vocab: Vec<(String, u32)> = tokenizer.get_vocab(true).into_iter().collect();
    vocab.sort_by_key(|(_, id)| *id);
    vocab.into_iter().map(|(t, _)| t).collect()
}
