use super::BLOCK;
use core::arch::wasm32::{f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_splat, v128, v128_load};

/// SIMD128 dot product; `a.len() == b.len()` is checked by the caller.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let body = a.len() / BLOCK * BLOCK;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = f32x4_splat(0.0);
    let mut acc1 = f32x4_splat(0.0);
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 <= body <= len of both slices; v128.load has no alignment requirement.
        let (a0, b0, a1, b1) = unsafe {
            (
                v128_load(pa.add(i).cast::<v128>()),
                v128_load(pb.add(i).cast::<v128>()),
                v128_load(pa.add(i + 4).cast::<v128>()),
                v128_load(pb.add(i + 4).cast::<v128>()),
            )
        };
        acc0 = f32x4_add(acc0, f32x4_mul(a0, b0));
        acc1 = f32x4_add(acc1, f32x4_mul(a1, b1));
        i += BLOCK;
    }
    let acc = f32x4_add(acc0, acc1);
    let mut sum = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
        + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc));
    for (x, y) in a[body..].iter().zip(&b[body..]) {
        sum += x * y;
    }
    sum
}
