//! wmark's detector on ids scored by Hugging Face transformers' own `WatermarkDetector`
//! (`fixtures/vectors/hf-kgw.toml`, written by `scripts/hf-reference`): with the schemes
//! `hf-lefthash:w` and `hf-selfhash:w`, the tuple dedup counts exactly what transformers counts
//! with `ignore_repeated_ngrams=True`, no dedup what it counts without, and the p-value is
//! the exact binomial tail at the true green share `int(V·γ)/V`.

use serde::Deserialize;
use wmark_core::{Config, Key, Seeding};
use wmark_detect::stats::binomial_upper_tail_log10;
use wmark_detect::{Dedup, Detector, Options, Status};

#[derive(Deserialize)]
struct File {
    detect: Vec<Case>,
    generated: Vec<Generated>,
}

/// Text transformers generated with its own `WatermarkLogitsProcessor`, and what its
/// `WatermarkDetector` reported on the whole sequence (`full_*`, after dropping the leading
/// BOS) and on the generated ids alone (`gen_*`); `*_all` without `ignore_repeated_ngrams`.
#[derive(Deserialize)]
struct Generated {
    name: String,
    scheme: String,
    hashing_key: String,
    gamma: f64,
    vocab_size: u32,
    context_width: usize,
    watermarked: bool,
    bos_token_id: u32,
    prompt_len: usize,
    ids: Vec<u32>,
    generated: Vec<u32>,
    full_first_scored: usize,
    gen_first_scored: usize,
    full_scored: u64,
    full_green: u64,
    gen_scored: u64,
    gen_green: u64,
    full_scored_all: u64,
    full_green_all: u64,
    gen_scored_all: u64,
    gen_green_all: u64,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    scheme: String,
    hashing_key: String,
    gamma: f64,
    vocab_size: u32,
    context_width: usize,
    ids: Vec<u32>,
    scored: u64,
    green: u64,
    scored_unique: u64,
    green_unique: u64,
}

fn load() -> File {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/hf-kgw.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid fixture")
}

fn config(scheme: &str, width: usize, gamma: f64, vocab: u32) -> Config {
    let seeding = match scheme {
        "lefthash" => Seeding::HfLeftHash(width),
        "selfhash" => Seeding::HfSelfHash(width),
        other => panic!("unknown scheme {other}"),
    };
    Config::new(seeding, gamma, 0.0, vocab).unwrap()
}

fn detector(c: &Case, dedup: Dedup) -> Detector {
    let key = Key::from_hf(c.hashing_key.parse().unwrap()).unwrap();
    let config = config(&c.scheme, c.context_width, c.gamma, c.vocab_size);
    Detector::new(&[key], config, Options { dedup, token_flags: true, ..Options::default() }).unwrap()
}

#[test]
fn counts_equal_transformers_detector_with_and_without_repeated_ngrams() {
    let f = load();
    assert!(f.detect.len() >= 6);
    for c in &f.detect {
        let unique = detector(c, Dedup::Tuple).detect_ids(&c.ids, 0).unwrap();
        assert_eq!((unique.scored, unique.green), (c.scored_unique, c.green_unique), "{}: distinct n-grams", c.name);
        let every = detector(c, Dedup::None).detect_ids(&c.ids, 0).unwrap();
        assert_eq!((every.scored, every.green), (c.scored, c.green), "{}: every n-gram", c.name);
        // The exact tail at the true share of green ids, not at the ratio asked for.
        let gamma = f64::from((f64::from(c.vocab_size) * c.gamma) as u32) / f64::from(c.vocab_size);
        assert_eq!(unique.gamma_effective, gamma, "{}", c.name);
        let want = binomial_upper_tail_log10(unique.scored, unique.green, gamma);
        assert_eq!(unique.log10_p, want, "{}", c.name);
    }
}

