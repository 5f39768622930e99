//! The `wmark` command line, end to end (one file per command; helpers in `common/`).
//! `wmark detect`: inputs, exit codes, reports, dedup, windows, highlighting, HTML, several keys.

mod common;

use common::*;

// ---------------------------------------------------------------------------------------------
// detect: exit codes and inputs

#[test]
fn detect_exits_0_when_some_input_is_watermarked_1_when_none() {
    let d = tmp();
    let (key, id) = keygen(d.path(), "k.key");
    write(d.path(), "wm.ids", ids_json(&watermarked_ids(&key, 60, 1)) + "\n");
    write(d.path(), "plain.ids", ids_json(&random_ids(60, 2)) + "\n");

    let out =
        wmark(d.path()).args(["detect", "--ids"]).args(ID_SCHEME).arg("wm.ids").assert().code(0).get_output().clone();
    let line = stdout_of(&out);
    assert!(line.starts_with("wm.ids:1: watermarked "), "{line}");
    assert!(line.contains("green=59/59") && line.contains(&format!("key={id}")), "{line}");

    let out = wmark(d.path())
        .args(["detect", "--ids"])
        .args(ID_SCHEME)
        .arg("plain.ids")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(stdout_of(&out).starts_with("plain.ids:1: not_watermarked "), "{}", stdout_of(&out));

    // At least one is enough, in either order.
    wmark(d.path()).args(["detect", "--ids"]).args(ID_SCHEME).args(["plain.ids", "wm.ids"]).assert().code(0);
    wmark(d.path()).args(["detect", "--ids"]).args(ID_SCHEME).args(["wm.ids", "plain.ids"]).assert().code(0);
    // Too short to decide: insufficient, exit 1.
    write(d.path(), "short.ids", "[5,6]\n");
    wmark(d.path())
        .args(["detect", "--ids"])
        .args(ID_SCHEME)
        .arg("short.ids")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("insufficient"));
}

#[test]
fn detect_text_file_with_the_config_written_by_keygen() {
    let d = tmp();
    let id = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let s = stdout_of(&out);
    assert_eq!(s.lines().count(), 1, "{s}");
    assert!(s.starts_with("speech.txt: not_watermarked p="), "{s}");
    assert!(s.contains(&format!("key={id}")), "{s}");
    // Several files: one line each, in order.
    write(d.path(), "other.txt", speech(SPEECHES[2]).chars().take(1500).collect::<String>());
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "speech.txt", "other.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let sources: Vec<String> = stdout_of(&out).lines().map(|l| l.split(": ").next().unwrap().to_string()).collect();
    assert_eq!(sources, ["speech.txt", "other.txt"]);
}

#[test]
fn detect_reads_standard_input_with_dash_or_without_files() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    for args in [&["-"][..], &[]] {
        wmark(d.path())
            .args(["detect", "--config", "wmark.toml", "--key", "k.key"])
            .args(args)
            .write_stdin(human_text())
            .assert()
            .code(1)
            .stdout(predicate::str::starts_with("-: not_watermarked"));
    }
    // Token ids on stdin, one document per line.
    let key = d.path().join("k.key");
    let input = format!("{}\n{}\n", ids_json(&random_ids(80, 3)), ids_json(&watermarked_ids(&key, 80, 4)));
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--ids"])
        .write_stdin(input)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let s = stdout_of(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 2, "{s}");
    assert!(lines[0].starts_with("-:1: not_watermarked"), "{s}");
    assert!(lines[1].starts_with("-:2: watermarked"), "{s}");
}

