//! The standard library is data: kinds (stores, runtimes, deploy targets, channels, pipeline
//! steps), their fields, defaults, alert signals and templates, read from `stdlib/` files.
//!
//! The files are embedded in the binary; a project may add or override kinds with its own
//! `stdlib/` folder (`sight.toml`: `stdlib = "dir"`). Adding a kind never needs Rust code.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

/// What a kind is for; decides where it may be used (`database x : postgres`, `build : python`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KindClass {
    Store,
    Runtime,
    Deploy,
    Channel,
    Step,
}

impl KindClass {
    pub fn describe(self) -> &'static str {
        match self {
            KindClass::Store => "data store",
            KindClass::Runtime => "runtime",
            KindClass::Deploy => "deploy target",
            KindClass::Channel => "notification channel",
            KindClass::Step => "pipeline step",
        }
    }
}

/// The type of a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Int,
    /// An integer or a float (`cpu = 2`, `cpu = 0.5`).
    Number,
    Bool,
    Duration,
    Size,
    Percent,
    /// A reference to a `secret` (`secret.name`); never a plain string.
    Secret,
    /// A string or an integer, read as a string (`version = 7`, `version = "5.15"`).
    Version,
    StringList,
    /// A block of `NAME = "value"` pairs.
    StringMap,
    /// A reference to a declared service.
    Service,
}

impl FieldType {
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::Int => "an integer",
            FieldType::Number => "a number",
            FieldType::Bool => "`true` or `false`",
            FieldType::Duration => "a duration such as `30s`",
            FieldType::Size => "a size such as `512Mi`",
            FieldType::Percent => "a percentage such as `80%`",
            FieldType::Secret => "a secret reference such as `secret.db_password`",
            FieldType::Version => "a version such as `\"16\"` or `7`",
            FieldType::StringList => "a list of strings",
            FieldType::StringMap => "a block of `NAME = \"value\"` pairs",
            FieldType::Service => "the name of a service",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub required: bool,
    pub default: Option<toml::Value>,
    pub doc: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// How an alert on a signal is expressed as a Cloud Monitoring condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalForm {
    /// Filtered count over the unfiltered count (a percentage threshold).
    Ratio,
    /// A percentile of a distribution (a duration threshold, converted to the metric's unit).
    Percentile,
    /// A distribution of fractions 0..1 (a percentage threshold, ÷100).
    Utilization,
    /// A gauge summed across the resource, compared with a percentage of a declared field.
    PercentOfField,
    /// A gauge compared with a plain number.
    Gauge,
}

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalDef {
    pub doc: String,
    pub form: SignalForm,
    /// The metric type, e.g. `run.googleapis.com/request_count`.
    pub metric: String,
    /// `GAUGE`, `DELTA` or `CUMULATIVE`.
    pub metric_kind: String,
    /// `INT64`, `DOUBLE` or `DISTRIBUTION`.
    pub value_type: String,
    /// The metric's unit as Cloud Monitoring states it (`ms`, `1`, `10^2.%`).
    pub unit: String,
    /// Extra filter for the numerator of a ratio, e.g. `metric.labels.response_code_class = "5xx"`.
    pub numerator_filter: Option<String>,
    /// For percentiles: 50, 95 or 99.
    pub percentile: Option<u8>,
    /// For `percent_of_field`: the store field that is 100%.
    pub percent_of: Option<String>,
    /// Milliseconds per metric unit for duration thresholds (1 for `ms`).
    pub ms_per_unit: Option<f64>,
    /// How alert titles name the signal (`error rate`, `p95 latency`); its name when absent.
    pub title: Option<String>,
    /// First steps for whoever is paged, one markdown line each, listed in the alert policy's
    /// documentation. Handlebars over `name` (the target), `project`, `region` and, on a
    /// store, `instance` (the Cloud SQL instance).
    #[serde(default)]
    pub runbook: Vec<String>,
}

