//! Browser tests: real headless Chromium over WebDriver, the page built by trunk and served by
//! the real relay, codes read from messages delivered to a real SMTP server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flow;
mod languages;
mod links;
mod pow;
mod release;
mod widget;