/// A JSONL corpus on stdin: one report per line, in input order, none lost, the watermarked
/// lines found where they are, bad lines reported in place.
#[test]
fn detect_a_jsonl_corpus_on_stdin_reports_every_line_in_order() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let key = d.path().join("k.key");
    let text = human_text();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..300usize {
        if i % 50 == 7 {
            input.push_str("{\"text\": 17}\n");
            expected.push("error");
        } else if i % 10 == 3 {
            input.push_str(&format!(
                "{{\"ids\": {}, \"text\": \"\"}}\n",
                ids_json(&watermarked_ids(&key, 60, i as u64))
            ));
            expected.push("ids");
        } else {
            let start = (i * 37) % (words.len() - 40);
            let doc = words[start..start + 30 + i % 10].join(" ");
            input.push_str(&serde_json::json!({ "id": i, "text": doc }).to_string());
            input.push('\n');
            expected.push("text");
        }
    }
    // Text documents through the configuration's tokenizer.
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "--json"])
        .write_stdin(input.clone())
        .assert()
        .code(2)
        .get_output()
        .clone();
    let reports = json_lines(&out);
    let errors = stderr_of(&out);
    assert_eq!(reports.len() + errors.lines().count(), 300, "every line is reported once");
    let mut next = 0;
    for r in &reports {
        let line: usize = r["source"].as_str().unwrap().strip_prefix("-:").unwrap().parse().unwrap();
        assert!(line > next, "reports in input order: {line} after {next}");
        next = line;
        assert_ne!(expected[line - 1], "error");
    }
    for (i, e) in errors.lines().enumerate() {
        assert!(e.starts_with(&format!("wmark: -:{}: expected a string", 8 + 50 * i)), "{e}");
    }
    // The same lines as token ids: the watermarked ones, and only they, are found.
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "ids", "--ids", "--json"])
        .write_stdin(input)
        .assert()
        .code(2) // the text lines have no "ids" field: reported in place, exit 2
        .get_output()
        .clone();
    let reports = json_lines(&out);
    assert_eq!(reports.len() + stderr_of(&out).lines().count(), 300);
    let found: Vec<usize> = reports
        .iter()
        .filter(|r| r["verdict"] == "watermarked")
        .map(|r| r["source"].as_str().unwrap().strip_prefix("-:").unwrap().parse().unwrap())
        .collect();
    let wanted: Vec<usize> = (1..=300).filter(|&l| expected[l - 1] == "ids").collect();
    assert_eq!(found, wanted);
}

#[test]
fn detect_jsonl_text_field_uses_the_configs_tokenizer() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let mut jsonl = String::new();
    for (i, name) in SPEECHES.iter().enumerate() {
        let text: String = speech(name).chars().take(1200).collect();
        jsonl.push_str(&serde_json::json!({"n": i, "text": text}).to_string());
        jsonl.push('\n');
    }
    jsonl.push('\n'); // blank lines are skipped
    write(d.path(), "docs.jsonl", &jsonl);
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "--json", "docs.jsonl"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let reports = json_lines(&out);
    let sources: Vec<&str> = reports.iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["docs.jsonl:1", "docs.jsonl:2", "docs.jsonl:3"]);
    for r in &reports {
        assert!(r["tokens"].as_u64().unwrap() > 150, "{r}");
        assert_eq!(r["verdict"], "not_watermarked", "{r}");
    }
}

#[test]
fn detect_ids_lines_and_jsonl_ids_field() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let wm = watermarked_ids(&key, 70, 5);
    let plain = random_ids(70, 6);
    write(d.path(), "docs.ids", format!("{}\n{}\n", ids_json(&plain), ids_json(&wm)));
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("docs.ids")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = json_lines(&out);
    assert_eq!((r[0]["source"].as_str(), r[0]["verdict"].as_str()), (Some("docs.ids:1"), Some("not_watermarked")));
    assert_eq!((r[1]["source"].as_str(), r[1]["verdict"].as_str()), (Some("docs.ids:2"), Some("watermarked")));
    assert_eq!(r[1]["tokens"], 70);

    let jsonl = format!(
        "{}\n{}\n",
        serde_json::json!({"id": "a", "ids": wm, "text": "ignored"}),
        serde_json::json!({"id": "b", "ids": plain})
    );
    write(d.path(), "docs.jsonl", jsonl);
    let out = wmark(d.path())
        .args(["detect", "--jsonl", "ids", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("docs.jsonl")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = json_lines(&out);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0]["source"].as_str(), r[0]["verdict"].as_str()), (Some("docs.jsonl:1"), Some("watermarked")));
    assert_eq!((r[1]["source"].as_str(), r[1]["verdict"].as_str()), (Some("docs.jsonl:2"), Some("not_watermarked")));
}

