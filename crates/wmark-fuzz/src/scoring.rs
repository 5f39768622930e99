//! Detection on token ids, the window scan and the radioactivity test.

use wmark_core::Key;
use wmark_detect::radioactive::{Radioactivity, RadioactivityOptions, RadioactivityReport, RadioactivityVerdict};
use wmark_detect::window::{best_window, best_window_values, lengths};
use wmark_detect::{Dedup, Detector, Options, Report, ScoreKind, Status, Verdict};

use crate::{config_for, ids, is_log10_p, key_for, seeding, Input};

fn dedup(b: u8) -> Dedup {
    [Dedup::None, Dedup::Window, Dedup::Tuple][usize::from(b) % 3]
}

/// A significance level from the input: usually valid, sometimes not (0, 1, NaN, …).
fn alpha(input: &mut Input<'_>) -> f64 {
    match input.u8() {
        0 => input.f64(),
        b => f64::from(b) / 256.0 * 1e-3,
    }
}

/// The properties every detection report keeps, for a text of `tokens` tokens.
pub(crate) fn check_report(r: &Report, tokens: u64) {
    assert_eq!(r.tokens, tokens);
    assert!(r.scored <= r.tokens && r.green <= r.scored, "scored ≤ tokens, green ≤ scored: {r:?}");
    assert!(is_log10_p(r.log10_p), "log10_p = {}", r.log10_p);
    assert!((0.0..=1.0).contains(&r.p_value), "p = {}", r.p_value);
    assert_eq!(r.z.is_some(), r.scored > 0);
    assert!(r.z.is_none_or(|z| !z.is_nan()), "z = {:?}", r.z);
    assert!(r.score.is_none_or(|s| s.is_finite() && s >= 0.0), "score = {:?}", r.score);
    match r.verdict {
        Verdict::Watermarked => assert!(r.log10_p <= r.alpha.log10() && r.scored > 0),
        Verdict::NotWatermarked => assert!(r.log10_p > r.alpha.log10()),
        Verdict::Insufficient => {}
    }
    for s in &r.spans {
        assert!(s.token_start < s.token_end && s.token_end <= r.tokens, "span {s:?} of {} tokens", r.tokens);
        assert!(s.scored >= 1 && s.scored <= r.scored && s.green <= s.scored, "span {s:?}");
        assert!(is_log10_p(s.log10_p) && is_log10_p(s.log10_p_corrected), "span {s:?}");
        assert!(s.log10_p_corrected >= s.log10_p || s.log10_p_corrected == 0.0, "span {s:?}");
    }
    if let Some(flags) = &r.token_flags {
        assert_eq!(flags.len() as u64, r.tokens);
        let scored = flags.iter().filter(|f| f.status.is_scored()).count() as u64;
        let green = flags.iter().filter(|f| f.status == Status::Green).count() as u64;
        assert_eq!((scored, green), (r.scored, r.green), "token flags agree with the counts");
    }
    for k in &r.keys {
        assert!(k.scored <= r.tokens && k.green <= k.scored && is_log10_p(k.log10_p), "key {k:?}");
        assert!(r.log10_p <= (k.log10_p + (r.keys.len() as f64).log10()).min(0.0) + 1e-9, "the best key is best");
    }
    let back: Report = serde_json::from_str(&r.to_json()).expect("a report's JSON reads back");
    assert_eq!((back.scored, back.green, back.verdict), (r.scored, r.green, r.verdict));
}

