use std::fmt;

/// Everything the tokenizer can refuse. Messages name the problem; nothing panics on bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerError {
    /// The vocabulary file is not one this core can read (truncated, corrupt, wrong version…).
    BadVocabulary(String),
    /// A token id outside the vocabulary was given to decode.
    UnknownId { id: u32, vocab_size: u32 },
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadVocabulary(why) => write!(f, "bad tokenizer vocabulary file: {why}"),
            Self::UnknownId { id, vocab_size } => {
                write!(
                    f,
                    "token id {id} is outside the vocabulary (size {vocab_size})"
                )
            }
        }
    }
}

impl std::error::Error for TokenizerError {}

pub(crate) fn bad(why: impl Into<String>) -> TokenizerError {
    TokenizerError::BadVocabulary(why.into())
}
