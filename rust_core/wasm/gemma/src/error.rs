use core::fmt;

/// Everything the decoder reports instead of panicking.
#[derive(Debug, Clone, PartialEq)]
pub enum GemmaError {
    /// The file does not start with `GEAWGT01`.
    BadMagic,
    /// The file ends before the part named here.
    Truncated(String),
    /// The JSON header is not valid JSON (byte offset into the header, what was wrong).
    Json { offset: usize, message: String },
    /// The header is valid JSON but lacks a field or has one of the wrong type.
    Header(String),
    /// A tensor of a kind this reader does not know.
    UnknownKind { name: String, kind: String },
    /// A tensor's sizes disagree with its shape, or its shape with the config.
    Shape(String),
    /// A tensor the config needs is not in the file.
    MissingTensor(String),
    /// The config itself is inconsistent.
    Config(String),
    /// A token id is not below the vocabulary size.
    TokenOutOfRange { token: u32, vocab: usize },
    /// An empty list of tokens.
    EmptyInput,
    /// `top_k` or the last logits were asked for before any token was run.
    NoTokenYet,
    /// An error from the vector kernels (the LM-head scan).
    Vector(gea_vector::VectorError),
}

impl fmt::Display for GemmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GemmaError::BadMagic => {
                write!(f, "not a Gemma Edge Agent weights file (bad magic)")
            }
            GemmaError::Truncated(what) => write!(f, "weights file is truncated ({what})"),
            GemmaError::Json { offset, message } => {
                write!(
                    f,
                    "weights header is not valid JSON at byte {offset}: {message}"
                )
            }
            GemmaError::Header(message) => write!(f, "weights header: {message}"),
            GemmaError::UnknownKind { name, kind } => {
                write!(f, "tensor {name} has unknown kind {kind:?}")
            }
            GemmaError::Shape(message) => write!(f, "shape mismatch: {message}"),
            GemmaError::MissingTensor(name) => write!(f, "weights file lacks tensor {name}"),
            GemmaError::Config(message) => write!(f, "invalid Gemma config: {message}"),
            GemmaError::TokenOutOfRange { token, vocab } => {
                write!(
                    f,
                    "token id {token} is out of range (vocabulary size {vocab})"
                )
            }
            GemmaError::EmptyInput => write!(f, "no tokens given"),
            GemmaError::NoTokenYet => write!(f, "no token has been run yet"),
            GemmaError::Vector(e) => write!(f, "LM head: {e}"),
        }
    }
}

impl std::error::Error for GemmaError {}

impl From<gea_vector::VectorError> for GemmaError {
    fn from(e: gea_vector::VectorError) -> Self {
        GemmaError::Vector(e)
    }
}
