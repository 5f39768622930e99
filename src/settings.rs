//! From arguments to validated objects: keys read and checked, one configuration, the
//! tokenizer pinned by hash. Every command starts here; after it nothing can disagree.

use std::path::{Path, PathBuf};

use clap::Args;
use wmark_core::{Config, Key, Seeding};
use wmark_detect::TextTokenizer;

use crate::fail::{Fail, Result};

/// Where the scheme comes from: a `wmark.toml`, or flags.
#[derive(Args, Clone, Debug, Default)]
pub struct SchemeArgs {
    /// Public configuration file written by `wmark keygen --write-config` (or by hand).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scheme", "gamma", "delta", "vocab_size"])]
    pub config: Option<PathBuf>,
    /// Scheme: unigram, lefthash, window:H, minhash:H, selfhash:H (green lists), gumbel:H
    /// (Gumbel-max), vllm-gumbel, vllm-dual-key-gumbel (vLLM's, with --context-width and a
    /// vLLM key), hf-lefthash, hf-selfhash (Hugging Face transformers' KGW, detection only,
    /// with --context-width, --gamma as its greenlist_ratio and an HF key), hf-synthid
    /// (transformers' SynthID-Text, with --ngram-len and a SynthID key) [default: lefthash].
    #[arg(long, value_name = "RULE")]
    pub scheme: Option<String>,
    /// Context width of the vLLM schemes (vLLM's `context_width`) [default: 4] and of the
    /// Hugging Face schemes (transformers' `context_width`) [default: 1].
    #[arg(long, value_name = "N", conflicts_with = "config")]
    pub context_width: Option<usize>,
    /// Weight of key B in vllm-dual-key-gumbel (vLLM's `alpha`; `--alpha` is the
    /// significance level) [default: 0.1].
    #[arg(long, value_name = "A", conflicts_with = "config")]
    pub vllm_alpha: Option<f64>,
    /// hf-synthid: transformers' `ngram_len` (the scored id and the ngram_len − 1 before it)
    /// [default: 5].
    #[arg(long, value_name = "N", conflicts_with = "config")]
    pub ngram_len: Option<usize>,
    /// hf-synthid: transformers' `sampling_table_size` [default: 65536].
    #[arg(long, value_name = "N", conflicts_with = "config")]
    pub sampling_table_size: Option<u32>,
    /// hf-synthid: transformers' `sampling_table_seed` [default: 0].
    #[arg(long, value_name = "SEED", conflicts_with = "config")]
    pub sampling_table_seed: Option<u64>,
    /// Green fraction γ, rounded to a multiple of 1/256 (the hf-* schemes: transformers'
    /// greenlist_ratio, as given) [default: 0.25].
    #[arg(long, value_name = "GAMMA")]
    pub gamma: Option<f64>,
    /// Bias δ added to green logits [default: 2.0].
    #[arg(long, value_name = "DELTA")]
    pub delta: Option<f32>,
    /// Width of the model's logits row [default: the tokenizer's size].
    #[arg(long, value_name = "N")]
    pub vocab_size: Option<u32>,
    /// A Hugging Face tokenizer.json [default: SmolLM2's, from the asset cache].
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,
}

/// Which keys to use.
#[derive(Args, Clone, Debug, Default)]
pub struct KeyArgs {
    /// A key file (repeatable).
    #[arg(long = "key", value_name = "FILE")]
    pub key: Vec<PathBuf>,
    /// A directory of key files (`*.key`), e.g. one per customer account.
    #[arg(long = "keys", value_name = "DIR")]
    pub keys_dir: Option<PathBuf>,
}

/// The validated scheme: configuration, tokenizer, and what the config file pins.
pub struct Scheme {
    pub config: Config,
    pub tokenizer: Option<TextTokenizer>,
    /// Where the tokenizer was read from (a flag, the config file, or the default).
    pub tokenizer_path: Option<PathBuf>,
    pub key_id: Option<String>,
    pub bos_id: Option<u32>,
}

