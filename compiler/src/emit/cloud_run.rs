//! Cloud Run services: one Knative `serving.knative.dev/v1` `Service` per service deployed to
//! `cloud_run`, at `<dir>/<service>.yaml`, the input of `gcloud run services replace`
//! (FACTS §2, §7 items 14–18).
//!
//! Traps, and how this module avoids them:
//! - Annotation and label values are strings: `minScale: "0"`, never the integer 0, which
//!   the API rejects (item 18). So are `resources.limits` (`cpu: "2"`, `memory: 2Gi`) and
//!   `secretKeyRef.key`, which is the secret's VERSION (pinned by the spec, item 14).
//! - The image is never `latest` (item 14). The committed file cannot name a per-build tag
//!   either, so it carries the sentinel tag [`IMAGE_TAG_PLACEHOLDER`]: whoever applies it
//!   replaces the sentinel with the tag the pipeline pushed (`$SHORT_SHA`, or `$BUILD_ID` for
//!   manual builds), e.g. `sed 's#:set-by-deploy$#:'"$SHORT_SHA"'#'`. Applied unchanged, the
//!   deploy fails (no such image) instead of rolling out an arbitrary build.
//! - `containerPort` is the port the production container listens on: the runtime's fixed
//!   port (nginx: 8080) or the declared `port` (item 16). Cloud Run injects `PORT` itself.
//! - Compose host names (`postgres`, `redis`) do not resolve on Cloud Run (item 17): the
//!   environment is the prod configuration with `deploy { env { … } }` on top, and the
//!   checker (S0183) rejects a store URL that nothing overrides. Cloud SQL is reached through
//!   `run.googleapis.com/cloudsql-instances` and `/cloudsql/…` sockets.
//! - Health: Docker's HEALTHCHECK does not exist on Cloud Run; the spec's `health` becomes a
//!   startup and a liveness probe. Cloud Run requires `timeoutSeconds < periodSeconds`
//!   (run v1 `Probe`), which Compose does not, and a startup period of at most 240s.
//! - `traffic: latestRevision 100`. The release pipeline deploys with `--no-traffic` and
//!   promotes after the smoke test; whoever applies this file moves all traffic at once.
//!
//! One source of truth: [`run_config`] computes the service's production configuration
//! (environment, secrets, Cloud SQL, resources, scaling, identity, ingress, access, probes)
//! once. [`knative_service`] renders it as this file, [`RunConfig::deploy_flags`] as the
//! `gcloud run deploy` flags of the pipeline's deploy step, so the two cannot disagree. The
//! flags replace rather than merge (`--set-env-vars`, `--set-secrets`,
//! `--set-cloudsql-instances` or their `--clear-*`, whole probes), so a setting removed from the
//! spec disappears from production too (FACTS §2 Flags; gcloud 528
//! `command_lib/run/config_changes.py`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::emit::{join, Artifact, InternalError};
use crate::model::{Deploy, Env, EnvValue, Gcp, HttpHealth, Model, Service};
use crate::stdlib::StepRole;

/// The tag of the image in a committed service file; whoever applies the file replaces it.
pub const IMAGE_TAG_PLACEHOLDER: &str = "set-by-deploy";
/// Startup probes run every 5s: with `min_instances = 0` every cold start waits for the
/// first passing probe.
const STARTUP_PERIOD_S: u64 = 5;
/// Cloud Run's ceiling for a liveness probe's period and timeout.
const LIVENESS_MAX_S: u64 = 3600;

pub fn emit(model: &Model, dir: &str) -> Result<Vec<Artifact>, InternalError> {
    let mut artifacts = Vec::new();
    for service in model.services.values() {
        // Only the `cloud_run` deploy target is a Cloud Run service; another target (a
        // project's own kind) has its own emitter or none.
        let Some(deploy) = service.deploy.as_ref().filter(|d| d.target.name == "cloud_run") else {
            continue;
        };
        let path = join(dir, &format!("{}.yaml", service.name));
        let region = &model.project.gcp.region;
        let mut header = crate::emit::header::header(model, "#");
        // The deploy steps apply this same configuration (`RunConfig::deploy_flags`); the file
        // shows it and applies it by hand.
        let deployed_by: Vec<String> = model
            .pipelines
            .values()
            .filter_map(|p| {
                let steps: Vec<&str> = p
                    .steps
                    .iter()
                    .filter(|s| s.role == StepRole::Deploy && s.service == service.name)
                    .map(|s| s.name.as_str())
                    .collect();
                (!steps.is_empty()).then(|| format!("`{}` (step `{}`)", p.name, steps.join("`, `")))
            })
            .collect();
        if !deployed_by.is_empty() {
            header.push_str(&format!(
                "# Pipeline {} applies this configuration on every deploy (`gcloud run deploy` flags).\n",
                deployed_by.join(", ")
            ));
        }
        header.push_str(&format!(
            "# By hand: replace the image tag `{IMAGE_TAG_PLACEHOLDER}` with a pushed tag, then run\n\
             #   gcloud run services replace {path} --project={} --region={region}\n",
            model.project.gcp.project,
        ));
        if deploy.public {
            // Invoker access is IAM, not part of the service resource.
            header.push_str(&format!(
                "# Public: gcloud run services add-iam-policy-binding {} --region={region} --member=allUsers --role=roles/run.invoker\n",
                service.name
            ));
        }
        header.push('\n');
        let config = run_config(model, service, deploy)?;
        let value = knative_service(model, service, &config);
        artifacts.push(Artifact { contents: crate::emit::yaml::document(&header, &value)?, path });
    }
    Ok(artifacts)
}

