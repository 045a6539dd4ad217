//! Block-quantized matrix × f32 vector → f32 vector (every projection of the decoder).
//!
//! Two storage kinds, both with the matrix row-major in blocks of `block` values along a row
//! (`block` a multiple of [`CHUNK`] = 16: 16 and 32 occur):
//! - [`Q8View`]: int8 values, `w = d[r, b] · q`;
//! - [`Q4oView`]: 4-bit values packed two per byte, low nibble first,
//!   `w = s[r, b] · q − o[r, b]`.
//!
//! By default the activation stays f32 (these products must match the f32 reference). Each
//! kernel has three forms, as in `gea_vector`:
//! - `scalar`: the definition, dequantized weight times `x`, summed left to right in f32;
//! - `lanes`: the SIMD algorithm in portable code, the same f32 operations in the same order;
//! - `simd128` (wasm32 with `simd128`): bit-identical to `lanes`.
//!
//! [`QView::gemv_int8_with`] (and [`QView::product`] with [`Activations::Int8`]) quantizes
//! the activation to int8 per block instead: see the `int8` module.
//!
//! [`QView::gemm_with`] applies the matrix to `n` activations at once (a prompt's tokens): per
//! row, tiles of [`TILE`] activations share each chunk's loaded and widened weights (the
//! products are bound by instructions, not memory, in V8: widening is what the GEMM saves).
//! Every (row, activation) sum is the GEMV's, operation for operation, so the GEMM is
//! bit-identical to `n` GEMVs with the same kernel (`scalar`: it is `n` GEMVs).
//!
//! The SIMD algorithm per row: four f32 lanes; per block, per chunk of 16 values (value
//! `j = 16c + 4k + l` is lane `l` of the chunk's f32x4 number `k`),
//! `t[l] = (v0·x0 + v1·x1) + (v2·x2 + v3·x3)` and `inner[l] += t[l]`; after the block
//! `acc[l] += scale · inner[l]`; at the end `(acc0 + acc1) + (acc2 + acc3)`. For q4o the
//! offsets are factored out: `off += o[b] · xsum[b]` left to right (`xsum[b]` being the
//! block's sum of `x`, left to right), and the row's value is the lane sum minus `off`.

mod int8;
mod lanes;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use crate::GemmaError;

/// Values per SIMD step (one v128 of int8, or 8 packed bytes of 4-bit values).
pub const CHUNK: usize = 16;

/// Activations per GEMM tile (each widened chunk of a row serves this many).
pub const TILE: usize = 4;

/// Which implementation computes a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemvKernel {
    /// SIMD128 on wasm32 with `simd128`, else `Lanes`.
    Fast,
    /// Portable emulation of the SIMD128 kernel, bit-identical to it.
    Lanes,
    /// The definition, summed left to right.
    Scalar,
}

/// What the GEMVs do with the activation `x`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Activations {
    /// Kept in f32, weights widened to f32 (matches the f32 reference).
    #[default]
    F32,
    /// Quantized to int8 per block, integer block dot products (see `int8`); faster.
    Int8,
}

/// Borrowed int8 block matrix.
#[derive(Clone, Copy, Debug)]
pub struct Q8View<'a> {
    pub rows: usize,
    pub cols: usize,
    pub block: usize,
    pub q: &'a [i8],
    pub scales: &'a [f32],
}

/// Borrowed 4-bit block matrix with offsets.
#[derive(Clone, Copy, Debug)]
pub struct Q4oView<'a> {
    pub rows: usize,
    pub cols: usize,
    pub block: usize,
    /// `rows · cols / 2` bytes.
    pub q: &'a [u8],
    pub scales: &'a [f32],
    pub offsets: &'a [f32],
}

/// An owned quantized matrix.
#[derive(Clone, Debug)]
pub enum QMatrix {
    Q8 {
        rows: usize,
        cols: usize,
        block: usize,
        q: Vec<i8>,
        scales: Vec<f32>,
    },
    Q4o {
        rows: usize,
        cols: usize,
        block: usize,
        q: Vec<u8>,
        scales: Vec<f32>,
        offsets: Vec<f32>,
    },
}

