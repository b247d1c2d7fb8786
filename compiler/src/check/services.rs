//! Data stores, services and channels: kinds, fields, overlays, environment and dependencies.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::check::container::{duration_slot, HealthTiming, CONTAINER_FIELDS};
use crate::check::values::parse_duration;
use crate::check::Checker;
use crate::diagnostics::{codes, unknown_name_help, Diagnostic};
use crate::model::*;
use crate::stdlib::{KindClass, KindDef};
use crate::syntax::ast::{Block, Expr, ExprKind, Ident, Item, Member};
use crate::template;
use compact_str::format_compact;

/// Service fields an overlay may change.
const OVERLAY_FIELDS: &[&str] = &["command", "env", "mount", "publish", "replicas"];
/// The service fields this module reads; [`CONTAINER_FIELDS`] are the others.
const SERVICE_FIELDS: &[&str] = &[
    "build",
    "image",
    "command",
    "port",
    "publish",
    "health",
    "env",
    "depends_on",
    "deploy",
    "mount",
    "replicas",
    "configs",
    "dev",
    "prod",
    "test",
];

fn is_service_field(name: &str) -> bool {
    SERVICE_FIELDS.contains(&name) || CONTAINER_FIELDS.contains(&name)
}

impl<'a> Checker<'a> {
    /// Resolves `name : kind` against the stdlib, reporting a missing, unknown or misused kind.
    pub fn kind_of(&mut self, kind: Option<&Ident>, class: KindClass, what: &str, at: &Ident) -> Option<Arc<KindDef>> {
        let candidates: Vec<String> = self.stdlib.kinds_of(class).map(|k| k.name.clone()).collect();
        let Some(kind) = kind else {
            self.report(
                Diagnostic::new(&codes::MISSING_KIND, format!("{what} `{}` has no kind", at.name))
                    .at(at.span, "needs `: <kind>`")
                    .with_help(format!(
                        "write `{} : <kind>`, with a kind among {}",
                        at.name,
                        candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    )),
            );
            return None;
        };
        match self.stdlib.kind(&kind.name) {
            Some(def) if def.class == class => Some(def.clone()),
            Some(def) => {
                let help = format!(
                    "`{}` takes a {} kind: {}",
                    at.name,
                    class.describe(),
                    candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                );
                self.report(
                    Diagnostic::new(
                        &codes::WRONG_KIND_CLASS,
                        format!("`{}` is a {}, not a {}", kind.name, def.class.describe(), class.describe()),
                    )
                    .at(kind.span, format!("a {} kind", def.class.describe()))
                    .with_help(help),
                );
                None
            }
            None => {
                let help = unknown_name_help(&kind.name, candidates.iter().map(String::as_str));
                self.report(
                    Diagnostic::new(
                        &codes::UNKNOWN_KIND,
                        format!("no {} kind named `{}`", class.describe(), kind.name),
                    )
                    .at(kind.span, "unknown kind")
                    .with_help(help),
                );
                None
            }
        }
    }

    pub fn stores(&mut self) -> BTreeMap<String, Store> {
        let mut out = BTreeMap::new();
        let items: Vec<&Item> = self.decls.stores.values().copied().collect();
        for item in items {
            let Some(kind) = self.kind_of(item.kind.as_ref(), KindClass::Store, "data store", &item.name) else {
                continue;
            };
            if let Some(store) = self.store(item, kind) {
                out.insert(store.name.clone(), store);
            }
        }
        out
    }

