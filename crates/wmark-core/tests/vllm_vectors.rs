//! Compatibility with vLLM 0.33's native watermark: wmark's `philox4x32-10-v1` PRF, key
//! derivation and Gumbel-max choice against `fixtures/vectors/vllm-philox.toml`, which
//! `scripts/vllm-reference` writes by running vLLM's own modules (CPU torch). Every uniform
//! must be bit-identical: a single differing bit means text from a vLLM deployment would be
//! scored against the wrong numbers.

use serde::Deserialize;
use wmark_core::philox::{derive_vllm_key, Philox, NO_TOKEN};
use wmark_core::Key;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    derive: Vec<Derive>,
    uniform: Vec<Uniform>,
    sample: Vec<Sample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Derive {
    key: String,
    key_a: String,
    key_b: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Uniform {
    name: String,
    key: String,
    context: Vec<i64>,
    tokens: Vec<u32>,
    uniform_bits: Vec<u32>,
    uniform: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sample {
    name: String,
    key: String,
    context: Vec<i64>,
    logits_bits: Vec<u32>,
    token: u32,
    margin: f64,
}

fn load() -> File {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/vllm-philox.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid fixture")
}

/// vLLM's context ids as 32-bit words: −1 is "before the first generated token".
fn words(context: &[i64]) -> Vec<u32> {
    context.iter().map(|&c| if c < 0 { NO_TOKEN } else { u32::try_from(c).expect("32-bit id") }).collect()
}

fn key(s: &str) -> u64 {
    s.parse().expect("decimal key")
}

#[test]
fn dual_key_derivation_matches_vllm() {
    let f = load();
    assert!(f.derive.len() >= 8);
    for d in &f.derive {
        assert_eq!(derive_vllm_key(key(&d.key), b"key_a"), key(&d.key_a), "key_a of {}", d.key);
        assert_eq!(derive_vllm_key(key(&d.key), b"key_b"), key(&d.key_b), "key_b of {}", d.key);
    }
}

#[test]
fn every_uniform_is_bit_identical_to_vllms() {
    let f = load();
    assert!(f.uniform.len() >= 30);
    let mut n = 0;
    for c in &f.uniform {
        let prf = Philox::new(key(&c.key));
        let ctx = prf.absorb_ids(&words(&c.context));
        for ((&t, &bits), &u) in c.tokens.iter().zip(&c.uniform_bits).zip(&c.uniform) {
            let got = prf.uniform(&ctx, t);
            assert_eq!(got.to_bits(), bits, "{}: token {t}", c.name);
            assert_eq!(f64::from(got), u, "{}: token {t}", c.name);
            n += 1;
        }
    }
    assert!(n > 1000, "{n} uniforms checked");
}

#[test]
fn gumbel_max_choice_matches_vllms_sampler() {
    let f = load();
    assert!(f.sample.len() >= 20);
    for s in &f.sample {
        let prf = Philox::new(key(&s.key));
        let ctx = prf.absorb_ids(&words(&s.context));
        let logits: Vec<f32> = s.logits_bits.iter().map(|&b| f32::from_bits(b)).collect();
        assert!(s.margin > 0.0);
        assert_eq!(prf.gumbel_argmax(&ctx, &logits), Some(s.token), "{}", s.name);
    }
}

#[test]
fn a_vllm_key_file_round_trips_and_refuses_malformed_keys() {
    let k = Key::from_vllm(18_446_744_073_709_551_615);
    let text = k.to_file_string();
    assert_eq!(&*text, "wmark-vllm-key-v1:18446744073709551615\n");
    let back = Key::parse_file(&text).unwrap();
    assert_eq!(back, k);
    assert_eq!(back.dangerous_expose_vllm_key(), Some(u64::MAX));
    assert_eq!(back.id(), k.id());
    assert_ne!(Key::from_vllm(1).id(), Key::from_vllm(2).id());
    assert_eq!(Key::parse_file("wmark-vllm-key-v1:0\n").unwrap().dangerous_expose_vllm_key(), Some(0));
    for bad in [
        "wmark-vllm-key-v1:18446744073709551616\n",
        "wmark-vllm-key-v1:-1\n",
        "wmark-vllm-key-v1:012\n",
        "wmark-vllm-key-v1:\n",
        "wmark-vllm-key-v1:12 \n",
        "wmark-vllm-key-v1:0x10\n",
        "wmark-vllm-key-v1:12",
        "wmark-vllm-key-v1:12\nmore\n",
        "wmark-vllm-key-v1:12\r\n",
    ] {
        let err = Key::parse_file(bad).unwrap_err();
        assert!(err.is_key_file(), "{bad:?}: {err}");
        assert!(!err.to_string().contains("12"), "the error must not repeat the key: {err}");
    }
}
