use core::fmt;

/// Errors that the vector kernels report instead of panicking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VectorError {
    /// The two operands of a binary kernel have different lengths.
    LengthMismatch { left: usize, right: usize },
}

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VectorError::LengthMismatch { left, right } => write!(
                f,
                "vectors must have the same length, got {left} and {right}"
            ),
        }
    }
}

impl std::error::Error for VectorError {}
