//! Block-quantized int8 matrix × f32 vector, streamed into a top-k (the Gemma LM head).
//!
//! The matrix is llama.cpp's Q8_0 split in two arrays: `q` (row-major int8, `rows × cols`) and
//! `scales` (row-major f32, one per block of [`BLOCK`] = 32 values of a row), `w = d · q`.
//!
//! The fast path (and its `lanes` emulation and `scalar` reference) first quantizes the input
//! vector `h` per block of 32, like llama.cpp's Q8_0 activations: `s = max|h_i| / 127`,
//! `a_i = round(h_i / s)` ∈ [−127, 127] (see `activation.rs`). A row's score is then
//!
//! ```text
//! score[r] = Σ_b (d[r,b] · s[b]) · (Σ_i q[r,b,i] · a[b,i])
//! ```
//!
//! with the inner sums in exact integer arithmetic (|Σ| ≤ 32 · 128 · 127 < 2^20, so any order
//! and the i32 → f32 conversion are exact). Only the f32 sum over blocks depends on the order:
//! `scalar` adds the blocks left to right; `lanes` and SIMD128 keep four f32 accumulators
//! (block `b` goes to lane `b mod 4`), reduce them as `(l0 + l1) + (l2 + l3)` and add the last
//! `blocks mod 4` blocks left to right (the SIMD kernel's integer sums and activation scales
//! carry a factor 256 and 1/256, which cancel exactly; `lanes` does the same). So SIMD128 is
//! bit-identical to `lanes`, and `lanes` is within the f32 reordering bound
//! `2 · (blocks + 1) · ε · Σ_b |term_b|` of `scalar` (equal when a row has < 4 blocks).
//! SIMD128 scans four far-apart rows at a time (more memory streams in flight); rows are
//! independent, so this changes no score, and the top-k does not depend on arrival order.
//!
//! Ranking: highest score first, ties to the lower row id; a NaN score (only possible when
//! scales are extreme enough to overflow to ±∞ within a row) ranks below −∞.
//!
//! [`ScanKernel::Exact`] is the unquantized reference: `Σ_j (d · q_j) · h_j` in f64, rounded
//! once to f32. The quantized score differs from it by at most
//! `Σ_b |d[r,b]| · s[b] · (1/2 + 1e-4) · Σ_i |q[r,b,i]|` (activation rounding) plus f32
//! rounding of the block sum.

mod activation;
mod exact;
mod lanes;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use activation::{quantize_activation, QuantizedActivation};

use crate::topk::TopK;
use crate::VectorError;

/// Values per quantization block (llama.cpp Q8_0), for the matrix and the activation.
pub const BLOCK: usize = 32;

/// Which implementation computes the scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanKernel {
    /// The fastest in this build: SIMD128 on wasm32 with `simd128`, else `Lanes`.
    Fast,
    /// Portable emulation of the SIMD128 kernel, bit-identical to it.
    Lanes,
    /// Quantized reference: same integer arithmetic, blocks added left to right.
    Scalar,
    /// Unquantized reference: dequantized weights times `h`, summed in f64.
    Exact,
}

/// A `rows × cols` matrix of int8 values with one f32 scale per block of [`BLOCK`] values.
#[derive(Clone, Debug)]
pub struct BlockQ8Matrix {
    rows: usize,
    cols: usize,
    q: Vec<i8>,
    scales: Vec<f32>,
}

/// `cap · tanh(x / cap)` (Gemma 2 final-logit soft-capping), computed in f64.
pub fn soft_cap(x: f32, cap: f32) -> f32 {
    let cap = f64::from(cap);
    (cap * (f64::from(x) / cap).tanh()) as f32
}

impl BlockQ8Matrix {
    /// Values per block (always [`BLOCK`]).
    pub const BLOCK: usize = BLOCK;

