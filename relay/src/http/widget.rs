//! `/widget/v1/`: the embeddable `<otp-verify>` widget, from the built frontend (`OTP_RELAY_STATIC_DIR`,
//! or the copy built into the binary: [`super::frontend`]). The loader module `otp-verify.js` has a stable, versioned URL and is
//! always revalidated (ETag); it names the build's content-hashed files, which are served beside
//! it as immutable. So a browser can cache the heavy files for a year and still never pair an old
//! loader with a new wasm. The files are public and carry no secret, so any origin may load them
//! (`Access-Control-Allow-Origin: *`): a page whose origin is not allowed still gets a widget that
//! can tell it so; the API itself enforces the allow-list.

use super::SharedApp;
use super::error::HttpError;
use super::frontend::{Frontend, accepts_gzip};
use crate::core::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::{ErrorResponse, WidgetStatus};
use sha2::{Digest, Sha256};

const LOADER: &str = "otp-verify.js";

pub(super) fn routes() -> Router<SharedApp> {
    Router::new()
        .route("/widget/v1/otp-verify.js", get(loader))
        .route("/widget/v1/otp-verify.d.ts", get(typescript_types))
        .route("/widget/v1/react.d.ts", get(react_types))
        .route("/widget/v1/status", get(status))
        .route("/widget/v1/i18n/{file}", get(catalogue))
        .route("/widget/v1/{file}", get(asset))
}

/// The loader's TypeScript declarations and their React augmentation (`frontend/npm/`, the
/// `@otp-relay/widget` types package), built into the relay so that they always describe the
/// loader beside them, with or without a built frontend.
const TYPES: &str = include_str!("../../../frontend/npm/otp-verify.d.ts");
const REACT_TYPES: &str = include_str!("../../../frontend/npm/react.d.ts");

/// `GET /widget/v1/otp-verify.d.ts`.
#[utoipa::path(get, path = "/widget/v1/otp-verify.d.ts", tag = "widget",
    responses((status = 200, description = "The loader's TypeScript declarations: the element in `HTMLElementTagNameMap`, its events with typed `detail`, `mount()`.",
        content_type = "application/typescript", body = String)))]
pub(super) async fn typescript_types() -> Response {
    types(TYPES)
}

/// `GET /widget/v1/react.d.ts`.
#[utoipa::path(get, path = "/widget/v1/react.d.ts", tag = "widget",
    responses((status = 200, description = "`<otp-verify>` in React 19's `JSX.IntrinsicElements`.",
        content_type = "application/typescript", body = String)))]
pub(super) async fn react_types() -> Response {
    types(REACT_TYPES)
}

/// Declarations, public and revalidated like the loader they describe.
fn types(text: &'static str) -> Response {
    let mut response = text.into_response();
    public_headers(
        response.headers_mut(),
        "application/typescript; charset=utf-8",
        "no-cache",
    );
    response
}

/// `GET /widget/v1/i18n/<lang>.txt`: the page's and the widget's messages in one language
/// (`i18n/page/`, built into the relay), as translators and tools read them; the page and the
/// widget get theirs with the status. Public, and cached for a day: a new release's messages
/// arrive within one.
#[utoipa::path(get, path = "/widget/v1/i18n/{file}", tag = "widget",
    params(("file" = String, Path, description = "`<lang>.txt`: `en`, `de`, `fr`, `es`, `pt`, `ja` or `ar`", example = "de.txt")),
    responses(
        (status = 200, description = "The page's messages in one language, as the catalogue file.", content_type = "text/plain", body = String,
            headers(("Cache-Control" = String, description = "`public, max-age=86400`"))),
        (status = 404, body = ErrorResponse, description = "`not_found`: no such language."),
    ))]
pub(super) async fn catalogue(Path(file): Path<String>) -> Response {
    let lang = file
        .strip_suffix(".txt")
        .and_then(otp_relay_shared::Lang::from_tag)
        .filter(|lang| file == format!("{}.txt", lang.tag()));
    let Some(lang) = lang else {
        return HttpError::from(ApiError::protocol(
            ErrorCode::NotFound,
            "No such language: the widget speaks en, de, fr, es, pt, ja and ar (/widget/v1/i18n/de.txt).",
        ))
        .into_response();
    };
    let mut response = otp_relay_shared::Catalogue::page_text(lang).into_response();
    public_headers(
        response.headers_mut(),
        "text/plain; charset=utf-8",
        "public, max-age=86400",
    );
    response
}

fn not_available(why: &str) -> Response {
    HttpError::from(ApiError::protocol(
        ErrorCode::NotFound,
        format!("The widget is not available: {why}"),
    ))
    .into_response()
}

fn frontend(app: &SharedApp) -> Option<Frontend> {
    Frontend::of(app.config.static_dir.as_ref())
}

/// What the widget paths say when there is no frontend to serve.
const NO_FRONTEND: &str = "this relay serves no built frontend: build one (`make frontend`; \
`make release` builds it into the binary) or set OTP_RELAY_STATIC_DIR to trunk's dist/.";

/// Headers every widget file carries.
fn public_headers(headers: &mut HeaderMap, content_type: &'static str, cache: &'static str) {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert("timing-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

#[utoipa::path(get, path = "/widget/v1/otp-verify.js", tag = "widget",
    description = "The loader module: defines `<otp-verify>` and exports `mount()`. Its URL is stable; it names the build's content-hashed files.",
    params(("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy held")),
    responses(
        (status = 200, description = "The module.", content_type = "text/javascript", body = String,
            headers(("Cache-Control" = String, description = "`no-cache`: revalidated on every load"), ("ETag" = String))),
        (status = 304, description = "The copy held is current."),
        (status = 404, body = ErrorResponse, description = "`not_found`: this relay serves no built frontend."),
    ))]
