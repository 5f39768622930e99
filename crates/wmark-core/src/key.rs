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

/// A 256-bit watermark secret.
///
/// The bytes are wiped from memory when the key is dropped, and neither `Debug` nor `Display`
/// shows them: both show the public [`KeyId`] only.
#[derive(Clone)]
pub struct Key {
    bytes: [u8; 32],
}

impl Drop for Key {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl Key {
    /// Draws a fresh key from the operating system's random source.
    pub fn generate() -> Result<Key, Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::random(e.to_string()))?;
        Ok(Key { bytes })
    }

    /// Wraps 32 bytes the caller already holds (a key from a vault, a test vector).
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key { bytes }
    }

    /// The secret bytes, for code that must hand them to another implementation (a test
    /// vector, a hardware module). Anyone who reads them can forge and strip the watermark;
    /// anything that copies them should wipe its copy. The library itself never needs this.
    pub fn dangerous_expose_secret_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The public identifier: the first 8 bytes of
    /// `SHA-256("wmark.v1" 0x00 "keyid" 0x00 key)`.
    pub fn id(&self) -> KeyId {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(b"keyid\x00");
        h.update(self.bytes);
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
    pub fn derive_account(&self, account: &str) -> Key {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes).expect("HMAC accepts keys of any length");
        mac.update(DOMAIN);
        mac.update(b"account\x00");
        mac.update(account.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&out);
        Key { bytes }
    }

    /// The key file contents: `wmark-key-v1:` + 64 lowercase hex characters + `\n`.
    /// The returned string is wiped when dropped.
    pub fn to_file_string(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(KEY_FILE_PREFIX.len() + 65));
        s.push_str(KEY_FILE_PREFIX);
        hex::push_lower(&mut s, &self.bytes);
        s.push('\n');
        s
    }

    /// Parses key file contents. Anything but exactly one line of the form
    /// `wmark-key-v1:<64 lowercase hex>` followed by a newline is rejected; the error names
    /// the line and what was expected and never repeats the file's contents.
    pub fn parse_file(text: &str) -> Result<Key, Error> {
        const EXPECTED: &str = "expected `wmark-key-v1:` followed by 64 lowercase hex characters and a newline";
        if text.is_empty() {
            return Err(Error::key_file(1, format!("the file is empty; {EXPECTED}")));
        }
        let (first, rest) = match text.find('\n') {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let Some(body) = first.strip_prefix(KEY_FILE_PREFIX) else {
            return Err(Error::key_file(1, format!("does not start with `{KEY_FILE_PREFIX}`; {EXPECTED}")));
        };
        if body.ends_with('\r') {
            return Err(Error::key_file(1, "ends with a carriage return (Windows line ending); use a single `\\n`"));
        }
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
        let key = Key { bytes };
        bytes.zeroize();
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

impl PartialEq for Key {
    /// Constant-time comparison of the key bytes.
    fn eq(&self, other: &Key) -> bool {
        let mut diff = 0u8;
        for (a, b) in self.bytes.iter().zip(other.bytes.iter()) {
            diff |= a ^ b;
        }
        diff == 0
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