/// The repository a built service's image is pushed to: `<registry>/<service>`, with the GCP
/// project in between when the registry is a bare host (`gcr.io` → `gcr.io/<project>/api`).
pub fn image_repository(gcp: &Gcp, service: &str) -> String {
    let registry = gcp.registry.trim_end_matches('/');
    if registry.contains('/') {
        format!("{registry}/{service}")
    } else {
        format!("{registry}/{}/{service}", gcp.project)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KnativeService {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: ServiceSpec,
}

#[derive(Serialize)]
struct ObjectMeta {
    name: String,
    labels: BTreeMap<&'static str, String>,
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct ServiceSpec {
    template: RevisionTemplate,
    traffic: Vec<TrafficTarget>,
}

#[derive(Serialize)]
struct RevisionTemplate {
    metadata: TemplateMeta,
    spec: RevisionSpec,
}

#[derive(Serialize)]
struct TemplateMeta {
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RevisionSpec {
    container_concurrency: u32,
    timeout_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account_name: Option<String>,
    containers: Vec<Container>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<ContainerPort>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<EnvVar>,
    resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    startup_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    liveness_probe: Option<Probe>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    /// `http1`: HTTP/1 (and HTTP/2 upgraded by the front end); `h2c` would need end-to-end
    /// HTTP/2 in the container.
    name: &'static str,
    container_port: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_from: Option<EnvVarSource>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvVarSource {
    secret_key_ref: SecretKeySelector,
}

#[derive(Serialize)]
struct SecretKeySelector {
    /// The Secret Manager secret id.
    name: String,
    /// The secret version.
    key: String,
}

#[derive(Serialize)]
struct Resources {
    limits: BTreeMap<&'static str, String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    http_get: HttpGetAction,
    timeout_seconds: u64,
    period_seconds: u64,
    failure_threshold: u32,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct HttpGetAction {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrafficTarget {
    latest_revision: bool,
    percent: u32,
}

/// The label that marks a service as sight's.
const MANAGED_BY: (&str, &str) = ("managed_by", "sight");

/// The production configuration of a service on Cloud Run, as the spec defines it: everything
/// its service file describes except the image (whose tag only the deploy knows).
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    /// The container's arguments: a prebuilt image's command (a built image's Dockerfile has
    /// its own). Empty: the image's `CMD`.
    pub args: Vec<String>,
    /// The port the production container listens on.
    pub port: Option<u16>,
    /// By name.
    pub env: Vec<RunEnv>,
    /// A Kubernetes CPU quantity: `"2"`, `"500m"`.
    pub cpu: String,
    /// `"2Gi"`.
    pub memory: String,
    pub concurrency: u32,
    pub min_instances: u32,
    pub max_instances: u32,
    pub timeout_seconds: u64,
    pub service_account: Option<String>,
    pub ingress: String,
    /// Whether `allUsers` may invoke the service.
    pub public: bool,
    /// `PROJECT:REGION:INSTANCE`.
    pub cloudsql_instances: Vec<String>,
    pub startup_probe: Option<Probe>,
    pub liveness_probe: Option<Probe>,
}

/// One environment variable of the production container.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEnv {
    pub name: String,
    pub value: RunEnvValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RunEnvValue {
    Plain(String),
    /// Read from Secret Manager when an instance starts: the secret id and its pinned version
    /// (FACTS §7 item 14). The value itself never appears in a generated file.
    Secret {
        secret_id: String,
        version: String,
    },
}

/// The production configuration of `service`, deployed as `deploy` describes. Both the
/// service file and the pipeline's deploy step are rendered from it.
pub fn run_config(model: &Model, service: &Service, deploy: &Deploy) -> Result<RunConfig, InternalError> {
    let port = container_port(service);
    Ok(RunConfig {
        // A prebuilt image runs as declared, with the spec's command; a built one is this
        // project's image, whose Dockerfile already has the production command.
        args: match (&service.build, &service.image) {
            (None, Some(_)) => service.config(Env::Prod).command.clone(),
            _ => Vec::new(),
        },
        port,
        env: environment(model, service, deploy)?,
        cpu: cpu_quantity(deploy.cpu),
        memory: crate::units::size_compact(deploy.memory_bytes),
        concurrency: deploy.concurrency,
        min_instances: deploy.min_instances,
        max_instances: deploy.max_instances,
        timeout_seconds: whole_seconds(deploy.timeout_ms),
        service_account: deploy.service_account.clone(),
        ingress: deploy.ingress.clone(),
        public: deploy.public,
        cloudsql_instances: deploy.cloudsql_instances.clone(),
        startup_probe: service.health.as_ref().map(|h| startup_probe(h, port)),
        liveness_probe: service.health.as_ref().map(|h| liveness_probe(h, port)),
    })
}

impl RunConfig {
    /// The `gcloud run deploy` flags that give the new revision, and the service, exactly this
    /// configuration (checked against gcloud 528's `command_lib/run/flags.py` and
    /// `config_changes.py`). Each flag replaces what the service had:
    /// - `--set-env-vars` / `--set-secrets` remove every plain / secret variable they do not
    ///   name, `--clear-env-vars` / `--clear-secrets` all of them; likewise
    ///   `--set-cloudsql-instances` / `--clear-cloudsql-instances`.
    /// - `--startup-probe` / `--liveness-probe` build a whole new probe (so Cloud Run's default
    ///   TCP startup probe goes); an empty value removes the probe.
    /// - `--command=` and `--args=` (empty: the image's own) replace the container's.
    /// - `--[no-]allow-unauthenticated` adds or removes the `allUsers` invoker binding
    ///   (IAM, not part of the service resource; gcloud skips the removal on a new service).
    ///
    /// Not expressible with these flags, so left as they are: a service account removed from
    /// the spec (gcloud sets one only when given), and a variable turned from a secret into a
    /// plain value (gcloud applies plain variables before secrets and refuses the change of
    /// type: "Cannot update environment variable [X] to string literal because it has already
    /// been set with a different type"; the deploy fails before anything changes).
    ///
    /// Every flag is `--name=value`, so no value is ever read as a flag; lists go through
    /// [`gcloud_list`]. The values are plain text: the caller escapes them for its own format.
    pub fn deploy_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut flag = |name: &str, value: &str| flags.push(format!("--{name}={value}"));
        if let Some(port) = self.port {
            flag("port", &port.to_string());
        }
        flag("memory", &self.memory);
        flag("cpu", &self.cpu);
        flag("concurrency", &self.concurrency.to_string());
        flag("min-instances", &self.min_instances.to_string());
        flag("max-instances", &self.max_instances.to_string());
        flag("timeout", &format!("{}s", self.timeout_seconds));
        flag("ingress", &self.ingress);
        if let Some(account) = &self.service_account {
            flag("service-account", account);
        }
        // `--labels` adds to the service's labels (an alias of `--update-labels`): clearing
        // them would also drop the ones Cloud Run sets itself.
        flag("labels", &format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
        let (plain, secrets): (Vec<&RunEnv>, Vec<&RunEnv>) =
            self.env.iter().partition(|e| matches!(e.value, RunEnvValue::Plain(_)));
        let items = |vars: Vec<&RunEnv>| -> Vec<String> {
            vars.into_iter()
                .map(|e| match &e.value {
                    RunEnvValue::Plain(value) => format!("{}={value}", e.name),
                    RunEnvValue::Secret { secret_id, version } => format!("{}={secret_id}:{version}", e.name),
                })
                .collect()
        };
        match items(plain) {
            vars if vars.is_empty() => flags.push("--clear-env-vars".into()),
            vars => flags.push(format!("--set-env-vars={}", gcloud_list(&vars))),
        }
        match items(secrets) {
            vars if vars.is_empty() => flags.push("--clear-secrets".into()),
            vars => flags.push(format!("--set-secrets={}", gcloud_list(&vars))),
        }
        if self.cloudsql_instances.is_empty() {
            flags.push("--clear-cloudsql-instances".into());
        } else {
            flags.push(format!("--set-cloudsql-instances={}", gcloud_list(&self.cloudsql_instances)));
        }
        for (name, probe) in [("startup-probe", &self.startup_probe), ("liveness-probe", &self.liveness_probe)] {
            let value = probe.as_ref().map_or_else(String::new, |p| gcloud_list(&p.settings()));
            flags.push(format!("--{name}={value}"));
        }
        // The file sets no `command` and these `args`: empty values reset what a hand edit set.
        flags.push("--command=".into());
        flags.push(format!("--args={}", gcloud_list(&self.args)));
        flags.push(if self.public { "--allow-unauthenticated" } else { "--no-allow-unauthenticated" }.into());
        flags
    }
}

impl Probe {
    /// The probe as `--startup-probe` / `--liveness-probe` keys (the Run v1 `Probe` field
    /// names); a missing port means the container port, as in the service file.
    fn settings(&self) -> Vec<String> {
        let mut settings = vec![format!("httpGet.path={}", self.http_get.path)];
        settings.extend(self.http_get.port.map(|port| format!("httpGet.port={port}")));
        settings.extend([
            format!("timeoutSeconds={}", self.timeout_seconds),
            format!("periodSeconds={}", self.period_seconds),
            format!("failureThreshold={}", self.failure_threshold),
        ]);
        settings
    }
}

/// Delimiters for a gcloud list whose items contain a comma, in order of preference: none is
/// special to gcloud's parser, to Cloud Build's substitutions (`$`) or in a `KEY=VALUE` item.
const LIST_DELIMITERS: &[char] = &['|', ';', '~', '#', '!', '%', '+', '*'];

/// A gcloud list or dictionary flag value (`gcloud topic escaping`): `a,b`, or, when an item
/// contains a comma or the value would start with `^`, `^D^a D b` with a delimiter `D` that
/// occurs in no item (a database URL may hold commas, `@` and `:`, so no fixed delimiter is
/// safe).
pub fn gcloud_list(items: &[String]) -> String {
    let plain = !items.iter().any(|i| i.contains(',')) && !items.first().is_some_and(|i| i.starts_with('^'));
    if plain {
        return items.join(",");
    }
    let unused = |d: &char| !items.iter().any(|i| i.contains(*d));
    // Past the preferred ones, the first unused character from U+00A1 on: items are finite.
    let delimiter = LIST_DELIMITERS
        .iter()
        .copied()
        .find(unused)
        .or_else(|| (0xA1..=u32::from(char::MAX)).filter_map(char::from_u32).find(unused))
        .unwrap_or('|');
    format!("^{delimiter}^{}", items.join(&delimiter.to_string()))
}

fn knative_service(model: &Model, service: &Service, config: &RunConfig) -> KnativeService {
    let gcp = &model.project.gcp;
    let image = match (&service.build, &service.image) {
        (None, Some(image)) => image.clone(),
        _ => format!("{}:{IMAGE_TAG_PLACEHOLDER}", image_repository(gcp, &service.name)),
    };
    let mut template_annotations = BTreeMap::from([
        ("autoscaling.knative.dev/minScale", config.min_instances.to_string()),
        ("autoscaling.knative.dev/maxScale", config.max_instances.to_string()),
    ]);
    if !config.cloudsql_instances.is_empty() {
        template_annotations.insert("run.googleapis.com/cloudsql-instances", config.cloudsql_instances.join(","));
    }
    let env = config
        .env
        .iter()
        .map(|var| match &var.value {
            RunEnvValue::Plain(value) => {
                EnvVar { name: var.name.clone(), value: Some(value.clone()), value_from: None }
            }
            RunEnvValue::Secret { secret_id, version } => EnvVar {
                name: var.name.clone(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: SecretKeySelector { name: secret_id.clone(), key: version.clone() },
                }),
            },
        })
        .collect();
    KnativeService {
        api_version: "serving.knative.dev/v1",
        kind: "Service",
        metadata: ObjectMeta {
            name: service.name.clone(),
            labels: BTreeMap::from([
                ("cloud.googleapis.com/location", gcp.region.clone()),
                (MANAGED_BY.0, MANAGED_BY.1.to_string()),
            ]),
            annotations: BTreeMap::from([("run.googleapis.com/ingress", config.ingress.clone())]),
        },
        spec: ServiceSpec {
            template: RevisionTemplate {
                metadata: TemplateMeta { annotations: template_annotations },
                spec: RevisionSpec {
                    container_concurrency: config.concurrency,
                    timeout_seconds: config.timeout_seconds,
                    service_account_name: config.service_account.clone(),
                    containers: vec![Container {
                        image,
                        args: config.args.clone(),
                        ports: config
                            .port
                            .map(|container_port| ContainerPort { name: "http1", container_port })
                            .into_iter()
                            .collect(),
                        env,
                        resources: Resources {
                            limits: BTreeMap::from([("cpu", config.cpu.clone()), ("memory", config.memory.clone())]),
                        },
                        startup_probe: config.startup_probe.clone(),
                        liveness_probe: config.liveness_probe.clone(),
                    }],
                },
            },
            traffic: vec![TrafficTarget { latest_revision: true, percent: 100 }],
        },
    }
}

/// The port the production container listens on: fixed by the runtime (the static
/// front end's nginx listens on 8080 whatever the dev server used), else the declared one.
fn container_port(service: &Service) -> Option<u16> {
    service.build.as_ref().and_then(|b| b.runtime.runtime.as_ref()).and_then(|r| r.fixed_port).or(service.port)
}

/// The prod environment with `deploy { env { … } }` on top, by name.
fn environment(model: &Model, service: &Service, deploy: &Deploy) -> Result<Vec<RunEnv>, InternalError> {
    let prod = &service.config(Env::Prod).env;
    let names: BTreeSet<&str> = prod.keys().map(|k| k.as_str()).chain(deploy.env.keys().map(String::as_str)).collect();
    let mut env = Vec::new();
    for name in names {
        let plain = |value: &str| RunEnvValue::Plain(value.to_string());
        let value = match (deploy.env.get(name), prod.get(name)) {
            (Some(value), _) => plain(value),
            (None, Some(EnvValue::Text(value))) => plain(value),
            // The checker rejects this (S0183); it gets here only if the user allowed the
            // lint, and then gets exactly what was written.
            (None, Some(EnvValue::StoreUrl { url, .. })) => plain(url),
            (None, Some(EnvValue::Secret(secret))) => {
                let secret = model.secrets.get(secret.as_str()).ok_or_else(|| {
                    InternalError(format!("`{name}` of `{}` reads the unknown secret `{secret}`", service.name))
                })?;
                RunEnvValue::Secret { secret_id: secret.secret_id.clone(), version: secret.version.clone() }
            }
            (None, None) => continue,
        };
        env.push(RunEnv { name: name.to_string(), value });
    }
    Ok(env)
}

/// `2` → `"2"`, `0.5` → `"500m"`: whole CPUs as a count, fractions in millicores.
fn cpu_quantity(cpu: f64) -> String {
    if cpu.fract() == 0.0 {
        crate::units::number(cpu)
    } else {
        format!("{}m", (cpu * 1000.0).round() as u64)
    }
}

/// Whole seconds, rounded up, at least 1.
fn whole_seconds(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

/// Every 5s from the start, for the declared start period plus the usual retries. Its
/// timeout stays below the period, as Cloud Run requires. The grace period is at least one
/// interval: Docker, which the spec's health check also serves, runs its first check only
/// after one interval, so `start_period = 0s` (the default) must not leave a cold start just
/// `retries` × 5s.
fn startup_probe(health: &HttpHealth, port: Option<u16>) -> Probe {
    let grace = health.start_period_ms.max(health.interval_ms).div_ceil(STARTUP_PERIOD_S * 1000);
    Probe {
        http_get: HttpGetAction { path: health.path.clone(), port },
        timeout_seconds: whole_seconds(health.timeout_ms).min(STARTUP_PERIOD_S - 1),
        period_seconds: STARTUP_PERIOD_S,
        failure_threshold: u32::try_from(grace).unwrap_or(u32::MAX).saturating_add(health.retries).max(1),
    }
}

/// The spec's interval, timeout and retries. A timeout that reaches the interval (valid in
/// Docker) lengthens the period rather than shortening the timeout: a slower check is safer
/// than a stricter one.
fn liveness_probe(health: &HttpHealth, port: Option<u16>) -> Probe {
    let timeout = whole_seconds(health.timeout_ms).min(LIVENESS_MAX_S - 1);
    Probe {
        http_get: HttpGetAction { path: health.path.clone(), port },
        timeout_seconds: timeout,
        period_seconds: whole_seconds(health.interval_ms).max(timeout + 1).min(LIVENESS_MAX_S),
        failure_threshold: health.retries.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{compile, ProjectInput};
    use serde_yaml::Value as Yaml;

    const SRC: &str = r#"
project demo {
  gcp { project = "demo-prod"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/demo-prod/app" }
}
secret pw { from = secret_manager("db-password", version = 3) }
database db : postgres { user = "demo"  name = "demo_db"  password = secret.pw  instance = "demo-db" }
cache redis : redis { version = 7 }
service api {
  build : python { version = "3.12" }
  command = ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
  port = 8000
  health = http("/health") { interval = 10s  timeout = 10s  start_period = 40s  retries = 3 }
  env {
    DATABASE_URL = db.url(driver = "postgresql+asyncpg")
    DATABASE_PASSWORD = secret.pw
    REDIS_URL = redis.url(db = 0)
    LOG_LEVEL = "info"
  }
  depends_on = [db, redis]
  deploy : cloud_run {
    memory = 2Gi
    cpu = 2
    concurrency = 40
    min_instances = 0
    max_instances = 10
    service_account = "api-runtime@demo-prod.iam.gserviceaccount.com"
    env {
      DATABASE_URL = "postgresql+asyncpg://demo@/demo_db?host=/cloudsql/demo-prod:europe-west1:demo-db"
      REDIS_URL = "redis://10.0.0.3:6379/0"
    }
  }
}
service web {
  build : node_static { version = "20" }
  port = 5173
  health = http("/")
  deploy : cloud_run { cpu = 0.5  concurrency = 1 }
}
service local { image = "nginx:1.27" }
"#;

    static NULL: Yaml = Yaml::Null;

    /// The value at `path` (mapping keys, or sequence indices written as numbers); Null when
    /// absent.
    fn at<'a>(value: &'a Yaml, path: &[&str]) -> &'a Yaml {
        path.iter().fold(value, |v, key| {
            match key.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(*key),
            }
            .unwrap_or(&NULL)
        })
    }

    fn compiled(src: &str) -> crate::project::Compiled {
        compile(&ProjectInput {
            manifest: String::new(),
            sources: vec![("a.sight".into(), src.into())],
            ..Default::default()
        })
    }

    fn artifacts() -> Vec<Artifact> {
        let compiled = compiled(SRC);
        let errors: Vec<&str> =
            compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.as_str()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let result = compiled.model.as_ref().map(|m| emit(m, "deploy/cloud-run"));
        assert!(matches!(result, Some(Ok(_))), "{result:?}");
        result.and_then(Result::ok).unwrap_or_default()
    }

    /// Path → parsed service.
    fn services() -> BTreeMap<String, Yaml> {
        artifacts()
            .into_iter()
            .map(|a| {
                let parsed = serde_yaml::from_str::<Yaml>(&a.contents);
                assert!(parsed.is_ok(), "{parsed:?}");
                (a.path, parsed.unwrap_or_default())
            })
            .collect()
    }

    fn service(name: &str) -> Yaml {
        let path = format!("deploy/cloud-run/{name}.yaml");
        let mut services = services();
        assert!(services.contains_key(&path), "no {path}");
        services.remove(&path).unwrap_or_default()
    }

    fn container(service: &Yaml) -> &Yaml {
        at(service, &["spec", "template", "spec", "containers", "0"])
    }

    #[test]
    fn one_file_per_deployed_service() {
        assert_eq!(services().keys().collect::<Vec<_>>(), ["deploy/cloud-run/api.yaml", "deploy/cloud-run/web.yaml"]);
        let api = service("api");
        assert_eq!(at(&api, &["apiVersion"]), "serving.knative.dev/v1");
        assert_eq!(at(&api, &["kind"]), "Service");
        assert_eq!(at(&api, &["metadata", "name"]), "api");
        assert_eq!(at(&api, &["metadata", "labels", "cloud.googleapis.com/location"]), "europe-west1");
        assert_eq!(at(&api, &["metadata", "annotations", "run.googleapis.com/ingress"]), "all");
        assert_eq!(at(&api, &["spec", "traffic", "0", "percent"]).as_u64(), Some(100));
        assert_eq!(at(&api, &["spec", "traffic", "0", "latestRevision"]).as_bool(), Some(true));
    }

    #[test]
    fn annotation_label_and_limit_values_are_strings() {
        for (path, service) in services() {
            let maps = [
                at(&service, &["metadata", "labels"]),
                at(&service, &["metadata", "annotations"]),
                at(&service, &["spec", "template", "metadata", "annotations"]),
                at(container(&service), &["resources", "limits"]),
            ];
            for map in maps {
                assert!(map.as_mapping().is_some_and(|m| !m.is_empty()), "{path}");
                for (key, value) in map.as_mapping().into_iter().flatten() {
                    assert!(value.is_string(), "{path}: {key:?} = {value:?}");
                }
            }
        }
        let api = service("api");
        let annotations = at(&api, &["spec", "template", "metadata", "annotations"]);
        assert_eq!(at(annotations, &["autoscaling.knative.dev/minScale"]), "0");
        assert_eq!(at(annotations, &["autoscaling.knative.dev/maxScale"]), "10");
        assert_eq!(at(annotations, &["run.googleapis.com/cloudsql-instances"]), "demo-prod:europe-west1:demo-db");
        assert_eq!(at(container(&api), &["resources", "limits", "memory"]), "2Gi");
        assert_eq!(at(container(&api), &["resources", "limits", "cpu"]), "2");
        assert_eq!(at(container(&service("web")), &["resources", "limits", "cpu"]), "500m");
    }

    #[test]
    fn container_port_is_the_production_port() {
        let api = service("api");
        assert_eq!(at(container(&api), &["ports", "0", "containerPort"]).as_u64(), Some(8000));
        assert_eq!(at(container(&api), &["ports", "0", "name"]), "http1");
        // nginx in the static front end's production image listens on 8080, not on the dev
        // server's port.
        assert_eq!(at(container(&service("web")), &["ports", "0", "containerPort"]).as_u64(), Some(8080));
    }

    #[test]
    fn image_is_pinned_by_the_deploy_never_latest() {
        assert_eq!(
            at(container(&service("api")), &["image"]),
            "europe-west1-docker.pkg.dev/demo-prod/app/api:set-by-deploy"
        );
        let gcp = Gcp { project: "p".into(), region: "r".into(), registry: "gcr.io".into() };
        assert_eq!(image_repository(&gcp, "api"), "gcr.io/p/api");
    }

    #[test]
    fn environment_overrides_compose_hosts_and_reads_pinned_secrets() {
        let api = service("api");
        let env: BTreeMap<String, Yaml> = at(container(&api), &["env"])
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|e| (at(e, &["name"]).as_str().unwrap_or_default().to_string(), e.clone()))
            .collect();
        assert_eq!(env.keys().collect::<Vec<_>>(), ["DATABASE_PASSWORD", "DATABASE_URL", "LOG_LEVEL", "REDIS_URL"]);
        let var = |name: &str, path: &[&str]| env.get(name).map_or(&NULL, |e| at(e, path)).clone();
        assert_eq!(var("REDIS_URL", &["value"]), "redis://10.0.0.3:6379/0");
        assert!(var("DATABASE_URL", &["value"])
            .as_str()
            .is_some_and(|v| v.contains("host=/cloudsql/demo-prod:europe-west1:demo-db")));
        assert_eq!(var("LOG_LEVEL", &["value"]), "info");
        assert_eq!(var("DATABASE_PASSWORD", &["valueFrom", "secretKeyRef", "name"]), "db-password");
        assert_eq!(var("DATABASE_PASSWORD", &["valueFrom", "secretKeyRef", "key"]), "3");
        assert!(var("DATABASE_PASSWORD", &["value"]).is_null());
    }

    #[test]
    fn probes_keep_the_timeout_below_the_period() {
        let api = service("api");
        let startup = at(container(&api), &["startupProbe"]);
        let liveness = at(container(&api), &["livenessProbe"]);
        let int = |probe: &Yaml, key: &str| at(probe, &[key]).as_u64();
        assert_eq!(at(startup, &["httpGet", "path"]), "/health");
        assert_eq!(int(at(startup, &["httpGet"]), "port"), Some(8000));
        assert_eq!(int(startup, "periodSeconds"), Some(5));
        assert_eq!(int(startup, "timeoutSeconds"), Some(4));
        assert_eq!(int(startup, "failureThreshold"), Some(40 / 5 + 3));
        // With the default `start_period = 0s`, the grace period is one interval (30s).
        let web = service("web");
        assert_eq!(int(at(container(&web), &["startupProbe"]), "failureThreshold"), Some(30 / 5 + 3));
        assert_eq!(int(at(at(container(&web), &["startupProbe"]), &["httpGet"]), "port"), Some(8080));
        // timeout 10s = interval 10s is fine for Docker, not for Cloud Run.
        assert_eq!(int(liveness, "timeoutSeconds"), Some(10));
        assert_eq!(int(liveness, "periodSeconds"), Some(11));
        assert_eq!(int(liveness, "failureThreshold"), Some(3));
        let spec = at(&api, &["spec", "template", "spec"]);
        assert_eq!(int(spec, "containerConcurrency"), Some(40));
        assert_eq!(int(spec, "timeoutSeconds"), Some(300));
        assert_eq!(at(spec, &["serviceAccountName"]), "api-runtime@demo-prod.iam.gserviceaccount.com");
        assert!(at(spec, &["serviceAccountName"]).is_string());
        assert!(at(&service("web"), &["spec", "template", "spec", "serviceAccountName"]).is_null());
    }

    #[test]
    fn a_compose_host_in_production_is_an_error() {
        let src = SRC.replace("      REDIS_URL = \"redis://10.0.0.3:6379/0\"\n", "");
        let compiled = compiled(&src);
        let codes: Vec<&str> = compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.code).collect();
        assert_eq!(codes, ["S0183"]);
    }

    /// gcloud's list syntax, as `arg_parsers.ArgList`/`ArgDict` split it (`gcloud topic
    /// escaping`): `^D^` sets the delimiter.
    fn gcloud_split(value: &str) -> Vec<String> {
        if let Some((delimiter, rest)) = value.strip_prefix('^').and_then(|v| v.split_once('^')) {
            if !delimiter.is_empty() {
                return rest.split(delimiter).map(str::to_string).collect();
            }
        }
        value.split(',').map(str::to_string).collect()
    }

    #[test]
    fn gcloud_lists_keep_commas_and_carets_inside_items() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(gcloud_list(&items(&["A=1", "B=x:y"])), "A=1,B=x:y");
        let urls = items(&["DSN=postgresql://u@h/db?a=1,b=2", "R=redis://r:6379/0|1"]);
        let value = gcloud_list(&urls);
        assert_eq!(value, "^;^DSN=postgresql://u@h/db?a=1,b=2;R=redis://r:6379/0|1");
        assert_eq!(gcloud_split(&value), urls);
        // A first item starting with `^` would be read as a delimiter.
        let caret = items(&["^x^y", "z"]);
        assert_eq!(gcloud_split(&gcloud_list(&caret)), caret);
        // Every preferred delimiter taken: the first unused character past them.
        let crowded = items(&["A=,|;~#!%+*", "B=2"]);
        let value = gcloud_list(&crowded);
        assert!(value.starts_with("^\u{a1}^"), "{value}");
        assert_eq!(gcloud_split(&value), crowded);
        assert!(!LIST_DELIMITERS.contains(&'$') && !LIST_DELIMITERS.contains(&'^') && !LIST_DELIMITERS.contains(&','));
    }

    fn flags_of(name: &str) -> Vec<String> {
        let compiled = compiled(SRC);
        let model = compiled.model.as_ref().unwrap_or_else(|| panic!("the spec compiles"));
        let service = model.services.get(name).unwrap_or_else(|| panic!("no service {name}"));
        let deploy = service.deploy.as_ref().unwrap_or_else(|| panic!("{name} is not deployed"));
        let config = run_config(model, service, deploy);
        assert!(config.is_ok(), "{config:?}");
        config.map(|c| c.deploy_flags()).unwrap_or_default()
    }

    #[test]
    fn deploy_flags_replace_every_setting_of_the_service_file() {
        let api = flags_of("api");
        assert!(api.iter().all(|f| f.starts_with("--")), "{api:?}");
        for flag in [
            "--port=8000",
            "--memory=2Gi",
            "--cpu=2",
            "--concurrency=40",
            "--min-instances=0",
            "--max-instances=10",
            "--timeout=300s",
            "--ingress=all",
            "--service-account=api-runtime@demo-prod.iam.gserviceaccount.com",
            "--set-secrets=DATABASE_PASSWORD=db-password:3",
            "--set-cloudsql-instances=demo-prod:europe-west1:demo-db",
            "--startup-probe=httpGet.path=/health,httpGet.port=8000,timeoutSeconds=4,periodSeconds=5,failureThreshold=11",
            "--liveness-probe=httpGet.path=/health,httpGet.port=8000,timeoutSeconds=10,periodSeconds=11,failureThreshold=3",
            "--command=",
            "--args=",
            "--no-allow-unauthenticated",
        ] {
            assert!(api.iter().any(|f| f == flag), "{flag} not in {api:?}");
        }
        let env = api.iter().find_map(|f| f.strip_prefix("--set-env-vars=")).map(gcloud_split).unwrap_or_default();
        assert_eq!(
            env,
            [
                "DATABASE_URL=postgresql+asyncpg://demo@/demo_db?host=/cloudsql/demo-prod:europe-west1:demo-db",
                "LOG_LEVEL=info",
                "REDIS_URL=redis://10.0.0.3:6379/0"
            ]
        );
        // Nothing to set is set to nothing: what the service had goes.
        let web = flags_of("web");
        for flag in [
            "--port=8080",
            "--cpu=500m",
            "--clear-env-vars",
            "--clear-secrets",
            "--clear-cloudsql-instances",
            "--startup-probe=httpGet.path=/,httpGet.port=8080,timeoutSeconds=4,periodSeconds=5,failureThreshold=9",
        ] {
            assert!(web.iter().any(|f| f == flag), "{flag} not in {web:?}");
        }
        assert!(!web.iter().any(|f| f.starts_with("--service-account")), "{web:?}");
        let names: BTreeSet<&str> = web.iter().map(|f| f.split('=').next().unwrap_or_default()).collect();
        assert_eq!(names.len(), web.len(), "a flag given twice: {web:?}");
    }

    #[test]
    fn output_is_deterministic() {
        let first = artifacts();
        assert_eq!(first, artifacts());
        assert!(first.iter().all(|a| a.contents.starts_with("# Code generated by sight")));
    }
}
