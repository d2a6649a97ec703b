//! OTP_RELAY_SMTP_URL: a target never shows its password.
//! The property is `otp_relay::properties::smtp_url` (also a property test in `make test`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_relay::properties;

fuzz_target!(|data: &[u8]| {
    properties::smtp_url(&String::from_utf8_lossy(data));
});
