//! otp-relay: email one-time-code verification. The relay sends a code by email and hands the
//! browser only an HMAC-signed, expiring challenge token; it later checks a code against that
//! token without any table of codes, and answers a signed proof (JWT) on success.
//!
//! The folders follow a code's way: [`http`] takes the request (the only module, with
//! [`server`], that knows the HTTP framework) → [`core`] issues the challenge, derives the code,
//! verifies and signs the proof (no HTTP, no SMTP, no wall clock) → [`mail`] delivers the email
//! (the only module that knows the mail library). [`config`] checks the operator's settings, [`server`] wires it
//! together, [`metrics`] counts what happens for Prometheus, and [`cli`] holds the commands, among
//! them the terminal client.

pub mod cli;
pub mod config;
/// The domain (`relay/domain`): its own crate, so the compiler keeps HTTP, mail and Redis out.
pub use otp_relay_domain as core;
pub mod http;
pub mod log_writer;
pub mod mail;
pub mod metrics;
/// What each parser of outside input promises, for the property tests and the fuzz targets.
#[cfg(any(test, feature = "testing"))]
pub mod properties;
pub mod redis_store;
pub mod server;
/// The relay in process for tests: built only for the relay's own tests and for crates that ask
/// for the `testing` feature (the test kit), never into the release binary.
#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;
