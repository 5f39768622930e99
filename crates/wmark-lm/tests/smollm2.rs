//! SmolLM2 end to end: its tokenizer rebuilt from the GGUF, and watermarked generation found
//! by the detector. Needs `scripts/fetch-assets` (the test command runs it first); run with
//! RAYON_NUM_THREADS=1 on small machines.

use std::path::PathBuf;

use wmark_core::{Config, Key, Seeding};
use wmark_detect::{Detector, Options, TextTokenizer, Verdict};
use wmark_lm::assets::{cache_dir, smollm2_gguf, SMOLLM2_VOCAB};
use wmark_lm::gguf_tokenizer::from_gguf_file;
use wmark_lm::{Model, Sampling};
use wmark_processor::Processor;

fn gguf() -> PathBuf {
    let p = smollm2_gguf(&cache_dir());
    assert!(p.exists(), "{} is missing: run scripts/fetch-assets first", p.display());
    p
}

#[test]
fn the_gguf_tokenizer_round_trips_and_knows_the_special_tokens() {
    let t = from_gguf_file(&gguf()).unwrap();
    assert_eq!(t.tokenizer.get_vocab_size(true), SMOLLM2_VOCAB as usize);
    for text in [
        "Hello, world! The year 2024 had 366 days.",
        "  leading spaces, tabs\tand\nnew lines  ",
        "Unicode: café, naïve, 東京, 🙂",
        "code: fn main() { println!(\"{}\", 1 + 2); }",
    ] {
        let enc = t.tokenizer.encode(text, false).unwrap();
        assert_eq!(t.tokenizer.decode(enc.get_ids(), false).unwrap(), text);
    }
    // digits are split one by one, as in SmolLM2's own tokenizer.json
    let enc = t.tokenizer.encode("2024", false).unwrap();
    assert_eq!(enc.get_ids().len(), 4);
    // the chat-template tokens are single special ids, and they match the file's BOS/EOS
    let im_start = t.tokenizer.token_to_id("<|im_start|>").unwrap();
    let im_end = t.tokenizer.token_to_id("<|im_end|>").unwrap();
    let enc = t.tokenizer.encode("<|im_start|>user\nhi<|im_end|>", false).unwrap();
    assert_eq!(enc.get_ids().first(), Some(&im_start));
    assert_eq!(enc.get_ids().last(), Some(&im_end));
    assert!(t.special.iter().any(|(s, id)| s == "<|im_start|>" && *id == im_start));
    assert_eq!(t.bos_id, Some(im_start));
    assert_eq!(t.eos_id, Some(im_end));
    // special tokens are skipped when decoding for the detector
    assert_eq!(t.tokenizer.decode(enc.get_ids(), true).unwrap(), "user\nhi");
}

const PROMPTS: [&str; 3] = [
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Tell me a story about a robot who learns to paint.",
    "Write a short story about a dragon who is afraid of fire.",
];

#[test]
fn watermarked_answers_are_detected_and_plain_answers_are_not() {
    let mut model = Model::load(&gguf()).unwrap();
    let key = Key::from_bytes([0x77; 32]);
    let config = Config::new(Seeding::LeftHash, 0.25, 2.0, SMOLLM2_VOCAB).unwrap();
    let processor = Processor::new(&key, config);
    let tokenizer = TextTokenizer::from_bytes(model.tokenizer().to_string(false).unwrap().as_bytes()).unwrap();
    let detector = Detector::new(&[key], config, Options::default()).unwrap().with_tokenizer(tokenizer).unwrap();
    let sampling = Sampling { temperature: 0.7, top_k: 0, top_p: 1.0, seed: 7 };
    for prompt in PROMPTS {
        let marked = model.generate(prompt, None, 100, sampling, Some((&processor).into()), |_| {}).unwrap();
        assert_eq!(marked.ids.len(), 100, "{prompt}: stopped early: {:?}", marked.text);
        let r = detector.detect_text(&marked.text, None).unwrap();
        assert!(r.log10_p < -6.0, "{prompt}: watermarked answer p = 10^{} ({}/{} green)", r.log10_p, r.green, r.scored);
        assert_eq!(r.verdict, Verdict::Watermarked);
        let by_ids = detector.detect_ids(&marked.ids, 0).unwrap();
        assert!(by_ids.log10_p < -6.0);

        let plain = model.generate(prompt, None, 100, sampling, None, |_| {}).unwrap();
        let r = detector.detect_text(&plain.text, None).unwrap();
        assert!(r.log10_p > -3.0, "{prompt}: plain answer p = 10^{} ({}/{} green)", r.log10_p, r.green, r.scored);
        assert_ne!(r.verdict, Verdict::Watermarked);
        eprintln!(
            "{prompt}\n  watermarked: {} tok/s, processor {:.3}% of step time\n  {:?}",
            marked.timings.tokens_per_second() as u32,
            100.0 * marked.timings.processor_share(),
            marked.text
        );
    }
}

