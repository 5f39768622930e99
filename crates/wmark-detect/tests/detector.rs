//! The detector end to end on token ids: a toy language model generates with the real
//! processor, and the detector must find (or not find) the watermark.

use wmark_core::{Config, Key, Seeding};
use wmark_detect::{Dedup, Detector, Options, Report, Status, Verdict};
use wmark_processor::Processor;

const VOCAB: u32 = 5_000;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn uniform(state: &mut u64) -> f64 {
    (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// A toy LM: logits are pseudo-random with spread `scale` (entropy control); the processor
/// (if any) biases them; a token is sampled from the softmax.
fn generate(processor: Option<&Processor>, prompt: &[u32], n: usize, seed: u64, scale: f32) -> Vec<u32> {
    let mut rng = seed;
    let mut ids = prompt.to_vec();
    let mut cache = processor.map(|p| p.create_cache());
    let mut logits = vec![0f32; VOCAB as usize];
    for _ in 0..n {
        for l in logits.iter_mut() {
            *l = scale * uniform(&mut rng) as f32;
        }
        if let (Some(p), Some(c)) = (processor, cache.as_mut()) {
            p.apply(c, &ids, &mut logits).unwrap();
        }
        let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut u = uniform(&mut rng) * total;
        let mut pick = VOCAB - 1;
        for (i, w) in weights.iter().enumerate() {
            u -= w;
            if u <= 0.0 {
                pick = i as u32;
                break;
            }
        }
        ids.push(pick);
    }
    ids
}

fn config() -> Config {
    Config::new(Seeding::LeftHash, 0.25, 2.0, VOCAB).unwrap()
}

fn key(i: u8) -> Key {
    Key::from_bytes([i; 32])
}

#[test]
fn watermarked_text_is_detected_and_plain_text_is_not() {
    let p = Processor::new(&key(1), config());
    let d = Detector::new(&[key(1)], config(), Options::default()).unwrap();
    for seed in 0..5 {
        let marked = generate(Some(&p), &[7], 200, seed, 4.0);
        let r = d.detect_ids(&marked, 1).unwrap();
        assert_eq!(r.verdict, Verdict::Watermarked, "{r:?}");
        assert!(r.log10_p < -10.0, "{}", r.log10_p);
        assert_eq!(r.tokens, 200);
        let plain = generate(None, &[7], 200, seed, 4.0);
        let r = d.detect_ids(&plain, 1).unwrap();
        assert_eq!(r.verdict, Verdict::NotWatermarked, "{r:?}");
    }
}

#[test]
fn null_p_values_are_calibrated() {
    // 600 documents of 60 tokens without the watermark: the exact test is conservative, so
    // at every level the false positive count stays within sampling noise of N·α.
    let d = Detector::new(&[key(2)], config(), Options::default()).unwrap();
    let docs = 600usize;
    let logs: Vec<f64> =
        (0..docs as u64).map(|s| d.detect_ids(&generate(None, &[1], 60, 1000 + s, 2.0), 1).unwrap().log10_p).collect();
    for alpha in [0.2f64, 0.1, 0.05, 0.01] {
        let hits = logs.iter().filter(|&&l| l <= alpha.log10()).count() as f64;
        let expected = docs as f64 * alpha;
        assert!(hits <= expected + 3.0 * (expected * (1.0 - alpha)).sqrt() + 1.0, "alpha {alpha}: {hits} > {expected}");
    }
    // ...and not absurdly conservative either: at 0.2 at least a third of the nominal count
    let hits = logs.iter().filter(|&&l| l <= 0.2f64.log10()).count() as f64;
    assert!(hits >= docs as f64 * 0.2 / 3.0, "{hits}");
}

#[test]
fn several_keys_find_the_right_one_with_a_corrected_p_value() {
    let keys: Vec<Key> = (10..20).map(key).collect();
    let p = Processor::new(&keys[7], config());
    let ids = generate(Some(&p), &[3], 120, 42, 4.0);
    let all = Detector::new(&keys, config(), Options::default()).unwrap().detect_ids(&ids, 1).unwrap();
    let alone = Detector::new(&keys[7..8], config(), Options::default()).unwrap().detect_ids(&ids, 1).unwrap();
    assert_eq!(all.key_id, keys[7].id().to_string());
    assert_eq!(all.keys.len(), 10);
    assert!(alone.keys.is_empty());
    assert!((all.log10_p - (alone.log10_p + 1.0)).abs() < 1e-9, "{} vs {}", all.log10_p, alone.log10_p);
    assert_eq!(all.verdict, Verdict::Watermarked);
    for k in &all.keys {
        if k.key_id != all.key_id {
            assert!(k.log10_p > alone.log10_p + 3.0, "{k:?}");
        }
    }
}

#[test]
fn too_few_tokens_is_a_verdict_not_an_error() {
    let d = Detector::new(&[key(1)], config(), Options::default()).unwrap();
    let r = d.detect_ids(&[1, 2, 3, 4, 5], 0).unwrap();
    assert_eq!(r.verdict, Verdict::Insufficient);
    // 0.25^T must be able to reach 1e-6: T >= 10 scored tokens
    let r = d.detect_ids(&[5], 0).unwrap();
    assert_eq!((r.scored, r.verdict, r.z), (0, Verdict::Insufficient, None));
    let r = d.detect_ids(&[], 0).unwrap();
    assert_eq!(r.verdict, Verdict::Insufficient);
    let ids: Vec<u32> = (0..11).collect();
    assert_ne!(d.detect_ids(&ids, 0).unwrap().verdict, Verdict::Insufficient);
}

#[test]
fn prompt_is_context_not_scored_and_bos_is_stripped() {
    let d = Detector::new(&[key(1)], config(), Options { token_flags: true, ..Options::default() }).unwrap();
    let r = d.detect_ids(&[9, 8, 7, 6, 5], 2).unwrap();
    assert_eq!(r.tokens, 3);
    assert_eq!(r.scored, 3, "the prompt's last token is the first token's context");
    let flags = r.token_flags.unwrap();
    assert_eq!(flags.iter().map(|f| f.id).collect::<Vec<_>>(), vec![7, 6, 5]);
    let r = d.detect_ids(&[9, 8, 7, 6, 5], 0).unwrap();
    assert_eq!(r.token_flags.unwrap()[0].status, Status::NoContext);
    assert!(d.detect_ids(&[1, 2], 3).unwrap_err().is_input());

    let with_bos = Detector::new(&[key(1)], config(), Options { bos_id: Some(1), ..Options::default() }).unwrap();
    let a = with_bos.detect_ids(&[1, 40, 41, 42], 0).unwrap();
    let b = d.detect_ids(&[40, 41, 42], 0).unwrap();
    assert_eq!((a.tokens, a.scored, a.green), (b.tokens, b.scored, b.green));
}

#[test]
fn repeated_text_fools_the_test_without_dedup_but_not_with_tuple_dedup() {
    // A 20-token phrase whose tuples happen to be 45% green, repeated 40 times, as in a
    // templated human document: without dedup the repeats look like strong evidence.
    let wm = wmark_core::Watermark::new(&key(5), config());
    let phrase = (0..10_000u64)
        .map(|s| {
            let mut rng = s;
            (0..20).map(|_| (splitmix(&mut rng) % u64::from(VOCAB)) as u32).collect::<Vec<u32>>()
        })
        .find(|ph| {
            let mut cyc = ph.clone();
            cyc.push(ph[0]);
            cyc.windows(2).filter(|w| wm.is_green(&w[..1], w[1]).unwrap()).count() == 9
        })
        .expect("such a phrase exists");
    let ids: Vec<u32> = phrase.iter().cycle().take(20 * 40).copied().collect();
    let detect = |dedup| {
        Detector::new(&[key(5)], config(), Options { dedup, ..Options::default() })
            .unwrap()
            .detect_ids(&ids, 0)
            .unwrap()
    };
    let none = detect(Dedup::None);
    assert_eq!(none.verdict, Verdict::Watermarked, "a false positive without dedup: {none:?}");
    let tuple = detect(Dedup::Tuple);
    assert_eq!(tuple.scored, 20);
    assert_ne!(tuple.verdict, Verdict::Watermarked);
    let window = detect(Dedup::Window);
    assert!(window.scored <= 20);
    assert_ne!(window.verdict, Verdict::Watermarked);
}

#[test]
fn a_pasted_watermarked_passage_is_located() {
    let p = Processor::new(&key(1), config());
    let mut ids = generate(None, &[1], 300, 7, 4.0);
    let marked = generate(Some(&p), &[ids[ids.len() - 1]], 80, 8, 4.0);
    ids.extend_from_slice(&marked[1..]);
    ids.extend(generate(None, &[2], 300, 9, 4.0).into_iter().skip(1));
    let d = Detector::new(&[key(1)], config(), Options { windows: true, ..Options::default() }).unwrap();
    let r = d.detect_ids(&ids, 0).unwrap();
    let span = &r.spans[0];
    assert!(span.token_start >= 290 && span.token_start <= 310, "{span:?}");
    assert!(span.token_end >= 370 && span.token_end <= 390, "{span:?}");
    assert!(span.log10_p_corrected < -6.0, "{span:?}");
    assert!(span.log10_p_corrected > span.log10_p);
    assert!(span.windows_tested > 100_000);
}

#[test]
fn report_json_has_exactly_the_documented_fields() {
    let d = Detector::new(&[key(1)], config(), Options::default()).unwrap();
    let r = d.detect_ids(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 0).unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    let mut expected = vec![
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
    ];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["dedup"], "tuple");
    assert_eq!(v["alpha"], 1e-6);
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}

#[test]
fn bad_options_are_errors() {
    assert!(Detector::new(&[], config(), Options::default()).unwrap_err().is_no_keys());
    for alpha in [0.0, 1.0, -1.0, f64::NAN] {
        assert!(Detector::new(&[key(1)], config(), Options { alpha, ..Options::default() }).unwrap_err().is_input());
    }
    let d = Detector::new(&[key(1)], config(), Options::default()).unwrap();
    assert!(d.detect_text("no tokenizer", None).unwrap_err().is_input());
    assert!(d.detect_ids(&[1, 2, VOCAB], 0).unwrap_err().is_vocab_mismatch());
}
