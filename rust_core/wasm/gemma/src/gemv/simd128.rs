//! SIMD128 kernels: per chunk of 16 weights one load, widened to four f32x4 (int8: sign
//! extension; 4-bit: nibbles split with `and`/`shr` and interleaved back into order with one
//! shuffle), multiplied by four f32x4 of `x` and summed as `(p0 + p1) + (p2 + p3)` into the
//! block's accumulator; `lanes` performs the same f32 operations in the same order.
//!
//! The GEMMs go row by row; per row, tiles of [`TILE`] activations share each chunk's widened
//! weights (the row stays in L1 across the tiles). They are bound by the f32 multiplies and
//! adds, which bit-identity with the GEMV fixes at 8 per 16 weights per activation: the
//! widening is what batching saves (about 1.7× per token in V8). The q8 GEMM fixes the chunks
//! per block at compile time for blocks of 16 and 32 (fully unrolled: faster). Measured no
//! faster: tiles of 8 (register spills), 2 rows × 4 activations sharing the `x` loads, blocks
//! of 16 rows per pass of a tile (so the tile's `x` stays in L1), and fixed chunk counts for
//! q4o.

use super::{Q4oView, Q8View, CHUNK, TILE};
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

/// The four f32x4 of one chunk of 16 packed 4-bit weights (8 bytes, low nibble first).
///
/// # Safety
/// `p` must be readable for 8 bytes.
#[inline(always)]
unsafe fn widen_q4(p: *const u8) -> [v128; 4] {
    let v = v128_load64_zero(p.cast::<u64>());
    let (lo, hi) = (v128_and(v, u8x16_splat(15)), u8x16_shr(v, 4));
    let q = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(lo, hi);
    let (a, bb) = (u16x8_extend_low_u8x16(q), u16x8_extend_high_u8x16(q));
    [
        f32x4_convert_i32x4(u32x4_extend_low_u16x8(a)),
        f32x4_convert_i32x4(u32x4_extend_high_u16x8(a)),
        f32x4_convert_i32x4(u32x4_extend_low_u16x8(bb)),
        f32x4_convert_i32x4(u32x4_extend_high_u16x8(bb)),
    ]
}

pub(super) fn q4o(m: &Q4oView, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    let nb = m.cols / m.block;
    let chunks = m.block / CHUNK;
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
                    inner = f32x4_add(
                        inner,
                        products(widen_q4(packed.add(j / 2)), x.as_ptr().add(j)),
                    );
                }
            }
            acc = f32x4_add(acc, f32x4_mul(f32x4_splat(s[b]), inner));
            off += offs[b] * xsum[b];
        }
        *o = reduce(acc) - off;
    }
}

/// One row times `N` activations, `x` pointing at the first (they are `cols` apart): each
/// chunk's weights are widened once and serve the `N` sums, each summed as [`q8`] does.
///
/// # Safety
/// `w` must be readable for `cols` bytes and `x` for `N · cols` f32.
#[inline(always)]
unsafe fn q8_tile<const N: usize, const C: usize>(
    m: &Q8View,
    w: *const i8,
    d: &[f32],
    x: *const f32,
) -> [f32; N] {
    let chunks = if C == 0 { m.block / CHUNK } else { C };
    let mut acc = [f32x4_splat(0.0); N];
    for (b, &db) in d.iter().enumerate() {
        let mut inner = [f32x4_splat(0.0); N];
        for c in 0..chunks {
            let j = b * m.block + c * CHUNK;
            let f = widen_q8(w.add(j));
            for (t, i) in inner.iter_mut().enumerate() {
                *i = f32x4_add(*i, products(f, x.add(t * m.cols + j)));
            }
        }
        let s = f32x4_splat(db);
        for (a, i) in acc.iter_mut().zip(inner) {
            *a = f32x4_add(*a, f32x4_mul(s, i));
        }
    }
    acc.map(reduce)
}

