//! Delivery by webhook (`OTP_RELAY_WEBHOOK_URL`), against a real receiver that checks every
//! request with the `standardwebhooks` library from PyPI: a whole flow with the code taken from
//! the webhook, secrets rotated by listing two, a wrong secret refused by the receiver and a
//! failing receiver, each `delivery_failed` for the person with a hint for the operator.

use otp_relay_tests::*;
use reqwest::StatusCode;

#[tokio::test]
async fn a_signed_webhook_carries_the_message_and_its_code_verifies() {
    let receiver = WebhookReceiver::start();
    let relay = RelayProcess::start(&receiver.relay_env());
    assert!(
        relay
            .logs_once("otp-relay starting")
            .contains("webhook http://127.0.0.1")
    );
    let sent = relay.issue("Hook@Example.com").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);

    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["payload"]["type"], "otp.code");
    assert!(
        received[0]["headers"]["webhook-id"]
            .as_str()
            .unwrap()
            .starts_with("msg_")
    );
    let data = receiver.last_to("hook@example.com");
    let code = data["code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    assert!(
        data["text"]
            .as_str()
            .unwrap()
            .ends_with(&format!("#{code}")),
        "{data}"
    );
    assert!(data["html"].as_str().unwrap().contains(code));
    assert!(data["subject"].as_str().unwrap().contains(code));
    assert_eq!(data["lang"], "en");
    assert_eq!(data["from"], "Example <no-reply@example.com>");
    assert_eq!(data["site"], "127.0.0.1");
    assert_eq!(data["expires_at"], sent.json["expires_at"]);

    let verified = relay
        .verify(&challenge_of(&sent.json), "hook@example.com", code)
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
}

#[tokio::test]
async fn a_send_that_asks_for_the_link_gives_it_to_the_webhook_too() {
    let receiver = WebhookReceiver::start();
    let relay = RelayProcess::start(&receiver.relay_env());
    let plain = relay.issue("plain@example.com").await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.text);
    assert_eq!(receiver.last_to("plain@example.com").get("link"), None);

    let page = format!("{}/signup", relay.url);
    let linked = relay.issue_with_link("linked@example.com", "/signup").await;
    assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.text);
    let data = receiver.last_to("linked@example.com");
    let link = data["link"].as_str().expect("the link in data");
    assert!(link.starts_with(&format!("{page}#otp-link=")), "{link}");
    assert!(data["text"].as_str().unwrap().contains(link));
}

#[tokio::test]
async fn a_secret_is_rotated_by_listing_the_new_one_beside_the_old() {
    let receiver = WebhookReceiver::start();
    let both = format!("{} {}", webhook_secret(), receiver.secret);
    let relay = RelayProcess::start(&receiver.relay_env_signing_with(&both));
    let sent = relay.issue("rotate@example.com").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let signature = receiver.received()[0]["headers"]["webhook-signature"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_receiver_and_explained_to_the_operator() {
    let receiver = WebhookReceiver::start();
    let relay = RelayProcess::start(&receiver.relay_env_signing_with(&webhook_secret()));
    let sent = relay.issue("wrong@example.com").await;
    assert_eq!(sent.status, StatusCode::BAD_GATEWAY, "{}", sent.text);
    assert_eq!(sent.error_code(), "delivery_failed");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["verified"], false, "{received:?}");
    assert_eq!(received[0]["error"], "No matching signature found");
    let logs = relay.logs_once("delivery failed");
    assert!(
        logs.contains("refused the relay (401 Unauthorized): check that its secret is one of OTP_RELAY_WEBHOOK_SECRET"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_a_failed_delivery_that_is_given_back() {
    let receiver = WebhookReceiver::start_answering(500);
    let relay = RelayProcess::start(&receiver.relay_env());
    for _ in 0..6 {
        // Refunded each time: a receiver's outage spends none of the mailbox's five sends.
        let sent = relay.issue("down@example.com").await;
        assert_eq!(sent.error_code(), "delivery_failed", "{}", sent.text);
    }
    let logs = relay.logs_once("answered 500 Internal Server Error: see the receiver's log");
    assert!(!logs.contains("down@example.com"), "the address is masked");
}
