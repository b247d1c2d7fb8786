//! Open documents and the projects they belong to: each project is compiled from the files on
//! disk with the open buffers laid over them, by the same `project::compile` as the CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range, Uri};

use crate::diagnostics::{Diagnostic, Severity};
use crate::model::Model;
use crate::project::{self, Compiled, ProjectInput};
use crate::source::{FileId, SourceFile, SourceMap, Span};
use crate::stdlib::Stdlib;

use super::index::Index;
use super::text::{path_to_uri, LineIndex};

pub struct Document {
    pub uri: Uri,
    pub text: String,
    pub version: i32,
    /// The project the document belongs to.
    pub root: PathBuf,
}

pub struct Project {
    pub root: PathBuf,
    /// Whether the root holds a `sight.toml` (else it is the document's folder alone).
    pub has_manifest: bool,
    /// The files on disk, read once and again after saves and file events.
    disk: Option<ProjectInput>,
    pub stdlib: Stdlib,
    pub compiled: Option<Compiled>,
    /// The model of the last compilation without errors, while errors remain (for hovers).
    pub last_model: Option<Model>,
    index: Option<Index>,
    /// What was last published per file: diagnostics and the document version.
    published: BTreeMap<PathBuf, (Vec<lsp_types::Diagnostic>, Option<i32>)>,
}

/// A compiled project, read-only.
pub struct View<'a> {
    pub index: &'a Index,
    pub model: Option<&'a Model>,
    pub stdlib: &'a Stdlib,
    pub compiled: &'a Compiled,
}

impl View<'_> {
    pub fn text(&self, id: FileId) -> &str {
        self.compiled.sources.get(id).map_or("", |f| f.text.as_str())
    }
}

/// One `textDocument/publishDiagnostics` to send.
pub struct Publish {
    pub uri: Uri,
    pub diagnostics: Vec<lsp_types::Diagnostic>,
    pub version: Option<i32>,
}

#[derive(Default)]
pub struct Workspace {
    pub docs: BTreeMap<PathBuf, Document>,
    pub projects: BTreeMap<PathBuf, Project>,
    dirty: BTreeSet<PathBuf>,
}

/// The project root of a file: the nearest folder with a `sight.toml`, else its own folder.
pub fn find_root(path: &Path) -> (PathBuf, bool) {
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for dir in folder.ancestors() {
        if dir.join(project::MANIFEST).is_file() {
            return (dir.to_path_buf(), true);
        }
    }
    (folder, false)
}

/// A path relative to the root, `/`-separated, as the CLI names files.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

fn is_spec(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "sight")
}

impl Workspace {
    pub fn open(&mut self, uri: Uri, path: PathBuf, text: String, version: i32) {
        let (root, has_manifest) = if path.file_name().is_some_and(|n| n == project::MANIFEST) {
            (path.parent().map(Path::to_path_buf).unwrap_or_default(), true)
        } else {
            find_root(&path)
        };
        self.projects.entry(root.clone()).or_insert_with(|| Project::new(root.clone(), has_manifest)).disk = None;
        self.dirty.insert(root.clone());
        self.docs.insert(path, Document { uri, text, version, root });
    }

    pub fn change(&mut self, path: &Path, text: String, version: i32) {
        if let Some(doc) = self.docs.get_mut(path) {
            doc.text = text;
            doc.version = version;
            self.dirty.insert(doc.root.clone());
        }
    }

    /// Closes a document; a project with no open document left is dropped, and its
    /// diagnostics cleared.
    pub fn close(&mut self, path: &Path) -> Vec<Publish> {
        let Some(doc) = self.docs.remove(path) else { return Vec::new() };
        if self.docs.values().any(|d| d.root == doc.root) {
            self.files_changed(path);
            return Vec::new();
        }
        self.dirty.remove(&doc.root);
        let Some(project) = self.projects.remove(&doc.root) else { return Vec::new() };
        project
            .published
            .into_iter()
            .filter(|(_, (diagnostics, _))| !diagnostics.is_empty())
            .filter_map(|(path, _)| Some(Publish { uri: path_to_uri(&path)?, diagnostics: Vec::new(), version: None }))
            .collect()
    }

    /// A file changed on disk (saved, created, deleted): the projects holding it read the disk
    /// again.
    pub fn files_changed(&mut self, path: &Path) {
        for (root, project) in &mut self.projects {
            if path.starts_with(root) {
                project.disk = None;
                self.dirty.insert(root.clone());
            }
        }
    }

    pub fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Compiles every project that changed; returns the diagnostics to publish.
    pub fn flush(&mut self) -> Vec<Publish> {
        let mut out = Vec::new();
        for root in std::mem::take(&mut self.dirty) {
            let Some(project) = self.projects.get_mut(&root) else { continue };
            project.compile(&self.docs);
            out.extend(project.publish(&self.docs));
        }
        out
    }

