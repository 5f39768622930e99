//! Configuration validation: everything wrong is an error at construction.

use wmark_core::{Config, Seeding};

#[test]
fn seeding_names_round_trip() {
    for s in ["unigram", "lefthash", "window:1", "window:4", "minhash:4", "selfhash:1", "selfhash:32"] {
        let rule: Seeding = s.parse().unwrap();
        assert_eq!(rule.to_string(), s);
    }
}

#[test]
fn bad_seeding_names_are_config_errors() {
    for s in [
        "",
        "LeftHash",
        "lefthash:1",
        "window",
        "window:",
        "window:0",
        "window:33",
        "window:04",
        "window:+4",
        "window:-1",
        "minhash:x",
        "selfhash:0",
        "kgw",
        "window:4 ",
        "window:99999999999999999999",
    ] {
        let err = s.parse::<Seeding>().unwrap_err();
        assert!(err.is_config(), "{s:?}");
    }
    assert!(Config::new(Seeding::Window(0), 0.25, 2.0, 10).unwrap_err().is_config());
    assert!(Config::new(Seeding::MinHash(33), 0.25, 2.0, 10).unwrap_err().is_config());
}

#[test]
fn context_lengths() {
    assert_eq!(Seeding::Unigram.context_len(), 0);
    assert_eq!(Seeding::LeftHash.context_len(), 1);
    assert_eq!(Seeding::Window(3).context_len(), 3);
    assert_eq!(Seeding::MinHash(4).context_len(), 4);
    assert_eq!(Seeding::SelfHash(4).context_len(), 3);
    assert_eq!(Seeding::SelfHash(1).context_len(), 0);
}

#[test]
fn gamma_rounds_to_a_multiple_of_1_over_256() {
    let c = |g| Config::new(Seeding::LeftHash, g, 2.0, 100).unwrap();
    assert_eq!(c(0.25).green_threshold(), 64);
    assert_eq!(c(0.1).green_threshold(), 26);
    assert_eq!(c(0.1).gamma_effective(), 26.0 / 256.0);
    assert_eq!(c(0.5).green_threshold(), 128);
    assert_eq!(c(1.0 / 256.0).green_threshold(), 1);
    assert_eq!(c(255.0 / 256.0).green_threshold(), 255);
    // half-way rounds away from zero
    assert_eq!(c(1.5 / 256.0).green_threshold(), 2);
}

#[test]
fn out_of_range_values_are_rejected() {
    let bad_gamma = [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY, 0.4 / 256.0, 255.6 / 256.0];
    for g in bad_gamma {
        let err = Config::new(Seeding::LeftHash, g, 2.0, 100).unwrap_err();
        assert!(err.is_config() && err.to_string().contains("gamma"), "{g}: {err}");
    }
    for d in [f32::NAN, f32::INFINITY, -1.0] {
        let err = Config::new(Seeding::LeftHash, 0.25, d, 100).unwrap_err();
        assert!(err.is_config() && err.to_string().contains("delta"), "{d}: {err}");
    }
    assert!(Config::new(Seeding::LeftHash, 0.25, 0.0, 100).is_ok(), "delta 0 is allowed (controls)");
    let err = Config::new(Seeding::LeftHash, 0.25, 2.0, 0).unwrap_err();
    assert!(err.to_string().contains("vocab_size"), "{err}");
}
