//! Key files and the scheme configuration.

use wmark_core::{
    Config, Key, Seeding, HF_KEY_FILE_PREFIX, KEY_FILE_PREFIX, SYNTHID_KEY_FILE_PREFIX, VLLM_KEY_FILE_PREFIX,
};
use wmark_detect::{ConfigFile, Dedup};

use crate::Input;

/// `Key::parse_file` on any text (the bytes read as UTF-8 with replacement, as a loader
/// that accepted non-UTF-8 would see them).
///
/// * A file that parses is the canonical spelling of its key: writing the key again gives
///   the same text, so exactly one file spells each key.
/// * An error names line 1 or 2 and never repeats the key material: no hex or decimal run
///   of 24 characters or more from the input appears in the message.
/// * `Debug` and `Display` of a parsed key show its id only.
pub fn key_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Key::parse_file(&text) {
        Ok(key) => {
            assert_eq!(key.to_file_string().as_str(), text, "a parsed key file is canonical");
            assert_eq!(Key::parse_file(&key.to_file_string()).as_ref(), Ok(&key));
            let id = key.id().to_string();
            assert_eq!(format!("{key}"), format!("key {id}"));
            assert_eq!(format!("{key:?}"), format!("Key {{ id: KeyId({id}), .. }}"));
        }
        Err(e) => {
            assert!(e.is_key_file(), "a key file error: {e}");
            assert!(matches!(e.line(), Some(1 | 2)), "the error names line 1 or 2: {e}");
            let message = e.to_string();
            for run in text.split(|c: char| !c.is_ascii_hexdigit()) {
                assert!(run.len() < 24 || !message.contains(run), "the error repeats the input: {message}");
            }
        }
    }
    // Any key's file parses back to it.
    let mut input = Input::new(data);
    let key = match input.u8() % 5 {
        0 | 1 => Key::from_bytes(input.bytes()),
        2 => Key::from_vllm(input.u64()),
        3 => crate::synthid_key(&mut input),
        _ => Key::from_hf(if input.bool() { i128::from(input.u64()) } else { i128::from(input.u64() as i64) })
            .expect("a hashing key in range"),
    };
    let file = key.to_file_string();
    assert!(
        file.starts_with(KEY_FILE_PREFIX)
            || file.starts_with(VLLM_KEY_FILE_PREFIX)
            || file.starts_with(HF_KEY_FILE_PREFIX)
            || file.starts_with(SYNTHID_KEY_FILE_PREFIX)
    );
    assert_eq!(Key::parse_file(&file), Ok(key));
}

/// The `wmark.toml` reader (`ConfigFile::parse`) on any text, then what its values feed into.
///
/// * A refused text gives a one-line message, naming a line of the text when it names one.
/// * An accepted file is version 1; written back (`to_toml`) it reads back to the same file.
/// * Its scheme either parses or is refused as a configuration error, and its values either
///   make a configuration or are refused as one, as `wmark --config` builds it.
pub fn config_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match ConfigFile::parse(&text) {
        Ok(cfg) => {
            assert_eq!(cfg.version, 1);
            let written = cfg.to_toml().expect("every value read from TOML has a TOML spelling");
            assert_eq!(ConfigFile::parse(&written).as_ref(), Ok(&cfg), "written back: {written}");
            match cfg.scheme.parse::<Seeding>() {
                Ok(seeding) => {
                    let made = if seeding.synthid_ngram_len().is_some() {
                        Config::synthid(
                            seeding,
                            cfg.vocab_size,
                            cfg.sampling_table_size.unwrap_or(wmark_core::DEFAULT_SYNTHID_TABLE_SIZE),
                            cfg.sampling_table_seed.unwrap_or(0),
                        )
                    } else if seeding.is_gumbel() {
                        Config::gumbel(seeding, cfg.vocab_size)
                    } else {
                        Config::new(seeding, cfg.gamma, cfg.delta, cfg.vocab_size)
                    };
                    if let Err(e) = made {
                        assert!(e.is_config(), "{e}");
                    }
                }
                Err(e) => assert!(e.is_config(), "{e}"),
            }
        }
        Err(e) => {
            assert!(!e.message.contains('\n') && !e.message.is_empty(), "one line: {e:?}");
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.matches('\n').count() + 1, "line {line} of the text: {e:?}");
            }
        }
    }
}

/// What a `wmark.toml` feeds into: the seeding rule's name, gamma, delta, the vocabulary
/// size, the dual-key alpha and the dedup mode, from raw values ([`config_file`] reaches them
/// through the TOML reader).
///
/// * A rule name that parses is canonical: `Display` gives the same text back.
/// * `Config::new` either refuses, or gives a configuration whose effective gamma is in
///   (0, 1), whose delta is finite and non-negative and whose vocabulary is not empty.
/// * `with_alpha` accepts exactly [0, 1].
pub fn scheme_config(data: &[u8]) {
    let mut input = Input::new(data);
    let head = input.below(4);
    let (gamma, delta, vocab, alpha) = (input.f64(), input.f32(), input.u32(), input.f64());
    let rest = input.rest();
    let name = String::from_utf8_lossy(rest);
    let name = match head {
        // Mostly names close to the real ones.
        0 => format!("{}:{name}", crate::SCHEMES[usize::from(rest.first().copied().unwrap_or(0)) % 8]),
        _ => name.into_owned(),
    };
    if let Ok(dedup) = name.parse::<Dedup>() {
        assert_eq!(dedup.to_string(), name);
    }
    let seeding = match name.parse::<Seeding>() {
        Ok(s) => {
            assert_eq!(s.to_string(), name, "a parsed rule is canonical");
            s
        }
        Err(e) => {
            assert!(e.is_config(), "a config error: {e}");
            return;
        }
    };
    match Config::new(seeding, gamma, delta, vocab) {
        Ok(c) => {
            assert!(gamma.is_finite() && gamma > 0.0 && gamma < 1.0);
            assert!(c.gamma_effective() > 0.0 && c.gamma_effective() < 1.0);
            assert!((c.gamma_effective() - gamma).abs() <= 0.5 / 256.0 + 1e-12, "gamma rounds to the nearest 1/256");
            assert!(c.delta().is_finite() && c.delta() >= 0.0);
            assert!(c.vocab_size() >= 1);
            assert_eq!(c.seeding(), seeding);
            match c.with_alpha(alpha) {
                Ok(c) => assert!((0.0..=1.0).contains(&alpha) && c.alpha() == alpha),
                Err(e) => assert!(e.is_config() && !(0.0..=1.0).contains(&alpha)),
            }
        }
        Err(e) => assert!(e.is_config()),
    }
    match Config::gumbel(seeding, vocab) {
        Ok(c) => assert!(seeding.is_gumbel() && c.vocab_size() == vocab),
        Err(e) => assert!(e.is_config() && (!seeding.is_gumbel() || vocab == 0)),
    }
}
