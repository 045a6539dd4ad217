//! wasm-bindgen binding of `gea_vector`: translation only, no logic.

use gea_vector::{BlockQ8Matrix, ScanKernel};
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

/// An int8 matrix with one f32 scale per block of 32 values of a row (llama.cpp Q8_0),
/// scanned against an f32 vector into a top-k (the LM head). Holds its own copy of the data
/// in wasm memory.
#[wasm_bindgen]
pub struct Q8Matrix {
    inner: BlockQ8Matrix,
}

/// The result of a top-k scan: `ids[i]` is the row of `scores[i]`, best first (ties: lower
/// row id first). Each read of `ids` / `scores` returns a new typed array.
#[wasm_bindgen]
pub struct TopKResult {
    ids: Vec<u32>,
    scores: Vec<f32>,
}

#[wasm_bindgen]
impl TopKResult {
    #[wasm_bindgen(getter)]
    pub fn ids(&self) -> Vec<u32> {
        self.ids.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn scores(&self) -> Vec<f32> {
        self.scores.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> u32 {
        self.ids.len() as u32
    }
}

fn top_k_result(
    result: Result<Vec<(u32, f32)>, gea_vector::VectorError>,
) -> Result<TopKResult, JsError> {
    let best = result.map_err(|e| JsError::new(&e.to_string()))?;
    Ok(TopKResult {
        ids: best.iter().map(|e| e.0).collect(),
        scores: best.iter().map(|e| e.1).collect(),
    })
}

fn scores_result(result: Result<Vec<f32>, gea_vector::VectorError>) -> Result<Vec<f32>, JsError> {
    result.map_err(|e| JsError::new(&e.to_string()))
}

#[wasm_bindgen]
impl Q8Matrix {
    /// `q`: `rows × cols` int8 values, row-major; `scales`: `rows × cols / 32` f32, row-major.
    /// Throws when `cols` is not a multiple of 32, a length is wrong or a scale is not finite.
    #[wasm_bindgen(constructor)]
    pub fn new(rows: u32, cols: u32, q: Vec<i8>, scales: Vec<f32>) -> Result<Q8Matrix, JsError> {
        BlockQ8Matrix::new(rows as usize, cols as usize, q, scales)
            .map(|inner| Q8Matrix { inner })
            .map_err(|e| JsError::new(&e.to_string()))
    }

    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> u32 {
        self.inner.rows() as u32
    }

    #[wasm_bindgen(getter)]
    pub fn cols(&self) -> u32 {
        self.inner.cols() as u32
    }

    /// Bytes one scan reads (int8 values + f32 scales).
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> f64 {
        self.inner.bytes() as f64
    }

    /// Top `k` rows of `self · h` with the fastest kernel (SIMD128 in this build), `h`
    /// quantized per block of 32. With `softcap`, the returned scores are
    /// `softcap · tanh(score / softcap)`. Throws on a wrong length, NaN/inf in `h` or a
    /// softcap that is not finite and > 0.
    #[wasm_bindgen(js_name = topK)]
    pub fn top_k(&self, h: &[f32], k: u32, softcap: Option<f32>) -> Result<TopKResult, JsError> {
        top_k_result(
            self.inner
                .top_k_with(h, k as usize, ScanKernel::Fast, softcap),
        )
    }

    /// `topK` with the portable emulation of the SIMD128 kernel (bit-identical to it).
    #[wasm_bindgen(js_name = topKLanes)]
    pub fn top_k_lanes(
        &self,
        h: &[f32],
        k: u32,
        softcap: Option<f32>,
    ) -> Result<TopKResult, JsError> {
        top_k_result(
            self.inner
                .top_k_with(h, k as usize, ScanKernel::Lanes, softcap),
        )
    }

    /// `topK` with the quantized scalar reference (blocks summed left to right).
    #[wasm_bindgen(js_name = topKScalar)]
    pub fn top_k_scalar(
        &self,
        h: &[f32],
        k: u32,
        softcap: Option<f32>,
    ) -> Result<TopKResult, JsError> {
        top_k_result(
            self.inner
                .top_k_with(h, k as usize, ScanKernel::Scalar, softcap),
        )
    }

    /// `topK` with the unquantized reference (dequantized weights, f64 sums).
    #[wasm_bindgen(js_name = topKExact)]
    pub fn top_k_exact(
        &self,
        h: &[f32],
        k: u32,
        softcap: Option<f32>,
    ) -> Result<TopKResult, JsError> {
        top_k_result(
            self.inner
                .top_k_with(h, k as usize, ScanKernel::Exact, softcap),
        )
    }

    /// Every row's score with the fastest kernel.
    pub fn scores(&self, h: &[f32]) -> Result<Vec<f32>, JsError> {
        scores_result(self.inner.scores_with(h, ScanKernel::Fast))
    }

    /// Every row's score with the lanes emulation.
    #[wasm_bindgen(js_name = scoresLanes)]
    pub fn scores_lanes(&self, h: &[f32]) -> Result<Vec<f32>, JsError> {
        scores_result(self.inner.scores_with(h, ScanKernel::Lanes))
    }

    /// Every row's score with the quantized scalar reference.
    #[wasm_bindgen(js_name = scoresScalar)]
    pub fn scores_scalar(&self, h: &[f32]) -> Result<Vec<f32>, JsError> {
        scores_result(self.inner.scores_with(h, ScanKernel::Scalar))
    }

    /// Every row's score with the unquantized reference.
    #[wasm_bindgen(js_name = scoresExact)]
    pub fn scores_exact(&self, h: &[f32]) -> Result<Vec<f32>, JsError> {
        scores_result(self.inner.scores_with(h, ScanKernel::Exact))
    }
}