/// The percentiles Cloud Monitoring can align or reduce to (`ALIGN_PERCENTILE_05`, …).
pub const MONITORING_PERCENTILES: [u8; 4] = [5, 50, 95, 99];

impl SignalDef {
    /// Why Cloud Monitoring could not evaluate this signal as its form says, if it cannot.
    /// Percentile aligners and reducers exist only for distributions, and only for
    /// [`MONITORING_PERCENTILES`]; a threshold on a distribution needs a percentile (FACTS §5).
    pub fn consistency_error(&self) -> Option<String> {
        let distribution = self.value_type == "DISTRIBUTION";
        if !["GAUGE", "DELTA", "CUMULATIVE"].contains(&self.metric_kind.as_str()) {
            return Some(format!("metric_kind `{}` is not GAUGE, DELTA or CUMULATIVE", self.metric_kind));
        }
        if !["INT64", "DOUBLE", "DISTRIBUTION"].contains(&self.value_type.as_str()) {
            return Some(format!("value_type `{}` is not INT64, DOUBLE or DISTRIBUTION", self.value_type));
        }
        if let Some(p) = self.percentile.filter(|p| !MONITORING_PERCENTILES.contains(p)) {
            return Some(format!("percentile {p} is not one Cloud Monitoring computes (5, 50, 95, 99)"));
        }
        match self.form {
            SignalForm::Percentile if !distribution || self.percentile.is_none() => {
                Some("a `percentile` signal needs a DISTRIBUTION metric and a `percentile`".to_string())
            }
            SignalForm::Ratio | SignalForm::PercentOfField | SignalForm::Gauge if distribution => {
                Some(format!("a `{}` signal needs a numeric metric, not a DISTRIBUTION", self.form.name()))
            }
            SignalForm::Ratio if self.numerator_filter.is_none() => {
                Some("a `ratio` signal needs a `numerator_filter`".to_string())
            }
            SignalForm::PercentOfField if self.percent_of.is_none() => {
                Some("a `percent_of_field` signal needs `percent_of`".to_string())
            }
            _ => None,
        }
    }
}

impl SignalForm {
    pub fn name(self) -> &'static str {
        match self {
            SignalForm::Ratio => "ratio",
            SignalForm::Percentile => "percentile",
            SignalForm::Utilization => "utilization",
            SignalForm::PercentOfField => "percent_of_field",
            SignalForm::Gauge => "gauge",
        }
    }
}

