//! Benchmarks of the v1 green-list function (`wmark-core`).
//!
//! `cargo bench --bench core`; `scripts/bench-report` turns the results into
//! docs/performance.md.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wmark_core::{Config, GreenMask, Key, Seeding, Watermark};

fn watermark(seeding: Seeding, vocab: u32) -> Watermark {
    let key = Key::from_bytes([0x5a; 32]);
    Watermark::new(&key, Config::new(seeding, 0.25, 2.0, vocab).expect("valid config"))
}

fn is_green(c: &mut Criterion) {
    let mut group = c.benchmark_group("is_green");
    for (name, seeding) in [
        ("unigram", Seeding::Unigram),
        ("lefthash", Seeding::LeftHash),
        ("minhash:4", Seeding::MinHash(4)),
        ("selfhash:4", Seeding::SelfHash(4)),
    ] {
        let wm = watermark(seeding, 128_256);
        // A new context on every call: the counter walks through contexts never seen before.
        let mut ctx = [11u32, 22, 33, 44];
        group.bench_function(BenchmarkId::new(name, 128_256), |b| {
            b.iter(|| {
                ctx[3] = ctx[3].wrapping_add(1);
                black_box(wm.is_green(black_box(&ctx), black_box(ctx[3] % 128_256)).unwrap())
            })
        });
    }
    group.finish();
}

fn seed_and_stream(c: &mut Criterion) {
    let wm = watermark(Seeding::LeftHash, 128_256);
    let mut group = c.benchmark_group("primitives");
    let mut t = 0u32;
    group.bench_function("context_seed/lefthash", |b| {
        b.iter(|| {
            t = t.wrapping_add(1);
            black_box(wm.context_seed(&[t]).unwrap())
        })
    });
    let seed = wm.context_seed(&[1]).unwrap();
    group.bench_function("stream_byte_at", |b| {
        b.iter(|| {
            t = t.wrapping_add(977);
            black_box(seed.byte_at(t % 128_256))
        })
    });
    group.bench_function("token_hash", |b| {
        b.iter(|| {
            t = t.wrapping_add(1);
            black_box(wm.token_hash(t))
        })
    });
    group.finish();
}

fn full_mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("full_mask");
    for vocab in [32_000u32, 128_256, 262_144] {
        let wm = watermark(Seeding::LeftHash, vocab);
        let seed = wm.context_seed(&[42]).unwrap();
        let mut mask = GreenMask::new(vocab);
        group.throughput(Throughput::Bytes(u64::from(vocab)));
        group.bench_function(BenchmarkId::from_parameter(vocab), |b| {
            b.iter(|| {
                wm.fill_mask(black_box(&seed), &mut mask);
                black_box(mask.words()[0])
            })
        });
        let mut buf = vec![0u8; vocab as usize];
        group.bench_function(BenchmarkId::new("keystream_only", vocab), |b| {
            b.iter(|| {
                seed.stream().fill(&mut buf);
                black_box(buf[0])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, is_green, seed_and_stream, full_mask);
criterion_main!(benches);
