//! What each block of a spec accepts, for hover and completion: the fields of stdlib kinds
//! (from the stdlib) and of the blocks the language itself defines (services, overlays,
//! secrets, the project, pipelines, alerts, health checks, step bodies).
//!
//! This is documentation, not checking: the checker stays the one judge of what is valid.

use std::sync::Arc;

use crate::stdlib::{FieldType, KindClass, KindDef, Stdlib};

/// The language's own blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Service,
    Overlay,
    Secret,
    Project,
    Gcp,
    Pipeline,
    Alert,
    Health,
    StepBody,
    /// `limits { cpus = …  memory = … }` of a container.
    Limits,
    Network,
    Volume,
}

/// Whose fields a block holds.
#[derive(Clone, Debug)]
pub enum Owner {
    /// A stdlib kind's fields (`database x : postgres { … }`, `build : python { … }`).
    Kind(Arc<KindDef>),
    Builtin(Builtin),
    /// The named arguments of a step call (`run(api, command = "…")`).
    StepArgs(Arc<KindDef>),
    /// Any name: `env`, `settings`, `substitutions`.
    Free,
    Unknown,
}

/// How a field is written, for completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `name = value`
    Value,
    /// `name { … }`
    Block,
    /// `name : kind { … }`
    KindBlock,
}

/// One field, described.
#[derive(Clone, Debug)]
pub struct FieldInfo {
    pub name: String,
    /// What it takes: `a duration such as \`30s\``.
    pub ty: String,
    pub doc: String,
    pub required: bool,
    pub default: Option<String>,
    pub shape: Shape,
    /// The stdlib type, when the field has one.
    pub field_type: Option<FieldType>,
}

struct Spec {
    name: &'static str,
    ty: &'static str,
    doc: &'static str,
    shape: Shape,
    field_type: Option<FieldType>,
}

impl Spec {
    fn info(&self) -> FieldInfo {
        FieldInfo {
            name: self.name.to_string(),
            ty: self.ty.to_string(),
            doc: self.doc.to_string(),
            required: false,
            default: None,
            shape: self.shape,
            field_type: self.field_type,
        }
    }
}

const fn value(name: &'static str, ty: &'static str, doc: &'static str, field_type: Option<FieldType>) -> Spec {
    Spec { name, ty, doc, shape: Shape::Value, field_type }
}

const fn block(name: &'static str, ty: &'static str, doc: &'static str, shape: Shape) -> Spec {
    Spec { name, ty, doc, shape, field_type: None }
}

const HEALTH_FIELDS: &[Spec] = &[
    value("interval", "a duration such as `30s`", "Time between two probes.", Some(FieldType::Duration)),
    value("timeout", "a duration such as `10s`", "How long one probe may take.", Some(FieldType::Duration)),
    value(
        "start_period",
        "a duration such as `40s`",
        "Grace period after start, during which failures do not count.",
        Some(FieldType::Duration),
    ),
    value("retries", "an integer", "Failures in a row before the container is unhealthy.", Some(FieldType::Int)),
];

const ENV_DOC: &str = "Environment variables: strings, `secret.<name>` (mounted as a file in Compose, read from Secret Manager on Cloud Run) and store URLs such as `postgres.url(driver = \"postgresql+asyncpg\")`.";

const SERVICE_FIELDS: &[Spec] = &[
    block(
        "build",
        "`build : <runtime> { … }`",
        "How the image is built: a runtime kind (`python`, `node`, `node_static`, `go`) and its fields. Sight writes the Dockerfile.",
        Shape::KindBlock,
    ),
    value(
        "image",
        "a string",
        "A prebuilt image instead of `build`, pinned to a tag or digest: `nginx:1.27`.",
        Some(FieldType::String),
    ),
    value("command", "a list of strings", "The container's command, as an argv list.", Some(FieldType::StringList)),
    value("port", "an integer", "The container port the service listens on.", Some(FieldType::Int)),
    value(
        "publish",
        "an integer",
        "The host port Compose publishes (default: `port`; none in tests).",
        Some(FieldType::Int),
    ),
    value(
        "health",
        "`http(\"/path\")`, `command([…])` or `shell(\"…\")`, with a timing block",
        "A health check: `http(\"/health\") { interval = 30s  timeout = 10s  start_period = 40s  retries = 3 }`, or a command run in the container, `command([\"pg_isready\"])` (CMD) or `shell(\"curl -fsS … || exit 1\")` (CMD-SHELL).",
        None,
    ),
    block("env", "a block of `NAME = value` pairs", ENV_DOC, Shape::Block),
    value(
        "depends_on",
        "a list of services and stores",
        "What must be up first; Compose waits for health where there is a health check. Reading a store's URL implies it.",
        None,
    ),
    block(
        "deploy",
        "`deploy : <target> { … }`",
        "Where the service runs in production: a deploy target kind such as `cloud_run`.",
        Shape::KindBlock,
    ),
    value(
        "mount",
        "a list of strings",
        "Bind mounts `./host:/container`; only in the `dev` and `test` overlays (S0115).",
        Some(FieldType::StringList),
    ),
    value("replicas", "an integer", "How many containers Compose runs.", Some(FieldType::Int)),
    block("dev", "an overlay block", "Changes for `docker-compose.yml` (development).", Shape::Block),
    block("prod", "an overlay block", "Changes for the production Compose file.", Shape::Block),
    block("test", "an overlay block", "Changes for `docker-compose.test.yml`.", Shape::Block),
];

