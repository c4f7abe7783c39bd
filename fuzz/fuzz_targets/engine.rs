#![no_main]
//! The whole engine: scan, identify, extract, recurse.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iotassure_unpack::fuzz::engine(data);
});
