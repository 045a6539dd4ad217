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
    /// A vector dimension of 0.
    ZeroDimension,
    /// A vector dimension above what the int8 kernel can sum exactly.
    DimensionTooLarge { dim: usize, max: usize },
    /// A vector (added or queried) whose length is not the index's dimension.
    DimensionMismatch { expected: usize, got: usize },
    /// A batch whose data is not `ids × dim` floats long.
    BatchLength { ids: usize, dim: usize, got: usize },
    /// A vector element that is NaN or infinite (first such index).
    NonFiniteVector { index: usize },
    /// A vector of norm 0, which has no direction to compare by cosine.
    ZeroVector,
    /// An id that the index (or the batch) already holds.
    DuplicateId { id: u32 },
    /// An index parameter out of its range.
    InvalidParameter {
        name: &'static str,
        value: usize,
        expected: &'static str,
    },
    /// More vectors than the format's u32 counts allow.
    TooManyVectors,
    /// Fewer bytes than the index file needs.
    Truncated { needed: usize, got: usize },
    /// The bytes do not start with the index file magic.
    BadMagic,
    /// An index file written by another format version.
    UnsupportedVersion { found: u32, supported: u32 },
    /// The file's CRC-32 does not match its contents.
    ChecksumMismatch { stored: u32, computed: u32 },
    /// A file of the other index kind (e.g. an HNSW file given to the flat index).
    WrongKind {
        expected: &'static str,
        found: &'static str,
    },
    /// A structurally invalid index file (says what is wrong).
    Corrupt { what: String },
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
            VectorError::ZeroDimension => write!(f, "the dimension must be at least 1"),
            VectorError::DimensionTooLarge { dim, max } => {
                write!(f, "dimension {dim} is too large (at most {max})")
            }
            VectorError::DimensionMismatch { expected, got } => write!(
                f,
                "dimension mismatch: the index has dimension {expected}, the vector has {got}"
            ),
            VectorError::BatchLength { ids, dim, got } => write!(
                f,
                "batch data must hold ids × dim = {ids} × {dim} = {} floats, got {got}",
                ids * dim
            ),
            VectorError::NonFiniteVector { index } => {
                write!(f, "vector element {index} is NaN or infinite")
            }
            VectorError::ZeroVector => write!(
                f,
                "vector has norm 0 and cannot be normalised for cosine similarity"
            ),
            VectorError::DuplicateId { id } => write!(f, "id {id} is already in the index"),
            VectorError::InvalidParameter {
                name,
                value,
                expected,
            } => write!(f, "{name} must be {expected}, got {value}"),
            VectorError::TooManyVectors => {
                write!(f, "too many vectors (the format counts them in u32)")
            }
            VectorError::Truncated { needed, got } => write!(
                f,
                "index file is truncated: it needs {needed} bytes, got {got}"
            ),
            VectorError::BadMagic => write!(
                f,
                "not a vector index file (bad magic: expected it to start with GEAVINDX)"
            ),
            VectorError::UnsupportedVersion { found, supported } => write!(
                f,
                "index file format version {found} is not supported (this build reads version {supported})"
            ),
            VectorError::ChecksumMismatch { stored, computed } => write!(
                f,
                "index file is corrupt: checksum mismatch (stored CRC-32 {stored:#010x}, computed {computed:#010x})"
            ),
            VectorError::WrongKind { expected, found } => write!(
                f,
                "index file holds a {found} index, expected a {expected} index"
            ),
            VectorError::Corrupt { what } => write!(f, "index file is corrupt: {what}"),
        }
    }
}

impl std::error::Error for VectorError {}
