//! The proof, checked the way sites' backends check it: EdDSA under keys the relay publishes at
//! `/.well-known/jwks.json`, fetched live by three stock libraries (Rust `jsonwebtoken`, Python
//! PyJWT's `PyJWKClient`, JavaScript `jose`'s `createRemoteJWKSet`), each of which refuses a
//! changed payload, `alg: none`, HS256 signed with the public key, another audience and an expired
//! proof (A12, A24). Also: key rotation, and the legacy HS256 mode.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const SITE: &str = "https://shop.example";
const OTHER_SITE: &str = "https://other.example";
const ISSUER: &str = "https://verify.example.net";

fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        (
            "OTP_RELAY_ALLOWED_ORIGINS",
            "https://shop.example,https://other.example",
        ),
        ("OTP_RELAY_PUBLIC_URL", ISSUER),
    ];
    env.extend_from_slice(extra);
    TestApp::spawn_with(&env)
}

fn spawn() -> TestApp {
    spawn_with(&[])
}

/// A proof for `email`, verified from `origin`'s page.
async fn proof_from(app: &TestApp, origin: &str, email: &str) -> String {
    let reply = app
        .relay
        .post_from(origin, "/api/v1/challenges", json!({ "email": email }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let code = app.smtp.last_to(&email.to_ascii_lowercase()).code();
    let verified = app
        .relay
        .post_from(
            origin,
            "/api/v1/challenges/verify",
            json!({ "challenge": challenge_of(&reply.json), "email": email, "code": code }),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    verified.json["proof"].as_str().unwrap().to_string()
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn backend_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/backend")
}

/// The Python and the Node backend examples: `Ok(address)` or `Err(why)`.
fn script_backend(
    program: &str,
    script: &str,
    proof: &str,
    relay_url: &str,
) -> Result<String, String> {
    script_backend_with(program, script, proof, relay_url, &[])
}

/// The same, with more environment (`ACCEPT_REVIEW_PROOFS`).
fn script_backend_with(
    program: &str,
    script: &str,
    proof: &str,
    relay_url: &str,
    env: &[(&str, &str)],
) -> Result<String, String> {
    let output = std::process::Command::new(program)
        .arg(backend_dir().join(script))
        .arg(proof)
        .envs(env.iter().copied())
        .env("SITE_ORIGIN", SITE)
        .env("RELAY_URL", ISSUER)
        .env("JWKS_URL", format!("{relay_url}/.well-known/jwks.json"))
        .output()
        .unwrap_or_else(|e| panic!("{program} {script}: {e} (make test-tools installs it)"));
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    match output.status.code() {
        Some(0) => Ok(stdout),
        Some(1) if stderr.starts_with("refused:") => Err(stderr),
        other => panic!("{script} crashed ({other:?}): {stderr}"),
    }
}

/// What each of the three backends says of `proof` for `SITE`: the address or why not.
async fn three_backends(
    proof: &str,
    relay_url: &str,
) -> Vec<(&'static str, Result<String, String>)> {
    let jwks = fetch_jwks(relay_url).await;
    let rust = check_proof(proof, &jwks, SITE, ISSUER)
        .map(|claims| claims["email"].as_str().unwrap_or_default().to_string());
    vec![
        ("rust jsonwebtoken", rust),
        (
            "python PyJWKClient",
            script_backend("/usr/bin/python3", "verify_proof.py", proof, relay_url),
        ),
        (
            "node jose",
            script_backend("node", "verify_proof.mjs", proof, relay_url),
        ),
    ]
}

#[tokio::test]
async fn the_proof_is_eddsa_and_three_backends_accept_it_through_the_live_jwks() {
    let app = spawn();
    let proof = proof_from(&app, SITE, "Proof@Example.com").await;
    let parts: Vec<&str> = proof.split('.').collect();
    let header = decode_part(parts[0]);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], "p1");
    let claims = decode_part(parts[1]);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "proof@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["aud"], SITE);
    assert_eq!(
        claims["exp"].as_u64().unwrap(),
        claims["iat"].as_u64().unwrap() + 600
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
    for (backend, verdict) in three_backends(&proof, &app.relay.url).await {
        assert_eq!(verdict, Ok("proof@example.com".to_string()), "{backend}");
    }
    // The documented check pins the issuer as well as the audience.
    let jwks = fetch_jwks(&app.relay.url).await;
    assert!(
        check_proof(&proof, &jwks, SITE, "https://evil.example").is_err(),
        "another issuer"
    );
    assert!(
        check_proof(&proof, &jwks, OTHER_SITE, ISSUER).is_err(),
        "another site"
    );
}

/// A proof minted by a relay whose clock stands eleven minutes back, so that its ten-minute proof
/// is a minute past `exp`: the same keys as the live relay, in-process, given its clock.
async fn expired_proof() -> String {
    use otp_relay::core::{Clock, ManualClock, SystemClock, UnixTime};
    use otp_relay::testing::InProcessRelay;
    let now = SystemClock.now().secs();
    let keys = proof_keys();
    let relay = InProcessRelay::with_clock(
        &[
            "--proof-keys",
            &keys,
            "--public-url",
            ISSUER,
            "--allowed-origins",
            SITE,
        ],
        ManualClock::at(UnixTime::from_secs(now - 11 * 60)),
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
}

/// A12 and A24: each backend refuses a changed payload, `alg: none`, HS256 signed with the public
/// key as its secret, a proof for another site, and an expired one; the genuine proof passes.
#[tokio::test]
async fn every_backend_refuses_forged_foreign_and_expired_proofs() {
    let app = spawn();
    let proof = proof_from(&app, SITE, "a12@example.com").await;
    let parts: Vec<&str> = proof.split('.').collect();
    let payload = decode_part(parts[1]);

    let mut changed = payload.clone();
    changed["email"] = json!("mallory@example.com");
    changed["sub"] = json!("mallory@example.com");
    let changed_payload = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&changed).unwrap()),
        parts[2]
    );
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"p1"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    // The classic confusion: HS256 "signed" with the published public key.
    let jwks = fetch_jwks(&app.relay.url).await;
    let public = serde_json::to_value(jwks.find("p1").unwrap()).unwrap();
    let x = URL_SAFE_NO_PAD
        .decode(public["x"].as_str().unwrap())
        .unwrap();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("p1".into());
    let hs256_with_public_key =
        jsonwebtoken::encode(&hs_header, &payload, &EncodingKey::from_secret(&x)).unwrap();
    let for_another_site = proof_from(&app, OTHER_SITE, "a12@example.com").await;
    let expired = expired_proof().await;

    for (forgery, token) in [
        ("changed payload", changed_payload),
        ("alg none", alg_none),
        ("HS256 with the public key", hs256_with_public_key),
        ("another aud", for_another_site),
        ("expired exp", expired),
    ] {
        for (backend, verdict) in three_backends(&token, &app.relay.url).await {
            assert!(verdict.is_err(), "{backend} accepted: {forgery}");
        }
    }
    for (backend, verdict) in three_backends(&proof, &app.relay.url).await {
        assert!(verdict.is_ok(), "{backend}: the genuine proof: {verdict:?}");
    }
}

