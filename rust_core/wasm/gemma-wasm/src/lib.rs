//! wasm-bindgen binding of `gea_gemma`: translation only, no logic.

use gea_gemma::gemv::{GemvKernel, Q4oView, Q8View, QView};
use gea_gemma::{Activations, Decoder, GemmaError};
use wasm_bindgen::prelude::*;

fn js(e: GemmaError) -> JsError {
    JsError::new(&e.to_string())
}

/// One sequence decoded by the project's Gemma decoder: the model (parsed from a
/// `weights-*.bin` file, copied into wasm memory) and its KV cache.
#[wasm_bindgen]
pub struct GemmaDecoder {
    inner: Decoder,
}

/// The result of `topK`: `ids[i]` is the token of `scores[i]`, best first (ties: lower id
/// first). Each read of `ids` / `scores` returns a new typed array.
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

#[wasm_bindgen]
impl GemmaDecoder {
    /// Parses a weights file (`GEAWGT01`). Throws with the reason on a bad file.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<GemmaDecoder, JsError> {
        Decoder::from_bytes(bytes)
            .map(|inner| GemmaDecoder { inner })
            .map_err(js)
    }

    /// Forgets the sequence (empties the KV cache).
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Runs `tokens` after the current sequence; returns the logits after the last one.
    /// Throws on an empty list or a token id ≥ the vocabulary size (the cache is unchanged).
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<Vec<f32>, JsError> {
        self.inner.prefill(tokens).map_err(js)
    }

    /// Runs `tokens` without computing the full logits (follow with `topK`).
    pub fn advance(&mut self, tokens: &[u32]) -> Result<(), JsError> {
        self.inner.advance(tokens).map_err(js)
    }

    /// Runs one token; returns its logits.
    pub fn step(&mut self, token: u32) -> Result<Vec<f32>, JsError> {
        self.inner.step(token).map_err(js)
    }

    /// The `k` most likely next tokens after the last token run (the int8 LM-head scan when
    /// the embedding is q8 with blocks of 32). Throws before any token was run.
    #[wasm_bindgen(js_name = topK)]
    pub fn top_k(&self, k: u32) -> Result<TopKResult, JsError> {
        let best = self.inner.top_k(k as usize).map_err(js)?;
        Ok(TopKResult {
            ids: best.iter().map(|e| e.0).collect(),
            scores: best.iter().map(|e| e.1).collect(),
        })
    }

    /// Whether the layers' GEMVs quantize the activations to int8 per block (faster,
    /// llama.cpp's rounding) instead of keeping them in f32 (the default, matches the f32
    /// reference). Takes effect from the next token.
    #[wasm_bindgen(setter, js_name = int8Activations)]
    pub fn set_int8_activations(&mut self, on: bool) {
        self.inner.set_activations(if on {
            Activations::Int8
        } else {
            Activations::F32
        });
    }

    #[wasm_bindgen(getter, js_name = int8Activations)]
    pub fn int8_activations(&self) -> bool {
        self.inner.model().activations() == Activations::Int8
    }

    /// Keeps the first `length` positions of the KV cache (for reusing a shared prompt prefix);
    /// a token must run before the next `topK` / `scoresOf`.
    pub fn truncate(&mut self, length: u32) {
        self.inner.truncate(length as usize);
    }

    /// The logits of `ids` after the last token run, exactly (a constrained step's choices).
    /// Throws on an id ≥ the vocabulary size or before any token was run.
    #[wasm_bindgen(js_name = scoresOf)]
    pub fn scores_of(&self, ids: &[u32]) -> Result<Vec<f32>, JsError> {
        self.inner.scores_of(ids).map_err(js)
    }

    /// Positions in the KV cache.
    #[wasm_bindgen(getter, js_name = pastLength)]
    pub fn past_length(&self) -> u32 {
        self.inner.past_length() as u32
    }

    #[wasm_bindgen(getter, js_name = vocabSize)]
    pub fn vocab_size(&self) -> u32 {
        self.inner.model().config().vocab_size as u32
    }

    #[wasm_bindgen(getter)]
    pub fn family(&self) -> u32 {
        self.inner.model().config().family
    }
}

/// Whether this build's kernels run on SIMD128.
#[wasm_bindgen(js_name = simd128Enabled)]
pub fn simd128_enabled() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
}

/// A kernel name: `"fast"`, `"lanes"` or `"scalar"`, with `"-int8"` appended for the
/// int8-activation kernels.
fn kernel(name: &str) -> Result<(GemvKernel, bool), JsError> {
    let (base, int8) = match name.strip_suffix("-int8") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let kernel = match base {
        "fast" => GemvKernel::Fast,
        "lanes" => GemvKernel::Lanes,
        "scalar" => GemvKernel::Scalar,
        _ => {
            return Err(JsError::new(&format!(
                "unknown kernel {name:?} (fast, lanes or scalar, optionally with -int8)"
            )))
        }
    };
    Ok((kernel, int8))
}

