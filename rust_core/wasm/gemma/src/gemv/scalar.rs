//! The definition: each weight dequantized in f32, times `x`, summed left to right.

use super::{Q4oView, Q8View};

pub(super) fn q8(m: &Q8View, x: &[f32], out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let w = &m.q[r * m.cols..][..m.cols];
        let d = &m.scales[r * nb..][..nb];
        let mut sum = 0.0f32;
        for (j, (&q, &xj)) in w.iter().zip(x).enumerate() {
            sum += (f32::from(q) * d[j / m.block]) * xj;
        }
        *o = sum;
    }
}

pub(super) fn q4o(m: &Q4oView, x: &[f32], out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let packed = &m.q[r * m.cols / 2..][..m.cols / 2];
        let (s, off) = (&m.scales[r * nb..][..nb], &m.offsets[r * nb..][..nb]);
        let mut sum = 0.0f32;
        for (i, &byte) in packed.iter().enumerate() {
            for (j, q) in [(2 * i, byte & 15), (2 * i + 1, byte >> 4)] {
                let b = j / m.block;
                sum += (f32::from(q) * s[b] - off[b]) * x[j];
            }
        }
        *o = sum;
    }
}
