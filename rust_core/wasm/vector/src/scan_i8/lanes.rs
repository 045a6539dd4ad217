//! Portable emulation of `simd128::scan`, bit-identical to it. Like the SIMD kernel it takes
//! the activation in its SIMD layout (`[a_even…, 256·a_odd…]` per 16 values) and multiplies
//! `256·w_even` and `w_odd` against it, so each block sum comes out as `256 · Σ q·a` (exact:
//! |256 · Σ| < 2^28, with at most 20 significant bits, so its f32 conversion is exact too),
//! and uses the activation scales divided by 256. Its f32 operations are the SIMD kernel's, in
//! order: four accumulators (block `b` in lane `b mod 4`) of `(d · s/256) · (256 · isum)`,
//! reduced as `(l0 + l1) + (l2 + l3)`, then the last `blocks mod 4` blocks added left to right.
//! Each term equals the scalar reference's `(d · s) · isum` exactly unless `d · s/256` is
//! subnormal or a product overflows, so only the order of the block sum differs from it.

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
        let isum256 = block_dot_256(
            &w[b * BLOCK..][..BLOCK],
            &act.interleaved[b * BLOCK..][..BLOCK],
        );
        (d[b] * act.scales_simd[b]) * isum256 as f32
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

/// `256 ×` the dot product of one block, as the SIMD kernel computes it: per 16 weights, the
/// even ones times 256 against `a_even`, the odd ones against `256·a_odd`.
#[inline(always)]
fn block_dot_256(w: &[i8], a: &[i16]) -> i32 {
    let mut sum = 0i32;
    for (w16, a16) in w.chunks_exact(16).zip(a.chunks_exact(16)) {
        let (even, odd) = a16.split_at(8);
        for j in 0..8 {
            sum += i32::from(w16[2 * j]) * 256 * i32::from(even[j]);
            sum += i32::from(w16[2 * j + 1]) * i32::from(odd[j]);
        }
    }
    sum
}
