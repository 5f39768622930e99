//! `wmark detect` and `wmark radioactive` on text watermarked by vLLM's own sampler
//! (`fixtures/vectors/vllm-detect.toml`, written by `scripts/vllm-reference` from vLLM's
//! code): the command line reaches the numbers vLLM's detector reports, and goes on past
//! the point where vLLM's p-value underflows.

mod common;
use common::*;

struct Case {
    key: u64,
    width: u64,
    tokens: Vec<u32>,
    score: f64,
    num_scored: u64,
    p_value: f64,
}

fn case(name: &str) -> Case {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors/vllm-detect.toml");
    let file: toml::Value = toml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let c = file["detect"].as_array().unwrap().iter().find(|c| c["name"].as_str() == Some(name)).unwrap();
    Case {
        key: c["key"].as_str().unwrap().parse().unwrap(),
        width: c["context_width"].as_integer().unwrap() as u64,
        tokens: c["tokens"].as_array().unwrap().iter().map(|t| t.as_integer().unwrap() as u32).collect(),
        score: c["score"].as_float().unwrap(),
        num_scored: c["num_scored"].as_integer().unwrap() as u64,
        p_value: c["p_value"].as_float().unwrap(),
    }
}

fn vllm_key(dir: &Path, key: u64) -> PathBuf {
    let p = dir.join("vllm.key");
    Key::from_vllm(key).save_new(&p).unwrap();
    p
}

#[test]
fn detect_ids_gives_vllms_score_and_count_and_a_p_value_past_underflow() {
    let dir = tmp();
    let c = case("gumbel-sampler-w2-v1000-n2000");
    assert_eq!(c.p_value, 0.0, "vLLM's own p-value underflows here");
    let key = vllm_key(dir.path(), c.key);
    write(dir.path(), "ids.txt", format!("{}\n", ids_json(&c.tokens)));
    let width = c.width.to_string();
    let out = wmark(dir.path())
        .args(["detect", "--ids", "--scheme", "vllm-gumbel", "--context-width", &width, "--vocab-size", "1000"])
        .arg("--key")
        .arg(&key)
        .args(["--json", "ids.txt"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["scheme"], "vllm-gumbel:2");
    assert_eq!(r["dedup"], "window");
    assert_eq!(r["scored"].as_u64().unwrap(), c.num_scored);
    let score = r["score"].as_f64().unwrap();
    assert!((score - c.score).abs() <= 1e-12 * c.score, "{score} vs {}", c.score);
    let log10_p = r["log10_p"].as_f64().unwrap();
    assert!(log10_p < -400.0, "{log10_p}");
    assert_eq!(r["verdict"], "watermarked");
}

#[test]
fn radioactive_scores_a_vllm_corpus() {
    let dir = tmp();
    let c = case("gumbel-sampler-w4-v1000-n200");
    let key = vllm_key(dir.path(), c.key);
    write(dir.path(), "answers.jsonl", format!("{{\"ids\": {}}}\n", ids_json(&c.tokens)));
    let out = wmark(dir.path())
        .args(["radioactive", "--ids", "--jsonl", "ids", "--answers", "answers.jsonl", "--json"])
        .args(["--scheme", "vllm-gumbel", "--context-width", "4", "--vocab-size", "1000", "--key"])
        .arg(&key)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["scored"].as_u64().unwrap(), c.num_scored);
    assert!((r["score"].as_f64().unwrap() - c.score).abs() <= 1e-12 * c.score);
    assert!((r["log10_p"].as_f64().unwrap() - c.p_value.log10()).abs() < 1e-6);
}

#[test]
fn keys_and_flags_that_do_not_fit_the_scheme_are_clear_errors() {
    let dir = tmp();
    let vllm = vllm_key(dir.path(), 42);
    let v1 = fixed_key(dir.path(), "v1.key", 7);
    write(dir.path(), "ids.txt", "[1, 2, 3, 4, 5]\n");
    let run = |args: &[&str], key: &Path| {
        let out = wmark(dir.path())
            .args(["detect", "--ids", "--vocab-size", "100"])
            .args(args)
            .arg("--key")
            .arg(key)
            .arg("ids.txt")
            .assert()
            .code(2)
            .get_output()
            .clone();
        stderr_of(&out)
    };
    assert!(run(&["--scheme", "vllm-gumbel"], &v1).contains("needs a vLLM key"));
    assert!(run(&["--scheme", "lefthash"], &vllm).contains("needs a wmark key"));
    assert!(run(&["--scheme", "gumbel:4", "--context-width", "3"], &v1).contains("--context-width applies"));
    assert!(run(&["--scheme", "vllm-gumbel", "--vllm-alpha", "0.2"], &vllm).contains("--vllm-alpha applies"));
    assert!(run(&["--scheme", "vllm-dual-key-gumbel", "--vllm-alpha", "1.5"], &vllm).contains("between 0 and 1"));
    assert!(run(&["--scheme", "vllm-gumbel", "--context-width", "0"], &vllm).contains("from 1 to 1024"));
    assert!(run(&["--scheme", "vllm-gumbel", "--gamma", "0.5"], &vllm).contains("no green list"));
    // A vLLM key file readable by others is refused, like any key.
    chmod(&vllm, 0o644);
    assert!(run(&["--scheme", "vllm-gumbel"], &vllm).contains("vllm.key"));
}

#[test]
fn keygen_writes_a_vllm_key_for_a_vllm_scheme() {
    let dir = tmp();
    wmark(dir.path())
        .args(["keygen", "--out", "v.key", "--scheme", "vllm-gumbel", "--vocab-size", "1000"])
        .assert()
        .success();
    let text = fs::read_to_string(dir.path().join("v.key")).unwrap();
    assert!(text.starts_with("wmark-vllm-key-v1:") && text.ends_with('\n'), "{text}");
    assert_eq!(mode(&dir.path().join("v.key")), 0o600);
}

#[test]
fn inspect_prints_vllms_own_uniform() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors/vllm-philox.toml");
    let file: toml::Value = toml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    // A case whose context is all −1: the first generated token, `--context ""`.
    let c = file["uniform"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["context"].as_array().unwrap().iter().all(|x| x.as_integer() == Some(-1)))
        .expect("a first-token case");
    let dir = tmp();
    let key = vllm_key(dir.path(), c["key"].as_str().unwrap().parse().unwrap());
    let width = c["context"].as_array().unwrap().len().to_string();
    let token = c["tokens"][0].as_integer().unwrap().to_string();
    let out = wmark(dir.path())
        .args(["inspect", "--scheme", "vllm-gumbel", "--context-width", &width, "--vocab-size", "4294967295"])
        .arg("--key")
        .arg(&key)
        .args(["--context", "", "--token", &token])
        .assert()
        .success()
        .get_output()
        .clone();
    let line = stdout_of(&out);
    let u: f64 = line.split("u = ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert_eq!(u, c["uniform"][0].as_float().unwrap(), "{line}");
}
