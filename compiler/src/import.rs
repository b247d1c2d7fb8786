//! `sight import`: turns files a project already has (Compose files, alert policies) into a
//! sight project, a stage before the pipeline rather than after it. Pure like the core: text
//! in, files and warnings out; the CLI reads and writes.
//!
//! The rule is that nothing is lost in silence: every field is either written into the spec
//! or named in a [`Warning`] with its file and line. The generated spec is formatted by
//! [`crate::format::format_source`] and compiled before it is returned; the policies of sight
//! that the original breaks (a plain-text credential, an image without a tag, …) are turned
//! into warnings in `sight.toml`'s `[lints]`, listed there, so that the import builds files
//! equivalent to the original and `sight check` keeps showing what to fix.

pub mod alert;
pub mod compose;
mod yaml;

use std::collections::BTreeMap;

use crate::format::quote;
use crate::project::{compile, ProjectInput};

/// A field that was not imported, or imported with a change the user should know about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// The imported file (as given).
    pub file: String,
    /// 1-based line; 0 when the whole file is meant.
    pub line: usize,
    /// The field's path, such as `services.db.ulimits`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: warning: {}: {}", self.file, self.line, self.field, self.message)
    }
}

/// What an import produced.
#[derive(Debug, Default)]
pub struct Imported {
    /// Path (relative to the output folder) → contents: `sight.toml`, the spec, secret files.
    pub files: BTreeMap<String, String>,
    pub warnings: Vec<Warning>,
    /// Every field path that was written into the spec (the rest are in `warnings`).
    pub mapped: Vec<String>,
}

/// Lints the importer may lower to warnings: sight's policies, which a working original may
/// break. Any other error means the importer wrote something wrong.
const POLICY_LINTS: &[(&str, &str)] = &[
    ("secret-in-plain-env", "a credential is a plain environment value, as in the original: move it to a `secret`"),
    ("image-tag-latest", "an image is tagged `latest`, as in the original: pin a version"),
    ("unpinned-image", "an image has no tag, as in the original: pin a version"),
    ("duplicate-host-port", "two services publish one host port (in different profiles, in the original)"),
    ("port-mismatch", "a command's port differs from the first published one"),
    ("listens-on-localhost", "a command binds to localhost, as in the original"),
    ("unpinned-secret-version", "imported secrets name version 1 of a Secret Manager secret that may not exist yet"),
    ("depends-on-without-healthcheck", "dependencies without a health check, as in the original"),
    ("unused-secret", "a secret the original declares but no service uses"),
];

/// The spec, `sight.toml` and secret files of an import, compiled: lints for the policies the
/// original breaks are added; other diagnostics become warnings (a bug of the importer).
fn finish(mut imported: Imported, project: &str, spec_file: &str, spec: &str, first_file: &str) -> Imported {
    let spec = crate::format::format_source(spec).unwrap_or_else(|| spec.to_string());
    let mut lints: Vec<&str> = Vec::new();
    let manifest = |lints: &[&str]| -> String {
        let mut text = format!(
            "# Imported by `sight import` from {first_file}; see the import's warnings.\n[project]\nname = {}\n",
            quote(project)
        );
        if !lints.is_empty() {
            text.push_str(
                "\n# The original breaks these policies of sight; they are warnings until it no longer does.\n[lints]\n",
            );
            for lint in lints {
                let why = POLICY_LINTS.iter().find(|(l, _)| l == lint).map_or("", |(_, why)| why);
                text.push_str(&format!("# {why}\n{lint} = \"warn\"\n"));
            }
        }
        text
    };
    let input = |manifest: String| ProjectInput {
        manifest,
        sources: vec![(spec_file.to_string(), spec.clone())],
        ..ProjectInput::default()
    };
    let compiled = compile(&input(manifest(&lints)));
    for d in compiled.diagnostics.iter().filter(|d| d.is_error()) {
        if POLICY_LINTS.iter().any(|(l, _)| *l == d.code.name) && !lints.contains(&d.code.name) {
            lints.push(d.code.name);
        }
    }
    lints.sort_unstable();
    let compiled = compile(&input(manifest(&lints)));
    for d in compiled.diagnostics.iter().filter(|d| d.is_error()) {
        imported.warnings.push(Warning {
            file: spec_file.to_string(),
            line: 0,
            field: d.code.code.to_string(),
            message: format!("the imported spec does not check: {} (fix it by hand)", d.message),
        });
    }
    imported.files.insert("sight.toml".to_string(), manifest(&lints));
    imported.files.insert(spec_file.to_string(), spec);
    imported.warnings.sort();
    imported.warnings.dedup();
    imported
}

