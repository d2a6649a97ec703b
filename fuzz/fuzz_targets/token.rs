//! Challenge tokens: any text decodes only to itself; a signed challenge round-trips and refuses any change.
//! The property is `otp_relay::properties::token_text` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ring = properties::ring();
    properties::token_text(&ring, &text);
    properties::token_round_trip(&ring, data);
});
