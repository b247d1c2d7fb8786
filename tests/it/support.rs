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

/// A spec file a UI case writes when it runs (`generated.toml`): `head`, then `line` `count`
/// times, each ending in a line break. Inputs past a size limit are megabytes of one line.
#[derive(serde::Deserialize)]
struct GeneratedFile {
    name: String,
    #[serde(default)]
    head: String,
    line: String,
    count: usize,
}

#[derive(serde::Deserialize)]
struct Generated {
    file: Vec<GeneratedFile>,
}

/// The folder to compile for a UI case: the case itself, or, when it has a `generated.toml`, a
/// copy of it with the generated files written (the copy lives as long as the `TempDir`).
pub fn ui_case_dir(case: &Path) -> (PathBuf, Option<tempfile::TempDir>) {
    let Ok(recipe) = std::fs::read_to_string(case.join("generated.toml")) else {
        return (case.to_path_buf(), None);
    };
    let generated: Generated = toml::from_str(&recipe).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
    let copy = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(case).into_iter().flatten().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    for file in generated.file {
        let mut text = file.head;
        text.reserve((file.line.len() + 1) * file.count);
        for _ in 0..file.count {
            text.push_str(&file.line);
            text.push('\n');
        }
        std::fs::write(copy.path().join(&file.name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    (copy.path().to_path_buf(), Some(copy))
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
