//! The `wmark` command line, end to end: every command, flag, exit code and bad input, each
//! test in its own temporary directory.
//!
//! Real assets (the Llama 3 tokenizer and State of the Union speeches) come from
//! `scripts/fetch-assets`, which `scripts/test` runs first. Watermarked input is built without
//! a language model: token ids chosen greedily with `wmark_core` so that every token is green
//! (see `watermarked_ids`).

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;
use wmark_core::{Config, Key, Seeding, Watermark};

// ---------------------------------------------------------------------------------------------
// Assets

/// The asset cache, resolved exactly as the `wmark` binary resolves it.
fn cache_dir() -> PathBuf {
    wmark_lm::assets::cache_dir()
}

fn asset(rel: &str) -> PathBuf {
    let p = cache_dir().join(rel);
    assert!(p.exists(), "{} is missing: run scripts/fetch-assets first", p.display());
    p
}

fn tokenizer() -> PathBuf {
    asset("tokenizers/llama3/tokenizer.json")
}

/// A State of the Union address, e.g. `speech("1790_george_washington_n")`.
fn speech(name: &str) -> String {
    fs::read_to_string(asset(&format!("sotu/{name}.txt"))).unwrap()
}

/// The first ~2000 characters of a speech: ordinary human text of a few hundred tokens.
fn human_text() -> String {
    speech("1790_george_washington_n").chars().take(2000).collect()
}

const SPEECHES: [&str; 3] = ["1790_george_washington_n", "1791_george_washington_n", "1801_thomas_jefferson_dr"];

const VOCAB: u32 = 128_256;

// ---------------------------------------------------------------------------------------------
// Helpers

fn tmp() -> TempDir {
    tempfile::tempdir().unwrap()
}

/// `wmark` run in `dir`, with no colour settings inherited from the test's environment.
fn wmark(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("wmark").unwrap();
    c.current_dir(dir).env_remove("NO_COLOR");
    c
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// `wmark keygen --out NAME` in `dir`; returns the key's path and the printed id.
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let out = wmark(dir).args(["keygen", "--out", name]).assert().success().get_output().clone();
    let id = stdout_of(&out).trim().to_string();
    (dir.join(name), id)
}

/// `wmark keygen --out k.key --write-config wmark.toml --tokenizer <llama3>`; returns the id.
fn keygen_with_config(dir: &Path) -> String {
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
fn fixed_key(dir: &Path, name: &str, byte: u8) -> PathBuf {
    let p = dir.join(name);
    Key::from_bytes([byte; 32]).save_new(&p).unwrap();
    p
}

/// splitmix64: reproducible pseudo-random numbers without a dev-dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn id(&mut self, vocab: u32) -> u32 {
        (self.next() % u64::from(vocab)) as u32
    }
}

fn lefthash(vocab: u32) -> Config {
    Config::new(Seeding::LeftHash, 0.25, 2.0, vocab).unwrap()
}

/// `n` ids where every token after the first is green under `key` (lefthash, γ = 0.25): each
/// is the first green id at or after a pseudo-random start. Maximally watermarked.
fn watermarked_ids(key: &Path, n: usize, seed: u64) -> Vec<u32> {
    chain_ids(key, &vec![true; n.saturating_sub(1)], seed)
}

