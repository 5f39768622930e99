//! The logit processor and the Gumbel-max sampler on arbitrary rows of logits.

use ndarray::Array2;
use wmark_core::philox::{Philox, NO_TOKEN};
use wmark_core::{Config, Key, Seeding, Watermark};
use wmark_processor::{BatchCache, Choice, GumbelSampler, Outcome, Processor, SynthIdProcessor, SynthIdStep, Warp};

use crate::{ids, Input};

/// The green-list schemes the processor serves.
const GREEN_SCHEMES: &[&str] = &["unigram", "lefthash", "window:2", "minhash:3", "selfhash:1", "selfhash:3"];

/// Equal as the processor must keep them: equal values (a red −0 may come back as +0, the
/// branch-free bias adds +0 to it), or both NaN.
fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn rows_equal(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| same(x, y))
}

/// `Processor::apply`, `apply_finite`, `apply_candidates` and `apply_batch` on rows of
/// logits holding NaN, ±∞, the largest and smallest floats and any bit pattern, for any
/// vocabulary size (rows of the wrong length too), with and without the mask cache.
///
/// * A row of the wrong length is an error and is left unchanged; so is a candidate outside
///   the vocabulary.
/// * With a context shorter than the rule needs the row is left unchanged.
/// * Otherwise every logit is either unchanged or exactly `logit + δ` (so NaN stays NaN,
///   ±∞ stays ±∞, and a finite logit stays finite unless `logit + δ` itself overflows), and
///   for the rules with one green list per context the biased ids are exactly the green ones.
/// * `apply_finite` gives the same row as `apply`; a second call with the warm cache gives
///   the same row; `apply_batch` on a contiguous or a transposed (strided) batch gives each
///   row as `apply` does.
pub fn processor(data: &[u8]) {
    let mut input = Input::new(data);
    let seeding: Seeding = GREEN_SCHEMES[input.below(GREEN_SCHEMES.len())].parse().expect("a scheme");
    let vocab = 1 + u32::from(input.u16() % 2048);
    let gamma = f64::from(input.u8().max(1)) / 256.0;
    let delta = match input.u8() {
        0 => f32::MAX,
        1 => 1e30,
        b => f32::from(b) / 16.0,
    };
    let config = Config::new(seeding, gamma, delta, vocab).expect("a valid config");
    let key = Key::from_bytes([input.u8(); 32]);
    let flags = input.u8();
    let processor = Processor::builder()
        .top_k(usize::from(input.u8() % 50))
        .mask_cache_bytes(if flags & 1 != 0 { 1 << 16 } else { 0 })
        .build(&key, config);
    let n = input.below(5);
    let context = ids(&mut input, n, u32::MAX, true);
    let len = if flags & 2 != 0 { input.below(3000) } else { vocab as usize };
    // The row: values from the input, then a repeating pattern of the awkward ones.
    let mut row: Vec<f32> = Vec::with_capacity(len);
    while row.len() < len && !input.is_empty() {
        row.push(input.f32());
    }
    let pattern = [0.5, f32::NEG_INFINITY, f32::NAN, -3.0, f32::MAX, 1.0, f32::INFINITY, 0.0];
    let shift = usize::from(flags >> 4);
    while row.len() < len {
        row.push(pattern[(row.len() + shift) % pattern.len()]);
    }
    let original = row.clone();
    let mut cache = processor.create_cache();

    let result = processor.apply(&mut cache, &context, &mut row);
    if len != vocab as usize {
        assert!(result.expect_err("a row of the wrong length").is_logits_length());
        assert!(rows_equal(&row, &original), "a refused row is left unchanged");
        return;
    }
    let needs = seeding.context_len();
    match result.expect("a row of the right length") {
        Outcome::ContextTooShort => {
            assert!(context.len() < needs);
            assert!(rows_equal(&row, &original), "a context too short leaves the row unchanged");
            return;
        }
        Outcome::Applied => assert!(context.len() >= needs),
    }
    let wm = Watermark::new(&key, config);
    let mask = (!seeding.depends_on_candidate()).then(|| wm.mask(&context).expect("a context long enough"));
    for (id, (&after, &before)) in row.iter().zip(&original).enumerate() {
        let biased = before + delta;
        assert!(same(after, before) || same(after, biased), "id {id}: {before} became {after} (δ = {delta})");
        if let Some(mask) = &mask {
            let want = if mask.contains(id as u32) { biased } else { before };
            assert!(same(after, want), "id {id}: {before} became {after}, green {}", mask.contains(id as u32));
        } else if !same(after, before) {
            assert!(before.is_finite() && wm.is_green(&context, id as u32).expect("seeds"), "id {id} biased");
        }
        if before.is_finite() && biased.is_finite() {
            assert!(after.is_finite());
        }
    }

    // The warm cache, the candidate mode and the batch give the same rows.
    let mut again = original.clone();
    processor.apply(&mut cache, &context, &mut again).expect("applies");
    assert!(rows_equal(&again, &row), "a warm cache changes the row");
    let mut finite = original.clone();
    processor.apply_finite(&mut cache, &context, &mut finite).expect("applies");
    assert!(rows_equal(&finite, &row), "apply_finite differs from apply");

    let n = input.below(8);
    let candidates = ids(&mut input, n, vocab + 2, true);
    let mut cand_row = original.clone();
    match processor.apply_candidates(&mut cache, &context, &mut cand_row, &candidates) {
        Ok(_) => {
            for (id, (&after, &before)) in cand_row.iter().zip(&original).enumerate() {
                let listed = candidates.contains(&(id as u32));
                let green = listed && wm.is_green(&context, id as u32).expect("seeds");
                let want = if green { before + delta } else { before };
                assert!(same(after, want), "candidate {id}: {before} became {after}");
            }
        }
        Err(e) => {
            assert!(e.is_candidate_out_of_range() && candidates.iter().any(|&c| c >= vocab));
            assert!(rows_equal(&cand_row, &original));
        }
    }

    let rows = 1 + input.below(3);
    let contexts: Vec<&[u32]> = (0..rows).map(|r| &context[..context.len() - r.min(context.len())]).collect();
    let mut batch = Array2::from_shape_fn((rows, len), |(_, c)| original[c]);
    let mut caches = BatchCache::new();
    processor.apply_batch(&mut caches, &contexts, batch.view_mut()).expect("a batch");
    let mut strided = Array2::from_shape_fn((len, rows), |(c, _)| original[c]);
    processor.apply_batch(&mut caches, &contexts, strided.view_mut().reversed_axes()).expect("a strided batch");
    for (r, ctx) in contexts.iter().enumerate() {
        let mut want = original.clone();
        processor.apply(&mut processor.create_cache(), ctx, &mut want).expect("applies");
        assert!(rows_equal(&batch.row(r).to_vec(), &want), "batch row {r}");
        assert!(rows_equal(&strided.column(r).to_vec(), &want), "strided batch row {r}");
    }
}

