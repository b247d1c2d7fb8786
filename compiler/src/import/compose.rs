//! `sight import compose FILE…`: Compose files (an override file merged over the base as
//! Compose merges them, FACTS §3 "Merging") → a sight project whose development Compose file
//! runs what the original ran.
//!
//! The traps, and what the importer does about them:
//! - Interpolation happens per file, before the merge (FACTS §3): `${VAR:-default}`, `$VAR`,
//!   `$$`. sight writes values, not variables, so each is resolved from the variables given
//!   (the `.env` beside the first file, as Compose reads it), else its default, else empty, as
//!   `docker compose config` does, and each one is a warning naming the variable.
//! - Merging: mappings merge by key, sequences append, `command`, `entrypoint` and
//!   `healthcheck.test` are replaced, `volumes` and `secrets` are deduplicated by target,
//!   `environment`, `labels` and `depends_on` merge by name whatever their form, and `!reset`
//!   / `!override` remove or replace a value.
//! - A service that builds keeps its own Dockerfile (`build : dockerfile { … }`): sight never
//!   overwrites it. Switching to a runtime kind (`python`, `node`, …) is the user's choice.
//! - Bind mounts go to the `dev` overlay (`mount`): sight keeps host paths out of production.
//! - A known store image becomes a store (`database db : postgres`) only when the kind
//!   reproduces the container (its image, its environment through the kind's fields, its
//!   data volume); otherwise it stays a service with its image, and a warning says why.
//! - A plain-text password of a store becomes a `secret` (the official images read
//!   `*_FILE`) whose file the import writes; a service's stays plain text, since its program
//!   may not read `*_FILE`, and `sight.toml` lowers S0123 to a warning.

use std::collections::{BTreeMap, BTreeSet};

use super::yaml::{self, Node, Yaml};
use super::{duration, finish, list, project_decl, render, sight_name, Decl, Entry, Imported, Warning};
use crate::format::quote;

/// What to import.
#[derive(Clone, Debug, Default)]
pub struct ComposeInput {
    /// (name as shown in warnings, text), base file first, then overrides in order.
    pub files: Vec<(String, String)>,
    /// The folder of the first file relative to the output folder (`.` when they are the same):
    /// Compose resolves relative paths from it.
    pub base: String,
    /// The project's name (Compose's `name:` wins).
    pub project: String,
    /// Variables for interpolation (the `.env` file); nothing else is read.
    pub variables: BTreeMap<String, String>,
}

/// Imports Compose files; an unreadable file is an error (its warnings).
pub fn import(input: &ComposeInput) -> Result<Imported, Vec<Warning>> {
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    for (index, (name, text)) in input.files.iter().enumerate() {
        match yaml::parse(text) {
            Ok(Some(mut doc)) => {
                doc.set_file(index);
                interpolate_document(&mut doc, &input.variables, &mut notes);
                documents.push(doc);
            }
            Ok(None) => {}
            Err(e) => errors.push(Warning {
                file: name.clone(),
                line: e.line,
                field: "(file)".to_string(),
                message: format!("not valid YAML: {}", e.message),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(merged) = documents.into_iter().reduce(|base, over| merge(base, over, &[])) else {
        return Err(vec![Warning {
            file: input.files.first().map(|(n, _)| n.clone()).unwrap_or_default(),
            line: 0,
            field: "(file)".to_string(),
            message: "no Compose document to import".to_string(),
        }]);
    };
    let files: Vec<String> = input.files.iter().map(|(n, _)| n.clone()).collect();
    let mut importer = Importer {
        files: &files,
        base: &input.base,
        warnings: Vec::new(),
        mapped: Vec::new(),
        secret_files: BTreeMap::new(),
        decls: Vec::new(),
    };
    for (file, line, field, message) in notes {
        importer.warnings.push(Warning { file: files.get(file).cloned().unwrap_or_default(), line, field, message });
    }
    let project = importer.document(&merged, &input.project);
    let first = files.first().cloned().unwrap_or_default();
    let spec_file = format!("{project}.sight");
    let spec = render(&importer.decls);
    let mut imported = Imported { files: BTreeMap::new(), warnings: importer.warnings, mapped: importer.mapped };
    for (path, contents) in importer.secret_files {
        imported.files.insert(path, contents);
    }
    Ok(finish(imported, &project, &spec_file, &spec, &first))
}

// ---------------------------------------------------------------------------------------------
// Interpolation (FACTS §3 "Interpolation").

type Note = (usize, usize, String, String);

fn interpolate_document(doc: &mut Yaml, variables: &BTreeMap<String, String>, notes: &mut Vec<Note>) {
    // Paths are only known while walking; values carry their line and file.
    fn walk(node: &mut Yaml, path: &str, variables: &BTreeMap<String, String>, notes: &mut Vec<Note>) {
        let (line, file) = (node.line, node.file);
        match &mut node.node {
            Node::Scalar { text, plain } => {
                if text.contains('$') {
                    let mut used = Vec::new();
                    *text = interpolate(text, variables, &mut used);
                    // An interpolated value is a string, even when it came out empty.
                    *plain = false;
                    for message in used {
                        notes.push((file, line, path.to_string(), message));
                    }
                }
            }
            Node::Seq(items) => {
                for item in items.iter_mut() {
                    // `KEY=value` items of `environment` and `labels` are reported by key.
                    let key = item.as_str().and_then(|t| t.split_once('=')).map(|(k, _)| k.to_string());
                    let child = match key {
                        Some(k) if path.ends_with(".environment") || path.ends_with(".labels") => format!("{path}.{k}"),
                        _ => path.to_string(),
                    };
                    walk(item, &child, variables, notes);
                }
            }
            Node::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    // Extension fields are never interpolated by Compose either.
                    if k.starts_with("x-") {
                        continue;
                    }
                    let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(v, &child, variables, notes);
                }
            }
        }
    }
    walk(doc, "", variables, notes);
}

/// Compose's interpolation of one value: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
/// `${VAR:?e}`, `${VAR?e}`, `${VAR:+a}`, `${VAR+a}`. Each variable read is described in `used`.
pub fn interpolate(text: &str, variables: &BTreeMap<String, String>, used: &mut Vec<String>) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                // The matching `}`, counting nested `${`.
                let mut depth = 1;
                let mut j = i + 2;
                while let Some(&d) = chars.get(j) {
                    match d {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let inner: String = chars.get(i + 2..j.min(chars.len())).unwrap_or_default().iter().collect();
                out.push_str(&expand(&inner, variables, used));
                i = j + 1;
            }
            Some(&n) if n.is_ascii_alphabetic() || n == '_' => {
                let mut j = i + 1;
                while chars.get(j).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    j += 1;
                }
                let name: String = chars.get(i + 1..j).unwrap_or_default().iter().collect();
                out.push_str(&expand(&name, variables, used));
                i = j;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}

fn expand(inner: &str, variables: &BTreeMap<String, String>, used: &mut Vec<String>) -> String {
    let name_end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
    let (name, rest) = inner.split_at(name_end);
    // Compose sets `PWD` to the folder it runs in: the project's, whose paths sight writes
    // relative to the project root.
    if name == "PWD" && !variables.contains_key("PWD") && rest.is_empty() {
        used.push("`$PWD` (the folder Compose runs in) was written as `.`, the project folder".to_string());
        return ".".to_string();
    }
    let value = variables.get(name);
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    let (operator, argument) = ["-", ":-", "?", ":?", "+", ":+"]
        .iter()
        .filter(|op| rest.starts_with(**op))
        .max_by_key(|op| op.len())
        .map_or(("", rest), |op| (*op, rest.get(op.len()..).unwrap_or_default()));
    let argument = || interpolate(argument, variables, &mut Vec::new());
    let (result, how) = match operator {
        ":-" if !non_empty => (argument(), "its default".to_string()),
        "-" if !set => (argument(), "its default".to_string()),
        ":?" | "?" if !(if operator == "?" { set } else { non_empty }) => {
            (String::new(), format!("empty, although the file requires it (`{}`)", argument()))
        }
        ":+" => (if non_empty { argument() } else { String::new() }, "its alternative".to_string()),
        "+" => (if set { argument() } else { String::new() }, "its alternative".to_string()),
        _ if set => (value.cloned().unwrap_or_default(), "the value in `.env`".to_string()),
        _ => (String::new(), "empty (the variable is not set)".to_string()),
    };
    used.push(format!(
        "`${{{inner}}}` was resolved to {how}, `{result}`: sight writes values, not variables; set it in the spec"
    ));
    result
}

// ---------------------------------------------------------------------------------------------
// Merging (FACTS §3 "Merging").

/// Merges `over` into `base`; `path` is the key path of both.
fn merge(base: Yaml, over: Yaml, path: &[&str]) -> Yaml {
    if over.tag == "override" {
        return Yaml { tag: String::new(), ..over };
    }
    let last = path.last().copied().unwrap_or_default();
    let in_service = path.first() == Some(&"services") && path.len() == 3;
    match (base.node, over.node) {
        (Node::Map(mut entries), Node::Map(overs)) => {
            for (k, v) in overs {
                if v.tag == "reset" {
                    entries.retain(|(e, _)| *e != k);
                    continue;
                }
                let mut child: Vec<&str> = path.to_vec();
                child.push(&k);
                let in_this_service = path.first() == Some(&"services") && path.len() == 2;
                match entries.iter().position(|(e, _)| *e == k) {
                    Some(i) => {
                        if let Some((_, existing)) = entries.get_mut(i) {
                            let old = std::mem::replace(existing, Yaml::scalar("", 0));
                            let (old, v) = if in_this_service {
                                (normalize_service_key(&k, old), normalize_service_key(&k, v))
                            } else {
                                (old, v)
                            };
                            *existing = merge(old, v, &child);
                        }
                    }
                    None => entries.push((k, v)),
                }
            }
            Yaml { node: Node::Map(entries), ..base }
        }
        (Node::Seq(mut items), Node::Seq(overs))
            if !(in_service && ["command", "entrypoint"].contains(&last)) && last != "test" =>
        {
            if in_service && ["volumes", "secrets", "configs"].contains(&last) {
                for item in overs {
                    let target = mount_target(&item);
                    items.retain(|i| target.is_none() || mount_target(i) != target);
                    items.push(item);
                }
            } else {
                for item in overs {
                    if !items.iter().any(|i| same_value(i, &item)) {
                        items.push(item);
                    }
                }
            }
            Yaml { node: Node::Seq(items), ..base }
        }
        (_, node) => Yaml { node, line: over.line, tag: String::new(), file: over.file },
    }
}

fn same_value(a: &Yaml, b: &Yaml) -> bool {
    a.node == b.node
}

/// `environment`, `labels` (a list of `K=V` or a mapping) and `depends_on` (a list or a
/// mapping) as mappings, `build` as a mapping, so that two files merge by name.
fn normalize_service_key(key: &str, value: Yaml) -> Yaml {
    match (key, &value.node) {
        ("environment" | "labels", Node::Seq(items)) => {
            let entries = items
                .iter()
                .filter_map(|i| {
                    let text = i.as_str()?;
                    let (k, v) = match text.split_once('=') {
                        Some((k, v)) => (
                            k.to_string(),
                            Yaml { node: Node::Scalar { text: v.to_string(), plain: false }, ..i.clone() },
                        ),
                        None => (
                            text.to_string(),
                            Yaml { node: Node::Scalar { text: String::new(), plain: true }, ..i.clone() },
                        ),
                    };
                    Some((k, v))
                })
                .collect();
            Yaml { node: Node::Map(entries), ..value }
        }
        ("depends_on", Node::Seq(items)) => {
            let entries = items
                .iter()
                .filter_map(|i| {
                    let condition =
                        Yaml { node: Node::Scalar { text: "service_started".to_string(), plain: true }, ..i.clone() };
                    let body = Yaml { node: Node::Map(vec![("condition".to_string(), condition)]), ..i.clone() };
                    Some((i.as_str()?.to_string(), body))
                })
                .collect();
            Yaml { node: Node::Map(entries), ..value }
        }
        ("build", Node::Scalar { text, .. }) => {
            let context = Yaml::scalar(text, value.line);
            Yaml { node: Node::Map(vec![("context".to_string(), context)]), ..value }
        }
        _ => value,
    }
}

/// The target of a volume or secret, in the short or long syntax.
fn mount_target(item: &Yaml) -> Option<String> {
    match &item.node {
        Node::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            parts.get(1).or(parts.first()).map(|s| s.to_string())
        }
        Node::Map(_) => item.get("target").or_else(|| item.get("source")).and_then(Yaml::as_str).map(str::to_string),
        Node::Seq(_) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping.

/// What every service's mapping needs to know about the others.
#[derive(Clone, Copy)]
struct Context<'a> {
    /// Compose name → sight name.
    names: &'a BTreeMap<String, String>,
    secrets: &'a BTreeMap<String, Decl>,
    /// Services others wait for until they complete (`job = true`).
    jobs: &'a BTreeSet<String>,
    /// Services that get a health check in sight.
    healthy: &'a BTreeSet<String>,
}

struct Importer<'a> {
    files: &'a [String],
    base: &'a str,
    warnings: Vec<Warning>,
    mapped: Vec<String>,
    /// Secret files the import writes (plain-text store passwords), by path.
    secret_files: BTreeMap<String, String>,
    decls: Vec<Decl>,
}

/// Keys of a service that Compose ignores or sight drops on purpose, with the reason.
const DROPPED: &[(&str, &str)] = &[
    ("container_name", "sight never names containers (the dev and test stacks run side by side); other containers reach it by its service name"),
    ("expose", "`expose` only documents ports: containers on one network reach every port anyway"),
    ("version", "`version` is obsolete and ignored by Compose"),
];

/// Service keys sight cannot express, with a hint.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("logging", "logging drivers are not part of the spec"),
    ("cap_add", "capabilities are not part of the spec"),
    ("cap_drop", "capabilities are not part of the spec"),
    ("privileged", "privileged containers are not part of the spec"),
    ("devices", "devices are not part of the spec"),
    ("extra_hosts", "extra host names are not part of the spec"),
    ("hostname", "host names are not part of the spec"),
    ("working_dir", "set the working directory in the Dockerfile"),
    ("attach", "`attach` only chooses which logs `up` shows"),
    ("develop", "`develop.watch` is for `docker compose watch`, which sight does not configure"),
    ("init", "`init` is not part of the spec"),
    ("shm_size", "`shm_size` is not part of the spec"),
    ("stop_grace_period", "`stop_grace_period` is not part of the spec"),
    ("stop_signal", "`stop_signal` is not part of the spec"),
    ("platform", "`platform` is not part of the spec"),
    ("network_mode", "sight puts every container on Compose networks"),
    ("links", "links are obsolete: services reach each other by name"),
    ("external_links", "external links are not part of the spec"),
    ("extends", "`extends` is resolved by Compose; import the resolved file"),
    ("pull_policy", "sight chooses the pull policy"),
    ("configs", "Compose configs are not part of the spec"),
    ("sysctls", "sysctls are not part of the spec"),
    ("dns", "DNS settings are not part of the spec"),
    ("pid", "`pid` is not part of the spec"),
    ("ipc", "`ipc` is not part of the spec"),
    ("gpus", "GPUs are not part of the spec"),
];

