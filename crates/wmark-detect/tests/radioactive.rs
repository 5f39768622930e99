//! The closed-model radioactivity test (Sander et al., 2024) on a toy "student" model.
//!
//! No neural model is needed to show the effect. The "language" is a fixed random bigram
//! model over V = 2000 tokens: each token has 16 possible successors with Zipf(1) weights.
//!
//! * **human** text samples the language as it is;
//! * the **teacher** (the provider's API) samples it with the KGW watermark (lefthash,
//!   γ = 0.25): with probability 0.7 a red draw is redrawn until it is green;
//! * a **student** is a bigram count model trained on human text plus ρ times as much teacher
//!   text. It answers 200 fresh prompts (two random tokens each) with 100 tokens, decoded at
//!   temperature 0.2 (probabilities ∝ count⁵): near-greedy, so its answers repeat themselves
//!   the way templated chat answers do.
//!
//! A student trained with ρ > 0 has learned that green successors are more frequent and
//! prefers them, although it never saw the key. A student with ρ = 0 is the control: its
//! answers were written without the key, so the test's null hypothesis holds exactly for it.
//!
//! The speed and memory measurement is an ignored test; run it alone, in release mode:
//! `cargo test -p wmark-detect --release --test radioactive -- --ignored --nocapture`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use wmark_core::{Config, Key, Seeding, Watermark};
use wmark_detect::radioactive::{
    Radioactivity, RadioactivityOptions, RadioactivityReport, RadioactivityVerdict, RADIOACTIVITY_SCHEMA_VERSION,
};
use wmark_detect::stats::{binomial_upper_tail_log10, gamma_upper_tail_log10};
use wmark_detect::{Dedup, Detector, Options};

// ---------------------------------------------------------------------------------------------
// Heap accounting for the memory measurement: every allocation of this test binary is counted.

struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator with the caller's arguments unchanged;
// the counter is a side effect only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// The toy world.

const V: u32 = 2000;
/// Possible successors of each token.
const M: usize = 16;
/// Decoding temperature of the students.
const TEMPERATURE: f64 = 0.2;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
}

/// The language: `M` successors per token, with cumulative Zipf(1) weights.
struct Language {
    successors: Vec<[u32; M]>,
    cumulative: [f64; M],
}

impl Language {
    fn new(seed: u64) -> Language {
        let mut rng = Rng(seed);
        let successors = (0..V)
            .map(|_| {
                let mut s = [0u32; M];
                let mut n = 0;
                while n < M {
                    let t = rng.below(V);
                    if !s[..n].contains(&t) {
                        s[n] = t;
                        n += 1;
                    }
                }
                s
            })
            .collect();
        let mut cumulative = [0f64; M];
        let mut acc = 0.0;
        for (j, c) in cumulative.iter_mut().enumerate() {
            acc += 1.0 / (j as f64 + 1.0);
            *c = acc;
        }
        cumulative.iter_mut().for_each(|c| *c /= acc);
        Language { successors, cumulative }
    }

    /// Index of a successor of any token, drawn from the language.
    fn draw(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cumulative.iter().position(|&c| u < c).unwrap_or(M - 1)
    }

    fn next_of(&self, prev: u32, j: usize) -> u32 {
        self.successors[prev as usize][j]
    }

    fn index_of(&self, prev: u32, token: u32) -> Option<usize> {
        self.successors[prev as usize].iter().position(|&s| s == token)
    }

    /// Human documents: the language as it is.
    fn human(&self, docs: usize, len: usize, rng: &mut Rng) -> Vec<Vec<u32>> {
        (0..docs)
            .map(|_| {
                let mut d = vec![rng.below(V)];
                while d.len() < len {
                    let p = *d.last().unwrap();
                    d.push(self.next_of(p, self.draw(rng)));
                }
                d
            })
            .collect()
    }

    /// Which successors are green under `wm` (lefthash: the seed is the previous token).
    fn greens(&self, wm: &Watermark) -> Vec<[bool; M]> {
        (0..V)
            .map(|p| {
                let mut g = [false; M];
                for (gj, &t) in g.iter_mut().zip(&self.successors[p as usize]) {
                    *gj = wm.is_green(&[p], t).unwrap();
                }
                g
            })
            .collect()
    }

