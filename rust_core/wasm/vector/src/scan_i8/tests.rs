use super::*;
use crate::topk::sort_all;

/// xorshift64*: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [-1, 1).
    fn next_f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n)
            .map(|_| (self.next_u64() >> 56) as u8 as i8)
            .collect()
    }

    /// Block scales of the size a Q8_0 LM head has (|w| up to ~0.1), some negative.
    fn scales(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next_f32() * 1e-3).collect()
    }

    /// A hidden state: values in [-4, 4) with a few blocks 100× larger or smaller, some zeros.
    fn hidden(&mut self, n: usize) -> Vec<f32> {
        let mut h: Vec<f32> = (0..n).map(|_| self.next_f32() * 4.0).collect();
        for block in h.chunks_mut(BLOCK) {
            match self.next_u64() % 8 {
                0 => block.iter_mut().for_each(|x| *x *= 100.0),
                1 => block.iter_mut().for_each(|x| *x *= 0.01),
                2 => block[0] = 0.0,
                _ => {}
            }
        }
        h
    }

    fn matrix(&mut self, rows: usize, cols: usize) -> BlockQ8Matrix {
        let q = self.i8s(rows * cols);
        let d = self.scales(rows * cols / BLOCK);
        BlockQ8Matrix::new(rows, cols, q, d).unwrap()
    }
}

const SHAPES: [(usize, usize); 9] = [
    (1, 32),
    (7, 64),
    (13, 96),
    (5, 128),
    (9, 160),
    (3, 224),
    (300, 640),
    (17, 1056),
    (4, 0),
];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn same_top(a: &[(u32, f32)], b: &[(u32, f32)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
}

/// The per-block terms `(d · s) · isum` of one row, as the quantized kernels compute them.
fn terms(m: &BlockQ8Matrix, h: &[f32], row: usize) -> Vec<f32> {
    let act = quantize_activation(h);
    let nb = m.blocks_per_row();
    (0..nb)
        .map(|b| {
            let w = &m.q()[row * m.cols() + b * BLOCK..][..BLOCK];
            let isum = scalar::block_dot(w, &act.q[b * BLOCK..][..BLOCK]);
            (m.scales()[row * nb + b] * act.scales[b]) * isum as f32
        })
        .collect()
}

/// Reordering bound of an f32 sum of `t`: two orders each within (n − 1) ε Σ|t|.
fn reorder_tolerance(t: &[f32]) -> f32 {
    let magnitude: f32 = t.iter().map(|x| x.abs()).sum();
    2.0 * (t.len() as f32 + 1.0) * f32::EPSILON * magnitude + f32::MIN_POSITIVE
}

/// Bound on |quantized − exact| for one row: activation rounding (|s·a − h| ≤ s · (1/2 + 1e-4),
/// or ≤ max|h| for a block quantized to zeros) plus f32 rounding of the block sum.
fn quantization_tolerance(m: &BlockQ8Matrix, h: &[f32], row: usize, exact: f32) -> f32 {
    let act = quantize_activation(h);
    let nb = m.blocks_per_row();
    let mut bound = 0.0f64;
    for b in 0..nb {
        let w = &m.q()[row * m.cols() + b * BLOCK..][..BLOCK];
        let hb = &h[b * BLOCK..][..BLOCK];
        let s = f64::from(act.scales[b]);
        let per_value = if s > 0.0 {
            s * (0.5 + 1e-4)
        } else {
            hb.iter().fold(0.0f64, |m, x| m.max(f64::from(x.abs())))
        };
        let qsum: f64 = w.iter().map(|&x| f64::from(x).abs()).sum();
        bound += f64::from(m.scales()[row * nb + b]).abs() * per_value * qsum;
    }
    bound as f32 + reorder_tolerance(&terms(m, h, row)) + f32::EPSILON * exact.abs()
}

#[test]
fn lanes_is_within_reordering_of_scalar() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (rows, cols) in SHAPES {
        let m = rng.matrix(rows, cols);
        let h = rng.hidden(cols);
        let lanes = m.scores_with(&h, ScanKernel::Lanes).unwrap();
        let scalar = m.scores_with(&h, ScanKernel::Scalar).unwrap();
        assert_eq!(lanes.len(), rows);
        for r in 0..rows {
            let tol = reorder_tolerance(&terms(&m, &h, r));
            assert!(
                (lanes[r] - scalar[r]).abs() <= tol,
                "{rows}×{cols} row {r}: lanes {} vs scalar {} (tol {tol})",
                lanes[r],
                scalar[r]
            );
        }
    }
}

