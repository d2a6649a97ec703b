//! What the otp-relay relay and its clients must agree on: the JSON shapes of API version 1,
//! the error codes clients branch on, the rules for a valid address and a valid code, and the
//! languages with their message catalogues ([`i18n`]).
//!
//! This crate is target-neutral (no I/O, no async runtime) so that the browser frontend, compiled
//! to `wasm32-unknown-unknown`, checks input with exactly the rules the relay enforces.

pub mod api;
pub mod code;
pub mod email;
pub mod error;
pub mod i18n;
pub mod pow;

pub use code::{Code, CodeError};
pub use email::{EmailAddress, EmailError};
pub use error::ErrorCode;
pub use i18n::{Catalogue, Lang};

/// Code length the relay uses unless configured otherwise.
pub const DEFAULT_CODE_LENGTH: usize = 6;

/// Shortest code the relay accepts as configuration: 6 decimal digits is about 20 bits.
pub const MIN_CODE_LENGTH: usize = 6;

/// Longest code: 9 digits still fit one uniform draw from a `u32`.
pub const MAX_CODE_LENGTH: usize = 9;
