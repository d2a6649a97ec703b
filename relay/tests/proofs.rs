//! The proof: verified by independent JWT libraries the way a site's backend would, and refused
//! with another key, another audience, after expiry, or when tampered with (A12).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SITE: &str = "https://shop.example";

/// The verification a backend does, as the README documents it.
fn backend_verify(proof: &str, key: &[u8], audience: &str, issuer: &str) -> Result<Value, String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(proof, &DecodingKey::from_secret(key), &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

async fn proof_for(app: &TestApp, email: &str) -> (String, Value) {
    let reply = app
        .relay
        .post_from(SITE, "/api/v1/challenges", json!({ "email": email }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let code = app.smtp.last_to(&email.to_ascii_lowercase()).code();
    let verified = app
        .relay
        .post_from(
            SITE,
            "/api/v1/challenges/verify",
            json!({ "challenge": challenge_of(&reply.json), "email": email, "code": code }),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    (
        verified.json["proof"].as_str().unwrap().to_string(),
        verified.json,
    )
}

fn spawn() -> TestApp {
    TestApp::spawn_with(&[
        ("OTP_RELAY_ALLOWED_ORIGINS", SITE),
        ("OTP_RELAY_PUBLIC_URL", "https://verify.example.net"),
        ("OTP_RELAY_PROOF_TTL", "3s"),
    ])
}

#[tokio::test]
async fn the_proof_verifies_with_independent_libraries_and_only_for_its_audience() {
    let app = spawn();
    let (proof, body) = proof_for(&app, "Proof@Example.com").await;

    // An independent implementation (the `jwt` crate on hmac 0.12).
    use hmac12::{Hmac, Mac};
    use jwt::VerifyWithKey;
    let key: Hmac<sha2_10::Sha256> = Hmac::new_from_slice(&PROOF_KEY).unwrap();
    let claims: std::collections::BTreeMap<String, Value> = proof.verify_with_key(&key).unwrap();
    assert_eq!(claims["iss"], "https://verify.example.net");
    assert_eq!(claims["sub"], "proof@example.com");
    assert_eq!(claims["email"], "proof@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["aud"], SITE);
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 3);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
    let wrong_key: Hmac<sha2_10::Sha256> = Hmac::new_from_slice(&[1u8; 32]).unwrap();
    let refused: Result<std::collections::BTreeMap<String, Value>, _> =
        proof.verify_with_key(&wrong_key);
    assert!(refused.is_err());

    // The documented backend check.
    let iss = "https://verify.example.net";
    let claims = backend_verify(&proof, &PROOF_KEY, SITE, iss).unwrap();
    assert_eq!(claims["email"], "proof@example.com");
    assert!(body["proof_expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        backend_verify(&proof, &[1u8; 32], SITE, iss).is_err(),
        "another key"
    );
    assert!(
        backend_verify(&proof, &PROOF_KEY, "https://other.example", iss).is_err(),
        "another site"
    );
    assert!(
        backend_verify(&proof, &PROOF_KEY, SITE, "https://evil.example").is_err(),
        "another issuer"
    );
}

/// A proof minted by a relay whose clock stands eleven minutes back (so its ten-minute proof is
/// a minute past `exp` by the backend's clock) is refused; the same relay at the real time is
/// accepted. No waiting: the relay is given its clock.
#[tokio::test]
async fn a_backend_refuses_a_proof_past_its_exp() {
    use otp_relay::core::{Clock, ManualClock, SystemClock, UnixTime};
    use otp_relay::http::testing::InProcessRelay;
    let iss = "https://verify.example.net";
    let proof_at = |clock: ManualClock| async move {
        let secret = proof_secret();
        let relay = InProcessRelay::with_clock(
            &[
                "--proof-secret",
                &secret,
                "--public-url",
                iss,
                "--allowed-origins",
                SITE,
            ],
            clock,
        )
        .unwrap();
        let issued = relay
            .post_from(
                Some(SITE),
                "/api/v1/challenges",
                &json!({"email": "late@example.com"}),
            )
            .await;
        let code = relay.last_code("late@example.com").unwrap();
        let verified = relay
            .post_from(
                Some(SITE),
                "/api/v1/challenges/verify",
                &json!({"challenge": issued.challenge(), "email": "late@example.com", "code": code}),
            )
            .await;
        verified.json["proof"].as_str().unwrap().to_string()
    };
    let now = SystemClock.now().secs();
    let late = proof_at(ManualClock::at(UnixTime::from_secs(now - 11 * 60))).await;
    let expired = backend_verify(&late, &PROOF_KEY, SITE, iss).unwrap_err();
    assert!(expired.contains("Expired"), "{expired}");
    let fresh = proof_at(ManualClock::at(UnixTime::from_secs(now))).await;
    assert!(backend_verify(&fresh, &PROOF_KEY, SITE, iss).is_ok());
}

#[tokio::test]
async fn a_proof_without_origin_names_the_relay_as_audience() {
    let app = spawn();
    let (body, code) = app.request_code("noorigin@example.com").await;
    let reply = app
        .relay
        .verify(&challenge_of(&body), "noorigin@example.com", &code)
        .await;
    let proof = reply.json["proof"].as_str().unwrap();
    let iss = "https://verify.example.net";
    assert!(backend_verify(proof, &PROOF_KEY, iss, iss).is_ok());
    assert!(backend_verify(proof, &PROOF_KEY, SITE, iss).is_err());
}

/// A12: `alg: none`, another algorithm, a changed payload are refused by the documented check.
#[tokio::test]
async fn a12_tampered_proofs_are_refused() {
    let app = spawn();
    let (proof, _) = proof_for(&app, "a12@example.com").await;
    let iss = "https://verify.example.net";
    let parts: Vec<&str> = proof.split('.').collect();
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    assert!(
        backend_verify(&alg_none, &PROOF_KEY, SITE, iss).is_err(),
        "alg none"
    );

    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS512),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(&PROOF_KEY),
    )
    .unwrap();
    assert!(
        backend_verify(&hs512, &PROOF_KEY, SITE, iss).is_err(),
        "another algorithm"
    );

    let mut changed = payload.clone();
    changed["email"] = json!("mallory@example.com");
    changed["sub"] = json!("mallory@example.com");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&changed).unwrap()),
        parts[2]
    );
    assert!(
        backend_verify(&forged, &PROOF_KEY, SITE, iss).is_err(),
        "changed payload"
    );
    assert!(
        backend_verify(&proof, &PROOF_KEY, SITE, iss).is_ok(),
        "the original still verifies"
    );
}

/// The README's Python backend check (PyJWT) accepts the proof for its own site only.
#[tokio::test]
async fn the_python_backend_example_accepts_the_proof_for_its_site_only() {
    let app = spawn();
    let (proof, _) = proof_for(&app, "py@example.com").await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/backend/verify_proof.py");
    let check = |origin: &str| {
        std::process::Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&proof)
            .env("OTP_RELAY_PROOF_SECRET", proof_secret())
            .env("SITE_ORIGIN", origin)
            .env("RELAY_URL", "https://verify.example.net")
            .output()
            .expect("python3 with PyJWT (Debian's python3-jwt)")
    };
    let accepted = check(SITE);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&accepted.stdout).trim(),
        "py@example.com"
    );
    let refused = check("https://other.example");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused"));
}
