//! The tokenizer embedded in a GGUF file (`tokenizer.ggml.*` metadata), rebuilt as a
//! Hugging Face `tokenizers::Tokenizer` so that the detector can use the exact tokenizer the
//! model generates with.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper, Tokenizer};

use crate::error::Error;

/// GGUF token types (llama.cpp's `llama_token_type`): 3 = control, 4 = user defined.
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

/// What the GGUF metadata says about its tokenizer.
#[derive(Clone, Debug)]
pub struct GgufTokenizer {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// Beginning-of-sequence id, if the file names one.
    pub bos_id: Option<u32>,
    /// End-of-sequence id, if the file names one.
    pub eos_id: Option<u32>,
    /// Every special (control or user-defined) token, with its id.
    pub special: Vec<(String, u32)>,
}

fn strings(md: &HashMap<String, gguf_file::Value>, key: &str) -> Result<Vec<String>, Error> {
    let v = md.get(key).ok_or_else(|| Error::new(format!("GGUF metadata has no {key}")))?;
    v.to_vec()?.iter().map(|s| Ok(s.to_string()?.clone())).collect()
}

/// Builds the tokenizer of a GGUF file's metadata. Only byte-level BPE (`gpt2` model) is
/// supported: SmolLM2, Llama 3, Qwen and GPT-2-family models use it.
pub fn from_metadata(md: &HashMap<String, gguf_file::Value>) -> Result<GgufTokenizer, Error> {
    let model = md
        .get("tokenizer.ggml.model")
        .ok_or_else(|| Error::new("GGUF metadata has no tokenizer.ggml.model"))?
        .to_string()?;
    if model != "gpt2" {
        return Err(Error::new(format!("tokenizer model {model:?} is not supported (only byte-level BPE, \"gpt2\")")));
    }
    let tokens = strings(md, "tokenizer.ggml.tokens")?;
    let merges = strings(md, "tokenizer.ggml.merges")?;
    let types: Vec<i32> = match md.get("tokenizer.ggml.token_type") {
        Some(v) => v.to_vec()?.iter().map(|t| t.to_i32()).collect::<candle_core::Result<_>>()?,
        None => vec![1; tokens.len()],
    };
    let id = |key: &str| md.get(key).and_then(|v| v.to_u32().ok());
    let vocab: tokenizers::models::bpe::Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let merges: Vec<(String, String)> = merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| Error::new(format!("malformed merge {m:?}")))
        })
        .collect::<Result<_, _>>()?;
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| Error::new(format!("BPE: {e}")))?;
    let mut tokenizer = Tokenizer::new(bpe);
    // SmolLM2's own tokenizer.json: single digits split, then GPT-2's byte-level split.
    let digits = PreTokenizerWrapper::Digits(Digits::new(true));
    let bytes = PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true));
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![digits, bytes])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let special: Vec<(String, u32)> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(_, (_, &t))| t == CONTROL || t == USER_DEFINED)
        .map(|(i, (s, _))| (s.clone(), i as u32))
        .collect();
    let added: Vec<AddedToken> = special.iter().map(|(s, _)| AddedToken::from(s.clone(), true)).collect();
    tokenizer.add_special_tokens(&added);
    Ok(GgufTokenizer {
        tokenizer,
        bos_id: id("tokenizer.ggml.bos_token_id"),
        eos_id: id("tokenizer.ggml.eos_token_id"),
        special,
    })
}

/// Reads only the metadata of a GGUF file and builds its tokenizer.
pub fn from_gguf_file(path: &Path) -> Result<GgufTokenizer, Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let content = gguf_file::Content::read(&mut f)
        .map_err(|e| Error::new(format!("{}: not a GGUF file ({e})", path.display())))?;
    from_metadata(&content.metadata)
}

/// Writes the tokenizer of a GGUF file as `tokenizer.json` (atomically: a temporary file
/// renamed into place).
pub fn write_tokenizer_json(gguf: &Path, out: &Path) -> Result<(), Error> {
    let t = from_gguf_file(gguf)?;
    let json = t.tokenizer.to_string(true).map_err(|e| Error::new(format!("tokenizer: {e}")))?;
    let tmp = out.with_extension("json.partial");
    std::fs::write(&tmp, json).map_err(|e| Error::new(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, out).map_err(|e| Error::new(format!("{}: {e}", out.display())))?;
    Ok(())
}
