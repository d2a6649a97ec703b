//! OTP_RELAY_STORE: a setting never shows its password.
//! The property is `otp_relay::properties::store_url` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::store_url(&String::from_utf8_lossy(data));
});
