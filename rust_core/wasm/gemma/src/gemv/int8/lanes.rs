//! Portable emulation of `simd128`, bit-identical to it: four f32 accumulators (block `b` in
//! lane `b mod 4`), reduced as `(l0 + l1) + (l2 + l3)`, then the last `blocks mod 4` blocks.

use super::{nibble, QuantizedInput};
use crate::gemv::{Q4oView, Q8View};

/// Blocks per SIMD step.
pub(super) const GROUP: usize = 4;

/// `Σ_b (d[b] · s[b]) · isum(b)` in the SIMD order.
#[inline(always)]
fn blocks(nb: usize, d: &[f32], s: &[f32], isum: impl Fn(usize) -> i32) -> f32 {
    let body = nb / GROUP * GROUP;
    let mut acc = [0.0f32; GROUP];
    for g in (0..body).step_by(GROUP) {
        for (l, lane) in acc.iter_mut().enumerate() {
            *lane += (d[g + l] * s[g + l]) * isum(g + l) as f32;
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for b in body..nb {
        sum += (d[b] * s[b]) * isum(b) as f32;
    }
    sum
}

pub(super) fn q8(m: &Q8View, qx: &QuantizedInput, out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let w = &m.q[r * m.cols..][..m.cols];
        let isum = |b: usize| {
            (b * m.block..(b + 1) * m.block).fold(0i32, |s, j| {
                s.wrapping_add(i32::from(w[j]) * i32::from(qx.a[j]))
            })
        };
        *o = blocks(nb, &m.scales[r * nb..][..nb], &qx.scales, isum);
    }
}

pub(super) fn q4o(m: &Q4oView, qx: &QuantizedInput, out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let packed = &m.q[r * m.cols / 2..][..m.cols / 2];
        let isum = |b: usize| {
            (b * m.block..(b + 1) * m.block).fold(0i32, |s, j| {
                s.wrapping_add(nibble(packed, j) * i32::from(qx.a[j]))
            })
        };
        let sum = blocks(nb, &m.scales[r * nb..][..nb], &qx.scales, isum);
        let off = (0..nb).fold(0.0f32, |acc, b| acc + m.offsets[r * nb + b] * qx.sums[b]);
        *o = sum - off;
    }
}
