//! Long texts are tokenised in chunks cut where the pre-tokenizer splits anyway: the ids and
//! offsets must be those of the whole text. Checked on real text (every State of the Union
//! address, and their concatenation) with the real Llama 3 tokenizer, both from
//! `scripts/fetch-assets`.

use std::path::PathBuf;

use wmark_detect::normalize::{normalize, Options};
use wmark_detect::{TextTokenizer, CHUNK_BYTES};

fn cache_dir() -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-assets");
    let out = std::process::Command::new(&script).arg("--print-dir").output().expect("run scripts/fetch-assets");
    assert!(out.status.success(), "scripts/fetch-assets --print-dir failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim_end())
}

fn llama3() -> TextTokenizer {
    let p = cache_dir().join("tokenizers/llama3/tokenizer.json");
    TextTokenizer::from_file(&p).unwrap_or_else(|e| panic!("{e}: run scripts/fetch-assets first"))
}

fn speeches() -> Vec<String> {
    let dir = cache_dir().join("sotu");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}: run scripts/fetch-assets first", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 233, "the State of the Union corpus has 233 addresses");
    paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

#[test]
fn chunked_ids_equal_whole_text_ids_on_every_speech() {
    let tok = llama3();
    assert!(tok.encodes_in_chunks(), "Llama 3's byte-level BPE is chunked");
    let whole_size = usize::MAX / 4;
    for (i, text) in speeches().iter().enumerate() {
        let whole = tok.encode_chunked(text, whole_size).unwrap();
        // Small chunks: dozens of cuts per speech.
        let chunked = tok.encode_chunked(text, 997).unwrap();
        assert_eq!(chunked, whole, "speech {i}, chunks of 997 bytes");
    }
}

#[test]
fn chunked_ids_equal_whole_text_ids_on_a_4_mb_concatenation() {
    let tok = llama3();
    let mut text = String::new();
    for s in speeches() {
        text.push_str(&s);
        text.push('\n');
        if text.len() >= 4 << 20 {
            break;
        }
    }
    assert!(text.len() >= 4 << 20);
    let whole = tok.encode_chunked(&text, usize::MAX / 4).unwrap();
    assert_eq!(tok.encode(&text).unwrap(), whole, "the default chunk size");
    assert_eq!(tok.encode_chunked(&text, 10_000).unwrap(), whole);
}

#[test]
fn texts_without_a_safe_cut_are_encoded_whole() {
    let tok = llama3();
    let text = "x".repeat(50_000) + "1234567890".repeat(1000).as_str();
    assert_eq!(tok.encode_chunked(&text, 1000).unwrap(), tok.encode_chunked(&text, usize::MAX / 4).unwrap());
}

/// Normalisation and tokenisation chunk by chunk (the bounded-memory path of detection)
/// equal normalising and tokenising the whole text.
fn whole_normalized_ids(tok: &TextTokenizer, text: &str) -> (Vec<u32>, bool) {
    let norm = normalize(text, &Options::default());
    (tok.encode_chunked(norm.text(), usize::MAX / 4).unwrap().ids, norm.changed())
}

#[test]
fn normalised_chunks_equal_the_whole_text_on_every_speech_and_on_4_mb() {
    let tok = llama3();
    let mut all = String::new();
    for (i, text) in speeches().iter().enumerate() {
        let got = tok.encode_normalized_ids(text, &Options::default(), 997).unwrap();
        assert_eq!(got, whole_normalized_ids(&tok, text), "speech {i}");
        if all.len() < 4 << 20 {
            all.push_str(text);
        }
    }
    let got = tok.encode_normalized_ids(&all, &Options::default(), CHUNK_BYTES).unwrap();
    assert_eq!(got, whole_normalized_ids(&tok, &all));
}

/// Text full of what normalisation changes (homoglyphs, combining marks, invisibles, emoji
/// sequences, fullwidth forms next to CJK and not) cut into many small chunks.
#[test]
fn normalised_chunks_equal_the_whole_text_on_adversarial_text() {
    let tok = llama3();
    let pieces = [
        "Pay with p\u{430}yp\u{430}l today",
        "caf\u{65}\u{301} and cr\u{65}\u{300}me",
        "in\u{200b}vis\u{200d}ible and bi\u{202e}di marks",
        "the team \u{1f469}\u{200d}\u{1f4bb} works",
        "\u{ff21}\u{ff22}\u{ff23} fullwidth words",
        "\u{4f60}\u{597d}\u{ff0c}\u{4e16}\u{754c}\u{ff01} then English",
        "\u{ff10}\u{ff11} numbers 42 and more",
        "plain words between them all",
    ];
    let mut text = String::new();
    for i in 0..4000 {
        text.push_str(pieces[i % pieces.len()]);
        text.push(if i % 7 == 0 { '\n' } else { ' ' });
    }
    let whole = whole_normalized_ids(&tok, &text);
    assert!(whole.1, "the text was changed by normalisation");
    for chunk in [50, 333, 4096] {
        assert_eq!(tok.encode_normalized_ids(&text, &Options::default(), chunk).unwrap(), whole, "chunks of {chunk}");
    }
}