/// The Gumbel-max sampler (`gumbel:h`, `vllm-gumbel:w`, the dual key) over a sequence of
/// steps, with any warping (invalid ones must be refused), any vocabulary size and rows
/// holding NaN, ±∞ and huge values.
///
/// * A chosen token is inside the vocabulary, has a finite logit, and survives top-k; the
///   hook then leaves exactly that logit finite. Without truncation the choice equals
///   scoring every candidate (`Watermark::gumbel_argmax`, `Philox::gumbel_argmax`).
/// * No finite logit is `NoCandidate`; a context shorter than `h` is `ContextTooShort`; a
///   context seen before in the sequence is `Repeated`; the row is then left unchanged.
pub fn gumbel_sampler(data: &[u8]) {
    let mut input = Input::new(data);
    let width = 1 + input.below(4);
    let seeding = match input.below(3) {
        0 => Seeding::Gumbel(width),
        1 => Seeding::VllmGumbel(width),
        _ => Seeding::VllmDualKeyGumbel(width),
    };
    let vocab = 1 + u32::from(input.u16() % 1500);
    let config = Config::gumbel(seeding, vocab).expect("a Gumbel config");
    let config = config.with_alpha(f64::from(input.u8()) / 255.0).expect("alpha in [0, 1]");
    let vllm_key = input.u64();
    let key =
        if seeding.vllm_width().is_some() { Key::from_vllm(vllm_key) } else { Key::from_bytes([vllm_key as u8; 32]) };
    let warp = Warp {
        temperature: if input.u8() < 16 { input.f32() } else { f32::from(input.u8().max(1)) / 64.0 },
        top_k: input.below(6),
        top_p: if input.u8() < 16 { input.f32() } else { f32::from(input.u8().max(1)) / 255.0 },
    };
    let sampler = match GumbelSampler::new(&key, config, warp) {
        Ok(s) => s,
        Err(e) => {
            let valid = warp.temperature > 0.0 && warp.temperature.is_finite() && warp.top_p > 0.0 && warp.top_p <= 1.0;
            assert!(e.is_config() && !valid, "{e}");
            return;
        }
    };
    let mut state = sampler.create_state(input.u64());
    let n = input.below(4);
    let mut context = ids(&mut input, n, vocab, false);
    let start = context.len();
    let steps = 1 + input.below(6);
    for _ in 0..steps {
        let len = if input.u8() == 0 { input.below(4) } else { vocab as usize };
        let mut row: Vec<f32> = (0..len).map(|_| input.f32()).collect();
        let original = row.clone();
        let result = sampler.apply(&mut state, &context, &mut row);
        if len != vocab as usize {
            assert!(result.expect_err("a row of the wrong length").is_logits_length());
            continue;
        }
        let choice = result.expect("a step");
        let finite: Vec<u32> = (0..vocab).filter(|&i| original[i as usize].is_finite()).collect();
        match choice {
            Choice::Token(t) => {
                let l = original[t as usize];
                assert!(t < vocab && l.is_finite(), "chose {t} with logit {l}");
                assert!(row.iter().enumerate().all(|(i, x)| (i == t as usize) == x.is_finite()), "the hook");
                if warp.top_k > 0 {
                    let above = finite.iter().filter(|&&i| original[i as usize] > l).count();
                    assert!(above < warp.top_k, "chose {t} outside the top {}", warp.top_k);
                }
                check_untruncated_choice(seeding, &key, config, warp, &context[start..], &context, &original, t);
                context.push(t);
            }
            other => {
                assert!(rows_equal(&row, &original), "{other:?} leaves the row unchanged");
                match other {
                    Choice::NoCandidate => assert!(finite.is_empty()),
                    Choice::ContextTooShort => assert!(matches!(seeding, Seeding::Gumbel(h) if context.len() < h)),
                    _ => {}
                }
                context.push(input.u32() % vocab);
            }
        }
    }
}

