//! Request bodies: read into the shared request types and written back the same, or refused as invalid_request with a sentence.
//! The property is `otp_relay::properties::request_bodies` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::request_bodies(data);
});
