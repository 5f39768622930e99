//! Secret keys, their public ids, per-account derivation and the key file format.

use std::fmt;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::hex;

/// Domain-separation prefix shared by every keyed construction of scheme v1.
pub(crate) const DOMAIN: &[u8] = b"wmark.v1\x00";

/// The first line of a key file, before the 64 hex characters.
pub const KEY_FILE_PREFIX: &str = "wmark-key-v1:";

/// The first line of a vLLM key file, before the key in decimal.
pub const VLLM_KEY_FILE_PREFIX: &str = "wmark-vllm-key-v1:";

/// The first line of a Hugging Face key file, before the hashing key in decimal.
pub const HF_KEY_FILE_PREFIX: &str = "wmark-hf-key-v1:";

/// The first line of a SynthID-Text key file, before the layer keys in decimal, comma-separated.
pub const SYNTHID_KEY_FILE_PREFIX: &str = "wmark-synthid-key-v1:";

/// The most tournament layers (keys) a SynthID-Text key holds.
pub const MAX_SYNTHID_LAYERS: usize = 1024;

/// The layers `wmark keygen --scheme hf-synthid` draws when not told otherwise (the
/// SynthID-Text paper's and transformers' examples use 30).
pub const DEFAULT_SYNTHID_LAYERS: usize = 30;

/// The smallest and largest hashing keys transformers accepts (`manual_seed`'s range).
const HF_KEY_MIN: i128 = i64::MIN as i128;
const HF_KEY_MAX: i128 = u64::MAX as i128;

/// Which family of schemes a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A 256-bit key of wmark's own schemes (scheme v1: the green lists and `gumbel:h`).
    V1,
    /// A 64-bit key of vLLM's native watermark (`vllm-gumbel`, `vllm-dual-key-gumbel`).
    Vllm,
    /// The integer `hashing_key` of Hugging Face transformers' KGW watermark
    /// (`hf-lefthash`, `hf-selfhash`), from −2^63 to 2^64 − 1.
    Hf,
    /// The keys of Hugging Face transformers' SynthID-Text watermark (`hf-synthid`): one
    /// signed 64-bit integer per tournament layer, 1 to [`MAX_SYNTHID_LAYERS`] of them.
    SynthId,
}

/// A watermark secret: 256 bits for wmark's own schemes, the 64-bit integer of a vLLM
/// deployment's watermark, transformers' KGW hashing key, or its SynthID-Text layer keys.
///
/// The bytes are wiped from memory when the key is dropped, and neither `Debug` nor `Display`
/// shows them: both show the public [`KeyId`] only.
#[derive(Clone)]
pub struct Key {
    /// For a vLLM key, the first 8 bytes hold the key big-endian and the rest are zero; for
    /// an HF key, the first 16 bytes hold it as a big-endian two's-complement 128-bit integer;
    /// a SynthID key is its layer keys, 8 big-endian two's-complement bytes each.
    bytes: Box<[u8]>,
    kind: KeyKind,
}

impl Drop for Key {
    fn drop(&mut self) {
        self.bytes.as_mut().zeroize();
    }
}