fn check_shape(
    name: &str,
    rows: usize,
    cols: usize,
    block: usize,
    values: usize,
    per_block: &[(&str, usize)],
) -> Result<(), GemmaError> {
    let shape = |m: String| GemmaError::Shape(format!("{name}: {m}"));
    if block == 0 || block % CHUNK != 0 {
        return Err(shape(format!("block {block} is not a multiple of {CHUNK}")));
    }
    if cols % block != 0 {
        return Err(shape(format!(
            "cols {cols} is not a multiple of block {block}"
        )));
    }
    let n = rows
        .checked_mul(cols)
        .ok_or_else(|| shape(format!("{rows} × {cols} is too large")))?;
    if values != n {
        return Err(shape(format!("{values} values for {rows} × {cols}")));
    }
    for &(what, len) in per_block {
        if len != rows * (cols / block) {
            return Err(shape(format!(
                "{len} {what} for {rows} rows × {} blocks",
                cols / block
            )));
        }
    }
    Ok(())
}

impl<'a> Q8View<'a> {
    /// Checks the shape (block a multiple of 16 dividing `cols`, lengths).
    pub fn new(
        name: &str,
        rows: usize,
        cols: usize,
        block: usize,
        q: &'a [i8],
        scales: &'a [f32],
    ) -> Result<Self, GemmaError> {
        check_shape(
            name,
            rows,
            cols,
            block,
            q.len(),
            &[("scales", scales.len())],
        )?;
        Ok(Q8View {
            rows,
            cols,
            block,
            q,
            scales,
        })
    }

    /// Row `r` dequantized into `out` (`cols` values): `d · q`.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let nb = self.cols / self.block;
        let q = &self.q[r * self.cols..][..self.cols];
        for ((o, w), &d) in out
            .chunks_exact_mut(self.block)
            .zip(q.chunks_exact(self.block))
            .zip(&self.scales[r * nb..][..nb])
        {
            for (o, &w) in o.iter_mut().zip(w) {
                *o = f32::from(w) * d;
            }
        }
    }
}

impl<'a> Q4oView<'a> {
    /// Checks the shape (block a multiple of 16 dividing `cols`, lengths).
    pub fn new(
        name: &str,
        rows: usize,
        cols: usize,
        block: usize,
        q: &'a [u8],
        scales: &'a [f32],
        offsets: &'a [f32],
    ) -> Result<Self, GemmaError> {
        check_shape(
            name,
            rows,
            cols,
            block,
            q.len().saturating_mul(2),
            &[("scales", scales.len()), ("offsets", offsets.len())],
        )?;
        Ok(Q4oView {
            rows,
            cols,
            block,
            q,
            scales,
            offsets,
        })
    }

    /// Row `r` dequantized into `out` (`cols` values): `s · q − o`.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let nb = self.cols / self.block;
        let packed = &self.q[r * self.cols / 2..][..self.cols / 2];
        for (b, (o, p)) in out
            .chunks_exact_mut(self.block)
            .zip(packed.chunks_exact(self.block / 2))
            .enumerate()
        {
            let (s, off) = (self.scales[r * nb + b], self.offsets[r * nb + b]);
            for (pair, &byte) in o.chunks_exact_mut(2).zip(p) {
                pair[0] = f32::from(byte & 15) * s - off;
                pair[1] = f32::from(byte >> 4) * s - off;
            }
        }
    }
}

