//! The proof handed to the site on success: a JWT that names the verified address, the relay as
//! issuer and the page's origin as audience, so a proof minted for one site is refused by another.
//!
//! By default it is signed with Ed25519 (`alg` EdDSA, RFC 8037) and the public keys are published
//! as a JWK Set, so the sites' backends check proofs with stock libraries and hold nothing that
//! mints them (docs/security.md, A24). HS256 under a secret shared with every backend remains as
//! the legacy choice, only when the operator sets one.
//!
//! The JWS compact form (RFC 7515: header, claims, signature, each base64url) is written here
//! rather than through a JWT crate: the crates' Ed25519 backends bring RSA code with an open
//! advisory (RUSTSEC-2023-0071) into the binary, and signing needs only these few lines, which the
//! tests check against `jsonwebtoken`, PyJWT and `jose`.

use crate::keys::{self, KeyError};
use crate::secret::SecretBytes;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// How long backends and proxies may cache the JWK Set. A new key is published at least this
/// long before it signs (README, rotating keys).
pub const JWKS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(300);

/// The claims of docs/api.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofClaims {
    pub iss: String,
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    /// Only on a review address's proof, `true`: a backend that takes real sign-ups refuses it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub review: bool,
}

/// One Ed25519 proof key and its id.
#[derive(Clone)]
pub struct ProofKey {
    pub kid: String,
    signing: SigningKey,
}

impl fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProofKey({}, <secret>)", self.kid)
    }
}

impl ProofKey {
    /// The public key as a JWK (RFC 8037): no private member.
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x: URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes()),
            kid: self.kid.clone(),
            alg: "EdDSA",
            r#use: "sig",
        }
    }
}

/// A public key as the JWK Set lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub r#use: &'static str,
}

/// `GET /.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// The keys proofs are signed with.
#[derive(Debug, Clone)]
pub enum ProofKeys {
    /// Ed25519 keys: the first signs, it and the others are published (rotation).
    Ed25519 {
        signing: Box<ProofKey>,
        others: Vec<ProofKey>,
    },
    /// Legacy: HS256 under one secret that every backend holds.
    Hs256(SecretBytes),
}

impl ProofKeys {
    /// Parses `OTP_RELAY_PROOF_KEYS`: `kid:base64url-seed[,kid:seed…]`, 32-byte Ed25519 seeds.
    pub fn parse_ed25519(spec: &str) -> Result<ProofKeys, KeyError> {
        let keys = keys::parse_items(spec)?
            .into_iter()
            .map(|(kid, secret)| {
                let seed: [u8; 32] = secret
                    .expose()
                    .try_into()
                    .map_err(|_| KeyError::SeedLength(kid.clone(), secret.expose().len()))?;
                Ok(ProofKey {
                    kid,
                    signing: SigningKey::from_bytes(&seed),
                })
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        let mut keys = keys.into_iter();
        let signing = Box::new(keys.next().ok_or(KeyError::Empty)?);
        Ok(ProofKeys::Ed25519 {
            signing,
            others: keys.collect(),
        })
    }

    /// One random Ed25519 key for this run only, with a key id of its own, so that a backend
    /// never mistakes it for a key of an earlier run.
    pub fn random_ed25519() -> ProofKeys {
        let kid = format!("run-{}", &crate::hex(&crate::random::bytes::<4>()));
        ProofKeys::Ed25519 {
            signing: Box::new(ProofKey {
                kid,
                signing: SigningKey::from_bytes(&crate::random::bytes::<32>()),
            }),
            others: Vec::new(),
        }
    }

    /// The public keys to publish; `None` for HS256, which has none.
    pub fn jwks(&self) -> Option<JwkSet> {
        match self {
            ProofKeys::Ed25519 { signing, others } => Some(JwkSet {
                keys: std::iter::once(signing.as_ref())
                    .chain(others)
                    .map(ProofKey::public_jwk)
                    .collect(),
            }),
            ProofKeys::Hs256(_) => None,
        }
    }
}

/// The JOSE header of a proof.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// How the signer signs: prepared once.
#[derive(Clone)]
enum SigningMethod {
    Ed25519(SigningKey),
    Hs256(Hmac<Sha256>),
}

/// Signs proofs with the first of the configured keys.
#[derive(Clone)]
pub struct ProofSigner {
    /// The base64url header, the same for every proof of this key.
    encoded_header: String,
    method: SigningMethod,
}

impl fmt::Debug for ProofSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProofSigner(<secret>)")
    }
}

