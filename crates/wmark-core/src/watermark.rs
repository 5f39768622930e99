//! The keyed green-list function of scheme v1.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{Config, Seeding};
use crate::error::Error;
use crate::key::{Key, KeyId, DOMAIN};
use crate::mask::{pack_below, words_for, GreenMask};
use crate::stream::Seed;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of keystream expanded per step of [`Watermark::fill_mask`].
const CHUNK: usize = 4096;

/// A key and a configuration, compiled for fast green-list queries.
///
/// Built once, then read-only: `Send + Sync`, cheap to share behind an `Arc`. The two HMAC
/// states are keyed and have absorbed their fixed prefixes at construction, so each query
/// only clones a state (no re-keying) and hashes the payload.
#[derive(Clone)]
pub struct Watermark {
    config: Config,
    key_id: KeyId,
    /// HMAC(key, "wmark.v1" 0x00 scheme 0x00 …), waiting for the payload.
    seed_mac: HmacSha256,
    /// HMAC(key, "wmark.v1" 0x00 "tokhash" 0x00 …), waiting for le32(token).
    tok_mac: HmacSha256,
}

impl std::fmt::Debug for Watermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watermark").field("config", &self.config).field("key_id", &self.key_id).finish()
    }
}

impl Watermark {
    /// Compiles `key` and `config`.
    pub fn new(key: &Key, config: Config) -> Watermark {
        let keyed = HmacSha256::new_from_slice(key.dangerous_expose_secret_bytes()).expect("HMAC accepts 32-byte keys");
        let mut seed_mac = keyed.clone();
        seed_mac.update(DOMAIN);
        seed_mac.update(config.seeding().to_string().as_bytes());
        seed_mac.update(b"\x00");
        let mut tok_mac = keyed;
        tok_mac.update(DOMAIN);
        tok_mac.update(b"tokhash\x00");
        Watermark { config, key_id: key.id(), seed_mac, tok_mac }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The public id of the key.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// How many tokens before the scored position the seeding rule reads.
    pub fn context_len(&self) -> usize {
        self.config.seeding().context_len()
    }

    /// The keyed token hash `F(w)`: the first 8 bytes, little-endian, of
    /// `HMAC(key, "wmark.v1" 0x00 "tokhash" 0x00 le32(w))`.
    pub fn token_hash(&self, w: u32) -> u64 {
        let mut mac = self.tok_mac.clone();
        mac.update(&w.to_le_bytes());
        let out = mac.finalize().into_bytes();
        u64::from_le_bytes(out[..8].try_into().expect("8 bytes"))
    }

    /// The token of `tokens` with the smallest token hash (ties: the smallest id).
    fn min_hash_token(&self, tokens: &[u32]) -> u32 {
        let best = tokens.iter().map(|&t| (self.token_hash(t), t)).min();
        best.expect("min-hash over at least one token").1
    }

    fn tail<'a>(&self, context: &'a [u32], needed: usize) -> Result<&'a [u32], Error> {
        if context.len() < needed {
            return Err(Error::context_too_short(needed, context.len()));
        }
        Ok(&context[context.len() - needed..])
    }

    fn seed_of_payload(&self, payload: impl Iterator<Item = u32>) -> Seed {
        let mut mac = self.seed_mac.clone();
        for t in payload {
            mac.update(&t.to_le_bytes());
        }
        Seed(mac.finalize().into_bytes().into())
    }

    /// The seed of the green list that scores the token after `context`, for every rule
    /// whose seed does not depend on the candidate (all but `selfhash`). Only the last
    /// [`context_len`](Self::context_len) tokens are read.
    ///
    /// For `selfhash` use [`candidate_seed`](Self::candidate_seed): this returns an error
    /// of kind config.
    pub fn context_seed(&self, context: &[u32]) -> Result<Seed, Error> {
        let seeding = self.config.seeding();
        let tail = self.tail(context, seeding.context_len())?;
        Ok(match seeding {
            Seeding::Unigram | Seeding::LeftHash | Seeding::Window(_) | Seeding::Gumbel(_) => {
                self.seed_of_payload(tail.iter().copied())
            }
            Seeding::MinHash(_) => self.seed_of_payload(std::iter::once(self.min_hash_token(tail))),
            Seeding::SelfHash(_) => {
                return Err(Error::config("selfhash has no single green list per context; ask for a candidate's seed"))
            }
            Seeding::VllmGumbel(_) | Seeding::VllmDualKeyGumbel(_) => {
                return Err(Error::config("the vLLM schemes draw from vLLM's Philox PRF, not from a v1 seed"))
            }
            Seeding::HfLeftHash(_) | Seeding::HfSelfHash(_) | Seeding::HfSynthId(_) => {
                return Err(Error::config("the Hugging Face schemes draw from torch's generator, not from a v1 seed"))
            }
        })
    }

    /// The seed that decides whether `candidate` is green after `context`. For rules other
    /// than `selfhash` this is the context seed, whatever the candidate.
    pub fn candidate_seed(&self, context: &[u32], candidate: u32) -> Result<Seed, Error> {
        Ok(self.seeder(context)?.seed(candidate))
    }

    /// Prepares the seeds of every candidate after one `context`: the context's part of the
    /// work (its seed, or for `selfhash` the min-hash over the context tokens) is done once,
    /// so that testing k candidates costs k seeds at most, not k times the context.
    pub fn seeder(&self, context: &[u32]) -> Result<Seeder<'_>, Error> {
        let kind = match self.config.seeding() {
            Seeding::SelfHash(h) => {
                let tail = self.tail(context, h - 1)?;
                let best = tail.iter().map(|&t| (self.token_hash(t), t)).min();
                SeederKind::PerCandidate { tail_min: best }
            }
            _ => SeederKind::Fixed(self.context_seed(context)?),
        };
        Ok(Seeder { wm: self, kind })
    }

    /// True if `token` is green under `seed`: `token < vocab_size` and keystream byte
    /// `token` is below `G`. One ChaCha8 block, no allocation.
    #[inline]
    pub fn is_green_in(&self, seed: &Seed, token: u32) -> bool {
        token < self.config.vocab_size() && seed.byte_at(token) < self.config.green_threshold()
    }

    /// The `gumbel:h` uniform of `token` under `seed`: `(w + 0.5) / 2^32` with `w` the
    /// little-endian keystream word `token` (bytes `4·token .. 4·token + 4`). Exact in
    /// double precision, strictly inside (0, 1).
    #[inline]
    pub fn gumbel_uniform(seed: &Seed, token: u32) -> f64 {
        (f64::from(seed.word_at(token)) + 0.5) * (1.0 / 4_294_967_296.0)
    }

    /// The `gumbel:h` sampling choice after the context of `seed`: among the ids whose
    /// logit (`logits[id]`, after top-k / top-p, removed ids at `-inf`) is finite, the one
    /// with the largest `logit / temperature + g(id)`, `g = −ln(−ln u)`, in double precision;
    /// ties go to the smaller id. `None` if no logit is finite or `temperature` is not
    /// positive. The keystream is read in one pass.
    pub fn gumbel_argmax(seed: &Seed, logits: &[f32], temperature: f64) -> Option<u32> {
        Self::gumbel_argmax_f64(seed, logits.iter().map(|&l| f64::from(l)), temperature)
    }

    /// [`gumbel_argmax`](Self::gumbel_argmax) over `f64` logits.
    pub fn gumbel_argmax_f64(seed: &Seed, logits: impl IntoIterator<Item = f64>, temperature: f64) -> Option<u32> {
        if !(temperature > 0.0 && temperature.is_finite()) {
            return None;
        }
        let mut stream = seed.stream();
        let mut buf = [0u8; 1024];
        let mut best: Option<(f64, u32)> = None;
        for (t, l) in logits.into_iter().enumerate() {
            let at = (t * 4) % buf.len();
            if at == 0 {
                stream.fill(&mut buf);
            }
            if !l.is_finite() {
                continue;
            }
            let word = u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
            let u = (f64::from(word) + 0.5) * (1.0 / 4_294_967_296.0);
            let v = l / temperature + -(-u.ln()).ln();
            if best.is_none_or(|(b, _)| v > b) {
                best = Some((v, t as u32));
            }
        }
        best.map(|(_, t)| t)
    }

    /// True if `token` is green after `context` (any rule, including `selfhash`).
    /// One HMAC per call (plus `h` token hashes for the min-hash rules) and one ChaCha8
    /// block; no allocation.
    pub fn is_green(&self, context: &[u32], token: u32) -> Result<bool, Error> {
        Ok(self.is_green_in(&self.candidate_seed(context, token)?, token))
    }

    /// Expands the whole green list of `seed` into `mask`, streaming the keystream.
    ///
    /// # Panics
    /// If `mask` was made for a different vocabulary size.
    pub fn fill_mask(&self, seed: &Seed, mask: &mut GreenMask) {
        let vocab = self.config.vocab_size();
        assert_eq!(mask.vocab_size(), vocab, "mask made for another vocabulary size");
        let g = self.config.green_threshold();
        let mut stream = seed.stream();
        let mut buf = [0u8; CHUNK];
        let words = mask.words_mut();
        for out in words.chunks_mut(CHUNK / 64) {
            let bytes = &mut buf[..out.len() * 64];
            stream.fill(bytes);
            for (w, block) in out.iter_mut().zip(bytes.chunks_exact(64)) {
                *w = pack_below(block.try_into().expect("64 bytes"), g);
            }
        }
        let rem = vocab % 64;
        if rem != 0 {
            let last = words_for(vocab) - 1;
            words[last] &= (1u64 << rem) - 1;
        }
    }

    /// The green list of `context` as a new mask (not for `selfhash`).
    pub fn mask(&self, context: &[u32]) -> Result<GreenMask, Error> {
        let seed = self.context_seed(context)?;
        let mut mask = GreenMask::new(self.config.vocab_size());
        self.fill_mask(&seed, &mut mask);
        Ok(mask)
    }
}

