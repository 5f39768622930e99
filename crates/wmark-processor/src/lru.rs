//! A small least-recently-used store of expanded green masks, keyed by context seed.

use wmark_core::{GreenMask, Seed};

/// The most entries a cache keeps, whatever its byte budget: lookups scan linearly.
pub const MAX_ENTRIES: usize = 256;

struct Entry {
    seed: Seed,
    mask: GreenMask,
    stamp: u64,
}

pub(crate) struct MaskLru {
    entries: Vec<Entry>,
    capacity: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

impl MaskLru {
    /// Room for as many masks of `vocab_size` ids as fit in `budget_bytes` (at most
    /// [`MAX_ENTRIES`]); 0 disables the cache.
    pub(crate) fn new(budget_bytes: usize, vocab_size: u32) -> MaskLru {
        let mask_bytes = (vocab_size as usize).div_ceil(64) * 8;
        let capacity = (budget_bytes / mask_bytes.max(1)).min(MAX_ENTRIES);
        MaskLru { entries: Vec::with_capacity(capacity), capacity, clock: 0, hits: 0, misses: 0 }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The mask of `seed`: from the cache, or expanded by `fill` into a new or recycled slot.
    pub(crate) fn get_or_fill(&mut self, seed: &Seed, vocab_size: u32, fill: impl FnOnce(&mut GreenMask)) -> &GreenMask {
        self.clock += 1;
        if let Some(i) = self.entries.iter().position(|e| e.seed == *seed) {
            self.hits += 1;
            self.entries[i].stamp = self.clock;
            return &self.entries[i].mask;
        }
        self.misses += 1;
        let i = if self.entries.len() < self.capacity {
            self.entries.push(Entry { seed: *seed, mask: GreenMask::new(vocab_size), stamp: 0 });
            self.entries.len() - 1
        } else {
            let (i, _) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.stamp).expect("capacity > 0");
            i
        };
        let entry = &mut self.entries[i];
        entry.seed = *seed;
        entry.stamp = self.clock;
        fill(&mut entry.mask);
        &entry.mask
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.entries.iter().map(|e| e.mask.heap_bytes()).sum()
    }

    pub(crate) fn hits_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}
