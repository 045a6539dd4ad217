//! SIMD128 kernels: per chunk of 16 weights one load, widened to four f32x4 (int8: sign
//! extension; 4-bit: nibbles split with `and`/`shr` and interleaved back into order with one
//! shuffle), multiplied by four f32x4 of `x` and summed as `(p0 + p1) + (p2 + p3)` into the
//! block's accumulator; `lanes` performs the same f32 operations in the same order.

use super::{Q4oView, Q8View, CHUNK};
use core::arch::wasm32::{
    f32x4_add, f32x4_convert_i32x4, f32x4_extract_lane, f32x4_mul, f32x4_splat,
    i16x8_extend_high_i8x16, i16x8_extend_low_i8x16, i32x4_extend_high_i16x8,
    i32x4_extend_low_i16x8, i8x16_shuffle, u16x8_extend_high_u8x16, u16x8_extend_low_u8x16,
    u32x4_extend_high_u16x8, u32x4_extend_low_u16x8, u8x16_shr, u8x16_splat, v128, v128_and,
    v128_load, v128_load64_zero,
};

/// `(f0·x0 + f1·x1) + (f2·x2 + f3·x3)` with `x` read from `x[0..16]`.
///
/// # Safety
/// `x` must be readable for 16 f32.
#[inline(always)]
unsafe fn products(f: [v128; 4], x: *const f32) -> v128 {
    let p = |k: usize| f32x4_mul(f[k], v128_load(x.add(4 * k).cast::<v128>()));
    f32x4_add(f32x4_add(p(0), p(1)), f32x4_add(p(2), p(3)))
}

#[inline(always)]
fn reduce(acc: v128) -> f32 {
    (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
        + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc))
}

/// The four f32x4 of one chunk of 16 int8 weights. (Processing four rows at a time, sharing
/// the loads of `x`, measured no faster in V8: it spills registers.)
///
/// # Safety
/// `w` must be readable for 16 bytes.
#[inline(always)]
unsafe fn widen_q8(w: *const i8) -> [v128; 4] {
    let v = v128_load(w.cast::<v128>());
    let (lo, hi) = (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v));
    [
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(hi)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(hi)),
    ]
}

pub(super) fn q8(m: &Q8View, x: &[f32], out: &mut [f32]) {
    let nb = m.cols / m.block;
    let chunks = m.block / CHUNK;
    for (r, o) in out.iter_mut().enumerate() {
        let w = m.q[r * m.cols..][..m.cols].as_ptr();
        let d = &m.scales[r * nb..][..nb];
        let mut acc = f32x4_splat(0.0);
        for (b, &db) in d.iter().enumerate() {
            let mut inner = f32x4_splat(0.0);
            for c in 0..chunks {
                let j = b * m.block + c * CHUNK;
                // SAFETY: j + 16 ≤ cols, and the row and `x` hold `cols` values (checked by
                // the caller); v128.load has no alignment requirement.
                unsafe {
                    inner = f32x4_add(inner, products(widen_q8(w.add(j)), x.as_ptr().add(j)));
                }
            }
            acc = f32x4_add(acc, f32x4_mul(f32x4_splat(db), inner));
        }
        *o = reduce(acc);
    }
}

pub(super) fn q4o(m: &Q4oView, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    let nb = m.cols / m.block;
    let chunks = m.block / CHUNK;
    let mask = u8x16_splat(15);
    for (r, o) in out.iter_mut().enumerate() {
        let packed = m.q[r * m.cols / 2..][..m.cols / 2].as_ptr();
        let (s, offs) = (&m.scales[r * nb..][..nb], &m.offsets[r * nb..][..nb]);
        let mut acc = f32x4_splat(0.0);
        let mut off = 0.0f32;
        for b in 0..nb {
            let mut inner = f32x4_splat(0.0);
            for c in 0..chunks {
                let j = b * m.block + c * CHUNK;
                // SAFETY: the row holds cols / 2 bytes and j / 2 + 8 ≤ cols / 2; `x` holds
                // cols values and j + 16 ≤ cols.
                unsafe {
                    let v = v128_load64_zero(packed.add(j / 2).cast::<u64>());
                    let (lo, hi) = (v128_and(v, mask), u8x16_shr(v, 4));
                    let q = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(
                        lo, hi,
                    );
                    let (a, bb) = (u16x8_extend_low_u8x16(q), u16x8_extend_high_u8x16(q));
                    let f = [
                        f32x4_convert_i32x4(u32x4_extend_low_u16x8(a)),
                        f32x4_convert_i32x4(u32x4_extend_high_u16x8(a)),
                        f32x4_convert_i32x4(u32x4_extend_low_u16x8(bb)),
                        f32x4_convert_i32x4(u32x4_extend_high_u16x8(bb)),
                    ];
                    inner = f32x4_add(inner, products(f, x.as_ptr().add(j)));
                }
            }
            acc = f32x4_add(acc, f32x4_mul(f32x4_splat(s[b]), inner));
            off += offs[b] * xsum[b];
        }
        *o = reduce(acc) - off;
    }
}
