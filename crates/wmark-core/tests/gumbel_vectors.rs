//! Value-stability of the native Gumbel-max scheme `gumbel:h` against
//! `fixtures/vectors/gumbel-v1.toml`, written by the independent Python reference
//! (`scripts/gen-gumbel-vectors.py`): seeds, keystream words, uniforms, scores and the
//! sampling choice. If one of these fails, fix the code, never the vectors.

use serde::Deserialize;
use wmark_core::philox::exp_score;
use wmark_core::{Config, Key, Seed, Seeding, Watermark};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
    sample: Vec<Sample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    key: String,
    scheme: String,
    context: Vec<u32>,
    seed: String,
    tokens: Vec<u32>,
    words: Vec<u32>,
    scores: Vec<f64>,
    gumbel: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sample {
    name: String,
    key: String,
    scheme: String,
    context: Vec<u32>,
    logits: Vec<f64>,
    temperature: f64,
    token: u32,
}

fn load() -> File {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/gumbel-v1.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid fixture")
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn seed_of(key: &str, scheme: &str, context: &[u32]) -> Seed {
    let seeding: Seeding = scheme.parse().unwrap();
    assert!(matches!(seeding, Seeding::Gumbel(_)), "{scheme}");
    let wm = Watermark::new(&Key::from_bytes(hex32(key)), Config::gumbel(seeding, 1 << 20).unwrap());
    wm.context_seed(context).unwrap()
}

#[test]
fn seeds_words_uniforms_and_scores_match_the_reference() {
    let f = load();
    assert!(f.case.len() >= 20);
    for c in &f.case {
        let seed = seed_of(&c.key, &c.scheme, &c.context);
        assert_eq!(seed.0, hex32(&c.seed), "{}: seed", c.name);
        for (i, &t) in c.tokens.iter().enumerate() {
            assert_eq!(seed.word_at(t), c.words[i], "{}: word of {t}", c.name);
            let u = Watermark::gumbel_uniform(&seed, t);
            assert_eq!(u, (f64::from(c.words[i]) + 0.5) / 4_294_967_296.0);
            assert!((exp_score(u) - c.scores[i]).abs() <= 1e-14, "{}: score of {t}", c.name);
            assert!((-(-u.ln()).ln() - c.gumbel[i]).abs() <= 1e-14, "{}: noise of {t}", c.name);
        }
    }
}

#[test]
fn sampling_picks_the_reference_token() {
    let f = load();
    assert!(f.sample.len() >= 10);
    for s in &f.sample {
        let seed = seed_of(&s.key, &s.scheme, &s.context);
        let got = Watermark::gumbel_argmax_f64(&seed, s.logits.iter().copied(), s.temperature);
        assert_eq!(got, Some(s.token), "{}", s.name);
    }
}

#[test]
fn sampling_without_a_finite_logit_or_temperature_picks_nothing() {
    let seed = Seed([3; 32]);
    assert_eq!(Watermark::gumbel_argmax(&seed, &[f32::NEG_INFINITY; 5], 1.0), None);
    assert_eq!(Watermark::gumbel_argmax(&seed, &[], 1.0), None);
    assert_eq!(Watermark::gumbel_argmax(&seed, &[1.0, 2.0], 0.0), None);
    assert_eq!(Watermark::gumbel_argmax(&seed, &[f32::NAN, 2.0], 1.0), Some(1));
}
