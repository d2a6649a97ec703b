//! Code derivation. The code is not stored anywhere: it is a keyed PRF of the challenge's random
//! nonce, so the same token always re-derives the same code (stateless resend) and nobody without
//! the key can compute it. Digits are drawn by rejection sampling, so every code is equally likely
//! (no modulo bias).

use crate::keys::ChallengeKeys;
use crate::token::Nonce;
use hmac::Mac;
use otp_relay_shared::Code;
use subtle::ConstantTimeEq;

/// The code for a nonce: `length` decimal digits, uniform over `0..10^length`.
pub fn derive_code(keys: &ChallengeKeys, nonce: &Nonce, length: usize) -> Code {
    let modulus = 10u64.pow(length as u32);
    // Largest multiple of the modulus that fits in 32 bits: draws at or above it are rejected.
    let limit = ((1u64 << 32) / modulus) * modulus;
    let mut block: u32 = 0;
    loop {
        let mut mac = keys.code_prf.mac();
        mac.update(nonce);
        mac.update(&block.to_be_bytes());
        let out = mac.finalize().into_bytes();
        for chunk in out.chunks_exact(4) {
            let draw = u64::from(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
            if draw < limit {
                let text = format!("{:0width$}", draw % modulus, width = length);
                return match Code::parse(&text, length) {
                    Ok(code) => code,
                    Err(_) => unreachable!("formatted digits always parse"),
                };
            }
        }
        // Each draw is rejected with probability < 2.4e-3, eight in a row almost never.
        block += 1;
    }
}

/// The length of a link secret: 128 bits (docs/security.md, A32).
pub const LINK_SECRET_LEN: usize = 16;

/// The secret an email's link carries in place of the code, as base64url: derived like the code
/// from the challenge's nonce, with a purpose of its own and the page the link opens, so it is
/// not the code, has full entropy, and is another secret for another page.
pub fn derive_link_secret(keys: &ChallengeKeys, nonce: &Nonce, page: &str) -> String {
    use base64::Engine;
    let mut mac = keys.code_prf.mac();
    mac.update(b"link\0");
    mac.update(nonce);
    mac.update(page.as_bytes());
    let out = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&out[..LINK_SECRET_LEN])
}

/// Constant-time comparison of a submitted link secret with the expected one.
pub fn link_secrets_match(submitted: &str, expected: &str) -> bool {
    bool::from(submitted.as_bytes().ct_eq(expected.as_bytes()))
}

/// Constant-time comparison of a submitted code with the expected one (CWE-208).
pub fn codes_match(submitted: &Code, expected: &Code) -> bool {
    bool::from(
        submitted
            .as_str()
            .as_bytes()
            .ct_eq(expected.as_str().as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyRing, random_secret};
    use crate::random;

    #[test]
    fn same_nonce_same_code_other_nonce_other_code() {
        let ring = KeyRing::parse(&format!("k:{}", random_secret())).unwrap();
        let keys = ring.signing();
        let a = derive_code(keys, &[1; 16], 6);
        assert!(codes_match(&a, &derive_code(keys, &[1; 16], 6)));
        assert_eq!(a.as_str().len(), 6);
        let different =
            (0..20u8).filter(|i| !codes_match(&a, &derive_code(keys, &[*i + 2; 16], 6)));
        assert!(different.count() >= 19);
    }

    #[test]
    fn lengths_six_to_nine_are_padded_digits() {
        let ring = KeyRing::random();
        for length in 6..=9 {
            for _ in 0..50 {
                let code = derive_code(ring.signing(), &random::bytes::<16>(), length);
                assert_eq!(code.as_str().len(), length);
                assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }

    #[test]
    fn a_link_secret_has_128_bits_and_differs_by_nonce_and_page_and_from_the_code() {
        let ring = KeyRing::random();
        let keys = ring.signing();
        let secret = derive_link_secret(keys, &[1; 16], "https://shop.example/a");
        assert_eq!(secret.len(), 22, "16 bytes in base64url");
        assert_eq!(
            secret,
            derive_link_secret(keys, &[1; 16], "https://shop.example/a")
        );
        assert_ne!(
            secret,
            derive_link_secret(keys, &[2; 16], "https://shop.example/a")
        );
        assert_ne!(
            secret,
            derive_link_secret(keys, &[1; 16], "https://shop.example/b")
        );
        assert!(!secret.contains(derive_code(keys, &[1; 16], 6).as_str()));
        assert!(link_secrets_match(&secret, &secret.clone()));
        assert!(!link_secrets_match(&secret, &secret[1..]));
    }

    /// Chi-square test of every digit position over many codes from random nonces (A8). With 9
    /// degrees of freedom, 45.0 is the critical value at p = 1e-6, so a correct generator fails
    /// one of the six positions about once in 180,000 runs, while a bias of a few percent fails
    /// every time (next test).
    #[test]
    fn every_digit_position_is_uniform() {
        const SAMPLES: usize = 60_000;
        let ring = KeyRing::random();
        let mut counts = [[0u32; 10]; 6];
        for _ in 0..SAMPLES {
            let code = derive_code(ring.signing(), &random::bytes::<16>(), 6);
            for (position, digit) in code.as_str().bytes().enumerate() {
                counts[position][usize::from(digit - b'0')] += 1;
            }
        }
        let expected = SAMPLES as f64 / 10.0;
        for (position, row) in counts.iter().enumerate() {
            let chi2: f64 = row
                .iter()
                .map(|&n| (f64::from(n) - expected).powi(2) / expected)
                .sum();
            assert!(
                chi2 < 45.0,
                "position {position}: chi-square {chi2:.1}, counts {row:?}"
            );
        }
    }

    /// The same statistic catches a biased generator: codes taken modulo 10^6 from 20-bit draws
    /// over-represent low leading digits.
    #[test]
    fn the_uniformity_check_detects_modulo_bias() {
        let mut counts = [0u32; 10];
        const SAMPLES: u32 = 60_000;
        for _ in 0..SAMPLES {
            let draw = u32::from_be_bytes(random::bytes::<4>()) % (1 << 20);
            let code = format!("{:06}", draw % 1_000_000);
            counts[usize::from(code.as_bytes()[0] - b'0')] += 1;
        }
        let expected = f64::from(SAMPLES) / 10.0;
        let chi2: f64 = counts
            .iter()
            .map(|&n| (f64::from(n) - expected).powi(2) / expected)
            .sum();
        assert!(
            chi2 > 45.0,
            "a biased source should fail, chi-square {chi2:.1}"
        );
    }
}
