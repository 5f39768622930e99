//! Shared helpers of the command-line tests (`tests/cli_*.rs`): assets, a temporary
//! directory per test, keys, watermarked and random id sequences, output parsing.
//!
//! Real assets (the Llama 3 tokenizer and State of the Union speeches) come from
//! `scripts/fetch-assets`, which `scripts/test` runs first. Watermarked input is built without
//! a language model: token ids chosen greedily with `wmark_core` so that every token is green
//! (see `watermarked_ids`).
#![allow(dead_code, unused_imports)]

pub use std::fs;
pub use std::io::{BufRead, BufReader, Read};
pub use std::path::{Path, PathBuf};
pub use std::process::Stdio;

pub use assert_cmd::Command;
pub use predicates::prelude::*;
pub use serde_json::Value;
pub use tempfile::TempDir;
pub use wmark_core::{Config, Key, Seeding, Watermark};

// ---------------------------------------------------------------------------------------------
// Assets

/// The asset cache, resolved exactly as the `wmark` binary resolves it.
pub fn cache_dir() -> PathBuf {
    wmark_lm::assets::cache_dir()
}

pub fn asset(rel: &str) -> PathBuf {
    let p = cache_dir().join(rel);
    assert!(p.exists(), "{} is missing: run scripts/fetch-assets first", p.display());
    p
}

pub fn tokenizer() -> PathBuf {
    asset("tokenizers/llama3/tokenizer.json")
}

/// A State of the Union address, e.g. `speech("1790_george_washington_n")`.
pub fn speech(name: &str) -> String {
    fs::read_to_string(asset(&format!("sotu/{name}.txt"))).unwrap()
}

/// The first ~2000 characters of a speech: ordinary human text of a few hundred tokens.
pub fn human_text() -> String {
    speech("1790_george_washington_n").chars().take(2000).collect()
}

pub const SPEECHES: [&str; 3] = ["1790_george_washington_n", "1791_george_washington_n", "1801_thomas_jefferson_dr"];

pub const VOCAB: u32 = 128_256;

// ---------------------------------------------------------------------------------------------
// Helpers

pub fn tmp() -> TempDir {
    tempfile::tempdir().unwrap()
}

/// `wmark` run in `dir`, with no colour settings inherited from the test's environment.
pub fn wmark(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("wmark").unwrap();
    c.current_dir(dir).env_remove("NO_COLOR");
    c
}

pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// `wmark keygen --out NAME` in `dir`; returns the key's path and the printed id.
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let out = wmark(dir).args(["keygen", "--out", name]).assert().success().get_output().clone();
    let id = stdout_of(&out).trim().to_string();
    (dir.join(name), id)
}

/// `wmark keygen --out k.key --write-config wmark.toml --tokenizer <llama3>`; returns the id.
pub fn keygen_with_config(dir: &Path) -> String {
    let out = wmark(dir)
        .args(["keygen", "--out", "k.key", "--write-config", "wmark.toml", "--tokenizer"])
        .arg(tokenizer())
        .assert()
        .success()
        .get_output()
        .clone();
    stdout_of(&out).trim().to_string()
}

/// A key file with every byte `byte` (mode 0600): for tests whose outcome must not depend on
/// a random key.
pub fn fixed_key(dir: &Path, name: &str, byte: u8) -> PathBuf {
    let p = dir.join(name);
    Key::from_bytes([byte; 32]).save_new(&p).unwrap();
    p
}

/// splitmix64: reproducible pseudo-random numbers without a dev-dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn id(&mut self, vocab: u32) -> u32 {
        (self.next() % u64::from(vocab)) as u32
    }
}

pub fn lefthash(vocab: u32) -> Config {
    Config::new(Seeding::LeftHash, 0.25, 2.0, vocab).unwrap()
}

/// `n` ids where every token after the first is green under `key` (lefthash, γ = 0.25): each
/// is the first green id at or after a pseudo-random start. Maximally watermarked.
pub fn watermarked_ids(key: &Path, n: usize, seed: u64) -> Vec<u32> {
    chain_ids(key, &vec![true; n.saturating_sub(1)], seed)
}

/// A random first id, then one id per entry of `green`: green or red under `key` as asked
/// (the first such id at or after a pseudo-random start). The green count is exact, whatever
/// the key, so statistics on it are deterministic.
pub fn chain_ids(key: &Path, green: &[bool], seed: u64) -> Vec<u32> {
    let key = Key::load(key).unwrap();
    let wm = Watermark::new(&key, lefthash(VOCAB));
    let mut rng = Rng(seed);
    let mut ids = vec![rng.id(VOCAB)];
    for &want in green {
        let prev = *ids.last().unwrap();
        let mut t = rng.id(VOCAB);
        while wm.is_green(&[prev], t).unwrap() != want {
            t = (t + 1) % VOCAB;
        }
        ids.push(t);
    }
    ids
}

/// `n` pseudo-random ids: not watermarked.
pub fn random_ids(n: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng(seed);
    (0..n).map(|_| rng.id(VOCAB)).collect()
}

pub fn ids_json(ids: &[u32]) -> String {
    serde_json::to_string(ids).unwrap()
}

/// Every stdout line, parsed as JSON.
pub fn json_lines(out: &std::process::Output) -> Vec<Value> {
    stdout_of(out).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, contents).unwrap();
    p
}

#[cfg(unix)]
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// `s` without ANSI escape sequences (`ESC [ ... m`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `html` without its tags.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `--key k.key --vocab-size 128256`: the lefthash γ=0.25 scheme of `watermarked_ids`.
pub const ID_SCHEME: [&str; 4] = ["--key", "k.key", "--vocab-size", "128256"];
