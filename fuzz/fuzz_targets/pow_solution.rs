//! A send's proof-of-work solution: what decodes writes back the same; checking it never panics.
//! The property is `otp_relay::properties::pow_solution` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::pow_solution(&String::from_utf8_lossy(data));
});
