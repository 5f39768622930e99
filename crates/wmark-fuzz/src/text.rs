//! Normalisation and text detection.

use std::sync::OnceLock;

use wmark_core::{Config, Key, Seeding};
use wmark_detect::normalize::{self, Options};
use wmark_detect::{Detector, TextTokenizer, TokenFlag};

use crate::Input;

/// The options from the low three bits of a byte.
fn options(b: u8) -> Options {
    Options { nfc: b & 1 != 0, strip_invisible: b & 2 != 0, confusables: b & 4 != 0 }
}

/// `normalize` on any text, with any combination of steps, and `original_range` on ranges
/// taken from the input.
///
/// * ASCII text, and any text with every step off, comes back unchanged, and `changed` is
///   true exactly when the text differs.
/// * Normalising is idempotent.
/// * Every range of the normalised text maps inside the original, start ≤ end, both on
///   character boundaries of the original; the whole text maps to the whole original; the
///   map is monotone on non-empty ranges.
pub fn normalize(data: &[u8]) {
    let mut input = Input::new(data);
    let opts = options(input.u8());
    let probes: Vec<(usize, usize)> = (0..4).map(|_| (usize::from(input.u8()), usize::from(input.u8()))).collect();
    let original = String::from_utf8_lossy(input.rest());
    let n = normalize::normalize(&original, &opts);
    let text = n.text();
    assert_eq!(n.changed(), text != original, "changed() says whether the text differs");
    if original.is_ascii() || opts == Options::none() {
        assert_eq!(text, original, "ASCII text and text with every step off are untouched");
    }
    let again = normalize::normalize(text, &opts);
    assert_eq!(again.text(), text, "normalize is idempotent");

    let len = text.len();
    let check = |r: std::ops::Range<usize>| {
        let m = n.original_range(r.clone());
        assert!(m.start <= m.end && m.end <= original.len(), "{r:?} maps to {m:?}, outside the original");
        assert!(original.is_char_boundary(m.start) && original.is_char_boundary(m.end), "{r:?} maps to {m:?}");
        m
    };
    assert_eq!(check(0..len), 0..original.len(), "the whole text maps to the whole original");
    // Every character, then the probes (scaled to the text, some past its end).
    let chars: Vec<std::ops::Range<usize>> = text.char_indices().map(|(i, c)| i..i + c.len_utf8()).collect();
    let probes: Vec<std::ops::Range<usize>> = probes
        .iter()
        .map(|&(a, b)| {
            let scale = |x: usize| x * (len + 8) / 255;
            scale(a)..scale(b)
        })
        .collect();
    let mapped_chars: Vec<_> = chars.iter().map(|r| check(r.clone())).collect();
    let mapped_probes: Vec<_> = probes.iter().map(|r| check(r.clone())).collect();
    let nonempty = |r: &std::ops::Range<usize>| r.start.min(len) < r.end.min(len);
    let monotone = |a: &std::ops::Range<usize>,
                    ma: &std::ops::Range<usize>,
                    b: &std::ops::Range<usize>,
                    mb: &std::ops::Range<usize>| {
        if nonempty(a) && nonempty(b) && a.start <= b.start && a.end <= b.end {
            assert!(ma.start <= mb.start && ma.end <= mb.end, "not monotone: {a:?}→{ma:?}, {b:?}→{mb:?}");
        }
    };
    // Character ranges come in order, so neighbours suffice (the order is transitive); a
    // probe is compared with every range, both ways. Linear in the text, not quadratic.
    for (w, m) in chars.windows(2).zip(mapped_chars.windows(2)) {
        monotone(&w[0], &m[0], &w[1], &m[1]);
    }
    for (p, mp) in probes.iter().zip(&mapped_probes) {
        for (r, mr) in chars.iter().zip(&mapped_chars).chain(probes.iter().zip(&mapped_probes)) {
            monotone(p, mp, r, mr);
            monotone(r, mr, p, mp);
        }
    }
}

