//! Dot product of two int8 vectors, exact in i32 (the vector index's int8 storage).
//!
//! Integer sums are exact in any order (the index limits the dimension to
//! [`MAX_I8_DIM`], so `|Σ| ≤ dim · 127² < 2^31`), so the scalar reference, the lanes emulation
//! and SIMD128 agree exactly; the three forms still exist, as for every kernel of this crate, so
//! that the SIMD algorithm is the one tested.

mod lanes;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use crate::VectorError;

/// Largest length for which `dim · 127 · 127` fits in i32 with room to spare.
pub const MAX_I8_DIM: usize = 1 << 16;

/// Elements consumed per main-loop iteration by the vector versions.
pub(crate) const BLOCK: usize = 16;

fn check(a: &[i8], b: &[i8]) -> Result<(), VectorError> {
    if a.len() != b.len() {
        return Err(VectorError::LengthMismatch {
            left: a.len(),
            right: b.len(),
        });
    }
    if a.len() > MAX_I8_DIM {
        return Err(VectorError::DimensionTooLarge {
            dim: a.len(),
            max: MAX_I8_DIM,
        });
    }
    Ok(())
}

/// The fastest kernel in this build, unchecked (lengths equal and ≤ [`MAX_I8_DIM`]).
#[inline(always)]
pub(crate) fn dot_i8_fast(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::dot(a, b)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        lanes::dot(a, b)
    }
}

/// The fastest int8 dot product in this build (SIMD128 when enabled).
pub fn dot_i8(a: &[i8], b: &[i8]) -> Result<i32, VectorError> {
    check(a, b)?;
    Ok(dot_i8_fast(a, b))
}

/// Sequential reference.
pub fn dot_i8_scalar(a: &[i8], b: &[i8]) -> Result<i32, VectorError> {
    check(a, b)?;
    Ok(scalar::dot(a, b))
}

/// Portable emulation of the SIMD128 kernel.
pub fn dot_i8_lanes(a: &[i8], b: &[i8]) -> Result<i32, VectorError> {
    check(a, b)?;
    Ok(lanes::dot(a, b))
}

#[cfg(test)]
mod tests;
