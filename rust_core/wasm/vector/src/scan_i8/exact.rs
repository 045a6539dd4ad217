//! Unquantized reference: `Σ_j (d · q_j) · h_j` with the dequantized weights, in f64 (each
//! product is exact or nearly so), rounded once to f32.

use super::{BlockQ8Matrix, BLOCK};

pub(super) fn scan(m: &BlockQ8Matrix, h: &[f32], mut sink: impl FnMut(usize, f32)) {
    let nb = m.blocks_per_row();
    if nb == 0 {
        (0..m.rows).for_each(|r| sink(r, 0.0));
        return;
    }
    let rows = m.q.chunks_exact(m.cols).zip(m.scales.chunks_exact(nb));
    for (r, (w, d)) in rows.enumerate() {
        let mut sum = 0.0f64;
        for ((wb, hb), &db) in w.chunks_exact(BLOCK).zip(h.chunks_exact(BLOCK)).zip(d) {
            for (&x, &y) in wb.iter().zip(hb) {
                sum += (f64::from(db) * f64::from(x)) * f64::from(y);
            }
        }
        sink(r, sum as f32);
    }
}