/// Store kinds the importer recognises by image, with the environment their fields set.
struct StoreKind {
    kind: &'static str,
    keyword: &'static str,
    repositories: &'static [&'static str],
    data_dir: &'static str,
    port: u16,
}

const STORE_KINDS: &[StoreKind] = &[
    StoreKind {
        kind: "postgres",
        keyword: "database",
        repositories: &["postgres", "library/postgres", "docker.io/postgres", "docker.io/library/postgres"],
        data_dir: "/var/lib/postgresql/data",
        port: 5432,
    },
    StoreKind {
        kind: "redis",
        keyword: "cache",
        repositories: &["redis", "library/redis", "docker.io/redis", "docker.io/library/redis"],
        data_dir: "/data",
        port: 6379,
    },
];

/// A parsed Compose duration (`1m30s`, `500ms`, `10s`) in milliseconds.
fn compose_duration(text: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut number = String::new();
    let mut chars = text.trim().chars().peekable();
    if text.trim().is_empty() {
        return None;
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            unit.extend(chars.next());
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        total += n * match unit.as_str() {
            "ns" => 0.000_001,
            "us" | "µs" => 0.001,
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
    }
    if !number.is_empty() {
        return None;
    }
    Some(total.round() as u64)
}

/// A Compose byte size (`512M`, `1.5G`, `256m`, `1gb`, `1024`) in bytes (binary units).
fn compose_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor = match unit.trim_end_matches('b') {
        "" => 1u64,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    Some((n * factor as f64).round() as u64)
}

/// A size in sight's syntax, rounded up to whole KiB.
fn size(bytes: u64) -> String {
    let kib = bytes.div_ceil(1024).max(1);
    crate::units::size_compact(kib * 1024)
}

/// Splits a command string into words as Compose does (shell quoting, no expansion).
pub fn shell_split(text: &str) -> Vec<String> {
    shell_words(text).0
}

/// The words of a command string as Compose's parser (go-shellwords) reads them: it stops at
/// an unquoted `;`, `&`, `|`, `<` or `>` and ignores the rest, which is returned.
fn shell_words(text: &str) -> (Vec<String>, Option<String>) {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            ';' | '&' | '|' | '<' | '>' => {
                words.extend(word.take());
                return (words, Some(text.get(at..).unwrap_or_default().trim().to_string()));
            }
            ' ' | '\t' | '\n' | '\r' => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for (_, c) in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some(e @ ('"' | '\\' | '$' | '`')) => w.push(e),
                            Some(other) => {
                                w.push('\\');
                                w.push(other);
                            }
                            None => w.push('\\'),
                        },
                        other => w.push(other),
                    }
                }
            }
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    (words, None)
}

