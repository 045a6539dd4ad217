use super::*;

struct Rng(u64);

impl Rng {
    fn next_i8(&mut self) -> i8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8 as i8
    }

    fn vec(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.next_i8()).collect()
    }
}

#[test]
fn lanes_equals_scalar_on_random_inputs() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for n in (0..70).chain([127, 128, 129, 384, 640, 1000, 4099]) {
        let (a, b) = (rng.vec(n), rng.vec(n));
        assert_eq!(
            dot_i8_lanes(&a, &b).unwrap(),
            dot_i8_scalar(&a, &b).unwrap(),
            "n={n}"
        );
        assert_eq!(dot_i8(&a, &b).unwrap(), dot_i8_scalar(&a, &b).unwrap());
    }
}

#[test]
fn extremes_do_not_overflow() {
    let a = vec![127i8; MAX_I8_DIM];
    let b = vec![-127i8; MAX_I8_DIM];
    let want = -(MAX_I8_DIM as i64) * 127 * 127;
    assert_eq!(i64::from(dot_i8_lanes(&a, &b).unwrap()), want);
    assert_eq!(i64::from(dot_i8_scalar(&a, &b).unwrap()), want);
}

#[test]
fn length_checks() {
    assert_eq!(
        dot_i8(&[1, 2], &[1]).unwrap_err(),
        VectorError::LengthMismatch { left: 2, right: 1 }
    );
    let big = vec![0i8; MAX_I8_DIM + 1];
    assert!(matches!(
        dot_i8_scalar(&big, &big),
        Err(VectorError::DimensionTooLarge { .. })
    ));
    assert_eq!(dot_i8(&[], &[]).unwrap(), 0);
}
