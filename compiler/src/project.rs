//! A project: `sight.toml` (the manifest) plus `*.sight` files, handed to the core as text.
//!
//! Reading files is the CLI's job ([`crate::cli`]); this module turns already-read text into
//! a [`Manifest`] and runs the stages in order.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::check::DeferredBodyFailed;
use crate::diagnostics::{codes, Code, Diagnostic, Severity};
use crate::model::{Model, Outputs};
use crate::source::{FileId, SourceFile, SourceMap, Span};
use crate::stdlib::Stdlib;

pub const MANIFEST: &str = "sight.toml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub project: ManifestProject,
    #[serde(default)]
    pub output: ManifestOutput,
    /// Code or name → `allow`, `warn` or `deny`.
    #[serde(default)]
    pub lints: BTreeMap<String, LintLevel>,
    /// A folder of extra stdlib kinds and templates, relative to the project root.
    pub stdlib: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestProject {
    pub name: Option<String>,
}

/// Where each target is written, relative to the output root; `false` turns a target off.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestOutput {
    #[serde(default = "default_root")]
    pub compose: Target,
    #[serde(default = "enabled")]
    pub dockerfiles: bool,
    #[serde(default = "default_root")]
    pub cloudbuild: Target,
    #[serde(default = "default_alerts")]
    pub alerts: Target,
    #[serde(default = "default_cloud_run")]
    pub cloud_run: Target,
}