/// Where a kind's signals live in Cloud Monitoring.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoredResource {
    /// `cloud_run_revision`, `cloudsql_database`, …
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Filter selecting one target, a handlebars template over `name`, `project`, `region`, `instance`.
    pub filter: String,
    /// The labels a ratio or a sum is grouped by.
    pub group_by: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthDef {
    /// `["CMD", …]` or `["CMD-SHELL", "…"]`, written as the container runs it: a shell
    /// variable is `$VAR`, never `$$VAR` (the Compose emitter doubles every `$`).
    pub test: Vec<String>,
    pub interval: String,
    pub timeout: String,
    pub start_period: String,
    pub retries: u32,
    /// The shortest timeout that works (a JVM-based probe needs seconds to start).
    pub min_timeout: Option<String>,
    pub min_start_period: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlDef {
    /// Handlebars over the store's fields plus `host`, `port` and the call's arguments.
    pub template: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    pub doc: String,
}

/// What a data store kind contributes to Compose.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreDef {
    /// Image template, e.g. `postgres:{{version}}`; a store's `image` field replaces it.
    pub image: String,
    pub port: u16,
    pub data_dir: String,
    /// Environment, handlebars over the fields; `{{password_file}}` is the mounted secret path.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub command: Vec<String>,
    pub health: HealthDef,
    #[serde(default)]
    pub urls: BTreeMap<String, UrlDef>,
    /// Settings renamed in newer versions: old prefix → (new prefix, first version).
    #[serde(default)]
    pub renamed_settings: BTreeMap<String, RenamedSetting>,
    /// How settings from the `settings` field become environment variables.
    pub settings_env: Option<SettingsEnv>,
    /// Where this store runs in production (for alerts), e.g. Cloud SQL.
    pub monitored: Option<MonitoredResource>,
    /// The image's other `VOLUME`s besides `data_dir` (logs, config): the Compose test file
    /// mounts a tmpfs on each, so that no anonymous volume outlives a test run.
    #[serde(default)]
    pub other_volumes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamedSetting {
    pub replacement: String,
    pub since_major: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsEnv {
    pub prefix: String,
}

/// What a runtime kind contributes: the Dockerfile template and its defaults.
///
/// The template's context is every build field (after defaults; an absent list or map field
/// is empty) plus the keys of [`RuntimeDef::COMPUTED_KEYS`] and of `images`; see
/// `stdlib/templates/README.md`. A new runtime kind therefore needs no Rust code.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeDef {
    /// Template file under `stdlib/templates/`. Empty: the build context holds its own
    /// Dockerfile (the `dockerfile` kind), which sight builds but never writes.
    #[serde(default)]
    pub template: String,
    /// Base image template over the fields, e.g. `python:{{version}}-slim-bookworm`.
    #[serde(default)]
    pub base_image: String,
    /// Extra images the template uses, by context key (`runtime_image`), as templates over
    /// the fields.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Entries of the `.dockerignore` beyond the common ones, as templates over the fields.
    #[serde(default)]
    pub dockerignore: Vec<String>,
    /// The port the production image listens on when it is fixed by the runtime (nginx: 8080).
    pub fixed_port: Option<u16>,
    /// The numeric non-root user of the production image.
    #[serde(default = "RuntimeDef::default_uid")]
    pub uid: u32,
    /// Runtime packages that must never ship in production (compilers).
    #[serde(default)]
    pub build_only_packages: Vec<String>,
    /// The production command when the service sets none, as a template over the fields,
    /// `service` and `port`. Empty when the image's command is fixed (nginx).
    #[serde(default)]
    pub command: Vec<String>,
    /// The default development command, as a template over the fields, `service` and `port`.
    #[serde(default)]
    pub dev_command: Vec<String>,
    /// Whether the health probe is written with the runtime's own interpreter.
    #[serde(default)]
    pub health_probe: String,
    /// The HTTP health probe of the production image, as an argv of templates over `url`,
    /// `probe_timeout` (whole seconds) and `probe_timeout_ms`. It must exit 1 on an error
    /// status and exist in the image; the Compose emitter uses it, and it must equal the
    /// template's `HEALTHCHECK` (a compose test compares them). Empty: no Compose health check.
    #[serde(default)]
    pub probe: Vec<String>,
    /// The same probe for the `development` image, when that image lacks `probe`'s tool
    /// (node_static: no busybox `wget` in Node's image). Empty: `probe`.
    #[serde(default)]
    pub dev_probe: Vec<String>,
}

impl RuntimeDef {
    /// Context keys the Dockerfile emitter computes; no field or image may be named so.
    pub const COMPUTED_KEYS: [&'static str; 9] = [
        "header",
        "service",
        "port",
        "production_port",
        "uid",
        "base_image",
        "command_json",
        "dev_command_json",
        "health",
    ];

    fn default_uid() -> u32 {
        10001
    }
}

/// What a pipeline step kind does in Cloud Build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepRole {
    Build,
    Test,
    Run,
    Push,
    Deploy,
    Smoke,
    Rollback,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepParam {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub required: bool,
    pub doc: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub role: StepRole,
    /// Parameters, positional in order, or by name.
    pub params: Vec<StepParam>,
    /// The builder image.
    pub builder: String,
    /// A bash script (handlebars) run as `bash -c`; see `stdlib/kinds/step/README.md` for its
    /// context, environment and positional arguments.
    pub script: String,
    /// The step runs the `<service>-test` runner of `docker-compose.test.yml` with its
    /// `command` parameter: the Compose emitter creates that runner, and its default command
    /// is this step's.
    #[serde(default)]
    pub compose_runner: bool,
    /// Deploy kinds: the script of the `promote-<service>` step that sight adds after the
    /// service's smoke tests (or right after the deploy when none tests it); it moves traffic
    /// to the tagged revision. Same contract as `script`.
    pub promote_script: Option<String>,
    /// Run kinds: how the step reaches the Cloud SQL stores whose URLs its `env` names.
    pub cloud_sql: Option<CloudSqlAccessDef>,
}

impl StepDef {
    /// The variables sight itself passes to the step's script, beside the step's own `env`
    /// (the table of `stdlib/kinds/step/README.md`). The Cloud Build emitter sets no other and
    /// the checker keeps a step's `env` from setting them (S0101). `starts_proxy`: the step's
    /// `env` reads a Cloud SQL store's URL, so a `run` kind with `cloud_sql` starts the proxy.
    pub fn script_variables(&self, starts_proxy: bool) -> &'static [&'static str] {
        match self.role {
            StepRole::Build => &["IMAGE", "CONTEXT", "DEV_IMAGE"],
            StepRole::Push => &["IMAGE"],
            StepRole::Run if starts_proxy && self.cloud_sql.is_some() => &["PROXY_IMAGE", "CLOUDSQL_PROXIES"],
            StepRole::Test if self.compose_runner => &["COMPOSE_FILE", "TEST_SERVICE", "THROWAWAY_SECRETS"],
            StepRole::Run | StepRole::Test => &[],
            StepRole::Deploy => &["SERVICE", "IMAGE", "REGION", "TAG", "PREV_REVISION_FILE"],
            StepRole::Smoke => &["SERVICE", "REGION", "TAG", "MARKER", "PRIVATE"],
            StepRole::Rollback => &["SERVICE", "REGION", "TAG", "PREV_REVISION_FILE"],
        }
    }
}