#[test]
fn a_fixed_seed_reproduces_the_same_text() {
    let mut model = Model::load(&gguf()).unwrap();
    let key = Key::from_bytes([0x11; 32]);
    let processor = Processor::new(&key, Config::new(Seeding::LeftHash, 0.25, 2.0, SMOLLM2_VOCAB).unwrap());
    let s = Sampling { temperature: 1.0, top_k: 50, top_p: 0.95, seed: 1234 };
    let a = model.generate(PROMPTS[1], None, 40, s, Some((&processor).into()), |_| {}).unwrap();
    let b = model.generate(PROMPTS[1], None, 40, s, Some((&processor).into()), |_| {}).unwrap();
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.text, b.text);
    let c =
        model.generate(PROMPTS[1], None, 40, Sampling { seed: 1235, ..s }, Some((&processor).into()), |_| {}).unwrap();
    assert_ne!(a.ids, c.ids, "another seed gives another text");
    // streaming pieces add up to the text
    let mut streamed = String::new();
    let d =
        model.generate(PROMPTS[1], None, 40, s, Some((&processor).into()), |piece| streamed.push_str(piece)).unwrap();
    assert_eq!(streamed, d.text);
}

#[test]
fn a_processor_for_another_vocabulary_is_refused() {
    let mut model = Model::load(&gguf()).unwrap();
    let processor =
        Processor::new(&Key::from_bytes([1; 32]), Config::new(Seeding::LeftHash, 0.25, 2.0, 32_000).unwrap());
    let err = model.generate("hi", None, 5, Sampling::default(), Some((&processor).into()), |_| {}).unwrap_err();
    assert!(err.to_string().contains("vocab_size 32000"), "{err}");
}

/// The asset cache is defined once for Rust (`assets::cache_dir`) and once for scripts and
/// Python (`scripts/fetch-assets --print-dir`): the two must agree.
#[test]
fn the_scripts_and_the_crates_agree_on_the_asset_cache() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-assets");
    let out = std::process::Command::new(&script).arg("--print-dir").output().expect("run scripts/fetch-assets");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(std::path::PathBuf::from(printed.trim_end()), wmark_lm::assets::cache_dir());
}

/// SmolLM2's tokenizer (rebuilt from the GGUF) is chunked for long texts, and chunking
/// changes no id on real text.
#[test]
fn the_smollm2_tokenizer_encodes_long_texts_in_chunks_with_the_same_ids() {
    let cache = wmark_lm::assets::cache_dir();
    let tok = TextTokenizer::from_file(&wmark_lm::assets::ensure_smollm2_tokenizer(&cache).unwrap()).unwrap();
    assert!(tok.encodes_in_chunks());
    let dir = cache.join("sotu");
    let mut text = String::new();
    for name in
        ["1790_george_washington_n", "1861_abraham_lincoln_r", "1934_franklin_d_roosevelt_d", "2001_george_w_bush_r"]
    {
        text.push_str(&std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap());
    }
    assert_eq!(tok.encode_chunked(&text, 997).unwrap(), tok.encode_chunked(&text, usize::MAX / 4).unwrap());
}

/// Gumbel-max generation (wmark's `gumbel:4` and vLLM's `vllm-gumbel:4`, through the logits
/// hook that forces the chosen token) is found by the detector with the scheme's default
/// dedup (a context's first use), and the same answers are not found under another key.
#[test]
fn gumbel_max_answers_are_detected() {
    use wmark_detect::Dedup;
    use wmark_processor::{GumbelSampler, Warp};
    let mut model = Model::load(&gguf()).unwrap();
    let sampling = Sampling { temperature: 0.7, top_k: 0, top_p: 1.0, seed: 11 };
    let warp = Warp { temperature: 0.7, top_k: 0, top_p: 1.0 };
    let cases = [
        (Seeding::Gumbel(4), Key::from_bytes([0x33; 32]), Key::from_bytes([0x34; 32])),
        (Seeding::VllmGumbel(4), Key::from_vllm(9_876_543_210_123_456_789), Key::from_vllm(1)),
    ];
    for (seeding, key, other) in cases {
        let config = Config::gumbel(seeding, SMOLLM2_VOCAB).unwrap();
        let sampler = GumbelSampler::new(&key, config, warp).unwrap();
        let g = model.generate(PROMPTS[0], None, 100, sampling, Some((&sampler).into()), |_| {}).unwrap();
        let options = || Options { dedup: Dedup::Window, ..Options::default() };
        let r = Detector::new(&[key], config, options()).unwrap().detect_ids(&g.ids, 0).unwrap();
        assert!(r.log10_p < -6.0, "{seeding}: p = 10^{} (score {:?} over {})", r.log10_p, r.score, r.scored);
        let r = Detector::new(&[other], config, options()).unwrap().detect_ids(&g.ids, 0).unwrap();
        assert!(r.log10_p > -3.0, "{seeding} under another key: p = 10^{}", r.log10_p);
    }
}
