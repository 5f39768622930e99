//! `wmark keygen`, `wmark detect`, `wmark radioactive` and `wmark generate` with Hugging Face
//! transformers' SynthID-Text (`--scheme hf-synthid --ngram-len N` and a
//! `wmark-synthid-key-v1:` key file): on text transformers generated with its own processor
//! (`fixtures/vectors/hf-synthid.toml`, written by `scripts/hf-reference`), and on text wmark
//! generates with SmolLM2 (the asset cache, `scripts/fetch-assets`).

mod common;
use common::*;

struct Generated {
    name: String,
    ngram_len: u64,
    keys: Vec<i64>,
    table_size: u64,
    table_seed: String,
    vocab: u64,
    watermarked: bool,
    eos: u32,
    generated: Vec<u32>,
    g_sum: u64,
    mask_count: u64,
    mean_score: f64,
}

fn generated() -> Vec<Generated> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors/hf-synthid.toml");
    let file: toml::Value = toml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let int = |v: &toml::Value| v.as_integer().unwrap();
    file["generated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| Generated {
            name: g["name"].as_str().unwrap().to_string(),
            ngram_len: int(&g["ngram_len"]) as u64,
            keys: g["keys"].as_array().unwrap().iter().map(int).collect(),
            table_size: int(&g["sampling_table_size"]) as u64,
            table_seed: g["sampling_table_seed"].as_str().unwrap().to_string(),
            vocab: int(&g["vocab_size"]) as u64,
            watermarked: g["watermarked"].as_bool().unwrap(),
            eos: int(&g["eos_token_id"]) as u32,
            generated: g["generated"].as_array().unwrap().iter().map(|t| int(t) as u32).collect(),
            g_sum: int(&g["g_sum"]) as u64,
            mask_count: int(&g["mask_count"]) as u64,
            mean_score: g["mean_score"].as_float().unwrap(),
        })
        .collect()
}

fn synthid_key(dir: &Path, name: &str, keys: &[i64]) -> PathBuf {
    let p = dir.join(name);
    Key::from_synthid(keys).unwrap().save_new(&p).unwrap();
    p
}

fn scheme_args(g: &Generated) -> Vec<String> {
    [
        "--scheme".into(),
        "hf-synthid".into(),
        "--ngram-len".into(),
        g.ngram_len.to_string(),
        "--sampling-table-size".into(),
        g.table_size.to_string(),
        "--sampling-table-seed".into(),
        g.table_seed.clone(),
        "--vocab-size".into(),
        g.vocab.to_string(),
    ]
    .into()
}

fn until_eos(g: &Generated) -> &[u32] {
    &g.generated[..g.generated.iter().position(|&t| t == g.eos).unwrap_or(g.generated.len())]
}

#[test]
fn detect_gives_transformers_mean_score_on_its_text() {
    let dir = tmp();
    for (i, g) in generated().iter().enumerate() {
        let key = synthid_key(dir.path(), &format!("s{i}.key"), &g.keys);
        write(dir.path(), "ids.txt", format!("{}\n", ids_json(until_eos(g))));
        let out = wmark(dir.path())
            .args(["detect", "--ids", "--json"])
            .args(scheme_args(g))
            .arg("--key")
            .arg(&key)
            .arg("ids.txt")
            .output()
            .unwrap();
        let r = &json_lines(&out)[0];
        // Exit 0 exactly when the verdict is "watermarked"; the control is never found.
        let found = r["verdict"] == "watermarked";
        assert_eq!(out.status.code(), Some(if found { 0 } else { 1 }), "{}: {r}", g.name);
        assert!(found || g.name.starts_with("n2-") || !g.watermarked, "{}: {r}", g.name);
        assert!(!found || g.watermarked, "{}: {r}", g.name);
        assert_eq!(r["scheme"], format!("hf-synthid:{}", g.ngram_len), "{}", g.name);
        assert_eq!(r["dedup"], "window");
        assert_eq!(r["scored"].as_u64().unwrap(), g.mask_count, "{}", g.name);
        assert_eq!(r["score"].as_f64().unwrap(), g.g_sum as f64, "{}", g.name);
        let mean = r["mean_score"].as_f64().unwrap();
        assert!((mean - g.mean_score).abs() < 1e-15, "{}: {mean} vs {}", g.name, g.mean_score);
        assert!(r["log10_p"].as_f64().unwrap() <= 0.0);
    }
}

#[test]
fn radioactive_and_several_keys_take_hf_synthid() {
    let dir = tmp();
    let all = generated();
    let g = all.iter().find(|g| g.name == "n5-d9-v32000").unwrap();
    let key = synthid_key(dir.path(), "s.key", &g.keys);
    let other: Vec<i64> = g.keys.iter().map(|k| k + 1).collect();
    synthid_key(dir.path(), "other.key", &other);
    write(dir.path(), "answers.jsonl", format!("{{\"ids\": {}}}\n", ids_json(until_eos(g))));
    let out = wmark(dir.path())
        .args(["radioactive", "--ids", "--jsonl", "ids", "--answers", "answers.jsonl", "--json"])
        .args(scheme_args(g))
        .arg("--key")
        .arg(&key)
        .assert()
        .success()
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["verdict"], "radioactive", "{r}");
    // Two keys: the right one is found, the p-value corrected for both.
    write(dir.path(), "ids.txt", format!("{}\n", ids_json(until_eos(g))));
    let out = wmark(dir.path())
        .args(["detect", "--ids", "--json"])
        .args(scheme_args(g))
        .args(["--key", "other.key", "--key", "s.key", "ids.txt"])
        .assert()
        .success()
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["key_id"], Key::from_synthid(&g.keys).unwrap().id().to_string());
    assert_eq!(r["keys"].as_array().unwrap().len(), 2);
}