/// `Detector::detect_ids` under every scheme (green lists, `gumbel:h`, `vllm-gumbel:w`, the
/// dual key), with one to three keys (sometimes of the wrong kind), any vocabulary size, any
/// ids (sometimes outside the vocabulary), a prompt length, a BOS id, every dedup mode, the
/// window scan and the token flags.
///
/// * Bad input is an error of the right kind: out-of-range ids a vocabulary mismatch, a
///   context longer than the ids or a bad alpha an input error, a key of the wrong kind an
///   input error.
/// * Otherwise the report keeps `p` in [0, 1], `log10_p` ≤ 0 and not NaN, scored ≤ tokens,
///   green ≤ scored, a verdict that agrees with `log10_p` and α, spans inside the text,
///   token flags that add up to the counts, and JSON that reads back.
pub fn detect_ids(data: &[u8]) {
    let mut input = Input::new(data);
    let seeding = seeding(&mut input);
    let config = config_for(seeding, &mut input);
    let n_keys = 1 + input.below(3);
    let wrong_kind = input.u8() == 0;
    let keys: Vec<Key> = (0..n_keys)
        .map(|_| if wrong_kind { Key::from_vllm(1) } else { key_for(seeding, &mut input) })
        .map(|k| if wrong_kind && seeding.vllm_width().is_some() { Key::from_bytes([1; 32]) } else { k })
        .collect();
    let flags = input.u8();
    let options = Options {
        dedup: dedup(flags),
        alpha: alpha(&mut input),
        windows: flags & 4 != 0,
        token_flags: flags & 8 != 0,
        bos_id: (flags & 16 != 0).then(|| u32::from(input.u8() % 8)),
        ..Options::default()
    };
    let context = input.below(8);
    let n = usize::from(input.u16() % 600);
    let ids = ids(&mut input, n, config.vocab_size(), flags & 32 != 0 && flags & 64 != 0);

    let alpha_ok = options.alpha > 0.0 && options.alpha < 1.0;
    let bos = options.bos_id;
    let detector = match Detector::new(&keys, config, options) {
        Ok(d) => d,
        Err(e) => {
            assert!(e.is_input() && (wrong_kind || !alpha_ok), "{e}");
            return;
        }
    };
    assert!(!wrong_kind && alpha_ok);
    match detector.detect_ids(&ids, context) {
        Ok(r) => {
            let stripped = usize::from(bos.is_some() && ids.first() == bos.as_ref());
            let context = if stripped == 1 { context.saturating_sub(1) } else { context };
            check_report(&r, (ids.len() - stripped - context) as u64);
            assert_eq!(r.keys.len(), if n_keys > 1 { n_keys } else { 0 });
        }
        Err(e) => {
            let out_of_range = ids.iter().any(|&id| id >= config.vocab_size());
            assert!(
                (e.is_vocab_mismatch() && out_of_range) || (e.is_input() && context > ids.len()),
                "unexpected error {e}"
            );
        }
    }
}

/// `best_window` over green bits and `best_window_values` over Gumbel-max scores, checked
/// against a brute-force scan of every span.
///
/// * Nothing scored gives no window; otherwise the window lies inside the units, its green
///   count (or score sum) is that of its units, `log10_p` ≤ 0 and not NaN, the corrected
///   value is at least the uncorrected one (or 0), and the number of spans tested is the
///   number of spans of every length scanned.
/// * No span of a scanned length has a smaller p-value than the one returned.
pub fn window_scan(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    let gamma = f64::from(input.u8().max(1)) / 256.0;
    let alpha = f64::from(input.u8()) / 255.0;
    let bytes = input.rest();
    let n = bytes.len().min(300);
    let (kind, values): (ScoreKind, Vec<f64>) = match mode % 3 {
        0 => (ScoreKind::GreenBit { gamma }, bytes[..n].iter().map(|&b| f64::from(u8::from(b < mode))).collect()),
        // Exp(1) scores from the bytes, as the Gumbel-max units make them.
        k => {
            let kind = if k == 1 { ScoreKind::Gumbel } else { ScoreKind::WeightedGumbel { alpha } };
            let scores = bytes[..n].iter().map(|&b| wmark_core::philox::exp_score((f64::from(b) + 0.5) / 256.0));
            (kind, scores.map(|s| if mode & 128 != 0 { s * 40.0 } else { s }).collect())
        }
    };
    let window = if kind.has_green_bits() {
        best_window(&values.iter().map(|&v| v == 1.0).collect::<Vec<_>>(), gamma)
    } else {
        best_window_values(&values, kind)
    };
    let Some(w) = window else {
        assert!(values.is_empty(), "no window over {} units", values.len());
        return;
    };
    let t = values.len();
    assert!(w.start < w.end && w.end <= t, "window {w:?} over {t} units");
    let sum: f64 = values[w.start..w.end].iter().sum();
    assert!((w.sum - sum).abs() <= 1e-9 * sum.max(1.0), "window sum {} ≠ {sum}", w.sum);
    if kind.has_green_bits() {
        assert_eq!(w.green as f64, sum);
    }
    assert!(is_log10_p(w.log10_p) && is_log10_p(w.log10_p_corrected), "{w:?}");
    assert!(w.log10_p_corrected >= w.log10_p || w.log10_p_corrected == 0.0, "{w:?}");
    let lens = lengths(t);
    assert_eq!(w.windows_tested, lens.iter().map(|&l| (t - l + 1) as u64).sum::<u64>());
    let tail = |len: usize, s: f64| kind.tail_log10_of(len as u64, s as u64, s.max(0.0));
    // Brute force on short inputs: every span of every scanned length.
    if t <= 64 {
        for &len in &lens {
            for start in 0..=t - len {
                let p = tail(len, values[start..start + len].iter().sum());
                assert!(w.log10_p <= p + 1e-9 * p.abs().max(1.0), "span {start}+{len} has log10 p {p} < {w:?}");
            }
        }
    }
}