impl Importer<'_> {
    fn warn(&mut self, node: &Yaml, field: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: self.files.get(node.file).cloned().unwrap_or_default(),
            line: node.line,
            field: field.to_string(),
            message: message.into(),
        });
    }

    fn mapped(&mut self, field: &str) {
        self.mapped.push(field.to_string());
    }

    /// A path of the original, relative to its folder, as a path relative to the project root.
    fn path(&self, path: &str) -> String {
        if path.starts_with('/') || path.starts_with('~') || self.base == "." || self.base.is_empty() {
            return path.to_string();
        }
        let rest = path.trim_start_matches("./");
        let joined =
            if rest.is_empty() || rest == "." { self.base.to_string() } else { format!("{}/{rest}", self.base) };
        normalize_path(&joined)
    }

    /// A top-level volume with settings → `volume <name> { … }`.
    fn volume_decl(&mut self, field: &str, name: &str, node: &Yaml) -> Option<Decl> {
        let mut body = Vec::new();
        for (k, v) in node.as_map().unwrap_or_default() {
            match (k.as_str(), v.as_str(), v.as_bool()) {
                ("driver", Some("local"), _) | ("external", _, Some(false)) => {}
                ("driver" | "name", Some(text), _) => body.push(Entry::field(k, quote(text))),
                ("external", _, Some(true)) => body.push(Entry::field("external", "true")),
                ("driver_opts", _, _) => {
                    let opts: Vec<Entry> = pairs(v)
                        .into_iter()
                        .map(|(k, v)| Entry::field(&k, quote(v.as_deref().unwrap_or_default())))
                        .collect();
                    body.push(Entry::block("driver_opts", None, opts));
                }
                _ => {
                    self.warn(v, &format!("{field}.{k}"), format!("`{k}` of a volume is not part of the spec; dropped"))
                }
            }
        }
        (!body.is_empty()).then(|| Decl {
            keyword: "volume",
            name: name.to_string(),
            kind: None,
            comments: Vec::new(),
            body,
        })
    }

    /// A host path of the original as a path inside the project, or `None` when it is
    /// absolute or climbs out (S0015: sight keeps every path inside the project).
    fn inside(&self, path: &str) -> Option<String> {
        let path = self.path(path);
        crate::paths::relative(&path).ok().map(|_| path)
    }

    fn outside(&mut self, item: &Yaml, field: &str, path: &str) {
        self.warn(item, field, format!("`{path}` is outside the project: sight keeps every path inside it (S0015); mount it by hand, or move what it names into the project; dropped"));
    }

    /// The whole document; returns the project's name.
    fn document(&mut self, doc: &Yaml, default_name: &str) -> String {
        let project = doc.get("name").and_then(Yaml::as_str).map_or_else(|| sight_name(default_name), sight_name);
        let project = if project.is_empty() { "app".to_string() } else { project };
        if doc.get("name").is_some() {
            self.mapped("name");
        }
        self.decls.push(project_decl(&project));
        let empty = Vec::new();
        let services: Vec<(String, Yaml)> =
            doc.get("services").and_then(Yaml::as_map).map(<[_]>::to_vec).unwrap_or(empty);
        // Service names sight accepts; a renamed one is reported once.
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for (name, node) in &services {
            let renamed = sight_name(name);
            if renamed != *name {
                self.warn(
                    node,
                    &format!("services.{name}"),
                    format!("renamed `{renamed}`: sight names are lowercase letters, digits, `_` and `-`"),
                );
            }
            names.insert(name.clone(), renamed);
        }
        let secrets = self.top_secrets(doc);
        let networks = self.top_level(doc);
        let jobs = completed_dependencies(&services);
        let mut store_secrets: Vec<Decl> = Vec::new();
        // Stores first: whether a dependency gets a health check depends on it.
        let mut stores: BTreeMap<String, Decl> = BTreeMap::new();
        for (name, node) in &services {
            let sight = names.get(name).cloned().unwrap_or_else(|| sight_name(name));
            if let Some(store) = self.store(name, &sight, node, &environment(node), doc, &mut store_secrets) {
                stores.insert(name.clone(), store);
            }
        }
        let healthy: BTreeSet<String> = services
            .iter()
            .filter(|(name, node)| {
                stores.contains_key(name)
                    || node.get("healthcheck").is_some_and(|h| h.get("test").is_some() && h.get("disable").is_none())
            })
            .map(|(name, _)| name.clone())
            .collect();
        let mut decls = Vec::new();
        for (name, node) in &services {
            if let Some(store) = stores.remove(name) {
                decls.push(store);
                continue;
            }
            let sight = names.get(name).cloned().unwrap_or_else(|| sight_name(name));
            let context = Context { names: &names, secrets: &secrets, jobs: &jobs, healthy: &healthy };
            decls.push(self.service(name, &sight, node, &context));
        }
        // Secrets first, then stores and services in the file's order.
        let mut secret_decls: Vec<Decl> = secrets.values().cloned().collect();
        secret_decls.extend(store_secrets);
        self.decls.extend(secret_decls);
        self.decls.extend(networks);
        self.decls.extend(decls);
        for (key, node) in doc.as_map().unwrap_or_default() {
            match key.as_str() {
                "services" | "name" | "volumes" | "networks" | "secrets" => {}
                "version" => self.warn(node, key, "`version` is obsolete and ignored by Compose; dropped"),
                k if k.starts_with("x-") => {
                    self.warn(node, key, "an extension field (Compose ignores it; its anchors were applied); dropped")
                }
                _ => self.warn(node, key, format!("the top-level `{key}` is not part of the spec; dropped")),
            }
        }
        project
    }

    /// Top-level `secrets:` → `secret` declarations (by Compose name).
    fn top_secrets(&mut self, doc: &Yaml) -> BTreeMap<String, Decl> {
        let mut out = BTreeMap::new();
        for (name, node) in doc.get("secrets").and_then(Yaml::as_map).unwrap_or_default() {
            let field = format!("secrets.{name}");
            let sight = sight_name(name);
            let mut body =
                vec![Entry::field("from", format!("secret_manager({}, version = 1)", quote(&sight.replace('_', "-"))))];
            if let Some(file) = node.get("file").and_then(Yaml::as_str) {
                body.push(Entry::field("file", quote(&self.path(file))));
                self.mapped(&format!("{field}.file"));
            } else if let Some(var) = node.get("environment").and_then(Yaml::as_str) {
                body.push(Entry::field("env", quote(var)));
                self.mapped(&format!("{field}.environment"));
            } else {
                self.warn(
                    node,
                    &field,
                    "only file secrets are imported (`external` and `name` are not part of the spec)",
                );
            }
            for (k, v) in node.as_map().unwrap_or_default() {
                if !["file", "environment"].contains(&k.as_str()) {
                    self.warn(
                        v,
                        &format!("{field}.{k}"),
                        format!("`{k}` of a secret is not part of the spec; dropped"),
                    );
                }
            }
            out.insert(
                name.clone(),
                Decl {
                    keyword: "secret",
                    name: sight,
                    kind: None,
                    comments: vec!["The Secret Manager id and version are placeholders for production.".to_string()],
                    body,
                },
            );
        }
        out
    }

    /// Top-level `volumes:` and `networks:`: sight declares them itself, with Compose's
    /// defaults; a network with settings becomes a `network` declaration.
    fn top_level(&mut self, doc: &Yaml) -> Vec<Decl> {
        let mut decls = Vec::new();
        for section in ["volumes", "networks"] {
            for (name, node) in doc.get(section).and_then(Yaml::as_map).unwrap_or_default() {
                let field = format!("{section}.{name}");
                let mut settings = Vec::new();
                for (k, v) in node.as_map().unwrap_or_default() {
                    let default = match k.as_str() {
                        "driver" => matches!(v.as_str(), Some("local" | "bridge")),
                        "external" | "internal" => v.as_bool() == Some(false),
                        _ => false,
                    };
                    if section == "volumes"
                        && sight_name(name) == *name
                        && ["driver", "driver_opts", "name", "external"].contains(&k.as_str())
                        && !default
                    {
                        // Declared by `volume_decl`.
                        self.mapped(&format!("{field}.{k}"));
                        continue;
                    }
                    let network_setting = section == "networks"
                        && sight_name(name) == *name
                        && match k.as_str() {
                            "driver" | "name" => v.as_str().is_some(),
                            "external" | "internal" => v.as_bool().is_some(),
                            _ => false,
                        };
                    if default {
                        self.mapped(&format!("{field}.{k}"));
                    } else if network_setting {
                        let value = match v.as_bool() {
                            Some(flag) => flag.to_string(),
                            None => quote(v.as_str().unwrap_or_default()),
                        };
                        settings.push(Entry::field(k, value));
                        self.mapped(&format!("{field}.{k}"));
                    } else {
                        self.warn(
                            v,
                            &format!("{field}.{k}"),
                            format!(
                                "`{k}` of a {} is not part of the spec; sight declares it with Compose's defaults",
                                &section[..section.len() - 1]
                            ),
                        );
                    }
                }
                self.mapped(&field);
                if !settings.is_empty() {
                    decls.push(Decl {
                        keyword: "network",
                        name: name.clone(),
                        kind: None,
                        comments: Vec::new(),
                        body: settings,
                    });
                }
                if section == "volumes" && sight_name(name) == *name {
                    if let Some(decl) = self.volume_decl(&field, name, node) {
                        decls.push(decl);
                    }
                }
            }
        }
        decls
    }

    fn service(&mut self, name: &str, sight: &str, node: &Yaml, context: &Context) -> Decl {
        let Context { names, secrets, jobs, healthy } = *context;
        let at = format!("services.{name}");
        let entries: Vec<(String, Yaml)> = node.as_map().map(<[_]>::to_vec).unwrap_or_default();
        let mut body = Vec::new();
        let mut dev = Vec::new();
        let mut container_ports = Vec::new();
        let mut port_done = false;
        for (k, v) in &entries {
            let field = format!("{at}.{k}");
            match k.as_str() {
                "image" if node.get("build").is_some() => self.warn(
                    v,
                    &field,
                    "a built service's image is named by sight (`<registry>/<service>:<target>`); the name is dropped",
                ),
                "image" => match v.as_str() {
                    Some(image) => {
                        body.push(Entry::field("image", quote(image)));
                        self.mapped(&field);
                    }
                    None => self.warn(v, &field, "not a string"),
                },
                "build" => body.push(self.build(&field, v)),
                "command" | "entrypoint" => {
                    if let Some(words) = self.words(&field, v) {
                        body.push(Entry::field(k, list(&words)));
                    }
                }
                "environment" => {
                    if let Some(block) = self.env_block(&field, v) {
                        body.push(block);
                    }
                }
                "env_file" => {
                    let files = self.env_files(&field, v);
                    if !files.is_empty() {
                        body.push(Entry::field("env_file", list(&files)));
                    }
                }
                "ports" => {
                    for item in v.as_seq().unwrap_or_default() {
                        if let Some(port) = self.port(&field, item) {
                            container_ports.push(port);
                        }
                    }
                }
                "volumes" => {
                    let (volumes, mounts, tmpfs) = self.volumes(&field, v);
                    if !volumes.is_empty() {
                        body.push(Entry::field("volumes", list(&volumes)));
                    }
                    if !tmpfs.is_empty() {
                        body.push(Entry::field("tmpfs", list(&tmpfs)));
                    }
                    if !mounts.is_empty() {
                        dev.push(Entry::field("mount", list(&mounts)));
                    }
                }
                "tmpfs" => {
                    let items = strings(v);
                    if !items.is_empty() && node.get("volumes").is_none_or(|vol| self.volumes_tmpfs_count(vol) == 0) {
                        body.push(Entry::field("tmpfs", list(&items)));
                        self.mapped(&field);
                    } else if !items.is_empty() {
                        self.warn(
                            v,
                            &field,
                            "tmpfs given both here and in `volumes`: only the `volumes` ones were imported",
                        );
                    }
                }
                "networks" => {
                    let (networks, aliases) = self.networks(&field, v);
                    if !networks.is_empty() {
                        body.push(Entry::field("networks", list(&networks)));
                    }
                    if !aliases.is_empty() {
                        body.push(Entry::field("aliases", list(&aliases)));
                    }
                }
                "restart" => match v.as_str().or(v.as_bool().map(|b| if b { "always" } else { "no" })) {
                    Some(policy) => {
                        body.push(Entry::field("restart", quote(policy)));
                        self.mapped(&field);
                    }
                    None => self.warn(v, &field, "not a restart policy"),
                },
                "user" => match v.as_str() {
                    Some(user) => {
                        body.push(Entry::field("user", quote(user)));
                        self.mapped(&field);
                    }
                    None => self.warn(v, &field, "not a string"),
                },
                "profiles" => {
                    let profiles = strings(v);
                    body.push(Entry::field("profiles", list(&profiles)));
                    self.mapped(&field);
                }
                "labels" => {
                    if let Some(block) = self.labels(&field, v) {
                        body.push(block);
                    }
                }
                "secrets" => {
                    let grants = self.secret_grants(&field, v, secrets);
                    if !grants.is_empty() {
                        body.push(Entry::field("secrets", format!("[{}]", grants.join(", "))));
                    }
                }
                "depends_on" => {
                    let deps = self.depends_on(&field, v, names, jobs, healthy);
                    if !deps.is_empty() {
                        body.push(Entry::field("depends_on", format!("[{}]", deps.join(", "))));
                    }
                }
                "healthcheck" => {
                    if let Some(health) = self.healthcheck(&field, v) {
                        body.push(health);
                    }
                }
                "deploy" => body.extend(self.deploy(&field, v)),
                "security_opt" => {
                    body.push(Entry::field("security_opt", list(&strings(v))));
                    self.mapped(&field);
                }
                "ulimits" => {
                    let mut limits = Vec::new();
                    for (limit, value) in v.as_map().unwrap_or_default() {
                        let text = match (
                            value.as_str(),
                            value.get("soft").and_then(Yaml::as_str),
                            value.get("hard").and_then(Yaml::as_str),
                        ) {
                            (Some(n), _, _) => n.to_string(),
                            (None, Some(soft), Some(hard)) => format!("{soft}:{hard}"),
                            _ => {
                                self.warn(value, &format!("{field}.{limit}"), "not a limit; dropped");
                                continue;
                            }
                        };
                        limits.push(Entry::field(limit, quote(&text)));
                        self.mapped(&format!("{field}.{limit}"));
                    }
                    if !limits.is_empty() {
                        body.push(Entry::block("ulimits", None, limits));
                    }
                }
                "tty" | "stdin_open" | "read_only" => match v.as_bool() {
                    Some(flag) => {
                        if flag {
                            body.push(Entry::field(k, "true"));
                        }
                        self.mapped(&field);
                    }
                    None => self.warn(v, &field, "not a boolean"),
                },
                k if k.starts_with("x-") => self.warn(v, &field, "an extension field (Compose ignores it); dropped"),
                other => {
                    let reason = DROPPED
                        .iter()
                        .chain(UNSUPPORTED)
                        .find(|(key, _)| *key == other)
                        .map_or_else(|| format!("`{other}` is not part of the spec"), |(_, why)| why.to_string());
                    self.warn(v, &field, format!("{reason}; dropped"));
                }
            }
        }
        if jobs.contains(name) {
            body.push(Entry::field("job", "true"));
        }
        // The first plain `HOST:CONTAINER` mapping is the service's port; the rest stay as written.
        let mut ports = Vec::new();
        for mapping in container_ports {
            let simple =
                mapping.split_once(':').and_then(|(h, c)| Some((h.parse::<u16>().ok()?, c.parse::<u16>().ok()?)));
            match simple {
                Some((host, container)) if !port_done => {
                    port_done = true;
                    body.push(Entry::field("port", container.to_string()));
                    if host != container {
                        body.push(Entry::field("publish", host.to_string()));
                    }
                }
                _ => ports.push(mapping),
            }
        }
        if !ports.is_empty() {
            body.push(Entry::field("ports", list(&ports)));
        }
        if !dev.is_empty() {
            body.push(Entry::block("dev", None, dev));
        }
        Decl { keyword: "service", name: sight.to_string(), kind: None, comments: Vec::new(), body }
    }

    fn volumes_tmpfs_count(&self, volumes: &Yaml) -> usize {
        volumes
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter(|v| v.get("type").and_then(Yaml::as_str) == Some("tmpfs"))
            .count()
    }

    /// `build:` → `build : dockerfile { … }`.
    fn build(&mut self, field: &str, node: &Yaml) -> Entry {
        let node = &normalize_service_key("build", node.clone());
        let mut body = Vec::new();
        let context = node.get("context").and_then(Yaml::as_str).unwrap_or(".");
        body.push(Entry::field("context", quote(&self.path(context))));
        self.mapped(field);
        for (k, v) in node.as_map().unwrap_or_default() {
            let sub = format!("{field}.{k}");
            match k.as_str() {
                "context" => self.mapped(&sub),
                "dockerfile" | "target" => match v.as_str() {
                    Some(text) => {
                        body.push(Entry::field(k, quote(text)));
                        self.mapped(&sub);
                    }
                    None => self.warn(v, &sub, "not a string"),
                },
                "args" => {
                    let pairs = pairs(v);
                    if !pairs.is_empty() {
                        body.push(Entry::block(
                            "args",
                            None,
                            pairs
                                .iter()
                                .map(|(k, v)| Entry::field(k, quote(v.as_deref().unwrap_or_default())))
                                .collect(),
                        ));
                    }
                    self.mapped(&sub);
                }
                other => self.warn(v, &sub, format!("`build.{other}` is not part of the spec; dropped")),
            }
        }
        Entry::block("build", Some("dockerfile"), body)
    }

    /// A command or entrypoint as words (a string is split as Compose splits it).
    fn words(&mut self, field: &str, node: &Yaml) -> Option<Vec<String>> {
        match &node.node {
            Node::Scalar { text, .. } if !node.is_null() => {
                self.mapped(field);
                let (words, rest) = shell_words(text);
                if let Some(rest) = rest {
                    self.warn(node, field, format!("Compose runs only the first command of a string: `{rest}` is ignored (as in the original); write `[\"sh\", \"-c\", \"…\"]` to run it all"));
                }
                Some(words)
            }
            Node::Seq(items) => {
                self.mapped(field);
                Some(items.iter().map(|i| i.as_str().unwrap_or_default().to_string()).collect())
            }
            _ => {
                self.warn(node, field, "empty; dropped");
                None
            }
        }
    }

    fn env_block(&mut self, field: &str, node: &Yaml) -> Option<Entry> {
        let mut body = Vec::new();
        for (name, value) in pairs(node) {
            let sub = format!("{field}.{name}");
            match value {
                Some(value) => {
                    body.push(Entry::field(&name, quote(&value)));
                    self.mapped(&sub);
                }
                None => self.warn(
                    node,
                    &sub,
                    "taken from the shell's environment at `up` (no value): sight writes values; set it in the spec",
                ),
            }
        }
        self.mapped(field);
        (!body.is_empty()).then(|| Entry::block("env", None, body))
    }

    fn labels(&mut self, field: &str, node: &Yaml) -> Option<Entry> {
        let body: Vec<Entry> =
            pairs(node).into_iter().map(|(k, v)| Entry::field(&k, quote(v.as_deref().unwrap_or_default()))).collect();
        self.mapped(field);
        (!body.is_empty()).then(|| Entry::block("labels", None, body))
    }

    fn env_files(&mut self, field: &str, node: &Yaml) -> Vec<String> {
        let mut out = Vec::new();
        let items: Vec<Yaml> = match &node.node {
            Node::Seq(items) => items.clone(),
            _ => vec![node.clone()],
        };
        for item in items {
            match (&item.node, item.get("path")) {
                (Node::Scalar { text, .. }, _) => match self.inside(text) {
                    Some(path) => out.push(path),
                    None => self.outside(&item, field, text),
                },
                (Node::Map(_), Some(path)) => {
                    let text = path.as_str().unwrap_or_default();
                    match self.inside(text) {
                        Some(path) => out.push(path),
                        None => self.outside(&item, field, text),
                    }
                    if item.get("required").and_then(Yaml::as_bool) == Some(false) {
                        self.warn(&item, field, "`required: false`: sight's env files are required");
                    }
                }
                _ => self.warn(&item, field, "not an env file"),
            }
        }
        self.mapped(field);
        out
    }

    /// A port in the short syntax `[IP:]HOST:CONTAINER[/PROTOCOL]`.
    fn port(&mut self, field: &str, item: &Yaml) -> Option<String> {
        match &item.node {
            Node::Scalar { text, .. }
                if text
                    .rsplit(':')
                    .next()
                    .is_none_or(|c| c.trim_end_matches("/tcp").trim_end_matches("/udp").is_empty()) =>
            {
                self.warn(
                    item,
                    field,
                    format!("`{text}` names no container port (a variable without a value?); dropped"),
                );
                None
            }
            Node::Scalar { text, .. } => {
                self.mapped(field);
                Some(text.clone())
            }
            Node::Map(entries) => {
                let get = |k: &str| item.get(k).and_then(Yaml::as_str).map(str::to_string);
                let target = get("target")?;
                let mut text = match (get("host_ip"), get("published")) {
                    (Some(ip), Some(p)) => format!("{ip}:{p}:{target}"),
                    (Some(ip), None) => format!("{ip}::{target}"),
                    (None, Some(p)) => format!("{p}:{target}"),
                    (None, None) => target,
                };
                if let Some(protocol) = get("protocol").filter(|p| p != "tcp") {
                    text = format!("{text}/{protocol}");
                }
                for (k, v) in entries {
                    match k.as_str() {
                        "target" | "published" | "host_ip" | "protocol" => {}
                        "mode" if v.as_str() == Some("ingress") => {}
                        _ => self.warn(
                            v,
                            &format!("{field}.{k}"),
                            format!("`{k}` of a port is not part of the spec; dropped"),
                        ),
                    }
                }
                self.mapped(field);
                Some(text)
            }
            Node::Seq(_) => {
                self.warn(item, field, "not a port");
                None
            }
        }
    }

    /// (named and anonymous volumes, bind mounts, tmpfs).
    fn volumes(&mut self, field: &str, node: &Yaml) -> (Vec<String>, Vec<String>, Vec<String>) {
        let (mut volumes, mut mounts, mut tmpfs) = (Vec::new(), Vec::new(), Vec::new());
        for item in node.as_seq().unwrap_or_default() {
            match &item.node {
                Node::Scalar { text, .. } if text.starts_with(':') => {
                    self.warn(item, field, format!("`{text}` has no source (a variable without a value?); dropped"));
                }
                Node::Scalar { text, .. } => {
                    let parts: Vec<&str> = text.splitn(2, ':').collect();
                    match parts.as_slice() {
                        [source, rest] if is_host_path(source) => match self.inside(source) {
                            Some(source) => mounts.push(format!("{source}:{rest}")),
                            None => self.outside(item, field, text),
                        },
                        _ => volumes.push(text.clone()),
                    }
                    self.mapped(field);
                }
                Node::Map(entries) => {
                    let get = |k: &str| item.get(k).and_then(Yaml::as_str).map(str::to_string);
                    let kind = get("type").unwrap_or_else(|| "volume".to_string());
                    let Some(target) = get("target") else {
                        self.warn(item, field, "a volume without a target; dropped");
                        continue;
                    };
                    let read_only = item.get("read_only").and_then(Yaml::as_bool) == Some(true);
                    let mode = if read_only { ":ro" } else { "" };
                    match (kind.as_str(), get("source")) {
                        ("bind", Some(source)) => match self.inside(&source) {
                            Some(source) => mounts.push(format!("{source}:{target}{mode}")),
                            None => {
                                self.outside(item, field, &source);
                                continue;
                            }
                        },
                        ("volume", Some(source)) => volumes.push(format!("{source}:{target}{mode}")),
                        ("volume", None) => volumes.push(target.clone()),
                        ("tmpfs", _) => {
                            let size = item
                                .get("tmpfs")
                                .and_then(|t| t.get("size"))
                                .and_then(Yaml::as_str)
                                .map(|s| format!(":size={s}"))
                                .unwrap_or_default();
                            tmpfs.push(format!("{target}{size}"));
                        }
                        _ => {
                            self.warn(item, field, format!("a `{kind}` volume is not part of the spec; dropped"));
                            continue;
                        }
                    }
                    for (k, v) in entries {
                        match k.as_str() {
                            "type" | "source" | "target" | "read_only" => {}
                            "tmpfs"
                                if kind == "tmpfs"
                                    && v.as_map().is_some_and(|m| m.iter().all(|(k, _)| k == "size")) => {}
                            _ => self.warn(
                                v,
                                &format!("{field}.{k}"),
                                format!("`{k}` of a volume is not part of the spec; dropped"),
                            ),
                        }
                    }
                    self.mapped(field);
                }
                Node::Seq(_) => self.warn(item, field, "not a volume"),
            }
        }
        (volumes, mounts, tmpfs)
    }

    /// The networks and the aliases (sight gives the same aliases on every network).
    fn networks(&mut self, field: &str, node: &Yaml) -> (Vec<String>, Vec<String>) {
        let mut out = Vec::new();
        let mut aliases: Option<Vec<String>> = None;
        match &node.node {
            Node::Seq(items) => out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string))),
            Node::Map(entries) => {
                for (name, settings) in entries {
                    out.push(name.clone());
                    for (k, v) in settings.as_map().unwrap_or_default() {
                        let sub = format!("{field}.{name}.{k}");
                        let these = strings(v);
                        match (k.as_str(), &aliases) {
                            ("aliases", None) if entries.len() == 1 => {
                                aliases = Some(these);
                                self.mapped(&sub);
                            }
                            _ => self.warn(v, &sub, format!("`{k}` of a service's network is not part of the spec (aliases only when the service is on one network); dropped")),
                        }
                    }
                }
            }
            Node::Scalar { .. } => self.warn(node, field, "not a list of networks"),
        }
        self.mapped(field);
        (out, aliases.unwrap_or_default())
    }

    fn secret_grants(&mut self, field: &str, node: &Yaml, secrets: &BTreeMap<String, Decl>) -> Vec<String> {
        let mut out = Vec::new();
        for item in node.as_seq().unwrap_or_default() {
            let source = match &item.node {
                Node::Scalar { text, .. } => Some(text.clone()),
                Node::Map(entries) => {
                    for (k, v) in entries {
                        let default_target = item.get("source").and_then(Yaml::as_str);
                        let is_default = k == "source" || (k == "target" && v.as_str() == default_target);
                        if !is_default {
                            self.warn(v, &format!("{field}.{k}"), format!("`{k}` of a granted secret is not part of the spec (sight mounts it at `/run/secrets/<name>`); dropped"));
                        }
                    }
                    item.get("source").and_then(Yaml::as_str).map(str::to_string)
                }
                Node::Seq(_) => None,
            };
            match source.as_ref().and_then(|s| secrets.get(s)) {
                Some(decl) => out.push(format!("secret.{}", decl.name)),
                None => self.warn(item, field, "a secret that is not declared at the top level; dropped"),
            }
        }
        self.mapped(field);
        out
    }

    fn depends_on(
        &mut self,
        field: &str,
        node: &Yaml,
        names: &BTreeMap<String, String>,
        jobs: &BTreeSet<String>,
        healthy: &BTreeSet<String>,
    ) -> Vec<String> {
        let node = normalize_service_key("depends_on", node.clone());
        let mut out = Vec::new();
        for (target, settings) in node.as_map().unwrap_or_default() {
            let sub = format!("{field}.{target}");
            let Some(sight) = names.get(target) else {
                self.warn(&settings.clone(), &sub, "depends on a service that is not declared; dropped");
                continue;
            };
            out.push(sight.clone());
            self.mapped(&sub);
            for (k, v) in settings.as_map().unwrap_or_default() {
                match (k.as_str(), v.as_str()) {
                    ("condition", Some("service_completed_successfully")) if jobs.contains(target) => self.mapped(&format!("{sub}.{k}")),
                    ("condition", Some("service_healthy")) if healthy.contains(target) => self.mapped(&format!("{sub}.{k}")),
                    ("condition", Some("service_healthy")) => self.warn(v, &format!("{sub}.{k}"), "the dependency has no health check that sight can write: this service only waits for it to start"),
                    ("condition", Some("service_started")) if !jobs.contains(target) && !healthy.contains(target) => self.mapped(&format!("{sub}.{k}")),
                    ("condition", Some("service_started")) if !jobs.contains(target) => self.warn(v, &format!("{sub}.{k}"), "sight waits until a dependency is healthy when it has a health check (`service_healthy`), not only started"),
                    ("condition", Some("service_started")) => self.warn(v, &format!("{sub}.{k}"), "the dependency is a job (others wait for it to complete): this service now waits for it too"),
                    ("required", _) if v.as_bool() == Some(true) => self.mapped(&format!("{sub}.{k}")),
                    ("restart", _) if v.as_bool() == Some(false) => self.mapped(&format!("{sub}.{k}")),
                    _ => self.warn(v, &format!("{sub}.{k}"), format!("`{k}` of a dependency is not part of the spec; dropped")),
                }
            }
        }
        self.mapped(field);
        out
    }

    fn healthcheck(&mut self, field: &str, node: &Yaml) -> Option<Entry> {
        if node.get("disable").and_then(Yaml::as_bool) == Some(true) {
            self.warn(node, field, "`disable: true`: sight cannot turn off the image's own HEALTHCHECK; dropped");
            return None;
        }
        let test = node.get("test")?;
        let probe = match &test.node {
            Node::Scalar { text, .. } => format!("shell({})", quote(text)),
            Node::Seq(items) => {
                let words: Vec<String> = items.iter().map(|i| i.as_str().unwrap_or_default().to_string()).collect();
                match words.split_first() {
                    Some((first, rest)) if first == "CMD-SHELL" => format!("shell({})", quote(&rest.join(" "))),
                    Some((first, rest)) if first == "CMD" && !rest.is_empty() => format!("command({})", list(rest)),
                    Some((first, _)) if first == "NONE" => {
                        self.warn(test, field, "`NONE`: sight cannot turn off the image's own HEALTHCHECK; dropped");
                        return None;
                    }
                    _ => {
                        self.warn(test, field, "not a health check test; dropped");
                        return None;
                    }
                }
            }
            Node::Map(_) => {
                self.warn(test, field, "not a health check test; dropped");
                return None;
            }
        };
        let mut timing = Vec::new();
        for (k, v) in node.as_map().unwrap_or_default() {
            let sub = format!("{field}.{k}");
            match k.as_str() {
                "test" => self.mapped(&sub),
                "interval" | "timeout" | "start_period" => match v.as_str().and_then(compose_duration) {
                    Some(ms) if ms >= 1000 || (k == "start_period") => {
                        timing.push(format!("{k} = {}", duration(ms)));
                        self.mapped(&sub);
                    }
                    _ => self.warn(v, &sub, "below one second or not a duration: sight's minimum is `1s`; dropped"),
                },
                "retries" => match v.as_str().and_then(|r| r.parse::<u32>().ok()) {
                    Some(n) if n >= 1 => {
                        timing.push(format!("retries = {n}"));
                        self.mapped(&sub);
                    }
                    _ => self.warn(v, &sub, "not a number of retries; dropped"),
                },
                _ => self.warn(v, &sub, format!("`{k}` of a health check is not part of the spec; dropped")),
            }
        }
        self.mapped(field);
        let block = if timing.is_empty() { String::new() } else { format!(" {{ {} }}", timing.join("  ")) };
        Some(Entry::Field("health".to_string(), format!("{probe}{block}")))
    }

    fn deploy(&mut self, field: &str, node: &Yaml) -> Vec<Entry> {
        let mut out = Vec::new();
        for (k, v) in node.as_map().unwrap_or_default() {
            let sub = format!("{field}.{k}");
            match k.as_str() {
                "replicas" => match v.as_str().and_then(|r| r.parse::<u32>().ok()) {
                    Some(n) => {
                        out.push(Entry::field("replicas", n.to_string()));
                        self.mapped(&sub);
                    }
                    None => self.warn(v, &sub, "not a number"),
                },
                "resources" => {
                    for (r, settings) in v.as_map().unwrap_or_default() {
                        let rsub = format!("{sub}.{r}");
                        if r == "reservations" {
                            if let Some(gpus) = gpu_reservation(settings) {
                                out.push(Entry::field("gpus", gpus));
                                self.mapped(&rsub);
                                continue;
                            }
                        }
                        if r != "limits" {
                            self.warn(
                                settings,
                                &rsub,
                                format!("`{r}` is not part of the spec (only `limits`); dropped"),
                            );
                            continue;
                        }
                        let mut limits = Vec::new();
                        for (l, value) in settings.as_map().unwrap_or_default() {
                            let lsub = format!("{rsub}.{l}");
                            match (l.as_str(), value.as_str()) {
                                ("cpus", Some(text)) if text.parse::<f64>().is_ok_and(|c| c > 0.0) => {
                                    limits.push(Entry::field("cpus", text.trim_start_matches('+').to_string()));
                                    self.mapped(&lsub);
                                }
                                ("memory", Some(text)) if compose_size(text).is_some_and(|b| b >= 6 << 20) => {
                                    let bytes = compose_size(text).unwrap_or_default();
                                    if !bytes.is_multiple_of(1024) {
                                        self.warn(value, &lsub, "rounded up to whole KiB");
                                    }
                                    limits.push(Entry::field("memory", size(bytes)));
                                    self.mapped(&lsub);
                                }
                                _ => self.warn(value, &lsub, format!("`{l}` limit is not part of the spec; dropped")),
                            }
                        }
                        if !limits.is_empty() {
                            out.push(Entry::block("limits", None, limits));
                        }
                    }
                }
                _ => self.warn(v, &sub, format!("`deploy.{k}` is not part of the spec; dropped")),
            }
        }
        out
    }

    /// A known store image whose container the kind reproduces → a store declaration.
    fn store(
        &mut self,
        name: &str,
        sight: &str,
        node: &Yaml,
        env: &[(String, Option<String>)],
        doc: &Yaml,
        secrets: &mut Vec<Decl>,
    ) -> Option<Decl> {
        let image = node.get("image")?.as_str()?;
        let repository = image.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map_or(image, |(r, _)| r);
        let kind = STORE_KINDS.iter().find(|k| k.repositories.contains(&repository))?;
        let at = format!("services.{name}");
        let allowed = [
            "image",
            "environment",
            "volumes",
            "ports",
            "restart",
            "networks",
            "healthcheck",
            "container_name",
            "expose",
            "labels",
            "profiles",
            "command",
        ];
        let blocker = node
            .as_map()
            .unwrap_or_default()
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
            .map(|(k, _)| format!("`{k}`"));
        let mut reasons: Vec<String> = blocker.into_iter().collect();
        // Volumes: at most a named volume on the data directory.
        for item in node.get("volumes").and_then(Yaml::as_seq).unwrap_or_default() {
            let on_data = item.as_str().is_some_and(|v| {
                let parts: Vec<&str> = v.split(':').collect();
                matches!(parts.as_slice(), [source, target] | [source, target, _] if !is_host_path(source) && *target == kind.data_dir) || v == kind.data_dir
            });
            if !on_data {
                reasons.push("a volume besides its data directory".to_string());
            }
        }
        for item in node.get("ports").and_then(Yaml::as_seq).unwrap_or_default() {
            let plain = item
                .as_str()
                .and_then(|p| p.split_once(':'))
                .is_some_and(|(h, c)| h.parse::<u16>() == Ok(kind.port) && c == kind.port.to_string());
            if !plain {
                reasons.push(format!("a port other than `{0}:{0}`", kind.port));
            }
        }
        if let Some(command) = node.get("command") {
            let words = match &command.node {
                Node::Scalar { text, .. } => shell_split(text),
                Node::Seq(items) => items.iter().filter_map(Yaml::as_str).map(str::to_string).collect(),
                Node::Map(_) => Vec::new(),
            };
            if kind.kind != "postgres" || words != ["postgres", "-c", "max_connections=100"] {
                reasons.push("a `command`".to_string());
            }
        }
        let mut fields = Vec::new();
        let mut password_var = None;
        match kind.kind {
            "postgres" => {
                let get = |k: &str| env.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.clone());
                for (var, _) in env {
                    if !["POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"]
                        .contains(&var.as_str())
                    {
                        reasons.push(format!("`{var}`"));
                    }
                }
                let user = get("POSTGRES_USER").unwrap_or_else(|| "postgres".to_string());
                let db = get("POSTGRES_DB").unwrap_or_else(|| user.clone());
                fields.push(Entry::field("user", quote(&user)));
                fields.push(Entry::field("name", quote(&db)));
                match (get("POSTGRES_PASSWORD"), get("POSTGRES_PASSWORD_FILE")) {
                    (Some(password), None) if !password.is_empty() => {
                        password_var = Some(("POSTGRES_PASSWORD", password))
                    }
                    (None, Some(file)) => match file.strip_prefix("/run/secrets/").filter(|s| {
                        node.get("secrets").is_some() && doc.get("secrets").and_then(|d| d.get(s)).is_some()
                    }) {
                        Some(secret) => fields.push(Entry::field("password", format!("secret.{}", sight_name(secret)))),
                        None => reasons.push("a password file that is not a granted secret".to_string()),
                    },
                    _ => reasons.push("no password (the kind requires one)".to_string()),
                }
            }
            _ => {
                if let Some((var, _)) = env.first() {
                    reasons.push(format!("`{var}`"));
                }
            }
        }
        if node.get("secrets").is_some()
            && password_var.is_none()
            && !fields.iter().any(|f| matches!(f, Entry::Field(n, _) if n == "password"))
        {
            reasons.push("`secrets`".to_string());
        }
        if !reasons.is_empty() {
            reasons.sort();
            reasons.dedup();
            self.warn(
                node,
                &at,
                format!(
                    "kept as a service with its image: a `{}` store cannot reproduce {}",
                    kind.kind,
                    reasons.join(", ")
                ),
            );
            return None;
        }
        let mut body = vec![Entry::field("image", quote(image))];
        body.extend(fields);
        if let Some((var, password)) = password_var {
            let secret = sight_name(&format!("{sight}_password"));
            let file = format!("secrets/{secret}.txt");
            self.secret_files.insert(file.clone(), password);
            secrets.push(Decl {
                keyword: "secret",
                name: secret.clone(),
                kind: None,
                comments: vec![format!("`{var}` of `{name}`, written to {file} (keep it out of git)")],
                body: vec![
                    Entry::field("from", format!("secret_manager({}, version = 1)", quote(&secret.replace('_', "-")))),
                    Entry::field("file", quote(&file)),
                ],
            });
            body.push(Entry::field("password", format!("secret.{secret}")));
            self.warn(node, &format!("{at}.environment.{var}"), format!("a plain-text password: now the secret `{secret}`, read through `{var}_FILE` (its value is in {file})"));
        }
        for (k, v) in node.as_map().unwrap_or_default() {
            let field = format!("{at}.{k}");
            match k.as_str() {
                "image" | "environment" | "command" => self.mapped(&field),
                "volumes" => {
                    self.mapped(&field);
                }
                "ports" => self.mapped(&field),
                "healthcheck" => self.warn(v, &field, format!("replaced by the `{}` kind's health check", kind.kind)),
                "restart" => {
                    if let Some(policy) = v.as_str() {
                        body.push(Entry::field("restart", quote(policy)));
                    }
                    self.mapped(&field);
                }
                "networks" => {
                    let (networks, aliases) = self.networks(&field, v);
                    body.push(Entry::field("networks", list(&networks)));
                    if !aliases.is_empty() {
                        body.push(Entry::field("aliases", list(&aliases)));
                    }
                }
                "profiles" => {
                    body.push(Entry::field("profiles", list(&strings(v))));
                    self.mapped(&field);
                }
                "labels" => {
                    if let Some(block) = self.labels(&field, v) {
                        body.push(block);
                    }
                }
                other => {
                    let reason =
                        DROPPED.iter().find(|(key, _)| *key == other).map_or("not part of the spec", |(_, why)| why);
                    self.warn(v, &field, format!("{reason}; dropped"));
                }
            }
        }
        if let Some(env) = node.get("environment") {
            for (var, _) in pairs(env) {
                self.mapped(&format!("{at}.environment.{var}"));
            }
        }
        Some(Decl {
            keyword: kind.keyword,
            name: sight.to_string(),
            kind: Some(kind.kind.to_string()),
            comments: Vec::new(),
            body,
        })
    }
}