/// The matrix arguments of `gemvQ8` / `gemmQ8`, checked.
fn q8_view<'a>(
    rows: u32,
    cols: u32,
    block: u32,
    q: &'a [i8],
    scales: &'a [f32],
) -> Result<Q8View<'a>, JsError> {
    Q8View::new(
        "q8",
        rows as usize,
        cols as usize,
        block as usize,
        q,
        scales,
    )
    .map_err(js)
}

/// The matrix arguments of `gemvQ4o` / `gemmQ4o`, checked.
fn q4o_view<'a>(
    rows: u32,
    cols: u32,
    block: u32,
    q: &'a [u8],
    scales: &'a [f32],
    offsets: &'a [f32],
) -> Result<Q4oView<'a>, JsError> {
    Q4oView::new(
        "q4o",
        rows as usize,
        cols as usize,
        block as usize,
        q,
        scales,
        offsets,
    )
    .map_err(js)
}

fn run_gemv(m: QView, x: &[f32], kernel_name: &str) -> Result<Vec<f32>, JsError> {
    let (kernel, int8) = kernel(kernel_name)?;
    let mut out = vec![0.0; m.rows()];
    if int8 {
        m.gemv_int8_with(x, &mut out, kernel).map_err(js)?;
    } else {
        m.gemv_with(x, &mut out, kernel).map_err(js)?;
    }
    Ok(out)
}

/// `W · x` for an int8 block matrix (`w = scales[r, b] · q`), with the kernel named
/// `"fast"` (SIMD128), `"lanes"` (its portable emulation) or `"scalar"` (the definition), each
/// optionally with `"-int8"` (`x` quantized to int8 per block); for tests and benchmarks of the
/// decoder's GEMVs.
#[wasm_bindgen(js_name = gemvQ8)]
pub fn gemv_q8(
    rows: u32,
    cols: u32,
    block: u32,
    q: &[i8],
    scales: &[f32],
    x: &[f32],
    kernel_name: &str,
) -> Result<Vec<f32>, JsError> {
    let m = q8_view(rows, cols, block, q, scales)?;
    run_gemv(QView::Q8(m), x, kernel_name)
}

/// `W · x` for a 4-bit block matrix (packed low nibble first, `w = scales · q − offsets`),
/// with a named kernel as in `gemvQ8`.
#[wasm_bindgen(js_name = gemvQ4o)]
#[allow(clippy::too_many_arguments)]
pub fn gemv_q4o(
    rows: u32,
    cols: u32,
    block: u32,
    q: &[u8],
    scales: &[f32],
    offsets: &[f32],
    x: &[f32],
    kernel_name: &str,
) -> Result<Vec<f32>, JsError> {
    let m = q4o_view(rows, cols, block, q, scales, offsets)?;
    run_gemv(QView::Q4o(m), x, kernel_name)
}

fn run_gemm(m: QView, x: &[f32], n: u32, kernel_name: &str) -> Result<Vec<f32>, JsError> {
    let (kernel, int8) = kernel(kernel_name)?;
    if int8 {
        return Err(JsError::new("the GEMM has no int8-activation kernel"));
    }
    let n = n as usize;
    let mut out = vec![0.0; n.saturating_mul(m.rows())];
    m.gemm_with(n, x, &mut out, kernel).map_err(js)?;
    Ok(out)
}

/// `W · x[t]` for `n` activations of `cols` values stored one after another in `x` (the
/// prefill's GEMM), int8 block matrix as in `gemvQ8`, kernel `"fast"`, `"lanes"` or
/// `"scalar"`: `n · rows` values, activation-major, bit-identical to `n` GEMVs.
#[wasm_bindgen(js_name = gemmQ8)]
#[allow(clippy::too_many_arguments)]
pub fn gemm_q8(
    rows: u32,
    cols: u32,
    block: u32,
    q: &[i8],
    scales: &[f32],
    x: &[f32],
    n: u32,
    kernel_name: &str,
) -> Result<Vec<f32>, JsError> {
    let m = q8_view(rows, cols, block, q, scales)?;
    run_gemm(QView::Q8(m), x, n, kernel_name)
}

/// The GEMM of a 4-bit block matrix (as `gemvQ4o`), as `gemmQ8`.
#[wasm_bindgen(js_name = gemmQ4o)]
#[allow(clippy::too_many_arguments)]
pub fn gemm_q4o(
    rows: u32,
    cols: u32,
    block: u32,
    q: &[u8],
    scales: &[f32],
    offsets: &[f32],
    x: &[f32],
    n: u32,
    kernel_name: &str,
) -> Result<Vec<f32>, JsError> {
    let m = q4o_view(rows, cols, block, q, scales, offsets)?;
    run_gemm(QView::Q4o(m), x, n, kernel_name)
}