/// A random first id, then one id per entry of `green`: green or red under `key` as asked
/// (the first such id at or after a pseudo-random start). The green count is exact, whatever
/// the key, so statistics on it are deterministic.
fn chain_ids(key: &Path, green: &[bool], seed: u64) -> Vec<u32> {
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
fn random_ids(n: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng(seed);
    (0..n).map(|_| rng.id(VOCAB)).collect()
}

fn ids_json(ids: &[u32]) -> String {
    serde_json::to_string(ids).unwrap()
}

/// Every stdout line, parsed as JSON.
fn json_lines(out: &std::process::Output) -> Vec<Value> {
    stdout_of(out).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, contents).unwrap();
    p
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// `s` without ANSI escape sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
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
fn strip_tags(html: &str) -> String {
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
const ID_SCHEME: [&str; 4] = ["--key", "k.key", "--vocab-size", "128256"];

// ---------------------------------------------------------------------------------------------
// keygen

#[test]
fn keygen_writes_a_private_key_file_and_prints_only_its_id() {
    let d = tmp();
    let out = wmark(d.path()).args(["keygen", "--out", "k.key"]).assert().success().get_output().clone();
    let text = fs::read_to_string(d.path().join("k.key")).unwrap();
    let hex = text.strip_prefix("wmark-key-v1:").expect("prefix").strip_suffix('\n').expect("final newline");
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{hex}");
    #[cfg(unix)]
    assert_eq!(mode(&d.path().join("k.key")), 0o600);

    let stdout = stdout_of(&out);
    let id = stdout.strip_suffix('\n').expect("one line");
    assert_eq!(id.len(), 16, "{stdout:?}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(id, Key::load(&d.path().join("k.key")).unwrap().id().to_string());
    // The key itself is never printed, in whole or in part.
    for s in [&stdout, &stderr_of(&out)] {
        assert!(!s.contains(hex) && !s.contains(&hex[..16]) && !s.contains(&hex[48..]), "key material printed: {s}");
    }
}

#[test]
fn keygen_draws_a_new_key_every_time() {
    let d = tmp();
    let (a, id_a) = keygen(d.path(), "a.key");
    let (b, id_b) = keygen(d.path(), "b.key");
    assert_ne!(id_a, id_b);
    assert_ne!(fs::read(a).unwrap(), fs::read(b).unwrap());
}

#[test]
fn keygen_never_overwrites_a_file() {
    let d = tmp();
    let p = write(d.path(), "k.key", "precious\n");
    wmark(d.path())
        .args(["keygen", "--out", "k.key"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("k.key").and(predicate::str::contains("already exists")));
    assert_eq!(fs::read_to_string(&p).unwrap(), "precious\n");

    // Nor an existing key.
    let (k, _) = keygen(d.path(), "real.key");
    let before = fs::read(&k).unwrap();
    wmark(d.path()).args(["keygen", "--out", "real.key"]).assert().code(2);
    assert_eq!(fs::read(&k).unwrap(), before);
}

#[test]
fn keygen_derives_account_keys_deterministically() {
    let d = tmp();
    let (master, master_id) = keygen(d.path(), "master.key");
    let derive = |out: &str, account: &str| -> String {
        let o = wmark(d.path())
            .args(["keygen", "--account", account, "--master", "master.key", "--out", out])
            .assert()
            .success()
            .get_output()
            .clone();
        stdout_of(&o).trim().to_string()
    };
    let one = derive("acme-1.key", "acme");
    let two = derive("acme-2.key", "acme");
    let other = derive("globex.key", "globex");
    assert_eq!(one, two, "same master and account, same key");
    assert_eq!(fs::read(d.path().join("acme-1.key")).unwrap(), fs::read(d.path().join("acme-2.key")).unwrap());
    assert_ne!(one, other);
    assert_ne!(one, master_id);
    #[cfg(unix)]
    assert_eq!(mode(&d.path().join("acme-1.key")), 0o600);
    // The CLI derives exactly what the library derives.
    assert_eq!(one, Key::load(&master).unwrap().derive_account("acme").id().to_string());
}

#[test]
fn keygen_account_and_master_go_together() {
    let d = tmp();
    let _ = keygen(d.path(), "master.key");
    wmark(d.path())
        .args(["keygen", "--out", "a.key", "--account", "acme"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--master"));
    wmark(d.path())
        .args(["keygen", "--out", "a.key", "--master", "master.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--account"));
    assert!(!d.path().join("a.key").exists());
}

#[test]
fn keygen_refuses_a_master_key_readable_by_others() {
    let d = tmp();
    let (master, _) = keygen(d.path(), "master.key");
    chmod(&master, 0o640);
    wmark(d.path())
        .args(["keygen", "--out", "a.key", "--account", "acme", "--master", "master.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("chmod 600"));
    assert!(!d.path().join("a.key").exists());
}

#[test]
fn keygen_write_config_pins_key_id_scheme_and_tokenizer() {
    let d = tmp();
    let id = keygen_with_config(d.path());
    let text = fs::read_to_string(d.path().join("wmark.toml")).unwrap();
    let cfg: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(cfg["version"].as_integer(), Some(1));
    assert_eq!(cfg["key_id"].as_str(), Some(id.as_str()));
    assert_eq!(cfg["scheme"].as_str(), Some("lefthash"));
    assert_eq!(cfg["gamma"].as_float(), Some(0.25));
    assert_eq!(cfg["vocab_size"].as_integer(), Some(i64::from(VOCAB)));
    let tok_path = PathBuf::from(cfg["tokenizer"].as_str().expect("tokenizer path"));
    assert_eq!(fs::canonicalize(&tok_path).unwrap(), fs::canonicalize(tokenizer()).unwrap());
    let sha = wmark_detect::TextTokenizer::from_file(&tokenizer()).unwrap().sha256().to_string();
    assert_eq!(cfg["tokenizer_sha256"].as_str(), Some(sha.as_str()));
    // Public: no key material in it.
    let key_hex = fs::read_to_string(d.path().join("k.key")).unwrap()["wmark-key-v1:".len()..].trim().to_string();
    assert!(!text.contains(&key_hex));
}

#[test]
fn keygen_write_config_with_flags_records_them() {
    let d = tmp();
    wmark(d.path())
        .args(["keygen", "--out", "k.key", "--write-config", "c.toml"])
        .args(["--scheme", "selfhash:4", "--gamma", "0.5", "--delta", "3", "--vocab-size", "500"])
        .assert()
        .success();
    let cfg: toml::Table = toml::from_str(&fs::read_to_string(d.path().join("c.toml")).unwrap()).unwrap();
    assert_eq!(cfg["scheme"].as_str(), Some("selfhash:4"));
    assert_eq!(cfg["gamma"].as_float(), Some(0.5));
    assert_eq!(cfg["delta"].as_float(), Some(3.0));
    assert_eq!(cfg["vocab_size"].as_integer(), Some(500));
    assert!(!cfg.contains_key("tokenizer") && !cfg.contains_key("tokenizer_sha256"));
    // The config is usable as written.
    wmark(d.path())
        .args(["inspect", "--config", "c.toml", "--key", "k.key", "--context", "3,4,5", "--count"])
        .assert()
        .success();
}

#[test]
fn keygen_never_overwrites_a_config_and_then_writes_no_key() {
    let d = tmp();
    let cfg = write(d.path(), "wmark.toml", "# mine\n");
    wmark(d.path())
        .args(["keygen", "--out", "k.key", "--write-config", "wmark.toml", "--tokenizer"])
        .arg(tokenizer())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wmark.toml").and(predicate::str::contains("already exists")));
    assert_eq!(fs::read_to_string(cfg).unwrap(), "# mine\n");
    assert!(!d.path().join("k.key").exists(), "no key without its config");
}

#[test]
fn keygen_write_config_validates_the_scheme_before_writing_anything() {
    let d = tmp();
    let empty_cache = tmp();
    for bad in [
        &["--scheme", "bogus", "--vocab-size", "100"][..],
        &["--gamma", "0", "--vocab-size", "100"],
        &["--gamma", "1.5", "--vocab-size", "100"],
        &["--scheme", "window:0", "--vocab-size", "100"],
        &[], // no vocabulary size, and no tokenizer to take it from
    ] {
        wmark(d.path())
            .env("WMARK_CACHE_DIR", empty_cache.path()) // no default tokenizer either
            .args(["keygen", "--out", "k.key", "--write-config", "c.toml"])
            .args(bad)
            .assert()
            .code(2)
            .stderr(predicate::str::is_empty().not());
        assert!(!d.path().join("k.key").exists() && !d.path().join("c.toml").exists(), "{bad:?}");
    }
}

/// BUG (src/settings.rs, `SchemeArgs::resolve`, the arm
/// `Some(p) if need_tokenizer || self.vocab_size.is_none() && file.is_none()` (line 71 at
/// fa49366); reached from src/commands.rs:32): `keygen --write-config` resolves the scheme with
/// `need_tokenizer = false`, and `resolve` only loads the tokenizer when no `--vocab-size` is
/// given. So `--tokenizer T --vocab-size N` writes a config that names the
/// tokenizer but pins no `tokenizer_sha256` (detection then accepts any tokenizer at that
/// path), and a vocab size smaller than the tokenizer is accepted, producing a config every
/// later `detect` refuses with "vocab size mismatch". It should load and pin the tokenizer
/// whenever one is given, and reject the mismatch at keygen time.
#[test]
fn keygen_write_config_pins_the_tokenizer_even_with_vocab_size() {
    let d = tmp();
    wmark(d.path())
        .args(["keygen", "--out", "k.key", "--write-config", "c.toml", "--vocab-size", "128256", "--tokenizer"])
        .arg(tokenizer())
        .assert()
        .success();
    let cfg: toml::Table = toml::from_str(&fs::read_to_string(d.path().join("c.toml")).unwrap()).unwrap();
    assert!(cfg.contains_key("tokenizer_sha256"), "config names a tokenizer but does not pin it: {cfg:?}");

    wmark(d.path())
        .args(["keygen", "--out", "k2.key", "--write-config", "c2.toml", "--vocab-size", "1000", "--tokenizer"])
        .arg(tokenizer())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vocab size mismatch"));
}

/// BUG (src/commands.rs:59): keygen prints the id with `println!`, which panics when stdout
/// is closed ("failed printing to stdout: Broken pipe", exit 101 and a backtrace), although
/// main.rs documents that a closed output pipe is not an error. It should write with
/// `writeln!(stdout, ..)?` like the other commands, so main maps it to exit 0.
#[test]
fn keygen_with_a_closed_stdout_is_not_an_error() {
    let d = tmp();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("wmark"))
        .current_dir(d.path())
        .args(["keygen", "--out", "k.key"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert!(d.path().join("k.key").exists());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// BUG (src/commands.rs:55, with the check at :26): the config is written with
/// `std::fs::write`, which truncates whatever is there, after the key was written. With
/// `--out same --write-config same` both "already exists" checks pass, the key is written,
/// then overwritten by the config: exit 0, the id is printed, and the secret key is gone for
/// good. (The same `exists()` check also lets the config be written through a dangling
/// symlink.) The config should be created with `create_new(true)` like the key (and the two
/// paths compared up front), so this is refused and the key survives.
#[test]
fn keygen_never_overwrites_its_own_key_with_the_config() {
    let d = tmp();
    let out = wmark(d.path())
        .args(["keygen", "--out", "same", "--write-config", "same", "--vocab-size", "1000"])
        .output()
        .unwrap();
    let path = d.path().join("same");
    if path.exists() {
        assert!(Key::load(&path).is_ok(), "the key file now holds: {}", fs::read_to_string(&path).unwrap());
    }
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

// ---------------------------------------------------------------------------------------------
// detect: exit codes and inputs

#[test]
fn detect_exits_0_when_some_input_is_watermarked_1_when_none() {
    let d = tmp();
    let (key, id) = keygen(d.path(), "k.key");
    write(d.path(), "wm.ids", ids_json(&watermarked_ids(&key, 60, 1)) + "\n");
    write(d.path(), "plain.ids", ids_json(&random_ids(60, 2)) + "\n");

    let out =
        wmark(d.path()).args(["detect", "--ids"]).args(ID_SCHEME).arg("wm.ids").assert().code(0).get_output().clone();
    let line = stdout_of(&out);
    assert!(line.starts_with("wm.ids:1: watermarked "), "{line}");
    assert!(line.contains("green=59/59") && line.contains(&format!("key={id}")), "{line}");

    let out = wmark(d.path())
        .args(["detect", "--ids"])
        .args(ID_SCHEME)
        .arg("plain.ids")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(stdout_of(&out).starts_with("plain.ids:1: not_watermarked "), "{}", stdout_of(&out));

    // At least one is enough, in either order.
    wmark(d.path()).args(["detect", "--ids"]).args(ID_SCHEME).args(["plain.ids", "wm.ids"]).assert().code(0);
    wmark(d.path()).args(["detect", "--ids"]).args(ID_SCHEME).args(["wm.ids", "plain.ids"]).assert().code(0);
    // Too short to decide: insufficient, exit 1.
    write(d.path(), "short.ids", "[5,6]\n");
    wmark(d.path())
        .args(["detect", "--ids"])
        .args(ID_SCHEME)
        .arg("short.ids")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("insufficient"));
}

#[test]
fn detect_text_file_with_the_config_written_by_keygen() {
    let d = tmp();
    let id = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let s = stdout_of(&out);
    assert_eq!(s.lines().count(), 1, "{s}");
    assert!(s.starts_with("speech.txt: not_watermarked p="), "{s}");
    assert!(s.contains(&format!("key={id}")), "{s}");
    // Several files: one line each, in order.
    write(d.path(), "other.txt", speech(SPEECHES[2]).chars().take(1500).collect::<String>());
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt", "other.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let sources: Vec<String> = stdout_of(&out).lines().map(|l| l.split(": ").next().unwrap().to_string()).collect();
    assert_eq!(sources, ["speech.txt", "other.txt"]);
}

#[test]
fn detect_reads_standard_input_with_dash_or_without_files() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    for args in [&["-"][..], &[]] {
        wmark(d.path())
            .args(["detect", "--config", "wmark.toml", "--key", "k.key"])
            .args(args)
            .write_stdin(human_text())
            .assert()
            .code(1)
            .stdout(predicate::str::starts_with("-: not_watermarked"));
    }
    // Token ids on stdin, one document per line.
    let key = d.path().join("k.key");
    let input = format!("{}\n{}\n", ids_json(&random_ids(80, 3)), ids_json(&watermarked_ids(&key, 80, 4)));
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--ids"])
        .write_stdin(input)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let s = stdout_of(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 2, "{s}");
    assert!(lines[0].starts_with("-:1: not_watermarked"), "{s}");
    assert!(lines[1].starts_with("-:2: watermarked"), "{s}");
}

#[test]
fn detect_jsonl_text_field_uses_the_configs_tokenizer() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let mut jsonl = String::new();
    for (i, name) in SPEECHES.iter().enumerate() {
        let text: String = speech(name).chars().take(1200).collect();
        jsonl.push_str(&serde_json::json!({"n": i, "text": text}).to_string());
        jsonl.push('\n');
    }
    jsonl.push('\n'); // blank lines are skipped
    write(d.path(), "docs.jsonl", &jsonl);
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "--json", "docs.jsonl"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let reports = json_lines(&out);
    let sources: Vec<&str> = reports.iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["docs.jsonl:1", "docs.jsonl:2", "docs.jsonl:3"]);
    for r in &reports {
        assert!(r["tokens"].as_u64().unwrap() > 150, "{r}");
        assert_eq!(r["verdict"], "not_watermarked", "{r}");
    }
}

#[test]
fn detect_ids_lines_and_jsonl_ids_field() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let wm = watermarked_ids(&key, 70, 5);
    let plain = random_ids(70, 6);
    write(d.path(), "docs.ids", format!("{}\n{}\n", ids_json(&plain), ids_json(&wm)));
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("docs.ids")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = json_lines(&out);
    assert_eq!((r[0]["source"].as_str(), r[0]["verdict"].as_str()), (Some("docs.ids:1"), Some("not_watermarked")));
    assert_eq!((r[1]["source"].as_str(), r[1]["verdict"].as_str()), (Some("docs.ids:2"), Some("watermarked")));
    assert_eq!(r[1]["tokens"], 70);

    let jsonl = format!(
        "{}\n{}\n",
        serde_json::json!({"id": "a", "ids": wm, "text": "ignored"}),
        serde_json::json!({"id": "b", "ids": plain})
    );
    write(d.path(), "docs.jsonl", jsonl);
    let out = wmark(d.path())
        .args(["detect", "--jsonl", "ids", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("docs.jsonl")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = json_lines(&out);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0]["source"].as_str(), r[0]["verdict"].as_str()), (Some("docs.jsonl:1"), Some("watermarked")));
    assert_eq!((r[1]["source"].as_str(), r[1]["verdict"].as_str()), (Some("docs.jsonl:2"), Some("not_watermarked")));
}

#[test]
fn detect_bad_lines_name_file_and_line_and_the_other_lines_are_still_reported() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let wm = watermarked_ids(&key, 60, 7);
    let good = |ids: &[u32]| serde_json::json!({ "ids": ids }).to_string();
    let lines = [
        good(&random_ids(60, 8)),                  // 1
        "not json".to_string(),                    // 2
        r#"{"other": [1, 2, 3]}"#.to_string(),     // 3 missing field
        r#"{"ids": [1, 2.5, 3]}"#.to_string(),     // 4 non-integer id
        r#"{"ids": [1, -2, 3]}"#.to_string(),      // 5 negative id
        r#"{"ids": [1, 4294967296]}"#.to_string(), // 6 id beyond u32
        r#"{"ids": "1 2 3"}"#.to_string(),         // 7 not an array
        r#"[1, 2, 3]"#.to_string(),                // 8 not an object
        r#"{"ids": [1, 128256, 3]}"#.to_string(),  // 9 outside the vocabulary
        good(&wm),                                 // 10
    ];
    write(d.path(), "docs.jsonl", lines.join("\n") + "\n");
    let out = wmark(d.path())
        .args(["detect", "--jsonl", "ids", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("docs.jsonl")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = stderr_of(&out);
    for n in 2..=9 {
        assert!(stderr.contains(&format!("docs.jsonl:{n}: ")), "line {n} not named:\n{stderr}");
    }
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    assert!(stderr.contains("no field \"ids\""), "{stderr}");
    assert!(stderr.contains("2.5 is not a token id"), "{stderr}");
    assert!(stderr.contains("-2 is not a token id"), "{stderr}");
    assert!(stderr.contains("outside the watermark's vocabulary of 128256"), "{stderr}");
    assert_eq!(stderr.lines().count(), 8, "{stderr}");
    // No data lost: both good lines are reported, the watermark is found, and yet the exit
    // code says something went wrong.
    let r = json_lines(&out);
    let got: Vec<(&str, &str)> =
        r.iter().map(|r| (r["source"].as_str().unwrap(), r["verdict"].as_str().unwrap())).collect();
    assert_eq!(got, [("docs.jsonl:1", "not_watermarked"), ("docs.jsonl:10", "watermarked")]);

    // The same for plain id lines.
    write(d.path(), "docs.ids", format!("[1,\"x\"]\n{}\n", ids_json(&wm)));
    wmark(d.path())
        .args(["detect", "--ids"])
        .args(ID_SCHEME)
        .arg("docs.ids")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("docs.ids:2: watermarked"))
        .stderr(predicate::str::contains("docs.ids:1: ").and(predicate::str::contains("\"x\" is not a token id")));
}

#[test]
fn detect_jsonl_text_with_a_wrong_type_names_the_line() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "docs.jsonl", "{\"text\": 5}\n{\"text\": \"A short but fine document.\"}\n");
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "docs.jsonl"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("docs.jsonl:2: "))
        .stderr(predicate::str::contains("docs.jsonl:1: expected a string, found a number"));
}

#[test]
fn detect_non_utf8_input_is_a_clear_error() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "latin1.txt", b"caf\xe9 cr\xe8me br\xfbl\xe9e\n");
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "latin1.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("latin1.txt: not UTF-8 text"));
    // In JSON Lines, the bad line is named and the next lines are still read.
    let mut jsonl = b"{\"text\": \"caf\xe9\"}\n".to_vec();
    jsonl.extend_from_slice(b"{\"text\": \"The second line is fine.\"}\n");
    write(d.path(), "docs.jsonl", jsonl);
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "docs.jsonl"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("docs.jsonl:2: "))
        .stderr(predicate::str::contains("docs.jsonl:1: not UTF-8 text"));
}

