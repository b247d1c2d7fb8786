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
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeDef {
    /// Template file under `stdlib/templates/`.
    pub template: String,
    /// Base image template over the fields, e.g. `python:{{version}}-slim-bookworm`.
    pub base_image: String,
    /// Extra images the template uses, as templates over the fields.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Entries of the `.dockerignore` beyond the common ones.
    #[serde(default)]
    pub dockerignore: Vec<String>,
    /// The port the production image listens on when it is fixed by the runtime (nginx: 8080).
    pub fixed_port: Option<u16>,
    /// Runtime packages that must never ship in production (compilers).
    #[serde(default)]
    pub build_only_packages: Vec<String>,
    /// The default development command, as a template over the fields and `port`.
    #[serde(default)]
    pub dev_command: Vec<String>,
    /// Whether the health probe is written with the runtime's own interpreter.
    #[serde(default)]
    pub health_probe: String,
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
    /// A bash script (handlebars) run as `bash -c`; see `stdlib/README.md` for its context.
    pub script: String,
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
        Stdlib::from_files(
            crate::embedded::STDLIB_FILES
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string())),
        )
    }

    /// Reads kinds (`kinds/**/*.toml`) and templates (`templates/*.hbs`) from (path, text) pairs.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Stdlib, Vec<StdlibError>> {
        let mut lib = Stdlib::default();
        let mut errors = Vec::new();
        lib.add_files(files, &mut errors);
        if errors.is_empty() {
            Ok(lib)
        } else {
            Err(errors)
        }
    }

    /// Adds or replaces kinds and templates; later files win.
    pub fn add_files(
        &mut self,
        files: impl IntoIterator<Item = (String, String)>,
        errors: &mut Vec<StdlibError>,
    ) {
        for (path, text) in files {
            if path.ends_with(".toml") && (path.starts_with("kinds/") || path.contains("/kinds/")) {
                match toml::from_str::<KindDef>(&text) {
                    Ok(mut kind) => {
                        if let Some(message) = kind.consistency_error() {
                            errors.push(StdlibError { path, message });
                            continue;
                        }
                        kind.source = path;
                        self.kinds.insert(kind.name.clone(), Arc::new(kind));
                    }
                    Err(e) => errors.push(StdlibError {
                        path,
                        message: e.message().to_string(),
                    }),
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
        let has =
            |present: bool, section: &str, class: KindClass| match (present, self.class == class) {
                (false, true) => Some(format!(
                    "a {} kind needs a [{section}] section",
                    class.describe()
                )),
                (true, false) => Some(format!(
                    "[{section}] is only for {} kinds",
                    class.describe()
                )),
                _ => None,
            };
        has(self.store.is_some(), "store", KindClass::Store)
            .or_else(|| has(self.runtime.is_some(), "runtime", KindClass::Runtime))
            .or_else(|| has(self.step.is_some(), "step", KindClass::Step))
            .or_else(|| has(self.deploy.is_some(), "deploy", KindClass::Deploy))
            .or_else(|| has(self.channel.is_some(), "channel", KindClass::Channel))
    }

    /// The monitored resource of this kind's signals, if it has one.
    pub fn monitored(&self) -> Option<&MonitoredResource> {
        self.store
            .as_ref()
            .and_then(|s| s.monitored.as_ref())
            .or(self.deploy.as_ref().map(|d| &d.monitored))
    }
}