#[test]
fn detect_bad_lines_name_file_and_line_and_the_other_lines_are_still_reported() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let wm = watermarked_ids(&key, 60, 7);
    let good = |ids: &[u32]| serde_json::json!({ "ids": ids }).to_string();
    let lines = [
        good(&random_ids(60, 8)),                  // 1
        "not json".to_string(),                    // 2
        r#"{"other": [1, 2, 3]}"#.to_string(),     // 3 missing field
        r#"{"ids": [1, 2.5, 3]}"#.to_string(),     // 4 non-integer id
        r#"{"ids": [1, -2, 3]}"#.to_string(),      // 5 negative id
        r#"{"ids": [1, 4294967296]}"#.to_string(), // 6 id beyond u32
        r#"{"ids": "1 2 3"}"#.to_string(),         // 7 not an array
        r#"[1, 2, 3]"#.to_string(),                // 8 not an object
        r#"{"ids": [1, 128256, 3]}"#.to_string(),  // 9 outside the vocabulary
        good(&wm),                                 // 10
    ];
    write(d.path(), "docs.jsonl", lines.join("\n") + "\n");
    let out = wmark(d.path())
        .args(["detect", "--jsonl", "ids", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("docs.jsonl")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = stderr_of(&out);
    for n in 2..=9 {
        assert!(stderr.contains(&format!("docs.jsonl:{n}: ")), "line {n} not named:\n{stderr}");
    }
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    assert!(stderr.contains("no field \"ids\""), "{stderr}");
    assert!(stderr.contains("2.5 is not a token id"), "{stderr}");
    assert!(stderr.contains("-2 is not a token id"), "{stderr}");
    assert!(stderr.contains("outside the watermark's vocabulary of 128256"), "{stderr}");
    assert_eq!(stderr.lines().count(), 8, "{stderr}");
    // No data lost: both good lines are reported, the watermark is found, and yet the exit
    // code says something went wrong.
    let r = json_lines(&out);
    let got: Vec<(&str, &str)> =
        r.iter().map(|r| (r["source"].as_str().unwrap(), r["verdict"].as_str().unwrap())).collect();
    assert_eq!(got, [("docs.jsonl:1", "not_watermarked"), ("docs.jsonl:10", "watermarked")]);

    // The same for plain id lines.
    write(d.path(), "docs.ids", format!("[1,\"x\"]\n{}\n", ids_json(&wm)));
    wmark(d.path())
        .args(["detect", "--ids"])
        .args(ID_SCHEME)
        .arg("docs.ids")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("docs.ids:2: watermarked"))
        .stderr(predicate::str::contains("docs.ids:1: ").and(predicate::str::contains("\"x\" is not a token id")));
}

#[test]
fn detect_jsonl_text_with_a_wrong_type_names_the_line() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "docs.jsonl", "{\"text\": 5}\n{\"text\": \"A short but fine document.\"}\n");
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "docs.jsonl"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("docs.jsonl:2: "))
        .stderr(predicate::str::contains("docs.jsonl:1: expected a string, found a number"));
}