#[test]
fn detect_missing_file_or_directory_is_exit_2_naming_it() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    fs::create_dir(d.path().join("adir")).unwrap();
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "nope.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.txt").and(predicate::str::contains("No such file")));
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "adir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("adir: is a directory"));
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--ids", "adir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("adir: is a directory"));
    // The readable file next to the missing one is still reported.
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "nope.txt", "speech.txt"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("speech.txt: not_watermarked"))
        .stderr(predicate::str::contains("nope.txt"));
}

// ---------------------------------------------------------------------------------------------
// detect: flags

#[test]
fn detect_json_has_every_report_field() {
    let d = tmp();
    let id = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--json", "speech.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let reports = json_lines(&out);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    for field in [
        "schema_version",
        "scheme",
        "key_id",
        "gamma_effective",
        "tokens",
        "scored",
        "green",
        "p_value",
        "log10_p",
        "z",
        "alpha",
        "verdict",
        "dedup",
        "normalized",
        "spans",
        "source",
    ] {
        assert!(r.get(field).is_some(), "missing {field}: {r}");
    }
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["scheme"], "lefthash");
    assert_eq!(r["key_id"], id.as_str());
    assert_eq!(r["gamma_effective"], 0.25);
    assert_eq!(r["alpha"], 1e-6);
    assert_eq!(r["verdict"], "not_watermarked");
    assert_eq!(r["dedup"], "tuple");
    assert_eq!(r["normalized"], false);
    assert_eq!(r["spans"], serde_json::json!([]));
    assert_eq!(r["source"], "speech.txt");
    assert!(r.get("token_flags").is_none() && r.get("keys").is_none(), "{r}");
    let (tokens, scored, green) =
        (r["tokens"].as_u64().unwrap(), r["scored"].as_u64().unwrap(), r["green"].as_u64().unwrap());
    assert!(green <= scored && scored < tokens && tokens > 300, "{r}");
    let log10_p = r["log10_p"].as_f64().unwrap();
    assert!(log10_p <= 0.0);
    assert!((r["p_value"].as_f64().unwrap() - 10f64.powf(log10_p)).abs() < 1e-9);
    assert!(r["z"].is_f64());
}

