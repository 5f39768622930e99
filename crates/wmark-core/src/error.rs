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
    /// A key file is malformed. `line` is 1-based (0: the file as a whole). The message never
    /// contains key material. `path` is the file's, when it was read from one.
    KeyFile { path: Option<String>, line: usize, message: String },
    /// A key file that group or others may access.
    InsecureKeyFile { path: String, mode: u32 },
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
        Error { kind: ErrorKind::KeyFile { path: None, line, message: message.into() } }
    }

    /// A problem with the key file at `path` as a whole.
    pub(crate) fn key_file_at(path: &std::path::Path, message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::KeyFile { path: Some(path.display().to_string()), line: 0, message: message.into() } }
    }

    pub(crate) fn insecure_key_file(path: &std::path::Path, mode: u32) -> Error {
        Error { kind: ErrorKind::InsecureKeyFile { path: path.display().to_string(), mode } }
    }

    /// Names the file a key-file error is about.
    pub(crate) fn at(mut self, file: &std::path::Path) -> Error {
        if let ErrorKind::KeyFile { path, .. } = &mut self.kind {
            *path = Some(file.display().to_string());
        }
        self
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

    /// True if a key file was refused because group or others may access it.
    pub fn is_insecure_key_file(&self) -> bool {
        matches!(self.kind, ErrorKind::InsecureKeyFile { .. })
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
            ErrorKind::KeyFile { line, .. } if line > 0 => Some(line),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Config(m) => write!(f, "invalid configuration: {m}"),
            ErrorKind::KeyFile { path: Some(path), line: 0, message } => write!(f, "{path}: {message}"),
            ErrorKind::KeyFile { path: Some(path), line, message } => {
                write!(f, "{path}: key file, line {line}: {message}")
            }
            ErrorKind::KeyFile { path: None, line, message } => write!(f, "key file, line {line}: {message}"),
            ErrorKind::InsecureKeyFile { path, mode } => {
                write!(f, "{path}: key file is accessible by group or others (mode {mode:04o}); run `chmod 600 {path}`")
            }
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
