//! The layout's rules. The domain (`relay/domain`) is a crate of its own whose dependencies
//! hold no HTTP, mail, Redis or tokio, which the compiler enforces and `cargo tree` shows; on the
//! sources: only `http/` and `server.rs` know axum (and the test-only `testing.rs` and `tests/`), only `mail/` knows lettre, and the domain
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
        // The in-process relay and its tests drive the router, and are built for tests only.
        let test_only = file == "testing.rs" || file.starts_with("tests/");
        assert!(
            file.starts_with("http/") || file == "server.rs" || test_only,
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

/// The relay's top-level modules, each with the ones it names as `crate::…` (the in-process
/// tests in `src/tests/` excepted: they may name anything).
fn module_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let module_of = |path: &Path| {
        let relative = path.strip_prefix(&root).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        first.to_string_lossy().trim_end_matches(".rs").to_string()
    };
    let modules: std::collections::BTreeSet<String> = files
        .iter()
        .map(|path| module_of(path))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph = std::collections::BTreeMap::new();
    for path in &files {
        let from = module_of(path);
        if from == "tests" || from == "lib" || from == "main" {
            continue;
        }
        let source = std::fs::read_to_string(path).unwrap();
        let names: &mut std::collections::BTreeSet<String> = graph.entry(from.clone()).or_default();
        for to in &modules {
            if *to != from && source.contains(&format!("crate::{to}")) {
                names.insert(to.clone());
            }
        }
    }
    graph
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = module_imports();
    assert!(graph["server"].contains("http"), "{graph:?}");
    // Depth-first: a module met again while still on the path closes a circle.
    fn visit(
        module: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) {
        if let Some(start) = path.iter().position(|m| m == module) {
            panic!("import circle: {} -> {module}", path[start..].join(" -> "));
        }
        if !done.insert(module.to_string()) {
            return;
        }
        path.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
    }
    let mut done = std::collections::BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}

/// The string literals of a source file's code before its tests (comments skipped), with their
/// line numbers. Good enough for the sources here: no raw strings hold sentences.
fn literals(text: &str) -> Vec<(usize, String)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let end = after
                .char_indices()
                .scan(false, |escaped, (i, c)| {
                    let closes = c == '"' && !*escaped;
                    *escaped = c == '\\' && !*escaped;
                    Some((i, closes))
                })
                .find(|(_, closes)| *closes)
                .map(|(i, _)| i);
            let Some(end) = end else { break };
            found.push((number + 1, after[..end].to_string()));
            rest = &after[end + 1..];
        }
    }
    found
}

/// Whether a literal reads as an English sentence for a person: a capital, words, and a full
/// stop, question or exclamation mark.
fn is_sentence(literal: &str) -> bool {
    literal.chars().next().is_some_and(char::is_uppercase)
        && literal.split_whitespace().count() >= 3
        && literal.trim_end().ends_with(['.', '?', '!'])
}

/// Refusals are data in the domain and in the shared rules; the catalogues word them (`i18n/`).
#[test]
fn no_english_sentence_in_the_domain_or_the_shared_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("domain/src"), &mut files);
    sources(&root.join("../shared/src"), &mut files);
    let mut sentences = Vec::new();
    for file in files {
        // The catalogue machinery's own tests and examples are its business.
        if file.ends_with("i18n.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, literal) in literals(&text) {
            if is_sentence(&literal) {
                sentences.push(format!("{}:{line}: {literal}", file.display()));
            }
        }
    }
    assert!(sentences.is_empty(), "{sentences:#?}");
    // The check can fail: it finds the kind of sentence the domain used to hold.
    let old =
        r#"Err(ApiError::new(ErrorCode::Expired, "This code has expired. Request a new code."))"#;
    assert_eq!(literals(old).len(), 1);
    assert!(is_sentence(&literals(old)[0].1));
}