/// One row times `N` activations for q4o, as [`q8_tile`]; `xsum` points at the first
/// activation's block sums (`nb` per activation).
///
/// # Safety
/// `p` must be readable for `cols / 2` bytes, `x` for `N · cols` f32 and `xsum` for `N · nb`.
#[inline(always)]
unsafe fn q4o_tile<const N: usize>(
    m: &Q4oView,
    p: *const u8,
    s: &[f32],
    offs: &[f32],
    x: *const f32,
    xsum: *const f32,
) -> [f32; N] {
    let (nb, chunks) = (s.len(), m.block / CHUNK);
    let mut acc = [f32x4_splat(0.0); N];
    let mut off = [0.0f32; N];
    for b in 0..nb {
        let mut inner = [f32x4_splat(0.0); N];
        for c in 0..chunks {
            let j = b * m.block + c * CHUNK;
            let f = widen_q4(p.add(j / 2));
            for (t, i) in inner.iter_mut().enumerate() {
                *i = f32x4_add(*i, products(f, x.add(t * m.cols + j)));
            }
        }
        let sb = f32x4_splat(s[b]);
        for (a, i) in acc.iter_mut().zip(inner) {
            *a = f32x4_add(*a, f32x4_mul(sb, i));
        }
        for (t, o) in off.iter_mut().enumerate() {
            *o += offs[b] * *xsum.add(t * nb + b);
        }
    }
    core::array::from_fn(|t| reduce(acc[t]) - off[t])
}

/// Writes a tile's values into column `r` of the activation-major `out` from activation `t0`.
#[inline(always)]
fn put(out: &mut [f32], rows: usize, r: usize, t0: usize, values: &[f32]) {
    for (t, &v) in values.iter().enumerate() {
        out[(t0 + t) * rows + r] = v;
    }
}

/// Calls `tile!(N)` on the largest tile (TILE, 4, 2 or 1) that fits the `left` activations
/// and returns its size.
macro_rules! tiles {
    ($left:expr, $tile:ident) => {
        match $left {
            l if l >= TILE => $tile!(TILE),
            l if l >= 4 => $tile!(4),
            2 | 3 => $tile!(2),
            _ => $tile!(1),
        }
    };
}

/// One row of the q8 GEMM, `C` chunks per block (0: `block / 16`, not known at compile time).
#[inline(always)]
fn q8_row<const C: usize>(m: &Q8View, r: usize, n: usize, x: &[f32], out: &mut [f32]) {
    let nb = m.cols / m.block;
    let w = m.q[r * m.cols..][..m.cols].as_ptr();
    let d = &m.scales[r * nb..][..nb];
    let mut t0 = 0;
    while t0 < n {
        let xt = x[t0 * m.cols..].as_ptr();
        macro_rules! tile {
            ($n:expr) => {{
                // SAFETY: the row holds cols bytes; `x` holds n · cols values (checked by the
                // caller) and the tile's activations are below n.
                put(out, m.rows, r, t0, &unsafe {
                    q8_tile::<{ $n }, C>(m, w, d, xt)
                });
                $n
            }};
        }
        t0 += tiles!(n - t0, tile);
    }
}

pub(super) fn q8_gemm(m: &Q8View, n: usize, x: &[f32], out: &mut [f32]) {
    for r in 0..m.rows {
        match m.block {
            32 => q8_row::<2>(m, r, n, x, out),
            16 => q8_row::<1>(m, r, n, x, out),
            _ => q8_row::<0>(m, r, n, x, out),
        }
    }
}

/// One row of the q4o GEMM, as [`q8_row`] (a chunk count fixed at compile time measured
/// slower here).
#[inline(always)]
fn q4o_row(m: &Q4oView, r: usize, n: usize, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    let nb = m.cols / m.block;
    let p = m.q[r * m.cols / 2..][..m.cols / 2].as_ptr();
    let (s, offs) = (&m.scales[r * nb..][..nb], &m.offsets[r * nb..][..nb]);
    let mut t0 = 0;
    while t0 < n {
        let (xt, st) = (x[t0 * m.cols..].as_ptr(), xsum[t0 * nb..].as_ptr());
        macro_rules! tile {
            ($n:expr) => {{
                // SAFETY: the row holds cols / 2 bytes; `x` holds n · cols values and `xsum`
                // n · nb, and the tile's activations are below n.
                let v = unsafe { q4o_tile::<{ $n }>(m, p, s, offs, xt, st) };
                put(out, m.rows, r, t0, &v);
                $n
            }};
        }
        t0 += tiles!(n - t0, tile);
    }
}

pub(super) fn q4o_gemm(m: &Q4oView, n: usize, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    for r in 0..m.rows {
        q4o_row(m, r, n, x, out, xsum);
    }
}