pub(super) async fn loader(State(app): State<SharedApp>, request_headers: HeaderMap) -> Response {
    let Some(frontend) = frontend(&app) else {
        return not_available(NO_FRONTEND);
    };
    let template = frontend
        .read(LOADER)
        .await
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok());
    let (Some(template), Some(app_js), Some(app_wasm), Some(app_css)) = (
        template,
        frontend.find("otp-relay-frontend-", ".js").await,
        frontend.find("otp-relay-frontend-", "_bg.wasm").await,
        frontend.find("style-", ".css").await,
    ) else {
        return not_available("the static directory holds no widget build (run `make frontend`).");
    };
    let body = template
        .replace("__APP_JS__", &format!("./{app_js}"))
        .replace("__APP_WASM__", &format!("./{app_wasm}"))
        .replace("__APP_CSS__", &format!("./{app_css}"));
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", crate::core::hex(&digest[..16]));
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let headers = response.headers_mut();
    public_headers(headers, "text/javascript; charset=utf-8", "no-cache");
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// The page's messages in `lang`, one per slot of [`otp_relay_shared::i18n::page_slots`] (the
/// numbering the browser build uses), `null` for a plural form the language does not use.
fn page_messages(lang: otp_relay_shared::Lang) -> Vec<Option<String>> {
    otp_relay_shared::Catalogue::of(lang)
        .page_slot_texts()
        .into_iter()
        .map(|text| text.map(str::to_string))
        .collect()
}

/// What a widget needs to know before it starts: whether the page's origin may use the API
/// (a browser cannot read the API's 403, which carries no CORS headers), whether codes go to
/// the development outbox, and with `?lang=de` (a language other than English) the page's
/// messages in it, so a widget in another language needs no second request.
#[utoipa::path(get, path = "/widget/v1/status", tag = "widget",
    params(
        ("lang" = Option<String>, Query, description = "A language other than English: the page's messages in it come along", example = "de"),
        ("Origin" = Option<String>, Header, description = "The embedding page's origin"),
    ),
    responses((status = 200, body = WidgetStatus, description = "Whether the page's origin may use the API, whether codes go to the development outbox, and the messages asked for.",
        headers(("Cache-Control" = String, description = "`no-store`")))))]
pub(super) async fn status(
    State(app): State<SharedApp>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    request_headers: HeaderMap,
) -> Response {
    let lang = query
        .as_deref()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("lang=")))
        .and_then(otp_relay_shared::Lang::from_tag);
    let messages = lang
        .filter(|lang| *lang != otp_relay_shared::Lang::En)
        .map(page_messages);
    let origin = request_headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let allowed = origin
        .as_deref()
        .is_none_or(|o| app.config.allowed_origins.iter().any(|a| a == o));
    let link = allowed
        && origin
            .as_deref()
            .and_then(|origin| app.config.branding.get(origin))
            .is_some_and(|brand| brand.link);
    let body = WidgetStatus {
        origin,
        allowed,
        message: (!allowed).then(|| {
            let lang = lang.unwrap_or(otp_relay_shared::Lang::En);
            super::error::sentence(&ApiError::origin_not_allowed(), lang)
        }),
        dev_outbox: app.outbox.is_some(),
        link,
        messages,
    };
    let mut response = axum::Json(body).into_response();
    public_headers(response.headers_mut(), "application/json", "no-store");
    response
}

#[utoipa::path(get, path = "/widget/v1/{file}", tag = "widget",
    params(("file" = String, Path, description = "A content-hashed file the loader names (`otp-relay-frontend-<hash>.js`, `…_bg.wasm`, `style-<hash>.css`)")),
    responses(
        (status = 200, description = "The file, immutable.", content(
            (String = "text/javascript"), (String = "text/css"), (Vec<u8> = "application/wasm")),
            headers(("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"))),
        (status = 404, body = ErrorResponse, description = "`not_found`: no such file in this build."),
    ))]
pub(super) async fn asset(
    State(app): State<SharedApp>,
    Path(file): Path<String>,
    request_headers: HeaderMap,
) -> Response {
    let Some(frontend) = frontend(&app) else {
        return not_available(NO_FRONTEND);
    };
    let plain_name = !file.is_empty()
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let content_type = match file.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        _ => "",
    };
    // Only the build's content-hashed files: their names change whenever their content does.
    if !plain_name || content_type.is_empty() || file == LOADER || !file.contains('-') {
        return not_available("no such widget file.");
    }
    // A release build carries each file precompressed beside it (`file.gz`, by zopfli: smaller
    // than what the relay's own gzip makes); the compression layer leaves an encoded answer be.
    let precompressed = match accepts_gzip(&request_headers) {
        true => frontend.read_gzip(&file).await,
        false => None,
    };
    let encoded = precompressed.is_some();
    let read = match precompressed {
        Some(bytes) => Some(bytes),
        None => frontend.read(&file).await,
    };
    match read {
        Some(bytes) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            public_headers(headers, content_type, "public, max-age=31536000, immutable");
            if encoded {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            response
        }
        None => not_available(
            "no such widget file (the page may be older than the relay's build: reload it).",
        ),
    }
}
