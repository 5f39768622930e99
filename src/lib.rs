//! The `wmark` command line's internals (the binary is `src/main.rs`): arguments become
//! validated settings (`settings`), commands run on them (`commands`), and `output` presents
//! the results. Not a library API: use the `wmark-core`, `wmark-processor` and
//! `wmark-detect` crates instead.
#![forbid(unsafe_code)]

pub mod bench;
pub mod calibration;
pub mod commands;
pub mod config_file;
pub mod eval;
pub mod fail;
pub mod input;
pub mod lm_commands;
pub mod output;
pub mod radioactive_cmd;
pub mod settings;
