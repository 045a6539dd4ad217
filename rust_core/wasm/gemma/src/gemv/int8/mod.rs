//! The int8-activation GEMVs (llama.cpp's way for Q8_0/Q4 weights): `x` is quantized per block
//! of the matrix's block size, `s = max|x_i| / 127`, `a_i = round(x_i / s)` ∈ [−127, 127],
//! and each block's dot product is exact integer arithmetic:
//!
//! ```text
//! q8:  y[r] = Σ_b (d[r,b] · s[b]) · Σ_i q[r,b,i] · a[b,i]
//! q4o: y[r] = Σ_b (sc[r,b] · s[b]) · Σ_i q[r,b,i] · a[b,i]  −  Σ_b o[r,b] · xsum[b]
//! ```
//!
//! (`xsum[b]` the block's sum of the unquantized `x`, left to right). The integer sums are
//! exact in any order (|Σ| ≤ block · 127² < 2^24 for blocks up to 1,040 values, so their f32
//! conversion is exact too; larger blocks wrap rather than panic). Only the f32 sum over blocks
//! depends on the order: `scalar` adds the blocks left to right; `lanes` and SIMD128 keep four
//! f32 accumulators (block `b` in lane `b mod 4`), reduce them as `(l0 + l1) + (l2 + l3)` and
//! add the last `blocks mod 4` blocks left to right, so SIMD128 is bit-identical to `lanes`.
//! The offset term is accumulated the same way by every kernel. Compared with the f32 GEMVs,
//! this trades the activation rounding (`|s · a − x| ≤ s / 2` per value) for about half the
//! instructions per weight.

mod lanes;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use super::{GemvKernel, Q4oView, Q8View};

/// `x` quantized per block: `x[j] ≈ scales[j / block] · a[j]`, plus the exact block sums.
pub(crate) struct QuantizedInput {
    pub(crate) a: Vec<i16>,
    pub(crate) scales: Vec<f32>,
    pub(crate) sums: Vec<f32>,
}

/// Quantizes `x` per block of `block` values (`x.len()` a multiple of `block`). A block whose
/// `1 / s` is not finite (all zeros, or tiny values) gets `s = 0` and zeros; non-finite `x`
/// values give a non-finite scale and so non-finite outputs, never a panic.
pub(crate) fn quantize_input(x: &[f32], block: usize) -> QuantizedInput {
    let mut a = Vec::with_capacity(x.len());
    let mut scales = Vec::with_capacity(x.len() / block.max(1));
    let mut sums = Vec::with_capacity(x.len() / block.max(1));
    for chunk in x.chunks_exact(block.max(1)) {
        let amax = chunk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = 1.0 / d;
        if d > 0.0 && id.is_finite() {
            scales.push(d);
            a.extend(
                chunk
                    .iter()
                    .map(|v| (v * id).round().clamp(-127.0, 127.0) as i16),
            );
        } else {
            scales.push(if d.is_finite() { 0.0 } else { d });
            a.extend(core::iter::repeat_n(0i16, chunk.len()));
        }
        sums.push(chunk.iter().fold(0.0f32, |s, &v| s + v));
    }
    QuantizedInput { a, scales, sums }
}

pub(super) fn q8(m: &Q8View, x: &[f32], out: &mut [f32], kernel: GemvKernel) {
    let qx = quantize_input(x, m.block);
    match kernel {
        GemvKernel::Scalar => scalar::q8(m, &qx, out),
        GemvKernel::Lanes => lanes::q8(m, &qx, out),
        GemvKernel::Fast => fast_q8(m, &qx, out),
    }
}

pub(super) fn q4o(m: &Q4oView, x: &[f32], out: &mut [f32], kernel: GemvKernel) {
    let qx = quantize_input(x, m.block);
    match kernel {
        GemvKernel::Scalar => scalar::q4o(m, &qx, out),
        GemvKernel::Lanes => lanes::q4o(m, &qx, out),
        GemvKernel::Fast => fast_q4o(m, &qx, out),
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fast_q8(m: &Q8View, qx: &QuantizedInput, out: &mut [f32]) {
    simd128::q8(m, qx, out)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fast_q8(m: &Q8View, qx: &QuantizedInput, out: &mut [f32]) {
    lanes::q8(m, qx, out)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fast_q4o(m: &Q4oView, qx: &QuantizedInput, out: &mut [f32]) {
    simd128::q4o(m, qx, out)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fast_q4o(m: &Q4oView, qx: &QuantizedInput, out: &mut [f32]) {
    lanes::q4o(m, qx, out)
}

/// The 4-bit values of one row's packed bytes, in order (low nibble first).
#[inline(always)]
pub(super) fn nibble(packed: &[u8], j: usize) -> i32 {
    let byte = packed[j / 2];
    i32::from(if j % 2 == 0 { byte & 15 } else { byte >> 4 })
}
