//! Stage 3, the model: the typed, resolved description of a project, the one input of the
//! graph and of every emitter.
//!
//! Everything here is already checked: names resolve, kinds exist, units are normalised
//! (durations in milliseconds, sizes in bytes, percentages as fractions), overlays are applied
//! (one [`ServiceConfig`] per [`Env`]). Maps are `BTreeMap`s so iteration order is the name
//! order and output never depends on the order of the source files.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::source::Span;
use crate::stdlib::{KindDef, SignalDef, StepRole};
/// Names and values of environment variables: most are short enough to be held inline.
pub use crate::syntax::ast::Text;

#[derive(Clone, Debug)]
pub struct Model {
    pub project: Project,
    pub secrets: BTreeMap<String, Secret>,
    pub stores: BTreeMap<String, Store>,
    pub services: Services,
    pub channels: BTreeMap<String, Channel>,
    pub pipelines: BTreeMap<String, Pipeline>,
    pub alerts: BTreeMap<String, Alert>,
    /// Compose networks declared with settings (`network front { driver = "overlay" }`); a
    /// network a service names without declaring it has Compose's defaults.
    pub networks: BTreeMap<String, Network>,
    /// Named volumes declared with settings (`volume cache { driver_opts { type = "tmpfs" } }`).
    pub volumes: BTreeMap<String, Volume>,
    /// Handlebars templates of the standard library, by file name (`python.Dockerfile.hbs`).
    pub templates: BTreeMap<String, String>,
}

/// The services by name. Each is boxed: a `Service` is most of a kilobyte, and a large project's
/// services are gathered from two threads and built into the map; moving pointers instead of
/// kilobytes takes 16 MB (a fifth) off the checker's peak memory at 10,000 services.
pub type Services = BTreeMap<String, Box<Service>>;

/// A named volume's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Volume {
    pub name: String,
    /// The Docker volume's own name (default: `<project>_<name>`).
    pub volume_name: Option<String>,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub external: bool,
}

/// A Compose network's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub name: String,
    /// The Docker network's own name (default: `<project>_<name>`).
    pub network_name: Option<String>,
    /// `bridge` (Compose's default), `overlay`, …
    pub driver: Option<String>,
    /// Created outside Compose; Compose only attaches containers to it.
    pub external: bool,
    /// No route to the outside.
    pub internal: bool,
}

/// The three environments the Compose files are made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Env {
    Dev,
    Prod,
    Test,
}

impl Env {
    pub const ALL: [Env; 3] = [Env::Dev, Env::Prod, Env::Test];

