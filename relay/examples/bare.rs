//! The baseline for `make load`: a bare axum endpoint that answers every POST with a fixed JSON
//! error, as the relay answers a wrong code, on the same runtime and HTTP stack. What the relay
//! costs per verify is measured as a ratio of this in the same run.
//!
//! Usage: bare [--listen 127.0.0.1:0]; prints `listening on http://ADDR`.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;

async fn wrong_code() -> impl IntoResponse {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":{"code":"wrong_code","message":"That code is not right. You have 9 attempts left.","attempts_left":9}}"#,
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let listen = args
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/api/v1/challenges/verify", post(wrong_code));
    axum::serve(listener, app).await
}
