//! A small least-recently-used store of green lists, keyed by context seed.
//!
//! An entry holds the seed's first V keystream bytes rather than a bitmask: biasing from
//! bytes is the same branch-free, vectorised loop as the streaming path, one byte per logit,
//! so a hit costs little more than one pass over the logits.

use wmark_core::Seed;

/// The most entries a cache keeps, whatever its byte budget: lookups scan linearly.
pub const MAX_ENTRIES: usize = 256;

struct Entry {
    seed: Seed,
    bytes: Vec<u8>,
    stamp: u64,
}

pub(crate) struct StreamLru {
    entries: Vec<Entry>,
    capacity: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

impl StreamLru {
    /// Room for as many entries of `vocab_size` bytes as fit in `budget_bytes` (at most
    /// [`MAX_ENTRIES`]); 0 disables the cache.
    pub(crate) fn new(budget_bytes: usize, vocab_size: u32) -> StreamLru {
        let capacity = (budget_bytes / (vocab_size as usize).max(1)).min(MAX_ENTRIES);
        StreamLru { entries: Vec::with_capacity(capacity), capacity, clock: 0, hits: 0, misses: 0 }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The first `vocab_size` keystream bytes of `seed`: from the cache, or written by `fill`
    /// into a new or recycled entry.
    pub(crate) fn get_or_fill(&mut self, seed: &Seed, vocab_size: u32, fill: impl FnOnce(&mut [u8])) -> &[u8] {
        self.clock += 1;
        if let Some(i) = self.entries.iter().position(|e| e.seed == *seed) {
            self.hits += 1;
            self.entries[i].stamp = self.clock;
            return &self.entries[i].bytes;
        }
        self.misses += 1;
        let i = if self.entries.len() < self.capacity {
            self.entries.push(Entry { seed: *seed, bytes: vec![0; vocab_size as usize], stamp: 0 });
            self.entries.len() - 1
        } else {
            let (i, _) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.stamp).expect("capacity > 0");
            i
        };
        let entry = &mut self.entries[i];
        entry.seed = *seed;
        entry.stamp = self.clock;
        fill(&mut entry.bytes);
        &entry.bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.entries.iter().map(|e| e.bytes.capacity()).sum()
    }

    pub(crate) fn hits_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}