#[test]
fn lanes_equals_scalar_when_there_are_fewer_than_four_blocks() {
    // With < 4 blocks the lanes kernel only runs its sequential tail: the same order.
    let mut rng = Rng(11);
    for cols in [32, 64, 96] {
        let m = rng.matrix(50, cols);
        let h = rng.hidden(cols);
        assert_eq!(
            bits(&m.scores_with(&h, ScanKernel::Lanes).unwrap()),
            bits(&m.scores_with(&h, ScanKernel::Scalar).unwrap())
        );
    }
}

#[test]
fn fast_is_the_lanes_kernel_off_wasm() {
    let mut rng = Rng(7);
    let m = rng.matrix(200, 640);
    let h = rng.hidden(640);
    assert_eq!(
        bits(&m.scores(&h).unwrap()),
        bits(&m.scores_with(&h, ScanKernel::Lanes).unwrap())
    );
    assert!(same_top(
        &m.top_k(&h, 40).unwrap(),
        &m.top_k_with(&h, 40, ScanKernel::Lanes, None).unwrap()
    ));
}

#[test]
fn quantized_scores_are_within_the_stated_bound_of_exact() {
    let mut rng = Rng(0x1234_5678);
    let mut worst_ratio = 0.0f32;
    for (rows, cols) in SHAPES {
        let m = rng.matrix(rows, cols);
        let h = rng.hidden(cols);
        let exact = m.scores_with(&h, ScanKernel::Exact).unwrap();
        for kernel in [ScanKernel::Lanes, ScanKernel::Scalar] {
            let quantized = m.scores_with(&h, kernel).unwrap();
            for r in 0..rows {
                let tol = quantization_tolerance(&m, &h, r, exact[r]);
                let err = (quantized[r] - exact[r]).abs();
                assert!(
                    err <= tol,
                    "{kernel:?} {rows}×{cols} row {r}: {} vs exact {} (tol {tol})",
                    quantized[r],
                    exact[r]
                );
                if tol > 0.0 {
                    worst_ratio = worst_ratio.max(err / tol);
                }
            }
        }
    }
    // The bound is a worst case; random rounding errors mostly cancel.
    assert!(worst_ratio < 0.5, "worst error / bound = {worst_ratio}");
}

#[test]
fn exact_reference_known_values() {
    // Row 0: d = 0.5 on block 0 and 2 on block 1; row 1 all -1 with d = 0.25.
    let mut q = vec![0i8; 2 * 64];
    q[0] = 2;
    q[1] = -4;
    q[32] = 3;
    q[64..].iter_mut().for_each(|x| *x = -1);
    let m = BlockQ8Matrix::new(2, 64, q, vec![0.5, 2.0, 0.25, 0.25]).unwrap();
    let mut h = vec![0.0f32; 64];
    h[0] = 1.0;
    h[1] = 0.5;
    h[32] = -1.0;
    // Row 0: 0.5·(2·1 − 4·0.5) + 2·(3·−1) = −6. Row 1: 0.25·−(1 + 0.5 − 1) = −0.125.
    assert_eq!(
        m.scores_with(&h, ScanKernel::Exact).unwrap(),
        [-6.0, -0.125]
    );
    // h's blocks quantize exactly (1 → 127, 0.5 → 63.5 → 64 ≈ 0.50394; −1 → −127), so the
    // quantized kernels are close: row 0 = 0.5·(1/127)·(2·127 − 4·64) + 2·(1/127)·(−381).
    for kernel in [ScanKernel::Fast, ScanKernel::Lanes, ScanKernel::Scalar] {
        let s = m.scores_with(&h, kernel).unwrap();
        assert!((s[0] - -6.007_874).abs() < 1e-5, "{kernel:?}: {}", s[0]);
        assert!((s[1] - -0.125_984_25).abs() < 1e-6, "{kernel:?}: {}", s[1]);
    }
}

#[test]
fn activation_quantization_matches_q8_0() {
    let mut h: Vec<f32> = (0..32).map(|i| i as f32 - 16.0).collect();
    h.extend([0.0f32; 32]);
    h.extend((0..32).map(|i| if i == 3 { 1e-39 } else { 0.0 }));
    let act = quantize_activation(&h);
    assert_eq!(act.scales, [16.0 / 127.0, 0.0, 0.0]);
    assert_eq!(act.q[0], -127);
    assert_eq!(act.q[8], -64); // −8 · 127/16 = −63.5 → −64 (half away from zero)
    assert_eq!(act.q[24], 64);
    assert_eq!(act.q[16], 0);
    assert!(act.q[32..].iter().all(|&x| x == 0));
    assert!(act.q.iter().all(|&x| (-127..=127).contains(&x)));
}