/// `reservations: {devices: [{driver: nvidia, count: all|N, capabilities: [gpu]}]}` → `gpus`.
fn gpu_reservation(reservations: &Yaml) -> Option<String> {
    let entries = reservations.as_map()?;
    let [(key, devices)] = entries else { return None };
    let [device] = devices.as_seq()? else { return None };
    if key != "devices" || device.as_map()?.len() != 3 || device.get("driver")?.as_str()? != "nvidia" {
        return None;
    }
    if strings(device.get("capabilities")?) != ["gpu"] {
        return None;
    }
    match device.get("count")?.as_str()? {
        "all" => Some(quote("all")),
        n => n.parse::<u32>().ok().filter(|n| *n >= 1).map(|n| n.to_string()),
    }
}

/// Services every dependent waits for with `service_completed_successfully`: jobs.
fn completed_dependencies(services: &[(String, Yaml)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, node) in services {
        let Some(deps) = node.get("depends_on") else { continue };
        let deps = normalize_service_key("depends_on", deps.clone());
        for (target, settings) in deps.as_map().unwrap_or_default() {
            if settings.get("condition").and_then(Yaml::as_str) == Some("service_completed_successfully") {
                out.insert(target.clone());
            }
        }
    }
    out
}

/// `KEY: value` pairs of a mapping or a `KEY=value` list; `None` for a variable without value.
fn pairs(node: &Yaml) -> Vec<(String, Option<String>)> {
    match &node.node {
        Node::Map(entries) => entries.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect(),
        Node::Seq(items) => items
            .iter()
            .filter_map(|i| {
                let text = i.as_str()?;
                Some(match text.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (text.to_string(), None),
                })
            })
            .collect(),
        Node::Scalar { .. } => Vec::new(),
    }
}

