//! What every parser that sees outside input promises, as functions that panic when a promise
//! is broken: the same checks run as property tests in `make test` (`relay/src/tests/parsers.rs`,
//! proptest, on stable) and as fuzz targets under `make fuzz` (`fuzz/`, cargo-fuzz on nightly),
//! which feed them raw bytes. Each checks a property, not only "no panic": a token that decodes
//! re-encodes to the same text, an address that passes is one the mail library takes and holds no line
//! break, a mailbox fold is idempotent, a catalogue round-trips, a URL's password never reaches
//! a description of it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core::UnixTime;
use crate::core::keys::KeyRing;
use crate::core::secret::SecretString;
use crate::core::token::Challenge;
use otp_relay_shared::api::{CreateChallengeRequest, ResendRequest, VerifyRequest};
use otp_relay_shared::{Catalogue, EmailAddress, ErrorCode, Lang};
use std::net::IpAddr;

/// The key ring tokens are checked against: fixed, so that a fuzzer's corpus stays meaningful.
pub fn ring() -> KeyRing {
    KeyRing::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").expect("a fixed ring")
}

/// Any text as a challenge token: refused, or (signed by this ring) read back to a challenge
/// that encodes to the very same text: exactly one encoding per token.
pub fn token_text(ring: &KeyRing, text: &str) {
    if let Ok(challenge) = Challenge::decode(text, ring) {
        let keys = ring.by_kid(&challenge.kid).expect("the key it named");
        assert_eq!(challenge.encode(keys), text, "re-encodes to the same bytes");
    }
}

/// A challenge made of `bytes`, signed: it decodes to itself, and any change of one character of
/// its text is refused (or is the same token again).
pub fn token_round_trip(ring: &KeyRing, bytes: &[u8]) {
    let byte = |at: usize| bytes.get(at).copied().unwrap_or(0);
    let word = |at: usize| u64::from_be_bytes(std::array::from_fn(|i| byte(at + i)));
    let challenge = Challenge {
        kid: "k1".into(),
        epoch: word(0),
        issued_at: UnixTime::from_secs(word(8)),
        expires_at: UnixTime::from_secs(word(16)),
        nonce: std::array::from_fn(|i| byte(24 + i)),
        address_tag: std::array::from_fn(|i| byte(40 + i)),
        site_tag: std::array::from_fn(|i| byte(56 + i)),
        // Half the challenges carry a page (version 3), of a length the input decides.
        link: (byte(73) % 2 == 1)
            .then(|| format!("https://shop.example/{}", "p".repeat(usize::from(byte(74))))),
    };
    let text = challenge.encode(ring.signing());
    assert_eq!(Challenge::decode(&text, ring).as_ref(), Ok(&challenge));
    let position = usize::from(byte(72)) % text.len();
    let mut changed: Vec<u8> = text.clone().into_bytes();
    changed[position] = match changed[position] {
        b'A' => b'B',
        _ => b'A',
    };
    let changed = String::from_utf8(changed).expect("ASCII");
    assert!(
        Challenge::decode(&changed, ring).is_err(),
        "a changed token is refused"
    );
}

/// Any bytes as the body of each request type: read, or refused as `invalid_request` with a
/// sentence; what is read writes back to JSON that reads as the same request.
pub fn request_bodies(bytes: &[u8]) {
    fn one<T>(bytes: &[u8])
    where
        T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        match crate::http::extract::request_body::<T>(bytes) {
            Ok(body) => {
                let again = serde_json::to_vec(&body).unwrap();
                assert_eq!(
                    crate::http::extract::request_body::<T>(&again).ok(),
                    Some(body)
                );
            }
            Err(error) => {
                assert_eq!(error.code, ErrorCode::InvalidRequest, "{error:?}");
                let message = crate::http::error::sentence(&error, Lang::En);
                assert!(message.ends_with('.') && message.len() > 20, "{message:?}");
            }
        }
    }
    one::<CreateChallengeRequest>(bytes);
    one::<ResendRequest>(bytes);
    one::<VerifyRequest>(bytes);
}

/// Any text as an address: refused, or an address the mail library takes, with no line break or control
/// character, that parses to itself; its mailbox fold, where it is an address, folds to itself.
pub fn address(text: &str) {
    let Ok(email) = EmailAddress::parse(text) else {
        return;
    };
    let normal = email.as_str();
    assert!(!normal.chars().any(char::is_control), "{normal:?}");
    assert!(
        crate::mail::smtp::parse_from(normal).is_ok(),
        "the mail library refuses {normal:?}"
    );
    assert_eq!(EmailAddress::parse(normal).as_ref(), Ok(&email));
    let mailbox = email.mailbox();
    if let Ok(folded) = EmailAddress::parse(&mailbox) {
        assert_eq!(folded.mailbox(), mailbox, "the fold is idempotent");
    }
}

