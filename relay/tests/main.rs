//! Integration tests of the relay: the real binary, a real SMTP server process, real HTTP.
//! One test binary (modules below) keeps build time down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks;
mod bad_requests;
mod cli;
mod deploy;
mod failover;
mod faults;
mod flow;
mod image;
mod languages;
mod layout;
mod openapi;
mod operations;
mod pow;
mod proofs;
mod readme;
mod shared_store;
mod terminal;
mod webhook;
mod widget;