    /// The overlay block's name: `dev`, `prod`, `test`.
    pub fn name(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Prod => "prod",
            Env::Test => "test",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Project {
    pub name: String,
    pub gcp: Gcp,
    /// The spec files, relative to the project root, sorted: named in generated headers.
    pub sources: Vec<String>,
    pub outputs: Outputs,
}

#[derive(Clone, Debug)]
pub struct Gcp {
    pub project: String,
    pub region: String,
    /// Image registry host and path prefix, e.g. `gcr.io` or `europe-west1-docker.pkg.dev/p/app`.
    pub registry: String,
}

/// Which targets to emit and where, relative to the output root (from `sight.toml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outputs {
    pub compose: Option<String>,
    pub dockerfiles: bool,
    pub cloudbuild: Option<String>,
    pub alerts: Option<String>,
    pub cloud_run: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Secret {
    pub name: String,
    /// The Secret Manager secret id.
    pub secret_id: String,
    /// A pinned version number, or `latest`.
    pub version: String,
    /// Where Compose reads it from in development and tests (git-ignored).
    pub file: String,
    /// Instead of `file`: the variable of the shell running Compose that holds it (`env = "PG_PW"`).
    pub environment: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Store {
    pub name: String,
    pub kind: Arc<KindDef>,
    pub image: String,
    pub port: u16,
    pub data_dir: String,
    /// Container environment, already rendered (Compose `$` escaping is the emitter's job).
    pub environment: BTreeMap<String, String>,
    pub command: Vec<String>,
    pub health: Health,
    /// Secrets mounted into the container (their names).
    pub secrets: Vec<String>,
    /// Every field value after defaults, for templates and alerts.
    pub fields: BTreeMap<String, Value>,
    /// Container settings written as declared (`restart`, `networks`, `ports`, …; never
    /// `user`, a store kind's own field, nor `job`).
    pub container: ContainerOptions,
    pub span: Span,
}

impl Store {
    /// A Cloud SQL instance (its kind is monitored as `cloudsql_database`): production reaches
    /// it through Cloud Run's connector or the Cloud SQL Auth Proxy, never a Compose host.
    pub fn is_cloud_sql(&self) -> bool {
        self.kind.monitored().is_some_and(|m| m.resource_type == "cloudsql_database")
    }

    /// The Cloud SQL instance's name: the `instance` field, else the store's name.
    pub fn cloud_sql_instance(&self) -> &str {
        self.fields.get("instance").and_then(Value::as_str).unwrap_or(&self.name)
    }
}

/// A Compose health check.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    /// `["CMD", …]` or `["CMD-SHELL", "…"]`: short words, held inline.
    pub test: Vec<Text>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub start_period_ms: u64,
    pub retries: u32,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    /// The container port the service listens on.
    pub port: Option<u16>,
    /// A prebuilt image, when the service is not built.
    pub image: Option<String>,
    pub build: Option<Box<Build>>,
    /// An HTTP health endpoint.
    pub health: Option<Box<HttpHealth>>,
    pub deploy: Option<Box<Deploy>>,
    pub depends_on: Vec<Dependency>,
    /// Read-only configuration files (an nginx site, a Prometheus config), the same in every
    /// Compose file; a deployed service has none (its target would never receive them).
    pub config_files: Vec<ConfigFile>,
    /// The resolved configuration per environment (base plus overlay), in [`Env::ALL`] order:
    /// read it with [`Service::config`].
    pub configs: [ServiceConfig; 3],
    /// Container settings Compose applies as written (the same in every Compose file).
    pub container: ContainerOptions,
    pub span: Span,
}

/// Container settings of a service that only Compose reads: restart policy, limits, a
/// command health check and, boxed in [`ContainerExtras`], the settings fewer services use.
/// Empty by default; each is written into the Compose files as declared (Cloud Run has no
/// equivalent, except where noted).
#[derive(Clone, Debug, Default)]
pub struct ContainerOptions {
    /// `no`, `always`, `on-failure[:N]`, `unless-stopped`; `None`: sight's default per file.
    pub restart: Option<String>,
    /// Resource limits in every Compose file (production takes the Cloud Run deploy's instead).
    pub limits: Option<ContainerLimits>,
    /// A health check given as a command (`command([…])`, `shell("…")`) instead of `http`.
    pub health_check: Option<Health>,
    /// A one-shot task (a migration, a seed): dependents wait until it exits successfully.
    pub job: bool,
    /// `None` until a service sets one of them: its twelve empty lists and maps, two options
    /// and three flags would take about 330 bytes in each of a large project's services
    /// (docs/performance.md).
    extras: Option<Box<ContainerExtras>>,
}

/// The container settings fewer services set ([`ContainerOptions::extras`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerExtras {
    /// Published ports beyond `port`/`publish`, in Compose's short syntax
    /// (`[IP:]HOST:CONTAINER[/PROTOCOL]`, or `CONTAINER[/PROTOCOL]`).
    pub ports: Vec<String>,
    /// Named (`name:/path[:ro]`) and anonymous (`/path`) volumes; never bind mounts.
    pub volumes: Vec<String>,
    /// tmpfs mounts (`/tmp`, `/run:size=16M`).
    pub tmpfs: Vec<String>,
    /// Compose networks; empty: the project's default network.
    pub networks: Vec<String>,
    /// Extra host names of the container on each of its networks.
    pub aliases: Vec<String>,
    /// Resource limits of the process (`nofile` → `"65536"` or `"soft:hard"`, as `docker run --ulimit`).
    pub ulimits: BTreeMap<String, String>,
    /// `no-new-privileges`, `seccomp=…`, `apparmor=…`.
    pub security_opt: Vec<String>,
    /// GPUs reserved for the container: `all` or a count (NVIDIA devices).
    pub gpus: Option<String>,
    /// Replaces the image's entrypoint.
    pub entrypoint: Vec<String>,
    /// `user[:group]` the container runs as.
    pub user: Option<String>,
    /// Secrets mounted at `/run/secrets/<name>` without an environment variable naming them.
    pub secrets: Vec<String>,
    /// Compose profiles; a service with profiles starts only when one is active.
    pub profiles: Vec<String>,
    /// Files of environment variables read by Compose (relative to the project root).
    pub env_files: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub tty: bool,
    pub stdin_open: bool,
    pub read_only: bool,
}

/// What a container without extras reads.
static NO_EXTRAS: ContainerExtras = ContainerExtras {
    ports: Vec::new(),
    volumes: Vec::new(),
    tmpfs: Vec::new(),
    networks: Vec::new(),
    aliases: Vec::new(),
    ulimits: BTreeMap::new(),
    security_opt: Vec::new(),
    gpus: None,
    entrypoint: Vec::new(),
    user: None,
    secrets: Vec::new(),
    profiles: Vec::new(),
    env_files: Vec::new(),
    labels: BTreeMap::new(),
    tty: false,
    stdin_open: false,
    read_only: false,
};

impl ContainerOptions {
    /// The settings fewer services set (all empty when none is).
    pub fn extras(&self) -> &ContainerExtras {
        self.extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    /// The same, to set one.
    pub fn extras_mut(&mut self) -> &mut ContainerExtras {
        self.extras.get_or_insert_with(Box::default)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContainerLimits {
    pub cpus: Option<f64>,
    pub memory_bytes: Option<u64>,
}

impl Service {
    pub fn config(&self, env: Env) -> &ServiceConfig {
        let [dev, prod, test] = &self.configs;
        match env {
            Env::Dev => dev,
            Env::Prod => prod,
            Env::Test => test,
        }
    }

    /// Whether Compose can check the service's health: a command health check always; for
    /// `http`, a built image carries its runtime's `probe` (a runtime kind may define none); a
    /// prebuilt image is asked with `wget` or `curl`.
    pub fn has_health_probe(&self) -> bool {
        if self.container.health_check.is_some() {
            return true;
        }
        self.health.is_some()
            && match &self.build {
                Some(build) => build.runtime.runtime.as_ref().is_some_and(|r| !r.probe.is_empty()),
                None => true,
            }
    }
}

/// The Compose test file runs a service's tests in a container named `<service>-test`
/// (the `compose_test` step calls it by that name).
pub const TEST_RUNNER_SUFFIX: &str = "-test";

/// The fields an overlay (`dev { }`, `prod { }`, `test { }`) may change.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    /// Empty when the image's own command applies.
    pub command: Vec<String>,
    /// Shared between environments until an overlay changes it (`Arc::make_mut`): a large
    /// project holds one map per service, not one per service and environment.
    pub env: Arc<EnvMap>,
    /// Bind mounts `./host:/container` (Compose only).
    pub mounts: Vec<String>,
    /// The published host port.
    pub publish: Option<u16>,
    pub replicas: u32,
}

/// Environment variables by name, in name order. A sorted vector, not a `BTreeMap`: a service
/// has a handful of variables, and a `BTreeMap` leaf holds room for eleven (about 800 bytes per
/// service for three variables, against 216).
pub type EnvMap = litemap::LiteMap<Text, EnvValue>;

#[derive(Clone, Debug, PartialEq)]
pub enum EnvValue {
    Text(Text),
    /// A secret: Compose mounts it as a file, Cloud Run reads it from Secret Manager.
    Secret(Text),
    /// A store's connection URL (rendered for the Compose network).
    StoreUrl {
        store: Text,
        url: Text,
    },
}

#[derive(Clone, Debug)]
pub struct Build {
    pub runtime: Arc<KindDef>,
    /// The build context, relative to the project root, without a trailing `/`.
    pub context: String,
    /// Field values after defaults (`version`, `copy`, `system_packages`, …).
    pub fields: BTreeMap<String, Value>,
}

impl Build {
    /// Whether the context holds its own Dockerfile (a runtime kind without a template, such
    /// as `dockerfile`): sight then writes no Dockerfile and Compose builds the user's.
    pub fn own_dockerfile(&self) -> bool {
        self.runtime.runtime.as_ref().is_none_or(|r| r.template.is_empty())
    }

    /// The fields as a template context, plus `service` and `port` (when declared). A list or
    /// map field that is absent is empty, so `{{#each}}` over it works in strict mode; an
    /// absent scalar stays absent (`{{#if run}}`), so a template that uses it unguarded fails.
    pub fn template_context(&self, service: &str, port: Option<u16>) -> serde_json::Map<String, serde_json::Value> {
        use crate::stdlib::FieldType;
        let mut context: serde_json::Map<String, serde_json::Value> =
            self.fields.iter().map(|(name, value)| (name.clone(), value.to_json())).collect();
        for (name, def) in &self.runtime.fields {
            let empty = match def.ty {
                FieldType::StringList => serde_json::Value::Array(Vec::new()),
                FieldType::StringMap => serde_json::Value::Object(serde_json::Map::new()),
                _ => continue,
            };
            context.entry(name.clone()).or_insert(empty);
        }
        context.insert("service".into(), service.into());
        if let Some(port) = port {
            context.insert("port".into(), port.into());
        }
        context
    }
}

/// `configs = ["./proxy/nginx.conf:/etc/nginx/conf.d/default.conf"]`: a file of the project
/// mounted read-only into the container.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigFile {
    /// Relative to the project root, as written (`./proxy/nginx.conf`).
    pub source: String,
    /// The absolute path in the container.
    pub target: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpHealth {
    pub path: String,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub start_period_ms: u64,
    pub retries: u32,
}

#[derive(Clone, Debug)]
pub struct Deploy {
    pub target: Arc<KindDef>,
    pub memory_bytes: u64,
    pub cpu: f64,
    pub concurrency: u32,
    pub min_instances: u32,
    pub max_instances: u32,
    pub timeout_ms: u64,
    pub service_account: Option<String>,
    pub ingress: String,
    pub public: bool,
    /// Production values of environment variables (override the Compose values).
    pub env: BTreeMap<String, String>,
    /// Cloud SQL instances the service connects to (`PROJECT:REGION:INSTANCE`).
    pub cloudsql_instances: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dependency {
    pub target: String,
    pub target_is_store: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub name: String,
    pub kind: Arc<KindDef>,
    /// `projects/<p>/notificationChannels/<id>`.
    pub id: String,
    pub fields: BTreeMap<String, Value>,
}

#[derive(Clone, Debug)]
pub enum Trigger {
    /// A repository trigger on pushes to a branch: `$SHORT_SHA` is set.
    Push { branch: String },
    /// A repository trigger on tags: `$SHORT_SHA` and `$TAG_NAME` are set.
    Tag { pattern: String },
    /// `gcloud builds submit`: only `$BUILD_ID` identifies the build.
    Manual,
}

impl Trigger {
    pub fn from_repository(&self) -> bool {
        !matches!(self, Trigger::Manual)
    }
}

#[derive(Clone, Debug)]
pub struct Pipeline {
    pub name: String,
    pub trigger: Trigger,
    /// A Cloud Build machine type, if not the default.
    pub machine: Option<String>,
    pub timeout_ms: u64,
    /// In an order where every step comes after the steps it waits for (then by declaration).
    pub steps: Vec<Step>,
    pub notify: Vec<String>,
    /// User substitutions `_NAME` → default value.
    pub substitutions: BTreeMap<String, String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub name: String,
    pub kind: Arc<KindDef>,
    pub role: StepRole,
    /// The service the step acts on.
    pub service: String,
    /// Parameters other than the service, by name.
    pub params: BTreeMap<String, Value>,
    /// The steps this one waits for: declared (`after`) and implied (build before run, push
    /// before deploy, deploy before smoke). Never empty except for roots.
    pub wait_for: Vec<String>,
    pub env: EnvMap,
    pub timeout_ms: Option<u64>,
    /// `on_failure <this step> = rollback(svc)`: the action that runs if this step fails.
    pub on_failure: Option<FailureAction>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FailureAction {
    pub kind: Arc<KindDef>,
    pub service: String,
}

#[derive(Clone, Debug)]
pub struct Alert {
    pub name: String,
    /// The service or store watched.
    pub target: String,
    /// The kind that owns the signal (the deploy target for services, the store kind).
    pub target_kind: Arc<KindDef>,
    pub signal_name: String,
    pub signal: SignalDef,
    pub comparison: Comparison,
    /// The threshold in the metric's own unit (ms for latencies, fractions for utilizations,
    /// counts for `percent_of_field`), ready for `thresholdValue`.
    pub threshold: f64,
    /// The threshold as the user wrote it (`1%`, `5s`), for titles and documentation.
    pub threshold_text: String,
    pub duration_ms: u64,
    pub auto_close_ms: Option<u64>,
    pub severity: String,
    pub channels: Vec<String>,
    /// The rendered filter selecting the target's resource.
    pub resource_filter: String,
    pub group_by: Vec<String>,
    /// The spec file that declares the alert, relative to the project root (its policy's
    /// documentation names it).
    pub file: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Above,
    Below,
}

/// A checked field value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    DurationMs(u64),
    Bytes(u64),
    /// A fraction: `80%` is 0.8.
    Fraction(f64),
    List(Vec<Value>),
    Map(BTreeMap<String, String>),
    /// A secret's name.
    Secret(String),
    /// A service's name.
    Service(String),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Secret(s) | Value::Service(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Float(f) | Value::Fraction(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_strings(&self) -> Vec<String> {
        match self {
            Value::List(items) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }

    /// The value as template text (`"16"`, `100`, `["a","b"]`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Str(s) | Value::Secret(s) | Value::Service(s) => J::String(s.clone()),
            Value::Int(n) => J::from(*n),
            Value::Float(f) | Value::Fraction(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Bool(b) => J::Bool(*b),
            Value::DurationMs(ms) => J::String(crate::units::duration_compact(*ms)),
            Value::Bytes(b) => J::String(crate::units::size_compact(*b)),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), J::String(v.clone()))).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model holds a boxed `Service` per service for as long as it lives; the allocator
    /// rounds 513 to 640 bytes up, so a field more inline costs a large project a quarter more.
    #[test]
    fn a_service_takes_at_most_512_bytes() {
        let size = std::mem::size_of::<Service>();
        assert!(size <= 512, "a Service takes {size} bytes: box what few services set (see ContainerExtras)");
    }
}