    /// Runs `f` on the compiled project of an open document, with the document's file id and
    /// a converter between spans and protocol locations.
    pub fn with_view<R>(&mut self, path: &Path, f: impl FnOnce(&View, FileId, &mut Files) -> R) -> Option<R> {
        let root = self.docs.get(path)?.root.clone();
        let project = self.projects.get_mut(&root)?;
        let file = project.file_id(&relative(&root, path)?)?;
        let view = project.view()?;
        let mut files =
            Files { root: &root, docs: &self.docs, sources: &view.compiled.sources, lines: BTreeMap::new() };
        Some(f(&view, file, &mut files))
    }
}

/// Spans ↔ protocol locations for the files of one project.
pub struct Files<'a> {
    root: &'a Path,
    docs: &'a BTreeMap<PathBuf, Document>,
    sources: &'a SourceMap,
    lines: BTreeMap<FileId, LineIndex<'a>>,
}

impl<'a> Files<'a> {
    fn lines(&mut self, id: FileId) -> &LineIndex<'a> {
        let sources = self.sources;
        self.lines.entry(id).or_insert_with(|| LineIndex::new(sources.get(id).map_or("", |f| f.text.as_str())))
    }

    /// The URI of a file: the open document's own when it is open.
    pub fn uri(&self, id: FileId) -> Option<Uri> {
        let path = self.root.join(self.sources.get(id)?.path.as_str());
        match self.docs.get(&path) {
            Some(doc) => Some(doc.uri.clone()),
            None => path_to_uri(&path),
        }
    }

    pub fn range(&mut self, span: Span) -> Range {
        self.lines(span.file).range(span.start as usize, span.end as usize)
    }

    pub fn offset(&mut self, id: FileId, position: Position) -> usize {
        self.lines(id).offset(position)
    }

    pub fn location(&mut self, span: Span) -> Option<Location> {
        Some(Location { uri: self.uri(span.file)?, range: self.range(span) })
    }
}

impl Project {
    fn new(root: PathBuf, has_manifest: bool) -> Project {
        Project {
            root,
            has_manifest,
            disk: None,
            stdlib: Stdlib::default(),
            compiled: None,
            last_model: None,
            index: None,
            published: BTreeMap::new(),
        }
    }