/// Compose-only container settings, shared by services and stores (FACTS §3); `user` and `job`
/// are for services only.
const CONTAINER_FIELDS: &[Spec] = &[
    value(
        "ports",
        "a list of strings",
        "Ports beyond `port`/`publish`: `\"9229:9229\"`, `\"127.0.0.1:5000:5000/udp\"`, `\"3000\"`. Development binds those without an address to 127.0.0.1; the test file publishes none.",
        Some(FieldType::StringList),
    ),
    value(
        "volumes",
        "a list of strings",
        "Named and anonymous volumes: `\"cache:/code/target\"`, `\"/app/node_modules\"` (bind mounts go in `dev { mount }`, S0115).",
        Some(FieldType::StringList),
    ),
    value("tmpfs", "a list of strings", "tmpfs mounts: `\"/tmp\"`, `\"/run:size=16M\"`.", Some(FieldType::StringList)),
    value(
        "networks",
        "a list of strings",
        "The networks the container joins (empty: the default network); `network <name> { … }` gives one settings.",
        Some(FieldType::StringList),
    ),
    value("aliases", "a list of strings", "Extra host names on each of its networks.", Some(FieldType::StringList)),
    value(
        "restart",
        "a string",
        "`\"no\"`, `\"always\"`, `\"on-failure[:N]\"` or `\"unless-stopped\"`; production defaults to `unless-stopped`, the test file never restarts.",
        Some(FieldType::String),
    ),
    value("entrypoint", "a list of strings", "Replaces the image's entrypoint.", Some(FieldType::StringList)),
    value(
        "secrets",
        "a list of secrets",
        "Secrets mounted at `/run/secrets/<name>` without an environment variable: `[secret.db_password]`.",
        None,
    ),
    value(
        "profiles",
        "a list of strings",
        "Starts only when a Compose profile is active (never in the test file).",
        Some(FieldType::StringList),
    ),
    value(
        "env_file",
        "a list of strings",
        "Files of variables, relative to the project root; `env` wins.",
        Some(FieldType::StringList),
    ),
    block("labels", "a block of `NAME = \"value\"` pairs", "Container labels: `labels { \"traefik.enable\" = \"true\" }`.", Shape::Block),
    block(
        "limits",
        "`limits { cpus = …  memory = … }`",
        "Compose resource limits; production takes the Cloud Run deploy's when there is one.",
        Shape::Block,
    ),
    block(
        "ulimits",
        "a block of `NAME = limit` pairs",
        "Limits such as `nofile = 65536` or `nofile = \"1024:65536\"` (soft:hard).",
        Shape::Block,
    ),
    value("security_opt", "a list of strings", "Security options, as in Compose.", Some(FieldType::StringList)),
    value("gpus", "`\"all\"` or a number", "The GPUs the container may use.", None),
    value("tty", "`true` or `false`", "Allocate a terminal, as in Compose.", Some(FieldType::Bool)),
    value("stdin_open", "`true` or `false`", "Keep standard input open, as in Compose.", Some(FieldType::Bool)),
    value("read_only", "`true` or `false`", "A read-only root file system.", Some(FieldType::Bool)),
];

const SERVICE_ONLY_CONTAINER_FIELDS: &[Spec] = &[
    value("user", "a string", "The user the container runs as, e.g. `\"1000:1000\"`.", Some(FieldType::String)),
    value(
        "job",
        "`true` or `false`",
        "A one-shot task (a migration, a seed): dependents wait until it exits successfully.",
        Some(FieldType::Bool),
    ),
    value(
        "configs",
        "a list of strings",
        "Project files mounted read-only in every Compose file: `\"./proxy/nginx.conf:/etc/nginx/conf.d/default.conf\"` (not on a deployed service, S0184).",
        Some(FieldType::StringList),
    ),
];

