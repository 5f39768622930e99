//! The argument layer shared by the `wmark` command line (`src/main.rs`) and the evaluation
//! harness's binary (`crates/wmark-eval`): arguments that become validated settings
//! (`settings`, `config_file`), the input readers (`input`), the one error type (`fail`), and
//! the processor benchmark that `wmark bench` and the criterion benches share (`bench`).
//! Not a library API: use the `wmark-core`, `wmark-processor` and `wmark-detect` crates.
#![forbid(unsafe_code)]

pub mod bench;
pub mod config_file;
pub mod fail;
pub mod input;
pub mod settings;