/// A borrowed quantized matrix of either kind.
#[derive(Clone, Copy, Debug)]
pub enum QView<'a> {
    Q8(Q8View<'a>),
    Q4o(Q4oView<'a>),
}

impl QView<'_> {
    pub fn rows(&self) -> usize {
        match self {
            QView::Q8(m) => m.rows,
            QView::Q4o(m) => m.rows,
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            QView::Q8(m) => m.cols,
            QView::Q4o(m) => m.cols,
        }
    }

    /// Row `r` (< rows) dequantized into `out` (`cols` values).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        match self {
            QView::Q8(m) => m.dequantize_row(r, out),
            QView::Q4o(m) => m.dequantize_row(r, out),
        }
    }

    /// `out = self · x` with the fastest kernel.
    pub fn gemv(&self, x: &[f32], out: &mut [f32]) -> Result<(), GemmaError> {
        self.gemv_with(x, out, GemvKernel::Fast)
    }

    /// `out = self · x` with the fastest kernel for the chosen activation handling.
    pub fn product(
        &self,
        x: &[f32],
        out: &mut [f32],
        activations: Activations,
    ) -> Result<(), GemmaError> {
        match activations {
            Activations::F32 => self.gemv_with(x, out, GemvKernel::Fast),
            Activations::Int8 => self.gemv_int8_with(x, out, GemvKernel::Fast),
        }
    }

    /// `out[t] = self · x[t]` for `n` activations stored one after another (`x`: `n · cols`
    /// values, `out`: `n · rows`) with the fastest kernel for the chosen activation handling.
    /// F32: the GEMM (bit-identical to `n` [`Self::product`] calls); Int8: one int8 GEMV per
    /// activation.
    pub fn product_batch(
        &self,
        n: usize,
        x: &[f32],
        out: &mut [f32],
        activations: Activations,
    ) -> Result<(), GemmaError> {
        match activations {
            Activations::F32 => self.gemm_with(n, x, out, GemvKernel::Fast),
            Activations::Int8 => {
                self.check_batch(n, x, out)?;
                let (rows, cols) = (self.rows(), self.cols());
                for t in 0..n {
                    let (xt, ot) = (&x[t * cols..][..cols], &mut out[t * rows..][..rows]);
                    self.gemv_int8_with(xt, ot, GemvKernel::Fast)?;
                }
                Ok(())
            }
        }
    }

    /// `out[t] = self · x[t]` for `n` activations (`x`: `n · cols` values, `out`: `n · rows`,
    /// activation-major) with a chosen kernel: bit-identical to `n` [`Self::gemv_with`] calls
    /// with that kernel, each weight loaded and widened once per tile of activations.
    pub fn gemm_with(
        &self,
        n: usize,
        x: &[f32],
        out: &mut [f32],
        kernel: GemvKernel,
    ) -> Result<(), GemmaError> {
        self.check_batch(n, x, out)?;
        let (rows, cols) = (self.rows(), self.cols());
        match (self, kernel) {
            (_, GemvKernel::Scalar) => {
                for t in 0..n {
                    let (xt, ot) = (&x[t * cols..][..cols], &mut out[t * rows..][..rows]);
                    self.gemv_with(xt, ot, GemvKernel::Scalar)?;
                }
            }
            (QView::Q8(m), GemvKernel::Lanes) => lanes::q8_gemm(m, n, x, out),
            (QView::Q8(m), GemvKernel::Fast) => fast_q8_gemm(m, n, x, out),
            (QView::Q4o(m), GemvKernel::Lanes) => {
                lanes::q4o_gemm(m, n, x, out, &block_sums(x, m.block))
            }
            (QView::Q4o(m), GemvKernel::Fast) => {
                fast_q4o_gemm(m, n, x, out, &block_sums(x, m.block))
            }
        }
        Ok(())
    }

    fn check_batch(&self, n: usize, x: &[f32], out: &[f32]) -> Result<(), GemmaError> {
        let (rows, cols) = (self.rows(), self.cols());
        if Some(x.len()) != n.checked_mul(cols) || Some(out.len()) != n.checked_mul(rows) {
            return Err(GemmaError::Shape(format!(
                "gemm of a {rows} × {cols} matrix with {n} inputs: x of {} and out of {}",
                x.len(),
                out.len()
            )));
        }
        Ok(())
    }

    /// `out = self · x` with `x` quantized to int8 per block (see the `int8` module) and a
    /// chosen kernel; `x.len()` must be `cols`, `out.len()` `rows`.
    pub fn gemv_int8_with(
        &self,
        x: &[f32],
        out: &mut [f32],
        kernel: GemvKernel,
    ) -> Result<(), GemmaError> {
        self.check_lengths(x, out)?;
        match self {
            QView::Q8(m) => int8::q8(m, x, out, kernel),
            QView::Q4o(m) => int8::q4o(m, x, out, kernel),
        }
        Ok(())
    }

    fn check_lengths(&self, x: &[f32], out: &[f32]) -> Result<(), GemmaError> {
        if x.len() != self.cols() || out.len() != self.rows() {
            return Err(GemmaError::Shape(format!(
                "gemv of a {} × {} matrix with x of {} and out of {}",
                self.rows(),
                self.cols(),
                x.len(),
                out.len()
            )));
        }
        Ok(())
    }

    /// `out = self · x` with a chosen kernel; `x.len()` must be `cols`, `out.len()` `rows`.
    pub fn gemv_with(
        &self,
        x: &[f32],
        out: &mut [f32],
        kernel: GemvKernel,
    ) -> Result<(), GemmaError> {
        self.check_lengths(x, out)?;
        match (self, kernel) {
            (QView::Q8(m), GemvKernel::Scalar) => scalar::q8(m, x, out),
            (QView::Q8(m), GemvKernel::Lanes) => lanes::q8(m, x, out),
            (QView::Q8(m), GemvKernel::Fast) => fast_q8(m, x, out),
            (QView::Q4o(m), GemvKernel::Scalar) => scalar::q4o(m, x, out),
            (QView::Q4o(m), GemvKernel::Lanes) => lanes::q4o(m, x, out, &block_sums(x, m.block)),
            (QView::Q4o(m), GemvKernel::Fast) => fast_q4o(m, x, out, &block_sums(x, m.block)),
        }
        Ok(())
    }
}

