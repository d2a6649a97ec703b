//! The baseline for `make load`: a bare axum endpoint that answers every POST with a fixed JSON
//! error, as the relay answers a wrong code, on the same runtime and HTTP stack. What the relay
//! costs per verify is measured as a ratio of this in the same run.
//!
//! With `--redis URL`, each answer first waits for one script that does nothing (`return 1`),
//! sent through the same Redis client the relay uses: the floor of one round trip to a shared
//! store, which no store layout can go below.
//!
//! Usage: bare [--listen 127.0.0.1:0] [--redis redis://…]; prints `listening on http://ADDR`.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use redis::aio::ConnectionManager;
use std::sync::Arc;

const WRONG_CODE: &str = r#"{"error":{"code":"wrong_code","message":"That code is not right. You have 9 attempts left.","attempts_left":9}}"#;

/// The Redis to wait for, if any.
type Floor = Option<Arc<(ConnectionManager, redis::Script)>>;

async fn wrong_code(State(floor): State<Floor>) -> impl IntoResponse {
    if let Some(floor) = floor {
        let (connection, script) = &*floor;
        let mut connection = connection.clone();
        let answered: Result<i64, _> = script
            .key("{otp-relay}:floor")
            .invoke_async(&mut connection)
            .await;
        if answered.is_err() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"error":{"code":"unavailable"}}"#,
            );
        }
    }
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "application/json")],
        WRONG_CODE,
    )
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let listen = flag(&args, "--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let floor: Floor = match flag(&args, "--redis") {
        Some(url) => {
            let connection = redis::Client::open(url)?.get_connection_manager().await?;
            Some(Arc::new((connection, redis::Script::new("return 1"))))
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/api/v1/challenges/verify", post(wrong_code))
        .with_state(floor);
    axum::serve(listener, app).await?;
    Ok(())
}
