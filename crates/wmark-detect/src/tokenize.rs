//! Turning text into token ids with any Hugging Face `tokenizer.json`.

use std::path::Path;

use crate::error::Error;

/// A Hugging Face tokenizer loaded from a `tokenizer.json` file.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    sha256: String,
    /// `get_vocab_size(true)` builds the whole vocabulary map on every call: computed once.
    vocab: usize,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer").field("vocab_size", &self.vocab_size()).field("sha256", &self.sha256).finish()
    }
}

/// Token ids of a text and the byte range of each token in that text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoding {
    /// The ids, without special tokens added by the tokenizer's post-processor.
    pub ids: Vec<u32>,
    /// Byte range of each token in the encoded text (empty ranges are possible).
    pub offsets: Vec<(usize, usize)>,
}

impl TextTokenizer {
    /// Loads a `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<TextTokenizer, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
        TextTokenizer::from_bytes(&bytes).map_err(|e| {
            Error::tokenizer(format!("{}: {}", path.display(), e.to_string().trim_start_matches("tokenizer: ")))
        })
    }

    /// Loads a tokenizer from the contents of a `tokenizer.json`.
    pub fn from_bytes(bytes: &[u8]) -> Result<TextTokenizer, Error> {
        let inner = tokenizers::Tokenizer::from_bytes(bytes)
            .map_err(|e| Error::tokenizer(format!("not a usable tokenizer.json ({e})")))?;
        let vocab = inner.get_vocab_size(true);
        Ok(TextTokenizer { inner, sha256: sha256_hex(bytes), vocab })
    }

    /// Wraps a tokenizer built in code; `sha256` is the hash of its serialised form.
    pub fn from_tokenizer(inner: tokenizers::Tokenizer) -> Result<TextTokenizer, Error> {
        let json = inner.to_string(false).map_err(|e| Error::tokenizer(e.to_string()))?;
        let vocab = inner.get_vocab_size(true);
        Ok(TextTokenizer { sha256: sha256_hex(json.as_bytes()), inner, vocab })
    }

    /// SHA-256 of the `tokenizer.json` bytes, hex: pins the tokenizer in a public config.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The number of ids, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.vocab
    }

    /// The id of a token string, if it exists (for example a BOS token `<s>`).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Encodes `text` without adding special tokens.
    pub fn encode(&self, text: &str) -> Result<Encoding, Error> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::tokenizer(format!("encoding failed: {e}")))?;
        // `encode` reports byte offsets into `text`.
        let ids = enc.get_ids().to_vec();
        let offsets = enc.get_offsets().to_vec();
        Ok(Encoding { ids, offsets })
    }

    /// Decodes ids back to text (special tokens skipped).
    pub fn decode(&self, ids: &[u32]) -> Result<String, Error> {
        self.inner.decode(ids, true).map_err(|e| Error::tokenizer(format!("decoding failed: {e}")))
    }

    /// The underlying `tokenizers` object.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
