//! Long texts are tokenised in chunks cut where the pre-tokenizer splits anyway: the ids and
//! offsets must be those of the whole text. Checked on real text (every State of the Union
//! address, and their concatenation) with the real Llama 3 tokenizer, both from
//! `scripts/fetch-assets`.

use std::path::PathBuf;

use wmark_detect::TextTokenizer;

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