/// The seeds of the candidates after one context; see [`Watermark::seeder`].
#[derive(Clone, Debug)]
pub struct Seeder<'a> {
    wm: &'a Watermark,
    kind: SeederKind,
}

#[derive(Clone, Debug)]
enum SeederKind {
    /// Every candidate shares the context seed.
    Fixed(Seed),
    /// `selfhash`: the smallest (token hash, id) among the context tokens, if any.
    PerCandidate { tail_min: Option<(u64, u32)> },
}

impl Seeder<'_> {
    /// The seed deciding `candidate`.
    pub fn seed(&self, candidate: u32) -> Seed {
        match self.kind {
            SeederKind::Fixed(seed) => seed,
            SeederKind::PerCandidate { tail_min } => {
                let own = (self.wm.token_hash(candidate), candidate);
                let m = match tail_min {
                    Some(t) if t < own => t.1,
                    _ => candidate,
                };
                self.wm.seed_of_payload([candidate, m].into_iter())
            }
        }
    }

    /// The seed shared by every candidate, unless the rule is `selfhash`.
    pub fn shared_seed(&self) -> Option<&Seed> {
        match &self.kind {
            SeederKind::Fixed(seed) => Some(seed),
            SeederKind::PerCandidate { .. } => None,
        }
    }

    /// True if `candidate` is green.
    pub fn is_green(&self, candidate: u32) -> bool {
        self.wm.is_green_in(&self.seed(candidate), candidate)
    }
}
