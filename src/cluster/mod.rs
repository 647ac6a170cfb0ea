//! Spherical k-means over unit vectors: the topics of a dataset.
//!
//! [`KMeans::fit`] seeds with k-means++ ([`kmeans_plus_plus`]) on a sample, then runs Lloyd
//! iterations ([`lloyd`]) on at most `max(k × 256, 65536)` rows until the assignments settle;
//! [`KMeans::assign`] then puts every row in its nearest cluster. Similarity is cosine, so
//! centroids are kept at unit length (spherical k-means).
//!
//! The hot loop is one matrix product per block of rows (`rows × centroidsᵀ`, candle's
//! gemm), so an iteration runs at matrix-product speed. linfa-clustering's `KMeans`, the
//! crate this project started from, computes one scalar distance per (row, centroid) and
//! updates serially — some 20× slower here — so it is kept only as the reference the
//! tests compare our objective with on small data.
//!
//! All randomness comes from [`Rng`] (defined in [`crate::linalg`], re-exported here),
//! seeded by [`KMeansParams::seed`]: a seed fixes the result, whatever the number of
//! threads. Scores come from [`crate::linalg`] too, never from the `index` module, which
//! builds on this one.

mod device;
mod error;
mod kmeans;
pub mod lloyd;
mod seed;
mod synthetic;

pub use crate::linalg::Rng;
pub use device::DeviceRows;
pub use error::ClusterError;
pub use kmeans::{auto_k, Init, KMeans, KMeansParams};
pub use lloyd::Assignment;
pub use seed::kmeans_plus_plus;
pub use synthetic::synthetic;
