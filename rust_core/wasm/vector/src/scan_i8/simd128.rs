//! SIMD128 scan. Per block of 32: two `v128` loads of int8 weights; each i16x8 view of 16
//! weight bytes holds `w_even + 256·w_odd` per lane, so `i16x8.shl 8` gives `256·w_even` and
//! `i16x8.shr_s 8` gives `w_odd`, sign-extended with no shuffle; `i32x4.dot_i16x8_s` of those
//! against the activation laid out as `[a_even…, 256·a_odd…]` (see `activation.rs`) gives
//! `256 ×` the block's partial sums. Four blocks' i32x4 are reduced together by a transpose-add
//! into one i32x4 of exact block sums, converted to f32x4 (exact), multiplied by
//! `d · s/256` and added into an f32x4 accumulator. `lanes::scan` performs the same f32
//! operations in the same order.
//!
//! Rows go [`ROWS`] at a time, sharing the activation loads, and those rows come from [`ROWS`]
//! far-apart parts of the matrix (`r, r + n/4, r + n/2, r + 3n/4`): several independent
//! sequential streams keep more cache misses in flight than one, which is what limits a single
//! thread on a matrix much larger than the cache (262,144 × 640: ~29 → ~19 ms here).

use super::lanes::GROUP;
use super::{BlockQ8Matrix, QuantizedActivation, BLOCK};
use crate::hsum_i32::{hsum1, hsum4};
use core::arch::wasm32::{
    f32x4_add, f32x4_convert_i32x4, f32x4_extract_lane, f32x4_mul, f32x4_splat, i16x8_shl,
    i16x8_shr, i32x4_add, i32x4_dot_i16x8, v128, v128_load,
};

/// `256 ×` one block's dot product as four i32x4 partial sums, added lane-wise.
///
/// # Safety
/// `w` must be readable for 32 bytes and `a` for 32 i16.
#[inline(always)]
unsafe fn block_dot(w: *const i8, a: *const i16) -> v128 {
    let w0 = v128_load(w.cast::<v128>());
    let w1 = v128_load(w.add(16).cast::<v128>());
    let p0 = i32x4_dot_i16x8(i16x8_shl(w0, 8), v128_load(a.cast::<v128>()));
    let p1 = i32x4_dot_i16x8(i16x8_shr(w0, 8), v128_load(a.add(8).cast::<v128>()));
    let p2 = i32x4_dot_i16x8(i16x8_shl(w1, 8), v128_load(a.add(16).cast::<v128>()));
    let p3 = i32x4_dot_i16x8(i16x8_shr(w1, 8), v128_load(a.add(24).cast::<v128>()));
    i32x4_add(i32x4_add(p0, p1), i32x4_add(p2, p3))
}

/// Rows processed together (and independent memory streams).
const ROWS: usize = 4;

/// Scores of `R` rows, row `i` given by its int8 values `w[i]` and its block scales `d[i]`.
///
/// # Safety
/// Each `w[i]` must be readable for `cols` bytes, each `d[i]` for `nb` f32, `a` for `cols`
/// i16 and `s` for `nb` f32, with `cols = nb · 32`.
#[inline(always)]
unsafe fn row_scores<const R: usize>(
    w: [*const i8; R],
    d: [*const f32; R],
    a: *const i16,
    s: *const f32,
    nb: usize,
) -> [f32; R] {
    let body = nb / GROUP * GROUP;
    let mut acc = [f32x4_splat(0.0); R];
    let mut g = 0;
    while g < body {
        let act_scale = v128_load(s.add(g).cast::<v128>());
        for (i, acc) in acc.iter_mut().enumerate() {
            let w = w[i].add(g * BLOCK);
            let a = a.add(g * BLOCK);
            let isums = hsum4(
                block_dot(w, a),
                block_dot(w.add(BLOCK), a.add(BLOCK)),
                block_dot(w.add(2 * BLOCK), a.add(2 * BLOCK)),
                block_dot(w.add(3 * BLOCK), a.add(3 * BLOCK)),
            );
            let scale = f32x4_mul(v128_load(d[i].add(g).cast::<v128>()), act_scale);
            *acc = f32x4_add(*acc, f32x4_mul(scale, f32x4_convert_i32x4(isums)));
        }
        g += GROUP;
    }
    let mut sums = [0.0f32; R];
    for (i, (sum, acc)) in sums.iter_mut().zip(acc).enumerate() {
        *sum = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
            + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc));
        for b in body..nb {
            let isum = hsum1(block_dot(w[i].add(b * BLOCK), a.add(b * BLOCK)));
            *sum += (*d[i].add(b) * *s.add(b)) * isum as f32;
        }
    }
    sums
}

pub(super) fn scan(m: &BlockQ8Matrix, act: &QuantizedActivation, mut sink: impl FnMut(usize, f32)) {
    let (cols, nb) = (m.cols, m.blocks_per_row());
    let (pq, pd) = (m.q.as_ptr(), m.scales.as_ptr());
    let (pa, ps) = (act.interleaved.as_ptr(), act.scales_simd.as_ptr());
    let stride = m.rows / ROWS;
    // SAFETY (both loops): `BlockQ8Matrix::new` checked q.len() == rows·cols and
    // scales.len() == rows·nb, and the activation has cols values and nb scales; every row
    // index below is < rows. v128.load has no alignment requirement.
    for r in 0..stride {
        let ids: [usize; ROWS] = core::array::from_fn(|i| r + i * stride);
        let w = ids.map(|row| unsafe { pq.add(row * cols) });
        let d = ids.map(|row| unsafe { pd.add(row * nb) });
        let sums = unsafe { row_scores::<ROWS>(w, d, pa, ps, nb) };
        for (row, sum) in ids.into_iter().zip(sums) {
            sink(row, sum);
        }
    }
    for r in stride * ROWS..m.rows {
        let [sum] = unsafe { row_scores::<1>([pq.add(r * cols)], [pd.add(r * nb)], pa, ps, nb) };
        sink(r, sum);
    }
}
