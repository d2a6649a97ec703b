//! The address rule: what passes is plain, taken by lettre, without line breaks; the mailbox fold is idempotent.
//! The property is `otp_relay::properties::address` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::address(&String::from_utf8_lossy(data));
});
