//! The core of wmark: keys, the scheme configuration, and the keyed green-list function of
//! watermark scheme v1.
//!
//! Scheme v1 is a format: the green list of a (key, rule, context) is fixed forever, and the
//! value-stability tests in `tests/vectors.rs` check it against `fixtures/vectors/prf-v1.toml`.
//! docs/spec.md describes it byte by byte.
//!
//! ```
//! use wmark_core::{Config, Key, Seeding, Watermark};
//!
//! let key = Key::from_bytes([7; 32]);
//! let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 32_000).unwrap();
//! let wm = Watermark::new(&key, config);
//! let mask = wm.mask(&[1234]).unwrap();
//! assert_eq!(mask.contains(99), wm.is_green(&[1234], 99).unwrap());
//! // about a quarter of the vocabulary is green
//! assert!((7_000..9_000).contains(&mask.count()));
//! ```
#![deny(unsafe_code)] // one audited exception: the SSE2 call in mask.rs
#![warn(missing_docs)]

mod config;
mod error;
mod hex;
pub mod hf;
mod key;
mod mask;
pub mod philox;
mod stream;
mod watermark;

pub use config::{
    Config, Seeding, DEFAULT_SYNTHID_NGRAM_LEN, DEFAULT_SYNTHID_TABLE_SIZE, DEFAULT_VLLM_ALPHA, MAX_H, MAX_VLLM_WIDTH,
};
pub use error::Error;
pub use key::{
    Key, KeyId, KeyKind, DEFAULT_SYNTHID_LAYERS, HF_KEY_FILE_PREFIX, KEY_FILE_PREFIX, MAX_SYNTHID_LAYERS,
    SYNTHID_KEY_FILE_PREFIX, VLLM_KEY_FILE_PREFIX,
};
pub use mask::{pack_below, GreenMask};
pub use stream::{KeyStream, Seed};
pub use watermark::{Seeder, Watermark};
