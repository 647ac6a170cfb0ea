//! The crate-wide error type.

use crate::dataset::DatasetError;
use crate::embed::EmbedError;
use crate::index::IndexError;
use crate::store::StoreError;

/// Any error semsift's library can return; each variant wraps the typed error
/// of the module it came from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the input dataset failed.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Loading or running a model failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// Building or searching a neighbour index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Writing or reading vectors failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