#[test]
fn keygen_writes_a_synthid_key_and_config_that_detect_reads() {
    let dir = tmp();
    wmark(dir.path())
        .args(["keygen", "--out", "s.key", "--write-config", "wmark.toml", "--scheme", "hf-synthid"])
        .args(["--ngram-len", "4", "--layers", "12", "--sampling-table-seed", "9", "--vocab-size", "1000"])
        .assert()
        .success();
    let key = dir.path().join("s.key");
    let text = fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("wmark-synthid-key-v1:") && text.ends_with('\n'), "{text}");
    assert_eq!(text.trim_end().split(',').count(), 12);
    assert_eq!(mode(&key), 0o600);
    let config = fs::read_to_string(dir.path().join("wmark.toml")).unwrap();
    assert!(config.contains("scheme = \"hf-synthid:4\"") && config.contains("sampling_table_seed = 9"), "{config}");
    write(
        dir.path(),
        "ids.txt",
        format!("{}\n", ids_json(&random_ids(300, 3).iter().map(|t| t % 1000).collect::<Vec<_>>())),
    );
    let out = wmark(dir.path())
        .args(["detect", "--ids", "--json", "--config", "wmark.toml", "--key", "s.key", "ids.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["scheme"], "hf-synthid:4");
    assert!(r["log10_p"].as_f64().unwrap() > -6.0);
    // An account key has as many layers as its master.
    wmark(dir.path()).args(["keygen", "--out", "a.key", "--account", "acme", "--master", "s.key"]).assert().success();
    let account = fs::read_to_string(dir.path().join("a.key")).unwrap();
    assert!(account.starts_with("wmark-synthid-key-v1:"));
    assert_eq!(account.trim_end().split(',').count(), 12);
}

#[test]
fn bad_synthid_keys_and_flags_are_clear_errors() {
    let dir = tmp();
    let s = synthid_key(dir.path(), "s.key", &[1, 2, 3]);
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
        let err = stderr_of(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        err
    };
    assert!(run(&["--scheme", "hf-synthid"], &v1).contains("wmark-synthid-key-v1:"));
    assert!(run(&["--scheme", "lefthash"], &s).contains("wmark-key-v1:"));
    assert!(run(&["--scheme", "hf-synthid", "--ngram-len", "1"], &s).contains("between 2 and"));
    assert!(run(&["--scheme", "hf-synthid", "--gamma", "0.5"], &s).contains("no green list"));
    assert!(run(&["--scheme", "lefthash", "--ngram-len", "3"], &v1).contains("hf-synthid only"));
    assert!(run(&["--scheme", "hf-synthid", "--sampling-table-size", "0"], &s).contains("sampling_table_size"));
    for bad in ["1,,2", "1, 2", "01,2", "-0", "9223372036854775808", ""] {
        write(dir.path(), "bad.key", format!("wmark-synthid-key-v1:{bad}\n"));
        chmod(&dir.path().join("bad.key"), 0o600);
        let err = run(&["--scheme", "hf-synthid"], &dir.path().join("bad.key"));
        assert!(err.contains("layer key"), "{bad:?}: {err}");
        assert!(!err.contains("01,2") && !err.contains("1, 2"), "the error repeats the key: {err}");
    }
    let out = wmark(dir.path())
        .args(["inspect", "--scheme", "hf-synthid", "--vocab-size", "100", "--context", "1,2,3,4", "--key"])
        .arg(&s)
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(stderr_of(&out).contains("wmark detect"), "{}", stderr_of(&out));
}

#[test]
fn text_wmark_generates_with_hf_synthid_is_detected() {
    let model = wmark_lm::assets::smollm2_gguf(&wmark_lm::assets::cache_dir());
    assert!(model.exists(), "{} is missing: run scripts/fetch-assets first", model.display());
    let dir = tmp();
    wmark(dir.path())
        .args(["keygen", "--out", "s.key", "--scheme", "hf-synthid", "--vocab-size", "49152"])
        .assert()
        .success();
    let out = wmark(dir.path())
        .args(["generate", "--json", "--scheme", "hf-synthid", "--vocab-size", "49152", "--key", "s.key"])
        .args(["--prompt", "Write a short story about a lighthouse keeper.", "--max-tokens", "60"])
        .args(["--min-tokens", "60", "--temperature", "1", "--top-k", "0", "--top-p", "1", "--seed", "3"])
        .arg("--model")
        .arg(&model)
        .assert()
        .success()
        .get_output()
        .clone();
    let answer = &json_lines(&out)[0];
    assert_eq!(answer["scheme"], "hf-synthid:5");
    assert!(answer["gamma"].is_null() && answer["delta"].is_null(), "{answer}");
    let ids: Vec<u32> = answer["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    assert_eq!(ids.len(), 60);
    write(dir.path(), "ids.txt", format!("{}\n", ids_json(&ids)));
    let out = wmark(dir.path())
        .args(["detect", "--ids", "--json", "--scheme", "hf-synthid", "--vocab-size", "49152", "--key", "s.key"])
        .arg("ids.txt")
        .assert()
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    let mean = r["mean_score"].as_f64().unwrap();
    // 56 n-grams of 30 layers at T = 1: the mean g-value rises well above 0.5.
    assert!(mean > 0.53, "mean score {mean}: {r}");
    assert!(r["log10_p"].as_f64().unwrap() < -3.0, "{r}");
}