#[test]
fn detect_dedup_modes_and_bad_values() {
    let d = tmp();
    // A fixed key: with a random one, the repeated pattern below is green-heavy often enough
    // (about 7% of keys) that `--dedup none` calls it watermarked, which is the very false
    // positive dedup exists for, but not what this test is about.
    fixed_key(d.path(), "k.key", 0x21);
    // A short pattern repeated: the same (context, token) pairs over and over.
    let pattern = random_ids(7, 9);
    let ids: Vec<u32> = pattern.iter().copied().cycle().take(140).collect();
    write(d.path(), "rep.ids", ids_json(&ids) + "\n");
    let scored = |mode: &str| -> u64 {
        let out = wmark(d.path())
            .args(["detect", "--ids", "--json", "--dedup", mode])
            .args(ID_SCHEME)
            .arg("rep.ids")
            .assert()
            .code(1)
            .get_output()
            .clone();
        let r = &json_lines(&out)[0];
        assert_eq!(r["dedup"], mode);
        r["scored"].as_u64().unwrap()
    };
    let (none, window, tuple) = (scored("none"), scored("window"), scored("tuple"));
    assert_eq!(none, 139);
    assert!(tuple <= window && window <= none, "tuple {tuple} window {window} none {none}");
    assert!(tuple < none / 4, "tuple dedup should drop most of a repeated pattern: {tuple} of {none}");
    // The default is tuple.
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("rep.ids")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(json_lines(&out)[0]["dedup"], "tuple");

    for bad in ["bogus", "", "TUPLE"] {
        wmark(d.path())
            .args(["detect", "--ids", "--dedup", bad])
            .args(ID_SCHEME)
            .arg("rep.ids")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--dedup"));
    }
}

#[test]
fn detect_alpha_must_be_strictly_between_0_and_1() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    // Moderately watermarked, exactly: 18 of 30 scored tokens green, p = P(Bin(30, 1/4) >= 18)
    // = 10^-4.3; 30 tokens are enough for α = 1e-12 (not "insufficient").
    let pattern: Vec<bool> = (0..30).map(|i| i % 5 < 3).collect();
    let ids = chain_ids(&key, &pattern, 10);
    write(d.path(), "doc.ids", ids_json(&ids) + "\n");
    for bad in ["0", "1", "-1", "abc", "NaN", "1e-400", "2"] {
        wmark(d.path())
            .args(["detect", "--ids"])
            .arg(format!("--alpha={bad}"))
            .args(ID_SCHEME)
            .arg("doc.ids")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--alpha"));
    }
    let run = |alpha: &str| -> Value {
        let out = wmark(d.path())
            .args(["detect", "--ids", "--json", "--alpha", alpha])
            .args(ID_SCHEME)
            .arg("doc.ids")
            .assert()
            .get_output()
            .clone();
        json_lines(&out).remove(0)
    };
    let loose = run("0.01");
    let strict = run("1e-12");
    assert_eq!(loose["alpha"], 0.01);
    assert_eq!(strict["alpha"], 1e-12);
    assert_eq!(loose["log10_p"], strict["log10_p"], "alpha changes the verdict, not the p-value");
    let log10_p = loose["log10_p"].as_f64().unwrap();
    assert_eq!((loose["scored"].as_u64(), loose["green"].as_u64()), (Some(30), Some(18)));
    assert!(log10_p < -2.0 && log10_p > -12.0, "test input should be between the levels: {log10_p}");
    assert_eq!(loose["verdict"], "watermarked");
    assert_eq!(strict["verdict"], "not_watermarked");
}

#[test]
fn detect_windows_finds_the_pasted_span() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let mut ids = random_ids(200, 12);
    ids.extend(watermarked_ids(&key, 60, 13));
    ids.extend(random_ids(200, 14));
    write(d.path(), "doc.ids", ids_json(&ids) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json", "--windows"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    let spans = r["spans"].as_array().expect("spans");
    assert!(!spans.is_empty(), "{r}");
    let (a, b) = (spans[0]["token_start"].as_u64().unwrap(), spans[0]["token_end"].as_u64().unwrap());
    assert!(a < 230 && b > 230 && a >= 150 && b <= 310, "span {a}..{b} should cover the watermarked tokens 200..260");
    assert!(spans[0]["log10_p_corrected"].as_f64().unwrap() < -10.0, "{r}");
    // Without --windows there is no span; the text summary shows it.
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .get_output()
        .clone();
    assert_eq!(json_lines(&out)[0]["spans"], serde_json::json!([]));
    wmark(d.path())
        .args(["detect", "--ids", "--windows"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .stdout(predicate::str::contains(" span=tokens["));
}

#[test]
fn detect_highlight_without_a_terminal_brackets_green_tokens() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let key = d.path().join("k.key");
    let text = human_text();
    write(d.path(), "speech.txt", &text);
    for no_color in [None, Some("1")] {
        let mut cmd = wmark(d.path());
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd
            .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--highlight", "speech.txt"])
            .assert()
            .code(1)
            .get_output()
            .clone();
        let s = stdout_of(&out);
        assert!(!s.contains('\x1b'), "ANSI escapes without a terminal: {s:?}");
        let (summary, body) = s.split_once('\n').unwrap();
        assert!(summary.starts_with("speech.txt: not_watermarked"), "{summary}");
        let green: u64 = summary.split("green=").nth(1).unwrap().split('/').next().unwrap().parse().unwrap();
        let brackets = body.matches('[').count() as u64;
        assert_eq!(brackets, body.matches(']').count() as u64);
        // Every scored green token is bracketed (tokens without context or repeats may be
        // green too, but are not counted in green=).
        assert!(brackets >= green && green > 0, "{brackets} brackets, green={green}");
        // Nothing else changes: without the brackets it is the text.
        assert_eq!(body.replace(['[', ']'], "").trim_end_matches('\n'), text.trim_end_matches('\n'));
    }
    // Token ids: green ids in brackets.
    let wm = watermarked_ids(&key, 20, 15);
    write(d.path(), "doc.ids", ids_json(&wm) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--ids", "--highlight", "doc.ids"])
        .assert()
        .get_output()
        .clone();
    let s = stdout_of(&out);
    let body = s.lines().nth(1).unwrap();
    assert!(body.starts_with(&format!("{} [{} ]", wm[0], wm[1])), "{body}");
    assert_eq!(body.matches('[').count(), 19, "{body}");
}

/// Colours on a terminal, none with NO_COLOR: runs wmark under `script(1)` for a pseudo-tty.
#[test]
fn detect_highlight_on_a_terminal_uses_colours_unless_no_color() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) not found: skipping the terminal half of the highlight test");
        return;
    }
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    let bin = assert_cmd::cargo::cargo_bin("wmark");
    let cmdline = format!("'{}' detect --config wmark.toml --key k.key --highlight speech.txt", bin.display());
    let run = |no_color: Option<&str>| -> String {
        let mut c = std::process::Command::new("script");
        c.current_dir(d.path()).args(["-qec", &cmdline, "/dev/null"]).env_remove("NO_COLOR").stdin(Stdio::null());
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tty = run(None);
    assert!(tty.contains("\x1b[1;32m") && tty.contains("\x1b[31m"), "no colours on a terminal: {tty:?}");
    // Colours replace the brackets.
    let text_line = strip_ansi(tty.lines().nth(1).unwrap_or(""));
    assert!(text_line.starts_with("Fellow-Citizens") && !text_line.contains('['), "{text_line:?}");
    let plain = run(Some("1"));
    assert!(plain.contains("speech.txt: not_watermarked"), "{plain:?}");
    assert!(!plain.contains('\x1b') && plain.contains('['), "NO_COLOR=1 on a terminal: {plain:?}");
    // NO_COLOR only counts when non-empty (no-color.org).
    assert!(run(Some("")).contains("\x1b[1;32m"));
}

