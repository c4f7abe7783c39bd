#![no_main]
//! The `squashfs-4.0` parser: identify, then extract under small limits.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iotassure_unpack::fuzz::format("squashfs-4.0", data);
});
