//! `wmark generate --prompts` (batch answers, resume, per-token statistics) and
//! `wmark tokenize`, end to end with SmolLM2 from the asset cache (`scripts/fetch-assets`).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn model() -> PathBuf {
    let p = wmark_lm::assets::smollm2_gguf(&wmark_lm::assets::cache_dir());
    assert!(p.exists(), "{} is missing: run scripts/fetch-assets first", p.display());
    p
}

fn wmark(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("wmark").unwrap();
    c.current_dir(dir).env("RAYON_NUM_THREADS", "1");
    c
}

fn key(dir: &Path) -> PathBuf {
    let k = dir.join("k.key");
    wmark(dir).args(["keygen", "--out"]).arg(&k).assert().success();
    k
}

fn lines(p: &Path) -> Vec<Value> {
    fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn batch_answers_resume_and_record_statistics() {
    let d = tempfile::tempdir().unwrap();
    let k = key(d.path());
    let prompts = d.path().join("p.jsonl");
    fs::write(&prompts, "{\"id\": \"a\", \"prompt\": \"Write a story about a fox.\"}\n\n{\"prompt\": \"Describe the sea.\", \"seed\": 42}\n").unwrap();
    let out = d.path().join("out.jsonl");
    let run = || {
        let mut c = wmark(d.path());
        c.args(["generate", "--prompts"])
            .arg(&prompts)
            .arg("--out")
            .arg(&out)
            .arg("--key")
            .arg(&k)
            .arg("--model")
            .arg(model());
        c.args([
            "--max-tokens",
            "6",
            "--min-tokens",
            "6",
            "--stats",
            "--seed",
            "7",
            "--temperature",
            "1",
            "--top-p",
            "1",
            "--top-k",
            "0",
        ]);
        c
    };
    // Progress goes to a terminal only: nothing on stderr in a pipe.
    run().assert().success().stderr("");
    let first = lines(&out);
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["id"], "a");
    assert_eq!(first[1]["id"], "3", "an id-less prompt is named by its line number");
    assert_eq!(first[0]["seed"], 7, "the base seed plus the prompt's position");
    assert_eq!(first[1]["seed"], 42, "a prompt's own seed wins");
    for g in &first {
        assert_eq!(g["schema_version"], 1);
        assert_eq!(g["ids"].as_array().unwrap().len(), 6, "--min-tokens forbids stopping early");
        assert_eq!(g["min_tokens"], 6);
        assert_eq!(g["watermark"], true);
        for field in ["logprob", "entropy", "spike_entropy"] {
            assert_eq!(g[field].as_array().unwrap().len(), 6, "{field}: one value per token");
        }
        for (lp, (h, s)) in g["logprob"]
            .as_array()
            .unwrap()
            .iter()
            .zip(g["entropy"].as_array().unwrap().iter().zip(g["spike_entropy"].as_array().unwrap()))
        {
            let (lp, h, s) = (lp.as_f64().unwrap(), h.as_f64().unwrap(), s.as_f64().unwrap());
            assert!(lp <= 0.0 && h >= 0.0, "log-probability {lp}, entropy {h}");
            // Spike entropy lies in [1/(1+z), 1] for a distribution: here z < 6.
            assert!(s > 1.0 / 7.0 - 1e-4 && s <= 1.0 + 1e-4, "spike entropy {s}");
        }
    }

    // Again: nothing to do, nothing written.
    let before = fs::read_to_string(&out).unwrap();
    run().assert().success().stderr(predicate::str::contains("2 of 2 prompts already answered"));
    assert_eq!(fs::read_to_string(&out).unwrap(), before);

    // An interrupted run left half a line: it is removed and that prompt answered again,
    // with the same text (same seed).
    let keep: Vec<&str> = before.lines().collect();
    fs::write(&out, format!("{}\n{{\"id\": \"3\", \"te", keep[0])).unwrap();
    run().assert().success().stderr(predicate::str::contains("incomplete last line"));
    let again = lines(&out);
    assert_eq!(again.len(), 2);
    assert_eq!(again[1]["ids"], first[1]["ids"], "the same seed gives the same answer");
}

