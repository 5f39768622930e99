//! One processor shared by 8 threads, 10,000 steps each on random contexts: every result
//! equals the single-threaded one.

use std::sync::Arc;

use wmark_core::{Config, Key, Seeding};
use wmark_processor::{LogitsProcessor, Processor, SharedProcessor};

const THREADS: usize = 8;
const STEPS: usize = 10_000;
const VOCAB: u32 = 2_048;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A digest of the biased rows of one thread's steps (FNV-1a over the logits' bits).
fn run(p: &Processor, shared: Option<&SharedProcessor>, thread: usize) -> u64 {
    let mut rng = thread as u64 * 7919;
    let mut cache = p.create_cache();
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    let mut logits = vec![0.0f32; VOCAB as usize];
    for _ in 0..STEPS {
        let ctx: Vec<u32> = (0..4).map(|_| (splitmix(&mut rng) % 50_000) as u32).collect();
        for (i, l) in logits.iter_mut().enumerate() {
            *l = ((i as u64 * 2_654_435_761) % 1000) as f32 / 100.0;
        }
        match shared {
            Some(s) => s.apply(&mut logits, &ctx).unwrap(),
            None => {
                p.apply(&mut cache, &ctx, &mut logits).unwrap();
            }
        }
        for l in &logits {
            digest = (digest ^ u64::from(l.to_bits())).wrapping_mul(0x100_0000_01b3);
        }
    }
    digest
}

#[test]
fn eight_threads_agree_with_one() {
    let key = Key::from_bytes([5; 32]);
    for (seeding, cache_bytes) in
        [(Seeding::LeftHash, 0usize), (Seeding::MinHash(4), 1 << 16), (Seeding::SelfHash(3), 0)]
    {
        let p = Arc::new(
            Processor::builder()
                .mask_cache_bytes(cache_bytes)
                .build(&key, Config::new(seeding, 0.25, 2.0, VOCAB).unwrap()),
        );
        let serial: Vec<u64> = (0..THREADS).map(|t| run(&p, None, t)).collect();
        let shared = Arc::new(SharedProcessor::new((*p).clone()));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let p = Arc::clone(&p);
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || (run(&p, None, t), run(&p, Some(&shared), t)))
            })
            .collect();
        for (t, h) in handles.into_iter().enumerate() {
            let (own_cache, pooled) = h.join().unwrap();
            assert_eq!(own_cache, serial[t], "{seeding}: thread {t}, own cache");
            assert_eq!(pooled, serial[t], "{seeding}: thread {t}, shared pool");
        }
    }
}

#[test]
fn processor_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Processor>();
    assert_send_sync::<SharedProcessor>();
    fn assert_send<T: Send>() {}
    assert_send::<wmark_processor::Cache>();
}
