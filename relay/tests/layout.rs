//! The layout's rules. The domain (`relay/domain`) is a crate of its own whose dependencies
//! hold no HTTP, mail, Redis or tokio, which the compiler enforces and `cargo tree` shows; on the
//! sources: only `http/` and `server.rs` know axum, only `mail/` knows lettre, and the domain
//! reads no clock but the one it is given.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files_mentioning(word: &str) -> Vec<String> {
    files_in("src", word)
}

/// The files under `dir` (of the relay's folder) that mention `word`, relative to `dir`.
fn files_in(dir: &str, word: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut found: Vec<String> = files
        .into_iter()
        .filter(|path| std::fs::read_to_string(path).unwrap().contains(word))
        .map(|path| path.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    found.sort();
    found
}

#[test]
fn only_http_and_server_know_axum() {
    let found = files_mentioning("axum");
    assert!(found.iter().any(|f| f.starts_with("http/")), "{found:?}");
    for file in &found {
        assert!(
            file.starts_with("http/") || file == "server.rs",
            "{file} uses axum: {found:?}"
        );
    }
}

#[test]
fn only_mail_knows_lettre() {
    let found = files_mentioning("lettre");
    assert!(found.iter().any(|f| f.starts_with("mail/")), "{found:?}");
    for file in &found {
        assert!(file.starts_with("mail/"), "{file} uses lettre: {found:?}");
    }
}

#[test]
fn the_domain_reads_only_the_clock_it_is_given() {
    for word in ["SystemTime::now", "Instant::now", "tokio::time"] {
        for file in files_in("domain/src", word) {
            assert_eq!(file, "clock.rs", "{file} uses {word}");
        }
    }
    assert!(files_in("domain/src", "SystemTime::now").contains(&"clock.rs".to_string()));
}

/// What the domain crate is built from (`cargo tree`, normal dependencies, all features): no web
/// server, mail, Redis or async runtime crate.
#[test]
fn the_domain_depends_on_no_http_mail_redis_or_runtime() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "tree",
            "-p",
            "otp-relay-domain",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && tree.contains("otp-relay-domain"),
        "{tree}"
    );
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        for forbidden in [
            "axum", "hyper", "lettre", "redis", "tokio", "tower", "reqwest",
        ] {
            assert!(
                !(name == forbidden || name.starts_with(&format!("{forbidden}-"))),
                "the domain depends on {name}:\n{tree}"
            );
        }
    }
}
