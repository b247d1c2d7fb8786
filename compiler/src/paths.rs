//! Path safety: every path a spec or `sight.toml` names stays inside its root, and sight never
//! writes through a symbolic link that leaves the output root.
//!
//! Two layers, as the stages allow:
//! - **Lexical** ([`relative`], [`manifest_paths`]; pure, used by the checker): an absolute
//!   path (`/etc`, `~/x`, `C:\x`), or one whose `..` climbs above its root, is S0015.
//! - **On disk** ([`symlinks`] for the CLI, [`check_inside`] for the writer): a path whose
//!   components include a symbolic link resolving outside the root is S0015 (reading) or an
//!   error before anything is written (writing). Every component is examined with
//!   `symlink_metadata`, so no link is ever followed unseen.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::diagnostics::{codes, Diagnostic};
use crate::source::{FileId, Span};

/// Why a path is not a plain relative path inside its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// `/etc/passwd`, `~/.ssh`, `C:\Users`, `\\server\share`.
    Absolute,
    /// `../x`, `a/../../x`: `..` climbs above the root.
    Parent,
    /// A control character (a line break would start a new Dockerfile instruction).
    Control,
}

impl Escape {
    /// The end of a sentence about the path: "`../x` climbs out of the project root with `..`".
    pub fn describe(self, root: &str) -> String {
        match self {
            Escape::Absolute => "is an absolute path".to_string(),
            Escape::Parent => format!("climbs out of {root} with `..`"),
            Escape::Control => "holds a control character".to_string(),
        }
    }
}

/// `path` normalised relative to its root (`./a//b/../c` → `a/c`, `.` → empty), or why it
/// leaves the root. Both `/` and `\` separate components: a spec may be used on Windows, and
/// no legitimate path component holds a backslash.
pub fn relative(path: &str) -> Result<String, Escape> {
    if path.chars().any(char::is_control) {
        return Err(Escape::Control);
    }
    let drive = path.as_bytes().get(1) == Some(&b':') && path.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if path.starts_with(['/', '\\', '~']) || drive {
        return Err(Escape::Absolute);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Escape::Parent);
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// The host side of a Compose bind mount `host:container[:mode]`.
pub fn mount_host(mount: &str) -> &str {
    // `C:\x:/app`: a drive letter is part of the host path (and makes it absolute).
    let drive = mount.as_bytes().get(1) == Some(&b':') && mount.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let skip = if drive { 2 } else { 0 };
    match mount.get(skip..).and_then(|rest| rest.find(':')) {
        Some(i) => mount.get(..skip + i).unwrap_or(mount),
        None => mount,
    }
}

/// S0015 for a path of `sight.toml`: the output folders and the stdlib folder.
pub fn manifest_paths(manifest: &crate::project::Manifest, text: &str, file: FileId) -> Vec<Diagnostic> {
    use crate::project::Target;
    let output = &manifest.output;
    let mut named: Vec<(&str, &str)> = Vec::new();
    for (key, target) in [
        ("compose", &output.compose),
        ("cloudbuild", &output.cloudbuild),
        ("alerts", &output.alerts),
        ("cloud_run", &output.cloud_run),
    ] {
        if let Target::Dir(dir) = target {
            named.push((key, dir));
        }
    }
    if let Some(dir) = &manifest.stdlib {
        named.push(("stdlib", dir));
    }
    let mut out = Vec::new();
    for (key, dir) in named {
        let Err(escape) = relative(dir) else { continue };
        let (what, root) = if key == "stdlib" {
            ("the stdlib folder", "the project root")
        } else {
            ("an output folder", "the output root")
        };
        let span = value_span(text, key).map_or(Span::new(file, 0, 0), |(s, e)| Span::new(file, s, e));
        out.push(
            Diagnostic::new(&codes::PATH_OUTSIDE_PROJECT, format!("`{dir}` ({what}) {}", escape.describe(root)))
                .at(span, format!("outside {root}"))
                .with_help(format!(
                    "`{key}` is relative to {root} and stays inside it: write a folder such as `{}`",
                    if key == "stdlib" { "stdlib" } else { "deploy" }
                )),
        );
    }
    out
}

/// The span of the value in a `key = value` line of a TOML text (bare or quoted key).
fn value_span(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let rest = line.trim_start();
        let after = rest
            .strip_prefix(&format!("\"{key}\""))
            .or_else(|| rest.strip_prefix(key))
            .and_then(|r| r.trim_start().strip_prefix('='));
        if let Some(value) = after {
            let value = value.trim();
            let start = offset + (line.len() - line.trim_start().len()) + (rest.len() - rest.trim_start().len());
            let value_start = line.find(value).map_or(start, |i| offset + i);
            return Some((value_start, value_start + value.len()));
        }
        offset += line.len();
    }
    None
}

