//! The one error type of `wmark-core`.
//!
//! The type is opaque: callers ask narrow questions (`is_config`, `is_key_file`, …) instead of
//! matching on a public enum, so that new kinds of failure can be added without breaking them.

use std::fmt;

/// An error from building a configuration, reading a key, or asking for a green list with a
/// context that is too short for the seeding rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// A configuration value is out of range; the message says which and why.
    Config(String),
    /// A key file is malformed. `line` is 1-based. The message never contains key material.
    KeyFile { line: usize, message: String },
    /// The operating system's random source failed.
    Random(String),
    /// Reading or writing a key file failed.
    Io { path: String, message: String },
    /// The seeding rule needs more context tokens than were given.
    ContextTooShort { needed: usize, given: usize },
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Config(message.into()) }
    }

    pub(crate) fn key_file(line: usize, message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::KeyFile { line, message: message.into() } }
    }

    pub(crate) fn random(message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Random(message.into()) }
    }

    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Error {
        Error { kind: ErrorKind::Io { path: path.display().to_string(), message: err.to_string() } }
    }

    pub(crate) fn context_too_short(needed: usize, given: usize) -> Error {
        Error { kind: ErrorKind::ContextTooShort { needed, given } }
    }

    /// True if a configuration value (γ, δ, vocabulary size, seeding rule) was rejected.
    pub fn is_config(&self) -> bool {
        matches!(self.kind, ErrorKind::Config(_))
    }

    /// True if a key file's contents are malformed.
    pub fn is_key_file(&self) -> bool {
        matches!(self.kind, ErrorKind::KeyFile { .. })
    }

    /// True if reading or writing a file failed at the operating-system level.
    pub fn is_io(&self) -> bool {
        matches!(self.kind, ErrorKind::Io { .. })
    }

    /// True if the operating system's random source failed.
    pub fn is_random(&self) -> bool {
        matches!(self.kind, ErrorKind::Random(_))
    }

    /// True if a context was shorter than the seeding rule needs.
    pub fn is_context_too_short(&self) -> bool {
        matches!(self.kind, ErrorKind::ContextTooShort { .. })
    }

    /// For a malformed key file, the 1-based line the problem is on.
    pub fn line(&self) -> Option<usize> {
        match self.kind {
            ErrorKind::KeyFile { line, .. } => Some(line),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Config(m) => write!(f, "invalid configuration: {m}"),
            ErrorKind::KeyFile { line, message } => write!(f, "key file, line {line}: {message}"),
            ErrorKind::Random(m) => write!(f, "the operating system's random source failed: {m}"),
            ErrorKind::Io { path, message } => write!(f, "{path}: {message}"),
            ErrorKind::ContextTooShort { needed, given } => write!(
                f,
                "the seeding rule needs {needed} context token(s) before the scored position, \
                 but {given} were given"
            ),
        }
    }
}

impl std::error::Error for Error {}