#[test]
fn detect_non_utf8_input_is_a_clear_error() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "latin1.txt", b"caf\xe9 cr\xe8me br\xfbl\xe9e\n");
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "latin1.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("latin1.txt: not UTF-8 text"));
    // In JSON Lines, the bad line is named and the next lines are still read.
    let mut jsonl = b"{\"text\": \"caf\xe9\"}\n".to_vec();
    jsonl.extend_from_slice(b"{\"text\": \"The second line is fine.\"}\n");
    write(d.path(), "docs.jsonl", jsonl);
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--jsonl", "text", "docs.jsonl"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("docs.jsonl:2: "))
        .stderr(predicate::str::contains("docs.jsonl:1: not UTF-8 text"));
}

#[test]
fn detect_missing_file_or_directory_is_exit_2_naming_it() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    fs::create_dir(d.path().join("adir")).unwrap();
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "nope.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.txt").and(predicate::str::contains("No such file")));
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "adir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("adir: is a directory"));
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--ids", "adir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("adir: is a directory"));
    // The readable file next to the missing one is still reported.
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "nope.txt", "speech.txt"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("speech.txt: not_watermarked"))
        .stderr(predicate::str::contains("nope.txt"));
}

// ---------------------------------------------------------------------------------------------
// detect: flags

#[test]
fn detect_json_has_every_report_field() {
    let d = tmp();
    let id = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--json", "speech.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let reports = json_lines(&out);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    for field in [
        "schema_version",
        "scheme",
        "key_id",
        "gamma_effective",
        "tokens",
        "scored",
        "green",
        "p_value",
        "log10_p",
        "z",
        "alpha",
        "verdict",
        "dedup",
        "normalized",
        "spans",
        "source",
    ] {
        assert!(r.get(field).is_some(), "missing {field}: {r}");
    }
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["scheme"], "lefthash");
    assert_eq!(r["key_id"], id.as_str());
    assert_eq!(r["gamma_effective"], 0.25);
    assert_eq!(r["alpha"], 1e-6);
    assert_eq!(r["verdict"], "not_watermarked");
    assert_eq!(r["dedup"], "tuple");
    assert_eq!(r["normalized"], false);
    assert_eq!(r["spans"], serde_json::json!([]));
    assert_eq!(r["source"], "speech.txt");
    assert!(r.get("token_flags").is_none() && r.get("keys").is_none(), "{r}");
    let (tokens, scored, green) =
        (r["tokens"].as_u64().unwrap(), r["scored"].as_u64().unwrap(), r["green"].as_u64().unwrap());
    assert!(green <= scored && scored < tokens && tokens > 300, "{r}");
    let log10_p = r["log10_p"].as_f64().unwrap();
    assert!(log10_p <= 0.0);
    assert!((r["p_value"].as_f64().unwrap() - 10f64.powf(log10_p)).abs() < 1e-9);
    assert!(r["z"].is_f64());
}

#[test]
fn detect_dedup_modes_and_bad_values() {
    let d = tmp();
    // A fixed key: with a random one, the repeated pattern below is green-heavy often enough
    // (about 7% of keys) that `--dedup none` calls it watermarked, which is the very false
    // positive dedup exists for, but not what this test is about.
    fixed_key(d.path(), "k.key", 0x21);
    // A short pattern repeated: the same (context, token) pairs over and over.
    let pattern = random_ids(7, 9);
    let ids: Vec<u32> = pattern.iter().copied().cycle().take(140).collect();
    write(d.path(), "rep.ids", ids_json(&ids) + "\n");
    let scored = |mode: &str| -> u64 {
        let out = wmark(d.path())
            .args(["detect", "--ids", "--json", "--dedup", mode])
            .args(ID_SCHEME)
            .arg("rep.ids")
            .assert()
            .code(1)
            .get_output()
            .clone();
        let r = &json_lines(&out)[0];
        assert_eq!(r["dedup"], mode);
        r["scored"].as_u64().unwrap()
    };
    let (none, window, tuple) = (scored("none"), scored("window"), scored("tuple"));
    assert_eq!(none, 139);
    assert!(tuple <= window && window <= none, "tuple {tuple} window {window} none {none}");
    assert!(tuple < none / 4, "tuple dedup should drop most of a repeated pattern: {tuple} of {none}");
    // The default is tuple.
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("rep.ids")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(json_lines(&out)[0]["dedup"], "tuple");

    for bad in ["bogus", "", "TUPLE"] {
        wmark(d.path())
            .args(["detect", "--ids", "--dedup", bad])
            .args(ID_SCHEME)
            .arg("rep.ids")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--dedup"));
    }
}

