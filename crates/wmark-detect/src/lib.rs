//! Detecting wmark watermarks: scoring tokens against a key and deciding with exact
//! statistics.
//!
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// mod detect; (enabled once normalize lands)
mod error;
pub mod normalize;
mod report;
pub mod score;
pub mod stats;
mod tokenize;
pub mod window;

// pub use detect::{Detector, Options, DEFAULT_ALPHA};
pub use error::Error;
pub use report::{KeyResult, Report, Span, TokenFlag, Verdict, SCHEMA_VERSION};
pub use score::{Dedup, DedupTape, Status};
pub use tokenize::{Encoding, TextTokenizer};
