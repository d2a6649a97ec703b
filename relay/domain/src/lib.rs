//! The domain: a code's life from challenge to proof, with no HTTP, no SMTP library and no wall
//! clock. Everything it needs from outside (time, delivery, the store) it is given.
//!
//! Flow: [`service`] issues a [`token::Challenge`], derives its code ([`code`]) under the
//! [`keys`], hands the message to a [`Delivery`], and later verifies a code against the token,
//! counting in the [`store`] first and answering a [`proof`]. Refusals are [`error::ApiError`]s,
//! which the HTTP layer alone turns into responses.

pub mod clock;
pub mod code;
pub mod delivery;
pub mod error;
pub mod keys;
pub mod network;
pub mod policy;
pub mod pow;
pub mod proof;
pub mod random;
pub mod review;
pub mod secret;
pub mod service;
pub mod store;
pub mod token;

pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use delivery::{Brand, CodeEmail, Delivery, DeliveryError};
pub use error::{ApiError, Limit, Reason};
pub use policy::{Policy, Rate};
pub use review::ReviewAddresses;
pub use service::{Answer, Requester, Sent, ServiceSettings, VerificationService, Verified};
pub use store::{MemoryStore, Store, StoreError, StoreKey};

/// Lower-case hex. By table, not `write!` per byte: store keys are written in hex on every
/// request to a shared store.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::hex(&[]), "");
    }
}