#[test]
fn detect_alpha_must_be_strictly_between_0_and_1() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    // Moderately watermarked, exactly: 18 of 30 scored tokens green, p = P(Bin(30, 1/4) >= 18)
    // = 10^-4.3; 30 tokens are enough for α = 1e-12 (not "insufficient").
    let pattern: Vec<bool> = (0..30).map(|i| i % 5 < 3).collect();
    let ids = chain_ids(&key, &pattern, 10);
    write(d.path(), "doc.ids", ids_json(&ids) + "\n");
    for bad in ["0", "1", "-1", "abc", "NaN", "1e-400", "2"] {
        wmark(d.path())
            .args(["detect", "--ids"])
            .arg(format!("--alpha={bad}"))
            .args(ID_SCHEME)
            .arg("doc.ids")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--alpha"));
    }
    let run = |alpha: &str| -> Value {
        let out = wmark(d.path())
            .args(["detect", "--ids", "--json", "--alpha", alpha])
            .args(ID_SCHEME)
            .arg("doc.ids")
            .assert()
            .get_output()
            .clone();
        json_lines(&out).remove(0)
    };
    let loose = run("0.01");
    let strict = run("1e-12");
    assert_eq!(loose["alpha"], 0.01);
    assert_eq!(strict["alpha"], 1e-12);
    assert_eq!(loose["log10_p"], strict["log10_p"], "alpha changes the verdict, not the p-value");
    let log10_p = loose["log10_p"].as_f64().unwrap();
    assert_eq!((loose["scored"].as_u64(), loose["green"].as_u64()), (Some(30), Some(18)));
    assert!(log10_p < -2.0 && log10_p > -12.0, "test input should be between the levels: {log10_p}");
    assert_eq!(loose["verdict"], "watermarked");
    assert_eq!(strict["verdict"], "not_watermarked");
}

