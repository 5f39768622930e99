//! The fuzz targets in the ordinary test suite, on the stable toolchain: every file of every
//! checked-in corpus (`fuzz/corpus/<target>/`), then a few thousand inputs per target from a
//! small deterministic mutator of those files, within a time budget per target. A failure
//! prints the target and the input's bytes; docs/fuzzing.md says how to turn it into a
//! regression test.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wmark_fuzz::{Target, TARGETS};

/// Mutated inputs per target, at most.
const MUTATIONS: usize = 3000;
/// Time per target for the mutated inputs, at most (a debug build on a slow machine stops
/// here rather than at [`MUTATIONS`]).
const BUDGET: Duration = Duration::from_millis(1500);
/// The longest mutated input.
const MAX_LEN: usize = 4096;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target)
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read(&p).expect("a corpus file"))).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs one input; on a panic, fails naming the target, where the input came from, and its
/// bytes.
fn run(target: &Target, what: &str, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| (target.run)(input))).is_err() {
        panic!("target {} failed on {what}: {} bytes, hex {}", target.name, input.len(), hex(input));
    }
}

/// xorshift64*: a fixed sequence, so that every run tries the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that often matter: the ends of ranges, UTF-8 lead bytes, newline, `:`, `0`.
const INTERESTING: &[u8] =
    &[0, 1, 2, 3, 7, 8, 15, 16, 0x7f, 0x80, 0xff, 0xc3, 0xe2, 0xf0, b'\n', b'\r', b':', b'0', b' '];

fn mutate(rng: &mut Rng, seeds: &[(String, Vec<u8>)], data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                data.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                data.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                let chunk: Vec<u8> = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            5 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())].1;
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            6 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            _ => data.push(rng.next() as u8),
        }
    }
    data.truncate(MAX_LEN);
}

#[test]
fn every_target_has_a_corpus_and_a_fuzz_target() {
    for t in TARGETS {
        assert!(!seeds(t.name).is_empty(), "fuzz/corpus/{} is empty", t.name);
        let source = corpus_dir(t.name).join(format!("../../fuzz_targets/{}.rs", t.name));
        let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(text.contains(&format!("wmark_fuzz::{}(", t.name)), "{} calls another body", source.display());
    }
}

#[test]
fn every_corpus_file_and_its_mutations_pass_their_target() {
    for (n, target) in TARGETS.iter().enumerate() {
        let seeds = seeds(target.name);
        for (path, bytes) in &seeds {
            run(target, path, bytes);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1));
        let started = Instant::now();
        let mut tried = 0;
        while tried < MUTATIONS && started.elapsed() < BUDGET {
            let mut data = seeds[rng.below(seeds.len())].1.clone();
            mutate(&mut rng, &seeds, &mut data);
            run(target, &format!("mutation {tried}"), &data);
            tried += 1;
        }
        eprintln!(
            "{}: {} corpus files, {tried} mutations in {:.2} s",
            target.name,
            seeds.len(),
            started.elapsed().as_secs_f64()
        );
    }
}
