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
pub mod secret;
pub mod service;
pub mod store;
pub mod token;

pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use delivery::{Brand, CodeEmail, Delivery, DeliveryError};
pub use error::{ApiError, Limit, Reason};
pub use policy::{Policy, Rate};
pub use service::{Requester, Sent, ServiceSettings, VerificationService, Verified};
pub use store::{MemoryStore, Store, StoreError, StoreKey};

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
