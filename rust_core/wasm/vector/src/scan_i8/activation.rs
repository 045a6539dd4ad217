//! Per-block int8 quantization of the input vector (llama.cpp's `quantize_row_q8_0`, with an
//! f32 scale instead of f16). Shared by every quantized kernel, so they all see the same
//! integers and scales; also lays them out for the SIMD kernel.

use super::BLOCK;

/// The SIMD kernel's integer block sums are `256 ×` the true ones (see `interleaved`), so its
/// scales are divided by this.
const SIMD_SHIFT_SCALE: f32 = 256.0;

/// `h` quantized per block of [`BLOCK`]: `h[j] ≈ scales[j / 32] · q[j]`.
pub(crate) struct QuantizedActivation {
    /// The int8 values (in [−127, 127]), widened to i16.
    pub(crate) q: Vec<i16>,
    /// One scale per block: `max |h_i| / 127`, or 0 when the block quantizes to zeros.
    pub(crate) scales: Vec<f32>,
    /// `q` rearranged for the SIMD kernel, per 16 values `q[0..16]` of a block:
    /// `[q0, q2, …, q14, 256·q1, 256·q3, …, 256·q15]` (|256·q| ≤ 32,512 fits i16). An i16x8
    /// lane of 16 weight bytes holds `w_even + 256·w_odd`; `shl 8` of it is `256·w_even` and
    /// `shr_s 8` is `w_odd`, so two `i32x4.dot_i16x8_s` with these halves give `256 ×` the dot
    /// product without any sign-extension shuffles.
    pub(crate) interleaved: Vec<i16>,
    /// `scales / 256` (exact unless it falls below f32's normal range).
    pub(crate) scales_simd: Vec<f32>,
}

/// `s = max|h_i| / 127`, `id = 1 / s`, `q_i = round(h_i · id)` (half away from zero), clamped to
/// [−127, 127]. A block whose `1 / s` is not finite (all zeros, or so small that `1 / s`
/// overflows) gets `s = 0` and zeros. `h` must be finite and `h.len()` a multiple of 32 (the
/// caller checks both).
pub(crate) fn quantize_activation(h: &[f32]) -> QuantizedActivation {
    let mut q = Vec::with_capacity(h.len());
    let mut scales = Vec::with_capacity(h.len() / BLOCK);
    for block in h.chunks_exact(BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let d = amax / 127.0;
        let id = 1.0 / d;
        if d > 0.0 && id.is_finite() {
            scales.push(d);
            q.extend(
                block
                    .iter()
                    .map(|x| (x * id).round().clamp(-127.0, 127.0) as i16),
            );
        } else {
            scales.push(0.0);
            q.extend(core::iter::repeat_n(0i16, BLOCK));
        }
    }
    let mut interleaved = Vec::with_capacity(q.len());
    for half in q.chunks_exact(16) {
        interleaved.extend(half.iter().step_by(2));
        interleaved.extend(half.iter().skip(1).step_by(2).map(|x| x * 256));
    }
    let scales_simd = scales.iter().map(|s| s / SIMD_SHIFT_SCALE).collect();
    QuantizedActivation {
        q,
        scales,
        interleaved,
        scales_simd,
    }
}
