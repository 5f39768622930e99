//! The accounts file of `wmark serve`: who may call the API, and under which name.
//!
//! ```toml
//! [[account]]
//! name = "acme"
//! api_key_sha256 = "<64 hex digits: SHA-256 of the bearer token>"
//!
//! [[detector]]            # may call /v1/watermark/detect only
//! name = "trust-and-safety"
//! api_key_sha256 = "..."
//! ```
//!
//! Bearer tokens are never stored, only their SHA-256. Each account's watermark key is
//! derived from the master key and the account's name ([`wmark_core::Key::derive_account`]),
//! so renaming an account changes its key.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What a bearer token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Chat completions, watermarked with the account's key.
    Account,
    /// The detection endpoint only.
    Detector,
}

/// One caller: a name and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// Index among the accounts (for `Role::Account`).
    pub index: usize,
}

/// The parsed accounts file.
#[derive(Clone, Debug)]
pub struct Accounts {
    /// Account names, in file order.
    pub names: Vec<String>,
    by_token: HashMap<[u8; 32], Caller>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    account: Vec<Entry>,
    #[serde(default)]
    detector: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    api_key_sha256: String,
}

/// SHA-256 of a bearer token, as the accounts file stores it.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Accounts {
    /// Reads and checks an accounts file.
    pub fn load(path: &Path) -> Result<Accounts, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Accounts::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses an accounts file's text: at least one `[[account]]`; names non-empty and
    /// unique; every `api_key_sha256` 64 hex digits and used once.
    pub fn parse(text: &str) -> Result<Accounts, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
        if file.account.is_empty() {
            return Err("no [[account]] table: a server needs at least one account".into());
        }
        let mut names = Vec::new();
        let mut seen_names = HashSet::new();
        let mut by_token = HashMap::new();
        let entries =
            file.account.iter().map(|e| (e, Role::Account)).chain(file.detector.iter().map(|e| (e, Role::Detector)));
        for (entry, role) in entries {
            let name = entry.name.trim();
            if name.is_empty() || name.chars().any(|c| c.is_control()) {
                return Err(format!("account name {:?} is empty or has control characters", entry.name));
            }
            if !seen_names.insert(name.to_string()) {
                return Err(format!("the name {name:?} is used twice"));
            }
            let hash = parse_hex32(&entry.api_key_sha256).ok_or_else(|| {
                format!("{name}: api_key_sha256 must be 64 hex digits (the SHA-256 of the bearer token)")
            })?;
            let index = match role {
                Role::Account => {
                    names.push(name.to_string());
                    names.len() - 1
                }
                Role::Detector => usize::MAX,
            };
            if by_token.insert(hash, Caller { name: name.to_string(), role, index }).is_some() {
                return Err(format!("{name}: this api_key_sha256 is already another entry's"));
            }
        }
        Ok(Accounts { names, by_token })
    }

    /// The caller a bearer token belongs to.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.by_token.get(&token_hash(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(token: &str) -> String {
        token_hash(token).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn accounts_and_detectors_are_found_by_token() {
        let text = format!(
            "[[account]]\nname = \"a\"\napi_key_sha256 = \"{}\"\n[[account]]\nname = \"b\"\napi_key_sha256 = \"{}\"\n\
             [[detector]]\nname = \"d\"\napi_key_sha256 = \"{}\"\n",
            hex("ta"),
            hex("tb"),
            hex("td")
        );
        let acc = Accounts::parse(&text).unwrap();
        assert_eq!(acc.names, ["a", "b"]);
        assert_eq!(acc.caller("tb"), Some(&Caller { name: "b".into(), role: Role::Account, index: 1 }));
        assert_eq!(acc.caller("td").unwrap().role, Role::Detector);
        assert!(acc.caller("tc").is_none());
        assert!(acc.caller("").is_none());
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let h = hex("x");
        let cases = [
            ("", "no [[account]]"),
            (&format!("[[account]]\nname = \"a\"\napi_key_sha256 = \"{h}\"\nextra = 1\n") as &str, "unknown field"),
            ("[[account]]\nname = \"a\"\napi_key_sha256 = \"abc\"\n", "64 hex digits"),
            (&format!("[[account]]\nname = \" \"\napi_key_sha256 = \"{h}\"\n"), "empty"),
            (
                &format!("[[account]]\nname = \"a\"\napi_key_sha256 = \"{h}\"\n[[account]]\nname = \"a\"\napi_key_sha256 = \"{}\"\n", hex("y")),
                "used twice",
            ),
            (
                &format!("[[account]]\nname = \"a\"\napi_key_sha256 = \"{h}\"\n[[detector]]\nname = \"b\"\napi_key_sha256 = \"{h}\"\n"),
                "already",
            ),
        ];
        for (text, want) in cases {
            let err = Accounts::parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