/// A name sight accepts for a declaration (lowercase letters, digits, `_`, `-`, starting with a
/// letter, at most 49 characters).
pub fn sight_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    if !out.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
        out = format!("x-{out}");
    }
    let out: String = out.chars().take(49).collect();
    out.trim_end_matches('-').to_string()
}

/// A field or map key as sight source: bare when it is a name, else quoted.
fn key(name: &str) -> String {
    let bare = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_string()
    } else {
        quote(name)
    }
}

/// One member of a declaration, rendered as sight source.
#[derive(Clone, Debug)]
enum Entry {
    Field(String, String),
    Block(String, Option<String>, Vec<Entry>),
    /// A member written as is (`when cpu > 80% for 5m`).
    Raw(String),
}

impl Entry {
    fn field(name: &str, value: impl Into<String>) -> Entry {
        Entry::Field(key(name), value.into())
    }

    fn block(name: &str, kind: Option<&str>, body: Vec<Entry>) -> Entry {
        Entry::Block(key(name), kind.map(str::to_string), body)
    }
}

/// A top-level declaration.
#[derive(Clone, Debug)]
struct Decl {
    keyword: &'static str,
    name: String,
    kind: Option<String>,
    comments: Vec<String>,
    body: Vec<Entry>,
}

fn render(decls: &[Decl]) -> String {
    fn entries(out: &mut String, body: &[Entry], depth: usize) {
        let pad = "  ".repeat(depth);
        for entry in body {
            match entry {
                Entry::Field(name, value) => out.push_str(&format!("{pad}{name} = {value}\n")),
                Entry::Raw(text) => out.push_str(&format!("{pad}{text}\n")),
                Entry::Block(name, kind, body) => {
                    let kind = kind.as_ref().map(|k| format!(" : {k}")).unwrap_or_default();
                    out.push_str(&format!("{pad}{name}{kind} {{\n"));
                    entries(out, body, depth + 1);
                    out.push_str(&format!("{pad}}}\n"));
                }
            }
        }
    }
    let mut out = String::new();
    for decl in decls {
        for comment in &decl.comments {
            out.push_str(&format!("# {comment}\n"));
        }
        let kind = decl.kind.as_ref().map(|k| format!(" : {k}")).unwrap_or_default();
        out.push_str(&format!("{} {}{kind} {{\n", decl.keyword, decl.name));
        entries(&mut out, &decl.body, 1);
        out.push_str("}\n\n");
    }
    out
}

/// `["a", "b"]`.
fn list<S: AsRef<str>>(items: &[S]) -> String {
    format!("[{}]", items.iter().map(|i| quote(i.as_ref())).collect::<Vec<_>>().join(", "))
}

/// A duration in sight's syntax (one unit).
fn duration(ms: u64) -> String {
    crate::units::duration_single(ms)
}

/// The `project` block: the cloud settings are placeholders the user fills in.
fn project_decl(name: &str) -> Decl {
    Decl {
        keyword: "project",
        name: name.to_string(),
        kind: None,
        comments: vec![
            "Imported by `sight import`. The cloud settings below are placeholders: set them before".to_string(),
            "adding pipelines, alerts or Cloud Run deploys.".to_string(),
        ],
        body: vec![Entry::block(
            "gcp",
            None,
            vec![
                Entry::field("project", quote("my-project")),
                Entry::field("region", quote("europe-west1")),
                Entry::field("registry", quote("europe-west1-docker.pkg.dev/my-project/app")),
            ],
        )],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys() {
        assert_eq!(sight_name("Flask_App"), "flask_app");
        assert_eq!(sight_name("2fa"), "x-2fa");
        assert_eq!(sight_name("a.b"), "a-b");
        assert_eq!(key("discovery.type"), "\"discovery.type\"");
        assert_eq!(key("PG_HOST"), "PG_HOST");
    }
}