#[test]
fn bad_prompt_files_are_refused_before_the_model_loads() {
    let d = tempfile::tempdir().unwrap();
    let k = key(d.path());
    let cases: [(&str, &str); 5] = [
        ("not json\n", "p.jsonl:1: not JSON"),
        ("{\"prompt\": \"a\"}\n[1]\n", "p.jsonl:2: expected a JSON object"),
        ("{\"text\": \"a\"}\n", "missing the text field \"prompt\""),
        ("{\"id\": 1, \"prompt\": \"a\"}\n{\"id\": \"1\", \"prompt\": \"b\"}\n", "the id \"1\" is used twice"),
        ("\n\n", "no prompts"),
    ];
    for (content, message) in cases {
        let p = d.path().join("p.jsonl");
        fs::write(&p, content).unwrap();
        wmark(d.path())
            .args(["generate", "--prompts", "p.jsonl", "--key"])
            .arg(&k)
            .args(["--model", "missing.gguf"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    // An --out that is not an answers file is not appended to.
    fs::write(d.path().join("p.jsonl"), "{\"prompt\": \"a\"}\n").unwrap();
    fs::write(d.path().join("o.jsonl"), "{\"text\": \"x\"}\n").unwrap();
    wmark(d.path())
        .args(["generate", "--prompts", "p.jsonl", "--out", "o.jsonl", "--key"])
        .arg(&k)
        .arg("--model")
        .arg(model())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("o.jsonl:1: no \"id\""));
    assert_eq!(fs::read_to_string(d.path().join("o.jsonl")).unwrap(), "{\"text\": \"x\"}\n");
    wmark(d.path())
        .args(["generate", "--prompt", "a", "--max-tokens", "5", "--min-tokens", "6", "--no-watermark"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--min-tokens 6 is more than --max-tokens 5"));
    wmark(d.path())
        .args(["generate", "--prompt", "a", "--out", "o.jsonl", "--no-watermark"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out goes with --prompts"));
}

#[test]
fn tokenize_round_trips_and_checks_ids() {
    let d = tempfile::tempdir().unwrap();
    let text = "The quick brown fox jumps over the lazy dog, twice: 1234.";
    let out = wmark(d.path()).arg("tokenize").write_stdin(text).assert().success().get_output().stdout.clone();
    let ids: Vec<u32> = serde_json::from_slice(&out).unwrap();
    assert!(ids.len() > 10 && ids.iter().all(|&i| i < wmark_lm::assets::SMOLLM2_VOCAB));
    let back =
        wmark(d.path()).args(["tokenize", "--decode"]).write_stdin(out).assert().success().get_output().stdout.clone();
    let back: String = serde_json::from_slice(&back).unwrap();
    assert_eq!(back, text);
    // JSON Lines in, one line out per document.
    fs::write(d.path().join("d.jsonl"), "{\"t\": \"a b\"}\n{\"t\": \"c\"}\n").unwrap();
    let out =
        wmark(d.path()).args(["tokenize", "--jsonl", "t", "d.jsonl"]).assert().success().get_output().stdout.clone();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
    wmark(d.path())
        .args(["tokenize", "--decode"])
        .write_stdin("[1, 2, 99999]\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("id 99999 is outside the tokenizer's 49152 ids"));
}

/// `wmark generate --scheme vllm-gumbel` writes an answer that `wmark detect` finds with the
/// same vLLM key, and reports no γ or δ; a Gumbel-max scheme refuses greedy decoding.
#[test]
fn generate_with_vllms_scheme_is_detected() {
    let d = tempfile::tempdir().unwrap();
    let k = d.path().join("v.key");
    wmark(d.path())
        .args(["keygen", "--scheme", "vllm-gumbel", "--vocab-size", "49152", "--out"])
        .arg(&k)
        .assert()
        .success();
    let scheme = ["--scheme", "vllm-gumbel", "--context-width", "4", "--vocab-size", "49152"];
    let out = wmark(d.path())
        .args(["generate", "--prompt", "Describe a walk through an autumn forest.", "--json", "--max-tokens", "80"])
        .args(["--min-tokens", "80", "--temperature", "1", "--top-p", "1", "--top-k", "0", "--seed", "3", "--key"])
        .arg(&k)
        .args(scheme)
        .arg("--model")
        .arg(model())
        .assert()
        .success()
        .get_output()
        .clone();
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["scheme"], "vllm-gumbel:4");
    assert!(answer["gamma"].is_null() && answer["delta"].is_null(), "{answer}");
    let ids = d.path().join("ids.txt");
    fs::write(&ids, format!("{}\n", answer["ids"])).unwrap();
    let out =
        wmark(d.path()).args(["detect", "--ids", "--json", "--key"]).arg(&k).args(scheme).arg(&ids).output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("log10_p = {}", r["log10_p"]);
    assert!(r["log10_p"].as_f64().unwrap() < -6.0, "{r}");
    wmark(d.path())
        .args(["generate", "--prompt", "hi", "--max-tokens", "3", "--temperature", "0", "--key"])
        .arg(&k)
        .args(scheme)
        .arg("--model")
        .arg(model())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("temperature above 0"));
}
