//! `wmark-eval null` and `wmark-eval attack` on small inputs: structure, calibration on real
//! human text, the fast null path against the detector's own scoring, attack sanity on a
//! synthetic watermarked input, and bad input.
//!
//! Real assets (State of the Union speeches, SmolLM2's tokenizer) come from
//! `scripts/fetch-assets`. Keys and seeds are fixed, so every run gives the same numbers.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;
use wmark_core::{Config, Key, Seeding, Watermark};
use wmark_detect::TextTokenizer;
use wmark_detect::{Dedup, Scorer};

const SPEECHES: [&str; 3] = ["1790_george_washington_n", "1801_thomas_jefferson_dr", "1861_abraham_lincoln_r"];

fn cache_dir() -> PathBuf {
    wmark_lm::assets::cache_dir()
}

fn asset(rel: &str) -> PathBuf {
    let p = cache_dir().join(rel);
    assert!(p.exists(), "{} is missing: run scripts/fetch-assets first", p.display());
    p
}

/// SmolLM2's tokenizer (49,152 ids), the one generation uses.
fn tokenizer() -> PathBuf {
    wmark_lm::assets::ensure_smollm2_tokenizer(&cache_dir()).expect("run scripts/fetch-assets first")
}

/// A directory with three speeches.
fn corpus(dir: &Path) -> PathBuf {
    let c = dir.join("corpus");
    fs::create_dir_all(&c).unwrap();
    for s in SPEECHES {
        fs::copy(asset(&format!("sotu/{s}.txt")), c.join(format!("{s}.txt"))).unwrap();
    }
    c
}

