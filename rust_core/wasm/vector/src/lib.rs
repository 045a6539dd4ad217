//! Vector kernels and indexes for Gemma Edge Agent.
//!
//! Every kernel has a scalar reference (`*_scalar`), a portable 4-lane version (`*_lanes`) that
//! performs exactly the SIMD version's arithmetic in the same order, and on wasm32 with
//! `simd128` enabled a SIMD128 version. The lanes version exists so that native `cargo test`
//! checks the SIMD algorithm, and the wasm tests check the SIMD128 build bit-for-bit against it.
//!
//! - [`dot`]: f32 dot product; [`dot_i8`]: int8 dot product (exact in i32).
//! - [`BlockQ8Matrix`]: int8 block-quantized (Q8_0) matrix × f32 vector, streamed into a
//!   top-k ([`BlockQ8Matrix::top_k`]); the kernels are picked with [`ScanKernel`].
//! - [`FlatIndex`] (exact) and [`HnswIndex`] (approximate): cosine search with external u32
//!   ids, add / delete, f32 or int8 storage, and a versioned, checksummed file format
//!   ([`format`]) that loads the same in Rust, wasm and Python.

mod dot;
mod dot_i8;
mod error;
mod flat;
pub mod format;
mod hnsw;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod hsum_i32;
mod scan_i8;
mod topk;
mod vectors;

pub use dot::{dot, dot_lanes, dot_scalar, simd128_enabled};
pub use dot_i8::{dot_i8, dot_i8_lanes, dot_i8_scalar, MAX_I8_DIM};
pub use error::VectorError;
pub use flat::FlatIndex;
pub use format::{IndexKind, FORMAT_VERSION};
pub use hnsw::{HnswIndex, HnswParams};
pub use scan_i8::{soft_cap, BlockQ8Matrix, ScanKernel, BLOCK as Q8_BLOCK};
pub use topk::TopK;
pub use vectors::{normalize, quantize_i8, Storage};

#[cfg(test)]
mod index_tests;
