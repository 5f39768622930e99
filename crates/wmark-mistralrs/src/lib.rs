//! wmark inside mistral.rs, the Rust inference engine.
//!
//! - [`logits`]: wmark's watermark behind mistral.rs's `CustomLogitsProcessor`, one per
//!   request (green-list schemes add δ; Gumbel-max schemes choose and force the token).
//! - [`server`], [`accounts`], [`engine`]: `wmark serve`, an OpenAI-compatible server whose
//!   answers carry their account's watermark, with a detection endpoint that names the
//!   account.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod engine;
pub mod logits;
pub mod server;
