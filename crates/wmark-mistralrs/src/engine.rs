//! Loading the model into mistral.rs's engine, offline.

use std::path::PathBuf;

use mistralrs_core::{ModelDType, ModelSelected, TokenSource};
use mistralrs_server_core::mistralrs_for_server_builder::MistralRsForServerBuilder;
use mistralrs_server_core::types::SharedMistralRsState;

/// What to load.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// A GGUF file; its directory also serves as the tokenizer's model id, so every lookup
    /// stays local (the tokenizer and chat template come from the GGUF).
    pub gguf: PathBuf,
    /// Sequences batched together at most.
    pub max_seqs: usize,
}

/// Loads the model on the CPU with no token source (nothing is fetched from a hub).
///
/// mistral.rs creates its Hugging Face cache folders while loading: unless `HF_HOME` is
/// set, they go to `<wmark cache>/hf-home` rather than `~/.cache/huggingface`.
pub async fn load(options: &EngineOptions) -> Result<SharedMistralRsState, String> {
    let gguf = &options.gguf;
    if !gguf.is_file() {
        return Err(format!("{}: no such model file", gguf.display()));
    }
    let dir = gguf.parent().filter(|d| !d.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
    let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = gguf
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| format!("{}: the file name is not UTF-8", gguf.display()))?
        .to_string();
    let dir = dir.to_str().ok_or_else(|| format!("{}: the path is not UTF-8", dir.display()))?.to_string();
    let model = ModelSelected::GGUF {
        tok_model_id: Some(dir.clone()),
        quantized_model_id: dir,
        quantized_filename: file,
        dtype: ModelDType::Auto,
        topology: None,
        max_seq_len: mistralrs_core::AutoDeviceMapParams::DEFAULT_MAX_SEQ_LEN,
        max_batch_size: mistralrs_core::AutoDeviceMapParams::DEFAULT_MAX_BATCH_SIZE,
    };
    MistralRsForServerBuilder::new()
        .with_model(model)
        .with_token_source(TokenSource::None)
        .with_cpu(true)
        .with_max_seqs(options.max_seqs)
        .build()
        .await
        .map_err(|e| format!("mistral.rs could not load {}: {e}", gguf.display()))
}

/// Points `HF_HOME` into wmark's asset cache unless it is set. Call before any thread starts.
pub fn contain_hf_home() {
    if std::env::var_os("HF_HOME").is_none() {
        let dir = wmark_lm::assets::cache_dir().join("hf-home");
        // Single-threaded at this point (called first thing in main).
        std::env::set_var("HF_HOME", dir);
    }
}
