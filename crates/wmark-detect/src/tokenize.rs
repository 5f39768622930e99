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
    /// True if texts may be encoded in chunks (see [`TextTokenizer::encode_chunked`]).
    chunkable: bool,
}

/// Texts of at least twice this many bytes are encoded in chunks of about this size.
pub const CHUNK_BYTES: usize = 64 * 1024;

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
        let chunkable = chunkable(bytes);
        Ok(TextTokenizer { inner, sha256: sha256_hex(bytes), vocab, chunkable })
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

    /// True if long texts are encoded in chunks (see [`encode_chunked`](Self::encode_chunked)).
    pub fn encodes_in_chunks(&self) -> bool {
        self.chunkable
    }

    /// Encodes `text` without adding special tokens.
    pub fn encode(&self, text: &str) -> Result<Encoding, Error> {
        self.encode_chunked(text, CHUNK_BYTES)
    }

    /// [`encode`](Self::encode) with chunks of about `chunk_bytes` bytes (at least 1). Memory
    /// then grows with the chunk, not with the text.
    ///
    /// A chunk ends just before a space that follows a non-space character and precedes a
    /// letter: a place where the byte-level BPE pre-tokenizers (GPT-2's regex, Llama 3's,
    /// Qwen's; SmolLM2's) always start a new piece, so that no piece and no merge crosses
    /// the cut and the ids are those of the whole text. Tokenizers whose pieces could cross
    /// such a cut (a normalizer, a prefix space, SentencePiece's metaspace, an unknown
    /// pre-tokenizer) are encoded whole. Texts shorter than two chunks are encoded whole.
    pub fn encode_chunked(&self, text: &str, chunk_bytes: usize) -> Result<Encoding, Error> {
        let mut out = Encoding::default();
        self.each_chunk(text, chunk_bytes, |enc, start| {
            out.ids.extend_from_slice(&enc.ids);
            out.offsets.extend(enc.offsets.iter().map(|&(a, b)| (a + start, b + start)));
        })?;
        Ok(out)
    }

    /// The ids of [`encode`](Self::encode) without the offsets: 4 bytes a token instead of
    /// 20 while a long text is encoded.
    pub fn encode_ids(&self, text: &str) -> Result<Vec<u32>, Error> {
        let mut ids = Vec::new();
        self.each_chunk(text, CHUNK_BYTES, |enc, _| ids.extend_from_slice(&enc.ids))?;
        Ok(ids)
    }

    /// Normalises `text` with `options` and encodes it, chunk by chunk: the ids of
    /// `self.encode_ids(normalize(text, options).text())`, and whether normalisation changed
    /// anything, without ever holding the whole normalised text or its offset map. The memory
    /// of a long text is then its ids (4 bytes a token) and one chunk's working space.
    ///
    /// Chunks are cut in the original text before a space that follows an ASCII letter or
    /// digit and precedes an ASCII letter: no normalisation step looks across such a space
    /// (NFC units start at the space, invisibles are judged by their neighbours, homoglyphs
    /// and fullwidth runs by their word), and it stays a cut where the tokenizer starts a
    /// piece (see [`encode_chunked`](Self::encode_chunked)). A test checks the ids against
    /// the whole-text path on real text.
    pub fn encode_normalized_ids(
        &self,
        text: &str,
        options: &crate::normalize::Options,
        chunk_bytes: usize,
    ) -> Result<(Vec<u32>, bool), Error> {
        let chunk_bytes = chunk_bytes.max(1);
        if !self.chunkable || text.len() < chunk_bytes.saturating_mul(2) {
            let norm = crate::normalize::normalize(text, options);
            return Ok((self.encode_ids(norm.text())?, norm.changed()));
        }
        let (mut ids, mut changed) = (Vec::new(), false);
        let mut start = 0;
        while start < text.len() {
            let end = next_ascii_cut(text, start + chunk_bytes);
            let norm = crate::normalize::normalize(&text[start..end], options);
            changed |= norm.changed();
            ids.extend_from_slice(&self.encode_whole(norm.text())?.ids);
            start = end;
        }
        Ok((ids, changed))
    }

    /// Encodes `text` chunk by chunk (one chunk if it may not be cut), handing each chunk's
    /// encoding and its byte offset in `text` to `f`, in order.
    fn each_chunk(&self, text: &str, chunk_bytes: usize, mut f: impl FnMut(Encoding, usize)) -> Result<(), Error> {
        let chunk_bytes = chunk_bytes.max(1);
        if !self.chunkable || text.len() < chunk_bytes.saturating_mul(2) {
            f(self.encode_whole(text)?, 0);
            return Ok(());
        }
        let mut start = 0;
        while start < text.len() {
            let end = next_cut(text, start + chunk_bytes);
            f(self.encode_whole(&text[start..end])?, start);
            start = end;
        }
        Ok(())
    }

    fn encode_whole(&self, text: &str) -> Result<Encoding, Error> {
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
}

/// The first safe cut at or after byte `from` (see [`TextTokenizer::encode_chunked`]): the
/// byte offset of a space whose previous character is not whitespace and whose next is a
/// letter; the end of the text if there is none.
fn next_cut(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = from.max(1);
    while i < bytes.len() {
        if bytes[i] == b' ' {
            let prev = text[..i].chars().next_back();
            let next = text[i + 1..].chars().next();
            if prev.is_some_and(|c| !c.is_whitespace()) && next.is_some_and(char::is_alphabetic) {
                return i;
            }
        }
        i += 1;
    }
    bytes.len()
}

/// The first cut at or after byte `from` for [`TextTokenizer::encode_normalized_ids`]: a
/// space between an ASCII letter or digit and an ASCII letter; the end of the text if none.
fn next_ascii_cut(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = from.max(1);
    while i + 1 < bytes.len() {
        if bytes[i] == b' ' && bytes[i - 1].is_ascii_alphanumeric() && bytes[i + 1].is_ascii_alphabetic() {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// True if the tokenizer's pieces never cross a [`next_cut`]: no normalizer, and a
/// pre-tokenizer made only of byte-level steps without a prefix space (`ByteLevel` with its
/// regex, `Digits`, and GPT-2-shaped `Split` regexes).
fn chunkable(json: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) else { return false };
    if !v.get("normalizer").is_none_or(serde_json::Value::is_null) {
        return false;
    }
    let Some(pre) = v.get("pre_tokenizer") else { return false };
    let steps: Vec<&serde_json::Value> = match pre.get("type").and_then(|t| t.as_str()) {
        Some("Sequence") => match pre.get("pretokenizers").and_then(|p| p.as_array()) {
            Some(list) => list.iter().collect(),
            None => return false,
        },
        Some(_) => vec![pre],
        None => return false,
    };
    let mut splits_words = false;
    for step in steps {
        match step.get("type").and_then(|t| t.as_str()) {
            Some("ByteLevel") => {
                if step.get("add_prefix_space").and_then(|b| b.as_bool()) != Some(false) {
                    return false;
                }
                splits_words |= step.get("use_regex").and_then(|b| b.as_bool()) == Some(true);
            }
            Some("Digits") => {}
            Some("Split") => {
                let pattern = step.pointer("/pattern/Regex").and_then(|r| r.as_str()).unwrap_or("");
                let isolated = step.get("behavior").and_then(|b| b.as_str()) == Some("Isolated");
                let gpt2_shaped = pattern.contains("\\p{L}+") && pattern.contains("\\s+(?!\\S)");
                if !isolated || !gpt2_shaped || step.get("invert").and_then(|b| b.as_bool()) != Some(false) {
                    return false;
                }
                splits_words = true;
            }
            _ => return false,
        }
    }
    splits_words
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
