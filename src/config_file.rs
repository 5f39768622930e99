//! `wmark.toml`: the public configuration shared by generator and detector, so that they
//! cannot silently disagree. It holds no secret.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fail::{Fail, Result};

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

impl ConfigFile {
    /// Reads and parses a config file; errors name the file and the problem.
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Fail::io(path, &e))?;
        let cfg: ConfigFile = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!(":{line}")
            });
            Fail::usage(format!(
                "{}{}: {}",
                path.display(),
                at.unwrap_or_default(),
                e.message().trim().replace('\n', "; ")
            ))
        })?;
        if cfg.version != 1 {
            return Err(Fail::usage(format!(
                "{}: unsupported config version {} (this wmark reads version 1)",
                path.display(),
                cfg.version
            )));
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

    /// The file's text, with a header comment.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("config serialises");
        format!("# wmark public configuration: shared by generator and detector; holds no secret.\n{body}")
    }
}
