//! The error type of `wmark-detect`.

use std::fmt;

/// Why a detection could not run. "Too few tokens to decide" is not an error: it is the
/// verdict `insufficient`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ErrorKind {
    Tokenizer(String),
    VocabMismatch { tokenizer: usize, vocab_size: u32 },
    TokenOutOfRange { index: usize, id: u32, vocab_size: u32 },
    NoKeys,
    Input(String),
    Io { path: String, message: String },
}

impl Error {
    pub(crate) fn tokenizer(message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Tokenizer(message.into()) }
    }

    pub(crate) fn vocab_mismatch(tokenizer: usize, vocab_size: u32) -> Error {
        Error { kind: ErrorKind::VocabMismatch { tokenizer, vocab_size } }
    }

    pub(crate) fn token_out_of_range(index: usize, id: u32, vocab_size: u32) -> Error {
        Error { kind: ErrorKind::TokenOutOfRange { index, id, vocab_size } }
    }

    pub(crate) fn no_keys() -> Error {
        Error { kind: ErrorKind::NoKeys }
    }

    pub(crate) fn input(message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Input(message.into()) }
    }

    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Error {
        Error { kind: ErrorKind::Io { path: path.display().to_string(), message: err.to_string() } }
    }

    /// True if a tokenizer file could not be loaded or used.
    pub fn is_tokenizer(&self) -> bool {
        matches!(self.kind, ErrorKind::Tokenizer(_))
    }

    /// True if the tokenizer or the input has ids the configured vocabulary cannot hold:
    /// generator and detector disagree about the model.
    pub fn is_vocab_mismatch(&self) -> bool {
        matches!(self.kind, ErrorKind::VocabMismatch { .. } | ErrorKind::TokenOutOfRange { .. })
    }

    /// True if the detector was given no key.
    pub fn is_no_keys(&self) -> bool {
        matches!(self.kind, ErrorKind::NoKeys)
    }

    /// True if the input itself is unusable (for example a prompt that is not a prefix).
    pub fn is_input(&self) -> bool {
        matches!(self.kind, ErrorKind::Input(_))
    }

    /// True if reading a file failed.
    pub fn is_io(&self) -> bool {
        matches!(self.kind, ErrorKind::Io { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Tokenizer(m) => write!(f, "tokenizer: {m}"),
            ErrorKind::VocabMismatch { tokenizer, vocab_size } => write!(
                f,
                "the tokenizer has {tokenizer} ids but the watermark's vocab_size is {vocab_size}; \
                 generator and detector must use the same model configuration"
            ),
            ErrorKind::TokenOutOfRange { index, id, vocab_size } => write!(
                f,
                "token {index} has id {id}, outside the watermark's vocabulary of {vocab_size}; \
                 generator and detector must use the same model configuration"
            ),
            ErrorKind::NoKeys => write!(f, "no key to detect with"),
            ErrorKind::Input(m) => f.write_str(m),
            ErrorKind::Io { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for Error {}
