use super::*;

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
    fn f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn f32s(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32() * scale).collect()
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() >> 56) as u8).collect()
    }
}

const SHAPES: [(usize, usize, usize); 9] = [
    (5, 160, 32),
    (3, 112, 16),
    (1, 16, 16),
    (3, 32, 16),
    (5, 32, 32),
    (7, 48, 16),
    (9, 96, 32),
    (33, 640, 32),
    (2, 0, 16),
];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// f64 product with the dequantized weights, and `Σ |w_j · x_j|` per row.
fn exact(m: &QView, x: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let mut row = vec![0.0; m.cols()];
    (0..m.rows())
        .map(|r| {
            m.dequantize_row(r, &mut row);
            row.iter().zip(x).fold((0.0, 0.0), |(s, a), (&w, &xj)| {
                let p = f64::from(w) * f64::from(xj);
                (s + p, a + p.abs())
            })
        })
        .unzip()
}

fn run(m: &QView, x: &[f32], kernel: GemvKernel) -> Vec<f32> {
    let mut out = vec![f32::NAN; m.rows()];
    m.gemv_with(x, &mut out, kernel).unwrap();
    out
}

/// Every kernel is within the f32 summation bound of the exact product; Fast is Lanes.
fn check(m: &QView, x: &[f32], extra: &[f64]) {
    let (want, magnitude) = exact(m, x);
    let fast = run(m, x, GemvKernel::Fast);
    let lanes = run(m, x, GemvKernel::Lanes);
    assert_eq!(bits(&fast), bits(&lanes));
    let eps = f64::from(f32::EPSILON);
    for kernel in [GemvKernel::Scalar, GemvKernel::Lanes] {
        let got = run(m, x, kernel);
        for r in 0..m.rows() {
            let bound = 2.0 * (m.cols() as f64 + 8.0) * eps * (magnitude[r] + extra[r]) + 1e-30;
            let err = (f64::from(got[r]) - want[r]).abs();
            assert!(
                err <= bound,
                "{kernel:?} row {r}: {} vs {} (bound {bound})",
                got[r],
                want[r]
            );
        }
    }
}

#[test]
fn q8_kernels_agree_with_the_exact_product() {
    let mut rng = Rng(0x5eed);
    for (rows, cols, block) in SHAPES {
        let q: Vec<i8> = rng
            .bytes(rows * cols)
            .into_iter()
            .map(|b| b as i8)
            .collect();
        let scales = rng.f32s(rows * cols / block, 1e-2);
        let x = rng.f32s(cols, 4.0);
        let m = Q8View::new("m", rows, cols, block, &q, &scales).unwrap();
        check(&QView::Q8(m), &x, &vec![0.0; rows]);
    }
}

#[test]
fn q4o_kernels_agree_with_the_exact_product() {
    let mut rng = Rng(0xfeed);
    for (rows, cols, block) in SHAPES {
        let q = rng.bytes(rows * cols / 2);
        let scales = rng.f32s(rows * cols / block, 1e-2);
        let offsets = rng.f32s(rows * cols / block, 8e-2);
        let x = rng.f32s(cols, 4.0);
        let m = Q4oView::new("m", rows, cols, block, &q, &scales, &offsets).unwrap();
        // The factored offset term adds roundings of size |o| · Σ|x| per block.
        let nb = cols / block;
        let extra: Vec<f64> = (0..rows)
            .map(|r| {
                (0..nb)
                    .map(|b| {
                        let xs: f64 = x[b * block..][..block]
                            .iter()
                            .map(|v| f64::from(v.abs()))
                            .sum();
                        f64::from(offsets[r * nb + b].abs()) * xs * 2.0
                    })
                    .sum()
            })
            .collect();
        check(&QView::Q4o(m), &x, &extra);
    }
}

#[test]
fn nibbles_are_low_first_and_q8_rows_dequantize() {
    let q = [0x21u8, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0xed, 0x0f];
    let m = Q4oView::new("m", 1, 16, 16, &q, &[2.0], &[1.0]).unwrap();
    let mut row = [0.0; 16];
    m.dequantize_row(0, &mut row);
    let want: Vec<f32> = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]
        .iter()
        .map(|&v| 2.0 * v as f32 - 1.0)
        .collect();
    assert_eq!(row.to_vec(), want);
    let x: Vec<f32> = (0..16).map(|i| i as f32).collect();
    let dot: f32 = want.iter().zip(&x).map(|(a, b)| a * b).sum();
    for kernel in [GemvKernel::Fast, GemvKernel::Lanes, GemvKernel::Scalar] {
        assert_eq!(run(&QView::Q4o(m), &x, kernel), [dot]);
    }
    let q8: Vec<i8> = (0..32).map(|i| i - 16).collect();
    let m = Q8View::new("m", 1, 32, 16, &q8, &[0.5, -1.0]).unwrap();
    let mut row = [0.0; 32];
    m.dequantize_row(0, &mut row);
    assert_eq!(row[0], -8.0);
    assert_eq!(row[31], -15.0);
}

