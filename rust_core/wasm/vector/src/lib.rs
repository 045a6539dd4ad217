//! Vector kernels for Gemma Edge Agent.
//!
//! Every kernel has a scalar reference (`*_scalar`), a portable 4-lane version (`*_lanes`) that
//! performs exactly the SIMD version's arithmetic in the same order, and on wasm32 with
//! `simd128` enabled a SIMD128 version. The lanes version exists so that native `cargo test`
//! checks the SIMD algorithm, and the wasm tests check the SIMD128 build bit-for-bit against it.

mod dot;
mod error;

pub use dot::{dot, dot_lanes, dot_scalar, simd128_enabled};
pub use error::VectorError;
