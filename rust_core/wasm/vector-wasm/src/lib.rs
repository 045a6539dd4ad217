//! wasm-bindgen binding of `gea_vector`: translation only, no logic.

use gea_vector::{BlockQ8Matrix, HnswParams, ScanKernel, Storage, VectorError};
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

fn js_err(e: VectorError) -> JsError {
    JsError::new(&e.to_string())
}

/// int8 dot product (exact in i32) with the fastest kernel in this build.
#[wasm_bindgen(js_name = dotI8)]
pub fn dot_i8(a: &[i8], b: &[i8]) -> Result<i32, JsError> {
    gea_vector::dot_i8(a, b).map_err(js_err)
}

/// Sequential int8 reference.
#[wasm_bindgen(js_name = dotI8Scalar)]
pub fn dot_i8_scalar(a: &[i8], b: &[i8]) -> Result<i32, JsError> {
    gea_vector::dot_i8_scalar(a, b).map_err(js_err)
}

/// Portable emulation of the SIMD128 int8 kernel.
#[wasm_bindgen(js_name = dotI8Lanes)]
pub fn dot_i8_lanes(a: &[i8], b: &[i8]) -> Result<i32, JsError> {
    gea_vector::dot_i8_lanes(a, b).map_err(js_err)
}

/// The index file format version this build writes and reads.
#[wasm_bindgen(js_name = indexFormatVersion)]
pub fn index_format_version() -> u32 {
    gea_vector::FORMAT_VERSION
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

fn storage(int8: Option<bool>) -> Storage {
    if int8.unwrap_or(false) {
        Storage::Int8
    } else {
        Storage::F32
    }
}

/// Exact cosine search over f32 (or, with `int8`, int8-quantised) vectors, L2-normalised on
/// add and on query. Ids are u32; results best first.
#[wasm_bindgen]
pub struct FlatIndex {
    inner: gea_vector::FlatIndex,
}

#[wasm_bindgen]
impl FlatIndex {
    #[wasm_bindgen(constructor)]
    pub fn new(dim: u32, int8: Option<bool>) -> Result<FlatIndex, JsError> {
        gea_vector::FlatIndex::new(dim as usize, storage(int8))
            .map(|inner| FlatIndex { inner })
            .map_err(js_err)
    }

    /// Loads bytes written by `serialize` (here, in Python or in Rust); throws on a truncated,
    /// corrupt or version-mismatched file.
    pub fn load(bytes: &[u8]) -> Result<FlatIndex, JsError> {
        gea_vector::FlatIndex::load(bytes)
            .map(|inner| FlatIndex { inner })
            .map_err(js_err)
    }

    pub fn serialize(&self) -> Vec<u8> {
        self.inner.serialize()
    }

    pub fn add(&mut self, id: u32, vector: &[f32]) -> Result<(), JsError> {
        self.inner.add(id, vector).map_err(js_err)
    }

    /// `vectors`: `ids.length × dim` values, one vector after the other.
    #[wasm_bindgen(js_name = addBatch)]
    pub fn add_batch(&mut self, ids: &[u32], vectors: &[f32]) -> Result<(), JsError> {
        self.inner.add_batch(ids, vectors).map_err(js_err)
    }

    /// Removes `id`; returns whether it was there.
    pub fn remove(&mut self, id: u32) -> bool {
        self.inner.remove(id)
    }

    pub fn has(&self, id: u32) -> bool {
        self.inner.contains(id)
    }

    pub fn search(&self, query: &[f32], k: u32) -> Result<TopKResult, JsError> {
        top_k_result(self.inner.search(query, k as usize))
    }

    /// Live vectors.
    #[wasm_bindgen(getter)]
    pub fn len(&self) -> u32 {
        self.inner.len() as u32
    }

    #[wasm_bindgen(getter, js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> u32 {
        self.inner.dim() as u32
    }

    #[wasm_bindgen(getter)]
    pub fn int8(&self) -> bool {
        self.inner.storage() == Storage::Int8
    }
}

/// Approximate cosine search (HNSW); deterministic for a given seed. With `int8` the graph is
/// walked on int8 vectors and the final candidates rescored in f32.
#[wasm_bindgen]
pub struct HnswIndex {
    inner: gea_vector::HnswIndex,
}

#[wasm_bindgen]
impl HnswIndex {
    /// Parameters left out take the defaults (m 16, efConstruction 200, efSearch 64).
    #[wasm_bindgen(constructor)]
    pub fn new(
        dim: u32,
        m: Option<u32>,
        ef_construction: Option<u32>,
        ef_search: Option<u32>,
        int8: Option<bool>,
        seed: Option<u64>,
    ) -> Result<HnswIndex, JsError> {
        let d = HnswParams::default();
        let params = HnswParams {
            m: m.map_or(d.m, |v| v as usize),
            ef_construction: ef_construction.map_or(d.ef_construction, |v| v as usize),
            ef_search: ef_search.map_or(d.ef_search, |v| v as usize),
            seed: seed.unwrap_or(d.seed),
            storage: storage(int8),
        };
        gea_vector::HnswIndex::new(dim as usize, params)
            .map(|inner| HnswIndex { inner })
            .map_err(js_err)
    }

    pub fn load(bytes: &[u8]) -> Result<HnswIndex, JsError> {
        gea_vector::HnswIndex::load(bytes)
            .map(|inner| HnswIndex { inner })
            .map_err(js_err)
    }

    pub fn serialize(&self) -> Vec<u8> {
        self.inner.serialize()
    }

    pub fn add(&mut self, id: u32, vector: &[f32]) -> Result<(), JsError> {
        self.inner.add(id, vector).map_err(js_err)
    }

    #[wasm_bindgen(js_name = addBatch)]
    pub fn add_batch(&mut self, ids: &[u32], vectors: &[f32]) -> Result<(), JsError> {
        self.inner.add_batch(ids, vectors).map_err(js_err)
    }

    /// Deletes `id` (a tombstone: never returned again); returns whether it was live.
    pub fn remove(&mut self, id: u32) -> bool {
        self.inner.remove(id)
    }

    pub fn has(&self, id: u32) -> bool {
        self.inner.contains(id)
    }

    /// Top `k` with the index's efSearch, or `ef` when given.
    pub fn search(&self, query: &[f32], k: u32, ef: Option<u32>) -> Result<TopKResult, JsError> {
        let ef = ef.map_or(self.inner.ef_search(), |v| v as usize);
        top_k_result(self.inner.search_with_ef(query, k as usize, ef))
    }

    #[wasm_bindgen(js_name = setEfSearch)]
    pub fn set_ef_search(&mut self, ef: u32) -> Result<(), JsError> {
        self.inner.set_ef_search(ef as usize).map_err(js_err)
    }

    #[wasm_bindgen(getter, js_name = efSearch)]
    pub fn ef_search(&self) -> u32 {
        self.inner.ef_search() as u32
    }

    /// Live vectors.
    #[wasm_bindgen(getter)]
    pub fn len(&self) -> u32 {
        self.inner.len() as u32
    }

    #[wasm_bindgen(getter, js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> u32 {
        self.inner.dim() as u32
    }

    #[wasm_bindgen(getter)]
    pub fn int8(&self) -> bool {
        self.inner.params().storage == Storage::Int8
    }
}
