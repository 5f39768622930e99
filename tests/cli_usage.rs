//! The `wmark` command line, end to end (one file per command; helpers in `common/`).
//! Pipes, help and usage errors of every command.

mod common;

use common::*;

// ---------------------------------------------------------------------------------------------
// Pipes, help, usage

/// Reads one line of a long output, closes the pipe, and expects a quiet exit 0.
fn assert_quiet_on_closed_pipe(dir: &Path, args: &[&str], stdin: Option<String>) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wmark"))
        .current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = w.write_all(input.as_bytes());
        });
    }
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(!first.is_empty());
    drop(reader);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("Broken pipe") && !stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    // About 250,000 lines: far more than a pipe buffers.
    assert_quiet_on_closed_pipe(
        d.path(),
        &["inspect", "--key", "k.key", "--vocab-size", "1000000", "--context", "1"],
        None,
    );
    // detect, over many documents.
    let input: String = (0..3000u64).map(|i| ids_json(&random_ids(30, 100 + i)) + "\n").collect();
    assert_quiet_on_closed_pipe(
        d.path(),
        &["detect", "--ids", "--key", "k.key", "--vocab-size", "128256"],
        Some(input),
    );
}

#[test]
fn help_version_and_usage_errors() {
    let d = tmp();
    wmark(d.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("keygen").and(predicate::str::contains("detect")));
    for cmd in ["keygen", "detect", "inspect", "calibrate", "bench"] {
        wmark(d.path()).args([cmd, "--help"]).assert().success().stdout(predicate::str::contains("Usage: wmark"));
    }
    wmark(d.path()).args(["detect", "--help"]).assert().success().stdout(
        predicate::str::contains("--dedup")
            .and(predicate::str::contains("--alpha"))
            .and(predicate::str::contains("--jsonl")),
    );
    wmark(d.path()).arg("--version").assert().success().stdout(predicate::str::starts_with("wmark "));
    wmark(d.path()).arg("frobnicate").assert().code(2).stderr(predicate::str::contains("unrecognized subcommand"));
    wmark(d.path()).assert().code(2).stderr(predicate::str::contains("Usage"));
    wmark(d.path()).args(["detect", "--no-such-flag"]).assert().code(2);
    wmark(d.path()).args(["keygen"]).assert().code(2).stderr(predicate::str::contains("--out"));
}

#[test]
fn keygen_refuses_an_empty_or_padded_account_id() {
    let d = tempfile::tempdir().unwrap();
    let master = d.path().join("m.key");
    Command::cargo_bin("wmark").unwrap().arg("keygen").arg("--out").arg(&master).assert().success();
    for account in ["", " ", " acme", "acme "] {
        let out = d.path().join("a.key");
        Command::cargo_bin("wmark")
            .unwrap()
            .args(["keygen", "--account", account, "--master"])
            .arg(&master)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--account"));
        assert!(!out.exists());
    }
}

#[test]
fn radioactive_finds_inherited_green_bias_and_respects_prompts() {
    let d = tmp();
    let k = fixed_key(d.path(), "k.key", 0x3c);
    // "Answers" that are 60% green, as a student of watermarked text might be, against
    // random answers; the ids JSONL carries them in an "ids" field.
    let student: Vec<String> = (0..40)
        .map(|i| {
            let pattern: Vec<bool> = (0..50).map(|j| (j * 7 + i) % 10 < 6).collect();
            serde_json::json!({ "ids": chain_ids(&k, &pattern, 1000 + i as u64) }).to_string()
        })
        .collect();
    let control: Vec<String> =
        (0..40).map(|i| serde_json::json!({ "ids": random_ids(51, 2000 + i) }).to_string()).collect();
    write(d.path(), "student.jsonl", student.join("\n") + "\n");
    write(d.path(), "control.jsonl", control.join("\n") + "\n");
    let run = |answers: &str, extra: &[&str]| {
        wmark(d.path())
            .args(["radioactive", "--answers", answers, "--jsonl", "ids", "--ids", "--json"])
            .args(ID_SCHEME)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run("student.jsonl", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let r = &json_lines(&out)[0];
    assert_eq!(r["verdict"], "radioactive");
    assert!(r["log10_p"].as_f64().unwrap() < -6.0, "{r}");
    assert_eq!(r["answers"], 40);

    let out = run("control.jsonl", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(json_lines(&out)[0]["verdict"], "not_radioactive");

    // The same student answers given as prompts: every context is excluded, nothing scored.
    let out = run("student.jsonl", &["--prompts", "student.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out)[0];
    assert_eq!(r["scored"], 0);
    assert_eq!(r["verdict"], "insufficient");

    // The text form, and bad input.
    let out = wmark(d.path())
        .args(["radioactive", "--answers", "student.jsonl", "--jsonl", "ids", "--ids"])
        .args(ID_SCHEME)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout_of(&out).contains("radioactive p="), "{}", stdout_of(&out));
    write(d.path(), "bad.jsonl", "{\"ids\": [1, 2, \"x\"]}\n");
    let out = run("bad.jsonl", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("bad.jsonl:1"), "{}", stderr_of(&out));
    let out = run("missing.jsonl", &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn keygen_write_config_with_the_default_tokenizer_pins_it_and_detect_uses_it() {
    // No --tokenizer, no --vocab-size: the shared default (SmolLM2's tokenizer, built from the
    // GGUF in the asset cache) is written into the config, path and hash, and detect reads it.
    asset("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let d = tmp();
    wmark(d.path())
        .env("WMARK_CACHE_DIR", cache_dir())
        .args(["keygen", "--out", "k.key", "--write-config", "wmark.toml"])
        .assert()
        .success();
    let cfg = fs::read_to_string(d.path().join("wmark.toml")).unwrap();
    assert!(cfg.contains("vocab_size = 49152"), "{cfg}");
    assert!(cfg.contains("tokenizer = ") && cfg.contains("tokenizer_sha256 = "), "{cfg}");
    write(d.path(), "speech.txt", human_text());
    let out = wmark(d.path())
        .env("WMARK_CACHE_DIR", cache_dir())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("not_watermarked"), "{}", stdout_of(&out));
}