/// The radioactivity test over a corpus of prompts, teacher documents and answers made
/// from the input, under every scheme and option; documents in any order (a prompt after an
/// answer must be refused).
///
/// * Refusals are the documented ones: a prompt or teacher document after the first answer,
///   a teacher document without the filter, an id outside the vocabulary.
/// * Per key, every answer token is accounted for once: without context, excluded by a
///   prompt, filtered out, a repeat, or scored.
/// * `log10_p` ≤ 0 and not NaN everywhere, `p` in [0, 1], scored ≤ answer tokens, the
///   checkpoints in order and ending at the totals, and the report's JSON reads back.
/// * With a single answer and no prompt or filter, the counts are the detector's.
pub fn radioactive(data: &[u8]) {
    let mut input = Input::new(data);
    let seeding = seeding(&mut input);
    let config = config_for(seeding, &mut input);
    let n_keys = 1 + input.below(2);
    let keys: Vec<Key> = (0..n_keys).map(|_| key_for(seeding, &mut input)).collect();
    let flags = input.u8();
    let options = RadioactivityOptions {
        dedup: dedup(flags),
        alpha: 1e-3,
        teacher_filter: flags & 4 != 0,
        bos_id: (flags & 8 != 0).then(|| u32::from(input.u8() % 8)),
    };
    let mut test = Radioactivity::new(&keys, config, options.clone()).expect("valid keys and options");
    let vocab = config.vocab_size();
    let (mut answered, mut answers, mut prompts) = (false, Vec::new(), 0);
    while !input.is_empty() && answers.len() < 24 {
        let role = input.below(3);
        let n = input.below(48);
        let doc = ids(&mut input, n, vocab, flags & 16 != 0 && flags & 32 != 0);
        let stripped = match options.bos_id {
            Some(bos) if doc.first() == Some(&bos) => &doc[1..],
            _ => &doc[..],
        };
        let bad_id = stripped.iter().any(|&id| id >= vocab);
        let result = match role {
            0 => test.add_prompt(&doc),
            1 => test.add_teacher(&doc),
            _ => test.add_answer(&doc),
        };
        let refused = bad_id || (role < 2 && answered) || (role == 1 && !options.teacher_filter);
        match result {
            Ok(()) => assert!(!refused, "role {role} accepted: answered {answered}, filter {}", options.teacher_filter),
            Err(e) => {
                assert!(refused, "role {role} refused: {e}");
                continue;
            }
        }
        match role {
            0 => prompts += 1,
            2 => {
                answered = true;
                answers.push(doc);
            }
            _ => {}
        }
    }
    let report = test.finish();
    check_radioactivity(&report);
    if answers.len() == 1 && prompts == 0 && !options.teacher_filter {
        let detector = Detector::new(
            &keys,
            config,
            Options { dedup: options.dedup, alpha: 1e-3, bos_id: options.bos_id, ..Options::default() },
        )
        .expect("detector");
        let r = detector.detect_ids(&answers[0], 0).expect("detects");
        assert_eq!((r.scored, r.green), (report.scored, report.green), "one answer scores as the detector does");
    }
}

fn check_radioactivity(r: &RadioactivityReport) {
    assert!(is_log10_p(r.log10_p) && (0.0..=1.0).contains(&r.p_value), "{r:?}");
    assert!(r.scored <= r.answer_tokens && r.green <= r.scored && r.no_context <= r.answer_tokens);
    if r.verdict == RadioactivityVerdict::Radioactive {
        assert!(r.log10_p <= r.alpha.log10());
    }
    for k in &r.keys {
        assert!(is_log10_p(k.log10_p), "{k:?}");
        let accounted = r.no_context + k.excluded_prompt_context + k.filtered_out + k.repeats + k.scored;
        assert_eq!(accounted, r.answer_tokens, "every answer token counted once: {k:?}");
    }
    let mut last = (0, 0);
    for c in &r.checkpoints {
        assert!(is_log10_p(c.log10_p) && c.tokens >= last.0 && c.scored >= last.1, "checkpoint {c:?}");
        last = (c.tokens, c.scored);
    }
    assert_eq!(last, (r.answer_tokens, r.scored), "the last checkpoint is the total");
    let back: serde_json::Value = serde_json::from_str(&r.to_json()).expect("the JSON reads back");
    assert_eq!(back["scored"].as_u64(), Some(r.scored));
}