    fn store(&mut self, item: &Item, kind: Arc<KindDef>) -> Option<Store> {
        let def = kind.store.as_ref()?;
        let (health_block, rest) = split_member(&item.body, "health");
        for overlay in ["dev", "prod", "test"] {
            if let Some(b) = rest.members.iter().find_map(|m| match m {
                Member::Block(b) if b.name.name == overlay => Some(b),
                _ => None,
            }) {
                self.report(
                    Diagnostic::new(
                        &codes::INVALID_OVERLAY,
                        format!("data store `{}` cannot have a `{overlay}` overlay", item.name.name),
                    )
                    .at(b.name.span, "overlays are for services")
                    .with_help(
                        "stores are the same in every environment; the test file makes them ephemeral by itself",
                    ),
                );
            }
        }
        let rest = Block {
            members: rest
                .members
                .into_iter()
                .filter(|m| !matches!(m, Member::Block(b) if ["dev", "prod", "test"].contains(&b.name.name.as_str())))
                .collect(),
            span: rest.span,
        };
        // Container settings (`restart`, `networks`, …) next to the kind's own fields; a kind
        // field of the same name (`user`) is the kind's.
        let mut container = ContainerOptions::default();
        let rest = Block {
            members: rest
                .members
                .into_iter()
                .filter(|m| {
                    let name = match m {
                        Member::Field(f) => &f.name.name,
                        Member::Block(b) => &b.name.name,
                        _ => return true,
                    };
                    kind.fields.contains_key(name.as_str())
                        || name == "job"
                        || !self.container_field(name, m, &mut container)
                })
                .collect(),
            span: rest.span,
        };
        let owner = format!("a `{}` store", kind.name);
        let fields = self.fields(&rest, &kind.fields, &owner, item.name.span);
        // A required field that is missing or mistyped is already reported; the templates
        // would only fail again on it.
        if kind.fields.iter().any(|(name, def)| def.required && !fields.contains_key(name)) {
            return None;
        }

        let mut context = serde_json::Map::new();
        for (name, value) in &fields {
            context.insert(name.clone(), value.to_json());
        }
        let mut secrets = Vec::new();
        for (name, value) in &fields {
            if let Value::Secret(secret) = value {
                secrets.push(secret.clone());
                let key = if name == "password" { "password_file".to_string() } else { format!("{name}_file") };
                context.insert(key, serde_json::Value::String(format!("/run/secrets/{secret}")));
            }
        }
        let context = serde_json::Value::Object(context);
        let render = |checker: &mut Checker, text: &str, what: &str| -> Option<String> {
            match template::render(text, &context) {
                Ok(s) => Some(s),
                Err(e) => {
                    checker.report(
                        Diagnostic::new(
                            &codes::MISSING_FIELD,
                            format!("the `{}` kind cannot render its {what}", kind.name),
                        )
                        .at(item.name.span, "in this store")
                        .with_help(format!(
                            "set the fields its template needs ({e}); `{}` in the stdlib defines it",
                            kind.source
                        )),
                    );
                    None
                }
            }
        };
        let image = match fields.get("image").and_then(Value::as_str) {
            Some(image) => image.to_string(),
            None => render(self, &def.image, "image")?,
        };
        let mut environment = BTreeMap::new();
        for (key, text) in &def.environment {
            environment.insert(key.clone(), render(self, text, "environment")?);
        }
        if let (Some(Value::Map(settings)), Some(env)) = (fields.get("settings"), &def.settings_env) {
            self.renamed_settings(item, &fields, def, settings);
            for (key, value) in settings {
                let name = format!("{}{}", env.prefix, key.replace('_', "__").replace('.', "_"));
                environment.insert(name, value.clone());
            }
        }
        let mut command = Vec::new();
        for part in &def.command {
            command.push(render(self, part, "command")?);
        }
        let mut health = Health {
            test: def.health.test.iter().map(|t| Text::from(t.as_str())).collect(),
            interval_ms: parse_duration(&def.health.interval).unwrap_or(5_000),
            timeout_ms: parse_duration(&def.health.timeout).unwrap_or(5_000),
            start_period_ms: parse_duration(&def.health.start_period).unwrap_or(0),
            retries: def.health.retries,
        };
        if let Some(block) = health_block {
            self.health_override(&block, &mut health, def, &item.name.name);
        }
        Some(Store {
            name: item.name.name.as_str().to_owned(),
            kind: kind.clone(),
            image,
            port: def.port,
            data_dir: def.data_dir.clone(),
            environment,
            command,
            health,
            secrets,
            fields,
            container,
            span: item.name.span,
        })
    }

    fn renamed_settings(
        &mut self,
        item: &Item,
        fields: &BTreeMap<String, Value>,
        def: &crate::stdlib::StoreDef,
        settings: &BTreeMap<String, String>,
    ) {
        let major: u32 = fields
            .get("version")
            .and_then(Value::as_str)
            .and_then(|v| v.split('.').next()?.parse().ok())
            .unwrap_or(u32::MAX);
        for key in settings.keys() {
            for (old, renamed) in &def.renamed_settings {
                if key.starts_with(old.as_str()) && major >= renamed.since_major {
                    let new_key = format!("{}{}", renamed.replacement, key.get(old.len()..).unwrap_or(""));
                    let span = find_field_span(&item.body, key).unwrap_or(item.name.span);
                    self.report(
                        Diagnostic::new(
                            &codes::OBSOLETE_SETTING,
                            format!("`{key}` was renamed in version {}", renamed.since_major),
                        )
                        .at(span, "obsolete setting name")
                        .with_help(format!("write `\"{new_key}\"`")),
                    );
                }
            }
        }
    }

    fn health_override(&mut self, block: &Block, health: &mut Health, def: &crate::stdlib::StoreDef, store: &str) {
        for member in &block.members {
            let Member::Field(f) = member else { continue };
            let ms = match self.health_timing(f) {
                Some(HealthTiming::Retries(n)) => {
                    health.retries = n;
                    continue;
                }
                Some(HealthTiming::Duration(field, ms)) => {
                    let h = &mut *health;
                    *duration_slot(field, &mut h.interval_ms, &mut h.timeout_ms, &mut h.start_period_ms) = ms;
                    ms
                }
                None => continue,
            };
            let minimum = match f.name.name.as_str() {
                "timeout" => def.health.min_timeout.as_deref(),
                "start_period" => def.health.min_start_period.as_deref(),
                _ => None,
            };
            if let Some(min) = minimum.and_then(parse_duration).filter(|min| ms < *min) {
                self.report(
                    Diagnostic::new(
                        &codes::HEALTHCHECK_TOO_SHORT,
                        format!("the health check `{}` of `{store}` is shorter than it needs", f.name.name),
                    )
                    .at(f.value.span, format!("at least {} is needed", crate::units::duration_single(min)))
                    .with_help(format!(
                        "write `{} = {}`: the probe starts a JVM and would fail while the store is healthy",
                        f.name.name,
                        crate::units::duration_single(min)
                    )),
                );
            }
        }
    }

    pub fn services(&mut self, stores: &BTreeMap<String, Store>, project: Option<&Project>) -> Services {
        let items: Vec<&Item> = self.decls.services.values().copied().collect();
        // Services are checked independently of each other: their paths and build strings
        // too, in the same visit (a separate walk of 10,000 services' trees costs milliseconds
        // in cache misses alone).
        let services = self.in_halves(&items, |checker, item| {
            // A deferred body is parsed here, and its tree freed once the service is lowered.
            let item = checker.service_tree(item)?;
            super::paths::service(checker, &item);
            super::plain::service(checker, &item);
            checker.service_decl(&item, stores, project).map(Box::new)
        });
        // In name order already: the map is built in one pass, not searched per insertion.
        services.into_iter().map(|service| (service.name.clone(), service)).collect()
    }

