use super::*;

/// xorshift64*: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next_f32()).collect()
    }
}

/// Rounding bound for reordered f32 sums: n * eps * sum |a_i b_i|.
fn tolerance(a: &[f32], b: &[f32]) -> f32 {
    let magnitude: f32 = a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum();
    (a.len() as f32 + 1.0) * f32::EPSILON * magnitude + f32::MIN_POSITIVE
}

#[test]
fn lanes_matches_scalar_on_random_inputs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for n in (0..70).chain([127, 128, 129, 384, 640, 1000, 4099]) {
        let (a, b) = (rng.vec(n), rng.vec(n));
        let lanes = dot_lanes(&a, &b).unwrap();
        let scalar = dot_scalar(&a, &b).unwrap();
        assert!(
            (lanes - scalar).abs() <= tolerance(&a, &b),
            "n={n}: lanes {lanes} vs scalar {scalar}"
        );
    }
}

#[test]
fn dot_is_the_lanes_kernel_off_wasm() {
    let mut rng = Rng(7);
    let (a, b) = (rng.vec(1001), rng.vec(1001));
    assert_eq!(
        dot(&a, &b).unwrap().to_bits(),
        dot_lanes(&a, &b).unwrap().to_bits()
    );
    assert!(!simd128_enabled());
}

#[test]
fn known_values() {
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let b = [9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
    assert_eq!(dot(&a, &b).unwrap(), 165.0);
    assert_eq!(dot_scalar(&a, &b).unwrap(), 165.0);
    assert_eq!(dot(&[], &[]).unwrap(), 0.0);
}

#[test]
fn length_mismatch_is_an_error_not_a_panic() {
    let err = dot(&[1.0, 2.0], &[1.0]).unwrap_err();
    assert_eq!(err, VectorError::LengthMismatch { left: 2, right: 1 });
    assert_eq!(
        err.to_string(),
        "vectors must have the same length, got 2 and 1"
    );
    assert!(dot_scalar(&[1.0], &[]).is_err());
    assert!(dot_lanes(&[], &[1.0]).is_err());
}

#[test]
fn non_finite_values_propagate() {
    let a = [f32::INFINITY, 1.0];
    let b = [0.0, 1.0];
    assert!(dot(&a, &b).unwrap().is_nan());
}