impl QMatrix {
    /// Checks the shape and takes ownership.
    pub fn q8(
        name: &str,
        rows: usize,
        cols: usize,
        block: usize,
        q: Vec<i8>,
        scales: Vec<f32>,
    ) -> Result<Self, GemmaError> {
        Q8View::new(name, rows, cols, block, &q, &scales)?;
        Ok(QMatrix::Q8 {
            rows,
            cols,
            block,
            q,
            scales,
        })
    }

    /// Checks the shape and takes ownership.
    pub fn q4o(
        name: &str,
        rows: usize,
        cols: usize,
        block: usize,
        q: Vec<u8>,
        scales: Vec<f32>,
        offsets: Vec<f32>,
    ) -> Result<Self, GemmaError> {
        Q4oView::new(name, rows, cols, block, &q, &scales, &offsets)?;
        Ok(QMatrix::Q4o {
            rows,
            cols,
            block,
            q,
            scales,
            offsets,
        })
    }

    /// A borrowed view (shape already checked).
    pub fn view(&self) -> QView<'_> {
        match self {
            QMatrix::Q8 {
                rows,
                cols,
                block,
                q,
                scales,
            } => QView::Q8(Q8View {
                rows: *rows,
                cols: *cols,
                block: *block,
                q,
                scales,
            }),
            QMatrix::Q4o {
                rows,
                cols,
                block,
                q,
                scales,
                offsets,
            } => QView::Q4o(Q4oView {
                rows: *rows,
                cols: *cols,
                block: *block,
                q,
                scales,
                offsets,
            }),
        }
    }

    pub fn rows(&self) -> usize {
        self.view().rows()
    }

    pub fn cols(&self) -> usize {
        self.view().cols()
    }
}

/// Sum of `x` per block, left to right (shared by every q4o kernel).
fn block_sums(x: &[f32], block: usize) -> Vec<f32> {
    x.chunks_exact(block)
        .map(|b| b.iter().fold(0.0f32, |s, &v| s + v))
        .collect()
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fast_q8(m: &Q8View, x: &[f32], out: &mut [f32]) {
    simd128::q8(m, x, out)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fast_q8(m: &Q8View, x: &[f32], out: &mut [f32]) {
    lanes::q8(m, x, out)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fast_q4o(m: &Q4oView, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    simd128::q4o(m, x, out, xsum)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fast_q4o(m: &Q4oView, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    lanes::q4o(m, x, out, xsum)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fast_q8_gemm(m: &Q8View, n: usize, x: &[f32], out: &mut [f32]) {
    simd128::q8_gemm(m, n, x, out)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fast_q8_gemm(m: &Q8View, n: usize, x: &[f32], out: &mut [f32]) {
    lanes::q8_gemm(m, n, x, out)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fast_q4o_gemm(m: &Q4oView, n: usize, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    simd128::q4o_gemm(m, n, x, out, xsum)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fast_q4o_gemm(m: &Q4oView, n: usize, x: &[f32], out: &mut [f32], xsum: &[f32]) {
    lanes::q4o_gemm(m, n, x, out, xsum)
}

#[cfg(test)]
mod tests;