impl Default for ManifestOutput {
    fn default() -> Self {
        ManifestOutput {
            compose: default_root(),
            dockerfiles: true,
            cloudbuild: default_root(),
            alerts: default_alerts(),
            cloud_run: default_cloud_run(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Target {
    Enabled(bool),
    Dir(String),
}

impl Target {
    fn dir(&self, default: &str) -> Option<String> {
        match self {
            Target::Enabled(false) => None,
            Target::Enabled(true) => Some(default.to_string()),
            Target::Dir(d) => Some(d.trim_end_matches('/').to_string()),
        }
    }
}

fn default_root() -> Target {
    Target::Dir(".".into())
}
fn default_alerts() -> Target {
    Target::Dir("monitoring/alerts".into())
}
fn default_cloud_run() -> Target {
    Target::Dir("deploy/cloud-run".into())
}
fn enabled() -> bool {
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LintLevel {
    Allow,
    Warn,
    Deny,
}

impl Manifest {
    pub fn outputs(&self) -> Outputs {
        Outputs {
            compose: self.output.compose.dir("."),
            dockerfiles: self.output.dockerfiles,
            cloudbuild: self.output.cloudbuild.dir("."),
            alerts: self.output.alerts.dir("monitoring/alerts"),
            cloud_run: self.output.cloud_run.dir("deploy/cloud-run"),
        }
    }
}

/// A project as text: the manifest, the spec files and any project stdlib files.
#[derive(Clone, Debug, Default)]
pub struct ProjectInput {
    pub manifest: String,
    /// (path relative to the project root, text). Order does not matter.
    pub sources: Vec<(String, String)>,
    /// (path relative to the stdlib folder, text).
    pub stdlib_files: Vec<(String, String)>,
    /// Spec files that are not UTF-8: (path, offset of the first bad byte). Their text in
    /// `sources` is the lossy conversion.
    pub invalid_utf8: Vec<(String, usize)>,
}

/// What compiling a project produced.
pub struct Compiled {
    pub sources: SourceMap,
    pub model: Option<Model>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads the manifest alone (the CLI needs `stdlib` before it reads the rest).
pub fn parse_manifest(text: &str, file: FileId) -> Result<Manifest, Box<Diagnostic>> {
    toml::from_str::<Manifest>(text).map_err(|e| {
        let span = e.span().map_or(Span::new(file, 0, 0), |r| Span::new(file, r.start, r.end));
        Box::new(
            Diagnostic::new(&codes::INVALID_MANIFEST, format!("`{MANIFEST}` is invalid: {}", e.message().trim()))
                .at(span, "here")
                .with_help("see docs/language.md#sighttoml for the manifest's keys"),
        )
    })
}

/// Runs syntax → check → model on a project. Pure: no file system, clock or environment.
pub fn compile(input: &ProjectInput) -> Compiled {
    compile_files(input, copied_specs(input), Parsing::DeferringServices)
}

/// The spec files of `input`, copied.
fn copied_specs(input: &ProjectInput) -> Vec<SourceFile> {
    input.sources.iter().map(|(p, t)| SourceFile::new(p.clone(), t.clone())).collect()
}

/// [`compile`], moving the spec texts out of `input` instead of copying them (its paths
/// stay): a large project's specs are held once, not twice.
pub fn compile_taking_texts(input: &mut ProjectInput) -> Compiled {
    let files = input.sources.iter_mut().map(|(p, t)| SourceFile::new(p.clone(), std::mem::take(t))).collect();
    compile_files(input, files, Parsing::DeferringServices)
}

/// [`compile`] with every file parsed whole up front, service bodies included: the
/// reference that deferring them must equal, diagnostic for diagnostic (the unit tests below
/// and the fuzz target `check` compare the two).
pub fn compile_parsing_whole(input: &ProjectInput) -> Compiled {
    compile_files(input, copied_specs(input), Parsing::Whole)
}

/// `files`: the spec files of `input`, in its order. `parsing`: how they are parsed first.
fn compile_files(input: &ProjectInput, mut files: Vec<SourceFile>, parsing: Parsing) -> Compiled {
    files.push(SourceFile::new(MANIFEST, input.manifest.clone()));
    let sources = SourceMap::new(files);
    let manifest_id = sources.iter().find(|(_, f)| f.path == MANIFEST).map_or(FileId(0), |(id, _)| id);
    let mut diagnostics = Vec::new();

    let manifest = match parse_manifest(&input.manifest, manifest_id) {
        Ok(m) => m,
        Err(d) => {
            diagnostics.push(*d);
            Manifest::default()
        }
    };
    diagnostics.extend(crate::paths::manifest_paths(&manifest, &input.manifest, manifest_id));
    let mut stdlib = match Stdlib::builtin() {
        Ok(lib) => lib,
        Err(errors) => {
            for e in errors {
                diagnostics.push(internal(&format!("the built-in stdlib file `{}` is invalid: {}", e.path, e.message)));
            }
            Stdlib::default()
        }
    };
    let mut stdlib_errors = Vec::new();
    stdlib.add_files(input.stdlib_files.iter().cloned(), &mut stdlib_errors);
    for e in stdlib_errors {
        diagnostics.push(
            Diagnostic::new(
                &codes::INVALID_MANIFEST,
                format!("the project's stdlib file `{}` is invalid: {}", e.path, e.message.trim()),
            )
            .with_help("kinds follow the format of the built-in ones (docs/stdlib.md)"),
        );
    }

    for (path, offset) in &input.invalid_utf8 {
        if let Some((id, _)) = sources.iter().find(|(_, f)| &f.path == path) {
            diagnostics.push(
                Diagnostic::new(&codes::INVALID_ENCODING, format!("`{path}` is not valid UTF-8"))
                    .at(Span::new(id, *offset, *offset + 1), "invalid byte here")
                    .with_help("save the file as UTF-8"),
            );
        }
    }
    // Service bodies are parsed one at a time while they are checked; when one turns out to
    // have a syntax error, the project is parsed whole and checked again, so that every syntax
    // error is reported as the parser recovers from it.
    let (model, found) = parse_and_check(input, &sources, &manifest, &stdlib, manifest_id, parsing)
        .or_else(|_| parse_and_check(input, &sources, &manifest, &stdlib, manifest_id, Parsing::Whole))
        .unwrap_or_default();
    diagnostics.extend(found);

    apply_lint_levels(&manifest, manifest_id, &input.manifest, &mut diagnostics);
    crate::diagnostics::sort(&mut diagnostics);
    let model = if diagnostics.iter().any(Diagnostic::is_error) { None } else { model };
    Compiled { sources, model, diagnostics }
}

/// How spec files are parsed ([`crate::syntax`]).
#[derive(Clone, Copy, PartialEq)]
enum Parsing {
    /// Service bodies are skipped, then parsed one at a time by the checker: a large project's
    /// service trees are never all held at once.
    DeferringServices,
    Whole,
}

/// Syntax, then check: the model (`None` after a syntax error) and the diagnostics of both.
fn parse_and_check(
    input: &ProjectInput,
    sources: &SourceMap,
    manifest: &Manifest,
    stdlib: &Stdlib,
    manifest_id: FileId,
    parsing: Parsing,
) -> Result<(Option<Model>, Vec<Diagnostic>), DeferredBodyFailed> {
    let mut diagnostics = Vec::new();
    let mut trees = Vec::new();
    let mut spec_paths = Vec::new();
    let specs: Vec<(FileId, &SourceFile)> = sources.iter().filter(|(_, f)| f.path != MANIFEST).collect();
    let mut parsed = parse_all(&specs, parsing).into_iter();
    for &(id, file) in &specs {
        let Some(Some((tree, mut diags))) = parsed.next() else {
            diagnostics.push(too_large(id, &file.path));
            trees.push((id, crate::syntax::ast::File::default()));
            spec_paths.push(file.path.clone());
            continue;
        };
        // The replacement character of an invalid byte is not part of the language either, but
        // S0006 already reports it at the same place.
        let bad_byte = input.invalid_utf8.iter().find(|(path, _)| *path == file.path).map(|(_, offset)| *offset);
        diags.retain(|d| {
            !(d.code.code == codes::SYNTAX_ERROR.code
                && bad_byte.is_some_and(|b| d.primary.as_ref().is_some_and(|l| l.span.start as usize == b)))
        });
        diagnostics.extend(diags);
        trees.push((id, tree));
        spec_paths.push(file.path.clone());
    }
    if trees.is_empty() {
        diagnostics.push(
            Diagnostic::new(&codes::NO_SOURCES, "the project has no `.sight` files")
                .at(Span::new(manifest_id, 0, 0), "this project")
                .with_help("add a spec such as `platform.sight` next to `sight.toml`, or run `sight init`"),
        );
    }
    if let Some(d) = too_many_declarations(&trees) {
        if parsing == Parsing::DeferringServices {
            // Nothing is checked: the syntax errors of every body are reported by parsing whole.
            return Err(DeferredBodyFailed);
        }
        // Checking would take as long as the project is large: report the limit alone.
        diagnostics.push(d);
        trees.clear();
    }
    // Without a spec there is nothing to check (a missing `project` would only repeat S0011).
    if trees.is_empty() {
        return Ok((None, diagnostics));
    }
    let syntax_ok = !diagnostics.iter().any(Diagnostic::is_error);
    let (model, check_diags) = crate::check::check(&trees, sources, manifest, stdlib, spec_paths)?;
    // After a syntax error, checking goes on for what parsed, but no model comes out.
    diagnostics.extend(check_diags);
    Ok((model.filter(|_| syntax_ok), diagnostics))
}

/// S0008: a spec file over the size limit (it is not parsed).
fn too_large(id: FileId, path: &str) -> Diagnostic {
    let limit = crate::limits::file_limit_text();
    Diagnostic::new(&codes::FILE_TOO_LARGE, format!("`{path}` is larger than {limit}"))
        .at(Span::new(id, 0, 0), "this file")
        .with_help(format!(
            "a spec file holds at most {limit}: split it into several `.sight` files, or check what generated it"
        ))
}

/// S0014: more declarations than [`crate::limits::MAX_DECLARATIONS`], at the first one past it.
fn too_many_declarations(trees: &[(FileId, crate::syntax::ast::File)]) -> Option<Diagnostic> {
    let max = crate::limits::MAX_DECLARATIONS;
    let total: usize = trees.iter().map(|(_, t)| t.items.len()).sum();
    if total <= max {
        return None;
    }
    let first_extra = trees.iter().flat_map(|(_, t)| &t.items).nth(max)?;
    Some(
        Diagnostic::new(
            &codes::TOO_MANY_DECLARATIONS,
            format!("the project has {total} declarations, more than {max}"),
        )
        .at(first_extra.keyword.span.to(first_extra.name.span), format!("declaration {}", max + 1))
        .with_help(format!(
            "sight checks at most {max} declarations per project: split it into several projects (the spec is probably generated wrongly)"
        )),
    )
}

/// Parses every spec file (`None` for one over the size limit). A large project's files are
/// parsed on parallel threads; the trees are the same either way, in the files' order.
fn parse_all(specs: &[(FileId, &SourceFile)], parsing: Parsing) -> Vec<Option<ParseResult>> {
    let parse = |(id, file): &(FileId, &SourceFile)| {
        (file.text.len() <= crate::limits::MAX_FILE_BYTES).then(|| match parsing {
            Parsing::DeferringServices => crate::syntax::parse_deferring_services(*id, &file.text),
            Parsing::Whole => crate::syntax::parse(*id, &file.text),
        })
    };
    let total: usize = specs.iter().map(|(_, f)| f.text.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(specs.len());
    // Below a few hundred kilobytes a thread costs more than it saves.
    if threads < 2 || total < 256 << 10 {
        return specs.iter().map(parse).collect();
    }
    let mut results: Vec<Option<ParseResult>> = Vec::new();
    results.resize_with(specs.len(), || None);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    specs
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, spec)| (i, parse(spec)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            // A panic in the parser (a bug) goes on as if it had happened on this thread.
            let parsed = handle.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload));
            for (i, result) in parsed {
                if let Some(slot) = results.get_mut(i) {
                    *slot = result;
                }
            }
        }
    });
    results
}

type ParseResult = (crate::syntax::ast::File, Vec<Diagnostic>);

/// Where `key = …` is written in the manifest: a line that starts with the key, bare or quoted.
/// (A plain text search would find the key inside a longer, valid one.)
fn lint_key_offset(text: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let rest = line.trim_start();
        let quoted = format!("\"{key}\"");
        let after =
            rest.strip_prefix(quoted.as_str()).map(|r| (r, 1)).or_else(|| rest.strip_prefix(key).map(|r| (r, 0)));
        if let Some((after, quote)) = after {
            if after.trim_start().starts_with('=') {
                return Some(offset + indent + quote);
            }
        }
        offset += line.len();
    }
    text.find(key)
}

/// `[lints]`: `allow` drops a code's diagnostics, `warn` and `deny` set their severity.
fn apply_lint_levels(manifest: &Manifest, manifest_id: FileId, text: &str, diagnostics: &mut Vec<Diagnostic>) {
    let mut levels: BTreeMap<&'static str, LintLevel> = BTreeMap::new();
    for (key, level) in &manifest.lints {
        match Code::by_code_or_name(key) {
            Some(code) => {
                levels.insert(code.code, *level);
            }
            None => {
                let offset = lint_key_offset(text, key).unwrap_or(0);
                let help = crate::diagnostics::unknown_name_help(key, codes::ALL.iter().map(|c| c.name));
                diagnostics.push(
                    Diagnostic::new(&codes::UNKNOWN_LINT, format!("no diagnostic code or name `{key}`"))
                        .at(Span::new(manifest_id, offset, offset + key.len()), "unknown lint")
                        .with_help(format!("{help} (`sight explain --list` lists every code)")),
                );
            }
        }
    }
    diagnostics.retain_mut(|d| match levels.get(d.code.code) {
        // Syntax errors and project errors cannot be silenced: there would be no model.
        Some(_) if d.code.code < "S0100" => true,
        Some(LintLevel::Allow) => false,
        Some(LintLevel::Warn) => {
            d.severity = Severity::Warning;
            true
        }
        Some(LintLevel::Deny) => {
            d.severity = Severity::Error;
            true
        }
        None => true,
    });
}

/// A failure that is sight's fault, not the user's.
pub fn internal(message: &str) -> Diagnostic {
    Diagnostic::new(&codes::INVALID_MANIFEST, format!("internal error: {message}"))
        .with_help("this is a bug in sight, please report it")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `input` compiled as usual (service bodies deferred) and parsed whole, as debug text.
    fn both_ways(input: &ProjectInput) -> (String, String) {
        let show = |c: Compiled| format!("{:#?}\n{:#?}", c.diagnostics, c.model);
        (show(compile(input)), show(compile_parsing_whole(input)))
    }

    /// Whether checking `input` with its service bodies deferred stands, without falling back
    /// to the whole parse.
    fn defers(input: &ProjectInput) -> bool {
        let stdlib = Stdlib::builtin().unwrap_or_default();
        parse_and_check(
            input,
            &SourceMap::new(copied_specs(input)),
            &Manifest::default(),
            &stdlib,
            FileId(0),
            Parsing::DeferringServices,
        )
        .is_ok()
    }

    fn spec(text: &str) -> ProjectInput {
        let project = "project p {\n  gcp { project = \"p\"  region = \"europe-west1\" }\n}\n";
        ProjectInput {
            manifest: "[project]\nname = \"p\"\n".into(),
            sources: vec![("a.sight".into(), format!("{project}{text}"))],
            ..ProjectInput::default()
        }
    }

    /// Deferring service bodies changes nothing: each bundled example and UI case gives the
    /// same diagnostics and model as when every file is parsed whole. And it is what the
    /// examples take: none falls back to the whole parse.
    #[test]
    fn deferring_service_bodies_changes_no_result() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<_> = ["examples", "tests/ui"]
            .iter()
            .flat_map(|d| std::fs::read_dir(root.join(d)).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| p.join(MANIFEST).is_file())
            .collect();
        dirs.sort();
        assert!(dirs.len() > 20, "examples and UI cases not found under {}", root.display());
        for dir in dirs {
            let input = crate::cli::read_project(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let (deferred, whole) = both_ways(&input);
            assert_eq!(deferred, whole, "{}", dir.display());
            if dir.starts_with(root.join("examples")) {
                assert!(defers(&input), "{} falls back to the whole parse", dir.display());
            }
        }
    }

    /// Where a skipped body and its parse disagree, or a body has an error of any kind, the
    /// result is the whole parse's, error for error.
    #[test]
    fn bodies_that_do_not_read_cleanly_give_the_whole_parse_result() {
        let cases = [
            // Braces in strings and comments do not count.
            "service a {\n  image = \"x:1\"\n  command = [\"sh\", \"-c\", \"echo } {{\\\" }\"]  # } {\n}\n",
            // A syntax error in a body, and in the body of a second declaration of a name.
            "service a {\n  image = \"x:1\"\n  port = = 1\n}\n",
            "service a {\n  image = \"x:1\"\n}\nservice a {\n  image = [\n}\n",
            // A body never closed; a block closed by the wrong bracket; a bad character.
            "service a {\n  image = \"x:1\"\n",
            "service a {\n  image = \"x:1\"\n  env { A = [1, 2 }\n}\nservice b { image = \"y:1\" }\n",
            "service a {\n  image = \"x:1\" @\n}\n",
            // An unterminated string holding a brace; an escape at the end of a line.
            "service a {\n  image = \"x:1 }\n}\n",
            "service a {\n  image = \"x:1\\\n}\"\n}\n",
            // A comment on the last line, without a line break.
            "service a {\n  image = \"x:1\"\n} # {",
        ];
        for text in cases {
            let (deferred, whole) = both_ways(&spec(text));
            assert_eq!(deferred, whole, "{text}");
        }
        assert!(defers(&spec(cases[0])), "braces in strings and comments must not end a skipped body");
        assert!(!defers(&spec(cases[1])), "a syntax error in a deferred body must send the project to the whole parse");
    }
}
