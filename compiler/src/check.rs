//! Stage 2, check: syntax trees → the typed, resolved [`Model`], plus diagnostics.
//!
//! Name resolution, kinds, fields, types and units, references, overlays and secrets are
//! checked while the model is built (`services`, `pipelines`, `alerts`); rules that need the
//! whole model run after it (`rules`). A model is returned only when no error was found.

mod alerts;
mod container;
mod limits;
mod paths;
pub mod pipelines;
mod plain;
mod rules;
mod services;
mod values;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::diagnostics::{codes, unknown_name_help, Diagnostic};
use crate::model::{Gcp, Model, Project, Secret};
use crate::project::Manifest;
use crate::source::{FileId, SourceMap, Span};
use crate::stdlib::Stdlib;
use crate::syntax::ast::{self, ExprKind, Item, Member};

/// All declarations of the project by name, per namespace.
#[derive(Clone, Default)]
pub struct Decls<'a> {
    pub project: Option<&'a Item>,
    pub secrets: BTreeMap<&'a str, &'a Item>,
    pub stores: BTreeMap<&'a str, &'a Item>,
    pub services: BTreeMap<&'a str, &'a Item>,
    pub channels: BTreeMap<&'a str, &'a Item>,
    pub pipelines: BTreeMap<&'a str, &'a Item>,
    pub alerts: BTreeMap<&'a str, &'a Item>,
    pub networks: BTreeMap<&'a str, &'a Item>,
    pub volumes: BTreeMap<&'a str, &'a Item>,
}

pub struct Checker<'a> {
    pub stdlib: &'a Stdlib,
    /// The texts the trees were parsed from: deferred service bodies are read from them.
    sources: &'a SourceMap,
    /// A deferred service body did not parse cleanly ([`Checker::service_tree`]): what was
    /// checked is not what [`crate::syntax::parse`] would give. Shared with forks, so that
    /// both halves of the lowering stop at once.
    deferred_failed: &'a AtomicBool,
    pub decls: Decls<'a>,
    pub diagnostics: Vec<Diagnostic>,
    pub used_secrets: BTreeSet<String>,
    /// The stores, once checked: pipeline steps read their URLs.
    pub resolved_stores: BTreeMap<String, crate::model::Store>,
    /// Store URLs rendered without arguments, by store and URL name: thousands of services
    /// reading `db.url` render it once.
    pub store_urls: std::collections::HashMap<(String, String), String>,
}

