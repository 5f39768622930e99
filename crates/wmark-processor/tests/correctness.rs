//! Every processor path against the plain membership function of `wmark-core`.

use ndarray::{Array2, ShapeBuilder};
use proptest::prelude::*;
use wmark_core::{Config, Key, Seeding, Watermark};
use wmark_processor::{BatchCache, LogitsProcessor, Outcome, Processor, SharedProcessor};

const DELTA: f32 = 2.0;

fn config(seeding: Seeding, vocab: u32) -> Config {
    Config::new(seeding, 0.25, DELTA, vocab).unwrap()
}

/// The expected row: δ added exactly where the core says the id is green.
fn oracle(wm: &Watermark, context: &[u32], logits: &[f32]) -> Vec<f32> {
    logits
        .iter()
        .enumerate()
        .map(|(i, &l)| if wm.is_green(context, i as u32).unwrap() { l + DELTA } else { l })
        .collect()
}

/// selfhash: the k largest finite logits (ties: smaller id first) are tested.
fn oracle_top_k(wm: &Watermark, context: &[u32], logits: &[f32], k: usize) -> Vec<f32> {
    let mut order: Vec<usize> = (0..logits.len()).filter(|&i| logits[i].is_finite()).collect();
    order.sort_by(|&a, &b| logits[b].partial_cmp(&logits[a]).unwrap().then(a.cmp(&b)));
    let mut out = logits.to_vec();
    for &i in order.iter().take(k) {
        if wm.is_green(context, i as u32).unwrap() {
            out[i] += DELTA;
        }
    }
    out
}

fn seeding_strategy() -> impl Strategy<Value = Seeding> {
    prop_oneof![
        Just(Seeding::Unigram),
        Just(Seeding::LeftHash),
        (1usize..=4).prop_map(Seeding::Window),
        (1usize..=4).prop_map(Seeding::MinHash),
    ]
}

