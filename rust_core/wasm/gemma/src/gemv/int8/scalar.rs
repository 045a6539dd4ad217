//! Reference: exact integer block sums, blocks added left to right.

use super::{nibble, QuantizedInput};
use crate::gemv::{Q4oView, Q8View};

pub(super) fn q8(m: &Q8View, qx: &QuantizedInput, out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let w = &m.q[r * m.cols..][..m.cols];
        let mut sum = 0.0f32;
        for b in 0..nb {
            let isum = (b * m.block..(b + 1) * m.block).fold(0i32, |s, j| {
                s.wrapping_add(i32::from(w[j]) * i32::from(qx.a[j]))
            });
            sum += (m.scales[r * nb + b] * qx.scales[b]) * isum as f32;
        }
        *o = sum;
    }
}

pub(super) fn q4o(m: &Q4oView, qx: &QuantizedInput, out: &mut [f32]) {
    let nb = m.cols / m.block;
    for (r, o) in out.iter_mut().enumerate() {
        let packed = &m.q[r * m.cols / 2..][..m.cols / 2];
        let (mut sum, mut off) = (0.0f32, 0.0f32);
        for b in 0..nb {
            let isum = (b * m.block..(b + 1) * m.block).fold(0i32, |s, j| {
                s.wrapping_add(nibble(packed, j) * i32::from(qx.a[j]))
            });
            sum += (m.scales[r * nb + b] * qx.scales[b]) * isum as f32;
            off += m.offsets[r * nb + b] * qx.sums[b];
        }
        *o = sum - off;
    }
}
