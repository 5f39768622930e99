//! wmark's `hf-synthid` detector on text Hugging Face transformers generated with its own
//! `SynthIDTextWatermarkLogitsProcessor` (`fixtures/vectors/hf-synthid.toml`, written by
//! `scripts/hf-reference`): the context dedup (`window`) keeps exactly the n-grams of
//! transformers' context-repetition and EOS masks, the score is transformers' g-value sum, the
//! mean score is its mean score, and the p-value is the exact binomial tail over
//! `scored · layers` g-values at the sampling table's share of ones.

use serde::Deserialize;
use wmark_core::{Config, Key, Seeding};
use wmark_detect::stats::binomial_upper_tail_log10;
use wmark_detect::{Dedup, Detector, Options, ScoreKind, Status, Verdict};

#[derive(Deserialize)]
struct File {
    generated: Vec<Generated>,
    sequence: Vec<Sequence>,
}

#[derive(Deserialize)]
struct Generated {
    name: String,
    ngram_len: usize,
    keys: Vec<i64>,
    sampling_table_size: u32,
    sampling_table_seed: String,
    vocab_size: u32,
    watermarked: bool,
    eos_token_id: u32,
    generated: Vec<u32>,
    g_sum: u64,
    mask_count: u64,
    mean_score: f64,
}

#[derive(Deserialize)]
struct Sequence {
    name: String,
    ngram_len: usize,
    keys: Vec<i64>,
    sampling_table_size: u32,
    sampling_table_seed: String,
    context_history_size: usize,
    ids: Vec<u32>,
    g_values: Vec<String>,
    repetition_mask: String,
}

fn load() -> File {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/hf-synthid.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid fixture")
}

fn detector(ngram_len: usize, keys: &[i64], size: u32, seed: &str, vocab: u32, dedup: Dedup) -> Detector {
    let config = Config::synthid(Seeding::HfSynthId(ngram_len), vocab, size, seed.parse().unwrap()).unwrap();
    let key = Key::from_synthid(keys).unwrap();
    Detector::new(&[key], config, Options { dedup, token_flags: true, ..Options::default() }).unwrap()
}

#[test]
fn counts_and_mean_score_equal_transformers_on_its_generated_text() {
    let file = load();
    assert!(file.generated.len() >= 4);
    for g in &file.generated {
        // The text a reader has ends at EOS; transformers' EOS mask drops the n-grams from it on.
        let end = g.generated.iter().position(|&t| t == g.eos_token_id).unwrap_or(g.generated.len());
        let ids = &g.generated[..end];
        let det =
            detector(g.ngram_len, &g.keys, g.sampling_table_size, &g.sampling_table_seed, g.vocab_size, Dedup::Window);
        let report = det.detect_ids(ids, 0).unwrap();
        assert_eq!(report.scored, g.mask_count, "{}: scored n-grams", g.name);
        assert_eq!(report.score, Some(g.g_sum as f64), "{}: g-value sum", g.name);
        let mean = report.mean_score.expect("a SynthID report has a mean score");
        assert!((mean - g.mean_score).abs() <= 1e-15, "{}: mean {mean} vs transformers' {}", g.name, g.mean_score);
        // The p-value is the binomial tail over every scored g-value.
        let depth = g.keys.len() as u64;
        let (_, _, p) = det.config().synthid_table().unwrap();
        let want = binomial_upper_tail_log10(g.mask_count * depth, g.g_sum, p);
        assert_eq!(report.log10_p, want, "{}", g.name);
        assert!(report.log10_p <= 0.0);
        if g.watermarked {
            // The 64-id, 4-layer row repeats most contexts and keeps few g-values.
            let bound = if depth * g.mask_count >= 1000 { -10.0 } else { -3.0 };
            assert!(report.log10_p < bound, "{}: log10 p = {}", g.name, report.log10_p);
            if bound == -10.0 {
                assert_eq!(report.verdict, Verdict::Watermarked, "{}", g.name);
            }
        } else {
            assert!(report.log10_p > -3.0, "{}: an unwatermarked control gave log10 p = {}", g.name, report.log10_p);
        }
    }
}

#[test]
fn window_dedup_is_the_context_repetition_mask_and_scores_are_the_g_values() {
    // On transformers' sequences whose history covers the whole text, the window dedup keeps
    // exactly the n-grams its context-repetition mask keeps, and each scored unit's score is
    // its number of g-values equal to 1.
    let file = load();
    let mut checked = 0;
    for s in file.sequence.iter().filter(|s| s.context_history_size >= s.ids.len()) {
        let vocab = s.ids.iter().max().unwrap() + 1;
        let det = detector(s.ngram_len, &s.keys, s.sampling_table_size, &s.sampling_table_seed, vocab, Dedup::Window);
        let report = det.detect_ids(&s.ids, 0).unwrap();
        let flags = report.token_flags.as_ref().unwrap();
        let n = s.ngram_len;
        for (i, flag) in flags.iter().enumerate() {
            if i + 1 < n {
                assert_eq!(flag.status, Status::NoContext, "{} position {i}", s.name);
                continue;
            }
            let kept = s.repetition_mask.as_bytes()[i + 1 - n] == b'1';
            assert_eq!(flag.status == Status::Scored, kept, "{} position {i}", s.name);
        }
        let g_sum: u64 = s
            .g_values
            .iter()
            .zip(s.repetition_mask.bytes())
            .filter(|(_, m)| *m == b'1')
            .map(|(g, _)| g.bytes().filter(|&b| b == b'1').count() as u64)
            .sum();
        assert_eq!(report.score, Some(g_sum as f64), "{}", s.name);
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} sequences fit their history");
}

