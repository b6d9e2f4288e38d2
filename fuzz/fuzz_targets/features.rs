//! cargo-fuzz entry point; the body (and its properties) is `tfp_wire_fuzz::features`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tfp_wire_fuzz::features(data));
