//! The layout's rules, checked on the sources: only `http/` and `server.rs` know axum, only
//! `mail/` knows lettre, and `core/` reads no clock but the one it is given.

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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
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
fn the_core_reads_only_the_clock_it_is_given() {
    for word in [
        "SystemTime::now",
        "Instant::now",
        "tokio::time",
        "crate::config",
    ] {
        for file in files_mentioning(word) {
            assert!(
                !file.starts_with("core/") || file == "core/clock.rs",
                "{file} uses {word}"
            );
        }
    }
    assert!(files_mentioning("SystemTime::now").contains(&"core/clock.rs".to_string()));
}