#[test]
fn shapes_and_lengths_are_checked() {
    let q = [0i8; 64];
    let s = [1.0f32; 4];
    assert!(Q8View::new("m", 2, 32, 16, &q, &s).is_ok());
    assert!(matches!(
        Q8View::new("m", 2, 32, 8, &q, &s),
        Err(GemmaError::Shape(_))
    ));
    assert!(matches!(
        Q8View::new("m", 2, 32, 32, &q, &s),
        Err(GemmaError::Shape(_))
    ));
    assert!(matches!(
        Q8View::new("m", 2, 48, 16, &q, &s),
        Err(GemmaError::Shape(_))
    ));
    assert!(matches!(
        Q8View::new("m", 4, 24, 16, &q, &s),
        Err(GemmaError::Shape(_))
    ));
    let p = [0u8; 16];
    assert!(Q4oView::new("m", 2, 16, 16, &p, &s[..2], &s[..2]).is_ok());
    assert!(matches!(
        Q4oView::new("m", 2, 16, 16, &p, &s[..2], &s[..1]),
        Err(GemmaError::Shape(_))
    ));
    let m = QView::Q8(Q8View::new("m", 2, 32, 16, &q, &s).unwrap());
    let mut out = [0.0; 2];
    assert!(m.gemv(&[0.0; 32], &mut out).is_ok());
    assert!(matches!(
        m.gemv(&[0.0; 31], &mut out),
        Err(GemmaError::Shape(_))
    ));
    assert!(matches!(
        m.gemv(&[0.0; 32], &mut out[..1]),
        Err(GemmaError::Shape(_))
    ));
    let owned = QMatrix::q8("m", 2, 32, 16, q.to_vec(), s.to_vec()).unwrap();
    assert_eq!((owned.rows(), owned.cols()), (2, 32));
    assert!(QMatrix::q4o("m", 2, 16, 16, p.to_vec(), vec![1.0; 2], vec![0.0; 3]).is_err());
}

/// The int8-activation kernels: Fast is Lanes; every kernel is within the activation rounding
/// (`s/2` per value, on the weights' quantized part) plus f32 rounding of the exact product.
fn check_int8(m: &QView, x: &[f32], qpart: &dyn Fn(usize, usize) -> f64, offsets: &[f32]) {
    let block = match m {
        QView::Q8(v) => v.block,
        QView::Q4o(v) => v.block,
    };
    let (want, magnitude) = exact(m, x);
    let qx = super::int8::quantize_input(x, block);
    let run8 = |kernel| {
        let mut out = vec![f32::NAN; m.rows()];
        m.gemv_int8_with(x, &mut out, kernel).unwrap();
        out
    };
    let fast = run8(GemvKernel::Fast);
    assert_eq!(bits(&fast), bits(&run8(GemvKernel::Lanes)));
    let eps = f64::from(f32::EPSILON);
    let nb = m.cols() / block.max(1);
    for kernel in [GemvKernel::Scalar, GemvKernel::Lanes] {
        let got = run8(kernel);
        for r in 0..m.rows() {
            let mut rounding = 0.0;
            let mut quantized = 0.0;
            let mut off = 0.0;
            for (j, xj) in x.iter().enumerate() {
                let b = j / block;
                let s = f64::from(qx.scales[b]);
                rounding += qpart(r, j).abs() * s * (0.5 + 1e-4);
                quantized += qpart(r, j).abs() * (f64::from(xj.abs()) + s);
                if !offsets.is_empty() {
                    off += f64::from(offsets[r * nb + b].abs()) * f64::from(xj.abs());
                }
            }
            let bound = rounding
                + 4.0 * (m.cols() as f64 + 8.0) * eps * (magnitude[r] + quantized + off)
                + 1e-30;
            let err = (f64::from(got[r]) - want[r]).abs();
            assert!(
                err <= bound,
                "{kernel:?} row {r}: {} vs {} (bound {bound})",
                got[r],
                want[r]
            );
            // Against the same arithmetic in f64 (quantized activation, exact integer block
            // sums): only f32 rounding of the block terms and their sum remains.
            let (mut same, mut terms) = (0.0f64, 0.0f64);
            for b in 0..nb {
                let isum: f64 = (b * block..(b + 1) * block)
                    .map(|j| qpart(r, j) * f64::from(qx.a[j]))
                    .sum();
                let term = isum * f64::from(qx.scales[b]);
                same += term;
                terms += term.abs();
                if !offsets.is_empty() {
                    let o = f64::from(offsets[r * nb + b]) * f64::from(qx.sums[b]);
                    same -= o;
                    terms += o.abs();
                }
            }
            let tight = 4.0 * (nb as f64 + 2.0) * eps * terms + 1e-30;
            let err = (f64::from(got[r]) - same).abs();
            assert!(
                err <= tight,
                "{kernel:?} row {r}: {} vs {same} (bound {tight})",
                got[r]
            );
        }
    }
}

