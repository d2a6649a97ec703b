//! With the `embed-frontend` feature (`make release`), puts the built page and widget (`dist/`,
//! from `make frontend`) into the binary: `frontend.rs` in `OUT_DIR` lists every file with its
//! bytes and, where the build made one, its gzip-compressed copy. Without the feature, or without
//! `dist/`, the list is empty and the relay says at `/` how to get the page. The list is sorted and
//! holds no time stamp or path, so that the same files always give the same binary.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dist =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("../dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let embed = std::env::var_os("CARGO_FEATURE_EMBED_FRONTEND").is_some();
    let mut names: Vec<String> = Vec::new();
    if embed {
        match std::fs::read_dir(&dist) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if entry.path().is_file() && !name.ends_with(".gz") {
                        names.push(name);
                    }
                }
            }
            Err(_) => println!(
                "cargo:warning=no dist/ to embed: this binary serves no page (run `make frontend` first)"
            ),
        }
    }
    names.sort();
    let mut code = String::from("pub static EMBEDDED: &[EmbeddedFile] = &[\n");
    for name in &names {
        let path = dist.join(name);
        let gzip = dist.join(format!("{name}.gz"));
        let gzip = if gzip.is_file() {
            format!("Some(include_bytes!({:?}))", gzip.display().to_string())
        } else {
            "None".to_string()
        };
        let _ = writeln!(
            code,
            "    EmbeddedFile {{ name: {name:?}, body: include_bytes!({:?}), gzip: {gzip} }},",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("frontend.rs");
    if let Err(error) = std::fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