/// A scalar as Compose reads an environment value: booleans and numbers as written.
fn scalar_text(node: &Yaml) -> Option<String> {
    match &node.node {
        Node::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
        _ => None,
    }
}

fn environment(node: &Yaml) -> Vec<(String, Option<String>)> {
    node.get("environment").map(pairs).unwrap_or_default()
}

fn strings(node: &Yaml) -> Vec<String> {
    match &node.node {
        Node::Seq(items) => items.iter().filter_map(Yaml::as_str).map(str::to_string).collect(),
        Node::Scalar { text, .. } if !node.is_null() => vec![text.clone()],
        _ => Vec::new(),
    }
}

/// A host path in a volume: relative, absolute, in the home folder, or from a variable.
fn is_host_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~', '$'])
}

/// `a/./b/../c` → `a/c` (without touching a leading `..`).
fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    let joined = if joined.is_empty() { ".".to_string() } else { joined };
    if path.starts_with('/') {
        format!("/{joined}")
    } else if joined.starts_with("..") || joined == "." {
        joined
    } else {
        format!("./{joined}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::model::{EnvValue, Model};
    use crate::project::{compile, ProjectInput};

    const BASE: &str = r#"
version: "3.8"
x-env: &env
  LOG_LEVEL: info
services:
  web:
    build:
      context: ./web
      target: dev
      args:
        NODE_ENV: development
    image: shop/web
    command: npm run dev -- --host 0.0.0.0
    ports:
      - "3000:3000"
      - "127.0.0.1:9229:9229"
    environment:
      <<: *env
      API_URL: http://api:8000
    volumes:
      - ./web/src:/app/src:ro
      - /app/node_modules
    depends_on:
      api:
        condition: service_healthy
    networks: [front]
    restart: unless-stopped
    stdin_open: true
  api:
    image: ghcr.io/shop/api:1.4
    entrypoint: ["/entrypoint.sh"]
    environment:
      - DATABASE_HOST=db
      - API_TOKEN=${API_TOKEN:-dev-token}
      - FROM_SHELL
    healthcheck:
      test: curl -f http://localhost:8000/health || exit 1
      interval: 10s
      timeout: 3s
      retries: 5
      start_period: 1m
    depends_on: [db, migrate]
    networks:
      front:
      back:
    secrets: [api-key]
    user: "1000:1000"
    deploy:
      resources:
        limits: { cpus: "0.5", memory: 512M }
        reservations: { memory: 128M }
    container_name: shop-api
    ulimits:
      nofile: { soft: 1024, hard: 65536 }
    security_opt: [no-new-privileges]
    labels:
      com.example.team: shop
  migrate:
    image: ghcr.io/shop/api:1.4
    command: ["alembic", "upgrade", "head"]
    depends_on:
      db:
        condition: service_healthy
    profiles: [tools]
    networks: [back]
  db:
    image: postgres:16
    restart: always
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD: s3cret
    volumes:
      - db-data:/var/lib/postgresql/data
    networks: [back]
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "shop"]
volumes:
  db-data:
networks:
  front:
  back:
    driver: bridge
    internal: true
secrets:
  api-key:
    file: ./secrets/api-key.txt
"#;

    const OVERRIDE: &str = r#"
services:
  api:
    depends_on: !override [db]
    environment:
      DATABASE_HOST: db.internal
    ports: ["8000:8000"]
  web:
    command: ["npm", "start"]
    stdin_open: !reset null
"#;

    fn imported() -> Imported {
        let input = ComposeInput {
            files: vec![("compose.yaml".into(), BASE.into()), ("compose.override.yaml".into(), OVERRIDE.into())],
            base: ".".into(),
            project: "Shop".into(),
            variables: BTreeMap::new(),
        };
        import(&input).expect("imports")
    }

    fn model(imported: &Imported) -> Model {
        let sources: Vec<(String, String)> =
            imported.files.iter().filter(|(p, _)| p.ends_with(".sight")).map(|(p, t)| (p.clone(), t.clone())).collect();
        let compiled = compile(&ProjectInput {
            manifest: imported.files["sight.toml"].clone(),
            sources,
            ..ProjectInput::default()
        });
        let errors: Vec<String> =
            compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
        assert!(errors.is_empty(), "{errors:#?}\n{}", imported.files["shop.sight"]);
        compiled.model.expect("a model")
    }

    /// Every leaf of the merged source, as a dotted path.
    fn leaves(node: &Yaml, path: &str, out: &mut Vec<(String, usize)>) {
        match &node.node {
            Node::Map(entries) if !entries.is_empty() => {
                for (k, v) in entries {
                    leaves(v, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out);
                }
            }
            Node::Seq(items) if !items.is_empty() => items.iter().for_each(|i| leaves(i, path, out)),
            _ => out.push((path.to_string(), node.line)),
        }
    }

    /// Every leaf is written into the spec or named by a warning (never lost in silence).
    fn assert_every_field_accounted_for(files: &[(String, String)], imported: &Imported) {
        let docs: Vec<Yaml> = files
            .iter()
            .enumerate()
            .filter_map(|(i, (_, t))| {
                let mut d = yaml::parse(t).ok()??;
                d.set_file(i);
                Some(d)
            })
            .collect();
        let merged = docs.into_iter().reduce(|a, b| merge(a, b, &[])).expect("a document");
        let mut all = Vec::new();
        leaves(&merged, "", &mut all);
        let covered = |path: &str| {
            let covers = |q: &str| path == q || path.starts_with(&format!("{q}."));
            imported.mapped.iter().any(|m| covers(m)) || imported.warnings.iter().any(|w| covers(&w.field))
        };
        let lost: Vec<&(String, usize)> = all.iter().filter(|(p, _)| !covered(p)).collect();
        assert!(lost.is_empty(), "fields neither imported nor reported: {lost:#?}");
    }

    #[test]
    fn every_field_is_imported_or_reported() {
        let imported = imported();
        assert_every_field_accounted_for(
            &[("compose.yaml".into(), BASE.into()), ("compose.override.yaml".into(), OVERRIDE.into())],
            &imported,
        );
        let warned = |field: &str| imported.warnings.iter().any(|w| w.field == field);
        for field in [
            "services.api.container_name",
            "services.api.deploy.resources.reservations",
            "services.api.environment.FROM_SHELL",
            "services.api.environment.API_TOKEN",
            "services.web.image",
            "version",
            "x-env",
        ] {
            assert!(warned(field), "no warning for {field}: {:#?}", imported.warnings);
        }
        // Each warning names its file and line.
        let dropped = imported.warnings.iter().find(|w| w.field == "services.api.container_name").expect("warned");
        assert_eq!((dropped.file.as_str(), dropped.line), ("compose.yaml", 52));
    }

    /// The model compiled from the import says what the (merged) source says, field by field.
    #[test]
    fn the_imported_model_matches_the_source_field_by_field() {
        let imported = imported();
        let model = model(&imported);
        assert_eq!(model.project.name, "shop");

        let web = &model.services["web"];
        let build = web.build.as_ref().expect("built");
        assert!(build.own_dockerfile());
        assert_eq!(build.context, "./web");
        assert_eq!(build.fields["target"], crate::model::Value::Str("dev".into()));
        assert_eq!(web.config(crate::model::Env::Dev).command, ["npm", "start"]); // the override's
        assert_eq!(web.port, Some(3000));
        assert_eq!(web.container.extras().ports, ["127.0.0.1:9229:9229"]);
        assert_eq!(web.container.extras().volumes, ["/app/node_modules"]);
        assert_eq!(web.config(crate::model::Env::Dev).mounts, ["./web/src:/app/src:ro"]);
        assert_eq!(web.container.extras().networks, ["front"]);
        assert_eq!(web.container.restart.as_deref(), Some("unless-stopped"));
        assert!(!web.container.extras().stdin_open, "`!reset` removed it");
        let env = &web.config(crate::model::Env::Dev).env;
        assert_eq!(env.get("LOG_LEVEL"), Some(&EnvValue::Text("info".into())));
        assert_eq!(env.get("API_URL"), Some(&EnvValue::Text("http://api:8000".into())));
        assert_eq!(web.depends_on.iter().map(|d| d.target.as_str()).collect::<Vec<_>>(), ["api"]);

        let api = &model.services["api"];
        assert_eq!(api.image.as_deref(), Some("ghcr.io/shop/api:1.4"));
        assert_eq!(api.container.extras().entrypoint, ["/entrypoint.sh"]);
        let env = &api.config(crate::model::Env::Dev).env;
        assert_eq!(env.get("DATABASE_HOST"), Some(&EnvValue::Text("db.internal".into())));
        assert_eq!(env.get("API_TOKEN"), Some(&EnvValue::Text("dev-token".into())));
        assert!(!env.contains_key("FROM_SHELL"));
        let health = api.container.health_check.as_ref().expect("a health check");
        assert_eq!(health.test, ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"]);
        assert_eq!(
            (health.interval_ms, health.timeout_ms, health.retries, health.start_period_ms),
            (10_000, 3_000, 5, 60_000)
        );
        assert_eq!(api.depends_on.iter().map(|d| d.target.as_str()).collect::<Vec<_>>(), ["db"]);
        assert_eq!(api.container.extras().networks, ["front", "back"]);
        assert_eq!(api.container.extras().secrets, ["api-key"]);
        assert_eq!(api.container.extras().user.as_deref(), Some("1000:1000"));
        let limits = api.container.limits.as_ref().expect("limits");
        assert_eq!((limits.cpus, limits.memory_bytes), (Some(0.5), Some(512 << 20)));
        assert_eq!(api.container.extras().labels["com.example.team"], "shop");
        assert_eq!(api.container.extras().ulimits["nofile"], "1024:65536");
        assert_eq!(api.container.extras().security_opt, ["no-new-privileges"]);
        assert_eq!(api.port, Some(8000));

        let migrate = &model.services["migrate"];
        assert_eq!(migrate.container.extras().profiles, ["tools"]);
        assert!(!migrate.container.job);

        // A postgres whose container the kind reproduces is a store; its password a secret.
        let db = &model.stores["db"];
        assert_eq!(db.image, "postgres:16");
        assert_eq!(db.environment["POSTGRES_USER"], "shop");
        assert_eq!(db.environment["POSTGRES_DB"], "shop");
        assert_eq!(db.container.restart.as_deref(), Some("always"));
        assert_eq!(db.container.extras().networks, ["back"]);
        assert_eq!(imported.files["secrets/db_password.txt"], "s3cret");
        assert_eq!(model.secrets["api-key"].file, "./secrets/api-key.txt");
        assert!(model.networks["back"].internal);
    }

    #[test]
    fn the_import_is_formatted_and_lints_only_policies() {
        let imported = imported();
        let spec = &imported.files["shop.sight"];
        assert_eq!(crate::format::format_source(spec).as_deref(), Some(spec.as_str()));
        let manifest = &imported.files["sight.toml"];
        assert!(manifest.contains("unused-secret") || !manifest.contains("[lints]") || manifest.contains("= \"warn\""));
        assert!(!imported.warnings.iter().any(|w| w.message.contains("does not check")), "{:#?}", imported.warnings);
    }

    #[test]
    fn a_yaml_error_names_its_line() {
        let input =
            ComposeInput { files: vec![("c.yaml".into(), "services:\n  a: [\n".into())], ..ComposeInput::default() };
        let errors = import(&input).expect_err("invalid");
        assert_eq!(errors[0].file, "c.yaml");
        assert!(errors[0].line >= 2);
    }

    /// On the corpus (when present): every field of every project is imported or reported, and
    /// the spec checks.
    #[test]
    fn corpus_projects_lose_no_field_in_silence() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/compose");
        let Ok(entries) = std::fs::read_dir(&root) else {
            eprintln!("corpus_projects_lose_no_field_in_silence: skipped (no corpus at {})", root.display());
            return;
        };
        let mut projects: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        projects.sort();
        let mut checked = 0;
        for project in projects {
            let mut files: Vec<String> = std::fs::read_dir(&project)
                .expect("a folder")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("compose") && n.ends_with(".yaml"))
                .collect();
            files.sort_by_key(|f| (f.contains(".override."), f.clone()));
            let texts: Vec<(String, String)> = files
                .iter()
                .map(|f| (f.clone(), std::fs::read_to_string(project.join(f)).expect("readable")))
                .collect();
            let input = ComposeInput {
                files: texts.clone(),
                base: ".".into(),
                project: "p".into(),
                variables: BTreeMap::new(),
            };
            let imported = import(&input).unwrap_or_else(|e| panic!("{}: {e:?}", project.display()));
            assert_every_field_accounted_for(&texts, &imported);
            checked += 1;
        }
        assert!(checked > 0);
    }

    #[test]
    fn interpolation_as_compose_does_it() {
        let vars = BTreeMap::from([("SET".to_string(), "x".to_string()), ("EMPTY".to_string(), String::new())]);
        let run = |t: &str| interpolate(t, &vars, &mut Vec::new());
        assert_eq!(run("$$HOME"), "$HOME");
        assert_eq!(run("${SET}/${UNSET:-d}/${EMPTY:-e}/${EMPTY-f}"), "x/d/e/");
        assert_eq!(run("${UNSET-${SET}}"), "x");
        assert_eq!(run("$SET:$UNSET"), "x:");
        assert_eq!(run("${SET:+alt}${UNSET:+alt}"), "alt");
        let mut used = Vec::new();
        interpolate("${A:-1}", &vars, &mut used);
        assert!(used[0].contains("default"));
    }

    #[test]
    fn units() {
        assert_eq!(compose_duration("1m30s"), Some(90_000));
        assert_eq!(compose_duration("500ms"), Some(500));
        assert_eq!(compose_size("1.5G"), Some(1536 << 20));
        assert_eq!(compose_size("512M"), Some(512 << 20));
        assert_eq!(size(1536 << 20), "1536Mi");
        assert_eq!(
            shell_split(r#"sh -c "pnpm exec prisma migrate deploy""#),
            ["sh", "-c", "pnpm exec prisma migrate deploy"]
        );
        assert_eq!(shell_split("postgres -c 'max_connections=100'"), ["postgres", "-c", "max_connections=100"]);
        assert_eq!(normalize_path("./a/../b"), "./b");
        assert_eq!(normalize_path("../x/./y"), "../x/y");
    }
}
