//! Embeds the standard library (`stdlib/`) and the diagnostic explanations
//! (`docs/diagnostics/*.md`) into the binary, so that `sight` is self-contained.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut out = String::new();
    out.push_str("/// Every file under `stdlib/`, as (path relative to `stdlib/`, text), sorted by path.\n");
    out.push_str("pub static STDLIB_FILES: &[(&str, &str)] = &[\n");
    let stdlib = files_under(&root.join("stdlib"));
    for (rel, abs) in &stdlib {
        writeln!(out, "    ({rel:?}, include_str!({abs:?})),").expect("write to String");
    }
    out.push_str("];\n\n");
    // Kinds are TOML for the people who write them; the binary reads them as JSON, which
    // deserializes into the same types (both go through serde) several times faster: reading
    // the stdlib is a fixed cost of every `sight` run (docs/performance.md).
    out.push_str("/// The kinds of `stdlib/kinds/`, converted to JSON at build time: (path, JSON text).\n");
    out.push_str("pub static STDLIB_KINDS_JSON: &[(&str, &str)] = &[\n");
    for (rel, abs) in &stdlib {
        if rel.starts_with("kinds/") && rel.ends_with(".toml") {
            let text = std::fs::read_to_string(abs).expect("read a stdlib kind");
            let value: toml::Value =
                toml::from_str(&text).unwrap_or_else(|e| panic!("stdlib/{rel} is not valid TOML: {e}"));
            let json = serde_json::to_string(&value).expect("a TOML value converts to JSON");
            writeln!(out, "    ({rel:?}, {json:?}),").expect("write to String");
        }
    }
    out.push_str("];\n\n/// `docs/diagnostics/<CODE>.md`, as (code, text), sorted by code.\n");
    out.push_str("pub static EXPLAIN_TEXTS: &[(&str, &str)] = &[\n");
    for (rel, abs) in files_under(&root.join("docs/diagnostics")) {
        if let Some(code) = rel.strip_suffix(".md").filter(|c| c.starts_with('S')) {
            writeln!(out, "    ({code:?}, include_str!({abs:?})),").expect("write to String");
        }
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
    println!("cargo:rerun-if-changed=stdlib");
    println!("cargo:rerun-if-changed=docs/diagnostics");
}

fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

fn walk(base: &Path, dir: &Path, found: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            walk(base, &path, found);
        } else if let Ok(rel) = path.strip_prefix(base) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if !rel.ends_with(".md") || base.ends_with("diagnostics") {
                found.push((rel, path.to_string_lossy().into_owned()));
            }
        }
    }
}