const LIMITS_FIELDS: &[Spec] = &[
    value("cpus", "a number", "CPUs the container may use, e.g. `0.5`.", Some(FieldType::Number)),
    value("memory", "a size such as `512Mi`", "Memory the container may use.", Some(FieldType::Size)),
];

const NETWORK_FIELDS: &[Spec] = &[
    value("driver", "a string", "The network driver: `bridge` (default), `overlay`, …", Some(FieldType::String)),
    value("name", "a string", "The Docker network's own name instead of `<project>_<name>`.", Some(FieldType::String)),
    value("external", "`true` or `false`", "Created outside Compose.", Some(FieldType::Bool)),
    value("internal", "`true` or `false`", "No route outside the network.", Some(FieldType::Bool)),
];

const VOLUME_FIELDS: &[Spec] = &[
    value("driver", "a string", "The volume driver (default `local`).", Some(FieldType::String)),
    block(
        "driver_opts",
        "a block of `NAME = \"value\"` pairs",
        "Options of the driver, e.g. `type = \"tmpfs\"`.",
        Shape::Block,
    ),
    value("name", "a string", "The Docker volume's own name instead of `<project>_<name>`.", Some(FieldType::String)),
    value("external", "`true` or `false`", "Created outside Compose.", Some(FieldType::Bool)),
];

const OVERLAY_FIELDS: &[Spec] = &[
    value("command", "a list of strings", "The container's command in this environment.", Some(FieldType::StringList)),
    block("env", "a block of `NAME = value` pairs", "Merged over the service's `env`.", Shape::Block),
    value(
        "mount",
        "a list of strings",
        "Bind mounts `./host:/container` (not in `prod`).",
        Some(FieldType::StringList),
    ),
    value("publish", "an integer", "The host port in this environment.", Some(FieldType::Int)),
    value("replicas", "an integer", "How many containers in this environment.", Some(FieldType::Int)),
];

const SECRET_FIELDS: &[Spec] = &[
    value(
        "from",
        "`secret_manager(\"id\", version = N)`",
        "Where the secret is kept: a Secret Manager secret and a pinned version (`latest` is S0122).",
        None,
    ),
    value(
        "file",
        "a string",
        "Where Compose reads the value in development and tests (default `secrets/<name>.txt`; keep it git-ignored).",
        Some(FieldType::String),
    ),
];

const PROJECT_FIELDS: &[Spec] = &[block(
    "gcp",
    "`gcp { project = … region = … registry = … }`",
    "The Google Cloud settings every target needs.",
    Shape::Block,
)];

const GCP_FIELDS: &[Spec] = &[
    value("project", "a string", "The Google Cloud project id.", Some(FieldType::String)),
    value(
        "region",
        "a string",
        "The region of Cloud Run services and Cloud Build, e.g. `europe-west1`.",
        Some(FieldType::String),
    ),
    value(
        "registry",
        "a string",
        "Where images are pushed, e.g. `europe-west1-docker.pkg.dev/my-project/app` or `gcr.io`.",
        Some(FieldType::String),
    ),
];

const PIPELINE_FIELDS: &[Spec] = &[
    value("trigger", "`push(branch = …)`, `tag(pattern = …)` or `manual()`", "What starts the pipeline.", None),
    value("machine", "a string", "The Cloud Build machine type, e.g. `E2_HIGHCPU_8`.", Some(FieldType::String)),
    value(
        "timeout",
        "a duration such as `40m`",
        "The build timeout (1s to 24h); no step may take longer.",
        Some(FieldType::Duration),
    ),
    value("notify", "a channel or a list of channels", "Who hears about failed builds.", None),
    block(
        "substitutions",
        "a block of `_NAME = \"value\"` pairs",
        "Cloud Build substitutions: keys match `^_[A-Z0-9_]+$`, each used and each defined.",
        Shape::Block,
    ),
];

const ALERT_FIELDS: &[Spec] = &[
    value("on", "a service or a store", "What is watched: a deployed service or a data store.", None),
    value("notify", "a channel or a list of channels", "Who is notified when the condition holds.", None),
    value(
        "auto_close",
        "a duration such as `30m`",
        "Close the incident after this long without the condition.",
        Some(FieldType::Duration),
    ),
    value(
        "severity",
        "`\"critical\"`, `\"error\"` or `\"warning\"`",
        "The policy's severity (default `\"error\"`).",
        Some(FieldType::String),
    ),
];

