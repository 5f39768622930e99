//! The error type of `wmark-processor`.

use std::fmt;

/// Why a processor call was refused. Nothing is changed in the logits when an error is
/// returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ErrorKind {
    LogitsLength { expected: u32, got: usize },
    CandidateOutOfRange { id: u32, vocab_size: u32 },
    BatchShape { rows: usize, contexts: usize },
    Config(String),
}

impl Error {
    pub(crate) fn logits_length(expected: u32, got: usize) -> Error {
        Error { kind: ErrorKind::LogitsLength { expected, got } }
    }

    pub(crate) fn candidate_out_of_range(id: u32, vocab_size: u32) -> Error {
        Error { kind: ErrorKind::CandidateOutOfRange { id, vocab_size } }
    }

    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Config(message.into()) }
    }

    /// True if the key, scheme or sampling parameters cannot make this processor.
    pub fn is_config(&self) -> bool {
        matches!(self.kind, ErrorKind::Config(_))
    }

    pub(crate) fn batch_shape(rows: usize, contexts: usize) -> Error {
        Error { kind: ErrorKind::BatchShape { rows, contexts } }
    }

    /// True if a logits row is not exactly `vocab_size` long.
    pub fn is_logits_length(&self) -> bool {
        matches!(self.kind, ErrorKind::LogitsLength { .. })
    }

    /// True if an explicit candidate id is not below the vocabulary size.
    pub fn is_candidate_out_of_range(&self) -> bool {
        matches!(self.kind, ErrorKind::CandidateOutOfRange { .. })
    }

    /// True if a batch has a different number of rows and contexts.
    pub fn is_batch_shape(&self) -> bool {
        matches!(self.kind, ErrorKind::BatchShape { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::LogitsLength { expected, got } => write!(
                f,
                "the logits row has {got} entries but the watermark is configured for a vocabulary \
                 of {expected}; set vocab_size to the model's logits width"
            ),
            ErrorKind::CandidateOutOfRange { id, vocab_size } => {
                write!(f, "candidate token id {id} is outside the vocabulary (size {vocab_size})")
            }
            ErrorKind::BatchShape { rows, contexts } => {
                write!(f, "the batch has {rows} logits rows but {contexts} contexts")
            }
            ErrorKind::Config(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
