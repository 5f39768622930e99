//! wmark's SynthID-Text tournament against transformers' own `SynthIDTextWatermarkLogitsProcessor`
//! (`fixtures/vectors/hf-synthid.toml`, `[[step]]`, written by `scripts/hf-reference`): over
//! each recorded generation, the same steps are left alone as repeated contexts (exactly the
//! input), and the others give the same sampling distribution.
//!
//! Both compute in float32, but torch's vectorised `exp` and summation order are not
//! reproduced bit for bit; at depth 30 a probability can cancel to a few ulps, so the check is
//! on the distribution a sampler draws from (total variation) and on the log-probabilities of
//! every token that has a real chance, not on each float.

use serde::Deserialize;
use wmark_core::{Config, Key, Seeding};
use wmark_processor::{SynthIdProcessor, SynthIdStep};

#[derive(Deserialize)]
struct File {
    step: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    name: String,
    ngram_len: usize,
    keys: Vec<i64>,
    sampling_table_size: u32,
    sampling_table_seed: String,
    context_history_size: usize,
    vocab_size: u32,
    prompt: Vec<u32>,
    tokens: Vec<u32>,
    repeated: String,
    logits: Vec<f32>,
    out: Vec<f32>,
}

fn probs(row: &[f32]) -> Vec<f64> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = row.iter().map(|&l| (f64::from(l) - f64::from(max)).exp()).collect();
    let z: f64 = e.iter().sum();
    e.iter().map(|x| x / z).collect()
}

#[test]
fn steps_match_transformers_processor() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/hf-synthid.toml");
    let file: File = toml::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid fixture");
    assert!(file.step.len() >= 9);
    let (mut applied, mut repeated, mut worst_tv) = (0, 0, 0.0f64);
    for row in &file.step {
        let v = row.vocab_size as usize;
        let config = Config::synthid(
            Seeding::HfSynthId(row.ngram_len),
            row.vocab_size,
            row.sampling_table_size,
            row.sampling_table_seed.parse().unwrap(),
        )
        .unwrap();
        let key = Key::from_synthid(&row.keys).unwrap();
        let p = SynthIdProcessor::with_context_history(&key, config, row.context_history_size).unwrap();
        let mut state = p.create_state();
        let mut context = row.prompt.clone();
        for (t, &token) in row.tokens.iter().enumerate() {
            let input = &row.logits[t * v..(t + 1) * v];
            let want = &row.out[t * v..(t + 1) * v];
            let mut got = input.to_vec();
            let step = p.apply(&mut state, &context, &mut got).unwrap();
            let is_repeated = row.repeated.as_bytes()[t] == b'1';
            if is_repeated {
                assert_eq!(step, SynthIdStep::RepeatedContext, "{} step {t}", row.name);
                assert_eq!(
                    got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    input.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
                repeated += 1;
            } else {
                assert_eq!(step, SynthIdStep::Applied, "{} step {t}", row.name);
                let (pg, pw) = (probs(&got), probs(want));
                let tv: f64 = pg.iter().zip(&pw).map(|(a, b)| (a - b).abs()).sum::<f64>() / 2.0;
                worst_tv = worst_tv.max(tv);
                assert!(tv < 1e-5, "{} step {t}: total variation {tv}", row.name);
                for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                    if pw[i] > 1e-6 {
                        let rel = (f64::from(g) - f64::from(w)).abs();
                        assert!(rel < 1e-3, "{} step {t} token {i}: {g} vs transformers' {w}", row.name);
                    }
                    if w == f32::MIN {
                        assert!(pg[i] < 1e-12, "{} step {t} token {i}: transformers gives it no chance", row.name);
                    }
                }
                applied += 1;
            }
            context.push(token);
        }
    }
    assert!(applied >= 30 && repeated >= 5, "applied {applied}, repeated {repeated}");
    eprintln!("{applied} tournament steps, {repeated} repeated contexts; worst total variation {worst_tv:.2e}");
}
