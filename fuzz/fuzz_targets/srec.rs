#![no_main]
//! The `srec` parser: identify, then extract under small limits.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iotassure_unpack::fuzz::format("srec", data);
});
