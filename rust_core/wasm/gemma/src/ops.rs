//! The decoder's small element-wise operations, written to follow
//! `build_tools/reference_model.py` operation for operation (f32 throughout, except the mean
//! of squares, summed in f64).

/// `out = x / sqrt(mean(x²) + eps) · scale` (`scale` is the stored effective scale, 1 + w).
pub fn rms_norm(x: &[f32], scale: &[f32], eps: f32, out: &mut [f32]) {
    let sum: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    let var = (sum / x.len().max(1) as f64) as f32;
    let root = (var + eps).sqrt();
    for ((o, &v), &s) in out.iter_mut().zip(x).zip(scale) {
        *o = v / root * s;
    }
}

/// [`rms_norm`] in place.
pub fn rms_norm_in_place(x: &mut [f32], scale: &[f32], eps: f32) {
    let sum: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    let var = (sum / x.len().max(1) as f64) as f32;
    let root = (var + eps).sqrt();
    for (v, &s) in x.iter_mut().zip(scale) {
        *v = *v / root * s;
    }
}

/// GELU, tanh approximation: `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`.
pub fn gelu_tanh(x: f32) -> f32 {
    let c = (2.0 / core::f64::consts::PI).sqrt() as f32;
    0.5 * x * (1.0 + (c * (x + 0.044715 * (x * x * x))).tanh())
}

/// `tanh(x / cap) · cap`.
pub fn soft_cap(x: f32, cap: f32) -> f32 {
    (x / cap).tanh() * cap
}

/// Rotary inverse frequencies `1 / θ^(2i/d) / factor` (computed in f64, rounded to f32).
pub fn rope_inv_freq(head_dim: usize, theta: f64, factor: f64) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|i| (1.0 / theta.powf((2 * i) as f64 / head_dim as f64) / factor) as f32)
        .collect()
}

/// Rotates one head in place at `position` (rotate_half: element `i` pairs with `i + d/2`).
pub fn rope(head: &mut [f32], position: usize, inv_freq: &[f32]) {
    let half = inv_freq.len();
    let (x1, x2) = head.split_at_mut(half);
    for ((a, b), &f) in x1.iter_mut().zip(x2.iter_mut()).zip(inv_freq) {
        let angle = position as f32 * f;
        let (sin, cos) = (angle.sin(), angle.cos());
        let (p, q) = (*a, *b);
        *a = p * cos - q * sin;
        *b = q * cos + p * sin;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_normalises_and_scales() {
        let x = [3.0f32, -4.0];
        let mut out = [0.0; 2];
        rms_norm(&x, &[1.0, 2.0], 0.0, &mut out);
        let r = 12.5f32.sqrt();
        assert_eq!(out, [3.0 / r, -4.0 / r * 2.0]);
        let mut y = x;
        rms_norm_in_place(&mut y, &[1.0, 2.0], 0.0);
        assert_eq!(y, out);
    }

    #[test]
    fn gelu_and_soft_cap_values() {
        assert_eq!(gelu_tanh(0.0), 0.0);
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-5);
        assert!((gelu_tanh(-3.0) + 0.003_637_4).abs() < 1e-5);
        assert!((soft_cap(100.0, 30.0) - 30.0 * (100.0f32 / 30.0).tanh()).abs() < 1e-6);
    }

    #[test]
    fn rope_rotates_pairs_and_keeps_norms() {
        let inv = rope_inv_freq(4, 10_000.0, 1.0);
        assert_eq!(inv, [1.0, 0.01]);
        let mut head = [1.0f32, 0.0, 0.0, 1.0];
        rope(&mut head, 0, &inv);
        assert_eq!(head, [1.0, 0.0, 0.0, 1.0]);
        rope(&mut head, 3, &inv);
        let norm: f32 = head.iter().map(|v| v * v).sum();
        assert!((norm - 2.0).abs() < 1e-6);
        assert!((head[0] - 3.0f32.cos()).abs() < 1e-6 && (head[2] - 3.0f32.sin()).abs() < 1e-6);
        assert_eq!(rope_inv_freq(4, 10_000.0, 8.0), [0.125, 0.00125]);
    }
}
