//! Shared helpers: compile a project from a folder or from strings, render diagnostics.

use std::path::{Path, PathBuf};

use sight::diagnostics::render::{render, Format};
use sight::project::{compile, Compiled, ProjectInput};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project header examples may leave out: a `project` block in its own file.
pub const PREAMBLE: &str = "project demo {\n  gcp { project = \"demo-prod\"  region = \"europe-west1\"  registry = \"europe-west1-docker.pkg.dev/demo-prod/app\" }\n}\n";

/// The bundled examples (every folder of `examples/` with a `sight.toml`), sorted.
pub fn example_dirs() -> Vec<PathBuf> {
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("sight.toml").exists())
        .collect();
    examples.sort();
    examples
}

pub fn compile_dir(dir: &Path) -> Compiled {
    let input = sight::cli::read_project(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    compile(&input)
}

/// Compiles one spec (plus the preamble when it declares no project).
pub fn compile_source(manifest: &str, source: &str) -> Compiled {
    let mut sources = Vec::new();
    if !source.trim().is_empty() {
        sources.push(("spec.sight".to_string(), source.to_string()));
        if !source.lines().any(|l| l.starts_with("project ")) {
            sources.push(("preamble.sight".to_string(), PREAMBLE.to_string()));
        }
    }
    compile(&ProjectInput { manifest: manifest.to_string(), sources, ..ProjectInput::default() })
}

pub fn human(compiled: &Compiled) -> String {
    render(&compiled.diagnostics, &compiled.sources, "", Format::Human, false)
}

pub fn codes(compiled: &Compiled) -> Vec<&'static str> {
    let mut codes: Vec<&str> = compiled.diagnostics.iter().map(|d| d.code.code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

pub fn assert_matches_file(actual: String, path: &Path) {
    snapbox::Assert::new()
        .action_env(snapbox::assert::DEFAULT_ACTION_ENV)
        .normalize_paths(false)
        .eq(actual, snapbox::Data::read_from(path, None));
}
