//! `wmark detect`, `wmark radioactive` and `wmark keygen` with Hugging Face transformers'
//! KGW schemes (`--scheme hf-lefthash|hf-selfhash --context-width W --gamma RATIO` and a
//! `wmark-hf-key-v1:` key file), on ids that transformers' own `WatermarkDetector` scored
//! (`fixtures/vectors/hf-kgw.toml`, written by `scripts/hf-reference`).

mod common;
use common::*;

struct Case {
    scheme: String,
    key: i128,
    gamma: f64,
    vocab: u32,
    width: u64,
    ids: Vec<u32>,
    scored_unique: u64,
    green_unique: u64,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors/hf-kgw.toml");
    let file: toml::Value = toml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let int = |v: &toml::Value| v.as_integer().unwrap();
    file["detect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            scheme: c["scheme"].as_str().unwrap().to_string(),
            key: c["hashing_key"].as_str().unwrap().parse().unwrap(),
            gamma: c["gamma"].as_float().unwrap(),
            vocab: int(&c["vocab_size"]) as u32,
            width: int(&c["context_width"]) as u64,
            ids: c["ids"].as_array().unwrap().iter().map(|t| int(t) as u32).collect(),
            scored_unique: int(&c["scored_unique"]) as u64,
            green_unique: int(&c["green_unique"]) as u64,
        })
        .collect()
}

fn hf_key(dir: &Path, name: &str, key: i128) -> PathBuf {
    let p = dir.join(name);
    Key::from_hf(key).unwrap().save_new(&p).unwrap();
    p
}

fn scheme_args(c: &Case) -> Vec<String> {
    [
        "--scheme".into(),
        format!("hf-{}", c.scheme),
        "--context-width".into(),
        c.width.to_string(),
        "--gamma".into(),
        c.gamma.to_string(),
        "--vocab-size".into(),
        c.vocab.to_string(),
    ]
    .into()
}

#[test]
fn detect_counts_what_transformers_counts_without_repeated_ngrams() {
    let dir = tmp();
    for (i, c) in cases().iter().enumerate() {
        let key = hf_key(dir.path(), &format!("hf{i}.key"), c.key);
        write(dir.path(), "ids.txt", format!("{}\n", ids_json(&c.ids)));
        let out = wmark(dir.path())
            .args(["detect", "--ids", "--json"])
            .args(scheme_args(c))
            .arg("--key")
            .arg(&key)
            .arg("ids.txt")
            .assert()
            .get_output()
            .clone();
        let r = &json_lines(&out)[0];
        assert_eq!(r["scheme"], format!("hf-{}:{}", c.scheme, c.width));
        assert_eq!(r["dedup"], "tuple");
        assert_eq!((r["scored"].as_u64().unwrap(), r["green"].as_u64().unwrap()), (c.scored_unique, c.green_unique));
        assert!(r["log10_p"].as_f64().unwrap() <= 0.0);
    }
}

#[test]
fn radioactive_takes_the_hf_schemes_too() {
    let dir = tmp();
    let c = cases().into_iter().find(|c| c.scheme == "selfhash").unwrap();
    let key = hf_key(dir.path(), "hf.key", c.key);
    write(dir.path(), "answers.jsonl", format!("{{\"ids\": {}}}\n", ids_json(&c.ids)));
    let out = wmark(dir.path())
        .args(["radioactive", "--ids", "--jsonl", "ids", "--answers", "answers.jsonl", "--json"])
        .args(scheme_args(&c))
        .arg("--key")
        .arg(&key)
        .assert()
        // Random ids are not radioactive: exit 1, as for any scheme.
        .code(1)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["verdict"], "not_radioactive");
    assert_eq!((r["scored"].as_u64().unwrap(), r["green"].as_u64().unwrap()), (c.scored_unique, c.green_unique));
}

#[test]
fn keygen_writes_an_hf_key_and_generation_is_refused_clearly() {
    let dir = tmp();
    wmark(dir.path())
        .args(["keygen", "--out", "h.key", "--scheme", "hf-selfhash", "--context-width", "4", "--vocab-size", "1000"])
        .assert()
        .success();
    let key = dir.path().join("h.key");
    let text = fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("wmark-hf-key-v1:") && text.ends_with('\n'), "{text}");
    assert_eq!(mode(&key), 0o600);
    let out = wmark(dir.path())
        .args(["inspect", "--scheme", "hf-lefthash", "--vocab-size", "1000", "--context", "1", "--key"])
        .arg(&key)
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(stderr_of(&out).contains("wmark detect"), "{}", stderr_of(&out));
}

#[test]
fn keys_and_flags_that_do_not_fit_are_clear_errors() {
    let dir = tmp();
    let hf = hf_key(dir.path(), "hf.key", 15_485_863);
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
    assert!(run(&["--scheme", "hf-lefthash"], &v1).contains("wmark-hf-key-v1:"));
    assert!(run(&["--scheme", "lefthash"], &hf).contains("wmark-key-v1:"));
    assert!(run(&["--scheme", "hf-selfhash", "--context-width", "0"], &hf).contains("from 1 to 1024"));
    assert!(run(&["--scheme", "hf-lefthash", "--gamma", "0.001"], &hf).contains("green ids"));
    write(dir.path(), "bad.key", "wmark-hf-key-v1:0015485863\n");
    chmod(&dir.path().join("bad.key"), 0o600);
    assert!(run(&["--scheme", "hf-lefthash"], &dir.path().join("bad.key")).contains("decimal"));
}
