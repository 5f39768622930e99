//! The bodies of wmark's fuzz targets, one function per input surface.
//!
//! Each target takes arbitrary bytes, builds an input for one surface of wmark from them
//! (a key file, a text to normalise, token ids under some scheme, a row of logits …), runs
//! it, and checks with `assert!` the properties that surface promises: no panic is implied,
//! and each target states what else must hold. The functions are plain Rust, so the same
//! body runs under libFuzzer (`fuzz/`, `scripts/fuzz`) and in the ordinary test suite
//! (`tests/corpus.rs` replays the checked-in corpora and a small deterministic mutation of
//! them). docs/fuzzing.md describes the targets and how a crash becomes a regression test.
//!
//! Not reachable from here: the JSON Lines reader of the command line lives in the root
//! `wmark` crate, which depends on the language-model crates ([`radioactive`] fuzzes what its
//! lines feed into), and the server's request parser lives in `wmark-mistralrs`, which
//! depends on mistral.rs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod input;
mod keys;
mod logits;
mod scoring;
mod text;

pub use input::Input;
pub use keys::{config_file, key_file, scheme_config};
pub use logits::{gumbel_sampler, processor, synthid_processor};
pub use scoring::{detect_ids, radioactive, window_scan};
pub use text::{detect_text, normalize};

/// A fuzz target: its name (the directory of its corpus, `fuzz/corpus/<name>/`, and the
/// name of its `fuzz/fuzz_targets/<name>.rs`) and its body.
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The body: panics (an assertion or a bug) on a finding.
    pub run: fn(&[u8]),
}

/// Every target, in the order `scripts/fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "key_file", run: key_file },
    Target { name: "scheme_config", run: scheme_config },
    Target { name: "config_file", run: config_file },
    Target { name: "normalize", run: normalize },
    Target { name: "detect_text", run: detect_text },
    Target { name: "detect_ids", run: detect_ids },
    Target { name: "window_scan", run: window_scan },
    Target { name: "radioactive", run: radioactive },
    Target { name: "processor", run: processor },
    Target { name: "gumbel_sampler", run: gumbel_sampler },
    Target { name: "synthid_processor", run: synthid_processor },
];

/// The scheme names the scoring targets choose from; `h` and `w` are filled in from the
/// input.
const SCHEMES: &[&str] = &[
    "unigram",
    "lefthash",
    "window",
    "minhash",
    "selfhash",
    "gumbel",
    "vllm-gumbel",
    "vllm-dual-key-gumbel",
    "hf-lefthash",
    "hf-selfhash",
    "hf-synthid",
];

/// A valid seeding rule from the input: one of [`SCHEMES`], with a small `h` (1 to 8) or
/// context width (1 to 8, sometimes up to the largest accepted).
fn seeding(input: &mut Input<'_>) -> wmark_core::Seeding {
    let name = SCHEMES[input.below(SCHEMES.len())];
    let n = input.u8();
    let text = match name {
        "unigram" | "lefthash" => name.to_string(),
        "hf-synthid" => format!("{name}:{}", 2 + n % 7),
        n_name if n_name.starts_with("vllm-") && n >= 250 => {
            format!("{name}:{}", 1 + usize::from(n) * 4 % wmark_core::MAX_VLLM_WIDTH)
        }
        _ => format!("{name}:{}", 1 + n % 8),
    };
    text.parse().expect("a valid scheme name")
}

/// A key of the kind `seeding` needs, from the input.
fn key_for(seeding: wmark_core::Seeding, input: &mut Input<'_>) -> wmark_core::Key {
    match seeding.key_kind() {
        wmark_core::KeyKind::Vllm => wmark_core::Key::from_vllm(input.u64()),
        // Every hashing key transformers takes: -2^63 ..= 2^64 - 1.
        wmark_core::KeyKind::Hf => {
            let k = if input.bool() { i128::from(input.u64()) } else { i128::from(input.u64() as i64) };
            wmark_core::Key::from_hf(k).expect("a hashing key in range")
        }
        // Keys tested together need as many layers each: the n-gram length's number.
        wmark_core::KeyKind::SynthId => {
            let layers = seeding.synthid_ngram_len().expect("hf-synthid");
            // Distinct (the detector refuses a repeated layer key): the low byte is the layer.
            let keys: Vec<i64> = (0..layers).map(|l| ((input.u64() & !0xff) | l as u64) as i64).collect();
            wmark_core::Key::from_synthid(&keys).expect("2 to 8 layers")
        }
        _ => wmark_core::Key::from_bytes([input.u8(); 32]),
    }
}

/// SynthID-Text layer keys from the input: 1 to 8 of them, any signed 64-bit values.
fn synthid_key(input: &mut Input<'_>) -> wmark_core::Key {
    let layers: Vec<i64> = (0..1 + input.below(8)).map(|_| input.u64() as i64).collect();
    wmark_core::Key::from_synthid(&layers).expect("1 to 8 layers")
}

/// A configuration for `seeding` with a vocabulary from the input: usually small, sometimes
/// up to `u32::MAX` (ids are then mostly below it).
fn config_for(seeding: wmark_core::Seeding, input: &mut Input<'_>) -> wmark_core::Config {
    let vocab = match input.u8() {
        0 => u32::MAX,
        1 => 1,
        2 => u32::from(input.u16()).max(1),
        b => u32::from(b),
    };
    if seeding.synthid_ngram_len().is_some() {
        // Any table size and seed; one that holds a single value is refused, then the default.
        let size = if input.bool() { 1 + u32::from(input.u16()) } else { wmark_core::DEFAULT_SYNTHID_TABLE_SIZE };
        wmark_core::Config::synthid(seeding, vocab, size, u64::from(input.u32()))
            .or_else(|_| wmark_core::Config::synthid(seeding, vocab, wmark_core::DEFAULT_SYNTHID_TABLE_SIZE, 0))
            .expect("a valid SynthID config")
    } else if seeding.is_gumbel() {
        let config = wmark_core::Config::gumbel(seeding, vocab).expect("a valid Gumbel config");
        let alpha = f64::from(input.u8()) / 255.0;
        config.with_alpha(alpha).expect("alpha in [0, 1]")
    } else if seeding.hf_width().is_some() {
        // transformers' green lists cost a shuffle of the vocabulary per context: keep it
        // small. A ratio that leaves no green or no red id falls back to one half.
        let vocab = 2 + vocab % 4094;
        let gamma = f64::from(input.u8().max(1)) / 256.0;
        wmark_core::Config::new(seeding, gamma, 0.0, vocab)
            .or_else(|_| wmark_core::Config::new(seeding, 0.5, 0.0, vocab))
            .expect("a valid Hugging Face config")
    } else {
        let gamma = f64::from(input.u8().max(1)) / 256.0;
        wmark_core::Config::new(seeding, gamma, f32::from(input.u8()) / 16.0, vocab).expect("a valid config")
    }
}

/// `n` token ids below `vocab`, from the input; one in sixteen inputs may hold ids outside
/// the vocabulary.
fn ids(input: &mut Input<'_>, n: usize, vocab: u32, allow_out_of_range: bool) -> Vec<u32> {
    (0..n)
        .map(|_| {
            // Small alphabets make repeats (and so dedup) likely.
            let raw = if input.u8() < 128 { u32::from(input.u8() % 8) } else { input.u32() };
            if allow_out_of_range {
                raw
            } else {
                raw % vocab
            }
        })
        .collect()
}

/// True if `x` is a log10 p-value: not NaN and at most 0.
fn is_log10_p(x: f64) -> bool {
    !x.is_nan() && x <= 0.0
}
