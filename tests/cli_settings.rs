//! The `wmark` command line, end to end (one file per command; helpers in `common/`).
//! Keys, configuration and tokenizer are checked before any input is read.

mod common;

use common::*;

// ---------------------------------------------------------------------------------------------
// Keys and configuration are checked before anything is read

#[test]
fn a_key_readable_by_others_is_refused() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    chmod(&d.path().join("k.key"), 0o644);
    for cmd in [
        &["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"][..],
        &["inspect", "--config", "wmark.toml", "--key", "k.key", "--context", "1", "--count"],
        &["calibrate", "--config", "wmark.toml", "--key", "k.key", "speech.txt"],
    ] {
        wmark(d.path())
            .args(cmd)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("chmod 600").and(predicate::str::contains("0644")));
    }
    chmod(&d.path().join("k.key"), 0o600);
    wmark(d.path()).args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"]).assert().code(1);
}

#[test]
fn a_key_other_than_the_configs_is_refused_naming_both_ids() {
    let d = tmp();
    let config_id = keygen_with_config(d.path());
    let (_, other_id) = keygen(d.path(), "other.key");
    write(d.path(), "speech.txt", human_text());
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "other.key", "speech.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("key id mismatch")
                .and(predicate::str::contains(&config_id))
                .and(predicate::str::contains(&other_id)),
        );
    wmark(d.path())
        .args(["inspect", "--config", "wmark.toml", "--key", "other.key", "--context", "1", "--count"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("key id mismatch"));
}

#[test]
fn a_tokenizer_other_than_the_pinned_one_is_refused() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    // The same tokenizer with whitespace appended: loads fine, but is not the pinned file.
    let mut bytes = fs::read(tokenizer()).unwrap();
    bytes.extend_from_slice(b"\n ");
    write(d.path(), "changed.json", &bytes);
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--tokenizer", "changed.json", "speech.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("tokenizer mismatch").and(predicate::str::contains("changed.json")));
    // And when the config itself names the changed file.
    let cfg = fs::read_to_string(d.path().join("wmark.toml")).unwrap();
    let mut table: toml::Table = toml::from_str(&cfg).unwrap();
    table.insert("tokenizer".into(), toml::Value::String("changed.json".into()));
    write(d.path(), "changed.toml", toml::to_string(&table).unwrap());
    wmark(d.path())
        .args(["detect", "--config", "changed.toml", "--key", "k.key", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tokenizer mismatch").and(predicate::str::contains("changed.toml")));
}

#[test]
fn a_relative_tokenizer_path_in_a_config_is_relative_to_the_config() {
    let d = tmp();
    let id = keygen_with_config(d.path());
    fs::create_dir(d.path().join("conf")).unwrap();
    fs::copy(tokenizer(), d.path().join("conf/tok.json")).unwrap();
    let cfg = fs::read_to_string(d.path().join("wmark.toml")).unwrap();
    let mut table: toml::Table = toml::from_str(&cfg).unwrap();
    table.insert("tokenizer".into(), toml::Value::String("tok.json".into()));
    write(d.path(), "conf/wmark.toml", toml::to_string(&table).unwrap());
    write(d.path(), "speech.txt", human_text());
    wmark(d.path())
        .args(["detect", "--config", "conf/wmark.toml", "--key", "k.key", "speech.txt"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("key={id}")));
}

#[test]
fn a_vocab_size_smaller_than_the_tokenizer_is_refused() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "speech.txt", human_text());
    wmark(d.path())
        .args(["detect", "--key", "k.key", "--vocab-size", "1000", "--tokenizer"])
        .arg(tokenizer())
        .arg("speech.txt")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vocab size mismatch").and(predicate::str::contains("128256")));
    // Larger is fine: models often pad the logits row.
    wmark(d.path())
        .args(["detect", "--key", "k.key", "--vocab-size", "128512", "--tokenizer"])
        .arg(tokenizer())
        .arg("speech.txt")
        .assert()
        .code(1);
}

#[test]
fn a_malformed_key_file_is_refused_naming_the_line_without_echoing_it() {
    let d = tmp();
    let secretish = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
    for (name, contents) in [
        ("empty.key", String::new()),
        ("short.key", "wmark-key-v1:abcd\n".to_string()),
        ("upper.key", format!("wmark-key-v1:{secretish}\n")),
        ("prefix.key", format!("wmark-key-v2:{}\n", "a".repeat(64))),
        ("nonl.key", format!("wmark-key-v1:{}", "a".repeat(64))),
        ("crlf.key", format!("wmark-key-v1:{}\r\n", "a".repeat(64))),
        ("two.key", format!("wmark-key-v1:{}\nmore\n", "a".repeat(64))),
    ] {
        let p = write(d.path(), name, contents);
        chmod(&p, 0o600);
        let out = wmark(d.path())
            .args(["detect", "--ids", "--key", name, "--vocab-size", "1000"])
            .write_stdin("[1,2,3]\n")
            .assert()
            .code(2)
            .stdout("")
            .get_output()
            .clone();
        let err = stderr_of(&out);
        assert!(err.contains(name) && err.contains("line"), "{name}: {err}");
        assert!(!err.contains(secretish) && !err.contains("aaaaaaaa"), "{name} echoed: {err}");
    }
    // A directory is not a key file.
    fs::create_dir(d.path().join("dir.key")).unwrap();
    wmark(d.path())
        .args(["detect", "--ids", "--key", "dir.key", "--vocab-size", "1000"])
        .write_stdin("[1,2,3]\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a key file"));
}