/// A small byte-level BPE `tokenizer.json` built in memory, of the shape the chunked paths
/// accept (no normalizer, a `ByteLevel` pre-tokenizer with its regex and no prefix space),
/// with a few merges so that pieces matter: 256 byte tokens and 8 merged ones.
fn tokenizer() -> &'static TextTokenizer {
    static TOKENIZER: OnceLock<TextTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        // GPT-2's printable stand-ins for the 256 bytes.
        let mut next = 256u32;
        let byte_char = |b: u32, next: &mut u32| -> char {
            if (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b) {
                char::from_u32(b).expect("a char")
            } else {
                let c = char::from_u32(*next).expect("a char");
                *next += 1;
                c
            }
        };
        let mut vocab = serde_json::Map::new();
        for b in 0..256u32 {
            vocab.insert(byte_char(b, &mut next).to_string(), b.into());
        }
        let merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("Ġ", "a"), ("o", "n"), ("Ġ", "w")];
        for (i, (a, b)) in merges.iter().enumerate() {
            vocab.insert(format!("{a}{b}"), (256 + i).into());
        }
        let merges: Vec<String> = merges.iter().map(|(a, b)| format!("{a} {b}")).collect();
        let json = serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [],
            "normalizer": null,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
            "model": {
                "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges
            }
        });
        let t = TextTokenizer::from_bytes(json.to_string().as_bytes()).expect("a valid tokenizer.json");
        assert!(t.encodes_in_chunks(), "the fuzz tokenizer takes the chunked paths");
        t
    })
}

/// Text detection with a small in-memory byte-level BPE tokenizer (the real tokenizers are
/// downloaded assets, which a fuzz target should not need): normalisation, encoding in
/// chunks, the offset map back to the original text, and the report.
///
/// * Encoding in chunks of any size gives the ids and offsets of encoding the whole text,
///   and normalising-and-encoding in chunks gives the ids of encoding the normalised whole.
/// * The report keeps the invariants of [`detect_ids`](crate::detect_ids), and every
///   character range (spans, token flags) lies inside the original text, in order.
pub fn detect_text(data: &[u8]) {
    let mut input = Input::new(data);
    let opts = options(input.u8());
    let chunk = 1 + input.below(64);
    let flags = input.u8();
    let scheme = ["lefthash", "window:2", "selfhash:3", "gumbel:2"][usize::from(flags >> 6)];
    let seeding: Seeding = scheme.parse().expect("a scheme");
    let key = Key::from_bytes([input.u8(); 32]);
    let split = input.below(4);
    let rest = String::from_utf8_lossy(input.rest()).into_owned();
    // Sometimes a prompt: the text before a split point.
    let cut = if split == 0 { rest.char_indices().nth(rest.chars().count() / 3).map_or(0, |(i, _)| i) } else { 0 };
    let (prompt, text) = if split == 0 { (&rest[..cut], &rest[cut..]) } else { ("", &rest[..]) };
    let tok = tokenizer();

    let whole = tok.encode_chunked(text, usize::MAX).expect("encodes");
    let chunked = tok.encode_chunked(text, chunk).expect("encodes");
    assert_eq!(chunked, whole, "chunks of {chunk} bytes change the encoding");
    for &(a, b) in &whole.offsets {
        assert!(a <= b && b <= text.len(), "token offsets {a}..{b} outside a text of {} bytes", text.len());
    }
    let normalized = normalize::normalize(text, &opts);
    let (ids, changed) = tok.encode_normalized_ids(text, &opts, chunk).expect("encodes");
    assert_eq!(ids, tok.encode_ids(normalized.text()).expect("encodes"), "chunked normalisation, chunk {chunk}");
    assert_eq!(changed, normalized.changed());

    let config = if seeding.is_gumbel() {
        Config::gumbel(seeding, 300).expect("config")
    } else if seeding.synthid_ngram_len().is_some() {
        Config::synthid(seeding, 300, wmark_core::DEFAULT_SYNTHID_TABLE_SIZE, 0).expect("config")
    } else {
        Config::new(seeding, 0.25, 2.0, 300).expect("config")
    };
    let options = wmark_detect::Options {
        windows: flags & 1 != 0,
        token_flags: flags & 2 != 0,
        normalize: opts,
        ..wmark_detect::Options::default()
    };
    let detector = Detector::new(&[key], config, options).expect("detector").with_tokenizer(tok.clone()).expect("fits");
    let report = detector.detect_text(text, (!prompt.is_empty()).then_some(prompt)).expect("detects");
    crate::scoring::check_report(&report, ids.len() as u64);
    let chars = text.chars().count() as u64;
    let in_text = |a: Option<u64>, b: Option<u64>| {
        let (a, b) = (a.expect("text offsets"), b.expect("text offsets"));
        assert!(a <= b && b <= chars, "character range {a}..{b} outside a text of {chars} characters");
        (a, b)
    };
    for s in &report.spans {
        in_text(s.char_start, s.char_end);
    }
    if let Some(flags) = &report.token_flags {
        let mut last = (0, 0);
        for TokenFlag { char_start, char_end, .. } in flags {
            let r = in_text(*char_start, *char_end);
            assert!(r.0 >= last.0, "token ranges go backwards: {last:?} then {r:?}");
            last = r;
        }
    }
}
