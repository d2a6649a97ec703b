//! The email's link (docs/api.md; docs/security.md, A32): a send that names its page gets a link
//! back to it with the challenge and a link secret in the fragment; a verify with that secret,
//! from the same site and the same page, is a verify like any other: single use, the same proof.
//! A link changed, or opened on another page or another site, is refused without using an
//! attempt, and the code keeps working.

use super::{ADA, assert_refused, claims, relay_with, wrong};
use crate::testing::{Answer, Caller, InProcessRelay};
use axum::http::StatusCode;
use serde_json::json;
use std::time::Duration;

const SHOP: &str = "https://shop.example";
const OTHER: &str = "https://other.example";
const PAGE: &str = "https://shop.example/signup?plan=pro";

fn two_sites() -> InProcessRelay {
    relay_with(&["--allowed-origins", &format!("{SHOP},{OTHER}")])
}

fn shop() -> Caller {
    Caller::default().from_site(SHOP)
}

/// A send from the shop's `page` that asks for a link.
async fn issue_with_link(relay: &InProcessRelay, page: &str) -> Answer {
    relay
        .post_paid(
            &shop(),
            "/api/v1/challenges",
            &json!({ "email": ADA, "link": page }),
        )
        .await
}

/// What the link's fragment carries: the challenge, the secret and the address.
fn fragment(link: &str) -> (String, String, String) {
    let (_, fragment) = link.split_once('#').unwrap();
    let rest = fragment.strip_prefix("otp-link=").unwrap();
    let (pair, email) = rest.split_once("&email=").unwrap();
    let (challenge, secret) = pair.split_once('.').unwrap();
    (challenge.into(), secret.into(), email.into())
}

/// A send from the shop's page that asks for a link: the code, the challenge and the link
/// secret, as the email carries them.
async fn sent_with_link(relay: &InProcessRelay) -> (String, String, String) {
    issue_with_link(relay, PAGE).await;
    let code = relay.last_code(ADA).unwrap();
    let (challenge, secret, _) = fragment(&relay.last_link(ADA).unwrap());
    (code, challenge, secret)
}

async fn verify_link(
    relay: &InProcessRelay,
    caller: &Caller,
    challenge: &str,
    secret: &str,
    page: &str,
) -> Answer {
    relay
        .post_as(
            caller,
            "/api/v1/challenges/verify",
            &json!({ "challenge": challenge, "email": ADA, "link": secret, "page": page }),
        )
        .await
}

#[tokio::test]
async fn a_send_that_names_its_page_gets_a_link_back_to_it_beside_the_code() {
    let relay = two_sites();
    let issued = issue_with_link(&relay, PAGE).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.json);
    let link = relay.last_link(ADA).expect("the outbox shows the link");
    let (challenge, secret, email) = fragment(&link);
    assert!(link.starts_with(&format!("{PAGE}#otp-link=")), "{link}");
    assert_eq!(challenge, issued.challenge());
    assert_eq!(email, "ada%40example.com");
    // 128 bits, base64url; not the code.
    let code = relay.last_code(ADA).unwrap();
    assert_eq!(secret.len(), 22);
    assert!(!secret.contains(&code));
    let entry = relay.outbox.entries().remove(0);
    assert!(entry.text.contains(&link), "{}", entry.text);
    assert!(entry.text.ends_with(&format!("@shop.example #{code}")));
    assert!(entry.html.contains("Confirm my address"));

    // Without `link`, no link, and the challenge as short as ever.
    let plain = relay.issue_as(&shop(), "bob@example.com").await;
    assert_eq!(relay.last_link("bob@example.com"), None);
    assert!(plain.challenge().len() <= 166);
    assert!(!relay.outbox.entries()[0].text.contains("http"));
}

#[tokio::test]
async fn a_link_verifies_once_from_its_page_and_gives_the_same_proof_as_the_code() {
    let relay = two_sites();
    let (code, challenge, secret) = sent_with_link(&relay).await;
    // The page as the browser writes it after the fragment is gone: the same URL.
    let verified = verify_link(&relay, &shop(), &challenge, &secret, PAGE).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.json);
    let proof = claims(verified.json["proof"].as_str().unwrap());
    assert_eq!(proof["aud"], SHOP);
    assert_eq!(proof["email"], ADA);
    assert_eq!(proof["email_verified"], true);

    let again = verify_link(&relay, &shop(), &challenge, &secret, PAGE).await;
    assert_refused(&again, StatusCode::CONFLICT, "already_used");
    let by_code = relay.verify_as(&shop(), &challenge, ADA, &code).await;
    assert_refused(&by_code, StatusCode::CONFLICT, "already_used");
}

