//! libFuzzer entry point of `wmark_fuzz::config_file` (the body and its properties are there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wmark_fuzz::config_file(data));
