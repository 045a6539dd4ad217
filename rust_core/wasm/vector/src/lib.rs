//! Vector kernels for Gemma Edge Agent.
//!
//! Every kernel has a scalar reference (`*_scalar`), a portable 4-lane version (`*_lanes`) that
//! performs exactly the SIMD version's arithmetic in the same order, and on wasm32 with
//! `simd128` enabled a SIMD128 version. The lanes version exists so that native `cargo test`
//! checks the SIMD algorithm, and the wasm tests check the SIMD128 build bit-for-bit against it.
//!
//! - [`dot`]: f32 dot product.
//! - [`BlockQ8Matrix`]: int8 block-quantized (Q8_0) matrix × f32 vector, streamed into a
//!   top-k ([`BlockQ8Matrix::top_k`]); the kernels are picked with [`ScanKernel`].

mod dot;
mod error;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod hsum_i32;
mod scan_i8;
mod topk;

pub use dot::{dot, dot_lanes, dot_scalar, simd128_enabled};
pub use error::VectorError;
pub use scan_i8::{soft_cap, BlockQ8Matrix, ScanKernel, BLOCK as Q8_BLOCK};
pub use topk::TopK;