#[test]
fn int8_activation_kernels_are_within_the_rounding_bound() {
    let mut rng = Rng(0xabcd);
    for (rows, cols, block) in SHAPES {
        let q: Vec<i8> = rng
            .bytes(rows * cols)
            .into_iter()
            .map(|b| b as i8)
            .collect();
        let scales = rng.f32s(rows * cols / block, 1e-2);
        let mut x = rng.f32s(cols, 4.0);
        if cols >= 32 {
            x[..16].fill(0.0); // an all-zero block: scale 0
            x[16..32].iter_mut().for_each(|v| *v *= 100.0);
        }
        let m = Q8View::new("m", rows, cols, block, &q, &scales).unwrap();
        let qpart = |r: usize, j: usize| {
            f64::from(q[r * cols + j]) * f64::from(scales[r * (cols / block) + j / block])
        };
        check_int8(&QView::Q8(m), &x, &qpart, &[]);

        let p = rng.bytes(rows * cols / 2);
        let offsets = rng.f32s(rows * cols / block, 8e-2);
        let m = Q4oView::new("m", rows, cols, block, &p, &scales, &offsets).unwrap();
        let qpart = |r: usize, j: usize| {
            let byte = p[(r * cols + j) / 2];
            let v = if j % 2 == 0 { byte & 15 } else { byte >> 4 };
            f64::from(v) * f64::from(scales[r * (cols / block) + j / block])
        };
        check_int8(&QView::Q4o(m), &x, &qpart, &offsets);
    }
}

#[test]
fn int8_activation_of_zeros_is_zero_and_product_dispatches() {
    let q = [5i8; 64];
    let m = QView::Q8(Q8View::new("m", 2, 32, 32, &q, &[1.0, 1.0]).unwrap());
    let mut out = [f32::NAN; 2];
    m.product(&[0.0; 32], &mut out, Activations::Int8).unwrap();
    assert_eq!(out, [0.0, 0.0]);
    let x: Vec<f32> = (0..32).map(|i| (i % 3) as f32).collect();
    m.product(&x, &mut out, Activations::F32).unwrap();
    assert_eq!(out, [155.0, 155.0]);
    m.product(&x, &mut out, Activations::Int8).unwrap();
    assert!((out[0] - 155.0).abs() < 0.5, "{out:?}");
    assert!(matches!(
        m.product(&x[..16], &mut out, Activations::Int8),
        Err(GemmaError::Shape(_))
    ));
}

/// The GEMM of every kernel equals that kernel's GEMV per activation, bit for bit, for
/// activation counts that leave every tile remainder.
#[test]
fn gemm_is_the_gemv_per_activation() {
    let mut rng = Rng(0x6e33);
    for (rows, cols, block) in SHAPES {
        let q8: Vec<i8> = rng
            .bytes(rows * cols)
            .into_iter()
            .map(|b| b as i8)
            .collect();
        let q4 = rng.bytes(rows * cols / 2);
        let scales = rng.f32s(rows * cols / block, 1e-2);
        let offsets = rng.f32s(rows * cols / block, 8e-2);
        let views = [
            QView::Q8(Q8View::new("m", rows, cols, block, &q8, &scales).unwrap()),
            QView::Q4o(Q4oView::new("m", rows, cols, block, &q4, &scales, &offsets).unwrap()),
        ];
        for m in views {
            for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 17] {
                let x = rng.f32s(n * cols, 4.0);
                for kernel in [GemvKernel::Fast, GemvKernel::Lanes, GemvKernel::Scalar] {
                    let mut got = vec![f32::NAN; n * rows];
                    m.gemm_with(n, &x, &mut got, kernel).unwrap();
                    let want: Vec<f32> = (0..n)
                        .flat_map(|t| run(&m, &x[t * cols..][..cols], kernel))
                        .collect();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{kernel:?} {rows}×{cols}/{block} n {n}"
                    );
                }
                for activations in [Activations::F32, Activations::Int8] {
                    let mut got = vec![f32::NAN; n * rows];
                    m.product_batch(n, &x, &mut got, activations).unwrap();
                    let mut want = vec![f32::NAN; n * rows];
                    for t in 0..n {
                        let xt = &x[t * cols..][..cols];
                        m.product(xt, &mut want[t * rows..][..rows], activations)
                            .unwrap();
                    }
                    assert_eq!(bits(&got), bits(&want), "{activations:?} n {n}");
                }
            }
        }
    }
}

#[test]
fn gemm_lengths_are_checked() {
    let q = [1i8; 64];
    let m = QView::Q8(Q8View::new("m", 2, 32, 32, &q, &[1.0, 1.0]).unwrap());
    let mut out = [0.0f32; 6];
    assert!(m
        .gemm_with(3, &[0.0; 96], &mut out, GemvKernel::Fast)
        .is_ok());
    assert_eq!(out, [0.0; 6]);
    for (n, x, o) in [(3, 95, 6), (3, 96, 5), (2, 96, 6), (usize::MAX, 96, 6)] {
        let err = m.gemm_with(n, &vec![0.0; x], &mut vec![0.0; o], GemvKernel::Lanes);
        assert!(matches!(err, Err(GemmaError::Shape(_))), "{n} {x} {o}");
        let err = m.product_batch(n, &vec![0.0; x], &mut vec![0.0; o], Activations::Int8);
        assert!(matches!(err, Err(GemmaError::Shape(_))), "{n} {x} {o}");
    }
}
