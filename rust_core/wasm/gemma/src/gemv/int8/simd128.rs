//! SIMD128 int8-activation kernels. Per chunk of 16 weights: one load (int8; or 8 packed bytes
//! whose nibbles are split with `and`/`shr` and put back in order with one shuffle), widened to
//! two i16x8 and `i32x4.dot_i16x8_s` against the activation's i16 values; a block's partial
//! sums stay an i32x4 (exact). Four blocks' i32x4 are reduced together into one i32x4 of block
//! sums, converted to f32x4 (exact), multiplied by `d · s` of the four blocks and added to an
//! f32x4 accumulator: the f32 operations of `lanes`, in its order.

use super::lanes::GROUP;
use super::QuantizedInput;
use crate::gemv::{Q4oView, Q8View, CHUNK};
use core::arch::wasm32::{
    f32x4_add, f32x4_convert_i32x4, f32x4_extract_lane, f32x4_mul, f32x4_splat,
    i16x8_extend_high_i8x16, i16x8_extend_low_i8x16, i32x4_add, i32x4_dot_i16x8, i32x4_splat,
    i8x16_shuffle, u16x8_extend_high_u8x16, u16x8_extend_low_u8x16, u8x16_shr, u8x16_splat, v128,
    v128_and, v128_load, v128_load64_zero,
};
use gea_vector::hsum_i32::{hsum1, hsum4};

/// One chunk: 16 weight values as two i16x8 (in order) against 16 activation values.
///
/// # Safety
/// `a` must be readable for 16 i16.
#[inline(always)]
unsafe fn chunk_dot(lo: v128, hi: v128, a: *const i16) -> v128 {
    i32x4_add(
        i32x4_dot_i16x8(lo, v128_load(a.cast::<v128>())),
        i32x4_dot_i16x8(hi, v128_load(a.add(8).cast::<v128>())),
    )
}

/// A block's partial sums, weights decoded by `load(j)` → (lo, hi) i16x8 for value `j`;
/// `C` chunks of 16 per block (`C = 0`: `block / 16` chunks, not known at compile time).
///
/// # Safety
/// `load` must be valid for every chunk start in `start..start + block`, `a` readable there.
#[inline(always)]
unsafe fn block_dot<const C: usize>(
    start: usize,
    block: usize,
    a: *const i16,
    load: &impl Fn(usize) -> (v128, v128),
) -> v128 {
    let chunks = if C == 0 { block / CHUNK } else { C };
    let mut acc = i32x4_splat(0);
    for c in 0..chunks {
        let j = start + c * CHUNK;
        let (lo, hi) = load(j);
        acc = i32x4_add(acc, chunk_dot(lo, hi, a.add(j)));
    }
    acc
}

/// [`row`] with the chunk count fixed at compile time for blocks of 16 and 32.
///
/// # Safety
/// As [`row`].
#[inline(always)]
unsafe fn any_row(
    nb: usize,
    block: usize,
    d: &[f32],
    s: &[f32],
    a: *const i16,
    load: impl Fn(usize) -> (v128, v128),
) -> f32 {
    match block {
        32 => row::<2>(nb, block, d, s, a, load),
        16 => row::<1>(nb, block, d, s, a, load),
        _ => row::<0>(nb, block, d, s, a, load),
    }
}

/// `Σ_b (d[b] · s[b]) · isum(b)` over a row's `nb` blocks, in `lanes`' order.
///
/// # Safety
/// As [`block_dot`] for every block of the row; `d` and `s` hold `nb` values.
#[inline(always)]
unsafe fn row<const C: usize>(
    nb: usize,
    block: usize,
    d: &[f32],
    s: &[f32],
    a: *const i16,
    load: impl Fn(usize) -> (v128, v128),
) -> f32 {
    let body = nb / GROUP * GROUP;
    let mut acc = f32x4_splat(0.0);
    let mut g = 0;
    while g < body {
        let isums = hsum4(
            block_dot::<C>(g * block, block, a, &load),
            block_dot::<C>((g + 1) * block, block, a, &load),
            block_dot::<C>((g + 2) * block, block, a, &load),
            block_dot::<C>((g + 3) * block, block, a, &load),
        );
        let scale = f32x4_mul(
            v128_load(d.as_ptr().add(g).cast::<v128>()),
            v128_load(s.as_ptr().add(g).cast::<v128>()),
        );
        acc = f32x4_add(acc, f32x4_mul(scale, f32x4_convert_i32x4(isums)));
        g += GROUP;
    }
    let mut sum = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
        + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc));
    for b in body..nb {
        let isum = hsum1(block_dot::<C>(b * block, block, a, &load));
        sum += (d[b] * s[b]) * isum as f32;
    }
    sum
}

pub(super) fn q8(m: &Q8View, qx: &QuantizedInput, out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let w = m.q[r * m.cols..][..m.cols].as_ptr();
        let load = |j: usize| {
            // SAFETY: j + 16 ≤ cols for every chunk start of the row.
            let v = unsafe { v128_load(w.add(j).cast::<v128>()) };
            (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v))
        };
        // SAFETY: the view's lengths were checked at construction; the activation holds cols
        // values and nb scales.
        *o = unsafe {
            any_row(
                nb,
                m.block,
                &m.scales[r * nb..][..nb],
                &qx.scales,
                qx.a.as_ptr(),
                load,
            )
        };
    }
}

pub(super) fn q4o(m: &Q4oView, qx: &QuantizedInput, out: &mut [f32]) {
    let nb = m.cols / m.block;
    let mask = u8x16_splat(15);
    for (r, o) in out.iter_mut().enumerate() {
        let packed = m.q[r * m.cols / 2..][..m.cols / 2].as_ptr();
        let load = |j: usize| {
            // SAFETY: j / 2 + 8 ≤ cols / 2 for every chunk start of the row.
            let v = unsafe { v128_load64_zero(packed.add(j / 2).cast::<u64>()) };
            let (lo, hi) = (v128_and(v, mask), u8x16_shr(v, 4));
            let q = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(lo, hi);
            (u16x8_extend_low_u8x16(q), u16x8_extend_high_u8x16(q))
        };
        // SAFETY: as in `q8`.
        let sum = unsafe {
            any_row(
                nb,
                m.block,
                &m.scales[r * nb..][..nb],
                &qx.scales,
                qx.a.as_ptr(),
                load,
            )
        };
        let offs = &m.offsets[r * nb..][..nb];
        let off = (0..nb).fold(0.0f32, |acc, b| acc + offs[b] * qx.sums[b]);
        *o = sum - off;
    }
}