#[test]
fn the_first_scored_position_is_where_transformers_first_ngram_ends() {
    let f = load();
    for c in &f.detect {
        let r = detector(c, Dedup::None).detect_ids(&c.ids, 0).unwrap();
        let flags = r.token_flags.expect("token flags");
        let first = flags.iter().position(|t| t.status != Status::NoContext).unwrap();
        let ngram = if c.scheme == "lefthash" { c.context_width + 1 } else { c.context_width };
        assert_eq!(first, ngram - 1, "{}", c.name);
    }
}

#[test]
fn several_hashing_keys_pick_the_one_that_scores() {
    let f = load();
    let c = f.detect.iter().find(|c| c.scheme == "selfhash" && c.ids.len() >= 60).expect("a selfhash case");
    let config = config(&c.scheme, c.context_width, c.gamma, c.vocab_size);
    let right = Key::from_hf(c.hashing_key.parse().unwrap()).unwrap();
    let keys = [Key::from_hf(1).unwrap(), right.clone(), Key::from_hf(-5).unwrap()];
    let one = Detector::new(&[right], config, Options::default()).unwrap().detect_ids(&c.ids, 0).unwrap();
    let many = Detector::new(&keys, config, Options::default()).unwrap().detect_ids(&c.ids, 0).unwrap();
    assert_eq!(many.keys.len(), 3);
    assert_eq!((many.keys[1].scored, many.keys[1].green), (one.scored, one.green));
}

#[test]
fn a_key_of_another_kind_is_refused_with_a_clear_error() {
    let config = config("lefthash", 1, 0.25, 32_000);
    for key in [Key::from_bytes([3; 32]), Key::from_vllm(15_485_863)] {
        let e = Detector::new(&[key], config, Options::default()).unwrap_err();
        assert!(e.to_string().contains("wmark-hf-key-v1:"), "{e}");
    }
    let e = Detector::new(&[Key::from_hf(7).unwrap()], Config::new(Seeding::LeftHash, 0.25, 2.0, 100).unwrap(), {
        Options::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("wmark-key-v1:"), "{e}");
}

#[test]
fn on_text_transformers_generated_the_counts_are_its_detectors() {
    let f = load();
    assert!(f.generated.len() >= 4 && f.generated.iter().any(|g| !g.watermarked));
    for g in &f.generated {
        let key = Key::from_hf(g.hashing_key.parse().unwrap()).unwrap();
        let config = config(&g.scheme, g.context_width, g.gamma, g.vocab_size);
        let det = |dedup| {
            Detector::new(
                std::slice::from_ref(&key),
                config,
                Options { dedup, token_flags: true, ..Options::default() },
            )
        };
        assert_eq!(g.ids[0], g.bos_token_id, "{}", g.name);
        assert_eq!(&g.ids[g.prompt_len..], &g.generated[..], "{}", g.name);
        // transformers' detector drops a leading BOS; wmark is given the ids after it.
        let full = &g.ids[1..];
        for (ids, first, want, want_all) in [
            (full, g.full_first_scored - 1, (g.full_scored, g.full_green), (g.full_scored_all, g.full_green_all)),
            (&g.generated[..], g.gen_first_scored, (g.gen_scored, g.gen_green), (g.gen_scored_all, g.gen_green_all)),
        ] {
            let r = det(Dedup::Tuple).unwrap().detect_ids(ids, 0).unwrap();
            assert_eq!((r.scored, r.green), want, "{}: distinct n-grams", g.name);
            let flags = r.token_flags.as_ref().unwrap();
            assert_eq!(flags.iter().position(|t| t.status != Status::NoContext), Some(first), "{}", g.name);
            let all = det(Dedup::None).unwrap().detect_ids(ids, 0).unwrap();
            assert_eq!((all.scored, all.green), want_all, "{}: every n-gram", g.name);
            // 150 tokens carry the watermark far past any doubt; the control carries none.
            if g.watermarked {
                assert!(r.log10_p < -10.0, "{}: {}", g.name, r.log10_p);
            } else {
                assert!(r.log10_p > -2.0, "{}: {}", g.name, r.log10_p);
            }
        }
    }
}