    /// One service declaration: its model, or `None` after an error that leaves none.
    fn service_decl(
        &mut self,
        item: &Item,
        stores: &BTreeMap<String, Store>,
        project: Option<&Project>,
    ) -> Option<Service> {
        if let Some(kind) = &item.kind {
            self.report(
                Diagnostic::new(&codes::SYNTAX_ERROR, "a service takes no kind")
                    .at(kind.span, "not allowed here")
                    .with_help("give the runtime in the service: `build : python { … }`"),
            );
        }
        self.service(item, stores, project)
    }

    fn service(&mut self, item: &Item, stores: &BTreeMap<String, Store>, project: Option<&Project>) -> Option<Service> {
        let name = item.name.name.clone();
        let mut seen: BTreeMap<&str, crate::source::Span> = BTreeMap::new();
        let mut port = None;
        let mut image = None;
        let mut build = None;
        let mut health = None;
        let mut deploy_block = None;
        let mut depends_on: Vec<Dependency> = Vec::new();
        // `configs`: read-only files (`configs` below are the per-environment configurations).
        let mut files: Vec<ConfigFile> = Vec::new();
        let mut files_span = None;
        let mut base =
            ServiceConfig { command: Vec::new(), env: Arc::default(), mounts: Vec::new(), publish: None, replicas: 1 };
        let mut overlays: BTreeMap<Env, &Block> = BTreeMap::new();
        let mut publish_set = false;
        let mut container = ContainerOptions::default();
        // A `build` whose kind was rejected is already reported: not also "neither build nor image".
        let mut build_written = false;

        for member in &item.body.members {
            let field_name = match member {
                Member::Field(f) => &f.name,
                Member::Block(b) => &b.name,
                other => {
                    self.report(
                        Diagnostic::new(&codes::SYNTAX_ERROR, "a service takes only fields and blocks")
                            .at(other.span(), "not allowed here")
                            .with_help("steps belong in pipelines, `when` in alerts"),
                    );
                    continue;
                }
            };
            if let Some(first) = seen.insert(field_name.name.as_str(), field_name.span) {
                self.report(
                    Diagnostic::new(&codes::DUPLICATE_FIELD, format!("`{}` is set twice", field_name.name))
                        .at(field_name.span, "set again here")
                        .with_label(first, "first set here")
                        .with_help("remove one of them"),
                );
                continue;
            }
            match (field_name.name.as_str(), member) {
                ("build", Member::Block(b)) => {
                    build_written = true;
                    if let Some(runtime) = self.kind_of(b.kind.as_ref(), KindClass::Runtime, "build", &b.name) {
                        let fields =
                            self.fields(&b.body, &runtime.fields, &format!("a `{}` build", runtime.name), b.name.span);
                        let context = fields
                            .get("context")
                            .and_then(Value::as_str)
                            .unwrap_or(&name)
                            .trim_end_matches('/')
                            .to_string();
                        build = Some(Build { runtime, context, fields });
                    }
                }
                ("deploy", Member::Block(b)) => deploy_block = Some(b),
                ("env", Member::Block(b)) => base.env = Arc::new(self.env_block(&b.body, stores)),
                (overlay @ ("dev" | "prod" | "test"), Member::Block(b)) => {
                    if b.kind.is_some() {
                        self.report(
                            Diagnostic::new(&codes::INVALID_OVERLAY, "an overlay takes no kind")
                                .at(b.name.span, "here")
                                .with_help(format!("write `{overlay} {{ … }}`")),
                        );
                    }
                    let env = match overlay {
                        "dev" => Env::Dev,
                        "prod" => Env::Prod,
                        _ => Env::Test,
                    };
                    overlays.insert(env, &b.body);
                }
                ("port", Member::Field(f)) => port = self.port(&f.value, "port"),
                ("publish", Member::Field(f)) => {
                    base.publish = self.port(&f.value, "publish");
                    publish_set = true;
                }
                ("image", Member::Field(f)) => match &f.value.kind {
                    ExprKind::Str(s) => image = Some((s.as_str().to_owned(), f.value.span)),
                    _ => self.type_error(&f.value, "a string", "image"),
                },
                ("command", Member::Field(f)) => base.command = self.argv(&f.value, "command").unwrap_or_default(),
                ("mount", Member::Field(f)) => {
                    let written = match &f.value.kind {
                        ExprKind::List(items)
                            if !items.is_empty() && items.iter().all(|i| matches!(i.kind, ExprKind::Str(_))) =>
                        {
                            items
                                .iter()
                                .filter_map(|i| match &i.kind {
                                    ExprKind::Str(m) => Some(format!("{m:?}")),
                                    _ => None,
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                        _ => "\"./app:/app/app\"".to_string(),
                    };
                    self.report(
                        Diagnostic::new(&codes::INVALID_OVERLAY, "bind mounts belong in the `dev` or `test` overlay")
                            .at(f.name.span, "would reach production")
                            .with_help(format!(
                                "move it into `dev {{ mount = [{written}] }}`: production images carry their code"
                            )),
                    );
                }
                ("replicas", Member::Field(f)) => base.replicas = self.replicas(&f.value).unwrap_or(1),
                ("health", Member::Field(f)) => match &f.value.kind {
                    ExprKind::Call(call)
                        if crate::check::container::COMMAND_PROBES.contains(&call.callee.dotted().as_str()) =>
                    {
                        container.health_check = self.command_health(call);
                    }
                    _ => health = self.http_health(&f.value),
                },
                (other, m) if self.container_field(other, m, &mut container) => {}
                ("depends_on", Member::Field(f)) => depends_on = self.dependencies(&f.value, &name),
                ("configs", Member::Field(f)) => {
                    files = self.config_files(&f.value);
                    files_span = Some(f.span());
                }
                (other, Member::Field(f)) if !is_service_field(other) => self.unknown_service_field(&f.name),
                (other, Member::Block(b)) if !is_service_field(other) => self.unknown_service_field(&b.name),
                (other, m) => {
                    let expect_block = ["build", "deploy", "env", "dev", "prod", "test"].contains(&other);
                    let span = match m {
                        Member::Field(f) => f.span(),
                        Member::Block(b) => b.name.span,
                        _ => m.span(),
                    };
                    let help = if expect_block {
                        format!("write `{other} {{ … }}`")
                    } else {
                        format!("write `{other} = <value>`")
                    };
                    self.report(
                        Diagnostic::new(
                            &codes::TYPE_MISMATCH,
                            format!("`{other}` is {}", if expect_block { "a block" } else { "a field" }),
                        )
                        .at(span, "wrong form")
                        .with_help(help),
                    );
                }
            }
        }

        if build.is_none() && image.is_none() && !build_written {
            self.report(
                Diagnostic::new(&codes::MISSING_FIELD, format!("service `{name}` has neither `build` nor `image`"))
                    .at(item.name.span, "nothing to run")
                    .with_help(
                        "add `build : python { … }` (or `node`, `node_static`, `go`), or `image = \"repo/name:1.2.3\"`",
                    ),
            );
        }
        if let (Some(_), Some((_, span))) = (&build, &image) {
            self.report(
                Diagnostic::new(&codes::UNKNOWN_FIELD, format!("service `{name}` has both `build` and `image`"))
                    .at(*span, "remove this or the build")
                    .with_help("a built service's image is named after the registry and the service"),
            );
        }
        if let Some((img, span)) = &image {
            self.image_pinned(img, *span);
        }
        if health.is_some() && port.is_none() {
            self.report(
                Diagnostic::new(&codes::MISSING_FIELD, format!("service `{name}` has a health check but no `port`"))
                    .at(item.name.span, "needs `port`")
                    .with_help("add `port = 8000`: the health check requests that port"),
            );
        }

        // Implicit dependencies: a service that reads a store's URL depends on it.
        for value in base.env.values().chain(overlays.values().flat_map(|_| std::iter::empty())) {
            if let EnvValue::StoreUrl { store, .. } = value {
                if !depends_on.iter().any(|d| d.target == *store) {
                    depends_on.push(Dependency {
                        target: store.to_string(),
                        target_is_store: true,
                        span: item.name.span,
                    });
                }
            }
        }

        let default_dev_command =
            build.as_ref().and_then(|b| b.runtime.runtime.as_ref()).map(|r| r.dev_command.clone()).unwrap_or_default();
        let configs = Env::ALL.map(|env| {
            let mut config = base.clone();
            // Tests publish nothing unless their own overlay says so: a test stack must not
            // collide with a running development stack.
            if env == Env::Test {
                config.publish = None;
            } else if !publish_set {
                config.publish = port;
            }
            if env == Env::Dev && !default_dev_command.is_empty() && config.command.is_empty() {
                // The same context as the Dockerfile template's fields (`{{main_package}}`).
                let context = build.as_ref().map_or_else(
                    || serde_json::json!({ "port": port.unwrap_or(8080) }),
                    |b| serde_json::Value::Object(b.template_context(&name, Some(port.unwrap_or(8080)))),
                );
                config.command =
                    default_dev_command.iter().filter_map(|part| template::render(part, &context).ok()).collect();
            }
            if let Some(block) = overlays.get(&env) {
                self.overlay(block, &mut config, stores, env);
            }
            config
        });

        let deploy = deploy_block.and_then(|b| self.deploy(b, &configs, stores, project));
        if let (Some(deploy), Some(span), Some(block)) = (&deploy, files_span, deploy_block) {
            // Cloud Run gets the image and its environment, never a file of the project.
            self.report(
                Diagnostic::new(
                    &codes::CONFIG_FILE_NOT_DEPLOYED,
                    format!("service `{name}` reads configuration files that `{}` never receives", deploy.target.name),
                )
                .at(span, "mounted by Compose only")
                .with_label(block.name.span, "deployed here")
                .with_help(if build.is_some() {
                    "copy the files into the image (the build's `copy`), or keep the service in Compose (remove `deploy`)"
                } else {
                    "build an image that contains the files, or keep the service in Compose (remove `deploy`)"
                }),
            );
        }
        Some(Service {
            name: name.into_string(),
            port,
            image: image.map(|(i, _)| i),
            build: build.map(Box::new),
            health: health.map(Box::new),
            deploy: deploy.map(Box::new),
            depends_on: exact(depends_on),
            config_files: exact(files),
            configs,
            container,
            span: item.name.span,
        })
    }

    fn unknown_service_field(&mut self, name: &Ident) {
        self.unknown_field("a service", &name.name, name.span, SERVICE_FIELDS.iter().chain(CONTAINER_FIELDS).copied());
    }

    fn overlay(&mut self, block: &Block, config: &mut ServiceConfig, stores: &BTreeMap<String, Store>, env: Env) {
        for member in &block.members {
            let (name, value) = match member {
                Member::Field(f) => (&f.name, Some(&f.value)),
                Member::Block(b) => (&b.name, None),
                other => {
                    self.report(
                        Diagnostic::new(&codes::INVALID_OVERLAY, "an overlay takes only fields")
                            .at(other.span(), "not allowed here")
                            .with_help("write `field = value`"),
                    );
                    continue;
                }
            };
            match (name.name.as_str(), value, member) {
                ("command", Some(v), _) => config.command = self.argv(v, "command").unwrap_or_default(),
                ("mount", Some(v), _) if env == Env::Prod => {
                    self.report(
                        Diagnostic::new(&codes::INVALID_OVERLAY, "bind mounts cannot reach production")
                            .at(v.span, "in the `prod` overlay")
                            .with_help("production images carry their code: move the mount to `dev { … }`"),
                    );
                }
                ("mount", Some(v), _) => {
                    let mounts = self.strings(v, "mount").unwrap_or_default();
                    for m in &mounts {
                        if !m.contains(':') {
                            self.report(
                                Diagnostic::new(
                                    &codes::TYPE_MISMATCH,
                                    format!("mount `{m}` does not say where it goes"),
                                )
                                .at(v.span, "needs `host:container`")
                                .with_help("write `\"./app:/app/app\"`"),
                            );
                        }
                    }
                    config.mounts = mounts;
                }
                ("publish", Some(v), _) => config.publish = self.port(v, "publish"),
                ("replicas", Some(v), _) => config.replicas = self.replicas(v).unwrap_or(1),
                ("env", None, Member::Block(b)) => {
                    let extra = self.env_block(&b.body, stores);
                    Arc::make_mut(&mut config.env).extend(extra);
                }
                (other, _, _) => {
                    let known = is_service_field(other);
                    let message = if known {
                        format!("`{other}` cannot vary between environments")
                    } else {
                        format!("an overlay has no field `{other}`")
                    };
                    let help = if known {
                        format!(
                            "an overlay may set {}",
                            OVERLAY_FIELDS.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
                        )
                    } else {
                        unknown_name_help(other, OVERLAY_FIELDS.iter().copied())
                    };
                    self.report(
                        Diagnostic::new(&codes::INVALID_OVERLAY, message)
                            .at(name.span, "not allowed in an overlay")
                            .with_help(help),
                    );
                }
            }
        }
    }

    /// `configs = ["./proxy/nginx.conf:/etc/nginx/conf.d/default.conf"]`: a relative source,
    /// an absolute target, each target once. Compose mounts them read-only.
    fn config_files(&mut self, expr: &Expr) -> Vec<ConfigFile> {
        let ExprKind::List(items) = &expr.kind else {
            self.type_error(expr, "a list of `\"./file:/path/in/container\"` strings", "configs");
            return Vec::new();
        };
        let mut out: Vec<ConfigFile> = Vec::new();
        let mut seen: BTreeMap<String, crate::source::Span> = BTreeMap::new();
        for item in items {
            let ExprKind::Str(text) = &item.kind else {
                self.type_error(item, "a string `\"./file:/path/in/container\"`", "configs[]");
                continue;
            };
            let problem = match text.split_once(':') {
                None => Some((
                    "does not say where it goes",
                    "write `\"./proxy/nginx.conf:/etc/nginx/conf.d/default.conf\"`: the project file, then its path in the container",
                )),
                Some(("", _)) => {
                    Some(("has no source file", "write the file's path relative to the project root before the `:`"))
                }
                Some((source, _)) if source.starts_with('/') => Some((
                    "reads a file outside the project",
                    "write the source relative to the project root (`./…`), so the project builds on any machine",
                )),
                Some((_, target)) if target.contains(':') => {
                    Some(("has a mode", "remove the mode: configuration files are always mounted read-only"))
                }
                Some((_, target)) if !target.starts_with('/') => Some((
                    "has a relative target",
                    "write the absolute path in the container, e.g. `/etc/nginx/conf.d/default.conf`",
                )),
                Some(_) => None,
            };
            if let Some((what, help)) = problem {
                self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, format!("config `{text}` {what}"))
                        .at(item.span, "expected `\"./file:/path/in/container\"`")
                        .with_help(help),
                );
                continue;
            }
            let Some((source, target)) = text.split_once(':') else { continue };
            if let Some(first) = seen.insert(target.to_string(), item.span) {
                self.report(
                    Diagnostic::new(&codes::DUPLICATE_FIELD, format!("`{target}` is mounted twice"))
                        .at(item.span, "mounted again here")
                        .with_label(first, "first mounted here")
                        .with_help("remove one of them: one file per path in the container"),
                );
                continue;
            }
            out.push(ConfigFile { source: source.to_string(), target: target.to_string() });
        }
        out
    }

    fn port(&mut self, expr: &Expr, field: &str) -> Option<u16> {
        match expr.kind {
            ExprKind::Int(n) if (1..=65535).contains(&n) => u16::try_from(n).ok(),
            ExprKind::Int(n) => {
                self.report(
                    Diagnostic::new(&codes::VALUE_OUT_OF_RANGE, format!("`{field}` is {n}, not a port"))
                        .at(expr.span, "out of range")
                        .with_help("ports range from 1 to 65535"),
                );
                None
            }
            _ => {
                self.type_error(expr, "an integer", field);
                None
            }
        }
    }

    fn replicas(&mut self, expr: &Expr) -> Option<u32> {
        match expr.kind {
            ExprKind::Int(n) if (0..=1000).contains(&n) => u32::try_from(n).ok(),
            _ => {
                self.type_error(expr, "an integer from 0 to 1000", "replicas");
                None
            }
        }
    }

    pub fn strings(&mut self, expr: &Expr, field: &str) -> Option<Vec<String>> {
        match self.value(expr, crate::stdlib::FieldType::StringList, field)? {
            Value::List(items) => Some(items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
            _ => None,
        }
    }

    /// A command: a non-empty list of strings. An empty one would mean "the image's default"
    /// to Compose but nothing to a Dockerfile's `CMD`; leaving the field out says that.
    pub fn argv(&mut self, expr: &Expr, field: &str) -> Option<Vec<String>> {
        let argv = self.strings(expr, field)?;
        if argv.is_empty() {
            self.type_error(expr, "a non-empty list of strings", field);
            return None;
        }
        Some(argv)
    }

    fn http_health(&mut self, expr: &Expr) -> Option<HttpHealth> {
        let ExprKind::Call(call) = &expr.kind else {
            self.type_error(expr, "a probe such as `http(\"/health\")`", "health");
            return None;
        };
        if call.callee.dotted() != "http" {
            self.report(
                Diagnostic::new(&codes::UNKNOWN_REFERENCE, format!("no health probe named `{}`", call.callee.dotted()))
                    .at(call.callee.span, "unknown probe")
                    .with_help("write `http(\"/health\")`"),
            );
            return None;
        }
        let path = match call.args.as_slice() {
            [arg] if arg.name.is_none() => match &arg.value.kind {
                // The path is embedded in JSON, Python and JavaScript string literals of the
                // Dockerfile probes: only characters that need no quoting anywhere.
                ExprKind::Str(p)
                    if p.starts_with('/')
                        && p.chars().all(|c| c.is_ascii_alphanumeric() || "._~/?&=%-".contains(c)) =>
                {
                    p.clone()
                }
                _ => {
                    self.report(
                        Diagnostic::new(
                            &codes::TYPE_MISMATCH,
                            "`http` expects a path starting with `/`",
                        )
                        .at(arg.value.span, "not a plain URL path")
                        .with_help("write `http(\"/health\")`: letters, digits and `._~/?&=%-` only (percent-encode the rest)"),
                    );
                    return None;
                }
            },
            _ => {
                self.report(
                    Diagnostic::new(&codes::UNKNOWN_ARGUMENT, "`http` takes one argument, the path")
                        .at(call.callee.span, "here")
                        .with_help("write `http(\"/health\")`"),
                );
                return None;
            }
        };
        let mut health = HttpHealth {
            path: path.to_string(),
            interval_ms: 30_000,
            timeout_ms: 10_000,
            start_period_ms: 0,
            retries: 3,
        };
        if let Some(block) = &call.block {
            for member in &block.members {
                let Member::Field(f) = member else { continue };
                match self.health_timing(f) {
                    Some(HealthTiming::Retries(n)) => health.retries = n,
                    // Cloud Run counts whole seconds from the start: a shorter start period is none.
                    Some(HealthTiming::Duration("start_period", ms)) => {
                        health.start_period_ms = if ms >= 1000 { ms } else { 0 }
                    }
                    Some(HealthTiming::Duration(field, ms)) if ms >= 1000 => {
                        let h = &mut health;
                        *duration_slot(field, &mut h.interval_ms, &mut h.timeout_ms, &mut h.start_period_ms) = ms;
                    }
                    Some(HealthTiming::Duration(_, ms)) => self.below_one_second(f, ms),
                    None => {}
                }
            }
        }
        Some(health)
    }

    fn dependencies(&mut self, expr: &Expr, service: &str) -> Vec<Dependency> {
        let ExprKind::List(items) = &expr.kind else {
            self.type_error(expr, "a list of services and stores", "depends_on");
            return Vec::new();
        };
        let mut out: Vec<Dependency> = Vec::new();
        for item in items {
            let ExprKind::Path(path) = &item.kind else {
                self.type_error(item, "the name of a service or store", "depends_on[]");
                continue;
            };
            let [target] = path.segments.as_slice() else {
                self.type_error(item, "the name of a service or store", "depends_on[]");
                continue;
            };
            let name = &target.name;
            let target_is_store = self.decls.stores.contains_key(name.as_str());
            if !target_is_store && !self.decls.services.contains_key(name.as_str()) {
                if self.decls.channels.contains_key(name.as_str())
                    || self.decls.pipelines.contains_key(name.as_str())
                    || self.decls.alerts.contains_key(name.as_str())
                {
                    self.report(
                        Diagnostic::new(
                            &codes::WRONG_REFERENCE_TARGET,
                            format!("`{name}` is not a service or a data store"),
                        )
                        .at(target.span, "cannot be depended on")
                        .with_help(if self.decls.pipelines.contains_key(name.as_str()) {
                            "`depends_on` lists services and data stores; a pipeline runs in Cloud Build, not next to the service: order its work with the pipeline's steps"
                        } else {
                            "`depends_on` lists the services and data stores that must be up before this one"
                        }),
                    );
                } else {
                    let candidates: Vec<String> =
                        self.decls.services.keys().chain(self.decls.stores.keys()).map(|k| k.to_string()).collect();
                    self.unknown_reference(target.span, name, "service or data store", candidates);
                }
                continue;
            }
            if name == service {
                self.report(
                    Diagnostic::new(&codes::DEPENDENCY_CYCLE, format!("service `{service}` depends on itself"))
                        .at(target.span, "a dependency on itself")
                        .with_help("remove it from `depends_on`"),
                );
                continue;
            }
            if !out.iter().any(|d| d.target == *name) {
                out.push(Dependency { target: name.as_str().to_owned(), target_is_store, span: target.span });
            }
        }
        out
    }

    /// `env { NAME = value }`: strings, numbers, booleans, secrets, store URLs.
    fn env_block(&mut self, block: &Block, stores: &BTreeMap<String, Store>) -> crate::model::EnvMap {
        // One variable per member: the map is held as long as the model, without spare room.
        let mut out = crate::model::EnvMap::with_capacity(block.members.len());
        let mut seen: BTreeMap<&str, crate::source::Span> = BTreeMap::new();
        for member in &block.members {
            let Member::Field(f) = member else {
                self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, "`env` holds only `NAME = value` pairs")
                        .at(member.span(), "not a pair")
                        .with_help("write `NAME = \"value\"`"),
                );
                continue;
            };
            if let Some(first) = seen.get(f.name.name.as_str()).copied() {
                self.report(
                    Diagnostic::new(&codes::DUPLICATE_FIELD, format!("`{}` is set twice", f.name.name))
                        .at(f.name.span, "set again here")
                        .with_label(first, "first set here")
                        .with_help("remove one of them: only one value can reach the container"),
                );
                continue;
            }
            seen.insert(&f.name.name, f.name.span);
            let value = match &f.value.kind {
                ExprKind::Str(s) => EnvValue::Text(s.clone()),
                // As `Display` writes them (`2.0` is `2`): compact_str's own float formatting differs.
                ExprKind::Int(n) => EnvValue::Text(format_compact!("{n}")),
                ExprKind::Float(x) => EnvValue::Text(format_compact!("{x}")),
                ExprKind::Bool(b) => EnvValue::Text(format_compact!("{b}")),
                ExprKind::Path(path) if path.segments.first().is_some_and(|s| s.name == "secret") => {
                    match self.secret_ref(path, &f.name.name) {
                        Some(Value::Secret(s)) => EnvValue::Secret(s.into()),
                        _ => continue,
                    }
                }
                ExprKind::Path(_) | ExprKind::Call(_) => match self.store_url(&f.value, stores) {
                    Some(v) => v,
                    None => continue,
                },
                _ => {
                    self.type_error(&f.value, "a string, a secret or a store URL", &f.name.name);
                    continue;
                }
            };
            out.insert(f.name.name.clone(), value);
        }
        out
    }

