//! The proof handed to the site on success: an HS256 JWT under the proof secret, which the sites'
//! backends share. It names the verified address, the relay as issuer and the page's origin as
//! audience, so a proof minted for one site is refused by another.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

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
}

/// Signs proofs.
#[derive(Clone)]
pub struct ProofSigner {
    key: EncodingKey,
}

impl ProofSigner {
    pub fn new(secret: &[u8]) -> Self {
        ProofSigner {
            key: EncodingKey::from_secret(secret),
        }
    }

    /// The signed JWT.
    pub fn sign(&self, claims: &ProofClaims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Clock;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn signs_a_jwt_that_verifies_with_the_same_secret_only() {
        let claims = ProofClaims {
            iss: "https://relay.example".into(),
            sub: "ada@example.com".into(),
            email: "ada@example.com".into(),
            email_verified: true,
            aud: "https://shop.example".into(),
            iat: crate::core::SystemClock.now().secs(),
            exp: crate::core::SystemClock.now().secs() + 600,
            jti: "j".into(),
        };
        let token = ProofSigner::new(&[7; 32]).sign(&claims).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&["https://shop.example"]);
        validation.set_issuer(&["https://relay.example"]);
        let decoded = jsonwebtoken::decode::<ProofClaims>(
            &token,
            &DecodingKey::from_secret(&[7; 32]),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims, claims);
        assert!(
            jsonwebtoken::decode::<ProofClaims>(
                &token,
                &DecodingKey::from_secret(&[8; 32]),
                &validation
            )
            .is_err()
        );
    }
}
