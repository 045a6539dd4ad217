use core::fmt;

/// Errors that the vector kernels report instead of panicking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VectorError {
    /// The two operands of a binary kernel have different lengths.
    LengthMismatch { left: usize, right: usize },
    /// A block-quantized matrix's column count is not a multiple of its block size.
    ColsNotMultipleOfBlock { cols: usize, block: usize },
    /// `rows × cols` (or the row count itself, for u32 row ids) does not fit.
    ShapeTooLarge { rows: usize, cols: usize },
    /// The int8 values of a block-quantized matrix are not `rows × cols` long.
    WeightsLength {
        rows: usize,
        cols: usize,
        got: usize,
    },
    /// The block scales of a block-quantized matrix are not `rows × cols / block` long.
    ScalesLength {
        rows: usize,
        blocks_per_row: usize,
        got: usize,
    },
    /// A block scale is NaN or infinite (index into the scales array).
    NonFiniteScale { index: usize },
    /// The input vector's length is not the matrix's column count.
    InputLength { expected: usize, got: usize },
    /// The input vector holds a NaN or an infinity (first such index).
    NonFiniteInput { index: usize },
    /// A soft-cap that is not a finite number greater than 0.
    InvalidSoftcap,
}

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VectorError::LengthMismatch { left, right } => write!(
                f,
                "vectors must have the same length, got {left} and {right}"
            ),
            VectorError::ColsNotMultipleOfBlock { cols, block } => write!(
                f,
                "cols must be a multiple of the block size {block}, got {cols}"
            ),
            VectorError::ShapeTooLarge { rows, cols } => write!(
                f,
                "matrix shape {rows} × {cols} is too large (rows must fit in u32, rows × cols in usize)"
            ),
            VectorError::WeightsLength { rows, cols, got } => write!(
                f,
                "int8 values must have rows × cols = {rows} × {cols} = {} elements, got {got}",
                rows * cols
            ),
            VectorError::ScalesLength {
                rows,
                blocks_per_row,
                got,
            } => write!(
                f,
                "scales must have rows × blocks per row = {rows} × {blocks_per_row} = {} elements, got {got}",
                rows * blocks_per_row
            ),
            VectorError::NonFiniteScale { index } => {
                write!(f, "scale {index} is NaN or infinite")
            }
            VectorError::InputLength { expected, got } => write!(
                f,
                "input vector must have cols = {expected} elements, got {got}"
            ),
            VectorError::NonFiniteInput { index } => write!(
                f,
                "input vector element {index} is NaN or infinite"
            ),
            VectorError::InvalidSoftcap => {
                write!(f, "soft-cap must be a finite number greater than 0")
            }
        }
    }
}

impl std::error::Error for VectorError {}
