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
///
/// SSE2 on x86-64, eight bytes at a time in a 64-bit register (SWAR) elsewhere; both are
/// checked against the plain loop in the tests.
#[inline]
pub fn pack_below(bytes: &[u8; 64], threshold: u8) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[allow(unsafe_code)]
    {
        // SAFETY: `pack_below_sse2` only needs SSE2, and this branch is compiled only when
        // SSE2 is enabled for the whole build (`target_feature = "sse2"`, part of the x86-64
        // baseline), so every CPU that runs this binary has it. The function itself has no
        // other precondition: it reads only through safe slices.
        unsafe { pack_below_sse2(bytes, threshold) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        pack_below_swar(bytes, threshold)
    }
}

/// SSE2 (part of every x86-64 CPU): 16 bytes per compare and one `pmovmskb`.
/// The intrinsics used are safe functions in a context where SSE2 is enabled.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn pack_below_sse2(bytes: &[u8; 64], threshold: u8) -> u64 {
    use std::arch::x86_64::{_mm_cmplt_epi8, _mm_movemask_epi8, _mm_set1_epi8, _mm_set_epi64x, _mm_xor_si128};
    // Unsigned x < t is signed (x ^ 0x80) < (t ^ 0x80).
    let flip = _mm_set1_epi8(i8::MIN);
    let t = _mm_set1_epi8((threshold ^ 0x80) as i8);
    let mut out = 0u64;
    for (i, chunk) in bytes.chunks_exact(16).enumerate() {
        let lo = u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes"));
        let hi = u64::from_le_bytes(chunk[8..].try_into().expect("8 bytes"));
        let x = _mm_xor_si128(_mm_set_epi64x(hi as i64, lo as i64), flip);
        let bits = _mm_movemask_epi8(_mm_cmplt_epi8(x, t)) as u32 as u64;
        out |= (bits & 0xffff) << (16 * i);
    }
    out
}

/// Portable version: eight bytes at a time in a 64-bit register (SWAR).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline]
fn pack_below_swar(bytes: &[u8; 64], threshold: u8) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // For n <= 128, the high bit of byte (127 + n - (x & 127)) is set iff (x & 127) < n;
    // with x < 128 that is x < n, and no byte can borrow from its neighbour. For n > 128,
    // x < n iff not (255 - x < 256 - n), and 256 - n <= 127.
    let (n, invert) = if threshold <= 128 { (threshold, 0) } else { (threshold.wrapping_neg(), u64::MAX) };
    let base = ONES * (127 + u64::from(n));
    let mut out = 0u64;
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ invert;
        let flags = ((base - (x & LO7)) & !x & HI) ^ (invert & HI);
        // Gather the eight high bits (one per byte) into the top byte, in byte order.
        let packed = ((flags >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        out |= packed << (8 * i);
    }
    out
}

/// The plain loop [`pack_below`] must agree with (a test oracle).
#[cfg(test)]
fn pack_below_naive(bytes: &[u8; 64], threshold: u8) -> u64 {
    let mut w = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        w |= u64::from(b < threshold) << i;
    }
    w
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{pack_below, pack_below_naive, pack_below_swar};

    proptest! {
        #[test]
        fn swar_pack_matches_plain_loop(
            bytes in proptest::collection::vec(
                prop_oneof![any::<u8>(), prop::sample::select(vec![0u8, 1, 63, 64, 65, 127, 128, 129, 254, 255])],
                64),
            threshold in 1u8..=255,
        ) {
            let block: [u8; 64] = bytes.try_into().unwrap();
            prop_assert_eq!(pack_below(&block, threshold), pack_below_naive(&block, threshold));
            prop_assert_eq!(pack_below_swar(&block, threshold), pack_below_naive(&block, threshold));
        }
    }

    #[test]
    fn swar_pack_every_threshold_and_byte() {
        for threshold in 1u8..=255 {
            for start in (0u16..256).step_by(64) {
                let block: [u8; 64] = std::array::from_fn(|i| (start + i as u16) as u8);
                assert_eq!(pack_below(&block, threshold), pack_below_naive(&block, threshold));
                assert_eq!(pack_below_swar(&block, threshold), pack_below_naive(&block, threshold));
            }
        }
    }
}
