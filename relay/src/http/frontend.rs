//! The built page and widget the relay serves: a folder (`OTP_RELAY_STATIC_DIR`, trunk's `dist/`),
//! or the copy built into the binary (`make release`, the `embed-frontend` feature, `build.rs`).
//! A folder, when set, wins. The page's files from the built-in copy are served here; a folder's
//! by `tower-http`'s `ServeDir`.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;

/// One file of the built frontend, inside the binary.
pub struct EmbeddedFile {
    pub name: &'static str,
    pub body: &'static [u8],
    /// Its gzip-compressed copy (zopfli's, from `make frontend`), where there is one.
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/frontend.rs"));

/// Where the frontend's files come from.
#[derive(Debug, Clone)]
pub enum Frontend {
    Folder(PathBuf),
    BuiltIn,
}

impl Frontend {
    /// The folder the operator set, else the built-in copy if this binary has one.
    pub fn of(static_dir: Option<&PathBuf>) -> Option<Frontend> {
        match static_dir {
            Some(dir) => Some(Frontend::Folder(dir.clone())),
            None if !EMBEDDED.is_empty() => Some(Frontend::BuiltIn),
            None => None,
        }
    }

    /// For the start-up line.
    pub fn describe(&self) -> String {
        match self {
            Frontend::Folder(dir) => format!("the page and the widget from {}", dir.display()),
            Frontend::BuiltIn => format!(
                "the page and the widget built into this binary ({} files)",
                EMBEDDED.len()
            ),
        }
    }

    fn built_in(name: &str) -> Option<&'static EmbeddedFile> {
        EMBEDDED.iter().find(|file| file.name == name)
    }

    /// The file `name` (a plain name, checked by the caller).
    pub async fn read(&self, name: &str) -> Option<Bytes> {
        match self {
            Frontend::Folder(dir) => tokio::fs::read(dir.join(name)).await.ok().map(Bytes::from),
            Frontend::BuiltIn => Self::built_in(name).map(|file| Bytes::from_static(file.body)),
        }
    }

    /// The gzip-compressed copy of `name`, where the build made one.
    pub async fn read_gzip(&self, name: &str) -> Option<Bytes> {
        match self {
            Frontend::Folder(dir) => tokio::fs::read(dir.join(format!("{name}.gz")))
                .await
                .ok()
                .map(Bytes::from),
            Frontend::BuiltIn => {
                Self::built_in(name).and_then(|file| file.gzip.map(Bytes::from_static))
            }
        }
    }

    /// The build's file whose name starts with `prefix` and ends with `suffix` (not wasm-bindgen's
    /// `_bg.js`).
    pub async fn find(&self, prefix: &str, suffix: &str) -> Option<String> {
        let fits = |name: &str| {
            name.starts_with(prefix) && name.ends_with(suffix) && !name.ends_with("_bg.js")
        };
        match self {
            Frontend::Folder(dir) => {
                let mut entries = tokio::fs::read_dir(dir).await.ok()?;
                while let Ok(Some(entry)) = entries.next_entry().await {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if fits(&name) {
                        return Some(name);
                    }
                }
                None
            }
            Frontend::BuiltIn => EMBEDDED
                .iter()
                .map(|file| file.name)
                .find(|name| fits(name))
                .map(str::to_string),
        }
    }
}

/// Whether the request accepts gzip (`Accept-Encoding: gzip`, not with `q=0`).
pub fn accepts_gzip(request_headers: &HeaderMap) -> bool {
    request_headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("gzip"))
                && !parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse() == Ok(0.0)))
        })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /<file>` from the built-in copy: `/` and any path that names no file of it is the page
/// (`index.html`, revalidated every time); the build's content-hashed files are cached for a
/// year. Gzip-compressed where the client takes it and the build made a copy.
pub async fn built_in_page(uri: axum::http::Uri, request_headers: HeaderMap) -> Response {
    let wanted = uri.path().trim_start_matches('/');
    let file = EMBEDDED
        .iter()
        .find(|file| file.name == wanted)
        .or_else(|| EMBEDDED.iter().find(|file| file.name == "index.html"));
    let Some(file) = file else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let gzip = file.gzip.filter(|_| accepts_gzip(&request_headers));
    let mut response = Bytes::from_static(gzip.unwrap_or(file.body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(file.name)),
    );
    let hashed = file.name != "index.html" && file.name.contains('-');
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip.is_some() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}
