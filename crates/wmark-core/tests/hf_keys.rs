//! Hugging Face hashing keys: the key file `wmark-hf-key-v1:<decimal>`, transformers' range
//! (−2^63 to 2^64 − 1), ids and account derivation, and the `hf-*` configurations.

use wmark_core::{Config, Key, KeyKind, Seeding};

#[test]
fn key_files_round_trip_over_the_whole_range() {
    for k in [0i128, 15_485_863, -7, i128::from(i64::MIN), i128::from(u64::MAX), 1 << 63] {
        let key = Key::from_hf(k).unwrap();
        assert_eq!(key.kind(), KeyKind::Hf);
        assert_eq!(key.dangerous_expose_hf_key(), Some(k));
        let text = key.to_file_string();
        assert_eq!(text.as_str(), format!("wmark-hf-key-v1:{k}\n"));
        let back = Key::parse_file(&text).unwrap();
        assert_eq!(back, key);
        assert_eq!(back.id(), key.id());
    }
}

#[test]
fn keys_outside_transformers_range_and_malformed_files_are_refused() {
    assert!(Key::from_hf(i128::from(i64::MIN) - 1).is_err());
    assert!(Key::from_hf(i128::from(u64::MAX) + 1).is_err());
    for bad in [
        "wmark-hf-key-v1:\n",
        "wmark-hf-key-v1:-\n",
        "wmark-hf-key-v1:-0\n",
        "wmark-hf-key-v1:007\n",
        "wmark-hf-key-v1:+7\n",
        "wmark-hf-key-v1: 7\n",
        "wmark-hf-key-v1:18446744073709551616\n",
        "wmark-hf-key-v1:-9223372036854775809\n",
        "wmark-hf-key-v1:99999999999999999999999999999999999999999\n",
        "wmark-hf-key-v1:7",
        "wmark-hf-key-v1:7\r\n",
        "wmark-hf-key-v1:7\n7\n",
        "wmark-hf-key-v1:0x10\n",
    ] {
        let e = Key::parse_file(bad).unwrap_err();
        assert!(!e.to_string().contains("99999999"), "an error never repeats the key: {e}");
    }
    assert_eq!(Key::parse_file("wmark-hf-key-v1:-9223372036854775808\n").unwrap().dangerous_expose_hf_key(), {
        Some(i128::from(i64::MIN))
    });
}

#[test]
fn an_hf_key_has_its_own_id_space_and_derives_hf_account_keys() {
    let hf = Key::from_hf(15_485_863).unwrap();
    let vllm = Key::from_vllm(15_485_863);
    assert_ne!(hf.id(), vllm.id());
    assert_ne!(hf, vllm);
    let a = hf.derive_account("alice");
    assert_eq!(a.kind(), KeyKind::Hf);
    assert_ne!(a, hf.derive_account("bob"));
    assert_eq!(a, hf.derive_account("alice"));
    assert!(a.dangerous_expose_hf_key().unwrap() >= 0);
    assert!(format!("{hf:?} {hf}").find("15485863").is_none());
}

#[test]
fn hf_configurations_keep_the_ratio_and_use_the_exact_green_share() {
    let c = Config::new(Seeding::HfLeftHash(1), 0.25, 2.0, 50_257).unwrap();
    assert_eq!(c.hf_greenlist_ratio(), Some(0.25));
    assert_eq!(c.gamma_effective(), 12_564.0 / 50_257.0);
    assert_eq!(c.seeding().key_kind(), KeyKind::Hf);
    assert!(c.seeding().is_detect_only());
    assert_eq!(Seeding::HfLeftHash(3).context_len(), 3);
    assert_eq!(Seeding::HfSelfHash(4).context_len(), 3);
    for s in ["hf-lefthash:1", "hf-selfhash:4", "hf-lefthash:1024"] {
        assert_eq!(s.parse::<Seeding>().unwrap().to_string(), s);
    }
    for s in ["hf-lefthash", "hf-selfhash:0", "hf-lefthash:1025", "hf-selfhash:04"] {
        assert!(s.parse::<Seeding>().is_err(), "{s}");
    }
    // int(V·γ) must leave at least one green and one red id.
    assert!(Config::new(Seeding::HfLeftHash(1), 0.001, 0.0, 100).is_err());
    assert!(Config::new(Seeding::HfSelfHash(1), 0.5, 0.0, 1).is_err());
    assert!(Config::new(Seeding::HfSelfHash(1), 0.5, 0.0, u32::MAX / 20).is_err());
    assert!(Config::new(Seeding::HfSelfHash(1), 0.5, 0.0, 2).is_ok());
}
