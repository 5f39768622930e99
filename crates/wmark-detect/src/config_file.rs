//! `wmark.toml`: the public configuration shared by generator and detector, so that they
//! cannot silently disagree. It holds no secret. The command line reads it from a file
//! (`wmark --config`); this module parses and writes its text.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file as written on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Format version of this file (1).
    pub version: u32,
    /// Seeding rule, e.g. `lefthash`.
    pub scheme: String,
    /// Green fraction asked for (rounded to a multiple of 1/256).
    pub gamma: f64,
    /// Bias added to green logits.
    pub delta: f32,
    /// Width of the model's logits row.
    pub vocab_size: u32,
    /// The id of the key texts were generated with; detection refuses any other key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Path of the tokenizer.json; a relative path is resolved against this file's directory
    /// (keygen writes an absolute one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PathBuf>,
    /// SHA-256 of the tokenizer.json; detection refuses a different tokenizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer_sha256: Option<String>,
    /// A beginning-of-sequence id stripped from token-id input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_id: Option<u32>,
    /// `hf-synthid`: transformers' `sampling_table_size` (default 65536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_table_size: Option<u32>,
    /// `hf-synthid`: transformers' `sampling_table_seed` (default 0; at most 2^63 − 1 here,
    /// TOML's largest integer, and only its low 32 bits matter to torch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_table_seed: Option<u64>,
}

/// Why a `wmark.toml` text was refused: one line, with the line of the file it is about when
/// the TOML reader knows it. It never repeats more of the file than the TOML reader's message
/// does (a key or value name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFileError {
    /// The 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong, on one line.
    pub message: String,
}

impl std::fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigFileError {}

impl ConfigFile {
    /// Parses the text of a `wmark.toml` (version 1; unknown fields are refused).
    pub fn parse(text: &str) -> Result<ConfigFile, ConfigFileError> {
        let cfg: ConfigFile = toml::from_str(text).map_err(|e| {
            // The span is a byte range of the text; count the newlines before its start
            // (rounded down to a character boundary).
            let line = e.span().map(|s| {
                let mut at = s.start.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1
            });
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            // The TOML reader leaves some syntax errors without a message (a control
            // character in a comment, say).
            let message = if message.is_empty() { "invalid TOML syntax".to_string() } else { message };
            ConfigFileError { line, message }
        })?;
        if cfg.version != 1 {
            return Err(ConfigFileError {
                line: None,
                message: format!("unsupported config version {} (this wmark reads version 1)", cfg.version),
            });
        }
        Ok(cfg)
    }

    /// The tokenizer path resolved against the config file's directory.
    pub fn tokenizer_path(&self, config_path: &Path) -> Option<PathBuf> {
        self.tokenizer.as_ref().map(|t| {
            if t.is_absolute() {
                t.clone()
            } else {
                config_path.parent().unwrap_or(Path::new(".")).join(t)
            }
        })
    }

    /// The file's text, with a header comment; `None` if a value has no TOML spelling (a
    /// sampling table seed above 2^63 − 1, TOML's largest integer).
    pub fn to_toml(&self) -> Option<String> {
        let body = toml::to_string(self).ok()?;
        Some(format!("# wmark public configuration: shared by generator and detector; holds no secret.\n{body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_character_in_a_comment_is_a_syntax_error_with_a_message() {
        // Found by the config_file fuzz target: the TOML reader's message was empty.
        let e = ConfigFile::parse("# wmark pub\u{0}ic\nversion = 1\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert_eq!(e.message, "invalid TOML syntax");
    }

    #[test]
    fn a_file_reads_back_what_it_wrote_and_refuses_other_versions() {
        let text = "version = 1\nscheme = \"hf-synthid:4\"\ngamma = 0.5\ndelta = 0.0\nvocab_size = 1000\n\
                    sampling_table_size = 65536\nsampling_table_seed = 9\n";
        let cfg = ConfigFile::parse(text).unwrap();
        assert_eq!(cfg.sampling_table_seed, Some(9));
        assert_eq!(ConfigFile::parse(&cfg.to_toml().unwrap()), Ok(cfg));
        let e = ConfigFile::parse("version = 2\nscheme = \"lefthash\"\ngamma = 0.25\ndelta = 2.0\nvocab_size = 10\n");
        assert!(e.unwrap_err().message.contains("unsupported config version 2"));
        let e = ConfigFile::parse("version = 1\nschema = 1\n").unwrap_err();
        assert!(e.line == Some(2) && e.message.contains("schema"), "{e:?}");
    }
}
