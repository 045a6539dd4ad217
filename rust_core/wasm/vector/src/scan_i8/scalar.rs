//! Quantized reference: per block an exact integer dot product, then
//! `sum += (d · s) · isum` over the blocks left to right.

use super::{BlockQ8Matrix, QuantizedActivation, BLOCK};

/// Exact integer dot product of one block (|result| < 2^20).
#[inline(always)]
pub(super) fn block_dot(w: &[i8], a: &[i16]) -> i32 {
    w.iter()
        .zip(a)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

pub(super) fn scan(m: &BlockQ8Matrix, act: &QuantizedActivation, mut sink: impl FnMut(usize, f32)) {
    let nb = m.blocks_per_row();
    if nb == 0 {
        (0..m.rows).for_each(|r| sink(r, 0.0));
        return;
    }
    let rows = m.q.chunks_exact(m.cols).zip(m.scales.chunks_exact(nb));
    for (r, (w, d)) in rows.enumerate() {
        let mut sum = 0.0f32;
        for ((wb, ab), (&db, &sb)) in w
            .chunks_exact(BLOCK)
            .zip(act.q.chunks_exact(BLOCK))
            .zip(d.iter().zip(&act.scales))
        {
            sum += (db * sb) * block_dot(wb, ab) as f32;
        }
        sink(r, sum);
    }
}