/// Without top-k and top-p, the pruned choice equals scoring every candidate, where every
/// candidate's value is finite (a near-overflow can make two values infinite, and then the
/// reference's first-of-equals rule differs from nothing but the order of the scan).
#[allow(clippy::too_many_arguments)]
fn check_untruncated_choice(
    seeding: Seeding,
    key: &Key,
    config: Config,
    warp: Warp,
    generated: &[u32],
    context: &[u32],
    row: &[f32],
    chosen: u32,
) {
    if warp.top_k > 0 || warp.top_p < 1.0 {
        return;
    }
    let t = warp.temperature;
    match seeding {
        Seeding::Gumbel(h) => {
            let seed = Watermark::new(key, config).context_seed(&context[context.len() - h..]).expect("h tokens");
            let scaled = row.iter().map(|&l| if l.is_finite() { f64::from(l) } else { f64::NEG_INFINITY });
            assert_eq!(Watermark::gumbel_argmax_f64(&seed, scaled, f64::from(t)), Some(chosen), "gumbel:{h}");
        }
        Seeding::VllmGumbel(w) => {
            let warped: Vec<f32> = row.iter().map(|&l| if l.is_finite() { l / t } else { f32::NEG_INFINITY }).collect();
            if warped.iter().zip(row).any(|(&x, l)| l.is_finite() && !x.is_finite()) {
                return;
            }
            let prf = Philox::new(key.dangerous_expose_vllm_key().expect("a vLLM key"));
            let window: Vec<u32> = (0..w)
                .map(|i| {
                    let at = generated.len() + i;
                    if at >= w {
                        generated[at - w]
                    } else {
                        NO_TOKEN
                    }
                })
                .collect();
            assert_eq!(prf.gumbel_argmax(&prf.absorb_ids(&window), &warped), Some(chosen), "vllm-gumbel:{w}");
        }
        _ => {}
    }
}

