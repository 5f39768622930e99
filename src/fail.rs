//! The command line's error: a one-line message and an exit code of 2.

use std::fmt;
use std::path::Path;

/// A failure to report to the user. Never contains key material.
#[derive(Debug)]
pub struct Fail {
    message: String,
    broken_pipe: bool,
}

/// The CLI's result type.
pub type Result<T> = std::result::Result<T, Fail>;

impl Fail {
    /// A bad argument, file or configuration.
    pub fn usage(message: impl Into<String>) -> Fail {
        Fail { message: message.into(), broken_pipe: false }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, err: &std::io::Error) -> Fail {
        Fail {
            message: format!("{}: {}", path.display(), err),
            broken_pipe: err.kind() == std::io::ErrorKind::BrokenPipe,
        }
    }

    /// True if the failure is only that the reader of our output went away.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Fail {
        Fail { broken_pipe: e.kind() == std::io::ErrorKind::BrokenPipe, message: e.to_string() }
    }
}

impl From<wmark_core::Error> for Fail {
    fn from(e: wmark_core::Error) -> Fail {
        Fail::usage(e.to_string())
    }
}

impl From<wmark_detect::Error> for Fail {
    fn from(e: wmark_detect::Error) -> Fail {
        Fail::usage(e.to_string())
    }
}

impl From<wmark_lm::Error> for Fail {
    fn from(e: wmark_lm::Error) -> Fail {
        Fail::usage(e.to_string())
    }
}