// ---------------------------------------------------------------------------------------------
// On disk.

/// Where `relative` (already lexically inside) leads under `root`: `Ok(())` when no component
/// is a symbolic link resolving outside `root`; the first such link otherwise. Components
/// that do not exist end the walk (nothing can be followed through them).
pub fn check_inside(root: &Path, relative: &str) -> Result<(), PathBuf> {
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut current = root.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => current.push(part),
            Component::CurDir => continue,
            // Lexically checked before; a stray one is treated as leaving.
            _ => return Err(current),
        }
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(&current) {
                Ok(target) if target.starts_with(&canonical_root) => {}
                // Outside, or dangling (it could be created outside later): refused.
                _ => return Err(current),
            },
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// The writer's guard: `relative` is a plain relative path and no symbolic link on the way
/// leaves `root`. Called before anything is read, created, written or removed there.
pub fn guard_write(root: &Path, relative: &str) -> io::Result<()> {
    let plain = !relative.is_empty()
        && Path::new(relative).components().all(|c| matches!(c, Component::Normal(_)))
        && !relative.contains('\\');
    if !plain {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{relative}` is not a path inside the output root; nothing was written"),
        ));
    }
    check_inside(root, relative).map_err(|link| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link that leaves the output root {}; sight never writes through it, nothing was written",
                link.display(),
                root.display()
            ),
        )
    })
}

/// Whether the CLI may read `path` (relative to `root`): lexically inside, and no symbolic link
/// on the way leaves `root`.
pub fn readable(root: &Path, path: &str) -> bool {
    relative(path).is_ok_and(|rel| check_inside(root, &rel).is_ok())
}

/// The CLI's check after compiling a project read from `root`: S0015 for every path that
/// leaves it through a symbolic link; with one, no model (nothing is built).
pub fn check_links(root: &Path, input: &crate::project::ProjectInput, compiled: &mut crate::project::Compiled) {
    let found = symlinks(root, &spec_paths(input, compiled), &compiled.sources);
    if found.is_empty() {
        return;
    }
    compiled.diagnostics.extend(found);
    crate::diagnostics::sort(&mut compiled.diagnostics);
    compiled.model = None;
}

/// A path the CLI checks for symbolic links after compiling: what it is, the path relative to
/// the project root, and where the spec names it (a span, or the string literal to look for
/// when one is reported).
pub struct SpecPath {
    pub what: String,
    pub path: String,
    pub span: Option<Span>,
    pub literal: Option<String>,
}

/// S0015 for every path under `root` whose components include a symbolic link leaving it.
pub fn symlinks(root: &Path, paths: &[SpecPath], sources: &crate::source::SourceMap) -> Vec<Diagnostic> {
    // Only for a path that is reported: looking up every literal would scan the sources once
    // per path.
    let literal = |value: &str| -> Option<Span> {
        let quoted = crate::format::quote(value);
        sources.iter().find_map(|(id, f)| f.text.find(&quoted).map(|i| Span::new(id, i, i + quoted.len())))
    };
    let mut out = Vec::new();
    for p in paths {
        let Ok(rel) = relative(&p.path) else { continue };
        if let Err(link) = check_inside(root, &rel) {
            let shown = link.strip_prefix(root).unwrap_or(&link).display().to_string();
            let mut d = Diagnostic::new(
                &codes::PATH_OUTSIDE_PROJECT,
                format!("`{}` ({}) goes through the symbolic link `{shown}`, which leaves the project", p.path, p.what),
            )
            .with_help("sight reads and writes only inside the project: copy what it needs into the project instead of linking to it");
            if let Some(span) = p.literal.as_deref().and_then(literal).or(p.span) {
                d = d.at(span, "leaves the project through a symbolic link");
            }
            out.push(d);
        }
    }
    out
}

/// The paths of a compiled project that sight or its artifacts read: the spec files, the
/// project stdlib folder and files, build contexts, `copy` entries, bind mounts and secret
/// files.
pub fn spec_paths(input: &crate::project::ProjectInput, compiled: &crate::project::Compiled) -> Vec<SpecPath> {
    let path = |what: String, path: String, span: Option<Span>, literal: Option<&str>| SpecPath {
        what,
        path,
        span,
        literal: literal.map(str::to_string),
    };
    let mut out = Vec::new();
    for (file, _) in &input.sources {
        let span = compiled.sources.iter().find(|(_, f)| &f.path == file).map(|(id, _)| Span::new(id, 0, 0));
        out.push(path("the spec file".into(), file.clone(), span, None));
    }
    if let Ok(manifest) = crate::project::parse_manifest(&input.manifest, FileId(0)) {
        if let Some(dir) = manifest.stdlib {
            out.push(path("the stdlib folder".into(), dir.clone(), None, None));
            for (file, _) in &input.stdlib_files {
                out.push(path("the stdlib file".into(), format!("{dir}/{file}"), None, None));
            }
        }
    }
    let Some(model) = &compiled.model else { return out };
    for service in model.services.values() {
        if let Some(build) = &service.build {
            let context = &build.context;
            let what = format!("the build context of `{}`", service.name);
            out.push(path(what, context.clone(), Some(service.span), Some(context)));
            for copy in build.fields.get("copy").map(|v| v.as_strings()).unwrap_or_default() {
                let what = format!("the `copy` entry of `{}`", service.name);
                out.push(path(what, format!("{context}/{copy}"), None, Some(&copy)));
            }
        }
        for config in service.configs.iter() {
            for mount in &config.mounts {
                let what = format!("the mount of `{}`", service.name);
                out.push(path(what, mount_host(mount).to_string(), None, Some(mount)));
            }
        }
    }
    for secret in model.secrets.values() {
        let what = format!("the file of secret `{}`", secret.name);
        out.push(path(what, secret.file.clone(), None, Some(&secret.file)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_inside() {
        assert_eq!(relative("api"), Ok("api".into()));
        assert_eq!(relative("./api/"), Ok("api".into()));
        assert_eq!(relative("a/../b"), Ok("b".into()));
        assert_eq!(relative("."), Ok(String::new()));
        assert_eq!(relative("a/.."), Ok(String::new()));
        assert_eq!(relative(".."), Err(Escape::Parent));
        assert_eq!(relative("a/../../b"), Err(Escape::Parent));
        assert_eq!(relative("a\\..\\..\\b"), Err(Escape::Parent));
        assert_eq!(relative("/etc"), Err(Escape::Absolute));
        assert_eq!(relative("~/.ssh"), Err(Escape::Absolute));
        assert_eq!(relative("C:\\Users"), Err(Escape::Absolute));
        assert_eq!(relative("\\\\server\\share"), Err(Escape::Absolute));
        assert_eq!(relative("app/\nRUN curl x"), Err(Escape::Control));
    }

    #[test]
    fn mount_hosts() {
        assert_eq!(mount_host("./app:/app"), "./app");
        assert_eq!(mount_host("../x:/x:ro"), "../x");
        assert_eq!(mount_host("C:\\x:/app"), "C:\\x");
        assert_eq!(mount_host("data"), "data");
    }

    #[test]
    fn value_spans() {
        let text = "[output]\ncompose = \"../x\"\n";
        let (s, e) = value_span(text, "compose").unwrap_or_default();
        assert_eq!(text.get(s..e), Some("\"../x\""));
    }
}