impl<'a> Checker<'a> {
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// A checker for another thread: the same declarations and resolved stores, nothing
    /// reported yet. [`Checker::absorb`] takes its findings back.
    fn fork(&self) -> Checker<'a> {
        Checker {
            stdlib: self.stdlib,
            sources: self.sources,
            deferred_failed: self.deferred_failed,
            decls: self.decls.clone(),
            diagnostics: Vec::new(),
            used_secrets: BTreeSet::new(),
            resolved_stores: self.resolved_stores.clone(),
            store_urls: self.store_urls.clone(),
        }
    }

    /// What a [`Checker::fork`] found, after what this checker found.
    fn absorb(&mut self, fork: Checker<'a>) {
        self.diagnostics.extend(fork.diagnostics);
        self.used_secrets.extend(fork.used_secrets);
        self.store_urls.extend(fork.store_urls);
    }

    /// The whole declaration of a service: `item` itself, or its body parsed now when it was
    /// deferred ([`crate::syntax::parse_deferring_services`]). `None` when that body has a
    /// syntax error, or another one had: the check is then void ([`DeferredBodyFailed`]).
    fn service_tree<'t>(&mut self, item: &'t Item) -> Option<Cow<'t, Item>> {
        if self.deferred_failed.load(Ordering::Relaxed) {
            return None;
        }
        let whole = self.whole(item);
        if whole.is_none() {
            self.deferred_failed.store(true, Ordering::Relaxed);
        }
        whole
    }

    /// [`Checker::service_tree`], for a body already read once (by the rules, after every
    /// service was lowered): a failure was recorded then.
    fn whole<'t>(&self, item: &'t Item) -> Option<Cow<'t, Item>> {
        if !item.deferred {
            return Some(Cow::Borrowed(item));
        }
        let text = self.sources.get(item.span.file).map(|f| f.text.as_str()).unwrap_or_default();
        crate::syntax::parse_deferred(item.span.file, text, item).map(Cow::Owned)
    }

    /// The whole declaration of service `name` ([`Checker::whole`]), for the rules: they point
    /// at what was written.
    fn service_item(&self, name: &str) -> Option<Cow<'a, Item>> {
        self.whole(self.decls.services.get(name).copied()?)
    }

    /// `each` over `items`, in order, keeping what it returns. A large project's items
    /// ([`crate::parallel`]) are checked in two halves, the second on another thread with a
    /// [`Checker::fork`]: its findings come after the first half's, as in one pass.
    fn in_halves<T: Sync, R: Send>(
        &mut self,
        items: &[T],
        each: impl Fn(&mut Checker<'a>, &T) -> Option<R> + Sync,
    ) -> Vec<R> {
        if !crate::parallel::worth_threads(items.len()) {
            return items.iter().filter_map(|item| each(self, item)).collect();
        }
        let (first, second) = items.split_at(items.len() / 2);
        let mut fork = self.fork();
        let each = &each;
        let (mut mine, (theirs, fork)) = std::thread::scope(|scope| {
            let theirs = scope.spawn(move || {
                let found: Vec<R> = second.iter().filter_map(|item| each(&mut fork, item)).collect();
                (found, fork)
            });
            let mine: Vec<R> = first.iter().filter_map(|item| each(self, item)).collect();
            // A panic in the checker (a bug) goes on as if it had happened on this thread.
            (mine, theirs.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
        });
        self.absorb(fork);
        mine.extend(theirs);
        mine
    }
}

/// A service body left unparsed by [`crate::syntax::parse_deferring_services`] has a syntax
/// error: the trees must be parsed whole ([`crate::syntax::parse`]) and checked again.
#[derive(Debug, PartialEq)]
pub struct DeferredBodyFailed;

/// Checks every file of a project and builds its model. `sources` are the spec paths;
/// `texts`, the source map the trees were parsed from. The model is complete only when no
/// error is reported (after lint levels).
pub fn check(
    files: &[(FileId, ast::File)],
    texts: &SourceMap,
    manifest: &Manifest,
    stdlib: &Stdlib,
    sources: Vec<String>,
) -> Result<(Option<Model>, Vec<Diagnostic>), DeferredBodyFailed> {
    let deferred_failed = AtomicBool::new(false);
    let mut checker = Checker {
        stdlib,
        sources: texts,
        deferred_failed: &deferred_failed,
        decls: Decls::default(),
        diagnostics: Vec::new(),
        used_secrets: BTreeSet::new(),
        resolved_stores: BTreeMap::new(),
        store_urls: Default::default(),
    };
    // Declarations in file order, then by position: duplicates point at the later one.
    let items: Vec<&Item> = files.iter().flat_map(|(_, f)| f.items.iter()).collect();
    checker.collect(&items);
    paths::run(&mut checker);
    plain::run(&mut checker);
    limits::run(&mut checker);

    // `files` and `sources` come in the same order: the spec file of each declaration.
    let paths: BTreeMap<FileId, String> = files.iter().map(|(id, _)| *id).zip(sources.iter().cloned()).collect();
    let project = checker.project(manifest, sources);
    let secrets = checker.secrets();
    let stores = checker.stores();
    checker.resolved_stores = stores.clone();
    let services = checker.services(&stores, project.as_ref());
    // A deferred body that was not lowered (a second declaration of a name) is read as well:
    // its syntax errors count as much as any other's.
    if items.iter().filter(|item| item.deferred).count() > checker.decls.services.len() {
        for item in items.iter().filter(|item| item.deferred) {
            let lowered = checker.decls.services.get(item.name.name.as_str()).is_some_and(|d| std::ptr::eq(*d, *item));
            if !lowered {
                checker.service_tree(item);
            }
        }
    }
    if deferred_failed.load(Ordering::Relaxed) {
        // Nothing checked from here on would be kept.
        return Err(DeferredBodyFailed);
    }
    let channels = checker.channels();
    let networks = checker.networks();
    let volumes = checker.volume_decls();
    let pipelines = checker.pipelines(&services, &stores, project.as_ref());
    let mut alerts = checker.alerts(&services, &stores, &channels, project.as_ref());
    for alert in alerts.values_mut() {
        alert.file = paths.get(&alert.span.file).cloned().unwrap_or_default();
    }
    let unused: Vec<(String, crate::source::Span)> = checker
        .decls
        .secrets
        .iter()
        .filter(|(n, _)| !checker.used_secrets.contains(**n))
        .map(|(n, i)| (n.to_string(), i.name.span))
        .collect();
    for (name, span) in unused {
        {
            checker.report(
                Diagnostic::new(&codes::UNUSED_SECRET, format!("secret `{name}` is never used"))
                    .at(span, "declared here")
                    .with_help(format!("use it as `secret.{name}` or remove it")),
            );
        }
    }

    let Some(project) = project else {
        return Ok((None, checker.diagnostics));
    };
    let model = Model {
        project,
        secrets,
        stores,
        services,
        channels,
        pipelines,
        alerts,
        networks,
        volumes,
        templates: stdlib.templates.clone(),
    };
    rules::run(&model, &mut checker);
    // The caller decides whether errors remain once lint levels are applied.
    Ok((Some(model), checker.diagnostics))
}

impl<'a> Checker<'a> {
    fn collect(&mut self, items: &[&'a Item]) {
        for item in items {
            let keyword = item.keyword.name.as_str();
            let table = match keyword {
                "project" => {
                    if let Some(first) = self.decls.project {
                        let first = first.name.span;
                        self.report(
                            Diagnostic::new(&codes::DUPLICATE_NAME, "the project is declared twice")
                                .at(item.name.span, "declared again here")
                                .with_label(first, "first declared here")
                                .with_help("keep one `project` block"),
                        );
                    } else {
                        self.decls.project = Some(item);
                    }
                    continue;
                }
                "secret" => &mut self.decls.secrets,
                "database" | "cache" | "store" => &mut self.decls.stores,
                "service" => &mut self.decls.services,
                "channel" => &mut self.decls.channels,
                "pipeline" => &mut self.decls.pipelines,
                "alert" => &mut self.decls.alerts,
                "network" => &mut self.decls.networks,
                "volume" => &mut self.decls.volumes,
                _ => {
                    let help = unknown_name_help(keyword, crate::syntax::KEYWORDS.iter().map(|(k, _)| *k));
                    self.report(
                        Diagnostic::new(&codes::UNKNOWN_DECLARATION, format!("unknown declaration `{keyword}`"))
                            .at(item.keyword.span, "not a declaration keyword")
                            .with_help(help),
                    );
                    continue;
                }
            };
            match table.entry(item.name.name.as_str()) {
                std::collections::btree_map::Entry::Occupied(first) => {
                    let first = first.get().name.span;
                    self.report(
                        Diagnostic::new(&codes::DUPLICATE_NAME, format!("`{}` is declared twice", item.name.name))
                            .at(item.name.span, "declared again here")
                            .with_label(first, "first declared here")
                            .with_help("rename one of them"),
                    );
                    continue;
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(item);
                }
            }
            if !self.check_name(&item.name, keyword) && keyword == "service" {
                self.check_cloud_run_name(item);
            }
        }
        // Stores, services, channels, pipelines and alerts share one namespace: Compose
        // service names and references like `postgres.url` must be unambiguous. A name clashes
        // with its first owner in the tables' order. The tables are sorted maps: each pair is
        // compared from its smaller side, so a large project's services are not all hashed.
        let tables = [
            ("store", &self.decls.stores),
            ("service", &self.decls.services),
            ("channel", &self.decls.channels),
            ("pipeline", &self.decls.pipelines),
            ("alert", &self.decls.alerts),
        ];
        let mut clashes = Vec::new();
        for (later, (what, table)) in tables.iter().enumerate() {
            let mut owners: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
            for (first_what, earlier) in tables.iter().take(later) {
                let (small, large) = if earlier.len() <= table.len() { (earlier, table) } else { (table, earlier) };
                for name in small.keys().filter(|name| large.contains_key(*name)) {
                    if let Some(first) = earlier.get(name) {
                        owners.entry(name).or_insert((first_what, first.name.span));
                    }
                }
            }
            for (name, (first_what, first_span)) in owners {
                if let Some(item) = table.get(name) {
                    clashes.push((name.to_string(), first_what, first_span, *what, item.name.span));
                }
            }
        }
        for (name, first_what, first_span, what, span) in clashes {
            self.report(
                Diagnostic::new(&codes::DUPLICATE_NAME, format!("`{name}` names both a {first_what} and a {what}"))
                    .at(span, format!("{what} declared here"))
                    .with_label(first_span, format!("{first_what} declared here"))
                    .with_help("give each declaration its own name: they share one namespace"),
            );
        }
    }

    /// Cloud Run service names are RFC 1035 labels: no `_`, which Compose names allow.
    fn check_cloud_run_name(&mut self, item: &Item) {
        let n = &item.name.name;
        // The name first: most have no `_`, and reading it is cheaper than the members.
        if n.contains('_')
            && self.service_tree(item).is_some_and(|whole| {
                whole.body.members.iter().any(|m| matches!(m, Member::Block(b) if b.name.name == "deploy"))
            })
        {
            self.report(
                Diagnostic::new(&codes::INVALID_NAME, format!("`{n}` cannot name a Cloud Run service"))
                    .at(item.name.span, "`_` is not allowed in Cloud Run")
                    .with_help(format!(
                        "Cloud Run service names hold lowercase letters, digits and `-`: `{}`",
                        n.replace('_', "-")
                    )),
            );
        }
    }

    /// Reports a name no artifact can use; returns whether it did.
    fn check_name(&mut self, name: &ast::Ident, keyword: &str) -> bool {
        let n = &name.name;
        let valid = n.len() <= 49
            && n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            && !n.ends_with('-');
        if !valid {
            // `userAPI` → `user-api`: a dash where camelCase starts a word, other characters
            // replaced, then trimmed to a valid start, end and length.
            let mut suggestion = String::new();
            let mut previous_lower = false;
            for c in n.chars() {
                if c.is_ascii_uppercase() && previous_lower {
                    suggestion.push('-');
                }
                previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
                suggestion.push(if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '-' });
            }
            let suggestion: String =
                suggestion.trim_start_matches(|c: char| !c.is_ascii_lowercase()).chars().take(49).collect();
            let suggestion = suggestion.trim_end_matches('-');
            let rule = "names start with a lowercase letter and hold at most 49 lowercase letters, digits, `_` and `-`";
            let help =
                if suggestion.is_empty() { rule.to_string() } else { format!("{rule}; for example `{suggestion}`") };
            self.report(
                Diagnostic::new(&codes::INVALID_NAME, format!("`{n}` cannot name a {keyword}"))
                    .at(name.span, "invalid name")
                    .with_help(help),
            );
        }
        !valid
    }

    fn project(&mut self, manifest: &Manifest, sources: Vec<String>) -> Option<Project> {
        let Some(item) = self.decls.project else {
            self.report(
                Diagnostic::new(&codes::MISSING_PROJECT, "no `project` block declares the project")
                    .with_help("add `project <name> { gcp { project = \"my-project\"  region = \"europe-west1\"  registry = \"europe-west1-docker.pkg.dev/my-project/app\" } }`"),
            );
            return None;
        };
        let mut gcp = None;
        for member in &item.body.members {
            match member {
                Member::Block(b) if b.name.name == "gcp" => {
                    let defs = gcp_fields();
                    let values = self.fields(&b.body, &defs, "`gcp`", b.name.span);
                    let get = |k: &str| values.get(k).and_then(|v| v.as_str()).map(str::to_string);
                    if let (Some(project), Some(region), Some(registry)) =
                        (get("project"), get("region"), get("registry"))
                    {
                        gcp = Some(Gcp { project, region, registry });
                    }
                }
                other => {
                    let span = match other {
                        Member::Field(f) => f.name.span,
                        Member::Block(b) => b.name.span,
                        _ => other.span(),
                    };
                    self.report(
                        Diagnostic::new(&codes::UNKNOWN_FIELD, "the project block takes only `gcp { … }`")
                            .at(span, "unknown field")
                            .with_help("write `gcp { project = \"…\"  region = \"…\"  registry = \"…\" }`"),
                    );
                }
            }
        }
        if gcp.is_none() && !item.body.members.iter().any(|m| matches!(m, Member::Block(b) if b.name.name == "gcp")) {
            self.report(
                Diagnostic::new(&codes::MISSING_FIELD, "the project is missing its `gcp` block")
                    .at(item.name.span, "needs `gcp { … }`")
                    .with_help(
                        "add `gcp { project = \"my-project\"  region = \"europe-west1\"  registry = \"gcr.io\" }`",
                    ),
            );
        }
        Some(Project {
            name: manifest.project.name.clone().unwrap_or_else(|| item.name.name.as_str().to_owned()),
            gcp: gcp?,
            sources,
            outputs: manifest.outputs(),
        })
    }

    fn secrets(&mut self) -> BTreeMap<String, Secret> {
        let mut out = BTreeMap::new();
        let items: Vec<&Item> = self.decls.secrets.values().copied().collect();
        for item in items {
            let name = item.name.name.clone();
            let mut secret_id = None;
            let mut version = "latest".to_string();
            let mut version_span = item.name.span;
            let mut file = format!("secrets/{name}.txt");
            let mut environment = None;
            for member in &item.body.members {
                let Member::Field(f) = member else {
                    self.report(
                        Diagnostic::new(&codes::UNKNOWN_FIELD, "a secret takes only `from` and `file`")
                            .at(member.span(), "not allowed here")
                            .with_help("write `from = secret_manager(\"id\", version = 3)`"),
                    );
                    continue;
                };
                match (f.name.name.as_str(), &f.value.kind) {
                    ("from", ExprKind::Call(call)) if call.callee.dotted() == "secret_manager" => {
                        for arg in &call.args {
                            match (arg.name.as_ref().map(|n| n.name.as_str()), &arg.value.kind) {
                                (None, ExprKind::Str(id)) => secret_id = Some(id.clone()),
                                (Some("version"), ExprKind::Int(v)) if *v > 0 => {
                                    version = v.to_string();
                                    version_span = arg.value.span;
                                }
                                (Some("version"), ExprKind::Str(v)) => {
                                    version = v.to_string();
                                    version_span = arg.value.span;
                                }
                                _ => self.report(
                                    Diagnostic::new(
                                        &codes::UNKNOWN_ARGUMENT,
                                        "`secret_manager` takes a secret id and `version = <number>`",
                                    )
                                    .at(arg.value.span, "unexpected argument")
                                    .with_help("write `secret_manager(\"postgres-password\", version = 3)`"),
                                ),
                            }
                        }
                    }
                    ("from", _) => self.report(
                        Diagnostic::new(&codes::TYPE_MISMATCH, "`from` expects `secret_manager(\"id\")`")
                            .at(f.value.span, "not a secret source")
                            .with_help("write `from = secret_manager(\"postgres-password\", version = 3)`"),
                    ),
                    ("file", ExprKind::Str(path)) => file = path.to_string(),
                    ("env", ExprKind::Str(var))
                        if var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !var.is_empty() =>
                    {
                        environment = Some(var.to_string());
                    }
                    ("env", _) => self.type_error(&f.value, "the name of a shell variable", "env"),
                    ("file", _) => self.type_error(&f.value, "a string", "file"),
                    (other, _) => self.unknown_field("a secret", other, f.name.span, ["from", "file", "env"]),
                }
            }
            let Some(secret_id) = secret_id else {
                self.report(
                    Diagnostic::new(&codes::MISSING_FIELD, format!("secret `{name}` does not say where it is kept"))
                        .at(item.name.span, "needs `from`")
                        .with_help(format!("add `from = secret_manager(\"{}\", version = 1)`", name.replace('_', "-"))),
                );
                continue;
            };
            if version == "latest" {
                self.report(
                    Diagnostic::new(&codes::UNPINNED_SECRET_VERSION, format!("secret `{name}` reads the `latest` version"))
                        .at(version_span, "no version pinned")
                        .with_help(format!("pin the version: `secret_manager(\"{secret_id}\", version = 1)`; a new version then rolls out with a deploy, not at a random instance start")),
                );
            }
            out.insert(
                name.to_string(),
                Secret { name: name.to_string(), secret_id: secret_id.to_string(), version, file, environment },
            );
        }
        out
    }
}

fn gcp_fields() -> BTreeMap<String, crate::stdlib::FieldDef> {
    let field = |doc: &str| crate::stdlib::FieldDef {
        ty: crate::stdlib::FieldType::String,
        required: true,
        default: None,
        doc: doc.to_string(),
        min: None,
        max: None,
    };
    BTreeMap::from([
        ("project".to_string(), field("The Google Cloud project id.")),
        ("region".to_string(), field("The region of Cloud Run services and Cloud Build, e.g. `europe-west1`.")),
        (
            "registry".to_string(),
            field("Where images are pushed, e.g. `europe-west1-docker.pkg.dev/my-project/app` or `gcr.io`."),
        ),
    ])
}
