//! BERT for sentence embeddings: candle-transformers' encoder layers (`BertEncoder`,
//! whose weights are named as in the checkpoint) behind our own embeddings and attention
//! mask.
//!
//! candle-transformers' `BertModel` masks padding by multiplying `1 − mask` with
//! `f32::MIN` in the model's dtype. In `f16` and `bf16` that constant rounds to −∞, and
//! `0 × −∞` is NaN, so every vector comes out NaN. Here the additive mask is chosen per
//! position (`where_cond`): 0 where a token is, the dtype's most negative finite value
//! where padding is, which softmax turns into a zero weight in any precision. In `f32`
//! the mask, and so every vector, is the one `BertModel` computes.

use candle_core::{DType, Result, Tensor};
use candle_nn::{embedding, layer_norm, Embedding, LayerNorm, Module, VarBuilder};
use candle_transformers::models::bert::{BertEncoder, Config};

/// Word, position and token-type embeddings, summed and layer-normed
/// (`embeddings.*` in the checkpoint).
struct Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    layer_norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let hidden = config.hidden_size;
        Ok(Embeddings {
            word_embeddings: embedding(config.vocab_size, hidden, vb.pp("word_embeddings"))?,
            position_embeddings: embedding(
                config.max_position_embeddings,
                hidden,
                vb.pp("position_embeddings"),
            )?,
            token_type_embeddings: embedding(
                config.type_vocab_size,
                hidden,
                vb.pp("token_type_embeddings"),
            )?,
            layer_norm: layer_norm(hidden, config.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        let (_, seq_len) = input_ids.dims2()?;
        let positions: Vec<u32> = (0..seq_len as u32).collect();
        let positions = Tensor::new(positions.as_slice(), input_ids.device())?;
        let types = input_ids.zeros_like()?;
        let sum = (self.word_embeddings.forward(input_ids)?
            + self.token_type_embeddings.forward(&types)?)?
        .broadcast_add(&self.position_embeddings.forward(&positions)?)?;
        self.layer_norm.forward(&sum)
    }
}

/// A BERT encoder (no pooler): token ids and their mask in, hidden states out.
pub struct Bert {
    embeddings: Embeddings,
    encoder: BertEncoder,
}

impl Bert {
    /// Loads the weights under `vb`: at the top level, under `bert.`, or under
    /// `<model_type>.` (as `BertModel::load` looks for them).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let at = |vb: VarBuilder| -> Result<Self> {
            Ok(Bert {
                embeddings: Embeddings::load(vb.pp("embeddings"), config)?,
                encoder: BertEncoder::load(vb.pp("encoder"), config)?,
            })
        };
        match (at(vb.clone()), &config.model_type) {
            (Ok(model), _) => Ok(model),
            (Err(e), Some(prefix)) => at(vb.pp(prefix)).map_err(|_| e),
            (Err(e), None) => Err(e),
        }
    }

    /// Hidden states (`batch × seq × hidden`, the weights' dtype) of `input_ids`
    /// (`batch × seq`, u32), attending only where `mask` (`batch × seq`, u32) is 1.
    pub fn forward(&self, input_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let hidden = self.embeddings.forward(input_ids)?;
        let dtype = hidden.dtype();
        let (batch, seq) = mask.dims2()?;
        let shape = (batch, 1, 1, seq);
        let device = mask.device();
        let keep = mask.reshape(shape)?.ge(1u32)?;
        let open = Tensor::zeros(shape, dtype, device)?;
        let shut = Tensor::new(most_negative(dtype), device)?
            .to_dtype(dtype)?
            .broadcast_as(shape)?;
        let additive = keep.where_cond(&open, &shut)?;
        self.encoder.forward(&hidden, &additive)
    }
}

/// The most negative finite value of `dtype` (torch's `finfo(dtype).min`), as an `f32`
/// that converts to it exactly.
fn most_negative(dtype: DType) -> f32 {
    match dtype {
        DType::F16 => half::f16::MIN.to_f32(),
        DType::BF16 => half::bf16::MIN.to_f32(),
        _ => f32::MIN,
    }
}
