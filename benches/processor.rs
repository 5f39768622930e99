//! Criterion benchmarks of the logit processor: the same workloads as `wmark bench`
//! (`src/bench.rs`). `scripts/bench-report` turns the results into docs/performance.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use wmark::bench::{self, Mode, Workload};
use wmark_core::Seeding;

fn processor(c: &mut Criterion) {
    for (seeding, vocab, batch, mode) in bench::plan() {
        let scheme = seeding.map_or_else(|| "reference".to_string(), |s| s.to_string().replace(':', "-"));
        let mut group = c.benchmark_group(format!("step/{scheme}/{}", mode.name()));
        let mut w = Workload::new(seeding.unwrap_or(Seeding::LeftHash), vocab, batch, mode);
        group.bench_function(BenchmarkId::from_parameter(format!("v{vocab}-b{batch}")), |b| b.iter(|| w.step()));
        group.finish();
        let _ = Mode::MemoryPass;
    }
}

criterion_group!(benches, processor);
criterion_main!(benches);
