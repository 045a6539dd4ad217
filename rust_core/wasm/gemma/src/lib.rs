//! Gemma 1/2/3 decoder for Gemma Edge Agent's WASM backend.
//!
//! Reads the `GEAWGT01` weights file of a model build ([`WeightsFile`]), runs the decoder
//! token by token over a KV cache ([`Gemma`], [`KvCache`]) with block-quantized GEMVs
//! ([`gemv`]: int8 and 4-bit-with-offset blocks, the activation in f32 or, with
//! [`Activations::Int8`], quantized to int8 per block; SIMD128 on wasm32, checked against a
//! portable emulation and a scalar reference), and ranks the next token through the tied LM head with
//! `gea_vector`'s int8 top-k scan. The numbers follow `build_tools/reference_model.py`, which
//! the integration tests compare against on tiny models.
//!
//! - [`json`]: the small JSON reader for the file header (no serde);
//! - [`config`]: the model config;
//! - [`weights`]: the file reader;
//! - [`gemv`]: quantized matrix × vector kernels;
//! - [`ops`]: norms, rope, GELU, soft-cap;
//! - [`model`]: the forward pass;
//! - [`decoder`]: one sequence (model + cache + last hidden state).

pub mod config;
pub mod decoder;
mod error;
pub mod gemv;
pub mod json;
pub mod model;
pub mod ops;
pub mod weights;

pub use config::GemmaConfig;
pub use decoder::Decoder;
pub use error::GemmaError;
pub use gemv::Activations;
pub use model::{Gemma, KvCache, PREFILL_CHUNK};
pub use weights::{Tensor, WeightsFile};
