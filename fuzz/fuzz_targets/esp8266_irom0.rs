#![no_main]
//! The `esp8266-irom0` parser (raw irom0 behind an ESP8266 image): identify, then extract.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iotassure_unpack::fuzz::format("esp8266-irom0", data);
});
