//! What the indexes do to every vector: checks, L2 normalisation (so that the dot product is
//! the cosine), and symmetric per-vector int8 quantisation.

use crate::dot_i8::MAX_I8_DIM;
use crate::VectorError;

/// How an index stores its vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// f32, exact scores.
    F32,
    /// int8 with one f32 scale per vector (`x ≈ scale · q`, `q ∈ [−127, 127]`).
    Int8,
}

impl Storage {
    pub(crate) fn code(self) -> u8 {
        match self {
            Storage::F32 => 0,
            Storage::Int8 => 1,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Storage::F32),
            1 => Some(Storage::Int8),
            _ => None,
        }
    }
}

/// Checks an index dimension: 1 ..= [`MAX_I8_DIM`].
pub(crate) fn check_dim(dim: usize) -> Result<(), VectorError> {
    if dim == 0 {
        return Err(VectorError::ZeroDimension);
    }
    if dim > MAX_I8_DIM {
        return Err(VectorError::DimensionTooLarge {
            dim,
            max: MAX_I8_DIM,
        });
    }
    Ok(())
}

/// `v / |v|` after checking its length, finiteness and norm (the norm summed in f64).
pub fn normalize(v: &[f32], dim: usize) -> Result<Vec<f32>, VectorError> {
    if v.len() != dim {
        return Err(VectorError::DimensionMismatch {
            expected: dim,
            got: v.len(),
        });
    }
    if let Some(index) = v.iter().position(|x| !x.is_finite()) {
        return Err(VectorError::NonFiniteVector { index });
    }
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return Err(VectorError::ZeroVector);
    }
    Ok(v.iter().map(|&x| (f64::from(x) / norm) as f32).collect())
}

/// Symmetric int8 quantisation of one vector: `scale = max|x| / 127`, `q = round(x / scale)`.
/// Appends the values to `out` and returns the scale (0 for an all-zero vector).
pub fn quantize_i8(v: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    if max == 0.0 {
        out.extend(core::iter::repeat_n(0i8, v.len()));
        return 0.0;
    }
    let scale = max / 127.0;
    let inv = 127.0 / max;
    out.extend(
        v.iter()
            .map(|&x| (x * inv).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}