    /// Reads the project from disk: the CLI's reader when there is a manifest, else the
    /// `.sight` files of the folder itself.
    fn read_disk(&self) -> ProjectInput {
        if self.has_manifest {
            if let Ok(input) = crate::cli::read_project(&self.root) {
                return input;
            }
            let manifest = std::fs::read_to_string(self.root.join(project::MANIFEST)).unwrap_or_default();
            return ProjectInput { manifest, ..ProjectInput::default() };
        }
        let mut input = ProjectInput::default();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_spec(p) && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            if let (Some(rel), Ok(text)) = (relative(&self.root, &path), std::fs::read_to_string(&path)) {
                input.sources.push((rel, text));
            }
        }
        input
    }

    fn input(&mut self, docs: &BTreeMap<PathBuf, Document>) -> ProjectInput {
        if self.disk.is_none() {
            let disk = self.read_disk();
            let mut stdlib = Stdlib::builtin().unwrap_or_default();
            let mut errors = Vec::new();
            stdlib.add_files(disk.stdlib_files.iter().cloned(), &mut errors);
            self.stdlib = stdlib;
            self.disk = Some(disk);
        }
        let mut input = self.disk.clone().unwrap_or_default();
        for (path, doc) in docs {
            let Some(rel) = relative(&self.root, path) else { continue };
            if rel == project::MANIFEST {
                input.manifest = doc.text.clone();
            } else if is_spec(path) {
                if let Some(entry) = input.sources.iter_mut().find(|(p, _)| *p == rel) {
                    // A file on disk that is not UTF-8 reaches the editor decoded, replacement
                    // characters and all: while the buffer is unchanged, S0006 still holds.
                    if entry.1 != doc.text {
                        input.invalid_utf8.retain(|(p, _)| *p != rel);
                        entry.1 = doc.text.clone();
                    }
                } else if doc.root == self.root {
                    input.sources.push((rel, doc.text.clone()));
                }
            }
        }
        input
    }

    fn compile(&mut self, docs: &BTreeMap<PathBuf, Document>) {
        let input = self.input(docs);
        let compiled = project::compile(&input);
        // Keep the previous model (moved, not cloned: a large project's model takes
        // milliseconds to copy) while errors stop a new one.
        let previous = self.compiled.take().and_then(|c| c.model);
        if compiled.model.is_some() {
            self.last_model = None;
        } else if previous.is_some() {
            self.last_model = previous;
        }
        self.compiled = Some(compiled);
        self.index = None;
    }

    /// Everything the language features read: the index of names (built on first use), the
    /// model, the stdlib and the compiled sources.
    pub fn view(&mut self) -> Option<View<'_>> {
        if self.index.is_none() {
            let compiled = self.compiled.as_ref()?;
            self.index = Some(Index::build(&compiled.sources, &self.stdlib));
        }
        let compiled = self.compiled.as_ref()?;
        Some(View {
            index: self.index.as_ref()?,
            model: compiled.model.as_ref().or(self.last_model.as_ref()),
            stdlib: &self.stdlib,
            compiled,
        })
    }

    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.compiled.as_ref()?.sources.get(id)
    }

    pub fn file_id(&self, rel: &str) -> Option<FileId> {
        self.compiled.as_ref()?.sources.iter().find(|(_, f)| f.path == rel).map(|(id, _)| id)
    }

    pub fn path_of(&self, id: FileId) -> Option<PathBuf> {
        Some(self.root.join(self.file(id)?.path.as_str()))
    }

    /// The URI of a file of the project: the open document's own when it is open.
    pub fn uri_of(&self, id: FileId, docs: &BTreeMap<PathBuf, Document>) -> Option<Uri> {
        let path = self.path_of(id)?;
        match docs.get(&path) {
            Some(doc) => Some(doc.uri.clone()),
            None => path_to_uri(&path),
        }
    }

    /// The file that diagnostics without a position are shown on.
    fn anchor(&self, compiled: &Compiled) -> Option<FileId> {
        let manifest = compiled.sources.iter().find(|(_, f)| f.path == project::MANIFEST).map(|(id, _)| id);
        if self.has_manifest {
            return manifest;
        }
        compiled.sources.iter().find(|(_, f)| f.path != project::MANIFEST).map(|(id, _)| id)
    }

    /// The diagnostics per file, compared with what was published: only what changed (and
    /// every open document whose version moved) is sent.
    fn publish(&mut self, docs: &BTreeMap<PathBuf, Document>) -> Vec<Publish> {
        let Some(compiled) = &self.compiled else { return Vec::new() };
        let anchor = self.anchor(compiled);
        let mut per_file: BTreeMap<FileId, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        for (id, file) in compiled.sources.iter() {
            if file.path != project::MANIFEST || self.has_manifest {
                per_file.insert(id, Vec::new());
            }
        }
        let mut lines: BTreeMap<FileId, LineIndex> = BTreeMap::new();
        for d in &compiled.diagnostics {
            let Some(file) = d.primary.as_ref().map(|l| l.span.file).filter(|f| per_file.contains_key(f)).or(anchor)
            else {
                continue;
            };
            let converted = self.convert(d, compiled, &mut lines, docs);
            per_file.entry(file).or_default().push(converted);
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for (id, diagnostics) in per_file {
            let Some(path) = compiled.sources.get(id).map(|f| self.root.join(f.path.as_str())) else { continue };
            let version = docs.get(&path).map(|d| d.version);
            seen.insert(path.clone());
            let unchanged = self.published.get(&path).is_some_and(|(d, v)| *d == diagnostics && *v == version);
            if unchanged {
                continue;
            }
            let uri = match docs.get(&path) {
                Some(doc) => Some(doc.uri.clone()),
                None => path_to_uri(&path),
            };
            self.published.insert(path, (diagnostics.clone(), version));
            if let Some(uri) = uri {
                out.push(Publish { uri, diagnostics, version });
            }
        }
        // Files that left the project (deleted, renamed) lose their diagnostics.
        let gone: Vec<PathBuf> = self.published.keys().filter(|p| !seen.contains(*p)).cloned().collect();
        for path in gone {
            if let Some((diagnostics, _)) = self.published.remove(&path) {
                if let (false, Some(uri)) = (diagnostics.is_empty(), path_to_uri(&path)) {
                    out.push(Publish { uri, diagnostics: Vec::new(), version: None });
                }
            }
        }
        out
    }

    fn convert<'a>(
        &self,
        d: &Diagnostic,
        compiled: &'a Compiled,
        lines: &mut BTreeMap<FileId, LineIndex<'a>>,
        docs: &BTreeMap<PathBuf, Document>,
    ) -> lsp_types::Diagnostic {
        let mut range_of = |span: crate::source::Span| {
            let index = lines
                .entry(span.file)
                .or_insert_with(|| LineIndex::new(compiled.sources.get(span.file).map_or("", |f| f.text.as_str())));
            index.range(span.start as usize, span.end as usize)
        };
        let range = d.primary.as_ref().map(|l| range_of(l.span)).unwrap_or_default();
        // The CLI's message, then its help line (the primary label only repeats the message
        // at the span the editor underlines).
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .secondary
            .iter()
            .filter_map(|label| {
                let uri = self.uri_of(label.span.file, docs)?;
                Some(DiagnosticRelatedInformation {
                    location: Location { uri, range: range_of(label.span) },
                    message: label.message.clone(),
                })
            })
            .collect();
        lsp_types::Diagnostic {
            range,
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.code.to_string())),
            source: Some("sight".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp_types::Diagnostic::default()
        }
    }
}
