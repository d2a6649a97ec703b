//! The challenge token: everything the relay needs to check a code later, signed so that the
//! relay keeps no table of codes. It carries no code and no address, only keyed tags of the
//! address and of the site (the request's `Origin`, or none) it was issued for, and its MAC is
//! checked before any field in it is believed.
//!
//! Layout (version 2), base64url without padding:
//!
//! ```text
//! version:u8 | kid_len:u8 | kid | epoch:u64 | issued_at:u64 | expires_at:u64 | nonce:[u8;16]
//!   | address_tag:[u8;16] | site_tag:[u8;16] | mac:[u8;32]
//! ```
//!
//! Version 3, for a challenge whose email carries a link (docs/api.md), adds the page the link
//! opens before the MAC: `| link_len:u16 | link`. The page is public (the client sent it), and
//! carried rather than tagged so that a resend writes the same link without asking for it again.
//! A challenge without a link stays version 2, which relays of an earlier release still read.
//!
//! The MAC is HMAC-SHA256 under the key's token key over a purpose label and every byte before it.

use crate::clock::UnixTime;
use crate::keys::{ChallengeKeys, KeyRing, MAX_KID_LEN};
use crate::store::ChallengeId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use otp_relay_shared::EmailAddress;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Version 1 tokens had no site tag; they are refused (they lived five minutes at most).
const VERSION: u8 = 2;
/// A token that carries the page its email's link opens.
const VERSION_WITH_LINK: u8 = 3;
/// The longest page URL a link may open, in bytes: the link repeats it inside the challenge, and
/// the whole must stay a line a mail client shows.
pub const MAX_LINK_LEN: usize = 512;
const PURPOSE: &[u8] = b"otp-relay/v1/email-verification-challenge";
const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;
const MAC_LEN: usize = 32;
const FIXED_LEN: usize = 8 * 3 + NONCE_LEN + 2 * TAG_LEN;
/// Upper bound on an encoded token; longer input is refused before decoding.
pub const MAX_ENCODED_LEN: usize =
    (2 + MAX_KID_LEN + FIXED_LEN + 2 + MAX_LINK_LEN + MAC_LEN) * 4 / 3 + 4;

/// The random identity of one challenge; the code is derived from it and store entries are
/// keyed by it.
pub type Nonce = [u8; NONCE_LEN];

/// The verified contents of a challenge token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub kid: String,
    /// The store epoch at issue: a relay whose store does not survive restarts refuses tokens
    /// from an earlier epoch.
    pub epoch: u64,
    /// Whole seconds, as the token carries them.
    pub issued_at: UnixTime,
    /// Whole seconds, as the token carries them.
    pub expires_at: UnixTime,
    pub nonce: Nonce,
    pub address_tag: [u8; TAG_LEN],
    /// Binds the challenge to the site that asked for it, so that a code phished on one site
    /// cannot be turned into a proof for another (docs/security.md, A15).
    pub site_tag: [u8; TAG_LEN],
    /// The page the email's link opens (as the URL parser writes it), if the site asked for a
    /// link; at most [`MAX_LINK_LEN`] bytes.
    pub link: Option<String>,
}

/// Why a token was refused. Every variant is `invalid_challenge` to clients; the detail is for
/// tests and debug logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not canonical base64url")]
    Encoding,
    #[error("wrong length or layout")]
    Layout,
    #[error("unknown version")]
    Version,
    #[error("unknown key id")]
    UnknownKey,
    #[error("MAC does not verify")]
    Mac,
    #[error("issued for another address")]
    Address,
    #[error("issued for another site")]
    Site,
}

/// The first [`TAG_LEN`] bytes of HMAC-SHA256 over `parts` under the address-binding key.
fn binding_tag(keys: &ChallengeKeys, parts: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut mac = keys.address_binding.mac();
    for part in parts {
        mac.update(part);
    }
    let full = mac.finalize().into_bytes();
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&full[..TAG_LEN]);
    tag
}

/// Keyed tag binding a challenge to the normalised address without revealing it.
pub fn address_tag(keys: &ChallengeKeys, email: &EmailAddress) -> [u8; TAG_LEN] {
    binding_tag(keys, &[email.as_str().as_bytes()])
}

