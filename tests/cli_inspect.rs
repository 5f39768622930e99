//! The `wmark` command line, end to end (one file per command; helpers in `common/`).
//! `wmark inspect`: green lists and membership.

mod common;

use common::*;

// ---------------------------------------------------------------------------------------------
// inspect

fn inspect_list(dir: &Path, args: &[&str]) -> Vec<u32> {
    let out = wmark(dir).arg("inspect").args(args).assert().success().get_output().clone();
    stdout_of(&out).lines().map(|l| l.parse().unwrap_or_else(|_| panic!("not an id: {l:?}"))).collect()
}

fn inspect_count(dir: &Path, args: &[&str]) -> usize {
    let out = wmark(dir).arg("inspect").args(args).arg("--count").assert().success().get_output().clone();
    stdout_of(&out).trim().parse().unwrap()
}

#[test]
fn inspect_count_is_about_a_quarter_of_the_vocabulary() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    for ctx in ["0", "791", "128255"] {
        let n = inspect_count(d.path(), &["--key", "k.key", "--vocab-size", "128256", "--context", ctx]);
        // 0.25·V = 32064; the standard deviation is about 155.
        assert!((31_000..33_100).contains(&n), "context {ctx}: {n} green");
    }
    // A different γ scales it.
    let n =
        inspect_count(d.path(), &["--key", "k.key", "--vocab-size", "128256", "--gamma", "0.5", "--context", "791"]);
    assert!((63_000..65_300).contains(&n), "{n}");
}

#[test]
fn inspect_lists_sorted_unique_ids_that_agree_with_the_library() {
    let d = tmp();
    let (key, _) = keygen(d.path(), "k.key");
    let args = ["--key", "k.key", "--vocab-size", "128256", "--context", "17,791"];
    let list = inspect_list(d.path(), &args);
    assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    assert!(list.iter().all(|&t| t < VOCAB));
    assert_eq!(list.len(), inspect_count(d.path(), &args));
    // lefthash uses the last context id only.
    let wm = Watermark::new(&Key::load(&key).unwrap(), lefthash(VOCAB));
    let expected: Vec<u32> = wm.mask(&[791]).unwrap().iter().collect();
    assert_eq!(list, expected);
}

#[test]
fn inspect_token_agrees_with_the_list() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    let base = ["--key", "k.key", "--vocab-size", "128256", "--context", "791"];
    let list = inspect_list(d.path(), &base);
    let green: std::collections::HashSet<u32> = list.iter().copied().collect();
    let red: Vec<u32> = (0..VOCAB).filter(|t| !green.contains(t)).take(3).collect();
    for (t, want) in list.iter().take(3).map(|&t| (t, "green")).chain(red.iter().map(|&t| (t, "red"))) {
        let out = wmark(d.path())
            .arg("inspect")
            .args(base)
            .args(["--token", &t.to_string()])
            .assert()
            .success()
            .get_output()
            .clone();
        let s = stdout_of(&out);
        assert!(s.starts_with(&format!("token {t}: {want} (stream byte ")), "{s}");
        assert!(s.contains("green below 64"), "{s}");
        let seed = s.lines().nth(1).unwrap().strip_prefix("seed ").unwrap();
        assert_eq!(seed.len(), 64);
    }
    // An id outside the vocabulary is answered, with a note.
    wmark(d.path())
        .arg("inspect")
        .args(base)
        .args(["--token", "200000"])
        .assert()
        .success()
        .stdout(predicate::str::contains("outside the vocabulary of 128256"));
    wmark(d.path()).arg("inspect").args(base).args(["--token", "x"]).assert().code(2);
    wmark(d.path()).arg("inspect").args(base).args(["--token", "5", "--count"]).assert().code(2);
}

#[test]
fn inspect_bad_context_is_exit_2() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    let run = |scheme: &str, ctx: &str| {
        wmark(d.path())
            .args(["inspect", "--key", "k.key", "--vocab-size", "1000", "--scheme", scheme, "--context", ctx])
            .assert()
    };
    run("lefthash", "").code(2).stderr(predicate::str::contains("needs 1 context token"));
    run("window:3", "1,2").code(2).stderr(predicate::str::contains("needs 3 context token"));
    run("lefthash", "1,x").code(2).stderr(predicate::str::contains("\"x\" is not a token id"));
    run("lefthash", "-1").code(2).stderr(predicate::str::contains("\"-1\" is not a token id"));
    run("lefthash", "4294967296").code(2).stderr(predicate::str::contains("not a token id"));
    run("bogus", "1").code(2).stderr(predicate::str::contains("unknown seeding rule"));
    // Separators: commas, spaces or both.
    run("window:3", "1, 2 3").success();
    // unigram needs no context at all.
    run("unigram", "").success();
    // exactly one key
    let _ = keygen(d.path(), "k2.key");
    wmark(d.path())
        .args(["inspect", "--key", "k.key", "--key", "k2.key", "--vocab-size", "1000", "--context", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exactly one key"));
    wmark(d.path())
        .args(["inspect", "--vocab-size", "1000", "--context", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no key given"));
}

#[test]
fn inspect_selfhash_lists_per_candidate_membership() {
    let d = tmp();
    let _ = keygen(d.path(), "k.key");
    let base = ["--key", "k.key", "--scheme", "selfhash:2", "--vocab-size", "500", "--context", "7"];
    let list = inspect_list(d.path(), &base);
    assert!(list.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(list.len(), inspect_count(d.path(), &base));
    assert!((85..170).contains(&list.len()), "{} of 500 green", list.len());
    for t in [0u32, 1, 2, 3, 4, 250, 499] {
        let out = wmark(d.path())
            .arg("inspect")
            .args(base)
            .args(["--token", &t.to_string()])
            .assert()
            .success()
            .get_output()
            .clone();
        let want = if list.contains(&t) { "green" } else { "red" };
        assert!(stdout_of(&out).starts_with(&format!("token {t}: {want} ")), "{}", stdout_of(&out));
    }
    // selfhash:2 needs one context token.
    wmark(d.path())
        .args(["inspect", "--key", "k.key", "--scheme", "selfhash:2", "--vocab-size", "500", "--context", ""])
        .assert()
        .code(2);
}

#[test]
fn inspect_with_the_config_written_by_keygen() {
    let d = tmp();
    let _ = keygen_with_config(d.path());
    let n = inspect_count(d.path(), &["--config", "wmark.toml", "--key", "k.key", "--context", "791"]);
    let m = inspect_count(d.path(), &["--key", "k.key", "--vocab-size", "128256", "--context", "791"]);
    assert_eq!(n, m);
}