/// How a pipeline step reaches Cloud SQL from Cloud Build: through the Cloud SQL Auth Proxy
/// (FACTS §6 [cbsql]), started by the step's script when its context has `cloud_sql`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSqlAccessDef {
    /// The proxy image, pinned.
    pub proxy_image: String,
    /// The store field that holds the password secret (`password`).
    pub password_field: String,
    /// By store kind: the variable its client libraries read the password from (postgres:
    /// libpq's `PGPASSWORD`), so that the URL carries none. A kind not listed gets no password.
    #[serde(default)]
    pub password_env: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployDef {
    /// The monitored resource of a deployed service (for alerts).
    pub monitored: MonitoredResource,
}

/// One kind, from one stdlib file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDef {
    pub name: String,
    pub class: KindClass,
    pub doc: String,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldDef>,
    #[serde(default)]
    pub signals: BTreeMap<String, SignalDef>,
    pub store: Option<StoreDef>,
    pub runtime: Option<RuntimeDef>,
    pub step: Option<StepDef>,
    pub deploy: Option<DeployDef>,
    /// Where a channel kind is described for notifiers.
    pub channel: Option<ChannelDef>,
    /// The stdlib file it came from.
    #[serde(skip)]
    pub source: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDef {
    /// Cloud Monitoring notification channel type (`slack`, `email`, `pagerduty`).
    pub monitoring_type: String,
    /// The Cloud Build notifier that carries build failures to this channel, if any.
    pub notifier: Option<String>,
    /// How that notifier's configuration is written (required with `notifier`).
    pub notifier_config: Option<NotifierDef>,
}