/// SynthID-Text's tournament (`SynthIdProcessor::apply`, with and without a warp) over a few
/// steps of one sequence, on rows holding NaN, ±∞, the largest and smallest floats and any
/// bit pattern, for any vocabulary size and number of layers (rows of the wrong length too).
///
/// * A row of the wrong length is an error and is left unchanged.
/// * A step whose context was used within the history, or without any finite or +∞ logit,
///   leaves the row unchanged (bit for bit, NaN included).
/// * Otherwise every output is finite (a probability of 0 is `f32::MIN`), the outputs are the
///   log-probabilities of a distribution (their exponentials sum to 1 within 10⁻³), NaN and
///   −∞ inputs get probability 0, and with a top-k warp at most k ids keep a chance.
/// * A step that does not come one id after the previous one is refused.
pub fn synthid_processor(data: &[u8]) {
    let mut input = Input::new(data);
    let n = 2 + input.below(5);
    let vocab = 1 + u32::from(input.u16() % 1500);
    let size = if input.bool() { 1 + u32::from(input.u16()) } else { wmark_core::DEFAULT_SYNTHID_TABLE_SIZE };
    let Ok(config) = Config::synthid(Seeding::HfSynthId(n), vocab, size, u64::from(input.u32())) else {
        return; // a table of one value: refused, as scheme_config checks
    };
    let key = crate::synthid_key(&mut input);
    let history = input.below(6);
    let base = SynthIdProcessor::with_context_history(&key, config, history).expect("a SynthID processor");
    let warp = (input.u8() < 96).then(|| Warp {
        temperature: if input.u8() < 16 { input.f32() } else { f32::from(input.u8().max(1)) / 64.0 },
        top_k: input.below(6),
        top_p: if input.u8() < 16 { input.f32() } else { f32::from(input.u8().max(1)) / 255.0 },
    });
    let processor = match warp {
        None => base,
        Some(w) => match base.with_warp(w) {
            Ok(p) => p,
            Err(e) => {
                let valid = w.temperature > 0.0 && w.temperature.is_finite() && w.top_p > 0.0 && w.top_p <= 1.0;
                assert!(e.is_config() && !valid, "{e}");
                return;
            }
        },
    };
    let mut state = processor.create_state();
    let prompt = input.below(4);
    let mut context = ids(&mut input, prompt, vocab, false);
    let mut stepped = false;
    for _ in 0..1 + input.below(6) {
        let len = if input.u8() == 0 { input.below(4) } else { vocab as usize };
        let mut row: Vec<f32> = (0..len).map(|_| input.f32()).collect();
        let original = row.clone();
        let result = processor.apply(&mut state, &context, &mut row);
        if len != vocab as usize {
            assert!(result.expect_err("a row of the wrong length").is_logits_length());
            assert!(bits_equal(&row, &original), "a refused row is left unchanged");
            continue;
        }
        let step = result.expect("a step");
        stepped = true;
        let candidate = |l: f32| l.is_finite() || l == f32::INFINITY;
        match step {
            SynthIdStep::Applied => {
                assert!(row.iter().all(|l| l.is_finite()), "every output is finite");
                let total: f64 = row.iter().map(|&l| f64::from(l).exp()).sum();
                assert!((total - 1.0).abs() < 1e-3, "the outputs are log-probabilities (sum {total})");
                for (i, (&o, &l)) in row.iter().zip(&original).enumerate() {
                    if !candidate(l) {
                        assert_eq!(o, f32::MIN, "id {i}: input {l} has no chance");
                    }
                }
                if let Some(w) = warp.filter(|w| w.top_k > 0) {
                    assert!(row.iter().filter(|&&o| o > f32::MIN).count() <= w.top_k, "top-{} keeps more", w.top_k);
                }
            }
            SynthIdStep::RepeatedContext if warp.is_none() => {
                assert!(bits_equal(&row, &original), "a repeated context leaves the row unchanged")
            }
            SynthIdStep::RepeatedContext => assert!(history > 0, "no history, no repeat"),
            SynthIdStep::NoCandidate => assert!(!original.iter().any(|&l| candidate(l)) || warp.is_some()),
        }
        if step == SynthIdStep::RepeatedContext {
            assert!(history > 0, "no history, no repeat");
        }
        // The next id: any id, from the input.
        context.push(input.u32() % vocab);
    }
    let mut row = vec![0.0f32; vocab as usize];
    if stepped {
        // The context of the step just taken again.
        let stale = context.len() - 1;
        let err = processor.apply(&mut state, &context[..stale], &mut row).expect_err("a step out of order");
        assert!(err.is_config(), "{err}");
    }
}

fn bits_equal(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}