impl Key {
    /// Draws a fresh key from the operating system's random source.
    pub fn generate() -> Result<Key, Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::random(e.to_string()))?;
        let key = Key::from_bytes(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// Draws a fresh 64-bit vLLM key from the operating system's random source.
    pub fn generate_vllm() -> Result<Key, Error> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| Error::random(e.to_string()))?;
        let key = Key::from_vllm(u64::from_be_bytes(bytes));
        bytes.zeroize();
        Ok(key)
    }

    /// Wraps 32 bytes the caller already holds (a key from a vault, a test vector).
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key { bytes: Box::new(bytes), kind: KeyKind::V1 }
    }

    /// Wraps the 64-bit key of a vLLM deployment (its `WatermarkConfig.key`).
    pub fn from_vllm(key: u64) -> Key {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&key.to_be_bytes());
        Key { bytes: Box::new(bytes), kind: KeyKind::Vllm }
    }

    /// Draws a fresh Hugging Face hashing key (a uniform 64-bit non-negative integer) from
    /// the operating system's random source.
    pub fn generate_hf() -> Result<Key, Error> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| Error::random(e.to_string()))?;
        let key = Key::from_hf(i128::from(u64::from_be_bytes(bytes)));
        bytes.zeroize();
        key
    }

    /// Wraps the integer `hashing_key` of a Hugging Face `WatermarkingConfig`. Errors
    /// (configuration) outside transformers' range, −2^63 to 2^64 − 1.
    pub fn from_hf(hashing_key: i128) -> Result<Key, Error> {
        if !(HF_KEY_MIN..=HF_KEY_MAX).contains(&hashing_key) {
            return Err(Error::config("a Hugging Face hashing key must be between -2^63 and 2^64 - 1"));
        }
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&hashing_key.to_be_bytes());
        Ok(Key { bytes: Box::new(bytes), kind: KeyKind::Hf })
    }

    /// Wraps the `keys` of a Hugging Face `SynthIDTextWatermarkingConfig`, one per tournament
    /// layer, in order. Errors (configuration) for none or more than [`MAX_SYNTHID_LAYERS`].
    pub fn from_synthid(keys: &[i64]) -> Result<Key, Error> {
        if !(1..=MAX_SYNTHID_LAYERS).contains(&keys.len()) {
            return Err(Error::config(format!(
                "a SynthID-Text key holds 1 to {MAX_SYNTHID_LAYERS} layer keys, not {}",
                keys.len()
            )));
        }
        let bytes: Box<[u8]> = keys.iter().flat_map(|k| k.to_be_bytes()).collect();
        Ok(Key { bytes, kind: KeyKind::SynthId })
    }

    /// Draws `layers` fresh SynthID-Text layer keys (uniform 63-bit non-negative integers)
    /// from the operating system's random source.
    pub fn generate_synthid(layers: usize) -> Result<Key, Error> {
        let mut bytes = Zeroizing::new(vec![0u8; 8 * layers]);
        getrandom::fill(&mut bytes).map_err(|e| Error::random(e.to_string()))?;
        let keys: Zeroizing<Vec<i64>> = Zeroizing::new(
            bytes.chunks_exact(8).map(|c| (u64::from_be_bytes(c.try_into().expect("8 bytes")) >> 1) as i64).collect(),
        );
        Key::from_synthid(&keys)
    }

    /// Which family of schemes the key is for.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The secret bytes, for code that must hand them to another implementation (a test
    /// vector, a hardware module): 32 bytes for a v1 key, the 8 big-endian bytes of a vLLM
    /// key. Anyone who reads them can forge and strip the watermark; anything that copies
    /// them should wipe its copy.
    pub fn dangerous_expose_secret_bytes(&self) -> &[u8] {
        match self.kind {
            KeyKind::V1 | KeyKind::SynthId => &self.bytes,
            KeyKind::Vllm => &self.bytes[..8],
            KeyKind::Hf => &self.bytes[..16],
        }
    }

    /// The 64-bit integer of a vLLM key (`None` for a v1 key). Anyone who reads it can
    /// forge and strip the watermark.
    pub fn dangerous_expose_vllm_key(&self) -> Option<u64> {
        (self.kind == KeyKind::Vllm).then(|| u64::from_be_bytes(self.bytes[..8].try_into().expect("8 bytes")))
    }

    /// The hashing key of an HF key (`None` for the other kinds). Anyone who reads it can
    /// forge and strip the watermark.
    pub fn dangerous_expose_hf_key(&self) -> Option<i128> {
        (self.kind == KeyKind::Hf).then(|| i128::from_be_bytes(self.bytes[..16].try_into().expect("16 bytes")))
    }

    /// The layer keys of a SynthID key, in order (`None` for the other kinds). Anyone who
    /// reads them can forge and strip the watermark.
    pub fn dangerous_expose_synthid_keys(&self) -> Option<Zeroizing<Vec<i64>>> {
        (self.kind == KeyKind::SynthId).then(|| {
            Zeroizing::new(
                self.bytes.chunks_exact(8).map(|c| i64::from_be_bytes(c.try_into().expect("8 bytes"))).collect(),
            )
        })
    }

    /// The public identifier: the first 8 bytes of
    /// `SHA-256("wmark.v1" 0x00 "keyid" 0x00 key)` for a v1 key, and of
    /// `SHA-256("wmark.v1" 0x00 "vllm-keyid" 0x00 be64(key))` for a vLLM key, and of
    /// `SHA-256("wmark.v1" 0x00 "hf-keyid" 0x00 be128(key))` for an HF key, and of
    /// `SHA-256("wmark.v1" 0x00 "synthid-keyid" 0x00 be64(k1) … be64(kD))` for a SynthID key.
    pub fn id(&self) -> KeyId {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(match self.kind {
            KeyKind::V1 => &b"keyid\x00"[..],
            KeyKind::Vllm => &b"vllm-keyid\x00"[..],
            KeyKind::Hf => &b"hf-keyid\x00"[..],
            KeyKind::SynthId => &b"synthid-keyid\x00"[..],
        });
        h.update(self.dangerous_expose_secret_bytes());
        let digest = h.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// The key of one customer account, derived from this (master) key:
    /// `HMAC-SHA256(master, "wmark.v1" 0x00 "account" 0x00 utf8(account))`.
    ///
    /// Anyone holding the master key can re-derive every account key; an account key reveals
    /// nothing about the master or about other accounts.
    ///
    /// A vLLM master key gives vLLM account keys: the first 8 bytes, big-endian, of the same
    /// HMAC keyed with the master's 8 big-endian bytes. An HF master key gives HF account
    /// keys the same way (from its 16 bytes; the account key is the first 8 bytes as an
    /// unsigned integer). A SynthID master key gives SynthID account keys with as many
    /// layers: layer `i`'s key is the first 8 bytes of
    /// `HMAC-SHA256(master, "wmark.v1" 0x00 "synthid-account" 0x00 be32(i) utf8(account))`,
    /// big-endian, shifted right by one bit (a non-negative 63-bit integer).
    pub fn derive_account(&self, account: &str) -> Key {
        if self.kind == KeyKind::SynthId {
            let layers: Zeroizing<Vec<i64>> = Zeroizing::new(
                (0..self.bytes.len() / 8)
                    .map(|i| {
                        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes)
                            .expect("HMAC accepts keys of any length");
                        mac.update(DOMAIN);
                        mac.update(b"synthid-account\x00");
                        mac.update(&(i as u32).to_be_bytes());
                        mac.update(account.as_bytes());
                        let out = mac.finalize().into_bytes();
                        (u64::from_be_bytes(out[..8].try_into().expect("8 bytes")) >> 1) as i64
                    })
                    .collect(),
            );
            return Key::from_synthid(&layers).expect("as many layers as the master");
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.dangerous_expose_secret_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(DOMAIN);
        mac.update(b"account\x00");
        mac.update(account.as_bytes());
        let out = mac.finalize().into_bytes();
        match self.kind {
            KeyKind::V1 => {
                let mut bytes = [0u8; 32];
                bytes.copy_from_slice(&out);
                let key = Key::from_bytes(bytes);
                bytes.zeroize();
                key
            }
            KeyKind::Vllm => Key::from_vllm(u64::from_be_bytes(out[..8].try_into().expect("8 bytes"))),
            KeyKind::Hf => Key::from_hf(i128::from(u64::from_be_bytes(out[..8].try_into().expect("8 bytes"))))
                .expect("every 64-bit unsigned key is in range"),
            KeyKind::SynthId => unreachable!("derived above"),
        }
    }

    /// The key file contents: `wmark-key-v1:` + 64 lowercase hex characters + `\n`, or for
    /// a vLLM key `wmark-vllm-key-v1:` + the key in decimal + `\n`, for an HF key
    /// `wmark-hf-key-v1:` + the key in decimal (with `-` if negative) + `\n`, for a SynthID
    /// key `wmark-synthid-key-v1:` + the layer keys in decimal, separated by `,` + `\n`. The
    /// returned string is wiped when dropped.
    pub fn to_file_string(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(VLLM_KEY_FILE_PREFIX.len() + 65));
        let (prefix, digits) = match self.kind {
            KeyKind::V1 => {
                s.push_str(KEY_FILE_PREFIX);
                hex::push_lower(&mut s, &self.bytes);
                s.push('\n');
                return s;
            }
            KeyKind::Vllm => (VLLM_KEY_FILE_PREFIX, self.dangerous_expose_vllm_key().map(|k| k.to_string())),
            KeyKind::Hf => (HF_KEY_FILE_PREFIX, self.dangerous_expose_hf_key().map(|k| k.to_string())),
            KeyKind::SynthId => {
                let keys = self.dangerous_expose_synthid_keys().expect("a SynthID key");
                let mut digits = String::with_capacity(21 * keys.len());
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        digits.push(',');
                    }
                    digits.push_str(&k.to_string());
                }
                (SYNTHID_KEY_FILE_PREFIX, Some(digits))
            }
        };
        let mut digits = Zeroizing::new(digits.expect("the kind's key"));
        s.push_str(prefix);
        s.push_str(&digits);
        digits.zeroize();
        s.push('\n');
        s
    }

    /// Parses key file contents. Anything but exactly one line of the form
    /// `wmark-key-v1:<64 lowercase hex>`, `wmark-vllm-key-v1:<decimal below 2^64, no
    /// leading zeros>` or `wmark-hf-key-v1:<decimal from -2^63 to 2^64 - 1, no leading zeros>`
    /// followed by a newline is rejected; the error names the line and what was expected and
    /// never repeats the file's contents.
    pub fn parse_file(text: &str) -> Result<Key, Error> {
        const EXPECTED: &str = "expected `wmark-key-v1:` followed by 64 lowercase hex characters and a newline";
        const EXPECTED_VLLM: &str =
            "expected `wmark-vllm-key-v1:` followed by the key in decimal (0 to 18446744073709551615) and a newline";
        if text.is_empty() {
            return Err(Error::key_file(1, format!("the file is empty; {EXPECTED}")));
        }
        let (first, rest) = match text.find('\n') {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        if first.ends_with('\r') {
            return Err(Error::key_file(1, "ends with a carriage return (Windows line ending); use a single `\\n`"));
        }
        if let Some(body) = first.strip_prefix(VLLM_KEY_FILE_PREFIX) {
            let valid =
                !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) && (body == "0" || !body.starts_with('0'));
            let Some(value) = valid.then(|| body.parse::<u64>().ok()).flatten() else {
                return Err(Error::key_file(1, format!("the key is not a decimal number below 2^64; {EXPECTED_VLLM}")));
            };
            return Key::finish_parse(Key::from_vllm(value), rest);
        }
        if let Some(body) = first.strip_prefix(HF_KEY_FILE_PREFIX) {
            const EXPECTED_HF: &str = "expected `wmark-hf-key-v1:` followed by the hashing key in decimal \
                                       (-9223372036854775808 to 18446744073709551615) and a newline";
            let digits = body.strip_prefix('-').unwrap_or(body);
            let valid = !digits.is_empty()
                && digits.len() <= 20
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'))
                && body != "-0";
            let key = valid.then(|| body.parse::<i128>().ok()).flatten().and_then(|v| Key::from_hf(v).ok());
            let Some(key) = key else {
                return Err(Error::key_file(1, format!("the key is not a decimal number in range; {EXPECTED_HF}")));
            };
            return Key::finish_parse(key, rest);
        }
        if let Some(body) = first.strip_prefix(SYNTHID_KEY_FILE_PREFIX) {
            let mut keys = Zeroizing::new(Vec::new());
            for (i, part) in body.split(',').enumerate() {
                let Some(k) = parse_canonical_i64(part) else {
                    return Err(Error::key_file(
                        1,
                        format!(
                            "layer key {} is not a decimal number from -9223372036854775808 to 9223372036854775807 \
                             (no leading zeros, no spaces); expected `{SYNTHID_KEY_FILE_PREFIX}` followed by the layer \
                             keys separated by commas and a newline",
                            i + 1
                        ),
                    ));
                };
                if keys.len() == MAX_SYNTHID_LAYERS {
                    return Err(Error::key_file(1, format!("more than {MAX_SYNTHID_LAYERS} layer keys")));
                }
                keys.push(k);
            }
            return Key::finish_parse(Key::from_synthid(&keys).expect("1 to the maximum of layers"), rest);
        }
        let Some(body) = first.strip_prefix(KEY_FILE_PREFIX) else {
            return Err(Error::key_file(1, format!("does not start with `{KEY_FILE_PREFIX}`; {EXPECTED}")));
        };
        if body.len() != 64 {
            return Err(Error::key_file(
                1,
                format!("has {} characters after `{KEY_FILE_PREFIX}`; {EXPECTED}", body.chars().count()),
            ));
        }
        let mut bytes = [0u8; 32];
        if let Some(col) = hex::decode_lower(body, &mut bytes) {
            bytes.zeroize();
            return Err(Error::key_file(
                1,
                format!("character {} of the key is not a lowercase hex digit (0-9, a-f); {EXPECTED}", col + 1),
            ));
        }
        let key = Key::from_bytes(bytes);
        bytes.zeroize();
        Key::finish_parse(key, rest)
    }

    /// Accepts `key` if nothing follows its line but the newline.
    fn finish_parse(key: Key, rest: Option<&str>) -> Result<Key, Error> {
        match rest {
            None => Err(Error::key_file(1, "the key line has no final newline")),
            Some("") => Ok(key),
            Some(_) => {
                Err(Error::key_file(2, "unexpected content after the key line; a key file holds exactly one line"))
            }
        }
    }

    /// Reads and parses a key file, after checking, as ssh does, that it is a regular file
    /// only its owner can read: a file that group or others may read or write is refused
    /// (an error for which [`Error::is_insecure_key_file`] is true), since anyone who reads
    /// the key can forge and strip the watermark. Errors name the path.
    ///
    /// To read a key whose permissions you check some other way (a secret mounted by an
    /// orchestrator with a group-readable mode, say) use
    /// [`Key::load_dangerously_ignoring_permissions`].
    pub fn load(path: &Path) -> Result<Key, Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
        if !meta.is_file() {
            return Err(Error::key_file_at(path, "not a key file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::insecure_key_file(path, mode));
            }
        }
        Key::load_dangerously_ignoring_permissions(path)
    }

    /// Reads and parses a key file **without** the permission check of [`Key::load`]: for
    /// callers that enforce their own policy. Errors name the path.
    pub fn load_dangerously_ignoring_permissions(path: &Path) -> Result<Key, Error> {
        let text = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, &e))?);
        let text =
            std::str::from_utf8(&text).map_err(|_| Error::key_file(1, "the file is not valid UTF-8 text").at(path))?;
        Key::parse_file(text).map_err(|e| e.at(path))
    }

    /// Writes the key to a new file, readable and writable by the owner only (mode 0600 on
    /// Unix). Refuses to overwrite an existing file.
    pub fn save_new(&self, path: &Path) -> Result<(), Error> {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| Error::io(path, &e))?;
        let text = self.to_file_string();
        f.write_all(text.as_bytes()).map_err(|e| Error::io(path, &e))?;
        f.sync_all().map_err(|e| Error::io(path, &e))?;
        Ok(())
    }
}