/// A Cloud Build notifier configuration (cloud-build-notifiers, `apiVersion:
/// cloud-build-notifiers/v1`), written by the Cloud Build emitter for each pipeline that
/// notifies the channel.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifierDef {
    /// The configuration's `kind`, e.g. `SlackNotifier`.
    pub kind: String,
    /// The channel field (a secret) the notifier delivers with, e.g. `webhook`.
    pub secret_field: String,
    /// The key under `spec.notification.delivery` that names that secret, e.g. `webhookUrl`.
    pub delivery: String,
    /// The message template under `stdlib/templates/` (handlebars over `pipeline`, `project`
    /// and `tag`, producing the notifier's own template; its Go actions are written `\{{…}}`).
    /// Its file extension is the written template's.
    pub template: Option<String>,
}

/// The loaded standard library.
#[derive(Clone, Debug, Default)]
pub struct Stdlib {
    pub kinds: BTreeMap<String, Arc<KindDef>>,
    pub templates: BTreeMap<String, String>,
}

/// A stdlib file that could not be read: its path and why.
#[derive(Clone, Debug, PartialEq)]
pub struct StdlibError {
    pub path: String,
    pub message: String,
}

impl Stdlib {
    /// The embedded standard library.
    pub fn builtin() -> Result<Stdlib, Vec<StdlibError>> {
        // Read once per process: every later compile (an editor's, a fuzzer's) gets a copy.
        static BUILTIN: std::sync::OnceLock<Result<Stdlib, Vec<StdlibError>>> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(Stdlib::from_embedded).clone()
    }

    /// The kinds from their JSON form (build.rs converts `stdlib/kinds/**/*.toml`), the
    /// templates as written.
    fn from_embedded() -> Result<Stdlib, Vec<StdlibError>> {
        let mut lib = Stdlib::default();
        let mut errors = Vec::new();
        for (path, json) in crate::embedded::STDLIB_KINDS_JSON {
            match serde_json::from_str::<KindDef>(json) {
                Ok(kind) => lib.add_kind(path.to_string(), kind, &mut errors),
                Err(e) => errors.push(StdlibError { path: path.to_string(), message: e.to_string() }),
            }
        }
        let templates = crate::embedded::STDLIB_FILES.iter().filter(|(path, _)| path.starts_with("templates/"));
        lib.add_files(templates.map(|(p, t)| (p.to_string(), t.to_string())), &mut errors);
        lib.unless(errors)
    }

    /// Reads kinds (`kinds/**/*.toml`) and templates (`templates/*.hbs`) from (path, text) pairs.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Stdlib, Vec<StdlibError>> {
        let mut lib = Stdlib::default();
        let mut errors = Vec::new();
        lib.add_files(files, &mut errors);
        lib.unless(errors)
    }

    /// This library, or what was wrong with the files it was read from.
    fn unless(self, errors: Vec<StdlibError>) -> Result<Stdlib, Vec<StdlibError>> {
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// Adds or replaces a kind read from `path`, unless it contradicts itself.
    fn add_kind(&mut self, path: String, mut kind: KindDef, errors: &mut Vec<StdlibError>) {
        if let Some(message) = kind.consistency_error() {
            errors.push(StdlibError { path, message });
            return;
        }
        kind.source = path;
        self.kinds.insert(kind.name.clone(), Arc::new(kind));
    }

    /// Adds or replaces kinds and templates; later files win.
    pub fn add_files(&mut self, files: impl IntoIterator<Item = (String, String)>, errors: &mut Vec<StdlibError>) {
        for (path, text) in files {
            if path.ends_with(".toml") && (path.starts_with("kinds/") || path.contains("/kinds/")) {
                match toml::from_str::<KindDef>(&text) {
                    Ok(kind) => self.add_kind(path, kind, errors),
                    Err(e) => errors.push(StdlibError { path, message: e.message().to_string() }),
                }
            } else if let Some(name) = path.strip_prefix("templates/") {
                self.templates.insert(name.to_string(), text);
            }
        }
    }

    pub fn kind(&self, name: &str) -> Option<&Arc<KindDef>> {
        self.kinds.get(name)
    }

    pub fn kinds_of(&self, class: KindClass) -> impl Iterator<Item = &Arc<KindDef>> {
        self.kinds.values().filter(move |k| k.class == class)
    }
}