impl SchemeArgs {
    /// Builds the configuration. `need_tokenizer`: text input will be tokenised.
    pub fn resolve(&self, need_tokenizer: bool) -> Result<Scheme> {
        let (file, file_path) = match &self.config {
            Some(p) => (Some(crate::config_file::load(p)?), Some(p.as_path())),
            None => (None, None),
        };
        let mut tokenizer_path = self
            .tokenizer
            .clone()
            .or_else(|| file.as_ref().and_then(|f| f.tokenizer_path(file_path.expect("config path"))));
        // The shared default of generate and detect: SmolLM2's tokenizer from the asset cache.
        if tokenizer_path.is_none() && file.is_none() && (need_tokenizer || self.vocab_size.is_none()) {
            tokenizer_path = Some(wmark_lm::assets::ensure_smollm2_tokenizer(&wmark_lm::assets::cache_dir())?);
        }
        let tokenizer = match &tokenizer_path {
            // A tokenizer named on the command line is always loaded, so that it is checked
            // (hash, vocabulary size) whatever the command does with it.
            Some(p) if need_tokenizer || self.tokenizer.is_some() || self.vocab_size.is_none() && file.is_none() => {
                Some(TextTokenizer::from_file(p)?)
            }
            _ => None,
        };
        if let (Some(t), Some(f), Some(path)) = (&tokenizer, &file, &tokenizer_path) {
            if let Some(expected) = &f.tokenizer_sha256 {
                if t.sha256() != expected {
                    return Err(Fail::usage(format!(
                        "tokenizer mismatch: {} has SHA-256 {} but {} pins {}; detect with the generator's tokenizer",
                        path.display(),
                        t.sha256(),
                        file_path.expect("config path").display(),
                        expected
                    )));
                }
            }
        }
        if need_tokenizer && tokenizer.is_none() {
            return Err(Fail::usage(
                "text input needs a tokenizer: give --tokenizer FILE or a --config that names one (or use --ids)",
            ));
        }
        let (scheme, gamma, delta, vocab) = match &file {
            Some(f) => (f.scheme.clone(), f.gamma, f.delta, Some(f.vocab_size)),
            None => (
                self.scheme.clone().unwrap_or_else(|| "lefthash".into()),
                self.gamma.unwrap_or(0.25),
                self.delta.unwrap_or(2.0),
                self.vocab_size,
            ),
        };
        let vocab = match (vocab, &tokenizer) {
            (Some(v), _) => v,
            (None, Some(t)) => u32::try_from(t.vocab_size()).map_err(|_| Fail::usage("the tokenizer is too large"))?,
            (None, None) => return Err(Fail::usage("give --vocab-size N, --tokenizer FILE or --config FILE")),
        };
        let seeding = self.seeding(&scheme)?;
        let mut config = if seeding.is_gumbel() || seeding.synthid_ngram_len().is_some() {
            if self.gamma.is_some() || self.delta.is_some() {
                return Err(Fail::usage(format!("{seeding} has no green list: --gamma and --delta do not apply")));
            }
            if seeding.is_gumbel() {
                Config::gumbel(seeding, vocab)?
            } else {
                let (size, seed) = match &file {
                    Some(f) => (f.sampling_table_size, f.sampling_table_seed),
                    None => (self.sampling_table_size, self.sampling_table_seed),
                };
                Config::synthid(
                    seeding,
                    vocab,
                    size.unwrap_or(wmark_core::DEFAULT_SYNTHID_TABLE_SIZE),
                    seed.unwrap_or(0),
                )?
            }
        } else {
            Config::new(seeding, gamma, delta, vocab)?
        };
        if let Some(alpha) = self.vllm_alpha {
            config = config.with_alpha(alpha)?;
        }
        if let Some(t) = &tokenizer {
            if t.vocab_size() > vocab as usize {
                return Err(Fail::usage(format!(
                    "vocab size mismatch: the tokenizer has {} ids but the configuration's vocab_size is {vocab}",
                    t.vocab_size()
                )));
            }
        }
        let tokenizer_path = tokenizer.as_ref().and(tokenizer_path);
        Ok(Scheme {
            config,
            tokenizer,
            tokenizer_path,
            key_id: file.as_ref().and_then(|f| f.key_id.clone()),
            bos_id: file.as_ref().and_then(|f| f.bos_id),
        })
    }
}

