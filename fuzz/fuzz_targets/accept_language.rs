//! Accept-Language: the language picked is one the header names.
//! The property is `otp_relay::properties::accept_language` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::accept_language(&String::from_utf8_lossy(data));
});
