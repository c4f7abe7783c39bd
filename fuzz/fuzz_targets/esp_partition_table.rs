#![no_main]
//! The `esp-partition-table` parser (ESP-IDF partition tables): identify only (a header).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iotassure_unpack::fuzz::format("esp-partition-table", data);
});
