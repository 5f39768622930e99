//! The README's quickstart still runs: every `$ ` command of its ```sh blocks is run again,
//! in order, in one fresh directory, with `wmark` on PATH being the binary cargo built, and
//! must exit with the code the README shows (`# exit N` after its output; 0 when none is
//! shown).
//!
//! The README is the source of truth for the commands; `scripts/readme-quickstart` writes the
//! section (between `<!-- quickstart:begin -->` and `<!-- quickstart:end -->`) from real runs.
//! Asset paths are written `~/.cache/wmark` there, the default cache directory; they are
//! replaced with the cache directory in use (`$WMARK_CACHE_DIR` and so on, as
//! `scripts/fetch-assets` chooses it).

use std::path::{Path, PathBuf};
use std::process::Command;

const BEGIN: &str = "<!-- quickstart:begin -->";
const END: &str = "<!-- quickstart:end -->";
const CACHE_SHOWN: &str = "~/.cache/wmark";

/// Words whose presence in the README's output of a command must be matched by the real
/// output: they do not change from run to run (unlike key ids and p-values).
const STABLE_WORDS: [&str; 5] = ["not_watermarked", "watermarked", "insufficient", "documents;", "wrote"];

/// The asset cache, resolved exactly as the `wmark` binary resolves it.
fn cache_dir() -> PathBuf {
    wmark_lm::assets::cache_dir()
}

fn asset(rel: &str) -> PathBuf {
    let p = cache_dir().join(rel);
    assert!(p.exists(), "{} is missing: run scripts/fetch-assets first", p.display());
    p
}

/// One `$ ` line of the README and what it shows after it.
#[derive(Debug)]
struct Step {
    command: String,
    output: Vec<String>,
    exit: i32,
}

/// The quickstart section's commands, in order.
fn quickstart(readme: &str) -> Vec<Step> {
    let a = readme.find(BEGIN).unwrap_or_else(|| panic!("README.md has no {BEGIN}: run scripts/readme-quickstart"));
    let b = readme.find(END).unwrap_or_else(|| panic!("README.md has no {END}: run scripts/readme-quickstart"));
    assert!(a < b, "{BEGIN} must come before {END}");
    let section = &readme[a + BEGIN.len()..b];
    let mut steps: Vec<Step> = Vec::new();
    let mut in_sh = false;
    for line in section.lines() {
        let fence = line.trim_start();
        if !in_sh {
            in_sh = fence == "```sh";
            continue;
        }
        if fence.starts_with("```") {
            in_sh = false;
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step { command: cmd.to_string(), output: Vec::new(), exit: 0 });
        } else if let Some(step) = steps.last_mut() {
            match line.strip_prefix("# exit ") {
                Some(code) => step.exit = code.trim().parse().unwrap_or_else(|_| panic!("bad exit line {line:?}")),
                None => step.output.push(line.to_string()),
            }
        } else {
            panic!("output before the first command in a ```sh block of the quickstart: {line:?}");
        }
    }
    assert!(!in_sh, "an unclosed ```sh block in the quickstart");
    steps
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn the_quickstart_parser_reads_commands_output_and_exit_codes() {
    let readme = format!(
        "intro\n```sh\n$ not in the section\n```\n{BEGIN}\ntext\n```sh\n$ wmark a\nout 1\nout 2\n# exit 1\n$ b\n```\n\
         ```toml\n$ not a shell block\n```\n```sh\n$ c\n```\n{END}\n"
    );
    let steps = quickstart(&readme);
    let got: Vec<(&str, usize, i32)> = steps.iter().map(|s| (s.command.as_str(), s.output.len(), s.exit)).collect();
    assert_eq!(got, [("wmark a", 2, 1), ("b", 0, 0), ("c", 0, 0)]);
}

#[test]
fn every_readme_quickstart_command_still_runs() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let steps = quickstart(&readme);
    assert!(steps.len() >= 5, "the quickstart has only {} commands", steps.len());
    for sub in ["keygen", "detect", "inspect", "calibrate"] {
        assert!(
            steps.iter().any(|s| s.command.starts_with(&format!("wmark {sub} "))),
            "the quickstart never runs `wmark {sub}`"
        );
    }
    let cache = cache_dir();
    asset("tokenizers/llama3/tokenizer.json");
    asset("sotu/1790_george_washington_n.txt");

    let tmp = tempfile::tempdir().unwrap();
    let (work, bin) = (tmp.path().join("work"), tmp.path().join("bin"));
    std::fs::create_dir(&work).unwrap();
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_wmark"), bin.join("wmark")).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();

    for step in &steps {
        let actual = step.command.replace(CACHE_SHOWN, &shell_quote(&cache));
        let out = Command::new("bash")
            .arg("-c")
            .arg(&actual)
            .current_dir(&work)
            .env("PATH", &path)
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(step.exit),
            "README command `{}` (run as `{actual}`) should exit {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            step.command,
            step.exit
        );
        let shown = step.output.join("\n");
        let real = format!("{stdout}{stderr}");
        for word in STABLE_WORDS {
            let has = |s: &str| s.split(|c: char| c.is_whitespace() || c == '"').any(|w| w == word);
            assert_eq!(
                has(&real),
                has(&shown),
                "`{}`: README and real output disagree on {word:?}\nREADME:\n{shown}\nreal:\n{real}",
                step.command
            );
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
