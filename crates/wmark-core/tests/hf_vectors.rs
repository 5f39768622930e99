//! Compatibility with Hugging Face transformers 5.24 (CPU torch 2.15): torch's generator and
//! `randperm`, the KGW green lists of `WatermarkLogitsProcessor` (lefthash, selfhash) and the
//! verdicts of `WatermarkDetector`, and SynthID-Text's sampling tables, g-values and masks,
//! against `fixtures/vectors/hf-kgw.toml` and `fixtures/vectors/hf-synthid.toml`, which
//! `scripts/hf-reference` writes by running transformers' own code. Every id and bit must be
//! identical: one difference means text from transformers would be scored against the wrong
//! green lists.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use wmark_core::hf::{
    eos_mask, hf_fixed_table, randperm, randperm_prefix_contains, synthid_hash, synthid_step, HfKgw, HfSeeding,
    SynthId, TorchGenerator,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KgwFile {
    mt: Vec<Mt>,
    randperm: Vec<Randperm>,
    fixed_table: Vec<FixedTable>,
    green: Vec<Green>,
    detect: Vec<Detect>,
    /// Text transformers generated: the detector's tests read it (wmark-detect's hf_detect.rs).
    #[allow(dead_code)]
    generated: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mt {
    seed: String,
    outputs: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Randperm {
    n: u32,
    seed: String,
    perm: Vec<u32>,
    head: Vec<u32>,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedTable {
    hashing_key: String,
    head: Vec<u32>,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Green {
    name: String,
    scheme: String,
    hashing_key: String,
    gamma: f64,
    vocab_size: u32,
    context_width: usize,
    input: Vec<u32>,
    seed: String,
    greenlist_size: u32,
    ids: Vec<u32>,
    head: Vec<u32>,
    sha256: String,
    probes: Vec<u32>,
    probe_green: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Detect {
    name: String,
    scheme: String,
    hashing_key: String,
    gamma: f64,
    vocab_size: u32,
    context_width: usize,
    ids: Vec<u32>,
    ngram_green: String,
    scored: u64,
    green: u64,
    scored_unique: u64,
    green_unique: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SynthIdFile {
    table: Vec<Table>,
    sequence: Vec<Sequence>,
    keys: Vec<Keys>,
    generated: Vec<Generated>,
    /// transformers' processor over decoding steps: checked by wmark-processor's tests.
    #[allow(dead_code)]
    step: Vec<toml::Value>,
}

/// Text that transformers generated with SynthID-Text, scored by its own processor.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generated {
    name: String,
    ngram_len: usize,
    keys: Vec<i64>,
    sampling_table_size: usize,
    sampling_table_seed: String,
    context_history_size: usize,
    vocab_size: u32,
    watermarked: bool,
    eos_token_id: u32,
    top_k: u32,
    max_new_tokens: u32,
    model_seed: u64,
    sample_seed: u64,
    prompt: Vec<u32>,
    generated: Vec<u32>,
    g_values: Vec<String>,
    repetition_mask: String,
    eos_mask: String,
    g_sum: u64,
    mask_count: u64,
    mean_score: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    seed: String,
    size: usize,
    ones: usize,
    head: String,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sequence {
    name: String,
    ngram_len: usize,
    keys: Vec<i64>,
    sampling_table_size: usize,
    sampling_table_seed: String,
    context_history_size: usize,
    eos_token_id: u32,
    ids: Vec<u32>,
    ngram_keys: Vec<i64>,
    g_values: Vec<String>,
    repetition_mask: String,
    eos_mask: String,
    g_sum: u64,
    mask_count: u64,
    mean_score: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    ngram_len: usize,
    keys: Vec<i64>,
    sampling_table_size: usize,
    sampling_table_seed: String,
    context: Vec<u32>,
    context_hash: i64,
    tokens: Vec<u32>,
    ngram_keys: Vec<i64>,
    g_values: Vec<String>,
}

fn fixture(name: &str) -> String {
    let path = format!("{}/../../fixtures/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture")
}

fn kgw() -> KgwFile {
    toml::from_str(&fixture("hf-kgw.toml")).expect("valid fixture")
}

fn synthid() -> SynthIdFile {
    toml::from_str(&fixture("hf-synthid.toml")).expect("valid fixture")
}

fn u64_of(s: &str) -> u64 {
    s.parse().expect("decimal u64")
}

fn key_of(s: &str) -> i128 {
    s.parse().expect("decimal key")
}

fn seeding(s: &str) -> HfSeeding {
    match s {
        "lefthash" => HfSeeding::LeftHash,
        "selfhash" => HfSeeding::SelfHash,
        other => panic!("unknown scheme {other}"),
    }
}

fn sha256_u32(values: &[u32]) -> String {
    let mut h = Sha256::new();
    for v in values {
        h.update(v.to_le_bytes());
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bits(s: &str) -> Vec<bool> {
    s.bytes()
        .map(|b| match b {
            b'0' => false,
            b'1' => true,
            _ => panic!("not a bit string: {s}"),
        })
        .collect()
}

#[test]
fn the_generator_matches_torchs() {
    let f = kgw();
    assert!(f.mt.len() >= 8);
    for c in &f.mt {
        let mut g = TorchGenerator::new(u64_of(&c.seed));
        // torch.randint(0, 2**32 - 1): a range of 2^28 or more takes two outputs, high word first.
        let got: Vec<u32> = (0..c.outputs.len())
            .map(|_| {
                let hi = u64::from(g.next_u32());
                ((hi << 32 | u64::from(g.next_u32())) % u64::from(u32::MAX)) as u32
            })
            .collect();
        assert_eq!(got, c.outputs, "seed {}", c.seed);
    }
}

#[test]
fn randperm_matches_torchs_for_every_length() {
    let f = kgw();
    let lengths: HashSet<u32> = f.randperm.iter().map(|c| c.n).collect();
    for n in [1, 2, 3, 32_000, 50_257, 128_256, 151_936, 1_000_003] {
        assert!(lengths.contains(&n), "no randperm case of length {n}");
    }
    for c in &f.randperm {
        let perm = randperm(&mut TorchGenerator::new(u64_of(&c.seed)), c.n);
        assert_eq!(perm.len(), c.n as usize);
        if !c.perm.is_empty() {
            assert_eq!(perm, c.perm, "n {} seed {}", c.n, c.seed);
        }
        assert_eq!(perm[..c.head.len()], c.head[..], "n {} seed {}", c.n, c.seed);
        assert_eq!(sha256_u32(&perm), c.sha256, "n {} seed {}", c.n, c.seed);
    }
}

#[test]
fn selfhash_fixed_tables_match_hfs() {
    let f = kgw();
    assert!(f.fixed_table.len() >= 5);
    for c in &f.fixed_table {
        let table = hf_fixed_table(key_of(&c.hashing_key));
        assert_eq!(table[..c.head.len()], c.head[..], "key {}", c.hashing_key);
        assert_eq!(sha256_u32(&table), c.sha256, "key {}", c.hashing_key);
    }
}

#[test]
fn green_lists_match_hfs() {
    let f = kgw();
    let mut kgws: HashMap<(String, String, u64, u32, usize), HfKgw> = HashMap::new();
    let mut scratch = Vec::new();
    let (mut lists, mut probes) = (0, 0);
    let mut vocabs = HashSet::new();
    for c in &f.green {
        let k = (c.scheme.clone(), c.hashing_key.clone(), c.gamma.to_bits(), c.vocab_size, c.context_width);
        let hf = kgws.entry(k).or_insert_with(|| {
            HfKgw::new(key_of(&c.hashing_key), seeding(&c.scheme), c.gamma, c.context_width, c.vocab_size)
                .expect("valid")
        });
        assert_eq!(hf.greenlist_size(), c.greenlist_size, "{}", c.name);
        assert_eq!(hf.seed(&c.input).unwrap(), u64_of(&c.seed), "{}: seed", c.name);
        let green = hf.green_list(&c.input, &mut scratch).unwrap().to_vec();
        assert_eq!(green.len(), c.greenlist_size as usize, "{}", c.name);
        if !c.ids.is_empty() || c.greenlist_size == 0 {
            assert_eq!(green, c.ids, "{}", c.name);
        }
        assert_eq!(green[..c.head.len()], c.head[..], "{}: head", c.name);
        assert_eq!(sha256_u32(&green), c.sha256, "{}: sha256", c.name);
        let mask = hf.green_mask(&c.input, &mut scratch).unwrap();
        assert_eq!(mask.count(), green.len(), "{}", c.name);
        for (&t, want) in c.probes.iter().zip(bits(&c.probe_green)) {
            assert_eq!(hf.contains(&c.input, t).unwrap(), want, "{}: probe {t}", c.name);
            assert_eq!(mask.contains(t), want, "{}: mask probe {t}", c.name);
            probes += 1;
        }
        lists += 1;
        vocabs.insert(c.vocab_size);
    }
    for v in [32_000, 50_257, 128_256, 151_936, 1, 2, 3] {
        assert!(vocabs.contains(&v), "no green-list case at V = {v}");
    }
    assert!(lists >= 100 && probes >= 2000, "{lists} lists, {probes} probes");
}

#[test]
fn detector_verdicts_and_counts_match_hfs() {
    let f = kgw();
    assert!(f.detect.len() >= 6);
    for c in &f.detect {
        let hf =
            HfKgw::new(key_of(&c.hashing_key), seeding(&c.scheme), c.gamma, c.context_width, c.vocab_size).unwrap();
        let n = hf.ngram_len();
        let want = bits(&c.ngram_green);
        assert_eq!(want.len(), c.ids.len() + 1 - n, "{}", c.name);
        let mut seen: HashMap<&[u32], bool> = HashMap::new();
        let (mut green, mut green_unique) = (0, 0);
        for (i, ngram) in c.ids.windows(n).enumerate() {
            let (&token, context) = ngram.split_last().unwrap();
            let got = hf.is_green(context, token).unwrap();
            assert_eq!(got, want[i], "{}: n-gram {i}", c.name);
            green += u64::from(got);
            if seen.insert(ngram, got).is_none() {
                green_unique += u64::from(got);
            }
        }
        assert_eq!((want.len() as u64, green), (c.scored, c.green), "{}: every n-gram", c.name);
        assert_eq!((seen.len() as u64, green_unique), (c.scored_unique, c.green_unique), "{}: distinct", c.name);
    }
}

#[test]
fn hf_kgw_rejects_what_transformers_rejects() {
    let ok =
        |key: i128, ratio: f64, width: usize, v: u32| HfKgw::new(key, HfSeeding::LeftHash, ratio, width, v).is_ok();
    assert!(ok(-(1 << 63), 0.25, 1, 10) && ok(u64::MAX as i128, 0.25, 1, 10));
    assert!(!ok(-(1 << 63) - 1, 0.25, 1, 10) && !ok(u64::MAX as i128 + 1, 0.25, 1, 10));
    assert!(!ok(1, 0.0, 1, 10) && !ok(1, 1.0, 1, 10) && !ok(1, f64::NAN, 1, 10));
    assert!(!ok(1, 0.25, 0, 10) && !ok(1, 0.25, 1, 0));
    let hf = HfKgw::new(7, HfSeeding::LeftHash, 0.25, 1, 100).unwrap();
    assert!(hf.seed(&[]).unwrap_err().is_context_too_short());
    assert!(hf.is_green(&[], 3).unwrap_err().is_context_too_short());
    assert!(!format!("{hf:?}").contains('7'), "Debug must not show the key");
}

#[test]
fn sampling_tables_match_torchs_randint() {
    let f = synthid();
    for c in &f.table {
        let s = SynthId::new(2, vec![1], c.size, u64_of(&c.seed), 4).unwrap();
        let t = s.sampling_table();
        assert_eq!(t.len(), c.size);
        assert_eq!(t.iter().filter(|&&b| b == 1).count(), c.ones, "seed {} size {}", c.seed, c.size);
        let head: Vec<bool> = t.iter().take(64).map(|&b| b == 1).collect();
        assert_eq!(head, bits(&c.head), "seed {} size {}", c.seed, c.size);
        assert_eq!(hex(&Sha256::digest(t)), c.sha256, "seed {} size {}", c.seed, c.size);
    }
}

#[test]
fn synthid_g_values_masks_and_scores_match_hfs() {
    let f = synthid();
    assert!(f.sequence.len() >= 8);
    let mut g_checked = 0;
    for c in &f.sequence {
        let s = SynthId::new(
            c.ngram_len,
            c.keys.clone(),
            c.sampling_table_size,
            u64_of(&c.sampling_table_seed),
            c.context_history_size,
        )
        .unwrap();
        let d = s.depth();
        // The first n-grams' keys.
        let keys: Vec<i64> = c
            .ids
            .windows(c.ngram_len)
            .take(c.ngram_keys.len() / d)
            .flat_map(|ngram| (0..d).map(|l| s.layer_key(synthid_hash(ngram), l)).collect::<Vec<_>>())
            .collect();
        assert_eq!(keys, c.ngram_keys, "{}: n-gram keys", c.name);
        let g = s.g_values(&c.ids);
        assert_eq!(g.len(), c.g_values.len() * d, "{}", c.name);
        for (i, (row, want)) in g.chunks_exact(d).zip(&c.g_values).enumerate() {
            let want: Vec<u8> = bits(want).into_iter().map(u8::from).collect();
            assert_eq!(row, want, "{}: g-values of n-gram {i}", c.name);
            g_checked += d;
        }
        assert_eq!(s.context_repetition_mask(&c.ids), bits(&c.repetition_mask), "{}: repetition mask", c.name);
        assert_eq!(eos_mask(&c.ids, Some(c.eos_token_id)), bits(&c.eos_mask), "{}: EOS mask", c.name);
        let score = s.score(&c.ids, Some(c.eos_token_id));
        assert_eq!((score.g_sum, score.count), (c.g_sum, c.mask_count), "{}", c.name);
        assert_eq!(score.mean().to_bits(), c.mean_score.to_bits(), "{}: mean score", c.name);
    }
    assert!(g_checked > 5000, "{g_checked} g-values");
}

#[test]
fn synthid_scores_of_text_transformers_generated_match_its_own() {
    let f = synthid();
    assert!(f.generated.len() >= 3 && f.generated.iter().any(|c| !c.watermarked));
    for c in &f.generated {
        let s = SynthId::new(
            c.ngram_len,
            c.keys.clone(),
            c.sampling_table_size,
            u64_of(&c.sampling_table_seed),
            c.context_history_size,
        )
        .unwrap();
        assert!(c.generated.iter().chain(&c.prompt).all(|&t| t < c.vocab_size), "{}", c.name);
        let d = s.depth();
        let g = s.g_values(&c.generated);
        let want: Vec<u8> = c.g_values.iter().flat_map(|row| bits(row)).map(u8::from).collect();
        assert_eq!(g, want, "{}: g-values", c.name);
        assert_eq!(g.len(), c.g_values.len() * d);
        assert_eq!(s.context_repetition_mask(&c.generated), bits(&c.repetition_mask), "{}", c.name);
        assert_eq!(eos_mask(&c.generated, Some(c.eos_token_id)), bits(&c.eos_mask), "{}", c.name);
        let score = s.score(&c.generated, Some(c.eos_token_id));
        assert_eq!((score.g_sum, score.count), (c.g_sum, c.mask_count), "{}", c.name);
        assert_eq!(score.mean().to_bits(), c.mean_score.to_bits(), "{}: mean score", c.name);
        // The watermark shows: well above a half where it was generated with the keys.
        assert_eq!(score.mean() > 0.6, c.watermarked, "{}: mean {}", c.name, score.mean());
        let _ = (c.top_k, c.max_new_tokens, c.model_seed, c.sample_seed);
    }
}

#[test]
fn synthid_candidate_keys_match_hfs() {
    let f = synthid();
    for c in &f.keys {
        let s = SynthId::new(c.ngram_len, c.keys.clone(), c.sampling_table_size, u64_of(&c.sampling_table_seed), 1024)
            .unwrap();
        let d = s.depth();
        let ctx = synthid_hash(&c.context);
        assert_eq!(ctx, c.context_hash);
        let mut got_keys = Vec::new();
        let mut row = vec![0; d];
        for (&t, want) in c.tokens.iter().zip(&c.g_values) {
            let h = synthid_step(ctx, i64::from(t));
            got_keys.extend((0..d).map(|l| s.layer_key(h, l)));
            s.g_values_of_hash(h, &mut row);
            let want: Vec<u8> = bits(want).into_iter().map(u8::from).collect();
            assert_eq!(row, want, "token {t}");
        }
        assert_eq!(got_keys, c.ngram_keys);
    }
}

#[test]
fn membership_tracking_agrees_with_the_shuffle_at_real_sizes() {
    // The single-id walk against the built prefix, for ids across a real vocabulary.
    let mut scratch = Vec::new();
    let hf = HfKgw::new(15_485_863, HfSeeding::LeftHash, 0.25, 1, 50_257).unwrap();
    let green: HashSet<u32> = hf.green_list(&[42], &mut scratch).unwrap().iter().copied().collect();
    let seed = hf.seed(&[42]).unwrap();
    for t in (0..50_257).step_by(61).chain([0, 50_256]) {
        let got = randperm_prefix_contains(&mut TorchGenerator::new(seed), 50_257, hf.greenlist_size(), t);
        assert_eq!(got, green.contains(&t), "token {t}");
    }
}