    /// Checks the shape: `cols % 32 == 0`, `q.len() == rows × cols`,
    /// `scales.len() == rows × cols / 32`, every scale finite, `rows` fits in u32.
    pub fn new(
        rows: usize,
        cols: usize,
        q: Vec<i8>,
        scales: Vec<f32>,
    ) -> Result<Self, VectorError> {
        if cols % BLOCK != 0 {
            return Err(VectorError::ColsNotMultipleOfBlock { cols, block: BLOCK });
        }
        let len = rows.checked_mul(cols);
        if len.is_none() || u32::try_from(rows).is_err() {
            return Err(VectorError::ShapeTooLarge { rows, cols });
        }
        if Some(q.len()) != len {
            return Err(VectorError::WeightsLength {
                rows,
                cols,
                got: q.len(),
            });
        }
        let blocks_per_row = cols / BLOCK;
        if scales.len() != rows * blocks_per_row {
            return Err(VectorError::ScalesLength {
                rows,
                blocks_per_row,
                got: scales.len(),
            });
        }
        if let Some(index) = scales.iter().position(|d| !d.is_finite()) {
            return Err(VectorError::NonFiniteScale { index });
        }
        Ok(BlockQ8Matrix {
            rows,
            cols,
            q,
            scales,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn blocks_per_row(&self) -> usize {
        self.cols / BLOCK
    }

    /// The int8 values, row-major.
    pub fn q(&self) -> &[i8] {
        &self.q
    }

    /// The block scales, row-major (`rows × cols / 32`).
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Size of the data one scan reads: int8 values plus f32 scales.
    pub fn bytes(&self) -> usize {
        self.q.len() + 4 * self.scales.len()
    }

    /// The `k` highest scores of `self · h` with their row ids, best first (ties: lower id
    /// first), with the fastest kernel and no soft-cap. `k > rows` returns every row.
    pub fn top_k(&self, h: &[f32], k: usize) -> Result<Vec<(u32, f32)>, VectorError> {
        self.top_k_with(h, k, ScanKernel::Fast, None)
    }

    /// [`Self::top_k`] with a chosen kernel and an optional soft-cap. The rows are selected
    /// and ordered by their raw scores; the returned scores are then `cap · tanh(score / cap)`
    /// (monotonic, so the order holds, though saturation can make neighbours equal).
    pub fn top_k_with(
        &self,
        h: &[f32],
        k: usize,
        kernel: ScanKernel,
        softcap: Option<f32>,
    ) -> Result<Vec<(u32, f32)>, VectorError> {
        if let Some(cap) = softcap {
            if !(cap.is_finite() && cap > 0.0) {
                return Err(VectorError::InvalidSoftcap);
            }
        }
        let mut top = TopK::new(k, self.rows);
        self.scan(h, kernel, |row, score| top.push(row as u32, score))?;
        let mut best = top.into_sorted_vec();
        if let Some(cap) = softcap {
            for item in &mut best {
                item.1 = soft_cap(item.1, cap);
            }
        }
        Ok(best)
    }

    /// Every row's score with the fastest kernel (for tests and references).
    pub fn scores(&self, h: &[f32]) -> Result<Vec<f32>, VectorError> {
        self.scores_with(h, ScanKernel::Fast)
    }

    /// Every row's score with a chosen kernel.
    pub fn scores_with(&self, h: &[f32], kernel: ScanKernel) -> Result<Vec<f32>, VectorError> {
        let mut out = vec![0.0; self.rows];
        self.scan(h, kernel, |row, score| out[row] = score)?;
        Ok(out)
    }

    /// Validates `h`, then calls `sink(row, score)` once for every row (in any order).
    fn scan(
        &self,
        h: &[f32],
        kernel: ScanKernel,
        sink: impl FnMut(usize, f32),
    ) -> Result<(), VectorError> {
        if h.len() != self.cols {
            return Err(VectorError::InputLength {
                expected: self.cols,
                got: h.len(),
            });
        }
        if let Some(index) = h.iter().position(|x| !x.is_finite()) {
            return Err(VectorError::NonFiniteInput { index });
        }
        match kernel {
            ScanKernel::Exact => exact::scan(self, h, sink),
            ScanKernel::Scalar => scalar::scan(self, &quantize_activation(h), sink),
            ScanKernel::Lanes => lanes::scan(self, &quantize_activation(h), sink),
            ScanKernel::Fast => fast_scan(self, &quantize_activation(h), sink),
        }
        Ok(())
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fast_scan(m: &BlockQ8Matrix, act: &QuantizedActivation, sink: impl FnMut(usize, f32)) {
    simd128::scan(m, act, sink)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fast_scan(m: &BlockQ8Matrix, act: &QuantizedActivation, sink: impl FnMut(usize, f32)) {
    lanes::scan(m, act, sink)
}

#[cfg(test)]
mod tests;
