//! Dot product of two f32 vectors.

mod lanes;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use crate::VectorError;

/// Elements consumed per main-loop iteration by the vector versions: two 4-lane accumulators,
/// so that consecutive adds do not wait on each other.
pub(crate) const BLOCK: usize = 8;

fn check(a: &[f32], b: &[f32]) -> Result<(), VectorError> {
    if a.len() == b.len() {
        Ok(())
    } else {
        Err(VectorError::LengthMismatch {
            left: a.len(),
            right: b.len(),
        })
    }
}

/// Whether [`dot`] runs the SIMD128 kernel in this build.
pub const fn simd128_enabled() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
}

/// The fastest kernel in this build, unchecked (callers guarantee equal lengths).
#[inline(always)]
pub(crate) fn dot_fast(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::dot(a, b)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        lanes::dot(a, b)
    }
}

/// The fastest dot product available in this build.
pub fn dot(a: &[f32], b: &[f32]) -> Result<f32, VectorError> {
    check(a, b)?;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        Ok(simd128::dot(a, b))
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        Ok(lanes::dot(a, b))
    }
}

/// Sequential left-to-right reference.
pub fn dot_scalar(a: &[f32], b: &[f32]) -> Result<f32, VectorError> {
    check(a, b)?;
    Ok(scalar::dot(a, b))
}

/// Portable emulation of the SIMD128 kernel, bit-identical to it.
pub fn dot_lanes(a: &[f32], b: &[f32]) -> Result<f32, VectorError> {
    check(a, b)?;
    Ok(lanes::dot(a, b))
}

#[cfg(test)]
mod tests;
