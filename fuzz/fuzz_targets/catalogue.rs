//! Catalogue files: what parses writes back to a file that parses the same.
//! The property is `otp_relay::properties::catalogue` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::catalogue(&String::from_utf8_lossy(data));
});
