//! Value-stability tests: scheme v1 against the golden vectors in
//! `fixtures/vectors/prf-v1.toml` (written by an independent Python implementation,
//! `scripts/gen-prf-vectors.py`). If one of these fails, the green lists changed and every
//! watermark issued so far would stop being detected: fix the code, never the vectors.

use serde::Deserialize;
use wmark_core::{Config, Key, Seed, Seeding, Watermark};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
    tokhash: Vec<TokHash>,
    stream: Vec<Stream>,
    keyid: Vec<KeyIdCase>,
    account: Vec<Account>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyIdCase {
    key: String,
    key_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Account {
    master: String,
    account: String,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    key: String,
    scheme: String,
    gamma: f64,
    vocab_size: u32,
    context: Vec<u32>,
    tokens: Vec<u32>,
    green: Vec<bool>,
    seed: String,
    stream_prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokHash {
    key: String,
    token: u32,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stream {
    name: String,
    seed: String,
    offset: u64,
    bytes: String,
}

fn load() -> File {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/prf-v1.toml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0);
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn key32(s: &str) -> [u8; 32] {
    unhex(s).try_into().expect("32-byte hex")
}

#[test]
fn every_case_matches() {
    let file = load();
    assert!(file.case.len() >= 24, "the vector file must hold at least 24 cases");
    for case in &file.case {
        let seeding: Seeding = case.scheme.parse().unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(seeding.to_string(), case.scheme, "{}: scheme string is canonical", case.name);
        let config = Config::new(seeding, case.gamma, 2.0, case.vocab_size).unwrap();
        let wm = Watermark::new(&Key::from_bytes(key32(&case.key)), config);
        assert_eq!(case.tokens.len(), case.green.len(), "{}", case.name);

        // The seed: of the context, or of the first probed candidate for selfhash.
        let seed = wm.candidate_seed(&case.context, case.tokens[0]).unwrap();
        assert_eq!(seed.0.to_vec(), unhex(&case.seed), "{}: seed", case.name);
        let mut prefix = [0u8; 64];
        seed.stream().fill(&mut prefix);
        assert_eq!(prefix.to_vec(), unhex(&case.stream_prefix), "{}: stream prefix", case.name);

        // Membership, one token at a time.
        for (&t, &green) in case.tokens.iter().zip(&case.green) {
            assert_eq!(wm.is_green(&case.context, t).unwrap(), green, "{}: token {t}", case.name);
        }

        // The expanded mask agrees on every probed id (rules with one list per context).
        if !seeding.depends_on_candidate() {
            let mask = wm.mask(&case.context).unwrap();
            for (&t, &green) in case.tokens.iter().zip(&case.green) {
                assert_eq!(mask.contains(t), green, "{}: mask, token {t}", case.name);
            }
        }
    }
}

#[test]
fn token_hashes_match() {
    let file = load();
    assert!(!file.tokhash.is_empty());
    for v in &file.tokhash {
        let wm =
            Watermark::new(&Key::from_bytes(key32(&v.key)), Config::new(Seeding::MinHash(1), 0.25, 2.0, 1).unwrap());
        let expected = u64::from_str_radix(&v.value, 16).unwrap();
        assert_eq!(wm.token_hash(v.token), expected, "token {}", v.token);
    }
}

#[test]
fn stream_bytes_match_at_offsets() {
    let file = load();
    assert!(!file.stream.is_empty());
    for v in &file.stream {
        let seed = Seed(key32(&v.seed));
        let expected = unhex(&v.bytes);
        // byte by byte, in O(1) each
        for (i, &b) in expected.iter().enumerate() {
            assert_eq!(seed.byte_at((v.offset + i as u64) as u32), b, "{}: byte {i}", v.name);
        }
        // by seeking to the enclosing word and streaming
        let start = v.offset / 4 * 4;
        let skip = (v.offset - start) as usize;
        let mut stream = seed.stream();
        stream.seek(start);
        let mut buf = vec![0u8; skip + expected.len() + 4];
        stream.fill(&mut buf);
        assert_eq!(&buf[skip..skip + expected.len()], &expected[..], "{}", v.name);
    }
}

#[test]
fn key_ids_and_account_keys_match() {
    let file = load();
    assert!(!file.keyid.is_empty() && !file.account.is_empty());
    for v in &file.keyid {
        assert_eq!(Key::from_bytes(key32(&v.key)).id().to_string(), v.key_id);
    }
    for v in &file.account {
        let derived = Key::from_bytes(key32(&v.master)).derive_account(&v.account);
        assert_eq!(derived, Key::from_bytes(key32(&v.key)), "account {:?}", v.account);
    }
}

#[test]
fn cases_cover_the_required_ground() {
    let file = load();
    let schemes: std::collections::BTreeSet<String> =
        file.case.iter().map(|c| c.scheme.split(':').next().unwrap().to_string()).collect();
    for rule in ["unigram", "lefthash", "window", "minhash", "selfhash"] {
        assert!(schemes.contains(rule), "no case for {rule}");
    }
    for gamma in [0.1, 0.25, 0.5] {
        assert!(file.case.iter().any(|c| c.gamma == gamma), "no case with gamma {gamma}");
    }
    for vocab in [50, 32_000, 128_256, 262_144] {
        assert!(file.case.iter().any(|c| c.vocab_size == vocab), "no case with vocab {vocab}");
    }
    let names: std::collections::BTreeSet<&str> = file.case.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), file.case.len(), "case names are unique");
}