#[tokio::test]
async fn the_jwks_holds_public_keys_only_may_be_cached_and_is_the_configured_key() {
    let app = spawn();
    let reply = reqwest::get(format!("{}/.well-known/jwks.json", app.relay.url))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let cache = reply.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cache.contains("max-age=300"), "{cache}");
    assert_eq!(reply.headers()["access-control-allow-origin"], "*");
    let set: Value = reply.json().await.unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x"], "never d");
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");

    // The published key is the public half of the configured seed: a token signed here with
    // that seed (an independent signer) verifies under it.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("p1".into());
    let claims = json!({"iss": ISSUER, "aud": SITE, "sub": "x@example.com", "email": "x@example.com",
        "email_verified": true, "exp": 4_000_000_000u64});
    let ours = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(&ed25519_pkcs8(&PROOF_SEED)),
    )
    .unwrap();
    let jwks = fetch_jwks(&app.relay.url).await;
    assert!(check_proof(&ours, &jwks, SITE, ISSUER).is_ok());
    let theirs = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(&ed25519_pkcs8(&[1u8; 32])),
    )
    .unwrap();
    assert!(check_proof(&theirs, &jwks, SITE, ISSUER).is_err());
}

/// Rotation: after a restart with `k2:new,k1:old` both keys are published, a proof signed before
/// the restart still verifies, and new proofs name k2.
#[tokio::test]
async fn a_rotated_key_set_publishes_both_and_old_proofs_still_verify() {
    let seed = |byte: u8| URL_SAFE_NO_PAD.encode([byte; 32]);
    let old = format!("k1:{}", seed(1));
    let mut app = spawn_with(&[("OTP_RELAY_PROOF_KEYS", &old)]);
    let before = proof_from(&app, SITE, "rot@example.com").await;
    assert_eq!(decode_part(before.split('.').next().unwrap())["kid"], "k1");

    app.relay
        .set_env("OTP_RELAY_PROOF_KEYS", &format!("k2:{},{old}", seed(2)));
    app.relay.restart();
    let jwks = fetch_jwks(&app.relay.url).await;
    let kids: Vec<Option<String>> = jwks.keys.iter().map(|k| k.common.key_id.clone()).collect();
    assert_eq!(kids, [Some("k2".into()), Some("k1".into())]);
    for (backend, verdict) in three_backends(&before, &app.relay.url).await {
        assert!(
            verdict.is_ok(),
            "{backend}: a proof from before: {verdict:?}"
        );
    }
    let after = proof_from(&app, SITE, "rot2@example.com").await;
    assert_eq!(decode_part(after.split('.').next().unwrap())["kid"], "k2");
    for (backend, verdict) in three_backends(&after, &app.relay.url).await {
        assert!(verdict.is_ok(), "{backend}: a new proof: {verdict:?}");
    }
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
    let jwks = fetch_jwks(&app.relay.url).await;
    assert!(check_proof(proof, &jwks, ISSUER, ISSUER).is_ok());
    assert!(check_proof(proof, &jwks, SITE, ISSUER).is_err());
}

