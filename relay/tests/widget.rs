//! The widget's files over HTTP: content types, caching that cannot pair an old loader with a new
//! wasm, CORS for any embedding page, compression, and the status a widget asks for first.

use otp_relay_tests::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

/// A static directory shaped like trunk's output.
fn build_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &[u8]| std::fs::write(dir.path().join(name), body).unwrap();
    write("index.html", b"<h1>page</h1>");
    write(
        "otp-verify.js",
        b"import init from \"__APP_JS__\"; init({ module_or_path: new URL(\"__APP_WASM__\", import.meta.url) }); fetch(\"__APP_CSS__\");",
    );
    write(
        "otp-relay-frontend-0a1b2c.js",
        "export default function init() {}\n".repeat(200).as_bytes(),
    );
    write("otp-relay-frontend-0a1b2c_bg.wasm", b"\0asm\x01\0\0\0");
    write("style-9f8e.css", b".otp { color: black; }");
    dir
}

async fn get(
    relay: &RelayProcess,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = relay.client.get(format!("{}{path}", relay.url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_loader_names_the_hashed_files_and_is_always_revalidated() {
    let dir = build_dir();
    let relay = RelayProcess::dev(&[(
        "OTP_RELAY_STATIC_DIR".into(),
        dir.path().display().to_string(),
    )]);
    let (status, headers, body) = get(
        &relay,
        "/widget/v1/otp-verify.js",
        &[("Origin", "https://any.example")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("\"./otp-relay-frontend-0a1b2c.js\""),
        "{body}"
    );
    assert!(
        body.contains("\"./otp-relay-frontend-0a1b2c_bg.wasm\""),
        "{body}"
    );
    assert!(body.contains("\"./style-9f8e.css\""), "{body}");
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (again, _, empty) = get(
        &relay,
        "/widget/v1/otp-verify.js",
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(again, StatusCode::NOT_MODIFIED);
    assert!(empty.is_empty());

    // A new build: new names, new ETag, so a revalidating browser gets the new loader.
    std::fs::rename(
        dir.path().join("otp-relay-frontend-0a1b2c_bg.wasm"),
        dir.path().join("otp-relay-frontend-0a1b2c-new_bg.wasm"),
    )
    .unwrap();
    let (status, headers, body) = get(
        &relay,
        "/widget/v1/otp-verify.js",
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("0a1b2c-new_bg.wasm")
    );
}

#[tokio::test]
async fn hashed_files_are_immutable_typed_compressed_and_open_to_any_page() {
    let dir = build_dir();
    let relay = RelayProcess::dev(&[(
        "OTP_RELAY_STATIC_DIR".into(),
        dir.path().display().to_string(),
    )]);
    for (file, content_type) in [
        (
            "otp-relay-frontend-0a1b2c.js",
            "text/javascript; charset=utf-8",
        ),
        ("otp-relay-frontend-0a1b2c_bg.wasm", "application/wasm"),
        ("style-9f8e.css", "text/css; charset=utf-8"),
    ] {
        let (status, headers, _) = get(
            &relay,
            &format!("/widget/v1/{file}"),
            &[("Origin", "https://any.example")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert_eq!(headers["content-type"], content_type, "{file}");
        assert_eq!(
            headers["cache-control"], "public, max-age=31536000, immutable",
            "{file}"
        );
        assert_eq!(headers["access-control-allow-origin"], "*", "{file}");
        assert_eq!(headers["timing-allow-origin"], "*", "{file}");
    }
    // reqwest without its gzip feature does not decode: the raw encoding is visible.
    let (_, headers, body) = get(
        &relay,
        "/widget/v1/otp-relay-frontend-0a1b2c.js",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(
        headers.get("content-encoding"),
        Some(&HeaderValue::from_static("gzip"))
    );
    assert!(body.len() < 6_600, "compressed to {} bytes", body.len());
    for bad in [
        "index.html",
        "otp-verify.js.map",
        "..%2Fsecret.js",
        ".hidden.js",
        "nohash.js",
        "missing-1.js",
    ] {
        let (status, _, _) = get(&relay, &format!("/widget/v1/{bad}"), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn without_a_build_the_widget_paths_say_what_is_missing() {
    let relay = RelayProcess::dev(&[]);
    let reply = relay
        .send(
            relay
                .client
                .get(format!("{}/widget/v1/otp-verify.js", relay.url)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("OTP_RELAY_STATIC_DIR")
    );
    // A binary built without the page says at / how to get it.
    let page = relay
        .send(relay.client.get(format!("{}/", relay.url)))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let said = page.json["error"]["message"].as_str().unwrap().to_string();
    assert!(said.contains("make frontend"), "{said}");
    assert!(said.contains("OTP_RELAY_STATIC_DIR"), "{said}");
}

/// The TypeScript declarations are served beside the loader, the same bytes as the types
/// package in `frontend/npm/`, with or without a built frontend.
#[tokio::test]
async fn the_typescript_declarations_are_served_beside_the_loader() {
    let relay = RelayProcess::dev(&[]);
    for (path, file) in [
        ("/widget/v1/otp-verify.d.ts", "otp-verify.d.ts"),
        ("/widget/v1/react.d.ts", "react.d.ts"),
    ] {
        let (status, headers, body) = get(&relay, path, &[("origin", "https://any.example")]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            headers["content-type"],
            "application/typescript; charset=utf-8"
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
        let package = std::fs::read(workspace_root().join("frontend/npm").join(file)).unwrap();
        assert_eq!(body, package, "{path}");
    }
}

#[tokio::test]
async fn the_status_tells_a_page_whether_its_origin_is_allowed() {
    let relay = RelayProcess::dev(&[(
        "OTP_RELAY_ALLOWED_ORIGINS".into(),
        "https://ok.example".into(),
    )]);
    let status = |origin: Option<&'static str>| {
        let mut request = relay.client.get(format!("{}/widget/v1/status", relay.url));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        relay.send(request)
    };
    let ok = status(Some("https://ok.example")).await;
    assert_eq!(ok.json["allowed"], true);
    assert_eq!(ok.json["dev_outbox"], true);
    assert_eq!(ok.headers["access-control-allow-origin"], "*");
    let refused = status(Some("https://evil.example")).await;
    assert_eq!(refused.json["allowed"], false);
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap()
            .contains("OTP_RELAY_ALLOWED_ORIGINS")
    );
    assert_eq!(
        status(None).await.json["allowed"],
        true,
        "same-origin pages send no Origin"
    );
}

/// What each language costs a page: its messages arrive with the status, in the order the
/// browser build numbers them (`page_slots`); English is built in and comes with none.
#[tokio::test]
async fn the_status_brings_the_messages_of_the_language_asked_for() {
    use otp_relay_shared::{Catalogue, Lang, i18n::page_slots};
    let relay = RelayProcess::dev(&[]);
    let slots = page_slots();
    let english = get(&relay, "/widget/v1/status?lang=en", &[]).await;
    let english: serde_json::Value = serde_json::from_slice(&english.2).unwrap();
    assert_eq!(english["allowed"], true);
    assert!(english.get("messages").is_none(), "{english}");
    for unknown in ["?lang=xx", "?lang=", ""] {
        let (_, _, body) = get(&relay, &format!("/widget/v1/status{unknown}"), &[]).await;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(body.get("messages").is_none(), "{unknown}: {body}");
    }
    for lang in Lang::ALL.into_iter().filter(|lang| *lang != Lang::En) {
        // As a browser gets it: compressed, which is what the language adds to the download.
        let path = format!("/widget/v1/status?lang={}-XX", lang.tag());
        let (status, headers, body) = get(&relay, &path, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-encoding"], "gzip");
        let sent = body.len();
        let body: serde_json::Value = serde_json::from_slice(&gunzip(&body)).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), slots.len(), "{}", lang.tag());
        let catalogue = Catalogue::builtin(lang);
        for (slot, text) in slots.iter().zip(messages) {
            assert_eq!(text.as_str(), catalogue.raw(slot), "{}: {slot}", lang.tag());
        }
        assert_ne!(messages[0], json!(Catalogue::english().raw("ui.title")));
        println!("{} adds {sent} bytes (the status answer, gzip)", lang.tag());
        assert!(sent < 2_500, "{}: {sent} bytes", lang.tag());
    }
}

/// `bytes` gzip-compressed with a name in the header, so these exact bytes can be told apart
/// from what the relay's own compression would make of the file.
fn precompressed(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::GzBuilder::new()
        .filename("precompressed")
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn a_release_builds_precompressed_files_are_served_as_they_are() {
    let dir = build_dir();
    let wasm = std::fs::read(dir.path().join("otp-relay-frontend-0a1b2c_bg.wasm")).unwrap();
    let wasm_gz = precompressed(&wasm);
    std::fs::write(
        dir.path().join("otp-relay-frontend-0a1b2c_bg.wasm.gz"),
        &wasm_gz,
    )
    .unwrap();
    let page_gz = precompressed(b"<h1>page</h1>");
    std::fs::write(dir.path().join("index.html.gz"), &page_gz).unwrap();
    let relay = RelayProcess::dev(&[(
        "OTP_RELAY_STATIC_DIR".into(),
        dir.path().display().to_string(),
    )]);
    let path = "/widget/v1/otp-relay-frontend-0a1b2c_bg.wasm";

    for accept in ["gzip", "br, gzip;q=0.8", "GZIP"] {
        let (status, headers, body) = get(&relay, path, &[("Accept-Encoding", accept)]).await;
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(headers["content-encoding"], "gzip", "{accept}");
        assert_eq!(headers["content-type"], "application/wasm");
        assert_eq!(headers["vary"], "accept-encoding");
        assert_eq!(
            body, wasm_gz,
            "{accept}: the precompressed file, byte for byte"
        );
        assert_eq!(gunzip(&body), wasm);
    }
    for accept in [None, Some("identity"), Some("gzip;q=0")] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("Accept-Encoding", a)).into_iter().collect();
        let (status, headers, body) = get(&relay, path, &headers).await;
        assert_eq!(status, StatusCode::OK, "{accept:?}");
        assert!(headers.get("content-encoding").is_none(), "{accept:?}");
        assert_eq!(body, wasm, "{accept:?}");
    }
    // The page itself, from the static directory's root.
    let (_, headers, body) = get(&relay, "/", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(body, page_gz);
    // A file without a precompressed copy is still compressed on the way out.
    let (_, headers, body) = get(
        &relay,
        "/widget/v1/otp-relay-frontend-0a1b2c.js",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(headers["content-encoding"], "gzip");
    assert!(gunzip(&body).starts_with(b"export default function init()"));
}
