//! cargo-fuzz entry point; the body (and its properties) is `tfd_fuzz_bodies::relpath`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tfd_fuzz_bodies::relpath(data));