/// Any bytes as `X-Forwarded-For` lines from a trusted proxy: refused, or a client that is the
/// peer or one of the entries written in them.
pub fn forwarded_for(bytes: &[u8]) {
    let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
    let peer: IpAddr = "10.0.0.1".parse().unwrap();
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    match crate::http::extract::client_ip(peer, lines.iter().copied(), &trusted) {
        Ok(client) if client == peer => {}
        Ok(client) => {
            // Read again, independently: some entry, without brackets and port, is the client.
            let text = String::from_utf8_lossy(bytes);
            let written = text
                .split([',', '\n', ' ', '\t', '[', ']'])
                .flat_map(|entry| [Some(entry), entry.rsplit_once(':').map(|(ip, _)| ip)])
                .flatten()
                .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
                .any(|ip| ip.to_canonical() == client);
            assert!(written, "{client} is not written in {text:?}");
        }
        Err(entry) => assert!(!entry.is_empty(), "an empty entry named"),
    }
}

/// Any text as `Accept-Language`: no language, or one the header names.
pub fn accept_language(text: &str) {
    if let Some(lang) = Lang::from_accept_language(text) {
        assert!(
            text.to_ascii_lowercase().contains(lang.tag()),
            "{lang:?} from {text:?}"
        );
    }
}

/// Any text as a send's `pow`: not a solution, or one that writes back to a `pow` that reads
/// as the same; checking it never panics.
pub fn pow_solution(text: &str) {
    use base64::Engine;
    let Some(solution) = crate::core::pow::decode_solution(text) else {
        return;
    };
    let again =
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&solution).unwrap());
    assert_eq!(
        crate::core::pow::decode_solution(&again).as_ref(),
        Some(&solution)
    );
    let _ = crate::core::pow::check_for(&ring(), &solution, "net", UnixTime::from_secs(0));
}

/// `text` with the password between `:` and `@` (as `password` writes it) replaced by another.
fn with_other_password(text: &str, password: &str) -> Option<String> {
    let written = format!(":{password}@");
    text.contains(&written)
        .then(|| text.replacen(&written, ":Other-Pw9@", 1))
}

/// Any text as `OTP_RELAY_SMTP_URL`: refused, or a target whose description and debug form
/// never depend on its password (they are the same with another one).
pub fn smtp_url(text: &str) {
    let Ok(target) = crate::mail::SmtpTarget::parse(text) else {
        return;
    };
    let Some(password) = url::Url::parse(text.trim())
        .ok()
        .and_then(|url| url.password().map(str::to_string))
    else {
        return;
    };
    if let Some(other) = with_other_password(text, &password)
        .and_then(|other| crate::mail::SmtpTarget::parse(&other).ok())
    {
        assert_eq!(target.describe(), other.describe());
        assert_eq!(format!("{target:?}"), format!("{other:?}"));
    }
}

/// Any text as `OTP_RELAY_STORE`: refused, or a setting whose debug form never depends on the
/// password written in it.
pub fn store_url(text: &str) {
    let parse = |text: &str| {
        crate::config::parse_store_setting(&SecretString::new(text.to_string()))
            .ok()
            .map(|setting| format!("{setting:?}"))
    };
    let Some(setting) = parse(text) else {
        return;
    };
    let password = text
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .and_then(|(credentials, _)| credentials.split_once(':'))
        .map(|(_, password)| password);
    if let Some(other) = password
        .and_then(|password| with_other_password(text, password))
        .and_then(|other| parse(&other))
    {
        assert_eq!(setting, other);
    }
}

/// Any text as `OTP_RELAY_BRANDING`: refused, or brands each for an allowed origin, with a
/// product name on one line, a sender the mail library takes, a `#rrggbb` accent and an `https://` logo.
pub fn branding(text: &str) {
    let allowed = vec!["https://shop.example".to_string()];
    let Ok(brands) = crate::config::branding_from_text(text, &allowed) else {
        return;
    };
    for (origin, brand) in brands {
        assert!(allowed.contains(&origin));
        assert!(!brand.product.is_empty() && !brand.product.chars().any(char::is_control));
        if let Some(from) = &brand.from {
            assert!(crate::mail::smtp::parse_from(from).is_ok());
        }
        if let Some(accent) = &brand.accent {
            assert!(accent.len() == 7 && accent.starts_with('#'));
        }
        if let Some(logo) = &brand.logo {
            assert!(logo.starts_with("https://") && !logo.contains('"'));
        }
    }
}

/// Any text as a catalogue file: refused naming a line, or a catalogue that writes back to a
/// file that reads as the same catalogue.
pub fn catalogue(text: &str) {
    match Catalogue::parse(Lang::En, text) {
        Ok(catalogue) => {
            let written = catalogue.to_text();
            assert_eq!(
                Catalogue::parse(Lang::En, &written).as_ref(),
                Ok(&catalogue)
            );
        }
        Err(error) => assert!(error.starts_with("en line "), "{error}"),
    }
}

/// Every property, on one input: what a fuzz target of all of them runs.
pub fn all(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let ring = ring();
    token_text(&ring, &text);
    token_round_trip(&ring, bytes);
    request_bodies(bytes);
    address(&text);
    forwarded_for(bytes);
    accept_language(&text);
    pow_solution(&text);
    smtp_url(&text);
    store_url(&text);
    branding(&text);
    catalogue(&text);
}