#[test]
fn detect_windows_finds_the_pasted_span() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let mut ids = random_ids(200, 12);
    ids.extend(watermarked_ids(&key, 60, 13));
    ids.extend(random_ids(200, 14));
    write(d.path(), "doc.ids", ids_json(&ids) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json", "--windows"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    let spans = r["spans"].as_array().expect("spans");
    assert!(!spans.is_empty(), "{r}");
    let (a, b) = (spans[0]["token_start"].as_u64().unwrap(), spans[0]["token_end"].as_u64().unwrap());
    assert!(a < 230 && b > 230 && a >= 150 && b <= 310, "span {a}..{b} should cover the watermarked tokens 200..260");
    assert!(spans[0]["log10_p_corrected"].as_f64().unwrap() < -10.0, "{r}");
    // Without --windows there is no span; the text summary shows it.
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .get_output()
        .clone();
    assert_eq!(json_lines(&out)[0]["spans"], serde_json::json!([]));
    wmark(d.path())
        .args(["detect", "--ids", "--windows"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .stdout(predicate::str::contains(" span=tokens["));
}

#[test]
fn detect_highlight_without_a_terminal_brackets_green_tokens() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let key = d.path().join("k.key");
    let text = human_text();
    write(d.path(), "speech.txt", &text);
    for no_color in [None, Some("1")] {
        let mut cmd = wmark(d.path());
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd
            .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--highlight", "speech.txt"])
            .assert()
            .code(1)
            .get_output()
            .clone();
        let s = stdout_of(&out);
        assert!(!s.contains('\x1b'), "ANSI escapes without a terminal: {s:?}");
        let (summary, body) = s.split_once('\n').unwrap();
        assert!(summary.starts_with("speech.txt: not_watermarked"), "{summary}");
        let green: u64 = summary.split("green=").nth(1).unwrap().split('/').next().unwrap().parse().unwrap();
        let brackets = body.matches('[').count() as u64;
        assert_eq!(brackets, body.matches(']').count() as u64);
        // Every scored green token is bracketed (tokens without context or repeats may be
        // green too, but are not counted in green=).
        assert!(brackets >= green && green > 0, "{brackets} brackets, green={green}");
        // Nothing else changes: without the brackets it is the text.
        assert_eq!(body.replace(['[', ']'], "").trim_end_matches('\n'), text.trim_end_matches('\n'));
    }
    // Token ids: green ids in brackets.
    let wm = watermarked_ids(&key, 20, 15);
    write(d.path(), "doc.ids", ids_json(&wm) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--ids", "--highlight", "doc.ids"])
        .assert()
        .get_output()
        .clone();
    let s = stdout_of(&out);
    let body = s.lines().nth(1).unwrap();
    assert!(body.starts_with(&format!("{} [{} ]", wm[0], wm[1])), "{body}");
    assert_eq!(body.matches('[').count(), 19, "{body}");
}

/// Colours on a terminal, none with NO_COLOR: runs wmark under `script(1)` for a pseudo-tty.
#[test]
fn detect_highlight_on_a_terminal_uses_colours_unless_no_color() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) not found: skipping the terminal half of the highlight test");
        return;
    }
    let d = tmp();
    let _ = keygen_with_config(d.path());
    write(d.path(), "speech.txt", human_text());
    let bin = assert_cmd::cargo::cargo_bin("wmark");
    let cmdline = format!("'{}' detect --config wmark.toml --key k.key --highlight speech.txt", bin.display());
    let run = |no_color: Option<&str>| -> String {
        let mut c = std::process::Command::new("script");
        c.current_dir(d.path()).args(["-qec", &cmdline, "/dev/null"]).env_remove("NO_COLOR").stdin(Stdio::null());
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tty = run(None);
    assert!(tty.contains("\x1b[1;32m") && tty.contains("\x1b[31m"), "no colours on a terminal: {tty:?}");
    // Colours replace the brackets.
    let text_line = strip_ansi(tty.lines().nth(1).unwrap_or(""));
    assert!(text_line.starts_with("Fellow-Citizens") && !text_line.contains('['), "{text_line:?}");
    let plain = run(Some("1"));
    assert!(plain.contains("speech.txt: not_watermarked"), "{plain:?}");
    assert!(!plain.contains('\x1b') && plain.contains('['), "NO_COLOR=1 on a terminal: {plain:?}");
    // NO_COLOR only counts when non-empty (no-color.org).
    assert!(run(Some("")).contains("\x1b[1;32m"));
}

#[test]
fn detect_highlight_and_json_conflict() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    write(d.path(), "doc.ids", "[1,2,3]\n");
    wmark(d.path())
        .args(["detect", "--ids", "--json", "--highlight"])
        .args(ID_SCHEME)
        .arg("doc.ids")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn detect_html_writes_an_escaped_page() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let text = format!("{}\n<script>alert(\"x & y\")</script> it's over.\n", human_text());
    write(d.path(), "speech.txt", &text);
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--html", "out.html", "speech.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrote out.html"))
        .get_output()
        .clone();
    let summary = stdout_of(&out);
    let p = summary.split(" p=").nth(1).unwrap().split(' ').next().unwrap();
    let html = fs::read_to_string(d.path().join("out.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<html"), "{}", &html[..100]);
    assert!(html.contains(p), "p-value {p} not in the page");
    assert!(html.contains("not_watermarked") && html.contains("speech.txt"));
    assert!(!html.contains("<script"), "unescaped text in the page");
    assert!(html.contains("&lt;") && html.contains("&gt;") && html.contains("&quot;") && html.contains("&amp;"));
    // The text is on the page (split into token spans), and green tokens are marked.
    assert!(strip_tags(&html).contains("Fellow-Citizens of the Senate and House"));
    assert!(html.contains("<span class=\"g\">") && html.contains("<span class=\"r\">"));
    // With --json as well: one JSON line on stdout, the page still written.
    let out = wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--json", "--html", "two.html", "speech.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(json_lines(&out).len(), 1);
    assert!(d.path().join("two.html").exists());
    // An unwritable destination is an error.
    wmark(d.path())
        .args(["detect", "--config", "wmark.toml", "--key", "k.key", "--html", "no/such/dir/x.html", "speech.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir/x.html"));
}