/// Why a proof could not be made (a claim that does not serialize, which cannot happen with
/// [`ProofClaims`]; kept as an error rather than a panic).
#[derive(Debug, thiserror::Error)]
#[error("could not encode the proof: {0}")]
pub struct ProofError(#[from] serde_json::Error);

impl ProofSigner {
    pub fn new(keys: &ProofKeys) -> ProofSigner {
        let (header, method) = match keys {
            ProofKeys::Ed25519 { signing, .. } => (
                Header {
                    alg: "EdDSA",
                    typ: "JWT",
                    kid: Some(&signing.kid),
                },
                SigningMethod::Ed25519(signing.signing.clone()),
            ),
            ProofKeys::Hs256(secret) => (
                Header {
                    alg: "HS256",
                    typ: "JWT",
                    kid: None,
                },
                SigningMethod::Hs256(
                    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose())
                        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
                ),
            ),
        };
        // A struct of three strings always serializes.
        let header = serde_json::to_vec(&header)
            .unwrap_or_else(|_| unreachable!("the JOSE header serializes"));
        ProofSigner {
            encoded_header: URL_SAFE_NO_PAD.encode(header),
            method,
        }
    }

    /// The signed JWT: `header.claims.signature`.
    pub fn sign(&self, claims: &ProofClaims) -> Result<String, ProofError> {
        let mut jws = self.encoded_header.clone();
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims)?, &mut jws);
        let signature = match &self.method {
            SigningMethod::Ed25519(key) => key.sign(jws.as_bytes()).to_bytes().to_vec(),
            SigningMethod::Hs256(mac) => {
                let mut mac = mac.clone();
                mac.update(jws.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
        };
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        Ok(jws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    fn claims() -> ProofClaims {
        let now = crate::SystemClock.now().secs();
        ProofClaims {
            iss: "https://relay.example".into(),
            sub: "ada@example.com".into(),
            email: "ada@example.com".into(),
            email_verified: true,
            aud: "https://shop.example".into(),
            iat: now,
            exp: now + 600,
            jti: "j".into(),
            review: false,
        }
    }

    fn validation(algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&["https://shop.example"]);
        validation.set_issuer(&["https://relay.example"]);
        validation.leeway = 0;
        validation
    }

    fn seed(byte: u8) -> String {
        URL_SAFE_NO_PAD.encode([byte; 32])
    }

    #[test]
    fn an_ed25519_proof_verifies_with_its_published_key_only() {
        let keys = ProofKeys::parse_ed25519(&format!("k1:{}", seed(1))).unwrap();
        // One set of claims, signed and expected: made twice, a second could pass in between.
        let signed = claims();
        let token = ProofSigner::new(&keys).sign(&signed).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        let jwks = keys.jwks().unwrap();
        let published = serde_json::to_value(&jwks).unwrap();
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(published.clone()).unwrap();
        let key = DecodingKey::from_jwk(set.find("k1").unwrap()).unwrap();
        let decoded =
            jsonwebtoken::decode::<ProofClaims>(&token, &key, &validation(Algorithm::EdDSA))
                .unwrap();
        assert_eq!(decoded.claims, signed);
        assert!(!published.to_string().contains("\"d\""), "{published}");

        let other = ProofKeys::parse_ed25519(&format!("k1:{}", seed(2))).unwrap();
        let other_set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(serde_json::to_value(other.jwks().unwrap()).unwrap()).unwrap();
        let wrong = DecodingKey::from_jwk(other_set.find("k1").unwrap()).unwrap();
        assert!(
            jsonwebtoken::decode::<ProofClaims>(&token, &wrong, &validation(Algorithm::EdDSA))
                .is_err()
        );
    }

    #[test]
    fn the_first_key_signs_and_every_key_is_published() {
        let keys = ProofKeys::parse_ed25519(&format!("new:{},old:{}", seed(3), seed(4))).unwrap();
        let token = ProofSigner::new(&keys).sign(&claims()).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some("new")
        );
        let kids: Vec<String> = keys
            .jwks()
            .unwrap()
            .keys
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, ["new", "old"]);
    }

    #[test]
    fn seeds_must_be_32_bytes_and_key_ids_unique() {
        let short = URL_SAFE_NO_PAD.encode([1u8; 16]);
        assert!(matches!(
            ProofKeys::parse_ed25519(&format!("k1:{short}")),
            Err(KeyError::TooShort(..))
        ));
        let long = URL_SAFE_NO_PAD.encode([1u8; 48]);
        let error = ProofKeys::parse_ed25519(&format!("k1:{long}")).unwrap_err();
        assert!(matches!(error, KeyError::SeedLength(_, 48)), "{error}");
        assert!(matches!(
            ProofKeys::parse_ed25519(&format!("k1:{},k1:{}", seed(1), seed(2))),
            Err(KeyError::DuplicateKid(_))
        ));
        assert!(ProofKeys::parse_ed25519("").is_err());
        let debug = format!("{:?}", ProofKeys::parse_ed25519(&format!("k1:{}", seed(9))));
        assert!(!debug.contains(&seed(9)), "{debug}");
    }

    #[test]
    fn the_legacy_hs256_proof_verifies_with_the_same_secret_only() {
        let keys = ProofKeys::Hs256(SecretBytes::new(vec![7; 32]));
        assert!(keys.jwks().is_none());
        let signed = claims();
        let token = ProofSigner::new(&keys).sign(&signed).unwrap();
        let decoded = jsonwebtoken::decode::<ProofClaims>(
            &token,
            &DecodingKey::from_secret(&[7; 32]),
            &validation(Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(decoded.claims, signed);
        assert!(
            jsonwebtoken::decode::<ProofClaims>(
                &token,
                &DecodingKey::from_secret(&[8; 32]),
                &validation(Algorithm::HS256)
            )
            .is_err()
        );
    }

    #[test]
    fn random_keys_differ_per_run() {
        let (a, b) = (ProofKeys::random_ed25519(), ProofKeys::random_ed25519());
        let (a, b) = (a.jwks().unwrap().keys, b.jwks().unwrap().keys);
        assert_ne!(a[0].x, b[0].x);
        assert_ne!(a[0].kid, b[0].kid);
        assert!(a[0].kid.starts_with("run-"));
    }
}