impl KindDef {
    /// A kind's class section must match its class.
    fn consistency_error(&self) -> Option<String> {
        let has = |present: bool, section: &str, class: KindClass| match (present, self.class == class) {
            (false, true) => Some(format!("a {} kind needs a [{section}] section", class.describe())),
            (true, false) => Some(format!("[{section}] is only for {} kinds", class.describe())),
            _ => None,
        };
        has(self.store.is_some(), "store", KindClass::Store)
            .or_else(|| has(self.runtime.is_some(), "runtime", KindClass::Runtime))
            .or_else(|| has(self.step.is_some(), "step", KindClass::Step))
            .or_else(|| has(self.deploy.is_some(), "deploy", KindClass::Deploy))
            .or_else(|| has(self.channel.is_some(), "channel", KindClass::Channel))
            .or_else(|| {
                self.signals
                    .iter()
                    .find_map(|(name, signal)| signal.consistency_error().map(|e| format!("signal `{name}`: {e}")))
            })
            .or_else(|| self.runtime_name_clash())
            .or_else(|| self.step_section_error())
    }

    /// Sections the Cloud Build emitter needs for a step's role, and a notifier's config.
    fn step_section_error(&self) -> Option<String> {
        if let Some(step) = &self.step {
            if step.role == StepRole::Deploy && step.promote_script.is_none() {
                return Some("a deploy step kind needs a `promote_script`".to_string());
            }
            if step.role != StepRole::Deploy && step.promote_script.is_some() {
                return Some("`promote_script` is only for deploy step kinds".to_string());
            }
        }
        match &self.channel {
            Some(c) if c.notifier.is_some() != c.notifier_config.is_some() => {
                Some("`notifier` and [channel.notifier_config] go together".to_string())
            }
            Some(ChannelDef { notifier_config: Some(n), .. }) if !self.fields.contains_key(&n.secret_field) => {
                Some(format!("the notifier's `secret_field` `{}` is not a field of the kind", n.secret_field))
            }
            _ => None,
        }
    }

    /// A runtime's fields and images share the Dockerfile template's context with the keys
    /// sight computes, so the names must be distinct.
    fn runtime_name_clash(&self) -> Option<String> {
        let runtime = self.runtime.as_ref()?;
        let images = runtime.images.keys();
        if let Some(key) = images.clone().find(|k| self.fields.contains_key(*k)) {
            return Some(format!("`{key}` is both a field and an image"));
        }
        self.fields
            .keys()
            .chain(images)
            .find(|k| RuntimeDef::COMPUTED_KEYS.contains(&k.as_str()))
            .map(|key| format!("`{key}` is computed by sight for the Dockerfile template; rename it"))
    }

    /// The monitored resource of this kind's signals, if it has one.
    pub fn monitored(&self) -> Option<&MonitoredResource> {
        self.store.as_ref().and_then(|s| s.monitored.as_ref()).or(self.deploy.as_ref().map(|d| &d.monitored))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // a failing test panics
mod tests {
    use super::*;

    /// The binary reads the kinds as the JSON build.rs wrote: the same stdlib as reading the
    /// TOML files themselves, field for field.
    #[test]
    fn the_json_kinds_are_the_toml_kinds() {
        let files = crate::embedded::STDLIB_FILES.iter().map(|(p, t)| (p.to_string(), t.to_string()));
        let from_toml = Stdlib::from_files(files).expect("the stdlib's TOML is valid");
        let from_json = Stdlib::from_embedded().expect("the stdlib's JSON is valid");
        assert!(from_toml.kinds.len() >= 20, "{} kinds", from_toml.kinds.len());
        assert_eq!(format!("{:?}", from_json.kinds), format!("{:?}", from_toml.kinds));
        assert_eq!(from_json.templates, from_toml.templates);
    }
}