#[test]
fn a_malformed_config_is_refused_naming_the_file() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "doc.ids", "[1,2,3]\n");
    let valid = "version = 1\nscheme = \"lefthash\"\ngamma = 0.25\ndelta = 2.0\nvocab_size = 1000\n";
    for (name, text, what) in [
        ("syntax.toml", "version = 1\nscheme = \n".to_string(), ""),
        ("missing.toml", "version = 1\n".to_string(), "missing field"),
        ("unknown.toml", format!("{valid}colour = \"green\"\n"), "unknown field"),
        ("version.toml", valid.replace("version = 1", "version = 2"), "unsupported config version 2"),
        ("scheme.toml", valid.replace("lefthash", "lefthash:2"), "lefthash:2"),
        ("gamma.toml", valid.replace("0.25", "1.25"), "gamma"),
    ] {
        write(d.path(), name, text);
        wmark(d.path())
            .args(["detect", "--ids", "--config", name, "--key", "k.key", "doc.ids"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(what));
        if what.is_empty() || what.contains("field") || what.contains("version") {
            wmark(d.path())
                .args(["detect", "--ids", "--config", name, "--key", "k.key", "doc.ids"])
                .assert()
                .stderr(predicate::str::contains(name));
        }
    }
    wmark(d.path())
        .args(["detect", "--ids", "--config", "absent.toml", "--key", "k.key", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("absent.toml"));
    // The config fixes the scheme: scheme flags next to it are a usage error.
    write(d.path(), "good.toml", valid);
    wmark(d.path())
        .args(["detect", "--ids", "--config", "good.toml", "--vocab-size", "2000", "--key", "k.key", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    wmark(d.path()).args(["detect", "--ids", "--config", "good.toml", "--key", "k.key", "doc.ids"]).assert().code(1);
}

/// BUG (minor, src/config_file.rs:43): a TOML syntax error is reported with `e.message()`
/// only, which drops the line and column that `toml` knows (and is itself two lines long,
/// against fail.rs's "one-line message"). In a hand-edited wmark.toml the user cannot tell
/// where the error is. It should name `file:line` (from `e.span()`) like detect names input
/// lines.
#[test]
fn a_config_syntax_error_names_the_line() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "bad.toml", "version = 1\nscheme = \"lefthash\"\ngamma = 0.25\ndelta = \nvocab_size = 1000\n");
    let out = wmark(d.path())
        .args(["inspect", "--config", "bad.toml", "--key", "k.key", "--context", "1"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr_of(&out);
    assert!(err.contains("bad.toml:4") || err.contains("line 4"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn text_input_without_a_tokenizer_is_refused_with_a_hint() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "speech.txt", human_text());
    // No --tokenizer, no --config, and nothing in the asset cache that could serve as a
    // default tokenizer: a usage error that says what to give.
    let empty_cache = tmp();
    for extra in [&[][..], &["--vocab-size", "128256"]] {
        let out = wmark(d.path())
            .env("WMARK_CACHE_DIR", empty_cache.path())
            .args(["detect", "--key", "k.key"])
            .args(extra)
            .arg("speech.txt")
            .assert()
            .code(2)
            .stdout("")
            .get_output()
            .clone();
        let err = stderr_of(&out);
        assert!(err.contains("--tokenizer") || err.contains("fetch-assets"), "no hint: {err}");
    }
    // With a tokenizer given, detection needs no model file: the empty cache has no GGUF.
    wmark(d.path())
        .env("WMARK_CACHE_DIR", empty_cache.path())
        .args(["detect", "--key", "k.key", "--tokenizer"])
        .arg(tokenizer())
        .arg("speech.txt")
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("speech.txt: not_watermarked"));
    assert_eq!(std::fs::read_dir(empty_cache.path()).unwrap().count(), 0, "nothing fetched or written");
    // A config without a tokenizer is not enough for text either.
    wmark(d.path())
        .args(["keygen", "--out", "k2.key", "--write-config", "c.toml", "--vocab-size", "128256"])
        .assert()
        .success();
    wmark(d.path())
        .args(["detect", "--config", "c.toml", "--key", "k2.key", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a tokenizer"));
    // A broken tokenizer file names itself.
    write(d.path(), "broken.json", "{\"not\": \"a tokenizer\"}");
    wmark(d.path())
        .args(["detect", "--key", "k.key", "--tokenizer", "broken.json", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.json"));
}
