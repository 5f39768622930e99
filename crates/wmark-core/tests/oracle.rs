//! The fast paths of `Watermark` against a naive oracle written as plainly as possible:
//! the HMAC message is built as one byte vector with a freshly keyed HMAC, and the
//! keystream is generated from byte 0 up to the token every time.

use hmac::{Hmac, Mac};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::Sha256;
use wmark_core::{Config, GreenMask, Key, Seeding, Watermark};

fn hmac(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().into()
}

fn oracle_token_hash(key: &[u8; 32], w: u32) -> u64 {
    let mut msg = b"wmark.v1\x00tokhash\x00".to_vec();
    msg.extend_from_slice(&w.to_le_bytes());
    let h = hmac(key, &msg);
    u64::from_le_bytes(h[..8].try_into().unwrap())
}

fn oracle_min_hash(key: &[u8; 32], tokens: &[u32]) -> u32 {
    let mut best = tokens[0];
    for &t in tokens {
        let (ht, hb) = (oracle_token_hash(key, t), oracle_token_hash(key, best));
        if ht < hb || (ht == hb && t < best) {
            best = t;
        }
    }
    best
}

/// The seed deciding `candidate` after `context`, per DESIGN §3, built naively.
fn oracle_seed(key: &[u8; 32], scheme: &str, context: &[u32], candidate: u32) -> [u8; 32] {
    let last = |n: usize| &context[context.len() - n..];
    let payload: Vec<u32> = match scheme.split_once(':') {
        None if scheme == "unigram" => vec![],
        None if scheme == "lefthash" => last(1).to_vec(),
        Some(("window", h)) => last(h.parse().unwrap()).to_vec(),
        Some(("minhash", h)) => vec![oracle_min_hash(key, last(h.parse().unwrap()))],
        Some(("selfhash", h)) => {
            let h: usize = h.parse().unwrap();
            let mut w = last(h - 1).to_vec();
            w.push(candidate);
            vec![candidate, oracle_min_hash(key, &w)]
        }
        _ => panic!("unknown scheme {scheme}"),
    };
    let mut msg = b"wmark.v1\x00".to_vec();
    msg.extend_from_slice(scheme.as_bytes());
    msg.push(0);
    for t in payload {
        msg.extend_from_slice(&t.to_le_bytes());
    }
    hmac(key, &msg)
}

fn oracle_stream(seed: [u8; 32], len: usize) -> Vec<u8> {
    let mut rng = ChaCha8Rng::from_seed(seed);
    let mut out = vec![0u8; len.div_ceil(4) * 4];
    rng.fill_bytes(&mut out);
    out.truncate(len);
    out
}

fn oracle_green(key: &[u8; 32], scheme: &str, g: u8, vocab: u32, context: &[u32], t: u32) -> bool {
    t < vocab && oracle_stream(oracle_seed(key, scheme, context, t), t as usize + 1)[t as usize] < g
}

fn seeding_strategy() -> impl Strategy<Value = Seeding> {
    prop_oneof![
        Just(Seeding::Unigram),
        Just(Seeding::LeftHash),
        (1usize..=6).prop_map(Seeding::Window),
        (1usize..=6).prop_map(Seeding::MinHash),
        (1usize..=6).prop_map(Seeding::SelfHash),
    ]
}

fn gamma_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.1), Just(0.25), Just(0.5), (1u32..=255).prop_map(|g| f64::from(g) / 256.0)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn membership_matches_oracle(
        key in any::<[u8; 32]>(),
        seeding in seeding_strategy(),
        gamma in gamma_strategy(),
        vocab in prop_oneof![1u32..300, 300u32..70_000],
        context in proptest::collection::vec(prop_oneof![0u32..8, any::<u32>()], 6..10),
        probes in proptest::collection::vec(any::<u32>(), 1..8),
    ) {
        let config = Config::new(seeding, gamma, 2.0, vocab).unwrap();
        let wm = Watermark::new(&Key::from_bytes(key), config);
        let scheme = seeding.to_string();
        let g = config.green_threshold();
        // Probe ids below, at and just above the vocabulary end, and a few anywhere below it.
        let mut ids: Vec<u32> = probes.iter().map(|p| p % vocab).collect();
        ids.extend([0, vocab - 1, vocab, vocab.saturating_add(1), probes[0]]);
        for t in ids {
            let t_cap = t.min(vocab + 64); // keep the naive stream short for huge ids
            prop_assert_eq!(
                wm.is_green(&context, t_cap).unwrap(),
                oracle_green(&key, &scheme, g, vocab, &context, t_cap),
                "token {}", t_cap
            );
        }
    }

    #[test]
    fn mask_matches_oracle(
        key in any::<[u8; 32]>(),
        seeding in prop_oneof![
            Just(Seeding::Unigram),
            Just(Seeding::LeftHash),
            (1usize..=5).prop_map(Seeding::Window),
            (1usize..=5).prop_map(Seeding::MinHash),
        ],
        gamma in gamma_strategy(),
        vocab in prop_oneof![1u32..200, 4000u32..9000, Just(32_000u32)],
        context in proptest::collection::vec(0u32..50, 5..8),
    ) {
        let config = Config::new(seeding, gamma, 2.0, vocab).unwrap();
        let wm = Watermark::new(&Key::from_bytes(key), config);
        let seed = oracle_seed(&key, &seeding.to_string(), &context, 0);
        let stream = oracle_stream(seed, vocab as usize);
        let mask = wm.mask(&context).unwrap();
        let expected: Vec<u32> =
            (0..vocab).filter(|&t| stream[t as usize] < config.green_threshold()).collect();
        prop_assert_eq!(mask.iter().collect::<Vec<_>>(), expected.clone());
        prop_assert_eq!(mask.count(), expected.len());
        for t in [0, vocab - 1, vocab, vocab + 1, vocab + 63] {
            prop_assert_eq!(mask.contains(t), t < vocab && stream[t as usize] < config.green_threshold());
        }
        // bits past the vocabulary end are zero in the last word
        let last = *mask.words().last().unwrap();
        if vocab % 64 != 0 {
            prop_assert_eq!(last >> (vocab % 64), 0);
        }
    }

    #[test]
    fn fill_mask_reuses_buffers(key in any::<[u8; 32]>(), a in any::<u32>(), b in any::<u32>()) {
        let wm = Watermark::new(&Key::from_bytes(key), Config::new(Seeding::LeftHash, 0.25, 2.0, 1000).unwrap());
        let mut mask = GreenMask::new(1000);
        wm.fill_mask(&wm.context_seed(&[a]).unwrap(), &mut mask);
        wm.fill_mask(&wm.context_seed(&[b]).unwrap(), &mut mask);
        prop_assert_eq!(mask, wm.mask(&[b]).unwrap());
    }

    #[test]
    fn token_hash_matches_oracle(key in any::<[u8; 32]>(), w in any::<u32>()) {
        let wm = Watermark::new(&Key::from_bytes(key), Config::new(Seeding::MinHash(2), 0.25, 2.0, 10).unwrap());
        prop_assert_eq!(wm.token_hash(w), oracle_token_hash(&key, w));
    }

    #[test]
    fn stream_byte_at_matches_sequential(seed in any::<[u8; 32]>(), t in 0u32..20_000) {
        let stream = oracle_stream(seed, t as usize + 1);
        prop_assert_eq!(wmark_core::Seed(seed).byte_at(t), stream[t as usize]);
    }
}