fn wmark(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("wmark-eval").unwrap();
    c.current_dir(dir).env("RAYON_NUM_THREADS", "1");
    c
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// Runs `wmark-eval args…`, expects exit 2 and a single `wmark-eval: …` line on stderr
/// containing `needle`.
fn fails_with(dir: &Path, args: &[&str], needle: &str) {
    let out = wmark(dir).args(args).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line expected, got {err:?}");
    assert!(err.starts_with("wmark-eval: ") && err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(out.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// eval null

fn null_run(dir: &Path, corpus: &Path, seed: &str) -> Value {
    let out = wmark(dir)
        .args(["null", "--json", "--keys-count", "20", "--lengths", "50,100", "--seed", seed, "--tokenizer"])
        .arg(tokenizer())
        .arg("--corpus")
        .arg(corpus)
        .assert()
        .success()
        .get_output()
        .clone();
    json_of(&out)
}

#[test]
fn null_calibration_on_speeches_is_within_its_intervals() {
    let dir = TempDir::new().unwrap();
    let c = corpus(dir.path());
    let v = null_run(dir.path(), &c, "7");
    assert_eq!(v["command"], "eval null");
    assert_eq!(v["keys"], 20);
    assert_eq!(v["scheme"], "lefthash");
    assert_eq!(v["corpus"]["files"], 3);
    let levels: Vec<f64> = v["qq_levels_log10"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(levels[0], 0.0);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2 * 2, "lengths × dedup × test");
    for r in rows {
        let n = r["detections"].as_u64().unwrap();
        let docs = r["documents_per_key"].as_u64().unwrap();
        assert!(docs > 20, "{r}");
        assert_eq!(n, docs * 20);
        let len = r["length"].as_f64().unwrap();
        let scored = r["scored_mean"].as_f64().unwrap();
        match r["dedup"].as_str().unwrap() {
            "none" => assert_eq!(scored, len - 1.0),
            _ => assert!(scored > 0.8 * len && scored < len - 1.0, "{r}"),
        }
        // The CDF of log10 p: everything is at or below 0, and it falls with the level.
        let ecdf: Vec<u64> = r["ecdf_at_or_below"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
        assert_eq!(ecdf.len(), levels.len());
        assert_eq!(ecdf[0], n);
        assert!(ecdf.windows(2).all(|w| w[0] >= w[1]));
        let q: Vec<Option<f64>> = r["quantiles_log10"].as_array().unwrap().iter().map(Value::as_f64).collect();
        let known: Vec<f64> = q.iter().flatten().copied().collect();
        assert!(known.windows(2).all(|w| w[0] >= w[1]));
        for lv in r["levels"].as_array().unwrap() {
            let alpha = lv["alpha"].as_f64().unwrap();
            let k = lv["false_positives"].as_u64().unwrap();
            let (lo, hi) = (lv["ci99"][0].as_f64().unwrap(), lv["ci99"][1].as_f64().unwrap());
            let fpr = lv["fpr"].as_f64().unwrap();
            assert!(lo <= fpr && fpr <= hi, "{lv}");
            assert!((fpr - k as f64 / n as f64).abs() < 1e-15);
            // The same count can be read off the CDF at the level.
            let at = levels.iter().position(|&l| (l - alpha.log10()).abs() < 1e-9).unwrap();
            assert_eq!(ecdf[at], k);
            if r["test"] == "binomial" && r["dedup"] == "tuple" {
                // The exact test with dedup is valid: never significantly above nominal.
                assert!(lo <= alpha, "exact test above nominal: {r}");
                assert_ne!(lv["vs_nominal"], "above");
            }
        }
    }
    // The normal approximation is more liberal than the exact test on the same detections.
    for pair in rows.chunks(2) {
        assert_eq!(pair[0]["test"], "binomial");
        assert_eq!(pair[1]["test"], "normal");
        for (b, z) in pair[0]["levels"].as_array().unwrap().iter().zip(pair[1]["levels"].as_array().unwrap()) {
            assert!(z["false_positives"].as_u64() >= b["false_positives"].as_u64());
        }
    }
}

#[test]
fn null_is_reproducible_from_its_seed() {
    let dir = TempDir::new().unwrap();
    let c = corpus(dir.path());
    let a = null_run(dir.path(), &c, "3");
    let b = null_run(dir.path(), &c, "3");
    let other = null_run(dir.path(), &c, "4");
    assert!(a["rows"] == b["rows"], "the same seed gives the same figures");
    assert!(a["rows"] != other["rows"], "another seed gives other keys");
}

#[test]
fn null_table_is_readable() {
    let dir = TempDir::new().unwrap();
    let c = corpus(dir.path());
    let out = wmark(dir.path())
        .args(["null", "--keys-count", "2", "--lengths", "200", "--max-docs", "10", "--tokenizer"])
        .arg(tokenizer())
        .arg("--corpus")
        .arg(&c)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("null calibration: lefthash"), "{text}");
    assert_eq!(text.lines().filter(|l| l.trim_start().starts_with("200 ")).count(), 4, "{text}");
    assert!(text.contains("wall time"));
}

#[test]
fn null_takes_transformers_kgw_and_refuses_synthid_clearly() {
    let dir = TempDir::new().unwrap();
    let c = corpus(dir.path());
    let out = wmark(dir.path())
        .args(["null", "--keys-count", "2", "--lengths", "200", "--max-docs", "10", "--scheme", "hf-lefthash"])
        .arg("--tokenizer")
        .arg(tokenizer())
        .arg("--corpus")
        .arg(&c)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("null calibration: hf-lefthash:1"), "{text}");
    let tok = tokenizer();
    let c = c.to_str().unwrap();
    fails_with(
        dir.path(),
        &["null", "--scheme", "hf-synthid", "--tokenizer", tok.to_str().unwrap(), "--corpus", c],
        "scores g-values",
    );
}

/// The fast path (distinct tuples coloured once per key) gives the detector's own counts.
#[test]
fn null_fast_path_matches_the_detectors_scoring() {
    let tok = TextTokenizer::from_file(&tokenizer()).unwrap();
    let text = fs::read_to_string(asset("sotu/1790_george_washington_n.txt")).unwrap();
    let ids = tok.encode(&text).unwrap().ids;
    // Repetitive documents too, so that dedup has work to do.
    let mut repeated: Vec<u32> = ids[..30].to_vec();
    repeated.extend_from_slice(&ids[..30]);
    repeated.extend_from_slice(&ids[..40]);
    let len = 100;
    let mut docs: Vec<&[u32]> = ids.chunks_exact(len).take(12).collect();
    docs.push(&repeated);
    for scheme in ["lefthash", "unigram", "window:2", "minhash:2", "selfhash:3"] {
        let config = Config::new(scheme.parse::<Seeding>().unwrap(), 0.25, 2.0, 49_152).unwrap();
        for i in 0..3 {
            let key = wmark_eval::null::eval_key(11, i);
            let fast = wmark_eval::null::doc_counts(&key, config, len, &docs);
            let scorer = Scorer::new(std::slice::from_ref(&key), config).unwrap();
            for (d, got) in docs.iter().zip(&fast) {
                for (j, dedup) in [Dedup::None, Dedup::Tuple].into_iter().enumerate() {
                    let s = scorer.score_ids(0, d, 0, dedup).unwrap();
                    assert_eq!(got[j], (s.scored(), s.greens()), "{scheme} key {i} {dedup}");
                }
            }
            assert!(
                fast.last().unwrap()[1].0 < fast.last().unwrap()[0].0,
                "the repetitive document loses tuples to dedup"
            );
        }
    }
}

#[test]
fn null_bad_input_is_one_line_and_exit_2() {
    let dir = TempDir::new().unwrap();
    let tok = tokenizer();
    let tok = tok.to_str().unwrap();
    fails_with(dir.path(), &["null", "--tokenizer", tok, "--corpus", "nowhere"], "nowhere: no such file or directory");
    let c = corpus(dir.path());
    let c = c.to_str().unwrap();
    let one = format!("{c}/{}.txt", SPEECHES[0]);
    fails_with(
        dir.path(),
        &["null", "--tokenizer", tok, "--corpus", &one, "--lengths", "2000"],
        "no document of 2000 tokens",
    );
    fails_with(
        dir.path(),
        &["null", "--tokenizer", tok, "--corpus", c, "--scheme", "window:3", "--lengths", "3"],
        "leaves nothing to score",
    );
    fails_with(dir.path(), &["null", "--tokenizer", tok, "--corpus", c, "--gamma", "1.5"], "gamma");
    fs::write(dir.path().join("latin1.txt"), b"caf\xe9\n").unwrap();
    fails_with(dir.path(), &["null", "--tokenizer", tok, "--corpus", "latin1.txt"], "not UTF-8");
    // Argument errors are clap's (exit 2 too).
    for bad in [["--lengths", "0"], ["--lengths", "50,x"], ["--keys-count", "0"]] {
        wmark(dir.path()).args(["null"]).args(bad).assert().code(2);
    }
}

// ---------------------------------------------------------------------------------------------
// eval attack

const VOCAB: u32 = 49_152;

/// A fixed key, written the way `wmark keygen` writes one (mode 0600).
fn key_file(dir: &Path) -> PathBuf {
    let p = dir.join("test.key");
    Key::from_bytes([5; 32]).save_new(&p).unwrap();
    p
}

/// `n` synthetic lefthash generations of `len` ids: at each step a green token (by
/// rejection from the key's green list) with probability 1/2, else any token. About 62% of
/// the tokens are green.
fn generations(dir: &Path, n: usize, len: usize) -> PathBuf {
    let config = Config::new(Seeding::LeftHash, 0.25, 2.0, VOCAB).unwrap();
    let wm = Watermark::new(&Key::from_bytes([5; 32]), config);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut lines = String::new();
    for _ in 0..n {
        let mut ids = vec![(next() % u64::from(VOCAB)) as u32];
        while ids.len() < len {
            let want_green = next() % 2 == 0;
            let mut t = (next() % u64::from(VOCAB)) as u32;
            while want_green && !wm.is_green(&ids[ids.len() - 1..], t).unwrap() {
                t = (next() % u64::from(VOCAB)) as u32;
            }
            ids.push(t);
        }
        lines.push_str(&serde_json::json!({ "ids": ids, "text": "…" }).to_string());
        lines.push('\n');
    }
    let p = dir.join("gens.jsonl");
    fs::write(&p, lines).unwrap();
    p
}

fn attack(dir: &Path, extra: &[&str]) -> Command {
    let mut c = wmark(dir);
    c.args(["attack", "--key", "test.key", "--tokenizer"])
        .arg(tokenizer())
        .args(["--corpus", "corpus", "--human-docs", "300"])
        .args(extra);
    c
}

#[test]
fn attack_rows_are_complete_and_ordered() {
    let dir = TempDir::new().unwrap();
    corpus(dir.path());
    key_file(dir.path());
    generations(dir.path(), 24, 220);
    let out = attack(dir.path(), &["--generations", "gens.jsonl", "--json"]).assert().success().get_output().clone();
    let v = json_of(&out);
    assert_eq!(v["command"], "eval attack");
    assert_eq!(v["tokens"], 200);
    assert_eq!(v["log10_threshold"], -3.0);
    assert_eq!(v["generations"]["lines"], 24);
    assert_eq!(v["generations"]["used_for_edits"], 24);
    let rows = v["rows"].as_array().unwrap();
    let find = |attack: &str, rate: Option<f64>| -> &Value {
        rows.iter()
            .find(|r| r["attack"] == attack && r["rate"].as_f64() == rate)
            .unwrap_or_else(|| panic!("{attack} {rate:?}"))
    };
    assert_eq!(rows.len(), 1 + 3 * 3 + 2);
    let none = find("none", None);
    assert_eq!(none["documents"], 24);
    assert_eq!(none["whole"]["rate"], 1.0, "strongly watermarked input is detected: {none}");
    for (attack, tokens) in [
        ("substitution", [200.0, 200.0, 200.0]),
        ("deletion", [180.0, 160.0, 140.0]),
        ("insertion", [220.0, 240.0, 260.0]),
    ] {
        let mut last = none["whole"]["median_log10_p"].as_f64().unwrap();
        for (rate, t) in [0.1, 0.2, 0.3].into_iter().zip(tokens) {
            let r = find(attack, Some(rate));
            assert_eq!(r["tokens_mean"], t, "{r}");
            assert_eq!(r["documents"], 24);
            let m = r["whole"]["median_log10_p"].as_f64().unwrap();
            assert!(m > last, "{attack} {rate}: the evidence weakens as the rate grows ({m} after {last})");
            last = m;
            for test in ["whole", "window"] {
                let (lo, hi) = (r[test]["ci99"][0].as_f64().unwrap(), r[test]["ci99"][1].as_f64().unwrap());
                let rate = r[test]["rate"].as_f64().unwrap();
                assert!(lo <= rate && rate <= hi);
            }
        }
    }
    let sub30 = find("substitution", Some(0.3));
    assert!(none["whole"]["rate"].as_f64() >= sub30["whole"]["rate"].as_f64());
    assert!(none["window"]["rate"].as_f64() >= sub30["window"]["rate"].as_f64());
    // Copy-paste: 60 and 150 watermarked tokens in 600; the larger span is easier to find.
    let p10 = find("copy_paste", Some(0.1));
    let p25 = find("copy_paste", Some(0.25));
    assert_eq!((p10["span_tokens"].as_u64(), p25["span_tokens"].as_u64()), (Some(60), Some(150)));
    assert_eq!(p10["tokens_mean"], 600.0);
    assert!(p25["window"]["median_log10_p"].as_f64() < p10["window"]["median_log10_p"].as_f64());
    assert!(p25["window"]["rate"].as_f64() >= p10["window"]["rate"].as_f64());
    // The window test finds a pasted span better than the whole-text test.
    assert!(p10["window"]["median_log10_p"].as_f64() < p10["whole"]["median_log10_p"].as_f64());
    // Human documents: both tests' false positives, each within what α = 1e-3 allows.
    let human = v["human"].as_array().unwrap();
    assert_eq!(human.len(), 2);
    assert_eq!((human[0]["document_tokens"].as_u64(), human[1]["document_tokens"].as_u64()), (Some(200), Some(600)));
    for h in human {
        assert!(h["documents"].as_u64().unwrap() >= 20, "{h}");
        for test in ["whole", "window"] {
            assert!(h[test]["ci99"][0].as_f64().unwrap() <= 1e-3, "{h}");
        }
    }
    // Deterministic.
    let again = attack(dir.path(), &["--generations", "gens.jsonl", "--json"]).assert().success().get_output().clone();
    assert_eq!(json_of(&again)["rows"], v["rows"]);
    // And readable without --json.
    let table = attack(dir.path(), &["--generations", "gens.jsonl", "--rates", "0.5", "--paste-fractions", "0.5"])
        .assert()
        .success()
        .get_output()
        .clone();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.lines().any(|l| l.starts_with("substitution") && l.contains("0.5")), "{table}");
    assert!(table.contains("false positives on human documents"));
}

#[test]
fn attack_bad_input_is_one_line_and_exit_2() {
    let dir = TempDir::new().unwrap();
    corpus(dir.path());
    key_file(dir.path());
    fs::write(dir.path().join("bad.jsonl"), "{\"ids\": [1, 2, 3]}\n{\"ids\": \"one two\"}\n").unwrap();
    fails_with(
        dir.path(),
        &["attack", "--generations", "bad.jsonl", "--key", "test.key"],
        "bad.jsonl:2: expected a JSON object",
    );
    fs::write(dir.path().join("broken.jsonl"), "{\"ids\": [1, 2,\n").unwrap();
    let tok = tokenizer();
    let tok = tok.to_str().unwrap();
    let common = ["--key", "test.key", "--tokenizer", tok, "--corpus", "corpus"];
    let run = |file: &str, extra: &[&str], needle: &str| {
        let mut args = vec!["attack", "--generations", file];
        args.extend_from_slice(&common);
        args.extend_from_slice(extra);
        fails_with(dir.path(), &args, needle);
    };
    run("broken.jsonl", &[], "broken.jsonl:1: expected a JSON object");
    fs::write(dir.path().join("big.jsonl"), "{\"ids\": [1, 49152]}\n").unwrap();
    run("big.jsonl", &[], "big.jsonl:1: token id 49152 is outside the vocabulary of 49152 ids");
    fs::write(dir.path().join("short.jsonl"), "{\"ids\": [1, 2, 3]}\n\n").unwrap();
    run("short.jsonl", &[], "no generation has at least --tokens 200 ids (the longest has 3)");
    fs::write(dir.path().join("empty.jsonl"), "\n").unwrap();
    run("empty.jsonl", &[], "empty.jsonl: no generations");
    run("missing.jsonl", &[], "missing.jsonl");
    fs::write(dir.path().join("ok.jsonl"), "{\"ids\": [1, 2, 3]}\n").unwrap();
    run("ok.jsonl", &["--tokens", "3", "--paste-tokens", "100000"], "no human document of");
    // Argument errors are clap's (exit 2 too).
    for bad in [["--rates", "0"], ["--rates", "1.5"], ["--alpha", "2"]] {
        wmark(dir.path()).args(["attack", "--generations", "ok.jsonl", "--key", "test.key"]).args(bad).assert().code(2);
    }
}
