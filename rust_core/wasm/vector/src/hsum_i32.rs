//! Exact horizontal sums of i32x4 vectors, shared by the int8 kernels of this crate and of
//! `gea-gemma` (SIMD128 only).

use core::arch::wasm32::{i32x4_add, i32x4_extract_lane, i32x4_shuffle, i64x2_shuffle, v128};

/// `[Σ a, Σ b, Σ c, Σ d]` (each a horizontal sum of one i32x4), exact in integers.
#[inline(always)]
pub fn hsum4(a: v128, b: v128, c: v128, d: v128) -> v128 {
    // (a0+a2, b0+b2, a1+a3, b1+b3) and the same for c, d: unpack low/high 32-bit lanes.
    let ab = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    // Low and high 64-bit halves: (a02, b02, c02, d02) + (a13, b13, c13, d13).
    i32x4_add(i64x2_shuffle::<0, 2>(ab, cd), i64x2_shuffle::<1, 3>(ab, cd))
}

/// Horizontal sum of one i32x4 (exact).
#[inline(always)]
pub fn hsum1(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v)
        .wrapping_add(i32x4_extract_lane::<1>(v))
        .wrapping_add(i32x4_extract_lane::<2>(v))
        .wrapping_add(i32x4_extract_lane::<3>(v))
}