/// The legacy mode, only when the operator sets `OTP_RELAY_PROOF_SECRET`: HS256 under that secret
/// (checked by an independent implementation, the `jwt` crate on hmac 0.12), and no JWK Set.
#[tokio::test]
async fn the_legacy_secret_signs_hs256_and_publishes_no_keys() {
    let secret = proof_secret();
    let app = spawn_with(&[("OTP_RELAY_PROOF_SECRET", &secret)]);
    let proof = proof_from(&app, SITE, "legacy@example.com").await;
    assert_eq!(
        decode_part(proof.split('.').next().unwrap())["alg"],
        "HS256"
    );
    use hmac12::{Hmac, Mac};
    use jwt::VerifyWithKey;
    let key: Hmac<sha2_10::Sha256> = Hmac::new_from_slice(&PROOF_KEY).unwrap();
    let claims: std::collections::BTreeMap<String, Value> = proof.verify_with_key(&key).unwrap();
    assert_eq!(claims["aud"], SITE);
    let wrong: Hmac<sha2_10::Sha256> = Hmac::new_from_slice(&[1u8; 32]).unwrap();
    let refused: Result<std::collections::BTreeMap<String, Value>, _> =
        proof.verify_with_key(&wrong);
    assert!(refused.is_err());

    let jwks = reqwest::get(format!("{}/.well-known/jwks.json", app.relay.url))
        .await
        .unwrap();
    assert_eq!(jwks.status(), StatusCode::NOT_FOUND);
    let body: Value = jwks.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("OTP_RELAY_PROOF_KEYS")
    );
}

/// A review address (`OTP_RELAY_REVIEW_ADDRESSES_FILE`, as an operator mounts it): no message
/// reaches the mail server, the listed code verifies, the relay warns at start, and the proof
/// carries `review: true`, which both backend examples refuse unless told to accept it.
#[tokio::test]
async fn a_review_proof_says_so_and_the_backend_examples_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("review-addresses");
    std::fs::write(
        &file,
        "reviewer@shop.example:135790\n# not a comment: refused\n",
    )
    .unwrap();
    let (status, said) = refused_start(&[
        ("OTP_RELAY_DEV", "1"),
        ("OTP_RELAY_REVIEW_ADDRESSES_FILE", &file.to_string_lossy()),
    ]);
    assert_ne!(status, Some(0));
    assert!(
        said.contains("OTP_RELAY_REVIEW_ADDRESSES: entry 2"),
        "{said}"
    );
    assert!(!said.contains("135790"), "never the codes: {said}");
    std::fs::write(&file, "reviewer@shop.example:135790\n").unwrap();
    let app = spawn_with(&[("OTP_RELAY_REVIEW_ADDRESSES_FILE", &file.to_string_lossy())]);
    assert!(
        app.relay
            .logs_once("review addresses")
            .contains("OTP_RELAY_REVIEW_ADDRESSES lists review addresses"),
        "a warning at start"
    );

    let reply = app
        .relay
        .post_from(
            SITE,
            "/api/v1/challenges",
            json!({ "email": "reviewer@shop.example" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let verified = app
        .relay
        .post_from(
            SITE,
            "/api/v1/challenges/verify",
            json!({ "challenge": challenge_of(&reply.json), "email": "reviewer@shop.example", "code": "135790" }),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    // Another address's message arrives, and it is the only one: the send above sent none.
    proof_from(&app, SITE, "someone@shop.example").await;
    assert_eq!(app.smtp.count(), 1, "no message for the review address");
    assert_eq!(app.smtp.last_to("someone@shop.example").code().len(), 6);

    let proof = verified.json["proof"].as_str().unwrap();
    assert_eq!(
        decode_part(proof.split('.').nth(1).unwrap())["review"],
        true
    );
    for (program, script) in [
        ("/usr/bin/python3", "verify_proof.py"),
        ("node", "verify_proof.mjs"),
    ] {
        let refused = script_backend(program, script, proof, &app.relay.url);
        let why = refused.expect_err(script);
        assert!(why.contains("review address"), "{script}: {why}");
        let accepted = script_backend_with(
            program,
            script,
            proof,
            &app.relay.url,
            &[("ACCEPT_REVIEW_PROOFS", "1")],
        );
        assert_eq!(
            accepted,
            Ok("reviewer@shop.example".to_string()),
            "{script}"
        );
    }
}
