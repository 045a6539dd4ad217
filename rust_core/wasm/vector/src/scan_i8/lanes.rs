//! Portable emulation of `simd128::scan`, bit-identical to it. The SIMD kernel computes each
//! block's integer sum times 256 (exact: |256 · Σ| < 2^28, and it has at most 20 significant
//! bits, so its f32 conversion is exact too) and uses the activation scales divided by 256;
//! its f32 operations are, in order: four accumulators (block `b` in lane `b mod 4`) of
//! `(d · s/256) · (256 · isum)`, reduced as `(l0 + l1) + (l2 + l3)`, then the last
//! `blocks mod 4` blocks added left to right. This does the same with plain integers.
//! Each term equals the scalar reference's `(d · s) · isum` exactly unless `d · s/256` is
//! subnormal or a product overflows, so only the order of the block sum differs from it.

use super::activation::SIMD_SHIFT_SCALE;
use super::scalar::block_dot;
use super::{BlockQ8Matrix, QuantizedActivation, BLOCK};

/// Blocks per SIMD step: one f32x4 of block sums.
pub(super) const GROUP: usize = 4;

pub(super) fn scan(m: &BlockQ8Matrix, act: &QuantizedActivation, mut sink: impl FnMut(usize, f32)) {
    let nb = m.blocks_per_row();
    if nb == 0 {
        (0..m.rows).for_each(|r| sink(r, 0.0));
        return;
    }
    let body = nb / GROUP * GROUP;
    let term = |w: &[i8], d: &[f32], b: usize| {
        let isum = block_dot(&w[b * BLOCK..][..BLOCK], &act.q[b * BLOCK..][..BLOCK]);
        (d[b] * act.scales_simd[b]) * (isum as f32 * SIMD_SHIFT_SCALE)
    };
    let rows = m.q.chunks_exact(m.cols).zip(m.scales.chunks_exact(nb));
    for (r, (w, d)) in rows.enumerate() {
        let mut acc = [0.0f32; GROUP];
        for g in (0..body).step_by(GROUP) {
            for (l, lane) in acc.iter_mut().enumerate() {
                *lane += term(w, d, g + l);
            }
        }
        let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for b in body..nb {
            sum += term(w, d, b);
        }
        sink(r, sum);
    }
}