#[test]
fn detect_highlight_and_json_conflict() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "doc.ids", "[1,2,3]\n");
    wmark(d.path())
        .args(["detect", "--ids", "--json", "--highlight"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn detect_html_writes_an_escaped_page() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let text = format!("{}\n<script>alert(\"x & y\")</script> it's over.\n", human_text());
    write(d.path(), "speech.txt", &text);
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--html", "out.html", "speech.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrote out.html"))
        .get_output()
        .clone();
    let summary = stdout_of(&out);
    let p = summary.split(" p=").nth(1).unwrap().split(' ').next().unwrap();
    let html = fs::read_to_string(d.path().join("out.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<html"), "{}", &html[..100]);
    assert!(html.contains(p), "p-value {p} not in the page");
    assert!(html.contains("not_watermarked") && html.contains("speech.txt"));
    assert!(!html.contains("<script"), "unescaped text in the page");
    assert!(html.contains("&lt;") && html.contains("&gt;") && html.contains("&quot;") && html.contains("&amp;"));
    // The text is on the page (split into token spans), and green tokens are marked.
    assert!(strip_tags(&html).contains("Fellow-Citizens of the Senate and House"));
    assert!(html.contains("<span class=\"g\">") && html.contains("<span class=\"r\">"));
    // With --json as well: one JSON line on stdout, the page still written.
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--json", "--html", "two.html", "speech.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(json_lines(&out).len(), 1);
    assert!(d.path().join("two.html").exists());
    // An unwritable destination is an error.
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--html", "no/such/dir/x.html", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir/x.html"));
}