/// Keyed tag of the site a challenge is issued for: its allowed `Origin`, or none (the terminal
/// client, a server). The NUL after the label cannot occur in an address, so this tag never
/// equals an address tag.
pub fn site_tag(keys: &ChallengeKeys, origin: Option<&str>) -> [u8; TAG_LEN] {
    match origin {
        Some(origin) => binding_tag(keys, &[b"site\0origin:", origin.as_bytes()]),
        None => binding_tag(keys, &[b"site\0none"]),
    }
}

fn token_mac(keys: &ChallengeKeys) -> HmacSha256 {
    let mut mac = keys.token_mac.mac();
    mac.update(PURPOSE);
    mac
}

impl Challenge {
    /// Serialises and signs with `keys` (whose id must be `self.kid`).
    pub fn encode(&self, keys: &ChallengeKeys) -> String {
        let kid = self.kid.as_bytes();
        let link = self.link.as_deref().map(str::as_bytes);
        let mut out = Vec::with_capacity(
            2 + kid.len() + FIXED_LEN + link.map_or(0, |link| 2 + link.len()) + MAC_LEN,
        );
        out.push(if link.is_some() {
            VERSION_WITH_LINK
        } else {
            VERSION
        });
        // Key ids are at most 16 bytes (checked when the key ring is parsed).
        out.push(kid.len() as u8);
        out.extend_from_slice(kid);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.issued_at.secs().to_be_bytes());
        out.extend_from_slice(&self.expires_at.secs().to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.address_tag);
        out.extend_from_slice(&self.site_tag);
        if let Some(link) = link {
            // The service refuses a longer page before it issues (MAX_LINK_LEN < u16::MAX).
            let len = u16::try_from(link.len().min(MAX_LINK_LEN)).unwrap_or(0);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&link[..usize::from(len)]);
        }
        let mut mac = token_mac(keys);
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decodes strictly, verifies the MAC with the key named inside, then reads the fields.
    pub fn decode(token: &str, ring: &KeyRing) -> Result<Challenge, TokenError> {
        if token.len() > MAX_ENCODED_LEN {
            return Err(TokenError::Layout);
        }
        // The engine refuses padding and non-zero trailing bits: exactly one encoding per token.
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Encoding)?;
        let (&version, rest) = bytes.split_first().ok_or(TokenError::Layout)?;
        if version != VERSION && version != VERSION_WITH_LINK {
            return Err(TokenError::Version);
        }
        let (&kid_len, rest) = rest.split_first().ok_or(TokenError::Layout)?;
        let kid_len = usize::from(kid_len);
        if kid_len == 0 || kid_len > MAX_KID_LEN || rest.len() < kid_len + FIXED_LEN + MAC_LEN {
            return Err(TokenError::Layout);
        }
        // A version 3 token's link length is read before its MAC is checked, but only to know
        // where the MAC starts: a wrong length is a wrong layout or a wrong MAC, nothing more.
        let link_len = if version == VERSION_WITH_LINK {
            let at = kid_len + FIXED_LEN;
            let len = rest
                .get(at..at + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .ok_or(TokenError::Layout)?;
            if len == 0 || len > MAX_LINK_LEN {
                return Err(TokenError::Layout);
            }
            Some(len)
        } else {
            None
        };
        if rest.len() != kid_len + FIXED_LEN + link_len.map_or(0, |len| 2 + len) + MAC_LEN {
            return Err(TokenError::Layout);
        }
        let kid = std::str::from_utf8(&rest[..kid_len]).map_err(|_| TokenError::UnknownKey)?;
        let keys = ring.by_kid(kid).ok_or(TokenError::UnknownKey)?;
        let (signed, mac_bytes) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = token_mac(keys);
        mac.update(signed);
        // Constant-time comparison (CWE-208).
        mac.verify_slice(mac_bytes).map_err(|_| TokenError::Mac)?;

        let fields = &signed[2 + kid_len..];
        let u64_at = |at: usize| {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(&fields[at..at + 8]);
            u64::from_be_bytes(buf)
        };
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&fields[24..24 + NONCE_LEN]);
        let tags = &fields[24 + NONCE_LEN..];
        let mut address_tag = [0u8; TAG_LEN];
        address_tag.copy_from_slice(&tags[..TAG_LEN]);
        let mut site_tag = [0u8; TAG_LEN];
        site_tag.copy_from_slice(&tags[TAG_LEN..2 * TAG_LEN]);
        let link = match link_len {
            Some(_) => Some(
                std::str::from_utf8(&tags[2 * TAG_LEN + 2..])
                    .map_err(|_| TokenError::Layout)?
                    .to_string(),
            ),
            None => None,
        };
        Ok(Challenge {
            kid: kid.to_string(),
            epoch: u64_at(0),
            issued_at: UnixTime::from_secs(u64_at(8)),
            expires_at: UnixTime::from_secs(u64_at(16)),
            nonce,
            address_tag,
            site_tag,
            link,
        })
    }

    /// Decodes and checks that the token was issued for `email`, from the site `origin`.
    pub fn decode_for(
        token: &str,
        email: &EmailAddress,
        origin: Option<&str>,
        ring: &KeyRing,
    ) -> Result<Challenge, TokenError> {
        let challenge = Self::decode(token, ring)?;
        let keys = ring.by_kid(&challenge.kid).ok_or(TokenError::UnknownKey)?;
        if !bool::from(address_tag(keys, email).ct_eq(&challenge.address_tag)) {
            return Err(TokenError::Address);
        }
        if !bool::from(site_tag(keys, origin).ct_eq(&challenge.site_tag)) {
            return Err(TokenError::Site);
        }
        Ok(challenge)
    }

    /// The id of this challenge in store keys: its nonce.
    pub fn id(&self) -> ChallengeId {
        self.nonce
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::random_secret;
    use proptest::prelude::*;

    const SITE: &str = "https://shop.example";

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("a:{},b:{}", random_secret(), random_secret())).unwrap()
    }

    fn sample(ring: &KeyRing, email: &EmailAddress) -> Challenge {
        Challenge {
            kid: "a".into(),
            epoch: 7,
            issued_at: UnixTime::from_secs(1_000),
            expires_at: UnixTime::from_secs(1_300),
            nonce: [9; 16],
            address_tag: address_tag(ring.signing(), email),
            site_tag: site_tag(ring.signing(), Some(SITE)),
            link: None,
        }
    }

    #[test]
    fn round_trips_and_binds_the_address() {
        let ring = ring();
        let ada = EmailAddress::parse("ada@example.com").unwrap();
        let bob = EmailAddress::parse("bob@example.com").unwrap();
        let challenge = sample(&ring, &ada);
        let token = challenge.encode(ring.signing());
        assert_eq!(
            Challenge::decode_for(&token, &ada, Some(SITE), &ring),
            Ok(challenge)
        );
        assert_eq!(
            Challenge::decode_for(&token, &bob, Some(SITE), &ring),
            Err(TokenError::Address)
        );
        assert!(!token.contains("ada"));
    }

    #[test]
    fn a_challenge_with_a_link_carries_its_page_and_one_without_stays_version_2() {
        let ring = ring();
        let email = EmailAddress::parse("ada@example.com").unwrap();
        let plain = sample(&ring, &email);
        let plain_text = plain.encode(ring.signing());
        assert_eq!(URL_SAFE_NO_PAD.decode(&plain_text).unwrap()[0], VERSION);
        let linked = Challenge {
            link: Some("https://shop.example/signup?plan=pro".into()),
            ..plain.clone()
        };
        let text = linked.encode(ring.signing());
        let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        assert_eq!(bytes[0], VERSION_WITH_LINK);
        assert_eq!(Challenge::decode(&text, &ring), Ok(linked.clone()));
        // Version 3 read as version 2 (and back) or with its page's length changed: the MAC
        // or the layout refuses it.
        for at in [
            0,
            bytes.len() - MAC_LEN - linked.link.as_ref().unwrap().len() - 1,
        ] {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            assert!(Challenge::decode(&URL_SAFE_NO_PAD.encode(&changed), &ring).is_err());
        }
        let longest = Challenge {
            link: Some(format!(
                "https://shop.example/{}",
                "a".repeat(MAX_LINK_LEN - 21)
            )),
            ..plain
        };
        let text = longest.encode(ring.signing());
        assert!(text.len() <= MAX_ENCODED_LEN);
        assert_eq!(Challenge::decode(&text, &ring), Ok(longest));
    }

    #[test]
    fn binds_the_site() {
        let ring = ring();
        let ada = EmailAddress::parse("ada@example.com").unwrap();
        let token = sample(&ring, &ada).encode(ring.signing());
        for other in [
            Some("https://evil.example"),
            Some("http://shop.example"),
            None,
        ] {
            assert_eq!(
                Challenge::decode_for(&token, &ada, other, &ring),
                Err(TokenError::Site),
                "{other:?}"
            );
        }
        let mut without = sample(&ring, &ada);
        without.site_tag = site_tag(ring.signing(), None);
        let token = without.encode(ring.signing());
        assert!(Challenge::decode_for(&token, &ada, None, &ring).is_ok());
        assert_eq!(
            Challenge::decode_for(&token, &ada, Some(SITE), &ring),
            Err(TokenError::Site)
        );
    }

    #[test]
    fn unknown_key_and_other_ring_are_refused() {
        let ring = ring();
        let ada = EmailAddress::parse("ada@example.com").unwrap();
        let token = sample(&ring, &ada).encode(ring.signing());
        assert_eq!(
            Challenge::decode(&token, &self::ring()),
            Err(TokenError::Mac)
        );
        let only_c = KeyRing::parse(&format!("c:{}", random_secret())).unwrap();
        assert_eq!(
            Challenge::decode(&token, &only_c),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn swapped_key_id_is_refused() {
        let ring = ring();
        let ada = EmailAddress::parse("ada@example.com").unwrap();
        let mut bytes = URL_SAFE_NO_PAD
            .decode(sample(&ring, &ada).encode(ring.signing()))
            .unwrap();
        assert_eq!(bytes[2], b'a');
        bytes[2] = b'b';
        let swapped = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(Challenge::decode(&swapped, &ring), Err(TokenError::Mac));
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        let ring = ring();
        let ada = EmailAddress::parse("ada@example.com").unwrap();
        let token = sample(&ring, &ada).encode(ring.signing());
        for bad in [
            format!("{token}="),
            format!(" {token}"),
            token.replace('-', "+"),
        ] {
            if bad != token {
                assert!(Challenge::decode(&bad, &ring).is_err(), "{bad}");
            }
        }
        assert_eq!(Challenge::decode("", &ring), Err(TokenError::Layout));
        assert_eq!(Challenge::decode("a.b.c", &ring), Err(TokenError::Encoding));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_byte_change_is_refused(position in 0usize..200, flip in 1u8..=255) {
            let ring = ring();
            let ada = EmailAddress::parse("ada@example.com").unwrap();
            let token = sample(&ring, &ada).encode(ring.signing());
            let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
            let position = position % bytes.len();
            bytes[position] ^= flip;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert!(Challenge::decode_for(&altered, &ada, Some(SITE), &ring).is_err());
        }

        #[test]
        fn truncation_and_extension_are_refused(cut in 1usize..90, extra in proptest::collection::vec(any::<u8>(), 1..16)) {
            let ring = ring();
            let ada = EmailAddress::parse("ada@example.com").unwrap();
            let token = sample(&ring, &ada).encode(ring.signing());
            let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
            let cut = cut.min(bytes.len());
            let truncated = URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - cut]);
            prop_assert!(Challenge::decode(&truncated, &ring).is_err());
            let mut longer = bytes.clone();
            longer.extend_from_slice(&extra);
            prop_assert!(Challenge::decode(&URL_SAFE_NO_PAD.encode(&longer), &ring).is_err());
        }

        #[test]
        fn any_character_change_in_the_text_is_refused(position in 0usize..200, replacement in "[A-Za-z0-9_=+/.-]") {
            let ring = ring();
            let ada = EmailAddress::parse("ada@example.com").unwrap();
            let token = sample(&ring, &ada).encode(ring.signing());
            let position = position % token.len();
            let mut altered = token.clone();
            altered.replace_range(position..position + 1, &replacement);
            prop_assume!(altered != token);
            prop_assert!(Challenge::decode_for(&altered, &ada, Some(SITE), &ring).is_err());
        }
    }
}