#[test]
fn the_null_tail_is_the_binomial_over_layers_and_keys_of_other_depths_are_refused() {
    let kind = ScoreKind::GValues { depth: 30, p: 0.5 };
    let tally = wmark_detect::Tally { scored: 10, green: 0, sum: 200.0 };
    assert_eq!(kind.tail_log10(&tally), binomial_upper_tail_log10(300, 200, 0.5));
    assert_eq!(kind.mean_g(&tally), Some(200.0 / 300.0));
    assert_eq!(kind.floor_log10(10), 300.0 * 0.5f64.log10());
    let config = Config::synthid(Seeding::HfSynthId(5), 100, 1 << 16, 0).unwrap();
    let keys = [Key::from_synthid(&[1, 2, 3]).unwrap(), Key::from_synthid(&[1, 2]).unwrap()];
    let err = Detector::new(&keys, config, Options::default()).unwrap_err().to_string();
    assert!(err.contains("same number of layers"), "{err}");
    let err = Detector::new(&[Key::from_hf(5).unwrap()], config, Options::default()).unwrap_err().to_string();
    assert!(err.contains("SynthID-Text key"), "{err}");
}

/// Text wmark generated with its own tournament (`fixtures/vectors/hf-synthid-wmark.toml`,
/// written by `scripts/hf-synthid-check`), as transformers' own code scored it.
#[derive(Deserialize)]
struct WmarkFile {
    ngram_len: usize,
    keys: Vec<i64>,
    sampling_table_size: u32,
    sampling_table_seed: u64,
    vocab_size: u32,
    answer: Vec<Answer>,
}

#[derive(Deserialize)]
struct Answer {
    name: String,
    watermarked: bool,
    ids: Vec<u32>,
    g_sum: u64,
    mask_count: u64,
    mean_score: f64,
    wmark_log10_p: f64,
}

#[test]
fn transformers_scores_text_wmark_generated_as_wmark_does() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/hf-synthid-wmark.toml");
    let file: WmarkFile = toml::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid fixture");
    let seed = file.sampling_table_seed.to_string();
    let det = detector(file.ngram_len, &file.keys, file.sampling_table_size, &seed, file.vocab_size, Dedup::Window);
    let (mut marked, mut controls) = (0, 0);
    for a in &file.answer {
        let report = det.detect_ids(&a.ids, 0).unwrap();
        assert_eq!((report.scored, report.score), (a.mask_count, Some(a.g_sum as f64)), "{}", a.name);
        assert!((report.mean_score.unwrap() - a.mean_score).abs() <= 1e-12, "{}", a.name);
        assert_eq!(report.log10_p, a.wmark_log10_p, "{}", a.name);
        if a.watermarked {
            assert!(a.mean_score > 0.55 && report.verdict == Verdict::Watermarked, "{}: {}", a.name, a.mean_score);
            marked += 1;
        } else {
            assert!(report.log10_p > -6.0, "{}", a.name);
            controls += 1;
        }
    }
    assert!(marked >= 6 && controls >= 6);
}

#[test]
fn the_null_rate_of_the_test_is_its_level() {
    // 2,000 random keys of 30 layers on unwatermarked ids (120 each, a small vocabulary so that
    // contexts repeat and the dedup matters): the share of p ≤ 0.05 is 0.05 up to sampling
    // error (σ ≈ 0.005), and p ≤ 0.01 about 0.01.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let config = Config::synthid(Seeding::HfSynthId(3), 40, 1 << 16, 0).unwrap();
    let (mut at5, mut at1, trials) = (0, 0, 2_000);
    for _ in 0..trials {
        let layers: Vec<i64> = (0..30).map(|_| (next() >> 1) as i64).collect();
        let det = Detector::new(&[Key::from_synthid(&layers).unwrap()], config, Options::default()).unwrap();
        let ids: Vec<u32> = (0..120).map(|_| (next() % 40) as u32).collect();
        let p = det.detect_ids(&ids, 0).unwrap().log10_p;
        at5 += usize::from(p <= 0.05f64.log10());
        at1 += usize::from(p <= 0.01f64.log10());
    }
    eprintln!("null rate: {at5} of {trials} at p <= 0.05, {at1} at p <= 0.01");
    assert!((60..=140).contains(&at5), "{at5} of {trials} at 0.05");
    assert!((4..=40).contains(&at1), "{at1} of {trials} at 0.01");
}

#[test]
fn a_key_with_a_repeated_layer_is_refused() {
    let config = Config::synthid(Seeding::HfSynthId(3), 40, 1 << 16, 0).unwrap();
    let err = Detector::new(&[Key::from_synthid(&[5, 9, 5]).unwrap()], config, Options::default()).unwrap_err();
    assert!(err.to_string().contains("same layer key twice"), "{err}");
}