const STEP_BODY_FIELDS: &[Spec] = &[
    value(
        "timeout",
        "a duration such as `10m`",
        "The step's timeout; at most the pipeline's.",
        Some(FieldType::Duration),
    ),
    block(
        "env",
        "a block of `NAME = value` pairs",
        "The step's environment: strings, `secret.<name>` and store URLs.",
        Shape::Block,
    ),
];

impl Builtin {
    fn specs(self) -> Vec<&'static Spec> {
        let own: &[Spec] = match self {
            Builtin::Service => {
                return SERVICE_FIELDS.iter().chain(SERVICE_ONLY_CONTAINER_FIELDS).chain(CONTAINER_FIELDS).collect();
            }
            Builtin::Overlay => OVERLAY_FIELDS,
            Builtin::Secret => SECRET_FIELDS,
            Builtin::Project => PROJECT_FIELDS,
            Builtin::Gcp => GCP_FIELDS,
            Builtin::Pipeline => PIPELINE_FIELDS,
            Builtin::Alert => ALERT_FIELDS,
            Builtin::Health => HEALTH_FIELDS,
            Builtin::StepBody => STEP_BODY_FIELDS,
            Builtin::Limits => LIMITS_FIELDS,
            Builtin::Network => NETWORK_FIELDS,
            Builtin::Volume => VOLUME_FIELDS,
        };
        own.iter().collect()
    }

    /// What the block is, for hover titles.
    pub fn describe(self) -> &'static str {
        match self {
            Builtin::Service => "a service",
            Builtin::Overlay => "an overlay",
            Builtin::Secret => "a secret",
            Builtin::Project => "the project",
            Builtin::Gcp => "the `gcp` block",
            Builtin::Pipeline => "a pipeline",
            Builtin::Alert => "an alert",
            Builtin::Health => "a health check",
            Builtin::StepBody => "a step",
            Builtin::Limits => "resource limits",
            Builtin::Network => "a network",
            Builtin::Volume => "a volume",
        }
    }
}

/// The kind class a `keyword name : kind` declaration takes.
pub fn item_kind_class(keyword: &str) -> Option<KindClass> {
    match keyword {
        "database" | "cache" | "store" => Some(KindClass::Store),
        "channel" => Some(KindClass::Channel),
        _ => None,
    }
}

/// The kind class a nested `name : kind { … }` block takes inside `owner`.
pub fn block_kind_class(owner: &Owner, name: &str) -> Option<KindClass> {
    match (owner, name) {
        (Owner::Builtin(Builtin::Service), "build") => Some(KindClass::Runtime),
        (Owner::Builtin(Builtin::Service), "deploy") => Some(KindClass::Deploy),
        _ => None,
    }
}

fn kind_of(stdlib: &Stdlib, name: Option<&str>, class: KindClass) -> Owner {
    match name.and_then(|n| stdlib.kind(n)) {
        Some(def) if def.class == class => Owner::Kind(def.clone()),
        _ => Owner::Unknown,
    }
}

impl Owner {
    /// The body of a top-level declaration.
    pub fn item(stdlib: &Stdlib, keyword: &str, kind: Option<&str>) -> Owner {
        if let Some(class) = item_kind_class(keyword) {
            return kind_of(stdlib, kind, class);
        }
        match keyword {
            "service" => Owner::Builtin(Builtin::Service),
            "secret" => Owner::Builtin(Builtin::Secret),
            "project" => Owner::Builtin(Builtin::Project),
            "pipeline" => Owner::Builtin(Builtin::Pipeline),
            "alert" => Owner::Builtin(Builtin::Alert),
            "network" => Owner::Builtin(Builtin::Network),
            "volume" => Owner::Builtin(Builtin::Volume),
            _ => Owner::Unknown,
        }
    }