#[test]
fn top_k_equals_sorting_all_scores() {
    let mut rng = Rng(99);
    for (rows, cols) in SHAPES {
        let m = rng.matrix(rows, cols);
        let h = rng.hidden(cols);
        for kernel in [
            ScanKernel::Fast,
            ScanKernel::Lanes,
            ScanKernel::Scalar,
            ScanKernel::Exact,
        ] {
            let all = sort_all(&m.scores_with(&h, kernel).unwrap());
            for k in [0, 1, 2, 5, 40, 64, rows, rows + 7] {
                let want: Vec<_> = all.iter().copied().take(k).collect();
                let got = m.top_k_with(&h, k, kernel, None).unwrap();
                assert_eq!(got.len(), k.min(rows));
                assert!(same_top(&got, &want), "{kernel:?} {rows}×{cols} k={k}");
            }
        }
    }
}

#[test]
fn ties_go_to_the_lower_row_id() {
    // Identical rows 0..6 and a better row 6: top-3 = 6, 0, 1.
    let mut q = vec![1i8; 7 * 32];
    q[6 * 32] = 5;
    let m = BlockQ8Matrix::new(7, 32, q, vec![0.1; 7]).unwrap();
    let top = m.top_k(&[1.0; 32], 3).unwrap();
    assert_eq!(top.iter().map(|e| e.0).collect::<Vec<_>>(), [6, 0, 1]);
    assert_eq!(top[1].1.to_bits(), top[2].1.to_bits());
    // cols = 0: every score is 0, so the first k rows.
    let m = BlockQ8Matrix::new(5, 0, vec![], vec![]).unwrap();
    assert_eq!(m.top_k(&[], 2).unwrap(), [(0, 0.0), (1, 0.0)]);
}

#[test]
fn top_k_of_quantized_kernel_is_near_the_exact_top_k() {
    let mut rng = Rng(2024);
    let m = rng.matrix(2000, 640);
    let h = rng.hidden(640);
    let exact = m.scores_with(&h, ScanKernel::Exact).unwrap();
    let max_tol = (0..m.rows())
        .map(|r| quantization_tolerance(&m, &h, r, exact[r]))
        .fold(0.0f32, f32::max);
    let kth = sort_all(&exact)[39].1;
    for (id, _) in m.top_k(&h, 40).unwrap() {
        assert!(exact[id as usize] >= kth - 2.0 * max_tol, "row {id}");
    }
}

#[test]
fn k_zero_k_above_rows_and_empty_matrix() {
    let mut rng = Rng(3);
    let m = rng.matrix(10, 64);
    let h = rng.hidden(64);
    assert!(m.top_k(&h, 0).unwrap().is_empty());
    let all = m.top_k(&h, 1000).unwrap();
    assert_eq!(all.len(), 10);
    let mut ids: Vec<u32> = all.iter().map(|e| e.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..10).collect::<Vec<u32>>());
    assert!(all.windows(2).all(|w| w[0].1 >= w[1].1));

    let empty = BlockQ8Matrix::new(0, 640, vec![], vec![]).unwrap();
    assert!(empty.top_k(&h.repeat(10), 40).unwrap().is_empty());
    assert!(empty.scores(&h.repeat(10)).unwrap().is_empty());
    let none = BlockQ8Matrix::new(0, 0, vec![], vec![]).unwrap();
    assert!(none.top_k(&[], usize::MAX).unwrap().is_empty());
}

#[test]
fn non_finite_or_wrong_length_input_is_an_error() {
    let mut rng = Rng(5);
    let m = rng.matrix(4, 64);
    for (bad, index) in [(f32::NAN, 3), (f32::INFINITY, 40), (f32::NEG_INFINITY, 63)] {
        let mut h = rng.hidden(64);
        h[index] = bad;
        for kernel in [
            ScanKernel::Fast,
            ScanKernel::Lanes,
            ScanKernel::Scalar,
            ScanKernel::Exact,
        ] {
            let err = m.top_k_with(&h, 2, kernel, None).unwrap_err();
            assert_eq!(err, VectorError::NonFiniteInput { index });
            assert!(m.scores_with(&h, kernel).is_err());
        }
    }
    let err = m.top_k(&[0.0; 63], 1).unwrap_err();
    assert_eq!(
        err,
        VectorError::InputLength {
            expected: 64,
            got: 63
        }
    );
    assert_eq!(
        err.to_string(),
        "input vector must have cols = 64 elements, got 63"
    );
    assert_eq!(
        VectorError::NonFiniteInput { index: 3 }.to_string(),
        "input vector element 3 is NaN or infinite"
    );
}

