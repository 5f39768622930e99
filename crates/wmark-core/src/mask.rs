//! A green list over the whole vocabulary, as a bitset.

/// Bit `t` is set iff token id `t` is green. Bits at or above the vocabulary size are zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreenMask {
    words: Vec<u64>,
    vocab_size: u32,
}

impl GreenMask {
    /// An empty (all red) mask for `vocab_size` tokens.
    pub fn new(vocab_size: u32) -> GreenMask {
        GreenMask { words: vec![0; words_for(vocab_size)], vocab_size }
    }

    /// The vocabulary size the mask covers.
    pub fn vocab_size(&self) -> u32 {
        self.vocab_size
    }

    /// True if token `t` is green (false for `t >= vocab_size`).
    #[inline]
    pub fn contains(&self, t: u32) -> bool {
        t < self.vocab_size && (self.words[(t / 64) as usize] >> (t % 64)) & 1 == 1
    }

    /// How many tokens are green.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The 64-bit words, least significant bit first: bit `t % 64` of word `t / 64`.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// The green token ids in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros();
                w &= w - 1;
                Some(i as u32 * 64 + b)
            })
        })
    }

    /// Memory held by the mask, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

pub(crate) fn words_for(vocab_size: u32) -> usize {
    (vocab_size as usize).div_ceil(64)
}

/// Packs 64 keystream bytes into a word: bit `i` set iff `bytes[i] < threshold`.
#[inline]
pub fn pack_below(bytes: &[u8; 64], threshold: u8) -> u64 {
    let mut w = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        w |= u64::from(b < threshold) << i;
    }
    w
}
