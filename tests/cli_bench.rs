//! The `wmark` command line, end to end (one file per command; helpers in `common/`).
//! `wmark bench`: its output and arguments.

mod common;

use common::*;

// ---------------------------------------------------------------------------------------------
// bench

#[test]
fn bench_json_lines() {
    let d = tmp();
    let out = wmark(d.path()).args(["bench", "--seconds", "0.5", "--json"]).assert().success().get_output().clone();
    let lines = json_lines(&out);
    assert!(lines.len() > 10, "{} lines", lines.len());
    let (detector, lines): (Vec<Value>, Vec<Value>) =
        lines.into_iter().partition(|l| ["detect_ids", "tokenize", "detect_text"].contains(&l["op"].as_str().unwrap()));
    for l in &lines {
        assert_eq!(l["schema_version"], 1, "{l}");
        for f in ["op", "scheme", "vocab", "batch", "mode", "median_ns", "ratio_to_memory_pass"] {
            assert!(l.get(f).is_some(), "{f} missing: {l}");
        }
        assert!(l["median_ns"].as_u64().unwrap() > 0, "{l}");
        assert!(l["ratio_to_memory_pass"].as_f64().unwrap() > 0.0, "{l}");
    }
    let memory: Vec<&Value> = lines.iter().filter(|l| l["op"] == "memory_pass").collect();
    assert!(!memory.is_empty());
    for m in memory {
        assert!(m["scheme"].is_null() && m["ratio_to_memory_pass"] == 1.0, "{m}");
    }
    assert!(lines.iter().any(|l| l["op"] == "processor_step" && l["scheme"] == "lefthash" && l["vocab"] == 128_256));
    // The detector's rows: ids, and (the assets are fetched) the tokenizer and text detection.
    let ops: Vec<(&str, &str)> =
        detector.iter().map(|l| (l["op"].as_str().unwrap(), l["scheme"].as_str().unwrap_or("-"))).collect();
    assert_eq!(
        ops,
        [
            ("detect_ids", "lefthash"),
            ("detect_ids", "vllm-gumbel:4"),
            ("detect_ids", "vllm-dual-key-gumbel:4"),
            ("detect_ids", "gumbel:4"),
            ("detect_ids", "hf-lefthash:1"),
            ("detect_ids", "hf-selfhash:4"),
            ("detect_ids", "hf-synthid:5"),
            ("tokenize", "-"),
            ("detect_text", "lefthash")
        ]
    );
    for l in &detector {
        // transformers' KGW replays a quarter of a randperm per token: its rows take 5,000 ids.
        let kgw = l["scheme"].as_str().is_some_and(|s| s.starts_with("hf-lefthash") || s.starts_with("hf-selfhash"));
        let least = if kgw { 5_000 } else { 100_000 };
        assert!(l["tokens"].as_u64().unwrap() >= least && l["tokens_per_second"].as_f64().unwrap() > 0.0, "{l}");
    }
    assert!(detector[8]["ratio_to_tokenizer"].as_f64().unwrap() > 0.0);
    assert_eq!(detector[7]["tokens"], detector[8]["tokens"], "the same text");
}

#[test]
fn bench_table() {
    let d = tmp();
    let out = wmark(d.path()).args(["bench", "--seconds", "0.5"]).assert().success().get_output().clone();
    let s = stdout_of(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].starts_with("wmark ") && lines[0].contains("processor speed"), "{s}");
    assert!(lines.iter().any(|l| l.starts_with("scheme ") && l.contains("ratio")), "{s}");
    assert!(lines.iter().any(|l| l.starts_with("lefthash ") && l.contains("exact-cold")), "{s}");
    assert!(lines.iter().any(|l| l.starts_with("detector, one core: detect_ids")), "{s}");
    assert!(lines.last().unwrap().starts_with("measured in "), "{s}");
}

#[test]
fn bench_seconds_out_of_range_is_exit_2() {
    let d = tmp();
    for bad in ["0", "0.1", "601", "abc", "-1"] {
        wmark(d.path())
            .args(["bench", "--json"])
            .arg(format!("--seconds={bad}"))
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--seconds"));
    }
}
