//! wasm-bindgen binding of `gea_vector`: translation only, no logic.

use wasm_bindgen::prelude::*;

fn to_js(result: Result<f32, gea_vector::VectorError>) -> Result<f32, JsError> {
    result.map_err(|e| JsError::new(&e.to_string()))
}

/// Dot product with the fastest kernel in this build (SIMD128 when enabled).
#[wasm_bindgen]
pub fn dot(a: &[f32], b: &[f32]) -> Result<f32, JsError> {
    to_js(gea_vector::dot(a, b))
}

/// Sequential scalar reference, for tests and benchmarks.
#[wasm_bindgen(js_name = dotScalar)]
pub fn dot_scalar(a: &[f32], b: &[f32]) -> Result<f32, JsError> {
    to_js(gea_vector::dot_scalar(a, b))
}

/// Portable emulation of the SIMD kernel (bit-identical to it), for tests.
#[wasm_bindgen(js_name = dotLanes)]
pub fn dot_lanes(a: &[f32], b: &[f32]) -> Result<f32, JsError> {
    to_js(gea_vector::dot_lanes(a, b))
}

/// Whether `dot` runs on SIMD128 in this build.
#[wasm_bindgen(js_name = simd128Enabled)]
pub fn simd128_enabled() -> bool {
    gea_vector::simd128_enabled()
}