#[tokio::test]
async fn a_link_changed_or_opened_elsewhere_is_refused_and_the_code_still_works() {
    let relay = two_sites();
    let (code, challenge, secret) = sent_with_link(&relay).await;
    let mut changed_secret = secret.clone().into_bytes();
    changed_secret[0] = if changed_secret[0] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let changed_secret = String::from_utf8(changed_secret).unwrap();
    let other_site = Caller::default().from_site(OTHER);
    for (caller, secret, page, what) in [
        (
            shop(),
            secret.as_str(),
            "https://shop.example/other",
            "another page",
        ),
        (
            shop(),
            &secret,
            "https://shop.example/signup?plan=free",
            "another query",
        ),
        (shop(), &secret, "https://shop.example/signup", "no query"),
        (shop(), &changed_secret, PAGE, "a changed secret"),
        (shop(), &code, PAGE, "the code as the secret"),
        (other_site.clone(), &secret, PAGE, "another site"),
        (
            other_site,
            &secret,
            "https://other.example/signup?plan=pro",
            "another site's page",
        ),
        (Caller::default(), &secret, PAGE, "no site"),
    ] {
        let answer = verify_link(&relay, &caller, &challenge, secret, page).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_challenge");
        if caller.origin.as_deref() == Some(SHOP) {
            let message = answer.json["error"]["message"].as_str().unwrap();
            assert!(message.contains("Enter the code"), "{what}: {message}");
        }
    }
    // No attempt was used: the first wrong code leaves two of three, then the code works.
    let wrong_answer = relay
        .verify_as(&shop(), &challenge, ADA, &wrong(&code))
        .await;
    assert_eq!(wrong_answer.json["error"]["attempts_left"], 2);
    let verified = relay.verify_as(&shop(), &challenge, ADA, &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.json);
}

#[tokio::test]
async fn a_challenge_without_a_link_cannot_be_verified_by_one() {
    let relay = two_sites();
    let issued = relay.issue_as(&shop(), ADA).await;
    let answer = verify_link(
        &relay,
        &shop(),
        &issued.challenge(),
        "AAAAAAAAAAAAAAAAAAAAAA",
        PAGE,
    )
    .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_challenge");
}

#[tokio::test]
async fn a_link_must_be_a_page_of_the_asking_site() {
    let relay = two_sites();
    let long = format!("{SHOP}/{}", "a".repeat(520));
    for (caller, page) in [
        (shop(), "https://other.example/signup"),
        (shop(), "http://shop.example/signup"),
        (shop(), "https://shop.example:8443/signup"),
        (shop(), "https://user:pass@shop.example/signup"),
        (shop(), "javascript:alert(1)"),
        (shop(), "/signup"),
        (shop(), ""),
        (shop(), long.as_str()),
        (Caller::default(), "https://shop.example/signup"),
    ] {
        let answer = relay
            .post_paid(
                &caller,
                "/api/v1/challenges",
                &json!({ "email": ADA, "link": page }),
            )
            .await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(message.contains("page of the site"), "{page}: {message}");
    }
    assert_eq!(relay.sent(), 0, "nothing was sent");
    // A fragment the page had is dropped: the link brings its own.
    issue_with_link(&relay, "https://shop.example/signup#top").await;
    let link = relay.last_link(ADA).unwrap();
    assert!(
        link.starts_with("https://shop.example/signup#otp-link="),
        "{link}"
    );
}

#[tokio::test]
async fn a_resend_carries_the_same_link_and_an_expired_one_is_expired() {
    let relay = two_sites();
    let issued = issue_with_link(&relay, PAGE).await;
    let first = relay.last_link(ADA).unwrap();
    relay.clock.advance(Duration::from_secs(31));
    let resent = relay
        .post_paid(
            &shop(),
            "/api/v1/challenges/resend",
            &json!({ "challenge": issued.challenge(), "email": ADA }),
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.json);
    assert_eq!(relay.sent(), 2);
    assert_eq!(relay.last_link(ADA).unwrap(), first);

    relay.clock.advance(Duration::from_secs(300));
    let (challenge, secret, _) = fragment(&first);
    let answer = verify_link(&relay, &shop(), &challenge, &secret, PAGE).await;
    assert_refused(&answer, StatusCode::GONE, "expired");
}

#[tokio::test]
async fn a_verify_body_names_what_it_lacks_or_has_twice() {
    let relay = two_sites();
    let issued = issue_with_link(&relay, PAGE).await;
    let challenge = issued.challenge();
    for (body, says) in [
        (
            json!({"challenge": challenge, "email": ADA, "link": "x"}),
            "\"page\" is missing",
        ),
        (
            json!({"challenge": challenge, "email": ADA, "code": "123456", "link": "x", "page": PAGE}),
            "not both",
        ),
        (
            json!({"challenge": challenge, "email": ADA, "link": 5, "page": PAGE}),
            "\"link\" must be a string",
        ),
    ] {
        let answer = relay
            .post_as(&shop(), "/api/v1/challenges/verify", &body)
            .await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
}

#[tokio::test]
async fn the_link_is_worded_in_the_persons_language() {
    let relay = two_sites();
    relay
        .post_paid(
            &shop(),
            "/api/v1/challenges",
            &json!({ "email": ADA, "link": PAGE, "lang": "de" }),
        )
        .await;
    let entry = relay.outbox.entries().remove(0);
    assert!(
        entry.text.contains("Oder öffnen Sie diesen Link"),
        "{}",
        entry.text
    );
    assert!(entry.html.contains("Meine Adresse bestätigen"));
}