#[test]
fn detect_keys_dir_finds_the_account_key() {
    let d = tmp();
    let _ = keygen(d.path(), "master.key");
    fs::create_dir(d.path().join("accounts")).unwrap();
    let mut ids_of = Vec::new();
    for account in ["acme", "globex", "initech"] {
        let out = wmark(d.path())
            .args(["keygen", "--master", "master.key", "--account", account, "--out"])
            .arg(format!("accounts/{account}.key"))
            .assert()
            .success()
            .get_output()
            .clone();
        ids_of.push(stdout_of(&out).trim().to_string());
    }
    write(d.path(), "accounts/README.txt", "not a key; ignored\n");
    let wm = watermarked_ids(&d.path().join("accounts/globex.key"), 60, 16);
    write(d.path(), "doc.ids", ids_json(&wm) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json", "--keys", "accounts", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["key_id"], ids_of[1].as_str(), "{r}");
    assert_eq!(r["verdict"], "watermarked");
    let keys = r["keys"].as_array().expect("keys with several keys");
    let listed: Vec<&str> = keys.iter().map(|k| k["key_id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids_of.iter().map(String::as_str).collect::<Vec<_>>(), "keys in sorted file order");

    // An empty directory, or one without *.key files, is an error.
    fs::create_dir(d.path().join("empty")).unwrap();
    wmark(d.path())
        .args(["detect", "--ids", "--keys", "empty", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no *.key files"));
    fs::create_dir(d.path().join("other")).unwrap();
    write(d.path(), "other/key.txt", "x");
    wmark(d.path()).args(["detect", "--ids", "--keys", "other", "--vocab-size", "128256", "doc.ids"]).assert().code(2);
    wmark(d.path())
        .args(["detect", "--ids", "--keys", "missing-dir", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing-dir"));
}

#[test]
fn detect_with_key_repeated_tests_every_key() {
    let d = tmp();
    let (_, id_a) = keygen(d.path(), "a.key");
    let (b, id_b) = keygen(d.path(), "b.key");
    write(d.path(), "doc.ids", ids_json(&watermarked_ids(&b, 60, 17)) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json", "--key", "a.key", "--key", "b.key", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["key_id"], id_b.as_str());
    let listed: Vec<&str> = r["keys"].as_array().unwrap().iter().map(|k| k["key_id"].as_str().unwrap()).collect();
    assert_eq!(listed, [id_a.as_str(), id_b.as_str()]);
    // Only the wrong key: not watermarked.
    wmark(d.path())
        .args(["detect", "--ids", "--key", "a.key", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("key={id_a}")));
}

#[test]
fn detect_without_a_key_is_an_error() {
    let d = tmp();
    write(d.path(), "doc.ids", "[1,2,3]\n");
    wmark(d.path())
        .args(["detect", "--ids", "--vocab-size", "1000", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no key given"));
    wmark(d.path())
        .args(["detect", "--ids", "--key", "nope.key", "--vocab-size", "1000", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.key"));
}

// ---------------------------------------------------------------------------------------------
// Keys and configuration are checked before anything is read

#[test]
fn a_key_readable_by_others_is_refused() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    chmod(&d.path().join("k.key"), 0o644);
    for cmd in [
        &["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"][..],
        &["inspect", "--config", "wmark.toml", "--key", "k.key", "--context", "1", "--count"],
        &["calibrate", "--config", "wmark.toml", "--key", "k.key", "speech.txt"],
    ] {
        wmark(d.path())
            .args(cmd)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("chmod 600").and(predicate::str::contains("0644")));
    }
    chmod(&d.path().join("k.key"), 0o600);
    wmark(d.path()).args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"]).assert().code(1);
}

#[test]
fn a_key_other_than_the_configs_is_refused_naming_both_ids() {
    let d = tmp();
    let config_id = keygen_with_config(d.path());
    let (_, other_id) = keygen(d.path(), "other.key");
    write(d.path(), "speech.txt", human_text());
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "other.key", "speech.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("key id mismatch")
                .and(predicate::str::contains(&config_id))
                .and(predicate::str::contains(&other_id)),
        );
    wmark(d.path())
        .args(["inspect", "--config", "wmark.toml", "--key", "other.key", "--context", "1", "--count"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("key id mismatch"));
}

#[test]
fn a_tokenizer_other_than_the_pinned_one_is_refused() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    // The same tokenizer with whitespace appended: loads fine, but is not the pinned file.
    let mut bytes = fs::read(tokenizer()).unwrap();
    bytes.extend_from_slice(b"\n ");
    write(d.path(), "changed.json", &bytes);
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--tokenizer", "changed.json", "speech.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("tokenizer mismatch").and(predicate::str::contains("changed.json")));
    // And when the config itself names the changed file.
    let cfg = fs::read_to_string(d.path().join("wmark.toml")).unwrap();
    let mut table: toml::Table = toml::from_str(&cfg).unwrap();
    table.insert("tokenizer".into(), toml::Value::String("changed.json".into()));
    write(d.path(), "changed.toml", toml::to_string(&table).unwrap());
    wmark(d.path())
        .args(["detect", "--config", "changed.toml", "--key", "k.key", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tokenizer mismatch").and(predicate::str::contains("changed.toml")));
}

#[test]
fn a_relative_tokenizer_path_in_a_config_is_relative_to_the_config() {
    let d = tmp();
    let id = keygen_with_config(d.path());
    fs::create_dir(d.path().join("conf")).unwrap();
    fs::copy(tokenizer(), d.path().join("conf/tok.json")).unwrap();
    let cfg = fs::read_to_string(d.path().join("wmark.toml")).unwrap();
    let mut table: toml::Table = toml::from_str(&cfg).unwrap();
    table.insert("tokenizer".into(), toml::Value::String("tok.json".into()));
    write(d.path(), "conf/wmark.toml", toml::to_string(&table).unwrap());
    write(d.path(), "speech.txt", human_text());
    wmark(d.path())
        .args(["detect", "--config", "conf/wmark.toml", "--key", "k.key", "speech.txt"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("key={id}")));
}

#[test]
fn a_vocab_size_smaller_than_the_tokenizer_is_refused() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "speech.txt", human_text());
    wmark(d.path())
        .args(["detect", "--key", "k.key", "--vocab-size", "1000", "--tokenizer"])
        .arg(tokenizer())
        .arg("speech.txt")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vocab size mismatch").and(predicate::str::contains("128256")));
    // Larger is fine: models often pad the logits row.
    wmark(d.path())
        .args(["detect", "--key", "k.key", "--vocab-size", "128512", "--tokenizer"])
        .arg(tokenizer())
        .arg("speech.txt")
        .assert()
        .code(1);
}

#[test]
fn a_malformed_key_file_is_refused_naming_the_line_without_echoing_it() {
    let d = tmp();
    let secretish = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
    for (name, contents) in [
        ("empty.key", String::new()),
        ("short.key", "wmark-key-v1:abcd\n".to_string()),
        ("upper.key", format!("wmark-key-v1:{secretish}\n")),
        ("prefix.key", format!("wmark-key-v2:{}\n", "a".repeat(64))),
        ("nonl.key", format!("wmark-key-v1:{}", "a".repeat(64))),
        ("crlf.key", format!("wmark-key-v1:{}\r\n", "a".repeat(64))),
        ("two.key", format!("wmark-key-v1:{}\nmore\n", "a".repeat(64))),
    ] {
        let p = write(d.path(), name, contents);
        chmod(&p, 0o600);
        let out = wmark(d.path())
            .args(["detect", "--ids", "--key", name, "--vocab-size", "1000"])
            .write_stdin("[1,2,3]\n")
            .assert()
            .code(2)
            .stdout("")
            .get_output()
            .clone();
        let err = stderr_of(&out);
        assert!(err.contains(name) && err.contains("line"), "{name}: {err}");
        assert!(!err.contains(secretish) && !err.contains("aaaaaaaa"), "{name} echoed: {err}");
    }
    // A directory is not a key file.
    fs::create_dir(d.path().join("dir.key")).unwrap();
    wmark(d.path())
        .args(["detect", "--ids", "--key", "dir.key", "--vocab-size", "1000"])
        .write_stdin("[1,2,3]\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a key file"));
}

#[test]
fn a_malformed_config_is_refused_naming_the_file() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "doc.ids", "[1,2,3]\n");
    let valid = "version = 1\nscheme = \"lefthash\"\ngamma = 0.25\ndelta = 2.0\nvocab_size = 1000\n";
    for (name, text, what) in [
        ("syntax.toml", "version = 1\nscheme = \n".to_string(), ""),
        ("missing.toml", "version = 1\n".to_string(), "missing field"),
        ("unknown.toml", format!("{valid}colour = \"green\"\n"), "unknown field"),
        ("version.toml", valid.replace("version = 1", "version = 2"), "unsupported config version 2"),
        ("scheme.toml", valid.replace("lefthash", "lefthash:2"), "lefthash:2"),
        ("gamma.toml", valid.replace("0.25", "1.25"), "gamma"),
    ] {
        write(d.path(), name, text);
        wmark(d.path())
            .args(["detect", "--ids", "--config", name, "--key", "k.key", "doc.ids"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(what));
        if what.is_empty() || what.contains("field") || what.contains("version") {
            wmark(d.path())
                .args(["detect", "--ids", "--config", name, "--key", "k.key", "doc.ids"])
                .assert()
                .stderr(predicate::str::contains(name));
        }
    }
    wmark(d.path())
        .args(["detect", "--ids", "--config", "absent.toml", "--key", "k.key", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("absent.toml"));
    // The config fixes the scheme: scheme flags next to it are a usage error.
    write(d.path(), "good.toml", valid);
    wmark(d.path())
        .args(["detect", "--ids", "--config", "good.toml", "--vocab-size", "2000", "--key", "k.key", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    wmark(d.path()).args(["detect", "--ids", "--config", "good.toml", "--key", "k.key", "doc.ids"]).assert().code(1);
}

/// BUG (minor, src/config_file.rs:43): a TOML syntax error is reported with `e.message()`
/// only, which drops the line and column that `toml` knows (and is itself two lines long,
/// against fail.rs's "one-line message"). In a hand-edited wmark.toml the user cannot tell
/// where the error is. It should name `file:line` (from `e.span()`) like detect names input
/// lines.
#[test]
fn a_config_syntax_error_names_the_line() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "bad.toml", "version = 1\nscheme = \"lefthash\"\ngamma = 0.25\ndelta = \nvocab_size = 1000\n");
    let out = wmark(d.path())
        .args(["inspect", "--config", "bad.toml", "--key", "k.key", "--context", "1"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr_of(&out);
    assert!(err.contains("bad.toml:4") || err.contains("line 4"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn text_input_without_a_tokenizer_is_refused_with_a_hint() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "speech.txt", human_text());
    // No --tokenizer, no --config, and nothing in the asset cache that could serve as a
    // default tokenizer: a usage error that says what to give.
    let empty_cache = tmp();
    for extra in [&[][..], &["--vocab-size", "128256"]] {
        let out = wmark(d.path())
            .env("WMARK_CACHE_DIR", empty_cache.path())
            .args(["detect", "--key", "k.key"])
            .args(extra)
            .arg("speech.txt")
            .assert()
            .code(2)
            .stdout("")
            .get_output()
            .clone();
        let err = stderr_of(&out);
        assert!(err.contains("--tokenizer") || err.contains("fetch-assets"), "no hint: {err}");
    }
    // A config without a tokenizer is not enough for text either.
    wmark(d.path())
        .args(["keygen", "--out", "k2.key", "--write-config", "c.toml", "--vocab-size", "128256"])
        .assert()
        .success();
    wmark(d.path())
        .args(["detect", "--config", "c.toml", "--key", "k2.key", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a tokenizer"));
    // A broken tokenizer file names itself.
    write(d.path(), "broken.json", "{\"not\": \"a tokenizer\"}");
    wmark(d.path())
        .args(["detect", "--key", "k.key", "--tokenizer", "broken.json", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.json"));
}

// ---------------------------------------------------------------------------------------------
// inspect

fn inspect_list(dir: &Path, args: &[&str]) -> Vec<u32> {
    let out = wmark(dir).arg("inspect").args(args).assert().success().get_output().clone();
    stdout_of(&out).lines().map(|l| l.parse().unwrap_or_else(|_| panic!("not an id: {l:?}"))).collect()
}

fn inspect_count(dir: &Path, args: &[&str]) -> usize {
    let out = wmark(dir).arg("inspect").args(args).arg("--count").assert().success().get_output().clone();
    stdout_of(&out).trim().parse().unwrap()
}

#[test]
fn inspect_count_is_about_a_quarter_of_the_vocabulary() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    for ctx in ["0", "791", "128255"] {
        let n = inspect_count(d.path(), &["--key", "k.key", "--vocab-size", "128256", "--context", ctx]);
        // 0.25·V = 32064; the standard deviation is about 155.
        assert!((31_000..33_100).contains(&n), "context {ctx}: {n} green");
    }
    // A different γ scales it.
    let n =
        inspect_count(d.path(), &["--key", "k.key", "--vocab-size", "128256", "--gamma", "0.5", "--context", "791"]);
    assert!((63_000..65_300).contains(&n), "{n}");
}

#[test]
fn inspect_lists_sorted_unique_ids_that_agree_with_the_library() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let args = ["--key", "k.key", "--vocab-size", "128256", "--context", "17,791"];
    let list = inspect_list(d.path(), &args);
    assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    assert!(list.iter().all(|&t| t < VOCAB));
    assert_eq!(list.len(), inspect_count(d.path(), &args));
    // lefthash uses the last context id only.
    let wm = Watermark::new(&Key::load(&key).unwrap(), lefthash(VOCAB));
    let expected: Vec<u32> = wm.mask(&[791]).unwrap().iter().collect();
    assert_eq!(list, expected);
}

#[test]
fn inspect_token_agrees_with_the_list() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    let base = ["--key", "k.key", "--vocab-size", "128256", "--context", "791"];
    let list = inspect_list(d.path(), &base);
    let green: std::collections::HashSet<u32> = list.iter().copied().collect();
    let red: Vec<u32> = (0..VOCAB).filter(|t| !green.contains(t)).take(3).collect();
    for (t, want) in list.iter().take(3).map(|&t| (t, "green")).chain(red.iter().map(|&t| (t, "red"))) {
        let out = wmark(d.path())
            .arg("inspect")
            .args(base)
            .args(["--token", &t.to_string()])
            .assert()
            .success()
            .get_output()
            .clone();
        let s = stdout_of(&out);
        assert!(s.starts_with(&format!("token {t}: {want} (stream byte ")), "{s}");
        assert!(s.contains("green below 64"), "{s}");
        let seed = s.lines().nth(1).unwrap().strip_prefix("seed ").unwrap();
        assert_eq!(seed.len(), 64);
    }
    // An id outside the vocabulary is answered, with a note.
    wmark(d.path())
        .arg("inspect")
        .args(base)
        .args(["--token", "200000"])
        .assert()
        .success()
        .stdout(predicate::str::contains("outside the vocabulary of 128256"));
    wmark(d.path()).arg("inspect").args(base).args(["--token", "x"]).assert().code(2);
    wmark(d.path()).arg("inspect").args(base).args(["--token", "5", "--count"]).assert().code(2);
}

#[test]
fn inspect_bad_context_is_exit_2() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    let run = |scheme: &str, ctx: &str| {
        wmark(d.path())
            .args(["inspect", "--key", "k.key", "--vocab-size", "1000", "--scheme", scheme, "--context", ctx])
            .assert()
    };
    run("lefthash", "").code(2).stderr(predicate::str::contains("needs 1 context token"));
    run("window:3", "1,2").code(2).stderr(predicate::str::contains("needs 3 context token"));
    run("lefthash", "1,x").code(2).stderr(predicate::str::contains("\"x\" is not a token id"));
    run("lefthash", "-1").code(2).stderr(predicate::str::contains("\"-1\" is not a token id"));
    run("lefthash", "4294967296").code(2).stderr(predicate::str::contains("not a token id"));
    run("bogus", "1").code(2).stderr(predicate::str::contains("unknown seeding rule"));
    // Separators: commas, spaces or both.
    run("window:3", "1, 2 3").success();
    // unigram needs no context at all.
    run("unigram", "").success();
    // exactly one key
    let _ = keygen(d.path(), "k2.key");
    wmark(d.path())
        .args(["inspect", "--key", "k.key", "--key", "k2.key", "--vocab-size", "1000", "--context", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exactly one key"));
    wmark(d.path())
        .args(["inspect", "--vocab-size", "1000", "--context", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no key given"));
}

#[test]
fn inspect_selfhash_lists_per_candidate_membership() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    let base = ["--key", "k.key", "--scheme", "selfhash:2", "--vocab-size", "500", "--context", "7"];
    let list = inspect_list(d.path(), &base);
    assert!(list.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(list.len(), inspect_count(d.path(), &base));
    assert!((85..170).contains(&list.len()), "{} of 500 green", list.len());
    for t in [0u32, 1, 2, 3, 4, 250, 499] {
        let out = wmark(d.path())
            .arg("inspect")
            .args(base)
            .args(["--token", &t.to_string()])
            .assert()
            .success()
            .get_output()
            .clone();
        let want = if list.contains(&t) { "green" } else { "red" };
        assert!(stdout_of(&out).starts_with(&format!("token {t}: {want} ")), "{}", stdout_of(&out));
    }
    // selfhash:2 needs one context token.
    wmark(d.path())
        .args(["inspect", "--key", "k.key", "--scheme", "selfhash:2", "--vocab-size", "500", "--context", ""])
        .assert()
        .code(2);
}

#[test]
fn inspect_with_the_config_written_by_keygen() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let n = inspect_count(d.path(), &["--config", "wmark.toml", "--key", "k.key", "--context", "791"]);
    let m = inspect_count(d.path(), &["--key", "k.key", "--vocab-size", "128256", "--context", "791"]);
    assert_eq!(n, m);
}

// ---------------------------------------------------------------------------------------------
// calibrate

fn copy_speeches(dir: &Path, names: &[&str]) -> PathBuf {
    let corpus = dir.join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    for n in names {
        fs::copy(asset(&format!("sotu/{n}.txt")), corpus.join(format!("{n}.txt"))).unwrap();
    }
    corpus
}

#[test]
fn calibrate_a_directory_of_speeches() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    copy_speeches(d.path(), &SPEECHES);
    write(d.path(), "corpus/.hidden", "skipped");
    let out = wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "corpus"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let s = stdout_of(&out);
    assert!(s.starts_with("3 documents; false positives"), "{s}");
    assert!(s.contains("α=1e-1") && s.contains("400+"), "{s}");
    assert!(s.contains("within the nominal rate") || s.contains("more false positives"), "{s}");

    let out = wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "--json", "corpus"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    assert_eq!(v["documents"], 3);
    let buckets = v["buckets"].as_array().unwrap();
    assert!(!buckets.is_empty());
    let docs: u64 = buckets.iter().map(|b| b["docs"].as_u64().unwrap()).sum();
    assert_eq!(docs + v["too_short"].as_u64().unwrap(), 3);
    let levels = buckets[0]["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 4);
    for l in levels {
        for f in ["alpha", "false_positives", "false_positives_without_dedup", "expected", "exceeds_nominal"] {
            assert!(l.get(f).is_some(), "{f} missing: {l}");
        }
    }
}

#[test]
fn calibrate_jsonl() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let mut jsonl = String::new();
    for name in SPEECHES {
        let text: String = speech(name).chars().take(3000).collect();
        jsonl.push_str(&serde_json::json!({"name": name, "text": text}).to_string());
        jsonl.push('\n');
    }
    jsonl.push_str("{\"text\": \"Too short.\"}\n");
    write(d.path(), "corpus.jsonl", jsonl);
    wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "corpus.jsonl"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("4 documents; "));
    let out = wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "--json", "corpus.jsonl"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    assert_eq!(v["documents"], 4);
    assert!(v["buckets"].is_array());
    // A bad line is named, the rest is still tallied, and the exit code says so.
    fs::write(
        d.path().join("bad.jsonl"),
        format!("not json\n{}", fs::read_to_string(d.path().join("corpus.jsonl")).unwrap()),
    )
    .unwrap();
    wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "bad.jsonl"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("4 documents; "))
        .stderr(predicate::str::contains("bad.jsonl:1: not valid JSON"));
}

#[test]
fn calibrate_token_ids() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    let input: String = (0..20u64).map(|i| ids_json(&random_ids(120, 200 + i)) + "\n").collect();
    write(d.path(), "corpus.ids", input);
    let out = wmark(d.path())
        .args(["calibrate", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("corpus.ids")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    assert_eq!(v["documents"], 20);
    assert_eq!(v["buckets"][0]["scored_min"], 100, "{v}");
    assert_eq!(v["buckets"][0]["docs"], 20, "{v}");
}

#[test]
fn calibrate_warns_about_a_repetitive_corpus() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    fs::create_dir(d.path().join("corpus")).unwrap();
    write(
        d.path(),
        "corpus/template.txt",
        "Thank you for contacting customer support, we will reply within two days. ".repeat(30),
    );
    let out = wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "corpus"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let s = stdout_of(&out);
    assert!(s.contains("repetitive") && s.contains("corpus/template.txt"), "{s}");
    let out = wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "--json", "corpus"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    assert_eq!(v["repetitive_documents"], 1);
}

#[test]
fn calibrate_warns_about_a_document_that_only_looks_watermarked_without_dedup() {
    let d = tmp();
    let key = fixed_key(d.path(), "k.key", 0x33);
    // 100 red tokens, then a pair (x, y) that is green both ways, repeated 40 times: less than
    // half the tokens repeat, but without dedup 80 of ~180 are green.
    let mut ids = chain_ids(&key, &[false; 100], 20);
    let wm = Watermark::new(&Key::load(&key).unwrap(), lefthash(VOCAB));
    let mut rng = Rng(21);
    let (x, y) = loop {
        let (x, y) = (rng.id(VOCAB), rng.id(VOCAB));
        if wm.is_green(&[x], y).unwrap() && wm.is_green(&[y], x).unwrap() {
            break (x, y);
        }
    };
    for _ in 0..40 {
        ids.extend([x, y]);
    }
    write(d.path(), "corpus.ids", ids_json(&ids) + "\n");
    let out = wmark(d.path())
        .args(["calibrate", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("corpus.ids")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    assert_eq!(v["repetitive_documents"], 1, "{v}");
    let level = &v["buckets"][0]["levels"][3]; // α = 1e-4
    assert_eq!(
        (level["false_positives"].as_u64(), level["false_positives_without_dedup"].as_u64()),
        (Some(0), Some(1))
    );
    wmark(d.path())
        .args(["calibrate", "--ids"])
        .args(ID_SCHEME)
        .arg("corpus.ids")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("warning: 1 document(s) are templated or repetitive"));
}

/// Regression test for a bug fixed in fa49366 (src/calibration.rs): a document was called
/// "templated or repetitive" when tuple dedup dropped more than 20% of its tokens. With
/// lefthash a tuple is a bigram, and in ordinary prose the share of repeated bigrams grows
/// with length: the warning fired on 208 of the 233 State of the Union addresses, and on 2 of
/// these 3. A fixed key keeps the new "looks watermarked only without dedup" criterion, which
/// depends on the key, deterministic.
#[test]
fn calibrate_does_not_call_ordinary_speeches_repetitive() {
    let d = tmp();
    fixed_key(d.path(), "k.key", 0x5a);
    copy_speeches(d.path(), &["1790_george_washington_n", "1791_george_washington_n", "1792_george_washington_n"]);
    let out = wmark(d.path())
        .args(["calibrate", "--key", "k.key", "--json", "--tokenizer"])
        .arg(tokenizer())
        .arg("corpus")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    assert_eq!(v["documents"], 3);
    assert_eq!(v["repetitive_documents"], 0, "{v}");
}

#[test]
fn calibrate_needs_a_corpus() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    fs::create_dir(d.path().join("empty")).unwrap();
    wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "empty"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no corpus files"));
    wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("CORPUS"));
    wmark(d.path())
        .args(["calibrate", "--config", "wmark.toml", "--key", "k.key", "absent"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("absent"));
}

// ---------------------------------------------------------------------------------------------
// bench

#[test]
fn bench_json_lines() {
    let d = tmp();
    let out = wmark(d.path()).args(["bench", "--seconds", "0.5", "--json"]).assert().success().get_output().clone();
    let lines = json_lines(&out);
    assert!(lines.len() > 10, "{} lines", lines.len());
    for l in &lines {
        for f in ["op", "scheme", "vocab", "batch", "mode", "median_ns", "ratio_to_memory_pass"] {
            assert!(l.get(f).is_some(), "{f} missing: {l}");
        }
        assert!(l["median_ns"].as_u64().unwrap() > 0, "{l}");
        assert!(l["ratio_to_memory_pass"].as_f64().unwrap() > 0.0, "{l}");
    }
    let memory: Vec<&Value> = lines.iter().filter(|l| l["op"] == "memory_pass").collect();
    assert!(!memory.is_empty());
    for m in memory {
        assert!(m["scheme"].is_null() && m["ratio_to_memory_pass"] == 1.0, "{m}");
    }
    assert!(lines.iter().any(|l| l["op"] == "processor_step" && l["scheme"] == "lefthash" && l["vocab"] == 128_256));
}

#[test]
fn bench_table() {
    let d = tmp();
    let out = wmark(d.path()).args(["bench", "--seconds", "0.5"]).assert().success().get_output().clone();
    let s = stdout_of(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].starts_with("wmark ") && lines[0].contains("processor speed"), "{s}");
    assert!(lines.iter().any(|l| l.starts_with("scheme ") && l.contains("ratio")), "{s}");
    assert!(lines.iter().any(|l| l.starts_with("lefthash ") && l.contains("exact-cold")), "{s}");
    assert!(lines.last().unwrap().starts_with("measured in "), "{s}");
}

#[test]
fn bench_seconds_out_of_range_is_exit_2() {
    let d = tmp();
    for bad in ["0", "0.1", "601", "abc", "-1"] {
        wmark(d.path())
            .args(["bench", "--json"])
            .arg(format!("--seconds={bad}"))
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--seconds"));
    }
}

// ---------------------------------------------------------------------------------------------
// Pipes, help, usage

/// Reads one line of a long output, closes the pipe, and expects a quiet exit 0.
fn assert_quiet_on_closed_pipe(dir: &Path, args: &[&str], stdin: Option<String>) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wmark"))
        .current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = w.write_all(input.as_bytes());
        });
    }
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(!first.is_empty());
    drop(reader);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("Broken pipe") && !stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    // About 250,000 lines: far more than a pipe buffers.
    assert_quiet_on_closed_pipe(
        d.path(),
        &["inspect", "--key", "k.key", "--vocab-size", "1000000", "--context", "1"],
        None,
    );
    // detect, over many documents.
    let input: String = (0..3000u64).map(|i| ids_json(&random_ids(30, 100 + i)) + "\n").collect();
    assert_quiet_on_closed_pipe(
        d.path(),
        &["detect", "--ids", "--key", "k.key", "--vocab-size", "128256"],
        Some(input),
    );
}

#[test]
fn help_version_and_usage_errors() {
    let d = tmp();
    wmark(d.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("keygen").and(predicate::str::contains("detect")));
    for cmd in ["keygen", "detect", "inspect", "calibrate", "bench"] {
        wmark(d.path()).args([cmd, "--help"]).assert().success().stdout(predicate::str::contains("Usage: wmark"));
    }
    wmark(d.path()).args(["detect", "--help"]).assert().success().stdout(
        predicate::str::contains("--dedup")
            .and(predicate::str::contains("--alpha"))
            .and(predicate::str::contains("--jsonl")),
    );
    wmark(d.path()).arg("--version").assert().success().stdout(predicate::str::starts_with("wmark "));
    wmark(d.path()).arg("frobnicate").assert().code(2).stderr(predicate::str::contains("unrecognized subcommand"));
    wmark(d.path()).assert().code(2).stderr(predicate::str::contains("Usage"));
    wmark(d.path()).args(["detect", "--no-such-flag"]).assert().code(2);
    wmark(d.path()).args(["keygen"]).assert().code(2).stderr(predicate::str::contains("--out"));
}

#[test]
fn keygen_refuses_an_empty_or_padded_account_id() {
    let d = tempfile::tempdir().unwrap();
    let master = d.path().join("m.key");
    Command::cargo_bin("wmark").unwrap().arg("keygen").arg("--out").arg(&master).assert().success();
    for account in ["", " ", " acme", "acme "] {
        let out = d.path().join("a.key");
        Command::cargo_bin("wmark")
            .unwrap()
            .args(["keygen", "--account", account, "--master"])
            .arg(&master)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--account"));
        assert!(!out.exists());
    }
}

#[test]
fn radioactive_finds_inherited_green_bias_and_respects_prompts() {
    let d = tmp();
    let k = fixed_key(d.path(), "k.key", 0x3c);
    // "Answers" that are 60% green, as a student of watermarked text might be, against
    // random answers; the ids JSONL carries them in an "ids" field.
    let student: Vec<String> = (0..40)
        .map(|i| {
            let pattern: Vec<bool> = (0..50).map(|j| (j * 7 + i) % 10 < 6).collect();
            serde_json::json!({ "ids": chain_ids(&k, &pattern, 1000 + i as u64) }).to_string()
        })
        .collect();
    let control: Vec<String> = (0..40).map(|i| serde_json::json!({ "ids": random_ids(51, 2000 + i) }).to_string()).collect();
    write(d.path(), "student.jsonl", student.join("\n") + "\n");
    write(d.path(), "control.jsonl", control.join("\n") + "\n");
    let run = |answers: &str, extra: &[&str]| {
        wmark(d.path())
            .args(["radioactive", "--answers", answers, "--jsonl", "ids", "--ids", "--json"])
            .args(ID_SCHEME)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run("student.jsonl", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let r = &json_lines(&out)[0];
    assert_eq!(r["verdict"], "radioactive");
    assert!(r["log10_p"].as_f64().unwrap() < -6.0, "{r}");
    assert_eq!(r["answers"], 40);

    let out = run("control.jsonl", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(json_lines(&out)[0]["verdict"], "not_radioactive");

    // The same student answers given as prompts: every context is excluded, nothing scored.
    let out = run("student.jsonl", &["--prompts", "student.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out)[0];
    assert_eq!(r["scored"], 0);
    assert_eq!(r["verdict"], "insufficient");

    // The text form, and bad input.
    let out = wmark(d.path()).args(["radioactive", "--answers", "student.jsonl", "--jsonl", "ids", "--ids"]).args(ID_SCHEME).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout_of(&out).contains("radioactive p="), "{}", stdout_of(&out));
    write(d.path(), "bad.jsonl", "{\"ids\": [1, 2, \"x\"]}\n");
    let out = run("bad.jsonl", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("bad.jsonl:1"), "{}", stderr_of(&out));
    let out = run("missing.jsonl", &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn keygen_write_config_with_the_default_tokenizer_pins_it_and_detect_uses_it() {
    // No --tokenizer, no --vocab-size: the shared default (SmolLM2's tokenizer, built from the
    // GGUF in the asset cache) is written into the config, path and hash, and detect reads it.
    asset("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let d = tmp();
    wmark(d.path()).env("WMARK_CACHE_DIR", cache_dir()).args(["keygen", "--out", "k.key", "--write-config", "wmark.toml"]).assert().success();
    let cfg = fs::read_to_string(d.path().join("wmark.toml")).unwrap();
    assert!(cfg.contains("vocab_size = 49152"), "{cfg}");
    assert!(cfg.contains("tokenizer = ") && cfg.contains("tokenizer_sha256 = "), "{cfg}");
    write(d.path(), "speech.txt", human_text());
    let out = wmark(d.path()).env("WMARK_CACHE_DIR", cache_dir()).args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("not_watermarked"), "{}", stdout_of(&out));
}