    /// Watermarked documents of the teacher: with probability 0.7, a red draw is redrawn
    /// until it is green (at most 64 times).
    fn teacher(&self, greens: &[[bool; M]], docs: usize, len: usize, rng: &mut Rng) -> Vec<Vec<u32>> {
        (0..docs)
            .map(|_| {
                let mut d = vec![rng.below(V)];
                while d.len() < len {
                    let p = *d.last().unwrap();
                    let mut j = self.draw(rng);
                    if rng.unit() < 0.7 {
                        for _ in 0..64 {
                            if greens[p as usize][j] {
                                break;
                            }
                            j = self.draw(rng);
                        }
                    }
                    d.push(self.next_of(p, j));
                }
                d
            })
            .collect()
    }
}

/// A bigram count model.
struct Student<'a> {
    language: &'a Language,
    counts: Vec<[u32; M]>,
}

impl<'a> Student<'a> {
    fn train(language: &'a Language, corpora: &[&[Vec<u32>]]) -> Student<'a> {
        let mut counts = vec![[0u32; M]; V as usize];
        for doc in corpora.iter().flat_map(|c| c.iter()) {
            for w in doc.windows(2) {
                if let Some(j) = language.index_of(w[0], w[1]) {
                    counts[w[0] as usize][j] += 1;
                }
            }
        }
        Student { language, counts }
    }

    /// `len` tokens after `prev`, with probabilities ∝ count^(1/T); a token never seen in
    /// training is followed by a uniform choice of its successors.
    fn answer(&self, prev: u32, len: usize, rng: &mut Rng) -> Vec<u32> {
        let mut out = Vec::with_capacity(len);
        let mut p = prev;
        for _ in 0..len {
            let w = self.counts[p as usize].map(|n| f64::from(n).powf(1.0 / TEMPERATURE));
            let total: f64 = w.iter().sum();
            let j = if total == 0.0 {
                rng.below(M as u32) as usize
            } else {
                let mut u = rng.unit() * total;
                w.iter()
                    .position(|&x| {
                        u -= x;
                        u <= 0.0
                    })
                    .unwrap_or(M - 1)
            };
            p = self.language.next_of(p, j);
            out.push(p);
        }
        out
    }
}

fn config() -> Config {
    Config::new(Seeding::LeftHash, 0.25, 2.0, V).unwrap()
}

fn key(i: u8) -> Key {
    Key::from_bytes([i; 32])
}

/// 200 prompts of two random tokens, and the student's 100-token answers to them.
struct Corpus {
    prompts: Vec<Vec<u32>>,
    answers: Vec<Vec<u32>>,
}

/// A student trained on 1000 human documents of 200 tokens plus `rho` times as many teacher
/// documents watermarked with `key`, and its answers to fresh prompts.
fn student_corpus(language: &Language, key: &Key, rho: f64, seed: u64) -> Corpus {
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let human = language.human(1000, 200, &mut rng);
    let teacher = if rho > 0.0 {
        let greens = language.greens(&Watermark::new(key, config()));
        language.teacher(&greens, (1000.0 * rho) as usize, 200, &mut rng)
    } else {
        Vec::new()
    };
    let student = Student::train(language, &[&human, &teacher]);
    let prompts: Vec<Vec<u32>> = (0..200).map(|_| vec![rng.below(V), rng.below(V)]).collect();
    let answers = prompts.iter().map(|p| student.answer(p[1], 100, &mut rng)).collect();
    Corpus { prompts, answers }
}

/// Runs the test: prompts (if any), then teacher documents (if any), then answers.
fn test(
    keys: &[Key],
    options: RadioactivityOptions,
    prompts: &[Vec<u32>],
    teacher: &[Vec<u32>],
    answers: &[Vec<u32>],
) -> RadioactivityReport {
    let mut t = Radioactivity::new(keys, config(), options).unwrap();
    for p in prompts {
        t.add_prompt(p).unwrap();
    }
    for d in teacher {
        t.add_teacher(d).unwrap();
    }
    for a in answers {
        t.add_answer(a).unwrap();
    }
    t.finish()
}

fn with_dedup(dedup: Dedup) -> RadioactivityOptions {
    RadioactivityOptions { dedup, ..RadioactivityOptions::default() }
}

/// The counts of every answer token add up, for the reported key and for every key.
fn assert_accounting(r: &RadioactivityReport) {
    assert_eq!(
        r.answer_tokens,
        r.no_context + r.excluded_prompt_context + r.filtered_out + r.repeats + r.scored,
        "{r:?}"
    );
    for k in &r.keys {
        assert_eq!(r.answer_tokens, r.no_context + k.excluded_prompt_context + k.filtered_out + k.repeats + k.scored);
    }
}

// ---------------------------------------------------------------------------------------------
// 1–3. The effect, and a calibrated control.

#[test]
fn a_student_of_the_teacher_is_radioactive_and_the_control_is_not() {
    let language = Language::new(1);
    let k = key(10);

    let student = student_corpus(&language, &k, 0.5, 1);
    let r = test(std::slice::from_ref(&k), RadioactivityOptions::default(), &student.prompts, &[], &student.answers);
    assert_accounting(&r);
    assert_eq!(r.verdict, RadioactivityVerdict::Radioactive, "{r:?}");
    assert!(r.log10_p < -5.0, "{}", r.log10_p);
    assert!(r.green_fraction.unwrap() > 0.4, "{r:?}");
    assert_eq!((r.answers, r.answer_tokens, r.no_context), (200, 20_000, 200));
    assert!(r.excluded_prompt_context > 0 && r.repeats > 0);

    let control = student_corpus(&language, &k, 0.0, 1);
    let r = test(&[k], RadioactivityOptions::default(), &control.prompts, &[], &control.answers);
    assert_accounting(&r);
    assert_eq!(r.verdict, RadioactivityVerdict::NotRadioactive, "{r:?}");
    assert!(r.log10_p > -3.0, "{}", r.log10_p);
    assert!(r.scored > 1000, "the control is long enough to say something: {}", r.scored);
}

#[test]
fn twenty_controls_are_uniform_with_dedup_and_false_positives_without() {
    // Each control has its own key, so the 20 p-values are independent. Under the null each
    // exact p-value is super-uniform (P(p ≤ x) ≤ x: the binomial is discrete), which makes
    // every bound below conservative:
    //  * at most 4 of 20 below 0.05: P(Bin(20, 0.05) ≥ 5) = 0.26 %;
    //  * Fisher's combination −2 Σ ln p ≤ χ²(40) in distribution; its p-value must exceed
    //    1e-3 (fails with probability ≤ 0.1 % for a correct test);
    //  * not absurdly conservative either: at least 4 of 20 below 0.5
    //    (P(Bin(20, 0.5) ≤ 3) = 0.13 % for exactly uniform p-values);
    //  * Bonferroni over the family for the smallest one.
    let language = Language::new(1);
    let mut dedup_logs = Vec::new();
    let mut false_positives = 0;
    let mut flipped = 0;
    for i in 0..20u8 {
        let k = key(100 + i);
        let c = student_corpus(&language, &k, 0.0, 1000 + u64::from(i));
        let r = test(std::slice::from_ref(&k), with_dedup(Dedup::Tuple), &c.prompts, &[], &c.answers);
        assert_accounting(&r);
        dedup_logs.push(r.log10_p);
        // The same answers, every repeat counted: the near-greedy student repeats its
        // favourite tuples hundreds of times, so one coin flip weighs hundreds, and the
        // binomial test is badly anti-conservative.
        let n = test(&[k], with_dedup(Dedup::None), &c.prompts, &[], &c.answers);
        assert_eq!(n.repeats, 0);
        assert_eq!(n.scored, r.scored + r.repeats);
        if n.log10_p < -5.0 {
            false_positives += 1;
        }
        if n.verdict == RadioactivityVerdict::Radioactive && r.verdict == RadioactivityVerdict::NotRadioactive {
            flipped += 1;
        }
    }
    let below = |x: f64| dedup_logs.iter().filter(|&&l| l <= x.log10()).count();
    assert!(below(0.05) <= 4, "{dedup_logs:?}");
    assert!(below(0.5) >= 4, "{dedup_logs:?}");
    let fisher_x = -std::f64::consts::LN_10 * dedup_logs.iter().sum::<f64>(); // (−2 Σ ln p) / 2
    let fisher_log10_p = gamma_upper_tail_log10(20.0, fisher_x);
    assert!(fisher_log10_p > -3.0, "Fisher {fisher_log10_p}: {dedup_logs:?}");
    // and the smallest of the 20 is above 5e-5 (below with probability ≤ 20 · 5e-5 = 0.1 %)
    assert!(dedup_logs.iter().all(|&l| l > (5e-5f64).log10()), "{dedup_logs:?}");
    // A valid test gives p < 1e-5 to one of 20 innocent corpora with probability ≤ 2e-4;
    // three or more would be a 1e-12 event. Without dedup it happens routinely.
    assert!(false_positives >= 3, "{false_positives}");
    assert!(flipped >= 1, "no control was called radioactive without dedup");
}

#[test]
fn a_copied_watermarked_prompt_is_radioactive_only_without_prompt_exclusion() {
    // The prompts are the provider's own watermarked text, and the innocent (ρ = 0) student
    // begins every answer by quoting its prompt, then continues on its own.
    let language = Language::new(1);
    let k = key(30);
    let mut rng = Rng(77);
    let human = language.human(1000, 200, &mut rng);
    let student = Student::train(&language, &[&human]);
    let greens = language.greens(&Watermark::new(&k, config()));
    let prompts = language.teacher(&greens, 50, 20, &mut rng);
    let answers: Vec<Vec<u32>> = prompts
        .iter()
        .map(|p| {
            let mut a = p.clone();
            a.extend(student.answer(*p.last().unwrap(), 60, &mut rng));
            a
        })
        .collect();

    let without = test(std::slice::from_ref(&k), RadioactivityOptions::default(), &[], &[], &answers);
    assert_eq!(without.verdict, RadioactivityVerdict::Radioactive, "{without:?}");
    assert!(without.log10_p < -20.0, "{}", without.log10_p);
    assert_eq!(without.excluded_prompt_context, 0);

    let with = test(&[k], RadioactivityOptions::default(), &prompts, &[], &answers);
    assert_accounting(&with);
    assert_eq!(with.verdict, RadioactivityVerdict::NotRadioactive, "{with:?}");
    assert!(with.log10_p > -3.0, "{}", with.log10_p);
    assert_eq!((with.prompts, with.prompt_tokens), (50, 1000));
    // every copied prompt token after the first has a prompt context
    assert!(with.excluded_prompt_context >= 50 * 19, "{with:?}");
    assert!(with.scored > 200, "{with:?}");
}

// ---------------------------------------------------------------------------------------------
// 5. Several keys.

#[test]
fn several_accounts_find_the_right_one_with_a_bonferroni_correction() {
    let language = Language::new(1);
    let master = key(40);
    let accounts: Vec<Key> = (0..5).map(|i| master.derive_account(&format!("customer-{i}"))).collect();
    let c = student_corpus(&language, &accounts[3], 0.5, 5);
    let all = test(&accounts, RadioactivityOptions::default(), &c.prompts, &[], &c.answers);
    let alone = test(&accounts[3..4], RadioactivityOptions::default(), &c.prompts, &[], &c.answers);
    assert_accounting(&all);
    assert_eq!(all.key_id, accounts[3].id().to_string());
    assert_eq!(all.verdict, RadioactivityVerdict::Radioactive);
    assert_eq!(all.keys.len(), 5);
    assert_eq!(alone.keys.len(), 1);
    assert!((all.log10_p - (alone.log10_p + 5f64.log10())).abs() < 1e-9, "{} vs {}", all.log10_p, alone.log10_p);
    assert_eq!((all.scored, all.green), (alone.scored, alone.green));
    for (i, k) in all.keys.iter().enumerate() {
        assert_eq!(k.key_id, accounts[i].id().to_string());
        if i == 3 {
            assert_eq!(k.log10_p, alone.log10_p);
        } else {
            // the other accounts' keys see an innocent corpus
            assert!(k.log10_p > -3.0, "{k:?}");
        }
    }

    // An innocent corpus against five keys: the best of five is corrected, and capped at 1.
    let control = student_corpus(&language, &accounts[0], 0.0, 6);
    let r = test(&accounts, RadioactivityOptions::default(), &control.prompts, &[], &control.answers);
    let best = r.keys.iter().map(|k| k.log10_p).fold(f64::INFINITY, f64::min);
    assert_eq!(r.log10_p, (best + 5f64.log10()).min(0.0));
    assert_eq!(r.verdict, RadioactivityVerdict::NotRadioactive);
}

// ---------------------------------------------------------------------------------------------
// 6. The teacher filter.

#[test]
fn the_teacher_filter_keeps_only_tuples_whose_context_the_teacher_saw() {
    let language = Language::new(1);
    let k = key(50);
    let mut rng = Rng(9);
    let greens = language.greens(&Watermark::new(&k, config()));
    let provider = language.teacher(&greens, 100, 200, &mut rng);
    let c = student_corpus(&language, &k, 0.5, 7);
    let options = RadioactivityOptions { teacher_filter: true, ..RadioactivityOptions::default() };
    let r = test(std::slice::from_ref(&k), options, &[], &provider, &c.answers);
    assert_accounting(&r);
    assert!(r.teacher_filter);
    assert_eq!((r.teacher_documents, r.teacher_tokens), (100, 20_000));

    // Under lefthash a context is the previous token: the filter keeps the answer pairs whose
    // first token precedes some token in the teacher corpus.
    let teacher_contexts: HashSet<u32> = provider.iter().flat_map(|d| d.windows(2).map(|w| w[0])).collect();
    let answer_pairs: HashSet<(u32, u32)> = c.answers.iter().flat_map(|d| d.windows(2).map(|w| (w[0], w[1]))).collect();
    let kept = answer_pairs.iter().filter(|(a, _)| teacher_contexts.contains(a)).count() as u64;
    assert_eq!(r.keys[0].teacher_contexts, teacher_contexts.len() as u64);
    assert_eq!(r.scored, kept);
    assert!(r.scored > 0);
    let unfiltered = test(&[k], RadioactivityOptions::default(), &[], &[], &c.answers);
    assert_eq!(unfiltered.scored, answer_pairs.len() as u64);
    assert!(r.scored <= unfiltered.scored);
    assert_eq!(r.verdict, RadioactivityVerdict::Radioactive, "{r:?}");
}

#[test]
fn the_context_filter_keeps_an_innocent_model_innocent() {
    // Filtering on contexts selects where to look, not what colour was found there: an
    // innocent (ρ = 0) student stays at the null rate with the filter on. (Filtering on whole
    // tuples would not: the teacher's tuples are mostly green because of the watermark.)
    let language = Language::new(1);
    for (i, seed) in [60u8, 61, 62, 63].into_iter().enumerate() {
        let k = key(seed);
        let mut rng = Rng(11 + i as u64);
        let greens = language.greens(&Watermark::new(&k, config()));
        let provider = language.teacher(&greens, 100, 200, &mut rng);
        let control = student_corpus(&language, &k, 0.0, 8 + i as u64);
        let options = RadioactivityOptions { teacher_filter: true, ..RadioactivityOptions::default() };
        let filtered = test(std::slice::from_ref(&k), options, &control.prompts, &provider, &control.answers);
        assert!(filtered.scored > 200, "{filtered:?}");
        assert!(filtered.log10_p > -3.0, "key {seed}: the filtered control looks radioactive: {filtered:?}");
        assert_ne!(filtered.verdict, RadioactivityVerdict::Radioactive);
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Errors and edge cases.

#[test]
fn prompts_and_teacher_documents_after_an_answer_are_errors() {
    let options = RadioactivityOptions { teacher_filter: true, ..RadioactivityOptions::default() };
    let mut t = Radioactivity::new(&[key(1)], config(), options).unwrap();
    t.add_prompt(&[1, 2, 3]).unwrap();
    t.add_teacher(&[4, 5, 6]).unwrap();
    t.add_prompt(&[7, 8]).unwrap();
    t.add_answer(&[9, 10, 11]).unwrap();
    let e = t.add_prompt(&[1, 2]).unwrap_err();
    assert!(e.is_input(), "{e}");
    assert!(e.to_string().contains("before the first answer"), "{e}");
    assert!(t.add_teacher(&[1, 2]).unwrap_err().is_input());
    // the failed calls changed nothing
    t.add_answer(&[12, 13]).unwrap();
    let r = t.finish();
    assert_eq!((r.prompts, r.prompt_tokens, r.teacher_documents, r.answers, r.answer_tokens), (2, 5, 1, 2, 5));

    // a teacher document without the filter is a mistake, not a silent no-op
    let mut t = Radioactivity::new(&[key(1)], config(), RadioactivityOptions::default()).unwrap();
    assert!(t.add_teacher(&[1, 2, 3]).unwrap_err().is_input());
}

#[test]
fn an_empty_corpus_is_insufficient() {
    let r = Radioactivity::new(&[key(1)], config(), RadioactivityOptions::default()).unwrap().finish();
    assert_eq!(r.verdict, RadioactivityVerdict::Insufficient);
    assert_eq!((r.answers, r.answer_tokens, r.scored, r.green), (0, 0, 0, 0));
    assert_eq!((r.log10_p, r.p_value, r.z, r.green_fraction), (0.0, 1.0, None, None));
    assert_eq!(r.keys.len(), 1);
    assert_eq!(r.checkpoints.len(), 1);

    // answers too short to have a context, or whose every context is in a prompt
    let mut t = Radioactivity::new(&[key(1)], config(), RadioactivityOptions::default()).unwrap();
    t.add_prompt(&[5, 6]).unwrap();
    t.add_answer(&[]).unwrap();
    t.add_answer(&[1]).unwrap();
    t.add_answer(&[5, 6, 5, 6, 5]).unwrap();
    let r = t.finish();
    assert_eq!((r.answers, r.answer_tokens, r.no_context, r.excluded_prompt_context, r.scored), (3, 6, 2, 4, 0));
    assert_eq!(r.verdict, RadioactivityVerdict::Insufficient);

    // nine all-green tuples cannot reach 1e-6 at γ = 1/4 (0.25^9 = 3.8e-6)
    let k = key(2);
    let wm = Watermark::new(&k, config());
    let mut ids = vec![0u32];
    while ids.len() < 10 {
        let prev = *ids.last().unwrap();
        let next = (0..V).find(|&t| !ids.contains(&t) && wm.is_green(&[prev], t).unwrap()).unwrap();
        ids.push(next);
    }
    let r = test(&[k], RadioactivityOptions::default(), &[], &[], &[ids]);
    assert_eq!((r.scored, r.green), (9, 9));
    assert_eq!(r.verdict, RadioactivityVerdict::Insufficient);
}

#[test]
fn bad_input_is_an_error_and_counts_nothing() {
    let mut t = Radioactivity::new(&[key(1)], config(), RadioactivityOptions::default()).unwrap();
    let e = t.add_answer(&[1, 2, V]).unwrap_err();
    assert!(e.is_vocab_mismatch(), "{e}");
    assert!(t.add_prompt(&[V + 5]).unwrap_err().is_vocab_mismatch());
    // the rejected answer did not start the answer phase
    t.add_prompt(&[1]).unwrap();
    let r = t.finish();
    assert_eq!((r.answers, r.answer_tokens, r.prompts), (0, 0, 1));

    assert!(Radioactivity::new(&[], config(), RadioactivityOptions::default()).unwrap_err().is_no_keys());
    for alpha in [0.0, 1.0, f64::NAN] {
        let options = RadioactivityOptions { alpha, ..RadioactivityOptions::default() };
        assert!(Radioactivity::new(&[key(1)], config(), options).unwrap_err().is_input());
    }
}

// ---------------------------------------------------------------------------------------------
// The mechanics: same fingerprints as the detector, one tape, prompt windows, checkpoints.

fn random_ids(n: usize, vocab: u32, seed: u64) -> Vec<u32> {
    let mut rng = Rng(seed);
    (0..n).map(|_| rng.below(vocab)).collect()
}

#[test]
fn one_answer_is_scored_exactly_as_the_detector_scores_it() {
    // A small vocabulary forces repeated tuples and contexts.
    for seeding in [Seeding::Unigram, Seeding::LeftHash, Seeding::Window(3), Seeding::MinHash(3), Seeding::SelfHash(3)]
    {
        let config = Config::new(seeding, 0.25, 2.0, 40).unwrap();
        let ids = random_ids(600, 12, 3);
        for dedup in [Dedup::None, Dedup::Window, Dedup::Tuple] {
            let d = Detector::new(&[key(7)], config, Options { dedup, ..Options::default() }).unwrap();
            let expected = d.detect_ids(&ids, 0).unwrap();
            let mut t = Radioactivity::new(&[key(7)], config, with_dedup(dedup)).unwrap();
            t.add_answer(&ids).unwrap();
            let r = t.finish();
            assert_eq!((r.scored, r.green), (expected.scored, expected.green), "{seeding} {dedup}");
            assert_eq!(r.log10_p, expected.log10_p, "{seeding} {dedup}");
            assert_eq!(r.answer_tokens, ids.len() as u64);
            assert_eq!(r.no_context, seeding.context_len() as u64);
            assert_accounting(&r);
        }
    }
}

#[test]
fn one_tape_spans_the_whole_corpus() {
    let ids = random_ids(300, V, 5);
    let once = test(&[key(3)], RadioactivityOptions::default(), &[], &[], std::slice::from_ref(&ids));
    let twice = test(&[key(3)], RadioactivityOptions::default(), &[], &[], &[ids.clone(), ids.clone()]);
    assert_eq!((twice.scored, twice.green), (once.scored, once.green));
    assert_eq!(twice.repeats, once.repeats + once.scored);
    assert_eq!(twice.answers, 2);
    // Split into documents, the tuples across each cut lose their context, and nothing else
    // changes.
    let halves =
        test(&[key(3)], RadioactivityOptions::default(), &[], &[], &[ids[..150].to_vec(), ids[150..].to_vec()]);
    assert_eq!(halves.no_context, 2);
    assert!(halves.scored + 1 >= once.scored && halves.scored <= once.scored);
}

#[test]
fn every_window_of_a_prompt_is_excluded_including_the_last() {
    // window:2 seeds on the last two tokens. The prompt [1, 2, 3] has the windows (1, 2) and
    // (2, 3); (2, 3) is the context of whatever follows the prompt.
    let config = Config::new(Seeding::Window(2), 0.25, 2.0, V).unwrap();
    let mut t = Radioactivity::new(&[key(4)], config, RadioactivityOptions::default()).unwrap();
    t.add_prompt(&[1, 2, 3]).unwrap();
    // the prompt is too short for a window: nothing to exclude, and no error
    t.add_prompt(&[9]).unwrap();
    // (1,2)→9 excluded; (2,9)→3 scored; (9,3)→2 scored; (3,2)→3 scored; (2,3)→4 excluded
    t.add_answer(&[1, 2, 9, 3, 2, 3, 4]).unwrap();
    let r = t.finish();
    assert_eq!((r.no_context, r.excluded_prompt_context, r.scored), (2, 2, 3));

    // lefthash: the prompt [5] alone excludes the context 5
    let mut t = Radioactivity::new(&[key(4)], self::config(), RadioactivityOptions::default()).unwrap();
    t.add_prompt(&[5]).unwrap();
    t.add_answer(&[5, 6, 5, 7]).unwrap();
    let r = t.finish();
    assert_eq!((r.excluded_prompt_context, r.scored), (2, 1));

    // a BOS is stripped from prompts and answers alike
    let options = RadioactivityOptions { bos_id: Some(0), ..RadioactivityOptions::default() };
    let mut t = Radioactivity::new(&[key(4)], self::config(), options).unwrap();
    t.add_prompt(&[0, 5]).unwrap();
    t.add_answer(&[0, 5, 6, 0, 7]).unwrap();
    let r = t.finish();
    assert_eq!((r.prompt_tokens, r.answer_tokens, r.no_context, r.excluded_prompt_context, r.scored), (1, 4, 1, 1, 2));
}

#[test]
fn checkpoints_trace_the_evidence_at_powers_of_two_and_at_the_end() {
    let language = Language::new(1);
    let k = key(70);
    let c = student_corpus(&language, &k, 0.5, 9);
    let r = test(&[k], RadioactivityOptions::default(), &c.prompts, &[], &c.answers);
    let n = r.checkpoints.len();
    assert!(n >= 2);
    for (i, cp) in r.checkpoints[..n - 1].iter().enumerate() {
        assert_eq!(cp.scored, 1 << i);
        assert_eq!(cp.log10_p, binomial_upper_tail_log10(cp.scored, cp.green, r.gamma_effective));
        assert!(cp.green <= cp.scored);
    }
    assert!(r.checkpoints.windows(2).all(|w| w[0].tokens < w[1].tokens && w[0].green <= w[1].green));
    let last = r.checkpoints[n - 1];
    assert_eq!((last.tokens, last.scored, last.green), (r.answer_tokens, r.scored, r.green));
    assert_eq!(last.log10_p, r.log10_p); // one key: no correction
                                         // the evidence grows with the corpus
    assert!(last.log10_p < r.checkpoints[n / 2].log10_p);
}

#[test]
fn the_report_is_versioned_json_that_reads_back() {
    let language = Language::new(1);
    let k = key(80);
    let c = student_corpus(&language, &k, 0.5, 10);
    let r = test(&[k, key(81)], RadioactivityOptions::default(), &c.prompts, &[], &c.answers);
    let json = r.to_json();
    let back: RadioactivityReport = serde_json::from_str(&json).unwrap();
    // serde_json may parse a float one ulp away from what it wrote (no float_roundtrip)
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
    assert!(close(back.log10_p, r.log10_p) && close(back.gamma_effective, r.gamma_effective));
    assert_eq!((back.scored, back.green, back.verdict, &back.key_id), (r.scored, r.green, r.verdict, &r.key_id));
    assert_eq!((back.keys.len(), back.checkpoints.len()), (r.keys.len(), r.checkpoints.len()));
    assert_eq!(back.checkpoints.last().unwrap().scored, r.scored);
    assert_eq!(r.schema_version, RADIOACTIVITY_SCHEMA_VERSION);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verdict"], "radioactive");
    assert_eq!(v["scheme"], "lefthash");
    assert_eq!(v["dedup"], "tuple");
    for field in [
        "key_id",
        "gamma_effective",
        "answers",
        "answer_tokens",
        "scored",
        "green",
        "green_fraction",
        "log10_p",
        "p_value",
        "excluded_prompt_context",
        "filtered_out",
        "repeats",
        "keys",
        "checkpoints",
    ] {
        assert!(v.get(field).is_some(), "{field} missing from {json}");
    }
}

// ---------------------------------------------------------------------------------------------
// Speed and memory (release mode, run alone: the heap counter is process-wide).

#[test]
#[ignore = "a measurement: run alone, in release mode"]
fn throughput_and_memory_per_tuple() {
    let tokens: usize = if cfg!(debug_assertions) { 200_000 } else { 10_000_000 };
    let vocab = 50_000;
    let config = Config::new(Seeding::LeftHash, 0.25, 2.0, vocab).unwrap();
    let mut rng = Rng(12345);
    let mut doc = vec![0u32; 1000];
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut t = Radioactivity::new(&[key(90)], config, RadioactivityOptions::default()).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..tokens / doc.len() {
        // uniform random tokens: nearly every tuple is new, the worst case for memory
        doc.iter_mut().for_each(|x| *x = rng.below(vocab));
        t.add_answer(&doc).unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let heap = LIVE_BYTES.load(Ordering::Relaxed) - before;
    let units = t.units();
    let estimate = t.memory_bytes();
    let r = t.finish();
    println!(
        "{tokens} answer tokens, 1 key, lefthash, V = {vocab}: {elapsed:.2} s, {:.0} tokens/s; \
         {units} unique tuples; heap {heap} bytes = {:.1} bytes/tuple (estimate from capacity: {:.1}); \
         verdict {:?}, log10_p {:.2}",
        tokens as f64 / elapsed,
        heap as f64 / units as f64,
        estimate as f64 / units as f64,
        r.verdict,
        r.log10_p,
    );
    assert_eq!(r.scored as usize, units);
}
