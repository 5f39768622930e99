//! The `wmark` command line's internals (the binary is `src/main.rs`). Not a library API:
//! use the `wmark-core`, `wmark-processor` crates instead.
#![forbid(unsafe_code)]

pub mod bench;
