//! Reading model files: JSON configs and safetensors tensors converted to f32.

use std::path::Path;

use half::f16;
use safetensors::{Dtype, SafeTensors};

use super::EmbedError;

/// Reads and parses a JSON file.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EmbedError> {
    let bytes = std::fs::read(path).map_err(|source| EmbedError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| EmbedError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Tensor `name`, `None` when the file has no such tensor.
fn lookup<'a>(
    st: &SafeTensors<'a>,
    name: &str,
    file: &Path,
) -> Result<Option<safetensors::tensor::TensorView<'a>>, EmbedError> {
    match st.tensor(name) {
        Ok(v) => Ok(Some(v)),
        Err(safetensors::SafeTensorError::TensorNotFound(_)) => Ok(None),
        Err(e) => Err(EmbedError::BadWeights {
            path: file.to_path_buf(),
            reason: format!("tensor `{name}`: {e}"),
        }),
    }
}

/// A tensor decoded to f32.
pub(crate) struct F32Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Decodes tensor `name` from a safetensors buffer into f32.
///
/// f32, f16, bf16, f64 and i8 are accepted; i8 values are taken as they are
/// (model2vec does the same: scale is irrelevant once vectors are normalised).
pub(crate) fn tensor_f32(
    st: &SafeTensors<'_>,
    name: &str,
    file: &Path,
) -> Result<Option<F32Tensor>, EmbedError> {
    let Some(view) = lookup(st, name, file)? else {
        return Ok(None);
    };
    let bytes = view.data();
    let data: Vec<f32> = match view.dtype() {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8-byte chunk")) as f32)
            .collect(),
        Dtype::I8 => bytes.iter().map(|&b| b as i8 as f32).collect(),
        other => {
            return Err(EmbedError::BadWeights {
                path: file.to_path_buf(),
                reason: format!(
                    "tensor `{name}` has dtype {other:?}; expected f32, f16, bf16, f64 or i8"
                ),
            })
        }
    };
    Ok(Some(F32Tensor {
        shape: view.shape().to_vec(),
        data,
    }))
}

/// Decodes an integer tensor (i32 or i64) `name` into u32 indices.
pub(crate) fn tensor_indices(
    st: &SafeTensors<'_>,
    name: &str,
    file: &Path,
) -> Result<Option<Vec<u32>>, EmbedError> {
    let Some(view) = lookup(st, name, file)? else {
        return Ok(None);
    };
    let bytes = view.data();
    let values: Vec<i64> = match view.dtype() {
        Dtype::I32 => bytes
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
            .collect(),
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8-byte chunk")))
            .collect(),
        other => {
            return Err(EmbedError::BadWeights {
                path: file.to_path_buf(),
                reason: format!("tensor `{name}` has dtype {other:?}; expected i32 or i64"),
            })
        }
    };
    values
        .into_iter()
        .map(|v| {
            u32::try_from(v).map_err(|_| EmbedError::BadWeights {
                path: file.to_path_buf(),
                reason: format!("tensor `{name}` holds a negative or huge index {v}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Short hex digest (FNV-1a 64) of a byte slice, for model fingerprints.
pub(crate) fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
