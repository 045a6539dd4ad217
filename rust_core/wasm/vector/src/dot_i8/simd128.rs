use super::BLOCK;
use crate::hsum_i32::hsum1;
use core::arch::wasm32::{
    i16x8_extend_high_i8x16, i16x8_extend_low_i8x16, i32x4_add, i32x4_dot_i16x8, i32x4_splat, v128,
    v128_load,
};

/// SIMD128 int8 dot product; `a.len() == b.len()` is checked by the caller.
pub(super) fn dot(a: &[i8], b: &[i8]) -> i32 {
    let body = a.len() / BLOCK * BLOCK;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = i32x4_splat(0);
    let mut i = 0;
    while i < body {
        // SAFETY: i + 16 <= body <= len of both slices; v128.load has no alignment requirement.
        let (va, vb) = unsafe {
            (
                v128_load(pa.add(i).cast::<v128>()),
                v128_load(pb.add(i).cast::<v128>()),
            )
        };
        let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(va), i16x8_extend_low_i8x16(vb));
        let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(va), i16x8_extend_high_i8x16(vb));
        acc = i32x4_add(acc, i32x4_add(lo, hi));
        i += BLOCK;
    }
    let mut sum = hsum1(acc);
    for (&x, &y) in a[body..].iter().zip(&b[body..]) {
        sum += i32::from(x) * i32::from(y);
    }
    sum
}