#[test]
fn context_longer_than_needed_uses_the_tail() {
    let key = Key::from_bytes([3; 32]);
    for seeding in [Seeding::LeftHash, Seeding::Window(3), Seeding::MinHash(3), Seeding::SelfHash(3)] {
        let wm = Watermark::new(&key, Config::new(seeding, 0.25, 2.0, 500).unwrap());
        let long = [9u32, 8, 7, 1, 2, 3];
        let short = &long[long.len() - seeding.context_len()..];
        for t in 0..500 {
            assert_eq!(wm.is_green(&long, t).unwrap(), wm.is_green(short, t).unwrap());
        }
    }
}

#[test]
fn short_context_is_an_error_not_a_panic() {
    let key = Key::from_bytes([3; 32]);
    let wm = Watermark::new(&key, Config::new(Seeding::Window(4), 0.25, 2.0, 500).unwrap());
    let err = wm.is_green(&[1, 2, 3], 5).unwrap_err();
    assert!(err.is_context_too_short());
    assert!(err.to_string().contains("needs 4"), "{err}");
    let wm = Watermark::new(&key, Config::new(Seeding::SelfHash(4), 0.25, 2.0, 500).unwrap());
    assert!(wm.context_seed(&[1, 2, 3]).unwrap_err().is_config());
    assert!(wm.is_green(&[1, 2], 5).unwrap_err().is_context_too_short());
    assert!(wm.is_green(&[1, 2, 3], 5).is_ok());
}

#[test]
fn green_fraction_is_near_gamma_effective() {
    let key = Key::from_bytes([1; 32]);
    for gamma in [0.1, 0.25, 0.5] {
        let config = Config::new(Seeding::LeftHash, gamma, 2.0, 262_144).unwrap();
        let wm = Watermark::new(&key, config);
        let n: usize = (0..8).map(|c| wm.mask(&[c]).unwrap().count()).sum();
        let frac = n as f64 / (8.0 * 262_144.0);
        // sd of the fraction is about sqrt(g(1-g)/2^21) < 4e-4; 10 sd
        assert!((frac - config.gamma_effective()).abs() < 4e-3, "gamma {gamma}: {frac}");
    }
}

#[test]
fn different_keys_rules_and_h_give_unrelated_lists() {
    let a = Key::from_bytes([1; 32]);
    let b = Key::from_bytes([2; 32]);
    let cfg = |s| Config::new(s, 0.5, 2.0, 4096).unwrap();
    let masks = [
        Watermark::new(&a, cfg(Seeding::LeftHash)).mask(&[5]).unwrap(),
        Watermark::new(&b, cfg(Seeding::LeftHash)).mask(&[5]).unwrap(),
        Watermark::new(&a, cfg(Seeding::Window(1))).mask(&[5]).unwrap(),
        Watermark::new(&a, cfg(Seeding::Window(2))).mask(&[0, 5]).unwrap(),
    ];
    for i in 0..masks.len() {
        for j in i + 1..masks.len() {
            let same = (0..4096).filter(|&t| masks[i].contains(t) == masks[j].contains(t)).count();
            // unrelated lists at gamma 0.5 agree on about half the ids
            assert!((1700..2400).contains(&same), "{i} vs {j}: {same}");
        }
    }
}

#[test]
fn account_keys_are_distinct_and_stable() {
    let master = Key::from_bytes([9; 32]);
    let a = master.derive_account("acme");
    let b = master.derive_account("acme-2");
    assert_ne!(a, b);
    assert_ne!(a, master);
    assert_eq!(a, master.derive_account("acme"));
    assert_ne!(a.id(), b.id());
}
