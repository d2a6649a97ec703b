//! X-Forwarded-For from a trusted proxy: the client is the peer or an address written in the header.
//! The property is `otp_relay::properties::forwarded_for` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::forwarded_for(data);
});
