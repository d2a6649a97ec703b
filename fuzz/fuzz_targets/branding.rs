//! OTP_RELAY_BRANDING: only checked brands for allowed origins.
//! The property is `otp_relay::properties::branding` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::branding(&String::from_utf8_lossy(data));
});