    /// A nested `name { … }` or `name : kind { … }` block inside this one.
    pub fn child(&self, stdlib: &Stdlib, name: &str, kind: Option<&str>) -> Owner {
        if let Some(class) = block_kind_class(self, name) {
            return kind_of(stdlib, kind, class);
        }
        match (self, name) {
            (Owner::Builtin(Builtin::Service), "dev" | "prod" | "test") => Owner::Builtin(Builtin::Overlay),
            (Owner::Builtin(Builtin::Service | Builtin::Overlay | Builtin::StepBody), "env") => Owner::Free,
            (Owner::Builtin(Builtin::Project), "gcp") => Owner::Builtin(Builtin::Gcp),
            (Owner::Builtin(Builtin::Pipeline), "substitutions") => Owner::Free,
            (Owner::Builtin(Builtin::Volume), "driver_opts") => Owner::Free,
            (Owner::Builtin(Builtin::Service), "labels" | "ulimits") => Owner::Free,
            (Owner::Builtin(Builtin::Service), "limits") => Owner::Builtin(Builtin::Limits),
            (Owner::Kind(def), "labels" | "ulimits") if def.store.is_some() => Owner::Free,
            (Owner::Kind(def), "limits") if def.store.is_some() => Owner::Builtin(Builtin::Limits),
            (Owner::Kind(def), "health") if def.store.is_some() => Owner::Builtin(Builtin::Health),
            (Owner::Kind(def), field) if def.fields.get(field).is_some_and(|f| f.ty == FieldType::StringMap) => {
                Owner::Free
            }
            _ => Owner::Unknown,
        }
    }

    /// The block after a call in a field: `health = http("/health") { … }`.
    pub fn call_block(callee: &str) -> Owner {
        match callee {
            "http" | "command" | "shell" => Owner::Builtin(Builtin::Health),
            _ => Owner::Unknown,
        }
    }

    /// The fields this block accepts, in a stable order.
    pub fn fields(&self) -> Vec<FieldInfo> {
        match self {
            Owner::Kind(def) => {
                let mut out: Vec<FieldInfo> = def
                    .fields
                    .iter()
                    .map(|(name, f)| FieldInfo {
                        name: name.clone(),
                        ty: f.ty.describe().to_string(),
                        doc: f.doc.clone(),
                        required: f.required,
                        default: f.default.as_ref().map(|d| default_text(d, f.ty)),
                        shape: if f.ty == FieldType::StringMap { Shape::Block } else { Shape::Value },
                        field_type: Some(f.ty),
                    })
                    .collect();
                if def.store.is_some() {
                    if !def.fields.contains_key("health") {
                        out.push(FieldInfo {
                            name: "health".into(),
                            ty: "a block of durations".into(),
                            doc: "Overrides the kind's health check: `interval`, `timeout`, `start_period`, `retries` (never below the kind's minimum, S0190).".into(),
                            required: false,
                            default: None,
                            shape: Shape::Block,
                            field_type: None,
                        });
                    }
                    // A store takes the container settings too (its kind's own fields first).
                    let container = CONTAINER_FIELDS.iter().filter(|s| !def.fields.contains_key(s.name));
                    out.extend(container.map(Spec::info));
                }
                out
            }
            Owner::StepArgs(def) => def
                .step
                .iter()
                .flat_map(|s| s.params.iter())
                .map(|p| FieldInfo {
                    name: p.name.clone(),
                    ty: p.ty.describe().to_string(),
                    doc: p.doc.clone(),
                    required: p.required,
                    default: None,
                    shape: Shape::Value,
                    field_type: Some(p.ty),
                })
                .collect(),
            Owner::Builtin(b) => b.specs().into_iter().map(Spec::info).collect(),
            Owner::Free | Owner::Unknown => Vec::new(),
        }
    }

    pub fn field(&self, name: &str) -> Option<FieldInfo> {
        self.fields().into_iter().find(|f| f.name == name)
    }

    /// What the block is, for hover: "a `postgres` store".
    pub fn describe(&self) -> String {
        match self {
            Owner::Kind(def) => format!("`{}` ({})", def.name, def.class.describe()),
            Owner::StepArgs(def) => format!("`{}` (pipeline step)", def.name),
            Owner::Builtin(b) => b.describe().to_string(),
            Owner::Free | Owner::Unknown => String::new(),
        }
    }
}

/// A stdlib default as it would be written in a spec.
pub fn toml_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => crate::format::quote(s),
        toml::Value::Array(items) => format!("[{}]", items.iter().map(toml_text).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// A default in spec syntax: durations, sizes and percentages are written bare (`512Mi`).
fn default_text(value: &toml::Value, ty: FieldType) -> String {
    match (value, ty) {
        (toml::Value::String(s), FieldType::Duration | FieldType::Size | FieldType::Percent) => s.clone(),
        _ => toml_text(value),
    }
}

/// `run(service, command)`: a step kind's call signature.
pub fn step_signature(def: &KindDef) -> String {
    let params: Vec<String> = def
        .step
        .iter()
        .flat_map(|s| s.params.iter())
        .map(|p| if p.required { p.name.clone() } else { format!("{}?", p.name) })
        .collect();
    format!("{}({})", def.name, params.join(", "))
}
