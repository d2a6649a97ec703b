//! `GET /dev/outbox`: the development outbox, for a person (HTML) or a program (JSON). It exists
//! only in development mode (`--dev`, which also keeps the relay on loopback), and answers 404
//! otherwise (docs/security.md, A13).

use super::SharedApp;
use super::error::HttpError;
use crate::core::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::{ErrorResponse, OutboxEntry};

/// The outbox page loads nothing and runs nothing, and neither does a message's HTML in its
/// frame (a `srcdoc` frame takes its parent's policy): a logo a site's branding names is not
/// fetched, and no message can call out from the developer's browser.
const OUTBOX_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

#[utoipa::path(get, path = "/dev/outbox", tag = "development",
    description = "Every message the development outbox kept, newest first: an HTML page (refreshed every 5 s), or JSON with `Accept: application/json`. Only in development mode.",
    params(("Accept" = Option<String>, Header, description = "`application/json` for JSON")),
    responses(
        (status = 200, description = "The messages.",
            content((Vec<OutboxEntry> = "application/json"), (String = "text/html"))),
        (status = 404, body = ErrorResponse, description = "`not_found`: not in development mode."),
    ))]
pub(super) async fn page(State(app): State<SharedApp>, headers: HeaderMap) -> Response {
    let Some(outbox) = app.outbox.as_ref() else {
        return HttpError::from(ApiError::protocol(
            ErrorCode::NotFound,
            "There is no development outbox: this relay sends real email. It exists only in development mode (OTP_RELAY_DEV).",
        ))
        .into_response();
    };
    let entries = outbox.entries();
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    if wants_json {
        return Json(entries).into_response();
    }
    let mut body = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"5\">\
         <title>Development outbox · otp-relay</title>\
         <style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
         article{border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0}\
         pre{white-space:pre-wrap;background:#f5f5f5;padding:.75rem;border-radius:6px}\
         iframe{width:100%;height:24rem;border:1px solid #ddd;border-radius:6px}\
         th{text-align:left;padding-right:1rem;vertical-align:top}\
         .note{background:#fff4d6;padding:.75rem;border-radius:6px}</style></head><body>\
         <h1>Development outbox</h1>\
         <p class=\"note\">Development mode: no email leaves this machine, \
         the messages the relay would have sent are shown here, newest first. \
         To send real email, set OTP_RELAY_SMTP_URL and drop OTP_RELAY_DEV.</p>",
    );
    if entries.is_empty() {
        body.push_str("<p>No messages yet. Request a code and reload this page.</p>");
    }
    for entry in entries {
        let headers: String = entry
            .headers
            .iter()
            .map(|(name, value)| {
                format!(
                    "<tr><th>{}</th><td>{}</td></tr>",
                    html_escape::encode_text(name),
                    html_escape::encode_text(value)
                )
            })
            .collect();
        // The HTML part as a person's mail program would show it, in a frame that may run no
        // script and, under this page's policy, load nothing from anywhere.
        body.push_str(&format!(
            "<article><p><b>To:</b> {}<br><b>Subject:</b> {}<br><b>Sent:</b> {}</p>\
             {link}<iframe sandbox title=\"The HTML part\" srcdoc=\"{}\"></iframe>\
             <details><summary>Plain text</summary><pre>{}</pre></details>\
             <details><summary>Headers</summary><table>{headers}</table></details></article>",
            html_escape::encode_text(&entry.to),
            html_escape::encode_text(&entry.subject),
            html_escape::encode_text(&entry.sent_at),
            html_escape::encode_double_quoted_attribute(&entry.html),
            html_escape::encode_text(&entry.text),
            link = entry
                .link
                .as_deref()
                .map(|link| format!(
                    "<p><b>Link:</b> <a class=\"link\" href=\"{}\" target=\"_blank\" rel=\"noopener\">open it as the person would</a></p>",
                    html_escape::encode_double_quoted_attribute(link)
                ))
                .unwrap_or_default(),
        ));
    }
    body.push_str("</body></html>");
    let mut response = Html(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(OUTBOX_POLICY),
    );
    response
}
