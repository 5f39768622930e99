//! Context seeds and their ChaCha8 keystreams.

use std::fmt;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::hex;

/// The 256-bit seed of one green list: an HMAC-SHA256 output (see the spec, docs/spec.md).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// The keystream of this seed, positioned at byte 0.
    pub fn stream(&self) -> KeyStream {
        KeyStream { rng: ChaCha8Rng::from_seed(self.0) }
    }

    /// Keystream byte `t` (the byte that belongs to token id `t`), computed in O(1):
    /// one ChaCha8 block at the right counter.
    pub fn byte_at(&self, t: u32) -> u8 {
        self.stream().byte_at(t)
    }

    /// Keystream word `t` (bytes `4t .. 4t + 4`, little-endian), the word that belongs to
    /// token id `t` in the Gumbel-max scheme; one ChaCha8 block.
    pub fn word_at(&self, t: u32) -> u32 {
        let mut rng = ChaCha8Rng::from_seed(self.0);
        rng.set_word_pos(u128::from(t));
        rng.next_u32()
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        hex::push_lower(&mut s, &self.0);
        write!(f, "Seed({s})")
    }
}

/// The ChaCha8 keystream of a [`Seed`]: key = seed, 64-bit nonce 0, 64-bit block counter
/// from 0; byte `t` belongs to token id `t`.
#[derive(Clone)]
pub struct KeyStream {
    rng: ChaCha8Rng,
}

impl KeyStream {
    /// Moves to byte offset `offset`, which must be a multiple of 4 (a keystream word).
    ///
    /// # Panics
    /// If `offset` is not a multiple of 4.
    pub fn seek(&mut self, offset: u64) {
        assert!(offset % 4 == 0, "keystream seeks must be word aligned");
        self.rng.set_word_pos(u128::from(offset / 4));
    }

    /// Keystream word `t` (bytes `4t .. 4t + 4`, little-endian), from anywhere in the
    /// stream: one ChaCha8 block, without re-keying. Leaves the stream after that word.
    pub fn word_at(&mut self, t: u32) -> u32 {
        self.rng.set_word_pos(u128::from(t));
        self.rng.next_u32()
    }

    /// Keystream byte `t`, from anywhere in the stream. Leaves the stream just after the
    /// 4-byte word holding `t`.
    pub fn byte_at(&mut self, t: u32) -> u8 {
        self.rng.set_word_pos(u128::from(t / 4));
        let word = self.rng.next_u32();
        (word >> (8 * (t % 4))) as u8
    }

    /// Fills `buf` with the next keystream bytes. If `buf.len()` is not a multiple of 4, the
    /// rest of the last word is discarded: only whole-word reads continue the stream exactly.
    pub fn fill(&mut self, buf: &mut [u8]) {
        self.rng.fill_bytes(buf);
    }
}