    /// `postgres.url(driver = "postgresql+asyncpg")` or `neo4j.bolt_url`.
    pub fn store_url(&mut self, expr: &Expr, stores: &BTreeMap<String, Store>) -> Option<EnvValue> {
        let (path, args) = match &expr.kind {
            ExprKind::Path(p) => (&**p, &[][..]),
            ExprKind::Call(c) => (&c.callee, c.args.as_slice()),
            _ => return None,
        };
        let [store_name, url_name] = path.segments.as_slice() else {
            self.report(
                Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{}` is not a value", path.dotted()))
                    .at(path.span, "expected a store URL such as `postgres.url`")
                    .with_help("write a string, `secret.<name>` or `<store>.url`"),
            );
            return None;
        };
        let Some(store) = stores.get(store_name.name.as_str()) else {
            if !self.decls.stores.contains_key(store_name.name.as_str()) {
                let candidates = self.decls.stores.keys().map(|k| k.to_string()).collect();
                self.unknown_reference(store_name.span, &store_name.name, "data store", candidates);
            }
            return None;
        };
        let urls = &store.kind.store.as_ref()?.urls;
        let Some(url) = urls.get(url_name.name.as_str()) else {
            let help = unknown_name_help(&url_name.name, urls.keys().map(String::as_str));
            self.report(
                Diagnostic::new(
                    &codes::UNKNOWN_REFERENCE,
                    format!("a `{}` store has no `{}`", store.kind.name, url_name.name),
                )
                .at(url_name.span, "unknown URL")
                .with_help(help),
            );
            return None;
        };
        if args.is_empty() {
            if let Some(url) = self.store_urls.get(&(store.name.clone(), url_name.name.as_str().to_owned())) {
                return Some(EnvValue::StoreUrl { store: store.name.as_str().into(), url: url.as_str().into() });
            }
        }
        let mut context = serde_json::Map::new();
        for (k, v) in &store.fields {
            context.insert(k.clone(), v.to_json());
        }
        for (k, v) in &url.params {
            context.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        context.insert("host".into(), serde_json::Value::String(store.name.clone()));
        context.insert("port".into(), serde_json::Value::from(store.port));
        for arg in args {
            let Some(name) = &arg.name else {
                self.report(
                    Diagnostic::new(&codes::UNKNOWN_ARGUMENT, "URL arguments are named")
                        .at(arg.value.span, "unnamed")
                        .with_help(format!(
                            "name it: {}",
                            url.params.keys().map(|k| format!("`{k} = …`")).collect::<Vec<_>>().join(", ")
                        )),
                );
                continue;
            };
            if !url.params.contains_key(name.name.as_str()) {
                let help = unknown_name_help(&name.name, url.params.keys().map(String::as_str));
                self.report(
                    Diagnostic::new(
                        &codes::UNKNOWN_ARGUMENT,
                        format!("`{}.{}` takes no argument `{}`", store.name, url_name.name, name.name),
                    )
                    .at(name.span, "unknown argument")
                    .with_help(help),
                );
                continue;
            }
            let text = match &arg.value.kind {
                ExprKind::Str(s) => s.as_str().to_owned(),
                ExprKind::Int(n) => n.to_string(),
                _ => {
                    self.type_error(&arg.value, "a string or an integer", &name.name);
                    continue;
                }
            };
            context.insert(name.name.as_str().to_owned(), serde_json::Value::String(text));
        }
        let rendered = template::render(&url.template, &serde_json::Value::Object(context)).ok()?;
        if args.is_empty() {
            self.store_urls.insert((store.name.clone(), url_name.name.as_str().to_owned()), rendered.clone());
        }
        Some(EnvValue::StoreUrl { store: store.name.as_str().into(), url: rendered.into() })
    }

    fn deploy(
        &mut self,
        block: &crate::syntax::ast::NestedBlock,
        configs: &[ServiceConfig; 3],
        stores: &BTreeMap<String, Store>,
        project: Option<&Project>,
    ) -> Option<Deploy> {
        let target = self.kind_of(block.kind.as_ref(), KindClass::Deploy, "deploy", &block.name)?;
        let fields = self.fields(&block.body, &target.fields, &format!("a `{}` deploy", target.name), block.name.span);
        let num = |k: &str| fields.get(k).and_then(Value::as_f64);
        let int = |k: &str| fields.get(k).and_then(Value::as_i64).and_then(|n| u32::try_from(n).ok());
        let memory_bytes = match fields.get("memory") {
            Some(Value::Bytes(b)) => *b,
            _ => 512 << 20,
        };
        let timeout_ms = match fields.get("timeout") {
            Some(Value::DurationMs(ms)) => *ms,
            _ => 300_000,
        };
        let env = match fields.get("env") {
            Some(Value::Map(m)) => m.clone(),
            _ => BTreeMap::new(),
        };
        let mut cloudsql_instances = Vec::new();
        let [_, prod, _] = configs;
        if let Some(project) = project {
            for value in prod.env.values() {
                if let EnvValue::StoreUrl { store, .. } = value {
                    if let Some(s) = stores.get(store.as_str()).filter(|s| s.is_cloud_sql()) {
                        let name = format!("{}:{}:{}", project.gcp.project, project.gcp.region, s.cloud_sql_instance());
                        if !cloudsql_instances.contains(&name) {
                            cloudsql_instances.push(name);
                        }
                    }
                }
            }
        }
        Some(Deploy {
            memory_bytes,
            cpu: num("cpu").unwrap_or(1.0),
            concurrency: int("concurrency").unwrap_or(80),
            min_instances: int("min_instances").unwrap_or(0),
            max_instances: int("max_instances").unwrap_or(100),
            timeout_ms,
            service_account: fields.get("service_account").and_then(Value::as_str).map(str::to_string),
            ingress: fields.get("ingress").and_then(Value::as_str).unwrap_or("all").to_string(),
            public: matches!(fields.get("public"), Some(Value::Bool(true))),
            env,
            cloudsql_instances,
            target,
        })
    }

    pub fn channels(&mut self) -> BTreeMap<String, Channel> {
        let mut out = BTreeMap::new();
        let items: Vec<&Item> = self.decls.channels.values().copied().collect();
        for item in items {
            let Some(kind) = self.kind_of(item.kind.as_ref(), KindClass::Channel, "channel", &item.name) else {
                continue;
            };
            let fields = self.fields(&item.body, &kind.fields, &format!("a `{}` channel", kind.name), item.name.span);
            let Some(id) = fields.get("id").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            if !is_channel_name(&id) {
                let span = find_field_span(&item.body, "id").unwrap_or(item.name.span);
                self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{id}` is not a notification channel name"))
                        .at(span, "expected `projects/<project>/notificationChannels/<id>`")
                        .with_help("copy the channel's name from `gcloud beta monitoring channels list --format='value(name)'`"),
                );
                continue;
            }
            out.insert(
                item.name.name.as_str().to_owned(),
                Channel { name: item.name.name.as_str().to_owned(), kind, id, fields },
            );
        }
        out
    }

    /// An image reference must name a tag (not `latest`) or a digest.
    pub fn image_pinned(&mut self, image: &str, span: crate::source::Span) {
        if image.contains("@sha256:") {
            return;
        }
        let last = image.rsplit('/').next().unwrap_or(image);
        match last.split_once(':') {
            Some((repo, "latest")) => self.report(
                Diagnostic::new(&codes::IMAGE_TAG_LATEST, format!("image `{image}` is tagged `latest`"))
                    .at(span, "`latest` moves")
                    .with_help(format!(
                        "pin a version: `{}:<version>`, so every environment runs the same bits",
                        image.strip_suffix(":latest").unwrap_or(repo)
                    )),
            ),
            Some(_) => {}
            None => self.report(
                Diagnostic::new(&codes::UNPINNED_IMAGE, format!("image `{image}` has no tag"))
                    .at(span, "means `latest`")
                    .with_help(format!("pin a version: `{image}:<version>` or a digest `{image}@sha256:…`")),
            ),
        }
    }
}

/// Splits off the nested block `name { … }` from a block's members.
fn split_member(block: &Block, name: &str) -> (Option<Block>, Block) {
    let mut found = None;
    let mut rest = Vec::new();
    for member in &block.members {
        match member {
            Member::Block(b) if b.name.name == name && found.is_none() => found = Some(b.body.clone()),
            other => rest.push(other.clone()),
        }
    }
    (found, Block { members: rest, span: block.span })
}

/// The span of the field or map entry `name` anywhere in a block.
pub fn find_field_span(block: &Block, name: &str) -> Option<crate::source::Span> {
    block.members.iter().find_map(|m| match m {
        Member::Field(f) if f.name.name == name => Some(f.span()),
        Member::Block(b) => find_field_span(&b.body, name),
        _ => None,
    })
}

fn is_channel_name(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    matches!(parts.as_slice(), ["projects", p, "notificationChannels", c] if !p.is_empty() && !c.is_empty())
}

/// `list` without spare capacity: a pushed vector has room for four, and a large project's
/// model holds one per service for as long as it lives.
fn exact<T>(mut list: Vec<T>) -> Vec<T> {
    list.shrink_to_fit();
    list
}