#[test]
fn detect_keys_dir_finds_the_account_key() {
    let d = tmp();
    let _ = keygen(d.path(), "master.key");
    fs::create_dir(d.path().join("accounts")).unwrap();
    let mut ids_of = Vec::new();
    for account in ["acme", "globex", "initech"] {
        let out = wmark(d.path())
            .args(["keygen", "--master", "master.key", "--account", account, "--out"])
            .arg(format!("accounts/{account}.key"))
            .assert()
            .success()
            .get_output()
            .clone();
        ids_of.push(stdout_of(&out).trim().to_string());
    }
    write(d.path(), "accounts/README.txt", "not a key; ignored\n");
    let wm = watermarked_ids(&d.path().join("accounts/globex.key"), 60, 16);
    write(d.path(), "doc.ids", ids_json(&wm) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json", "--keys", "accounts", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["key_id"], ids_of[1].as_str(), "{r}");
    assert_eq!(r["verdict"], "watermarked");
    let keys = r["keys"].as_array().expect("keys with several keys");
    let listed: Vec<&str> = keys.iter().map(|k| k["key_id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids_of.iter().map(String::as_str).collect::<Vec<_>>(), "keys in sorted file order");

    // An empty directory, or one without *.key files, is an error.
    fs::create_dir(d.path().join("empty")).unwrap();
    wmark(d.path())
        .args(["detect", "--ids", "--keys", "empty", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no *.key files"));
    fs::create_dir(d.path().join("other")).unwrap();
    write(d.path(), "other/key.txt", "x");
    wmark(d.path()).args(["detect", "--ids", "--keys", "other", "--vocab-size", "128256", "doc.ids"]).assert().code(2);
    wmark(d.path())
        .args(["detect", "--ids", "--keys", "missing-dir", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing-dir"));
}

#[test]
fn detect_with_key_repeated_tests_every_key() {
    let d = tmp();
    let (_, id_a) = keygen(d.path(), "a.key");
    let (b, id_b) = keygen(d.path(), "b.key");
    write(d.path(), "doc.ids", ids_json(&watermarked_ids(&b, 60, 17)) + "\n");
    let out = wmark(d.path())
        .args(["detect", "--ids", "--json", "--key", "a.key", "--key", "b.key", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let r = &json_lines(&out)[0];
    assert_eq!(r["key_id"], id_b.as_str());
    let listed: Vec<&str> = r["keys"].as_array().unwrap().iter().map(|k| k["key_id"].as_str().unwrap()).collect();
    assert_eq!(listed, [id_a.as_str(), id_b.as_str()]);
    // Only the wrong key: not watermarked.
    wmark(d.path())
        .args(["detect", "--ids", "--key", "a.key", "--vocab-size", "128256", "doc.ids"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("key={id_a}")));
}

#[test]
fn detect_without_a_key_is_an_error() {
    let d = tmp();
    write(d.path(), "doc.ids", "[1,2,3]\n");
    wmark(d.path())
        .args(["detect", "--ids", "--vocab-size", "1000", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no key given"));
    wmark(d.path())
        .args(["detect", "--ids", "--key", "nope.key", "--vocab-size", "1000", "doc.ids"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.key"));
}
