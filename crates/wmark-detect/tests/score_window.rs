//! Scoring against the core's membership function, dedup semantics, and the window scan
//! against brute force.

use proptest::prelude::*;
use wmark_core::{Config, Key, Seeding, Watermark};
use wmark_detect::score::{score, Dedup, DedupTape, Status};
use wmark_detect::stats::binomial_upper_tail_log10;
use wmark_detect::window::{best_window, lengths};

fn wm(seeding: Seeding, vocab: u32) -> Watermark {
    Watermark::new(&Key::from_bytes([3; 32]), Config::new(seeding, 0.25, 2.0, vocab).unwrap())
}

proptest! {
    #[test]
    fn no_dedup_scores_every_position_with_context(
        seeding in prop_oneof![Just(Seeding::Unigram), Just(Seeding::LeftHash), (1usize..5).prop_map(Seeding::MinHash), (1usize..5).prop_map(Seeding::SelfHash)],
        ids in proptest::collection::vec(0u32..300, 0..80),
        from in 0usize..10,
    ) {
        let w = wm(seeding, 300);
        let s = score(&w, &ids, from, Dedup::None, &mut DedupTape::new()).unwrap();
        let from = from.min(ids.len());
        prop_assert_eq!(s.status.len(), ids.len() - from);
        let need = seeding.context_len();
        let mut greens = 0;
        for (k, i) in (from..ids.len()).enumerate() {
            if i < need {
                prop_assert_eq!(s.status[k], Status::NoContext);
            } else {
                let g = w.is_green(&ids[..i], ids[i]).unwrap();
                prop_assert_eq!(s.green[k], g);
                prop_assert_eq!(s.status[k], if g { Status::Green } else { Status::Red });
                greens += u64::from(g);
            }
        }
        prop_assert_eq!(s.scored, (ids.len() - from.max(need).min(ids.len())) as u64);
        prop_assert_eq!(s.greens, greens);
    }

    #[test]
    fn tuple_dedup_counts_distinct_tuples(ids in proptest::collection::vec(0u32..6, 2..200)) {
        // lefthash: the tuple is (previous token, token)
        let w = wm(Seeding::LeftHash, 10);
        let s = score(&w, &ids, 0, Dedup::Tuple, &mut DedupTape::new()).unwrap();
        let distinct: std::collections::HashSet<(u32, u32)> = ids.windows(2).map(|p| (p[0], p[1])).collect();
        prop_assert_eq!(s.scored, distinct.len() as u64);
        let windows: std::collections::HashSet<u32> = ids[..ids.len() - 1].iter().copied().collect();
        let w_s = score(&w, &ids, 0, Dedup::Window, &mut DedupTape::new()).unwrap();
        prop_assert_eq!(w_s.scored, windows.len() as u64);
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

#[test]
fn a_tape_spans_documents() {
    let w = wm(Seeding::LeftHash, 100);
    let mut tape = DedupTape::new();
    let a = score(&w, &[1, 2, 3, 4], 0, Dedup::Tuple, &mut tape).unwrap();
    let b = score(&w, &[1, 2, 3, 4], 0, Dedup::Tuple, &mut tape).unwrap();
    assert_eq!(a.scored, 3);
    assert_eq!(b.scored, 0, "the second copy adds nothing");
    assert!(b.status.iter().skip(1).all(|&s| s == Status::Repeat));
    assert_eq!(tape.len(), 3);
}

#[test]
fn ids_outside_the_vocabulary_are_an_error() {
    let w = wm(Seeding::LeftHash, 100);
    let err = score(&w, &[1, 2, 100, 4], 0, Dedup::Tuple, &mut DedupTape::new()).unwrap_err();
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
