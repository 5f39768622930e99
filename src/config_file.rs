//! Reading `wmark.toml` from a file (the format is `wmark_detect::config_file`).

use std::path::Path;

pub use wmark_detect::config_file::ConfigFile;

use crate::fail::{Fail, Result};

/// Reads and parses a config file; errors name the file, the line and the problem.
pub fn load(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Fail::io(path, &e))?;
    ConfigFile::parse(&text).map_err(|e| match e.line {
        Some(l) => Fail::usage(format!("{}:{l}: {}", path.display(), e.message)),
        None => Fail::usage(format!("{}: {}", path.display(), e.message)),
    })
}
