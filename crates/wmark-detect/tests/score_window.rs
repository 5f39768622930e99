//! Scoring against the core's membership function, dedup semantics, and the window scan
//! against brute force.

use proptest::prelude::*;
use wmark_core::{Config, Key, Seeding, Watermark};
use wmark_detect::dedup::{DedupSet, ExactSet, FpSet};
use wmark_detect::score::{Scorer, Scoring, Status};
use wmark_detect::stats::binomial_upper_tail_log10;
use wmark_detect::window::{best_window, lengths};
use wmark_detect::Dedup;

fn wm(seeding: Seeding, vocab: u32) -> Watermark {
    Watermark::new(&Key::from_bytes([3; 32]), config(seeding, vocab))
}

fn config(seeding: Seeding, vocab: u32) -> Config {
    Config::new(seeding, 0.25, 2.0, vocab).unwrap()
}

fn scorer(seeding: Seeding, vocab: u32) -> Scorer {
    Scorer::new(&[Key::from_bytes([3; 32])], config(seeding, vocab)).unwrap()
}

proptest! {
    #[test]
    fn no_dedup_scores_every_position_with_context(
        seeding in prop_oneof![Just(Seeding::Unigram), Just(Seeding::LeftHash), (1usize..5).prop_map(Seeding::MinHash), (1usize..5).prop_map(Seeding::SelfHash)],
        ids in proptest::collection::vec(0u32..300, 0..80),
        from in 0usize..10,
    ) {
        let w = wm(seeding, 300);
        let s = scorer(seeding, 300).score_ids(0, &ids, from, Dedup::None).unwrap();
        let from = from.min(ids.len());
        prop_assert_eq!(s.status().len(), ids.len() - from);
        let need = seeding.context_len();
        let mut greens = 0;
        for (k, i) in (from..ids.len()).enumerate() {
            if i < need {
                prop_assert_eq!(s.status()[k], Status::NoContext);
            } else {
                let g = w.is_green(&ids[..i], ids[i]).unwrap();
                prop_assert_eq!(s.green()[k], g);
                prop_assert_eq!(s.status()[k], if g { Status::Green } else { Status::Red });
                greens += u64::from(g);
            }
        }
        prop_assert_eq!(s.scored(), (ids.len() - from.max(need).min(ids.len())) as u64);
        prop_assert_eq!(s.greens(), greens);
    }

    #[test]
    fn tuple_dedup_counts_distinct_tuples(ids in proptest::collection::vec(0u32..6, 2..200)) {
        // lefthash: the tuple is (previous token, token)
        let w = scorer(Seeding::LeftHash, 10);
        let s = w.score_ids(0, &ids, 0, Dedup::Tuple).unwrap();
        let distinct: std::collections::HashSet<(u32, u32)> = ids.windows(2).map(|p| (p[0], p[1])).collect();
        prop_assert_eq!(s.scored(), distinct.len() as u64);
        let windows: std::collections::HashSet<u32> = ids[..ids.len() - 1].iter().copied().collect();
        let w_s = w.score_ids(0, &ids, 0, Dedup::Window).unwrap();
        prop_assert_eq!(w_s.scored(), windows.len() as u64);
    }

    #[test]
    fn best_window_is_the_brute_force_minimum(greens in proptest::collection::vec(any::<bool>(), 1..60)) {
        let gamma = 0.25;
        let w = best_window(&greens, gamma).unwrap();
        let t = greens.len();
        let mut best = f64::INFINITY;
        let mut count = 0u64;
        for s in 0..t {
            for e in s + 1..=t {
                let g = greens[s..e].iter().filter(|&&x| x).count() as u64;
                best = best.min(binomial_upper_tail_log10((e - s) as u64, g, gamma));
                count += 1;
            }
        }
        prop_assert!((w.log10_p - best).abs() < 1e-9, "{} vs {}", w.log10_p, best);
        prop_assert_eq!(w.windows_tested, count);
        let g = greens[w.start..w.end].iter().filter(|&&x| x).count() as u64;
        prop_assert_eq!(g, w.green);
        prop_assert!((w.log10_p_corrected - (w.log10_p + (count as f64).log10()).min(0.0)).abs() < 1e-12);
    }
}

fn a_set_spans_documents<S: DedupSet>(mut set: S) {
    let w = scorer(Seeding::LeftHash, 100);
    let (mut a, mut b) = (Scoring::default(), Scoring::default());
    w.walk(0, &[1, 2, 3, 4], 0, Dedup::Tuple, &mut set, &mut a);
    w.walk(0, &[1, 2, 3, 4], 0, Dedup::Tuple, &mut set, &mut b);
    assert_eq!(a.scored(), 3);
    assert_eq!(b.scored(), 0, "the second copy adds nothing");
    assert_eq!(a.green(), b.green(), "a repeat keeps its colour");
    assert!(b.status().iter().skip(1).all(|&s| s == Status::Repeat));
    assert_eq!(set.len(), 3);
}

#[test]
fn a_dedup_set_spans_documents_exact_and_folded() {
    a_set_spans_documents(ExactSet::new());
    a_set_spans_documents(FpSet::new());
}

proptest! {
    /// The folded 64-bit set and the exact set keep the same units on real-sized inputs (a
    /// merge of two units has probability n²/2^65).
    #[test]
    fn folded_and_exact_sets_agree(
        seeding in prop_oneof![Just(Seeding::LeftHash), (1usize..4).prop_map(Seeding::MinHash), (2usize..4).prop_map(Seeding::SelfHash)],
        ids in proptest::collection::vec(0u32..40, 0..300),
        dedup in prop_oneof![Just(Dedup::Tuple), Just(Dedup::Window)],
    ) {
        let w = scorer(seeding, 40);
        let (mut a, mut b) = (Scoring::default(), Scoring::default());
        w.walk(0, &ids, 0, dedup, &mut ExactSet::new(), &mut a);
        w.walk(0, &ids, 0, dedup, &mut FpSet::new(), &mut b);
        prop_assert_eq!(a, b);
    }
}

#[test]
fn ids_outside_the_vocabulary_are_an_error() {
    let w = scorer(Seeding::LeftHash, 100);
    let err = w.score_ids(0, &[1, 2, 100, 4], 0, Dedup::Tuple).unwrap_err();
    assert!(err.is_vocab_mismatch());
    assert!(err.to_string().contains("token 2 has id 100"), "{err}");
}

#[test]
fn dedup_names() {
    for d in [Dedup::None, Dedup::Window, Dedup::Tuple] {
        assert_eq!(d.to_string().parse::<Dedup>().unwrap(), d);
    }
    assert!("Tuple".parse::<Dedup>().is_err());
    assert_eq!(Dedup::default(), Dedup::Tuple);
}

#[test]
fn window_lengths_grid() {
    assert_eq!(lengths(3), vec![1, 2, 3]);
    let l = lengths(100_000);
    assert_eq!(*l.first().unwrap(), 1);
    assert_eq!(*l.last().unwrap(), 100_000);
    assert!(l.windows(2).all(|p| p[0] < p[1]));
    assert!(l.len() < 300, "{}", l.len());
}

#[test]
fn a_planted_green_run_is_found() {
    // 400 units at the null rate, with 60 all-green units planted at 200..260.
    let mut greens: Vec<bool> = (0..400u64).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) % 4 == 0).collect();
    for g in &mut greens[200..260] {
        *g = true;
    }
    let w = best_window(&greens, 0.25).unwrap();
    assert!(w.start >= 190 && w.start <= 200 && w.end >= 260 && w.end <= 270, "{w:?}");
    assert!(w.log10_p_corrected < -25.0, "{w:?}");
}
