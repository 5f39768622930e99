//! Once a cache is warm, no processor call allocates: counted by a global allocator.
//! (Its own test binary, so no other test's allocations are counted.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wmark_core::{Config, Key, Seeding};
use wmark_processor::{LogitsProcessor, Processor, SharedProcessor};

struct Counting;

// Per thread, so that the test harness and other tests running at the same time are not
// counted. `const` thread-locals of `Cell`s never allocate themselves.
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc() {
    if COUNTING.with(Cell::get) {
        ALLOCS.with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards every call unchanged to the system allocator; only counts them.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc();
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (R, usize) {
    ALLOCS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCS.with(Cell::get))
}

#[test]
fn warm_calls_do_not_allocate() {
    let key = Key::from_bytes([6; 32]);
    let vocab = 32_000u32;
    for seeding in [Seeding::Unigram, Seeding::LeftHash, Seeding::MinHash(4), Seeding::Window(3), Seeding::SelfHash(4)]
    {
        for cache_bytes in [0usize, 3 * 32_000] {
            let p = Processor::builder()
                .mask_cache_bytes(cache_bytes)
                .build(&key, Config::new(seeding, 0.25, 2.0, vocab).unwrap());
            let mut cache = p.create_cache();
            let mut logits: Vec<f32> = (0..vocab).map(|i| (i % 113) as f32 / 10.0).collect();
            let mut sparse = vec![f32::NEG_INFINITY; vocab as usize];
            for i in (0..vocab as usize).step_by(701) {
                sparse[i] = 1.0;
            }
            let candidates: Vec<u32> = (0..50).map(|i| i * 613 % vocab).collect();
            let step = |cache: &mut wmark_processor::Cache, logits: &mut [f32], sparse: &mut [f32], t: u32| {
                let ctx = [t % 5, 17, t % 3, t];
                p.apply(cache, &ctx, logits).unwrap();
                p.apply_finite(cache, &ctx, sparse).unwrap();
                p.apply_candidates(cache, &ctx, logits, &candidates).unwrap();
            };
            // warm up: fill the mask cache and grow the scratch buffers
            for t in 0..20 {
                step(&mut cache, &mut logits, &mut sparse, t);
            }
            let ((), n) = count(|| {
                for t in 20..120 {
                    step(&mut cache, &mut logits, &mut sparse, t);
                }
            });
            assert_eq!(n, 0, "{seeding} with a {cache_bytes}-byte mask cache allocated {n} times");
        }
    }
}

#[test]
fn shared_processor_stops_allocating_once_its_pool_is_warm() {
    let key = Key::from_bytes([6; 32]);
    let p = SharedProcessor::new(Processor::new(&key, Config::new(Seeding::LeftHash, 0.25, 2.0, 5000).unwrap()));
    let mut logits = vec![0.0f32; 5000];
    p.apply(&mut logits, &[1]).unwrap();
    let ((), n) = count(|| {
        for t in 0..100 {
            p.apply(&mut logits, &[t]).unwrap();
        }
    });
    assert_eq!(n, 0);
    // The counter does see allocations on this thread: a processor used without a kept
    // cache makes a new one per call.
    let plain: &dyn LogitsProcessor = p.processor();
    let (result, n) = count(|| plain.apply(&mut logits, &[1]));
    result.unwrap();
    assert!(n > 0, "the counting allocator counts");
}
