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

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::emit::{join, Artifact, InternalError};
use crate::model::{Deploy, Env, EnvValue, Gcp, HttpHealth, Model, Service};

/// The tag of the image in a committed service file; the deploy replaces it.
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
        let mut header = format!(
            "{}# Deploy: replace the image tag `{IMAGE_TAG_PLACEHOLDER}` with the pushed tag, then run\n\
             #   gcloud run services replace {path} --project={} --region={region}\n",
            crate::emit::header::header(model, "#"),
            model.project.gcp.project,
        );
        if deploy.public {
            // Invoker access is IAM, not part of the service resource.
            header.push_str(&format!(
                "# Public: gcloud run services add-iam-policy-binding {} --region={region} --member=allUsers --role=roles/run.invoker\n",
                service.name
            ));
        }
        header.push('\n');
        let value = knative_service(model, service, deploy)?;
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    http_get: HttpGetAction,
    timeout_seconds: u64,
    period_seconds: u64,
    failure_threshold: u32,
}

#[derive(Serialize)]
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

fn knative_service(model: &Model, service: &Service, deploy: &Deploy) -> Result<KnativeService, InternalError> {
    let gcp = &model.project.gcp;
    let prod = service.config(Env::Prod);
    // A prebuilt image runs as declared, with the spec's command; a built one is this
    // project's image, whose Dockerfile already has the production command.
    let (image, args) = match (&service.build, &service.image) {
        (None, Some(image)) => (image.clone(), prod.command.clone()),
        _ => (format!("{}:{IMAGE_TAG_PLACEHOLDER}", image_repository(gcp, &service.name)), Vec::new()),
    };
    let port = container_port(service);
    let mut template_annotations = BTreeMap::from([
        ("autoscaling.knative.dev/minScale", deploy.min_instances.to_string()),
        ("autoscaling.knative.dev/maxScale", deploy.max_instances.to_string()),
    ]);
    if !deploy.cloudsql_instances.is_empty() {
        template_annotations.insert("run.googleapis.com/cloudsql-instances", deploy.cloudsql_instances.join(","));
    }
    Ok(KnativeService {
        api_version: "serving.knative.dev/v1",
        kind: "Service",
        metadata: ObjectMeta {
            name: service.name.clone(),
            labels: BTreeMap::from([
                ("cloud.googleapis.com/location", gcp.region.clone()),
                ("managed_by", "sight".to_string()),
            ]),
            annotations: BTreeMap::from([("run.googleapis.com/ingress", deploy.ingress.clone())]),
        },
        spec: ServiceSpec {
            template: RevisionTemplate {
                metadata: TemplateMeta { annotations: template_annotations },
                spec: RevisionSpec {
                    container_concurrency: deploy.concurrency,
                    timeout_seconds: whole_seconds(deploy.timeout_ms),
                    service_account_name: deploy.service_account.clone(),
                    containers: vec![Container {
                        image,
                        args,
                        ports: port
                            .map(|container_port| ContainerPort { name: "http1", container_port })
                            .into_iter()
                            .collect(),
                        env: environment(model, service, deploy)?,
                        resources: Resources {
                            limits: BTreeMap::from([
                                ("cpu", cpu_quantity(deploy.cpu)),
                                ("memory", crate::units::size_compact(deploy.memory_bytes)),
                            ]),
                        },
                        startup_probe: service.health.as_ref().map(|h| startup_probe(h, port)),
                        liveness_probe: service.health.as_ref().map(|h| liveness_probe(h, port)),
                    }],
                },
            },
            traffic: vec![TrafficTarget { latest_revision: true, percent: 100 }],
        },
    })
}

/// The port the production container listens on: fixed by the runtime (the static
/// front end's nginx listens on 8080 whatever the dev server used), else the declared one.
fn container_port(service: &Service) -> Option<u16> {
    service.build.as_ref().and_then(|b| b.runtime.runtime.as_ref()).and_then(|r| r.fixed_port).or(service.port)
}

/// The prod environment with `deploy { env { … } }` on top, by name.
fn environment(model: &Model, service: &Service, deploy: &Deploy) -> Result<Vec<EnvVar>, InternalError> {
    let prod = &service.config(Env::Prod).env;
    let names: BTreeSet<&String> = prod.keys().chain(deploy.env.keys()).collect();
    let mut env = Vec::new();
    for name in names {
        let plain = |value: &str| EnvVar { name: name.clone(), value: Some(value.to_string()), value_from: None };
        let var = match (deploy.env.get(name), prod.get(name)) {
            (Some(value), _) => plain(value),
            (None, Some(EnvValue::Text(value))) => plain(value),
            // The checker rejects this (S0183); it gets here only if the user allowed the
            // lint, and then gets exactly what was written.
            (None, Some(EnvValue::StoreUrl { url, .. })) => plain(url),
            (None, Some(EnvValue::Secret(secret))) => {
                let secret = model.secrets.get(secret).ok_or_else(|| {
                    InternalError(format!("`{name}` of `{}` reads the unknown secret `{secret}`", service.name))
                })?;
                EnvVar {
                    name: name.clone(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        secret_key_ref: SecretKeySelector {
                            name: secret.secret_id.clone(),
                            key: secret.version.clone(),
                        },
                    }),
                }
            }
            (None, None) => continue,
        };
        env.push(var);
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

    #[test]
    fn output_is_deterministic() {
        let first = artifacts();
        assert_eq!(first, artifacts());
        assert!(first.iter().all(|a| a.contents.starts_with("# Code generated by sight")));
    }
}