fn logits_strategy(vocab: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(
        prop_oneof![8 => -10.0f32..10.0, 1 => Just(f32::NEG_INFINITY), 1 => prop::sample::select(vec![0.0f32, 1.5])],
        vocab,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn exact_mode_matches_membership(
        key in any::<[u8; 32]>(),
        seeding in seeding_strategy(),
        vocab in prop_oneof![1usize..100, 1000usize..3000],
        context in proptest::collection::vec(0u32..5000, 4..8),
        cache_bytes in prop_oneof![Just(0usize), Just(1usize << 20)],
        seed_logits in any::<u64>(),
    ) {
        let key = Key::from_bytes(key);
        let cfg = config(seeding, vocab as u32);
        let p = Processor::builder().mask_cache_bytes(cache_bytes).build(&key, cfg);
        let wm = Watermark::new(&key, cfg);
        let logits: Vec<f32> = (0..vocab).map(|i| ((i as u64 ^ seed_logits) % 97) as f32 / 7.0 - 5.0).collect();
        let expected = oracle(&wm, &context, &logits);
        let mut cache = p.create_cache();
        // twice: the second call hits the mask cache when it is on
        for _ in 0..2 {
            let mut row = logits.clone();
            prop_assert_eq!(p.apply(&mut cache, &context, &mut row).unwrap(), Outcome::Applied);
            prop_assert_eq!(&row, &expected);
        }
    }

    #[test]
    fn finite_mode_equals_exact_mode(
        key in any::<[u8; 32]>(),
        seeding in seeding_strategy(),
        context in proptest::collection::vec(0u32..5000, 4..8),
        logits in logits_strategy(4000),
        n_finite in prop_oneof![0usize..60, Just(4000usize)],
    ) {
        let key = Key::from_bytes(key);
        let p = Processor::new(&key, config(seeding, 4000));
        let mut logits = logits;
        // keep only n_finite finite entries, as a top-k warper would
        let mut seen = 0;
        for l in logits.iter_mut() {
            if l.is_finite() {
                seen += 1;
                if seen > n_finite { *l = f32::NEG_INFINITY; }
            }
        }
        let mut cache = p.create_cache();
        let mut exact = logits.clone();
        p.apply(&mut cache, &context, &mut exact).unwrap();
        let mut finite = logits.clone();
        p.apply_finite(&mut cache, &context, &mut finite).unwrap();
        prop_assert_eq!(exact, finite);
    }

    #[test]
    fn selfhash_biases_the_green_among_top_k(
        key in any::<[u8; 32]>(),
        h in 1usize..=4,
        k in prop_oneof![Just(1usize), Just(40usize), 2usize..100],
        context in proptest::collection::vec(0u32..5000, 3..6),
        logits in logits_strategy(3000),
    ) {
        let key = Key::from_bytes(key);
        let cfg = config(Seeding::SelfHash(h), 3000);
        let p = Processor::builder().top_k(k).build(&key, cfg);
        let wm = Watermark::new(&key, cfg);
        let expected = oracle_top_k(&wm, &context, &logits, k);
        let mut cache = p.create_cache();
        for apply in [Processor::apply, Processor::apply_finite] {
            let mut row = logits.clone();
            apply(&p, &mut cache, &context, &mut row).unwrap();
            prop_assert_eq!(&row, &expected);
        }
    }

    #[test]
    fn explicit_candidates_are_biased_once(
        key in any::<[u8; 32]>(),
        seeding in prop_oneof![seeding_strategy(), (1usize..=4).prop_map(Seeding::SelfHash)],
        context in proptest::collection::vec(0u32..5000, 4..8),
        candidates in proptest::collection::vec(0u32..500, 0..60),
    ) {
        let key = Key::from_bytes(key);
        let cfg = config(seeding, 500);
        let p = Processor::new(&key, cfg);
        let wm = Watermark::new(&key, cfg);
        let mut doubled = candidates.clone();
        doubled.extend_from_slice(&candidates);
        let mut row = vec![0.0f32; 500];
        p.apply_candidates(&mut p.create_cache(), &context, &mut row, &doubled).unwrap();
        for (i, &l) in row.iter().enumerate() {
            let expect = candidates.contains(&(i as u32)) && wm.is_green(&context, i as u32).unwrap();
            prop_assert_eq!(l, if expect { DELTA } else { 0.0 }, "id {}", i);
        }
    }
}

#[test]
fn wrong_logits_length_is_an_error_and_changes_nothing() {
    let p = Processor::new(&Key::from_bytes([1; 32]), config(Seeding::LeftHash, 100));
    let mut cache = p.create_cache();
    for len in [0usize, 99, 101, 50_272] {
        let mut row = vec![1.0f32; len];
        for result in [
            p.apply(&mut cache, &[3], &mut row),
            p.apply_finite(&mut cache, &[3], &mut row),
            p.apply_candidates(&mut cache, &[3], &mut row, &[1, 2]),
        ] {
            let err = result.unwrap_err();
            assert!(err.is_logits_length(), "{err}");
            assert!(err.to_string().contains(&format!("{len} entries")), "{err}");
        }
        assert!(row.iter().all(|&l| l == 1.0));
    }
}

#[test]
fn out_of_range_candidate_is_an_error_and_changes_nothing() {
    let p = Processor::new(&Key::from_bytes([1; 32]), config(Seeding::LeftHash, 100));
    let mut row = vec![0.0f32; 100];
    let err = p.apply_candidates(&mut p.create_cache(), &[3], &mut row, &[5, 100, 7]).unwrap_err();
    assert!(err.is_candidate_out_of_range(), "{err}");
    assert!(err.to_string().contains("100"));
    assert!(row.iter().all(|&l| l == 0.0));
}

#[test]
fn short_context_leaves_logits_unchanged() {
    let p = Processor::new(&Key::from_bytes([1; 32]), config(Seeding::Window(3), 100));
    let mut cache = p.create_cache();
    let mut row = vec![0.5f32; 100];
    assert_eq!(p.apply(&mut cache, &[1, 2], &mut row).unwrap(), Outcome::ContextTooShort);
    assert_eq!(p.apply_finite(&mut cache, &[], &mut row).unwrap(), Outcome::ContextTooShort);
    assert!(row.iter().all(|&l| l == 0.5));
    // unigram and selfhash:1 need no context at all
    for seeding in [Seeding::Unigram, Seeding::SelfHash(1)] {
        let p = Processor::new(&Key::from_bytes([1; 32]), config(seeding, 100));
        assert_eq!(p.apply(&mut p.create_cache(), &[], &mut row).unwrap(), Outcome::Applied);
    }
}

#[test]
fn non_finite_values_stay_as_they_are() {
    let p = Processor::new(&Key::from_bytes([4; 32]), config(Seeding::Unigram, 256));
    let mut row = vec![f32::NEG_INFINITY; 256];
    row[7] = f32::NAN;
    p.apply(&mut p.create_cache(), &[], &mut row).unwrap();
    assert!(row.iter().enumerate().all(|(i, l)| if i == 7 { l.is_nan() } else { *l == f32::NEG_INFINITY }));
}

#[test]
fn batch_equals_rows_serial_parallel_and_strided() {
    let key = Key::from_bytes([8; 32]);
    for (seeding, vocab) in
        [(Seeding::LeftHash, 20_000usize), (Seeding::MinHash(3), 300), (Seeding::SelfHash(2), 20_000)]
    {
        let p = Processor::new(&key, config(seeding, vocab as u32));
        let rows = 9;
        let contexts: Vec<Vec<u32>> = (0..rows).map(|r| vec![r as u32, 7, 11 * r as u32 + 1]).collect();
        let ctx_refs: Vec<&[u32]> = contexts.iter().map(|c| c.as_slice()).collect();
        let base = Array2::from_shape_fn((rows, vocab), |(r, c)| ((r * 31 + c * 17) % 101) as f32 / 10.0);
        let mut expected = base.clone();
        let mut cache = p.create_cache();
        for (r, mut row) in expected.rows_mut().into_iter().enumerate() {
            p.apply(&mut cache, &contexts[r], row.as_slice_mut().unwrap()).unwrap();
        }
        let mut batch = base.clone();
        let mut caches = BatchCache::new();
        p.apply_batch(&mut caches, &ctx_refs, batch.view_mut()).unwrap();
        assert_eq!(batch, expected, "{seeding}");
        // Column-major storage: rows are strided views.
        let mut fortran = Array2::zeros((rows, vocab).f());
        fortran.assign(&base);
        p.apply_batch(&mut caches, &ctx_refs, fortran.view_mut()).unwrap();
        assert_eq!(fortran, expected, "{seeding}, strided");
        // Candidate mode: 50 finite logits per row.
        let sparse = Array2::from_shape_fn((rows, vocab), |(r, c)| {
            if (c * 7 + r) % (vocab / 50) == 0 {
                c as f32
            } else {
                f32::NEG_INFINITY
            }
        });
        let mut expected = sparse.clone();
        for (r, mut row) in expected.rows_mut().into_iter().enumerate() {
            p.apply_finite(&mut cache, &contexts[r], row.as_slice_mut().unwrap()).unwrap();
        }
        let mut batch = sparse.clone();
        p.apply_batch_finite(&mut caches, &ctx_refs, batch.view_mut()).unwrap();
        assert_eq!(batch, expected, "{seeding}, finite");
    }
}

#[test]
fn batch_shape_errors() {
    let p = Processor::new(&Key::from_bytes([8; 32]), config(Seeding::LeftHash, 50));
    let mut logits = Array2::<f32>::zeros((3, 50));
    let err = p.apply_batch(&mut BatchCache::new(), &[&[1u32][..], &[2]], logits.view_mut()).unwrap_err();
    assert!(err.is_batch_shape(), "{err}");
    let mut wide = Array2::<f32>::zeros((2, 51));
    let err = p.apply_batch(&mut BatchCache::new(), &[&[1u32][..], &[2]], wide.view_mut()).unwrap_err();
    assert!(err.is_logits_length(), "{err}");
    assert!(wide.iter().all(|&x| x == 0.0));
}

#[test]
fn trait_objects_match_apply() {
    let key = Key::from_bytes([2; 32]);
    let p = Processor::new(&key, config(Seeding::LeftHash, 1000));
    let shared: Box<dyn LogitsProcessor> = Box::new(SharedProcessor::new(p.clone()));
    let plain: &dyn LogitsProcessor = &p;
    let mut a = vec![0.0f32; 1000];
    let mut b = vec![0.0f32; 1000];
    let mut c = vec![0.0f32; 1000];
    shared.apply(&mut a, &[5, 6]).unwrap();
    plain.apply(&mut b, &[5, 6]).unwrap();
    p.apply(&mut p.create_cache(), &[5, 6], &mut c).unwrap();
    assert_eq!(a, c);
    assert_eq!(b, c);
    assert!(shared.apply(&mut [0.0; 10], &[1]).unwrap_err().is_logits_length());
}

#[test]
fn mask_cache_is_bounded_in_bytes() {
    let key = Key::from_bytes([2; 32]);
    let vocab = 64_000u32;
    let budget = 5 * 64_000; // five lists of 64,000 bytes
    let p = Processor::builder().mask_cache_bytes(budget).build(&key, config(Seeding::LeftHash, vocab));
    let mut cache = p.create_cache();
    let mut row = vec![0.0f32; vocab as usize];
    for t in 0..50u32 {
        p.apply(&mut cache, &[t % 7], &mut row).unwrap();
        assert!(cache.mask_cache_bytes() <= budget, "{}", cache.mask_cache_bytes());
    }
    let (hits, misses) = cache.mask_cache_stats();
    assert_eq!(hits + misses, 50);
    assert!(misses >= 7, "seven contexts, five slots: {hits} hits, {misses} misses");
}