#[test]
fn constructor_rejects_bad_shapes_with_clear_messages() {
    let err = BlockQ8Matrix::new(2, 48, vec![0; 96], vec![0.0; 3]).unwrap_err();
    assert_eq!(
        err,
        VectorError::ColsNotMultipleOfBlock {
            cols: 48,
            block: 32
        }
    );
    assert_eq!(
        err.to_string(),
        "cols must be a multiple of the block size 32, got 48"
    );
    let err = BlockQ8Matrix::new(2, 64, vec![0; 100], vec![0.0; 4]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "int8 values must have rows × cols = 2 × 64 = 128 elements, got 100"
    );
    let err = BlockQ8Matrix::new(2, 64, vec![0; 128], vec![0.0; 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scales must have rows × blocks per row = 2 × 2 = 4 elements, got 3"
    );
    let err = BlockQ8Matrix::new(1, 32, vec![0; 32], vec![f32::NAN]).unwrap_err();
    assert_eq!(err, VectorError::NonFiniteScale { index: 0 });
    assert_eq!(err.to_string(), "scale 0 is NaN or infinite");
    let err = BlockQ8Matrix::new(usize::MAX, 64, vec![], vec![]).unwrap_err();
    assert_eq!(
        err,
        VectorError::ShapeTooLarge {
            rows: usize::MAX,
            cols: 64
        }
    );
    #[cfg(target_pointer_width = "64")]
    assert!(matches!(
        BlockQ8Matrix::new(1 << 33, 0, vec![], vec![]),
        Err(VectorError::ShapeTooLarge { .. })
    ));
    let m = BlockQ8Matrix::new(3, 64, vec![1; 192], vec![0.5; 6]).unwrap();
    assert_eq!((m.rows(), m.cols(), m.blocks_per_row()), (3, 64, 2));
    assert_eq!(m.bytes(), 192 + 24);
    assert_eq!(BlockQ8Matrix::BLOCK, 32);
}

#[test]
fn soft_cap_is_applied_to_the_returned_scores() {
    let mut rng = Rng(8);
    let m = rng.matrix(100, 128);
    let h: Vec<f32> = rng.hidden(128).iter().map(|x| x * 50.0).collect();
    let raw = m.top_k(&h, 10).unwrap();
    let capped = m.top_k_with(&h, 10, ScanKernel::Fast, Some(3.0)).unwrap();
    for (r, c) in raw.iter().zip(&capped) {
        assert_eq!(r.0, c.0);
        assert_eq!(c.1, soft_cap(r.1, 3.0));
        assert!(c.1.abs() <= 3.0);
    }
    assert!(capped.windows(2).all(|w| w[0].1 >= w[1].1));
    assert_eq!(soft_cap(0.0, 30.0), 0.0);
    assert!((soft_cap(30.0, 30.0) - 30.0 * 1f32.tanh()).abs() < 1e-5);
    assert_eq!(soft_cap(1e30, 30.0), 30.0);
    for cap in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert_eq!(
            m.top_k_with(&h, 1, ScanKernel::Fast, Some(cap))
                .unwrap_err(),
            VectorError::InvalidSoftcap
        );
    }
}

#[test]
fn extreme_values_do_not_panic_and_rank_nan_last() {
    // Extreme scales overflow some scores to ±inf and, where +inf meets −inf, NaN.
    let mut q = vec![127i8; 3 * 64];
    q[64..96].iter_mut().for_each(|x| *x = -128); // row 1: −inf + inf = NaN
    let d = vec![f32::MAX, f32::MAX, f32::MAX, f32::MAX, 1.0, 1.0];
    let m = BlockQ8Matrix::new(3, 64, q, d).unwrap();
    let h = vec![f32::MAX; 64];
    for kernel in [ScanKernel::Fast, ScanKernel::Lanes, ScanKernel::Scalar] {
        let s = m.scores_with(&h, kernel).unwrap();
        assert_eq!(s[0], f32::INFINITY, "{kernel:?}");
        assert!(s[1].is_nan(), "{kernel:?}");
        let top = m.top_k_with(&h, 3, kernel, None).unwrap();
        assert_eq!(top.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 2, 1]);
    }
    // The f64 reference does not overflow inside the sum, only when rounded to f32.
    let s = m.scores_with(&h, ScanKernel::Exact).unwrap();
    assert_eq!((s[0], s[1]), (f32::INFINITY, f32::NEG_INFINITY));
    // Extreme integers: −128 · 127 · 32 per block cannot overflow.
    let m = BlockQ8Matrix::new(1, 640, vec![-128; 640], vec![1.0; 20]).unwrap();
    let s = m.scores(&[1.0; 640]).unwrap();
    assert_eq!(s[0], -128.0 * 640.0);
}
