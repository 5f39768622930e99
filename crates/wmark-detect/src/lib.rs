//! Detecting wmark watermarks: scoring tokens against a key and deciding with exact
//! statistics.
//!
//! ```
//! use wmark_core::{Config, Key, Seeding};
//! use wmark_detect::{Detector, Options, Verdict};
//!
//! let key = Key::from_bytes([1; 32]);
//! let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 1000).unwrap();
//! let detector = Detector::new(&[key], config, Options::default()).unwrap();
//! // 30 ids of unwatermarked "text": nothing to find
//! let ids: Vec<u32> = (0..30).map(|i| (i * 37) % 1000).collect();
//! let report = detector.detect_ids(&ids, 0).unwrap();
//! assert_eq!(report.scored, 29); // the first token has no context
//! assert_ne!(report.verdict, Verdict::Watermarked);
//! ```
//!
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config_file;
pub mod dedup;
mod detect;
mod error;
pub mod normalize;
pub mod radioactive;
mod report;
pub mod score;
pub mod stats;
mod tokenize;
pub mod verdict;
pub mod window;

pub use config_file::ConfigFile;
pub use dedup::Dedup;
pub use detect::{Detector, Options, DEFAULT_ALPHA};
pub use error::Error;
pub use report::{KeyResult, Report, Span, TokenFlag, Verdict, SCHEMA_VERSION};
pub use score::{Score, ScoreKind, Scorer, Status, Tally};
pub use tokenize::{Encoding, TextTokenizer, CHUNK_BYTES};