/// A signed 64-bit integer in canonical decimal: an optional `-`, then digits without leading
/// zeros (`0` alone is zero; `-0` is refused).
fn parse_canonical_i64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let valid = !digits.is_empty()
        && digits.len() <= 19
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0";
    valid.then(|| s.parse::<i64>().ok()).flatten()
}

impl PartialEq for Key {
    /// Constant-time comparison of the key bytes (keys of different lengths differ).
    fn eq(&self, other: &Key) -> bool {
        if self.bytes.len() != other.bytes.len() {
            return false;
        }
        let mut diff = 0u8;
        for (a, b) in self.bytes.iter().zip(other.bytes.iter()) {
            diff |= a ^ b;
        }
        diff == 0 && self.kind == other.kind
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("id", &self.id()).finish_non_exhaustive()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {}", self.id())
    }
}

/// The public id of a key: 8 bytes, shown as 16 lowercase hex characters. Safe to log,
/// print and store beside reports.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// The 8 id bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(16);
        hex::push_lower(&mut s, &self.0);
        f.write_str(&s)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl std::str::FromStr for KeyId {
    type Err = Error;

    /// Parses 16 lowercase hex characters.
    fn from_str(s: &str) -> Result<KeyId, Error> {
        let mut id = [0u8; 8];
        if s.len() != 16 || hex::decode_lower(s, &mut id).is_some() {
            return Err(Error::config("a key id is 16 lowercase hex characters"));
        }
        Ok(KeyId(id))
    }
}