impl SchemeArgs {
    /// The scheme named by `--scheme`, with `--context-width` and `--vllm-alpha` checked
    /// against it.
    fn seeding(&self, scheme: &str) -> Result<Seeding> {
        let default_width = match scheme {
            "vllm-gumbel" | "vllm-dual-key-gumbel" => Some(4),
            "hf-lefthash" | "hf-selfhash" => Some(1),
            _ => None,
        };
        let seeding: Seeding = if scheme == "hf-synthid" {
            if self.context_width.is_some() {
                return Err(Fail::usage("hf-synthid names its context with --ngram-len, not --context-width"));
            }
            format!("hf-synthid:{}", self.ngram_len.unwrap_or(wmark_core::DEFAULT_SYNTHID_NGRAM_LEN)).parse()?
        } else if let Some(w) = default_width {
            format!("{scheme}:{}", self.context_width.unwrap_or(w)).parse()?
        } else {
            let seeding: Seeding = scheme.parse()?;
            match (self.context_width, seeding.vllm_width().or(seeding.hf_width())) {
                (Some(_), None) => {
                    return Err(Fail::usage(format!(
                        "--context-width applies to the vLLM and Hugging Face schemes only; {seeding} names its \
                         context in the scheme"
                    )))
                }
                (Some(given), Some(w)) if given != w => {
                    return Err(Fail::usage(format!("--context-width {given} contradicts the scheme {seeding}")))
                }
                _ => seeding,
            }
        };
        if self.vllm_alpha.is_some() && !matches!(seeding, Seeding::VllmDualKeyGumbel(_)) {
            return Err(Fail::usage("--vllm-alpha applies to --scheme vllm-dual-key-gumbel only"));
        }
        match (seeding.synthid_ngram_len(), self.ngram_len) {
            (None, _)
                if self.ngram_len.is_some()
                    || self.sampling_table_size.is_some()
                    || self.sampling_table_seed.is_some() =>
            {
                return Err(Fail::usage(
                    "--ngram-len, --sampling-table-size and --sampling-table-seed apply to --scheme hf-synthid only",
                ))
            }
            (Some(n), Some(given)) if n != given => {
                return Err(Fail::usage(format!("--ngram-len {given} contradicts the scheme {seeding}")))
            }
            _ => {}
        }
        Ok(seeding)
    }
}

/// Why a detect-only scheme cannot watermark: transformers makes that text (its KGW
/// processor; wmark generates SynthID-Text, `hf-synthid`, itself).
pub fn detect_only_message(seeding: Seeding) -> String {
    format!(
        "wmark detects {seeding} but does not generate it: text with Hugging Face's watermark is generated by \
         transformers (WatermarkLogitsProcessor); wmark's own schemes are lefthash, selfhash:H, gumbel:H, ..."
    )
}

/// Reads a key file; the core refuses one that group or others can read (as ssh does).
pub fn load_key(path: &Path) -> Result<Key> {
    Key::load(path).map_err(|e| Fail::usage(e.to_string()))
}

impl KeyArgs {
    /// Loads every key given; at least one is required.
    pub fn load(&self) -> Result<Vec<Key>> {
        let mut keys = Vec::new();
        for p in &self.key {
            keys.push(load_key(p)?);
        }
        if let Some(dir) = &self.keys_dir {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Fail::io(dir, &e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "key"))
                .collect();
            paths.sort();
            if paths.is_empty() {
                return Err(Fail::usage(format!("{}: no *.key files in this directory", dir.display())));
            }
            for p in paths {
                keys.push(load_key(&p)?);
            }
        }
        if keys.is_empty() {
            return Err(Fail::usage("no key given: use --key FILE or --keys DIR"));
        }
        Ok(keys)
    }

    /// Loads the keys and, with exactly one key, checks it against the configuration's
    /// key id.
    pub fn load_checked(&self, scheme: &Scheme) -> Result<Vec<Key>> {
        let keys = self.load()?;
        if let (Some(expected), [key]) = (&scheme.key_id, keys.as_slice()) {
            let got = key.id().to_string();
            if &got != expected {
                return Err(Fail::usage(format!(
                    "key id mismatch: the key has id {got} but the configuration was written for key {expected}"
                )));
            }
        }
        Ok(keys)
    }
}
