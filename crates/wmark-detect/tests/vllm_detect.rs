//! wmark's detector on text that vLLM's own sampler watermarked, against what vLLM's own
//! detectors report (`fixtures/vectors/vllm-detect.toml`, written by
//! `scripts/vllm-reference`): the same scored count, the same score to 1e-12 relative, and
//! the same p-value wherever vLLM's is exact and representable; where vLLM's underflows to
//! 0, wmark's log10 p keeps going.

use serde::Deserialize;
use wmark_core::{Config, Key, Seeding};
use wmark_detect::{Dedup, Detector, Options};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    detect: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    algorithm: String,
    key: String,
    context_width: usize,
    alpha: f64,
    deduplicate_contexts: bool,
    vocab: u32,
    source: String,
    tokens: Vec<u32>,
    score: f64,
    num_scored: u64,
    p_value: f64,
    is_watermarked: bool,
}

fn load() -> File {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/vllm-detect.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid fixture")
}

fn detector(c: &Case) -> Detector {
    vllm_detector(&c.algorithm, &c.key, c.context_width, c.alpha, c.deduplicate_contexts, c.vocab)
}

/// wmark's detector set up as vLLM's `algorithm` detector with this key and these settings.
fn vllm_detector(algorithm: &str, key: &str, width: usize, alpha: f64, dedup: bool, vocab: u32) -> Detector {
    let seeding = match algorithm {
        "gumbel" => Seeding::VllmGumbel(width),
        "dual_key_gumbel" => Seeding::VllmDualKeyGumbel(width),
        other => panic!("unknown algorithm {other}"),
    };
    let config = Config::gumbel(seeding, vocab).unwrap().with_alpha(alpha).unwrap();
    let dedup = if dedup { Dedup::Window } else { Dedup::None };
    let key = Key::from_vllm(key.parse().unwrap());
    Detector::new(&[key], config, Options { dedup, alpha: 0.01, ..Options::default() }).unwrap()
}

#[test]
fn scores_counts_and_p_values_match_vllms_detectors() {
    let f = load();
    assert!(f.detect.len() >= 20);
    let mut exact_p = 0;
    for c in &f.detect {
        let r = detector(c).detect_ids(&c.tokens, 0).unwrap();
        assert_eq!(r.scored, c.num_scored, "{}: scored", c.name);
        let score = r.score.expect("a Gumbel report has a score");
        assert!((score - c.score).abs() <= 1e-12 * c.score.abs(), "{}: score {score} vs {}", c.name, c.score);
        // vLLM's single-key p is an exact Gamma survival (as is its dual-key p at α = 1/2,
        // where the weighted sum is a scaled Gamma(2n)); elsewhere it is a moment match.
        let exact = c.algorithm == "gumbel" || c.alpha == 0.5;
        if exact && c.p_value > 1e-300 {
            let want = c.p_value.log10();
            assert!((r.log10_p - want).abs() <= 1e-9 * want.abs().max(1.0), "{}: {} vs {want}", c.name, r.log10_p);
            exact_p += 1;
        }
        if c.p_value == 0.0 {
            assert!(r.log10_p < -308.0, "{}: vLLM underflowed, wmark must not: {}", c.name, r.log10_p);
        }
        assert_eq!(r.log10_p <= -2.0, c.is_watermarked, "{}: verdict at 0.01", c.name);
        if c.source == "sampler" && c.deduplicate_contexts {
            assert!(r.log10_p < -10.0, "{}: watermarked text is found", c.name);
        }
    }
    assert!(exact_p >= 10, "{exact_p} exact p-values compared");
}

#[test]
fn the_5000_token_sequence_is_far_below_what_a_float_holds() {
    let f = load();
    let c = f.detect.iter().find(|c| c.tokens.len() == 5000).expect("the long case");
    let r = detector(c).detect_ids(&c.tokens, 0).unwrap();
    assert_eq!(c.p_value, 0.0, "vLLM's p underflows");
    assert!(r.log10_p < -1000.0, "{}", r.log10_p);
}

#[test]
fn a_wmark_key_for_a_vllm_scheme_is_a_clear_error() {
    let config = Config::gumbel(Seeding::VllmGumbel(4), 1000).unwrap();
    let err = Detector::new(&[Key::from_bytes([1; 32])], config, Options::default()).unwrap_err();
    assert!(err.to_string().contains("needs a vLLM key"), "{err}");
    let green = Config::new(Seeding::LeftHash, 0.25, 2.0, 1000).unwrap();
    let err = Detector::new(&[Key::from_vllm(7)], green, Options::default()).unwrap_err();
    assert!(err.to_string().contains("needs a wmark key"), "{err}");
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Accepts {
    answer: Vec<Answer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    name: String,
    algorithm: String,
    key: String,
    context_width: usize,
    alpha: f64,
    deduplicate_contexts: bool,
    tokens: Vec<u32>,
    score: f64,
    num_scored: u64,
    p_value: f64,
    is_watermarked: bool,
    other_key: String,
    other_key_score: f64,
    other_key_p_value: f64,
}

/// Text that `wmark generate --scheme vllm-gumbel` (and the dual key) wrote is accepted by
/// vLLM's own detectors (`fixtures/vectors/vllm-accepts.toml`, from vLLM's code), and
/// wmark's detector agrees with them on every count and score.
#[test]
fn vllms_detector_accepts_wmarks_generations_and_wmark_agrees() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/vllm-accepts.toml");
    let f: Accepts = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(f.answer.len(), 8);
    for a in &f.answer {
        assert!(a.is_watermarked && a.p_value < 1e-6, "{}: vLLM's verdict", a.name);
        assert!(a.other_key_p_value > 0.01, "{}: another key", a.name);
        let with = |key: &str| {
            let d = vllm_detector(&a.algorithm, key, a.context_width, a.alpha, a.deduplicate_contexts, 49_152);
            d.detect_ids(&a.tokens, 0).unwrap()
        };
        for (key, score) in [(&a.key, a.score), (&a.other_key, a.other_key_score)] {
            let r = with(key);
            assert_eq!(r.scored, a.num_scored, "{}", a.name);
            let got = r.score.unwrap();
            assert!((got - score).abs() <= 1e-12 * score, "{}: {got} vs {score}", a.name);
        }
        let r = with(&a.key);
        if a.algorithm == "gumbel" {
            assert!((r.log10_p - a.p_value.log10()).abs() <= 1e-9 * a.p_value.log10().abs(), "{}", a.name);
        } else {
            // vLLM's moment match is anti-conservative: its p is below the exact one.
            assert!(a.p_value.log10() < r.log10_p, "{}: vLLM {} vs exact {}", a.name, a.p_value.log10(), r.log10_p);
        }
    }
}
