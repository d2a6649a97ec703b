//! otp-relay: email one-time-code verification. The relay sends a code by email and hands the
//! browser only an HMAC-signed, expiring challenge token; it later checks a code against that
//! token without any table of codes, and answers a signed proof (JWT) on success.
//!
//! Map: [`config`] (operator settings) → [`server`] (wiring) → [`http`] (endpoints, CORS, body
//! rules) → [`service`] (the flow) → [`token`], [`code`], [`ledger`], [`mail`], [`proof`]; and
//! [`client`], the terminal client of `otp-relay verify`.

pub mod client;
pub mod code;
pub mod config;
pub mod error;
pub mod http;
pub mod keys;
pub mod ledger;
pub mod mail;
pub mod proof;
pub mod random;
pub mod server;
pub mod service;
pub mod time;
pub mod token;
