//! Cloud Build: one build config per pipeline (the API `Build` resource as YAML), at
//! `<dir>/cloudbuild.yaml` when the project has one pipeline, else
//! `<dir>/cloudbuild.<pipeline>.yaml`; plus, for each `notify` channel whose kind has a Cloud
//! Build notifier, that notifier's config and message template at
//! `<dir>/notifiers/<pipeline>-<channel>.yaml` and `.json` (FACTS §1, §2, §6, §7 items 1–13).
//!
//! The traps, and how this module avoids them:
//! - Implicit serialisation: a step without `waitFor` waits for every earlier step. Every step
//!   gets an explicit `waitFor`, `['-']` for roots; the edges are the model's (declared `after`
//!   plus the implied build → use, push → deploy, deploy → smoke) minus those implied
//!   transitively, in file order. Steps keep the model's (topological) order, so every id in a
//!   `waitFor` is defined earlier; ids are the step names (item 5).
//! - Deploy before push: `images:` is pushed only after every step succeeded, so each image is
//!   pushed by an explicit step, which the model orders before the deploy (item 6). `images:`
//!   lists them too, so they appear in the build's results.
//! - No failure hook: nothing runs after a failed step, and there is no on-failure step (item
//!   1). `on_failure smoke = rollback(svc)` therefore lowers to the `/workspace` marker protocol:
//!   the smoke step tolerates exit 1 (`allowExitCodes: [1]`) and leaves a marker file while it
//!   has not passed; `promote-<svc>` (sight adds it after the service's smoke tests) moves
//!   traffic only without a marker; `rollback-<svc>` (sight adds it, waiting on the smoke tests
//!   the handler names) acts only on a marker, then exits 1 so the build fails. Without
//!   `on_failure` a failing smoke test simply fails the build before the promotion. Only files
//!   under `/workspace` carry state between steps (item 2).
//! - Smoke tests on live traffic: deploys use `--no-traffic --tag c-<tag>`, smoke tests request
//!   the tag URL, promotion moves traffic to the tag (item 3). The deploy records the split that
//!   served before it (item 4; see the rollback script for why it does not re-pin it).
//! - Empty `$SHORT_SHA` in manual builds: images are tagged `$SHORT_SHA` only when the pipeline
//!   has a repository trigger, else `$BUILD_ID` (item 9). Cloud Run caps a revision tag plus
//!   the service name at 46 characters, so the scripts use the tag's first 10 characters.
//! - Substitutions: the user's (`substitutions { … }`) plus `_REGION` (the Cloud Run region, the
//!   one value a trigger may want to override), each defined one used and each used one defined;
//!   never `substitutionOption` or `ALLOW_LOOSE` (item 8). Step scripts are stdlib data, plain
//!   bash in which the emitter doubles every `$`, so no script text is ever substituted; per-spec
//!   values reach a script through the step's `env` or its positional arguments (see
//!   `stdlib/kinds/step/README.md`).
//! - Secrets: `availableSecrets.secretManager` (`projects/$PROJECT_ID/secrets/<id>/versions/<v>`)
//!   and the step's `secretEnv`, each declared secret used by a step, never in `env` (item 10).
//!   A secret's env name is the name the step binds it to (`env { NEO4J_PASSWORD = secret.x }`),
//!   so two steps of a pipeline cannot bind one name to two secrets (the checker rejects it).
//! - Shape: camelCase keys only, durations as `"600s"` strings, `options.logging:
//!   CLOUD_LOGGING_ONLY` always (a user service account requires it), `machineType` from the
//!   checked list (items 7, 11, 12).
//! - Notifications are never steps (a last step runs only on success, nothing runs after a
//!   timeout): the build carries the tag `sight-<pipeline>`, and the notifier (a Cloud Run
//!   service fed by the `cloud-builds` Pub/Sub topic) filters on failure statuses and that tag.
//!
//! Choices:
//! - Every step runs its kind's script as `bash -c SCRIPT <id> ARGS…`.
//! - `run` steps run the service's development image (`<registry>/<service>:development`, the
//!   tag the Compose files use), built by the same `docker_build` step: the production image
//!   carries no tests or scripts. Values and secrets enter the container with `--env NAME`,
//!   never on a command line; a step with an `env` joins the `cloudbuild` network.
//! - A `run` step whose `env` names a Cloud SQL store (a store kind monitored as
//!   `cloudsql_database`) starts the Cloud SQL Auth Proxy beside it, answering to the store's
//!   name and port, so the store URL rendered for Compose resolves unchanged; the store's
//!   password reaches the client in the variable its kind's client reads (`PGPASSWORD`),
//!   never in the URL (FACTS §6). The instance is `<project>:<region>:<instance or name>`.
//! - `compose_test` steps run the `<service>-test` runner of the Compose test file with the
//!   step's command, after writing throwaway files for the secrets that file reads.
//! - The deploy applies the whole production configuration of the Cloud Run service file
//!   (`cloud_run::run_config`, the one computation both emitters render): port, resources,
//!   scaling, request timeout, ingress, service account, invoker access, environment (prod
//!   config plus `deploy { env }`), secrets as `NAME=SECRET_ID:VERSION` references (values never
//!   enter the build), Cloud SQL connections and probes. Flags that replace (`--set-*` or
//!   `--clear-*`, whole probes), so a first deploy creates the service fully configured and a
//!   setting removed from the spec disappears (`RunConfig::deploy_flags` lists what gcloud
//!   cannot express). Ingress and invoker access belong to the service, not the revision: they
//!   change with the deploy, before the smoke test; everything else waits for the promotion.
//!   Managing invoker access needs `run.services.setIamPolicy` (`roles/run.admin`) for the
//!   build's service account; without it gcloud only warns and leaves access unchanged.
//! - Smoke tests of a service that does not allow unauthenticated requests send an identity
//!   token for the service's URL (the build's service account needs `run.invoker`).
//! - Notifier template URIs name the bucket `gs://<gcp project>-cloud-build-notifiers/`: the
//!   spec has no field for it; upload both notifier files there.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Map, Value as Json};

use crate::emit::cloud_run::{image_repository, run_config};
use crate::emit::compose::command_words;
use crate::emit::{join, Artifact, InternalError};
use crate::model::{Env, EnvValue, Model, Pipeline, Service, Step, Value, TEST_RUNNER_SUFFIX};
use crate::stdlib::{KindDef, StepDef, StepRole};
use crate::template;

/// The emitter's own substitution: the Cloud Run region.
const REGION_SUBSTITUTION: &str = "_REGION";
/// Cloud Build sets these in every build.
const ALWAYS_BUILT_IN: &[&str] = &["PROJECT_ID", "BUILD_ID", "PROJECT_NUMBER", "LOCATION"];
/// Set by triggers; in a manual build they are "" (FACTS §1 Substitutions, as the checker's
/// S0162 lists them).
const EMPTY_IN_MANUAL_BUILDS: &[&str] = &["SHORT_SHA", "COMMIT_SHA", "BRANCH_NAME", "TAG_NAME", "REPO_NAME"];
/// Set by triggers too.
const OTHER_TRIGGER_BUILT_IN: &[&str] = &[
    "REPO_FULL_NAME",
    "REVISION_ID",
    "TRIGGER_NAME",
    "REF_NAME",
    "TRIGGER_BUILD_CONFIG_PATH",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
];
/// The statuses a notifier reports: a failed release, however it failed.
const FAILURE_STATUSES: &str = "[Build.Status.FAILURE, Build.Status.INTERNAL_ERROR, Build.Status.TIMEOUT]";
const MAX_BUILD_SECONDS: f64 = 86_400.0;

pub fn emit(model: &Model, dir: &str) -> Result<Vec<Artifact>, InternalError> {
    let mut artifacts = Vec::new();
    let single = model.pipelines.len() == 1;
    for pipeline in model.pipelines.values() {
        let name = if single { "cloudbuild.yaml".to_string() } else { format!("cloudbuild.{}.yaml", pipeline.name) };
        let path = join(dir, &name);
        let build = lower(model, pipeline)?;
        let problems = self_check(&build, pipeline.trigger.from_repository());
        if !problems.is_empty() {
            return Err(InternalError(format!(
                "the Cloud Build config of pipeline `{}` breaks its own rules: {}",
                pipeline.name,
                problems.join("; ")
            )));
        }
        let header = format!("{}{}", crate::emit::header::header(model, "#"), usage(pipeline, &path));
        artifacts.push(Artifact { contents: crate::emit::yaml::document(&header, &build)?, path });
        artifacts.extend(notifiers(model, pipeline, dir)?);
    }
    Ok(artifacts)
}

/// How the file is run, as a comment under the header.
fn usage(pipeline: &Pipeline, path: &str) -> String {
    use crate::model::Trigger;
    match &pipeline.trigger {
        Trigger::Push { branch } => {
            format!("# Pipeline `{}`: a Cloud Build trigger on pushes to `{branch}` runs {path}.\n", pipeline.name)
        }
        Trigger::Tag { pattern } => {
            format!("# Pipeline `{}`: a Cloud Build trigger on tags matching `{pattern}` runs {path}.\n", pipeline.name)
        }
        Trigger::Manual => format!("# Pipeline `{}`: gcloud builds submit --config={path} .\n", pipeline.name),
    }
}

// ---------------------------------------------------------------------------------------------
// The Build resource, in the key order of the reference (FACTS §1 Shape).

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct BuildConfig {
    steps: Vec<BuildStep>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    available_secrets: Option<AvailableSecrets>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    substitutions: BTreeMap<String, String>,
    options: BuildOptions,
    timeout: String,
    tags: Vec<String>,
}

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct BuildStep {
    id: String,
    name: String,
    wait_for: Vec<String>,
    entrypoint: &'static str,
    args: Vec<String>,
    /// `KEY=VALUE`, sorted by key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secret_env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allow_exit_codes: Vec<u8>,
}

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct AvailableSecrets {
    secret_manager: Vec<SecretManagerSecret>,
}

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct SecretManagerSecret {
    version_name: String,
    env: String,
}

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct BuildOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    machine_type: Option<String>,
    logging: &'static str,
}

// ---------------------------------------------------------------------------------------------
// Lowering: model steps (plus the promote and rollback steps sight adds) → planned steps →
// build steps.

/// A step before its `waitFor` is known.
struct Planned<'a> {
    id: String,
    builder: &'a str,
    script: &'a str,
    context: Map<String, Json>,
    /// Plain values (Cloud Build substitutes them), by variable name.
    env: BTreeMap<String, String>,
    /// Secrets by the variable name the step reads them from: the sight secret's name.
    secret_env: BTreeMap<String, String>,
    positional: Vec<String>,
    timeout_ms: Option<u64>,
    allow_exit_codes: Vec<u8>,
    deps: Vec<String>,
    /// The image a push step pushes (listed in `images:`).
    pushed_image: Option<String>,
    /// What `set` may set.
    script_variables: &'static [&'static str],
}

impl<'a> Planned<'a> {
    fn new(id: &str, def: &'a StepDef, script: &'a str) -> Self {
        let mut context = Map::new();
        context.insert("step".into(), id.into());
        Planned {
            id: id.to_string(),
            builder: &def.builder,
            script,
            context,
            env: BTreeMap::new(),
            secret_env: BTreeMap::new(),
            positional: Vec::new(),
            timeout_ms: None,
            allow_exit_codes: Vec::new(),
            deps: Vec::new(),
            pushed_image: None,
            script_variables: def.script_variables(true),
        }
    }

    /// Sets a variable the emitter itself passes: one of the kind's `script_variables` (the
    /// checker keeps a step's `env` from setting those), so a clash is a bug in sight.
    fn set(&mut self, name: &str, value: impl Into<String>) -> Result<(), InternalError> {
        if !self.script_variables.contains(&name) {
            return Err(InternalError(format!(
                "step `{}`: `{name}` is missing from its kind's script variables (StepDef::script_variables)",
                self.id
            )));
        }
        if self.env.insert(name.to_string(), value.into()).is_some() || self.secret_env.contains_key(name) {
            return Err(InternalError(format!(
                "step `{}`: `{name}` is set by sight for the step's script; the step's `env` may not set it",
                self.id
            )));
        }
        Ok(())
    }
}

struct Lowering<'a> {
    model: &'a Model,
    pipeline: &'a Pipeline,
    /// `$SHORT_SHA` or `$BUILD_ID`.
    build_tag: &'static str,
}

fn lower(model: &Model, pipeline: &Pipeline) -> Result<BuildConfig, InternalError> {
    let build_tag = if pipeline.trigger.from_repository() { "$SHORT_SHA" } else { "$BUILD_ID" };
    let lowering = Lowering { model, pipeline, build_tag };
    let planned = lowering.plan()?;
    let wait_for = transitive_reduction(&planned.iter().map(|p| (p.id.clone(), p.deps.clone())).collect::<Vec<_>>());

    let mut steps = Vec::new();
    let mut declared: BTreeMap<String, String> = BTreeMap::new();
    let mut images = Vec::new();
    let mut uses_region = false;
    for (step, waits) in planned.iter().zip(wait_for) {
        let script = template::render(step.script, &Json::Object(step.context.clone()))
            .map_err(|e| InternalError(format!("the script of step `{}` does not render: {e}", step.id)))?;
        for (env, secret) in &step.secret_env {
            if let Some(other) = declared.insert(env.clone(), secret.clone()).filter(|o| o != secret) {
                return Err(InternalError(format!(
                    "pipeline `{}` binds `{env}` to the secrets `{other}` and `{secret}`; Cloud Build secret names are build-wide",
                    pipeline.name
                )));
            }
        }
        uses_region |= step.env.values().any(|v| v.contains(&region_reference()));
        images.extend(step.pushed_image.iter().cloned());
        let args = ["-c".to_string(), cloud_build_escape(script.trim_start()), step.id.clone()]
            .into_iter()
            .chain(step.positional.iter().cloned())
            .collect();
        steps.push(BuildStep {
            id: step.id.clone(),
            name: step.builder.to_string(),
            wait_for: waits,
            entrypoint: "bash",
            args,
            env: step.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            secret_env: step.secret_env.keys().cloned().collect(),
            timeout: step.timeout_ms.map(crate::units::duration_seconds),
            allow_exit_codes: step.allow_exit_codes.clone(),
        });
    }

    let mut secret_manager = Vec::new();
    for (env, secret_name) in &declared {
        let secret = model
            .secrets
            .get(secret_name)
            .ok_or_else(|| InternalError(format!("secret `{secret_name}` is used but not declared")))?;
        secret_manager.push(SecretManagerSecret {
            version_name: format!("projects/$PROJECT_ID/secrets/{}/versions/{}", secret.secret_id, secret.version),
            env: env.clone(),
        });
    }
    let mut substitutions = pipeline.substitutions.clone();
    if uses_region {
        // A user substitution of the same name overrides the spec's region on purpose.
        substitutions.entry(REGION_SUBSTITUTION.to_string()).or_insert_with(|| model.project.gcp.region.clone());
    }
    Ok(BuildConfig {
        steps,
        images,
        available_secrets: (!secret_manager.is_empty()).then_some(AvailableSecrets { secret_manager }),
        substitutions,
        options: BuildOptions { machine_type: pipeline.machine.clone(), logging: "CLOUD_LOGGING_ONLY" },
        timeout: crate::units::duration_seconds(pipeline.timeout_ms),
        tags: vec![build_tag_name(pipeline)],
    })
}

/// `${_REGION}`, as the gcloud steps' `REGION` value.
fn region_reference() -> String {
    format!("${{{REGION_SUBSTITUTION}}}")
}

/// The build tag a notifier filters on.
fn build_tag_name(pipeline: &Pipeline) -> String {
    format!("sight-{}", pipeline.name)
}

/// Plain bash → Cloud Build argument text: every `$` is a literal `$` (`$$`).
fn cloud_build_escape(script: &str) -> String {
    script.replace('$', "$$")
}

impl<'a> Lowering<'a> {
    /// Every step in file order: the model's, each followed by the steps sight adds after it.
    fn plan(&self) -> Result<Vec<Planned<'a>>, InternalError> {
        let mut generated = self.generated()?;
        let mut out = Vec::new();
        for step in &self.pipeline.steps {
            out.push(self.model_step(step)?);
            let (now, later): (Vec<_>, Vec<_>) = generated.into_iter().partition(|(anchor, _)| anchor == &step.name);
            out.extend(now.into_iter().map(|(_, p)| p));
            generated = later;
        }
        if let Some((anchor, _)) = generated.first() {
            return Err(InternalError(format!("a generated step is anchored to the unknown step `{anchor}`")));
        }
        Ok(out)
    }

    fn step_def(kind: &'a KindDef) -> Result<&'a StepDef, InternalError> {
        kind.step.as_ref().ok_or_else(|| InternalError(format!("kind `{}` is not a step kind", kind.name)))
    }

    fn service(&self, name: &str) -> Result<&'a Service, InternalError> {
        self.model
            .services
            .get(name)
            .map(|s| &**s)
            .ok_or_else(|| InternalError(format!("service `{name}` is not declared")))
    }

    /// `<registry>/<service>:<build tag>`, or the service's prebuilt image.
    fn image(&self, service: &Service) -> Result<String, InternalError> {
        match (&service.build, &service.image) {
            (Some(_), _) => {
                Ok(format!("{}:{}", image_repository(&self.model.project.gcp, &service.name), self.build_tag))
            }
            (None, Some(image)) => Ok(image.clone()),
            (None, None) => Err(InternalError(format!("service `{}` has neither `build` nor `image`", service.name))),
        }
    }

    /// The development image a `run` step uses (the tag the Compose files use).
    fn dev_image(&self, service: &Service) -> Result<String, InternalError> {
        match service.build {
            Some(_) => Ok(format!("{}:development", image_repository(&self.model.project.gcp, &service.name))),
            None => self.image(service),
        }
    }

    fn revision_tag(&self) -> String {
        format!("c-{}", self.build_tag)
    }

    fn marker(smoke: &str) -> String {
        format!("/workspace/smoke_failed.{smoke}")
    }

    fn prev_revision_file(service: &str) -> String {
        format!("/workspace/prev_revision.{service}")
    }

    fn model_step(&self, step: &'a Step) -> Result<Planned<'a>, InternalError> {
        let def = Self::step_def(&step.kind)?;
        let mut p = Planned::new(&step.name, def, &def.script);
        p.context.insert("service".into(), step.service.clone().into());
        p.deps = step.wait_for.clone();
        p.timeout_ms = step.timeout_ms;
        for (name, value) in &step.env {
            match value {
                EnvValue::Text(text) => p.env.insert(name.to_string(), text.to_string()),
                EnvValue::StoreUrl { url, .. } => p.env.insert(name.to_string(), url.to_string()),
                EnvValue::Secret(secret) => p.secret_env.insert(name.to_string(), secret.to_string()),
            };
        }
        let service = self.service(&step.service)?;
        match def.role {
            StepRole::Build => {
                let build = service.build.as_ref().ok_or_else(|| {
                    InternalError(format!("step `{}` builds `{}`, which has no `build`", step.name, service.name))
                })?;
                let dev_image = self
                    .pipeline
                    .steps
                    .iter()
                    .any(|s| s.service == service.name && matches!(s.role, StepRole::Run | StepRole::Test));
                p.context.insert("dev_image".into(), dev_image.into());
                p.set("IMAGE", self.image(service)?)?;
                p.set("CONTEXT", if build.context.is_empty() { "." } else { build.context.as_str() })?;
                if dev_image {
                    p.set("DEV_IMAGE", self.dev_image(service)?)?;
                }
            }
            StepRole::Push => {
                if service.build.is_none() {
                    return Err(InternalError(format!(
                        "step `{}` pushes `{}`, which sight does not build",
                        step.name, service.name
                    )));
                }
                let image = self.image(service)?;
                p.set("IMAGE", image.clone())?;
                p.pushed_image = Some(image);
            }
            StepRole::Run => self.run_step(step, def, service, &mut p)?,
            StepRole::Test => {
                if def.compose_runner {
                    let compose_dir = self.model.project.outputs.compose.as_deref().unwrap_or(".");
                    p.set("COMPOSE_FILE", join(compose_dir, "docker-compose.test.yml"))?;
                    p.set("TEST_SERVICE", format!("{}{TEST_RUNNER_SUFFIX}", service.name))?;
                    p.set("THROWAWAY_SECRETS", self.test_secret_files().join(" "))?;
                }
                p.positional = command_words(command(step)?);
            }
            StepRole::Deploy => {
                p.set("SERVICE", service.name.clone())?;
                p.set("IMAGE", self.image(service)?)?;
                p.set("REGION", region_reference())?;
                p.set("TAG", self.revision_tag())?;
                p.set("PREV_REVISION_FILE", Self::prev_revision_file(&service.name))?;
                p.positional = self.deploy_flags(step, service)?;
            }
            StepRole::Smoke => {
                p.set("SERVICE", service.name.clone())?;
                p.set("REGION", region_reference())?;
                p.set("TAG", self.revision_tag())?;
                p.set("MARKER", Self::marker(&step.name))?;
                let public = service.deploy.as_ref().is_some_and(|d| d.public);
                p.set("PRIVATE", if public { "false" } else { "true" })?;
                p.positional = step.params.get("paths").map(Value::as_strings).unwrap_or_default();
                if step.on_failure.is_some() {
                    // Exit 1 is the marker protocol's "failed"; any other code fails the build.
                    p.allow_exit_codes = vec![1];
                }
            }
            StepRole::Rollback => {
                // A rollback written as a plain step has no smoke test to act on: it only
                // reports. The rollbacks of `on_failure` handlers are generated.
                self.rollback_env(&mut p, &service.name)?;
            }
        }
        Ok(p)
    }

    fn rollback_env(&self, p: &mut Planned, service: &str) -> Result<(), InternalError> {
        p.set("SERVICE", service)?;
        p.set("REGION", region_reference())?;
        p.set("TAG", self.revision_tag())?;
        p.set("PREV_REVISION_FILE", Self::prev_revision_file(service))
    }

    /// `docker run [--network cloudbuild] [--env NAME]… IMAGE COMMAND…`, and the Cloud SQL
    /// proxies the step's store URLs need.
    fn run_step(&self, step: &Step, def: &StepDef, service: &Service, p: &mut Planned) -> Result<(), InternalError> {
        // The step's own values go into the container; the script's variables do not.
        let mut forwarded: BTreeSet<String> = p.env.keys().chain(p.secret_env.keys()).cloned().collect();
        let mut proxies = Vec::new();
        p.context.insert("cloud_sql".into(), false.into());
        if let Some(access) = &def.cloud_sql {
            for value in step.env.values() {
                let EnvValue::StoreUrl { store, .. } = value else { continue };
                let Some(store) = self.model.stores.get(store.as_str()) else {
                    return Err(InternalError(format!("store `{store}` is not declared")));
                };
                if !store.is_cloud_sql() {
                    continue;
                }
                let gcp = &self.model.project.gcp;
                let entry = format!(
                    "{},{},{}:{}:{}",
                    store.name,
                    store.port,
                    gcp.project,
                    gcp.region,
                    store.cloud_sql_instance()
                );
                if proxies.contains(&entry) {
                    continue;
                }
                proxies.push(entry);
                let password = store.fields.get(&access.password_field).and_then(|v| match v {
                    Value::Secret(s) => Some(s.clone()),
                    _ => None,
                });
                if let (Some(variable), Some(secret)) = (access.password_env.get(&store.kind.name), password) {
                    if step.env.contains_key(variable.as_str()) {
                        continue; // the step binds it itself
                    }
                    if let Some(other) = p.secret_env.insert(variable.clone(), secret.clone()).filter(|o| o != &secret)
                    {
                        return Err(InternalError(format!(
                            "step `{}` reaches two stores whose passwords both need `{variable}` (`{other}`, `{secret}`)",
                            step.name
                        )));
                    }
                    forwarded.insert(variable.clone());
                }
            }
            if !proxies.is_empty() {
                p.context.insert("cloud_sql".into(), true.into());
                p.set("PROXY_IMAGE", access.proxy_image.clone())?;
                p.set("CLOUDSQL_PROXIES", proxies.join(" "))?;
            }
        }
        let mut args = Vec::new();
        if !forwarded.is_empty() || !proxies.is_empty() {
            args.extend(["--network".to_string(), "cloudbuild".to_string()]);
        }
        for name in &forwarded {
            args.extend(["--env".to_string(), name.clone()]);
        }
        args.push(self.dev_image(service)?);
        args.extend(command_words(command(step)?));
        p.positional = args;
        Ok(())
    }

    /// The secret files the Compose test file reads (relative to the project root, which is
    /// the build's `/workspace`): every store's and every service's test secrets.
    fn test_secret_files(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self
            .model
            .stores
            .values()
            .flat_map(|s| s.secrets.iter().map(String::as_str))
            .chain(self.model.services.values().flat_map(|s| {
                s.config(Env::Test).env.values().filter_map(|v| match v {
                    EnvValue::Secret(name) => Some(name.as_str()),
                    _ => None,
                })
            }))
            .collect();
        let files: BTreeSet<String> =
            names.into_iter().filter_map(|n| self.model.secrets.get(n)).map(|s| s.file.clone()).collect();
        files.into_iter().collect()
    }

    /// The `promote-<svc>` and `rollback-<svc>` steps, each with the model step it follows.
    fn generated(&self) -> Result<Vec<(String, Planned<'a>)>, InternalError> {
        let steps = &self.pipeline.steps;
        let position = |name: &str| steps.iter().position(|s| s.name == name).unwrap_or(0);
        let mut out = Vec::new();
        let mut deployed: Vec<&str> = Vec::new();
        for step in steps.iter().filter(|s| s.role == StepRole::Deploy) {
            if !deployed.contains(&step.service.as_str()) {
                deployed.push(&step.service);
            }
        }
        for service in deployed {
            let deploys: Vec<&Step> =
                steps.iter().filter(|s| s.role == StepRole::Deploy && s.service == service).collect();
            let smokes: Vec<&Step> =
                steps.iter().filter(|s| s.role == StepRole::Smoke && s.service == service).collect();
            let gates: Vec<&Step> = if smokes.is_empty() { deploys.clone() } else { smokes.clone() };
            let Some(anchor) = gates.iter().max_by_key(|s| position(&s.name)) else { continue };
            let deploy = deploys.first().ok_or_else(|| InternalError(format!("`{service}` has no deploy step")))?;
            let def = Self::step_def(&deploy.kind)?;
            let promote_script = def.promote_script.as_deref().ok_or_else(|| {
                InternalError(format!("the deploy kind `{}` has no `promote_script`", deploy.kind.name))
            })?;
            let id = format!("promote-{service}");
            let mut p = Planned::new(&id, def, promote_script);
            p.context.insert("service".into(), service.into());
            p.set("SERVICE", service)?;
            p.set("REGION", region_reference())?;
            p.set("TAG", self.revision_tag())?;
            p.positional = smokes.iter().map(|s| Self::marker(&s.name)).collect();
            p.deps = gates.iter().map(|s| s.name.clone()).collect();
            out.push((anchor.name.clone(), p));
        }
        // One rollback per rolled-back service, after every smoke test whose handler names it.
        let mut handled: BTreeMap<&str, Vec<&Step>> = BTreeMap::new();
        for step in steps {
            if let Some(action) = &step.on_failure {
                handled.entry(action.service.as_str()).or_default().push(step);
            }
        }
        for (service, smokes) in handled {
            let Some(first) = smokes.first() else { continue };
            let Some(anchor) = smokes.iter().max_by_key(|s| position(&s.name)) else { continue };
            let kind = first
                .on_failure
                .as_ref()
                .map(|a| &a.kind)
                .ok_or_else(|| InternalError(format!("step `{}` has no failure handler", first.name)))?;
            let def = Self::step_def(kind)?;
            let id = format!("rollback-{service}");
            let mut p = Planned::new(&id, def, &def.script);
            p.context.insert("service".into(), service.into());
            self.rollback_env(&mut p, service)?;
            p.positional = smokes.iter().map(|s| Self::marker(&s.name)).collect();
            p.deps = smokes.iter().map(|s| s.name.clone()).collect();
            // After `promote-<service>` when both follow the same step (the reference's order).
            out.push((anchor.name.clone(), p));
        }
        Ok(out)
    }
}

fn command(step: &Step) -> Result<&str, InternalError> {
    step.params
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| InternalError(format!("step `{}` has no `command`", step.name)))
}

impl Lowering<'_> {
    /// `gcloud run deploy` flags giving the new revision the configuration of the Cloud Run
    /// service file, from the same [`run_config`]. The values are the spec's literals, as in
    /// that file: every `$` is escaped, so Cloud Build substitutes nothing in them.
    fn deploy_flags(&self, step: &Step, service: &Service) -> Result<Vec<String>, InternalError> {
        let deploy = service.deploy.as_ref().ok_or_else(|| {
            InternalError(format!(
                "step `{}` deploys `{}`, which has no `deploy` block (the checker rejects this: S0107)",
                step.name, service.name
            ))
        })?;
        let config = run_config(self.model, service, deploy)?;
        Ok(config.deploy_flags().iter().map(|flag| cloud_build_escape(flag)).collect())
    }
}

/// `waitFor` of each step: its dependencies minus those reachable through another one, in
/// file order; `['-']` (start at once) for a step with none. `steps` is in file order and
/// every dependency names an earlier step.
fn transitive_reduction(steps: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    let position: BTreeMap<&str, usize> = steps.iter().enumerate().map(|(i, (id, _))| (id.as_str(), i)).collect();
    // Ancestors of each step, complete because dependencies come first.
    let mut ancestors: Vec<BTreeSet<usize>> = Vec::new();
    for (_, deps) in steps {
        let mut set = BTreeSet::new();
        for dep in deps {
            if let Some(&j) = position.get(dep.as_str()) {
                set.insert(j);
                set.extend(ancestors.get(j).into_iter().flatten().copied());
            }
        }
        ancestors.push(set);
    }
    steps
        .iter()
        .map(|(_, deps)| {
            let direct: BTreeSet<usize> = deps.iter().filter_map(|d| position.get(d.as_str()).copied()).collect();
            let implied: BTreeSet<usize> =
                direct.iter().flat_map(|&j| ancestors.get(j).into_iter().flatten().copied()).collect();
            let kept: Vec<String> =
                direct.difference(&implied).filter_map(|&j| steps.get(j).map(|(id, _)| id.clone())).collect();
            if kept.is_empty() {
                vec!["-".to_string()]
            } else {
                kept
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Self-check: the invariants of FACTS §7 items 5–12 on the finished value. A failure is a
// sight bug (the checker rejects every user mistake earlier).

fn self_check(build: &BuildConfig, from_repository: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if build.steps.is_empty() {
        problems.push("no steps".to_string());
    }
    // Substitutions: every `$NAME` is a built-in or defined, every defined `_KEY` used.
    let mut texts: Vec<&str> = build.images.iter().map(String::as_str).collect();
    for step in &build.steps {
        texts.push(&step.id);
        texts.push(&step.name);
        texts.extend(step.wait_for.iter().map(String::as_str));
        texts.extend(step.args.iter().map(String::as_str));
        texts.extend(step.env.iter().map(String::as_str));
    }
    for secret in build.available_secrets.iter().flat_map(|a| &a.secret_manager) {
        texts.push(&secret.version_name);
    }
    let mut used = BTreeSet::new();
    for text in texts {
        for name in substitution_refs(text) {
            if name.starts_with('_') {
                if !build.substitutions.contains_key(&name) {
                    problems.push(format!("undefined substitution {name}"));
                }
                used.insert(name);
            } else if EMPTY_IN_MANUAL_BUILDS.contains(&name.as_str()) {
                if !from_repository {
                    problems.push(format!("${name} is empty in a manually submitted build"));
                }
            } else if !ALWAYS_BUILT_IN.contains(&name.as_str()) && !OTHER_TRIGGER_BUILT_IN.contains(&name.as_str()) {
                problems.push(format!("${name} is neither a built-in nor a user substitution (write $${name})"));
            }
        }
    }
    for key in build.substitutions.keys() {
        let well_formed = key.len() > 1
            && key.starts_with('_')
            && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            problems.push(format!("substitution key {key} does not match ^_[A-Z0-9_]+$"));
        }
        if !used.contains(key) {
            problems.push(format!("substitution {key} is defined but unused"));
        }
    }
    // Ids and order.
    let mut ids: Vec<&str> = Vec::new();
    for step in &build.steps {
        if ids.contains(&step.id.as_str()) {
            problems.push(format!("duplicate step id {}", step.id));
        }
        if step.wait_for.is_empty() {
            problems.push(format!("step {} has no waitFor", step.id));
        }
        for wait in &step.wait_for {
            let root = wait == "-" && step.wait_for.len() == 1;
            if !root && !ids.contains(&wait.as_str()) {
                problems.push(format!("step {} waits for {wait}, not an earlier step", step.id));
            }
        }
        ids.push(&step.id);
    }
    // Secrets: secretEnv ⊆ declared ⊆ used, never also in env.
    let declared: Vec<&str> =
        build.available_secrets.iter().flat_map(|a| &a.secret_manager).map(|s| s.env.as_str()).collect();
    let unique: BTreeSet<&str> = declared.iter().copied().collect();
    if unique.len() != declared.len() {
        problems.push("a secret env name is declared twice".to_string());
    }
    let mut secret_used = BTreeSet::new();
    for step in &build.steps {
        let env_keys: Vec<&str> = step.env.iter().filter_map(|e| e.split_once('=').map(|(k, _)| k)).collect();
        for name in &step.secret_env {
            secret_used.insert(name.as_str());
            if !unique.contains(name.as_str()) {
                problems.push(format!("step {}: secretEnv {name} is not declared", step.id));
            }
            if env_keys.contains(&name.as_str()) {
                problems.push(format!("step {}: {name} is both in env and secretEnv", step.id));
            }
        }
    }
    for name in unique.difference(&secret_used) {
        problems.push(format!("declared secret {name} is unused"));
    }
    // Durations: `Ns` strings, step ≤ build ≤ 24 h.
    let build_seconds = seconds(&build.timeout);
    match build_seconds {
        Some(s) if s > 0.0 && s <= MAX_BUILD_SECONDS => {}
        _ => problems.push(format!("build timeout {} is not a duration of at most 24h", build.timeout)),
    }
    for step in &build.steps {
        if let Some(timeout) = &step.timeout {
            match (seconds(timeout), build_seconds) {
                (Some(s), Some(b)) if s > 0.0 && s <= b => {}
                _ => problems.push(format!("step {} timeout {timeout} is not within the build's", step.id)),
            }
        }
    }
    problems
}

/// `"600s"` → 600; `None` unless the text is `^\d+(\.\d+)?s$`.
fn seconds(text: &str) -> Option<f64> {
    let number = text.strip_suffix('s')?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    number.parse().ok()
}

/// `$NAME` and `${NAME}` references, skipping `$$` (a literal `$`).
fn substitution_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = rest.get(at + 1..).unwrap_or("");
        if let Some(next) = after.strip_prefix('$') {
            rest = next;
            continue;
        }
        let body = after.strip_prefix('{').unwrap_or(after);
        let name: String = body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.push(name);
        }
        rest = after;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Notifiers (cloud-build-notifiers `*.yaml.example`): the config decoder is strict, so exactly
// apiVersion, kind, metadata.name, spec.notification.{filter, delivery, template},
// spec.secrets.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotifierConfig {
    api_version: &'static str,
    kind: String,
    metadata: NotifierMetadata,
    spec: NotifierSpec,
}

#[derive(Serialize)]
struct NotifierMetadata {
    name: String,
}

#[derive(Serialize)]
struct NotifierSpec {
    notification: Notification,
    secrets: Vec<NotifierSecret>,
}

#[derive(Serialize)]
struct Notification {
    filter: String,
    delivery: BTreeMap<String, SecretRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<NotifierTemplate>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretRef {
    secret_ref: String,
}

#[derive(Serialize)]
struct NotifierTemplate {
    #[serde(rename = "type")]
    language: &'static str,
    uri: String,
}

#[derive(Serialize)]
struct NotifierSecret {
    name: String,
    value: String,
}

fn notifiers(model: &Model, pipeline: &Pipeline, dir: &str) -> Result<Vec<Artifact>, InternalError> {
    let mut artifacts = Vec::new();
    let gcp = &model.project.gcp;
    for channel_name in &pipeline.notify {
        let channel = model
            .channels
            .get(channel_name)
            .ok_or_else(|| InternalError(format!("channel `{channel_name}` is not declared")))?;
        let Some(def) = channel.kind.channel.as_ref().and_then(|c| c.notifier_config.as_ref()) else {
            continue; // a channel only Cloud Monitoring reaches (the checker warns)
        };
        let secret_name = match channel.fields.get(&def.secret_field) {
            Some(Value::Secret(name)) => name,
            _ => {
                return Err(InternalError(format!(
                    "channel `{channel_name}` has no secret `{}` for its notifier",
                    def.secret_field
                )))
            }
        };
        let secret = model
            .secrets
            .get(secret_name)
            .ok_or_else(|| InternalError(format!("secret `{secret_name}` is not declared")))?;
        let stem = format!("{}-{}", pipeline.name, channel_name);
        let bucket = format!("gs://{}-cloud-build-notifiers", gcp.project);
        let mut template = None;
        if let Some(file) = &def.template {
            let source = model
                .templates
                .get(file)
                .ok_or_else(|| InternalError(format!("the notifier template `{file}` is not in the stdlib")))?;
            let extension = file.trim_end_matches(".hbs").rsplit_once('.').map_or("txt", |(_, e)| e);
            let name = format!("{stem}.{extension}");
            let context = json!({ "pipeline": pipeline.name, "project": gcp.project, "tag": build_tag_name(pipeline) });
            let text = template::render(source, &context)
                .map_err(|e| InternalError(format!("the notifier template `{file}` does not render: {e}")))?;
            let contents = if extension == "json" {
                // Parsed and re-serialized: the file is valid JSON whatever the values were.
                let value: Json = serde_json::from_str(&text)
                    .map_err(|e| InternalError(format!("the notifier template `{file}` is not JSON: {e}")))?;
                serde_json::to_string_pretty(&value).map_err(|e| InternalError(e.to_string()))? + "\n"
            } else {
                text
            };
            template = Some(NotifierTemplate { language: "golang", uri: format!("{bucket}/{name}") });
            artifacts.push(Artifact { path: join(dir, &format!("notifiers/{name}")), contents });
        }
        let config = NotifierConfig {
            api_version: "cloud-build-notifiers/v1",
            kind: def.kind.clone(),
            metadata: NotifierMetadata { name: format!("sight-{stem}").replace('_', "-") },
            spec: NotifierSpec {
                notification: Notification {
                    filter: format!(
                        "build.status in {FAILURE_STATUSES} && \"{}\" in build.tags",
                        build_tag_name(pipeline)
                    ),
                    delivery: BTreeMap::from([(def.delivery.clone(), SecretRef { secret_ref: secret_name.clone() })]),
                    template,
                },
                secrets: vec![NotifierSecret {
                    name: secret_name.clone(),
                    // The notifier reads its config without substitutions: the project is literal.
                    value: format!("projects/{}/secrets/{}/versions/{}", gcp.project, secret.secret_id, secret.version),
                }],
            },
        };
        let path = join(dir, &format!("notifiers/{stem}.yaml"));
        let header = format!(
            "{}# Failures of pipeline `{}` to channel `{channel_name}`: upload this file and its template to\n\
             # {bucket}/ and run the Cloud Build {} notifier with CONFIG_PATH={bucket}/{stem}.yaml.\n",
            crate::emit::header::header(model, "#"),
            pipeline.name,
            def.kind
        );
        artifacts.push(Artifact { contents: crate::emit::yaml::document(&header, &config)?, path });
    }
    Ok(artifacts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::project::{compile, ProjectInput};

    const SRC: &str = r#"
project demo {
  gcp { project = "demo-prod"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/demo-prod/app" }
}
secret pw { from = secret_manager("db-password", version = 3) }
secret hook { from = secret_manager("slack-webhook", version = 2) }
secret token { from = secret_manager("api-token", version = 1) }
database db : postgres { user = "demo"  name = "demo_db"  password = secret.pw  instance = "demo-db" }
service api {
  build : python { version = "3.12" }
  command = ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
  port = 8000
  health = http("/health") { interval = 10s  timeout = 10s  start_period = 40s  retries = 3 }
  env {
    DATABASE_URL = db.url(driver = "postgresql+asyncpg")
    DATABASE_PASSWORD = secret.pw
  }
  depends_on = [db]
  deploy : cloud_run {
    memory = 1Gi
    env { DATABASE_URL = "postgresql+asyncpg://demo@/demo_db?host=/cloudsql/demo-prod:europe-west1:demo-db" }
  }
}
alert api_errors { on = api  when error_rate > 1%  for 5m  notify = oncall }
channel oncall : slack {
  webhook = secret.hook
  id = "projects/demo-prod/notificationChannels/123"
}
"#;

    const RELEASE: &str = r#"
pipeline release {
  trigger = push(branch = "main")
  machine = "E2_HIGHCPU_8"
  timeout = 40m
  step build       = docker_build(api)
  step unit        = run(api, "pytest tests/unit/ -v")
  step integration = compose_test(api, "pytest tests/integration/") { timeout = 10m }
  step migrate     = run(api, "alembic upgrade head") after [unit, integration] {
    env { DATABASE_URL = db.url(driver = "postgresql+psycopg2") }
  }
  step seed        = run(api, "python scripts/seed.py --region $_ZONE") after [unit, integration] {
    env { API_TOKEN = secret.token  MODE = "full" }
  }
  step push        = push(api) after [unit, integration]
  step release     = deploy(api) after [push, migrate, seed]
  step smoke       = smoke(api, ["/health", "/docs"])
  on_failure smoke = rollback(api)
  notify = oncall
  substitutions { _ZONE = "b" }
}
"#;

    const MANUAL: &str = r#"
pipeline hotfix {
  trigger = manual()
  step build   = docker_build(api)
  step unit    = run(api, "pytest")
  step push    = push(api) after [unit]
  step release = deploy(api) after [push]
  step smoke   = smoke(api, ["/health"])
}
"#;

    fn compiled(sources: &[(&str, &str)]) -> crate::project::Compiled {
        compile(&ProjectInput {
            manifest: String::new(),
            sources: sources.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(),
            ..Default::default()
        })
    }

    fn model_of(sources: &[(&str, &str)]) -> Model {
        let compiled = compiled(sources);
        let errors: Vec<String> =
            compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| format!("{d:?}")).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        compiled.model.expect("the spec compiles")
    }

    fn build_of(pipeline_src: &str, name: &str) -> BuildConfig {
        let model = model_of(&[("a.sight", SRC), ("p.sight", pipeline_src)]);
        let build = lower(&model, &model.pipelines[name]).expect("lowers");
        assert_eq!(self_check(&build, model.pipelines[name].trigger.from_repository()), Vec::<String>::new());
        build
    }

    fn step<'b>(build: &'b BuildConfig, id: &str) -> &'b BuildStep {
        build.steps.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no step {id}"))
    }

    fn env_of<'b>(step: &'b BuildStep, key: &str) -> Option<&'b str> {
        step.env.iter().find_map(|e| e.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    }

    #[test]
    fn every_step_waits_explicitly_for_earlier_steps_and_ids_are_unique() {
        for (src, name) in [(RELEASE, "release"), (MANUAL, "hotfix")] {
            let build = build_of(src, name);
            let mut seen: Vec<&str> = Vec::new();
            for s in &build.steps {
                assert!(!s.wait_for.is_empty(), "{} has no waitFor", s.id);
                assert!(!seen.contains(&s.id.as_str()), "duplicate id {}", s.id);
                if s.wait_for != ["-"] {
                    for w in &s.wait_for {
                        assert!(seen.contains(&w.as_str()), "{} waits for {w}, not an earlier step", s.id);
                    }
                }
                seen.push(&s.id);
            }
            assert_eq!(build.steps.first().map(|s| s.wait_for.clone()), Some(vec!["-".to_string()]));
        }
    }

    #[test]
    fn wait_for_drops_edges_implied_transitively() {
        let build = build_of(RELEASE, "release");
        assert_eq!(step(&build, "unit").wait_for, ["build"]);
        // `build` is implied through `unit` for every step after the tests.
        assert_eq!(step(&build, "migrate").wait_for, ["unit", "integration"]);
        assert_eq!(step(&build, "push").wait_for, ["unit", "integration"]);
        assert_eq!(step(&build, "release").wait_for, ["migrate", "seed", "push"]);
        assert_eq!(step(&build, "smoke").wait_for, ["release"]);
        let order: Vec<&str> = build.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            order,
            [
                "build",
                "unit",
                "integration",
                "migrate",
                "seed",
                "push",
                "release",
                "smoke",
                "promote-api",
                "rollback-api"
            ]
        );
    }

    #[test]
    fn rollback_waits_on_the_smoke_test_which_tolerates_exit_1() {
        let build = build_of(RELEASE, "release");
        let smoke = step(&build, "smoke");
        assert_eq!(smoke.allow_exit_codes, [1]);
        let marker = env_of(smoke, "MARKER").expect("smoke has a marker");
        assert!(marker.starts_with("/workspace/"), "state crosses steps only under /workspace");
        for id in ["rollback-api", "promote-api"] {
            let s = step(&build, id);
            assert_eq!(s.wait_for, ["smoke"]);
            assert!(s.args.iter().any(|a| a == marker), "{id} reads the smoke marker");
            assert!(s.allow_exit_codes.is_empty());
        }
        let rollback = &step(&build, "rollback-api").args[1];
        assert!(rollback.trim_end().ends_with("exit 1"), "the rollback fails the build");
        assert!(step(&build, "release").args[1].contains("--no-traffic"));
    }

    #[test]
    fn without_on_failure_a_failed_smoke_test_fails_the_build_before_promotion() {
        let build = build_of(MANUAL, "hotfix");
        assert!(step(&build, "smoke").allow_exit_codes.is_empty());
        assert!(!build.steps.iter().any(|s| s.id.starts_with("rollback")));
        assert_eq!(step(&build, "promote-api").wait_for, ["smoke"]);
    }

    #[test]
    fn a_deploy_without_smoke_test_is_promoted_right_after_it() {
        let src = r#"pipeline p {
  trigger = tag(pattern = "v.*")
  step build = docker_build(api)
  step push = push(api) after [build]
  step release = deploy(api) after [push]
}"#;
        let build = build_of(src, "p");
        let promote = step(&build, "promote-api");
        assert_eq!(promote.wait_for, ["release"]);
        assert_eq!(promote.args.len(), 3, "no smoke markers: {:?}", promote.args);
        assert_eq!(build.steps.last().map(|s| s.id.as_str()), Some("promote-api"));
        let flags = &step(&build, "release").args[3..];
        assert_eq!(flags[..2], ["--port=8000", "--memory=1Gi"]);
    }

    /// What gcloud receives from a step argument: Cloud Build's substitution pass turns `$$`
    /// into `$`; then gcloud splits a list (`^D^` sets the delimiter, `gcloud topic escaping`).
    fn gcloud_items(arg: &str) -> Vec<String> {
        let value = arg.replace("$$", "$");
        if let Some((delimiter, rest)) = value.strip_prefix('^').and_then(|v| v.split_once('^')) {
            if !delimiter.is_empty() {
                return rest.split(delimiter).map(str::to_string).collect();
            }
        }
        value.split(',').map(str::to_string).collect()
    }

    /// `--name=value` flags of a deploy step, by name (`""` for a flag without a value).
    fn deploy_flags_of(step: &serde_yaml::Value) -> BTreeMap<String, String> {
        let args: Vec<&str> = step["args"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        args[3..]
            .iter()
            .map(|flag| {
                let flag = flag.strip_prefix("--").unwrap_or_else(|| panic!("not a flag: {flag}"));
                let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
                (name.to_string(), value.to_string())
            })
            .collect()
    }

    /// The flagship example: its release step hands `gcloud run deploy` every environment
    /// variable of `deploy/cloud-run/api.yaml` with its value, every secret as a reference at
    /// its pinned version, and every Cloud SQL instance; no secret turns into a plain variable,
    /// and no secret value enters the build.
    #[test]
    fn the_example_deploy_step_applies_the_cloud_run_service_file() {
        let compiled = compile(&ProjectInput {
            manifest: include_str!("../../../examples/sight-platform/sight.toml").into(),
            sources: vec![
                ("alerts.sight".into(), include_str!("../../../examples/sight-platform/alerts.sight").into()),
                ("platform.sight".into(), include_str!("../../../examples/sight-platform/platform.sight").into()),
                ("release.sight".into(), include_str!("../../../examples/sight-platform/release.sight").into()),
            ],
            ..Default::default()
        });
        let model = compiled.model.expect("the example compiles");
        let artifacts = crate::emit::emit(&model).unwrap();
        let parsed = |path: &str| -> serde_yaml::Value {
            let file = artifacts.iter().find(|a| a.path == path).unwrap_or_else(|| panic!("no {path}"));
            serde_yaml::from_str(&file.contents).unwrap()
        };
        let build = parsed("cloudbuild.yaml");
        let service = parsed("deploy/cloud-run/api.yaml");
        let release = build["steps"].as_sequence().unwrap().iter().find(|s| s["id"] == "release").unwrap();
        assert!(release["args"][1].as_str().unwrap().contains("gcloud run deploy"));
        let flags = deploy_flags_of(release);
        let container = &service["spec"]["template"]["spec"]["containers"][0];

        let mut plain = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for var in container["env"].as_sequence().unwrap() {
            let name = var["name"].as_str().unwrap().to_string();
            if let Some(value) = var["value"].as_str() {
                plain.insert(name, value.to_string());
            } else {
                let reference = &var["valueFrom"]["secretKeyRef"];
                let version = reference["key"].as_str().unwrap();
                assert!(
                    version.chars().all(|c| c.is_ascii_digit()),
                    "{name} reads version {version}, not a pinned one"
                );
                secrets.insert(name, format!("{}:{version}", reference["name"].as_str().unwrap()));
            }
        }
        assert!(!plain.is_empty() && !secrets.is_empty(), "the example has both kinds of variables");
        let items = |flag: &str| -> BTreeMap<String, String> {
            let value = flags.get(flag).unwrap_or_else(|| panic!("no --{flag} in {flags:?}"));
            gcloud_items(value)
                .into_iter()
                .map(|item| {
                    let (k, v) = item.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect()
        };
        assert_eq!(items("set-env-vars"), plain);
        assert_eq!(items("set-secrets"), secrets);
        let instances = service["spec"]["template"]["metadata"]["annotations"]["run.googleapis.com/cloudsql-instances"]
            .as_str()
            .unwrap();
        assert_eq!(gcloud_items(&flags["set-cloudsql-instances"]), instances.split(',').collect::<Vec<_>>());
        // The rest of the file's settings, flag by flag.
        let spec = &service["spec"]["template"]["spec"];
        assert_eq!(flags["timeout"], format!("{}s", spec["timeoutSeconds"].as_u64().unwrap()));
        assert_eq!(flags["concurrency"], spec["containerConcurrency"].as_u64().unwrap().to_string());
        assert_eq!(flags["memory"], container["resources"]["limits"]["memory"].as_str().unwrap());
        assert_eq!(flags["cpu"], container["resources"]["limits"]["cpu"].as_str().unwrap());
        assert_eq!(
            flags["ingress"],
            service["metadata"]["annotations"]["run.googleapis.com/ingress"].as_str().unwrap()
        );
        assert_eq!(flags.contains_key("service-account"), spec["serviceAccountName"].is_string());
        assert!(flags.contains_key("no-allow-unauthenticated"));
        for probe in ["startupProbe", "livenessProbe"] {
            let path = container[probe]["httpGet"]["path"].as_str().unwrap();
            let flag = if probe == "startupProbe" { "startup-probe" } else { "liveness-probe" };
            assert!(gcloud_items(&flags[flag]).contains(&format!("httpGet.path={path}")), "{flag}");
        }
        // Secrets stay references: never a plain variable, never in the step's environment,
        // never a build secret (Cloud Run reads them itself when an instance starts).
        for name in secrets.keys() {
            assert!(!plain.contains_key(name));
            assert!(!items("set-env-vars").contains_key(name), "{name} leaks as a plain variable");
            let in_env = release["env"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|e| e.as_str().unwrap().starts_with(&format!("{name}=")));
            assert!(!in_env, "{name} in the step's env");
        }
        assert!(release["secretEnv"].is_null(), "the deploy reads no build secret");
        let text = serde_yaml::to_string(release).unwrap();
        assert!(!text.contains("valueFrom") && !text.contains("secretKeyRef"), "{text}");
        // `--no-traffic --tag` stay as they were.
        let script = release["args"][1].as_str().unwrap();
        assert!(script.contains("--tag \"$$tag\"") && script.contains("traffic_flags=(--no-traffic)"), "{script}");
    }

    #[test]
    fn deploy_values_reach_cloud_run_unsubstituted() {
        let src = SRC.replace(
            "    env { DATABASE_URL =",
            "    env {\n      FEE = \"$5, or ${_ZONE} | $$\"\n      DATABASE_URL =",
        );
        let model = model_of(&[("a.sight", &src), ("p.sight", RELEASE)]);
        let build = lower(&model, &model.pipelines["release"]).unwrap();
        assert_eq!(self_check(&build, true), Vec::<String>::new());
        let release = step(&build, "release");
        let env = release.args.iter().find_map(|a| a.strip_prefix("--set-env-vars=")).unwrap();
        assert!(substitution_refs(env).is_empty(), "{env}");
        assert!(gcloud_items(env).contains(&"FEE=$5, or ${_ZONE} | $$".to_string()), "{env}");
    }

    #[test]
    fn no_step_deploys_before_a_push_of_its_image() {
        for (src, name) in [(RELEASE, "release"), (MANUAL, "hotfix")] {
            let build = build_of(src, name);
            let mut ancestors: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for s in &build.steps {
                let mut set = BTreeSet::new();
                for w in s.wait_for.iter().filter(|w| *w != "-") {
                    set.insert(w.as_str());
                    set.extend(ancestors.get(w.as_str()).into_iter().flatten().copied());
                }
                ancestors.insert(&s.id, set);
            }
            let deploys: Vec<&BuildStep> =
                build.steps.iter().filter(|s| s.args[1].contains("gcloud run deploy")).collect();
            assert!(!deploys.is_empty());
            for deploy in deploys {
                let image = env_of(deploy, "IMAGE").expect("deploy names its image");
                let pushed_before = build.steps.iter().any(|s| {
                    s.args[1].contains("docker push")
                        && env_of(s, "IMAGE") == Some(image)
                        && ancestors[deploy.id.as_str()].contains(s.id.as_str())
                });
                assert!(pushed_before, "{} deploys {image} before a push of it", deploy.id);
                assert!(build.images.iter().any(|i| i == image));
            }
        }
    }

    #[test]
    fn a_manual_pipeline_tags_with_build_id() {
        let build = build_of(MANUAL, "hotfix");
        let text = serde_json::to_string(&build).unwrap();
        assert!(!text.contains("$SHORT_SHA"), "{text}");
        assert_eq!(build.images, ["europe-west1-docker.pkg.dev/demo-prod/app/api:$BUILD_ID"]);
        assert_eq!(env_of(step(&build, "release"), "TAG"), Some("c-$BUILD_ID"));
        let release = build_of(RELEASE, "release");
        assert_eq!(release.images, ["europe-west1-docker.pkg.dev/demo-prod/app/api:$SHORT_SHA"]);
    }

    #[test]
    fn every_available_secret_is_used_and_secrets_stay_out_of_env() {
        let build = build_of(RELEASE, "release");
        let declared: Vec<(&str, &str)> = build
            .available_secrets
            .iter()
            .flat_map(|a| &a.secret_manager)
            .map(|s| (s.env.as_str(), s.version_name.as_str()))
            .collect();
        assert_eq!(
            declared,
            [
                ("API_TOKEN", "projects/$PROJECT_ID/secrets/api-token/versions/1"),
                ("PGPASSWORD", "projects/$PROJECT_ID/secrets/db-password/versions/3"),
            ]
        );
        for (env, _) in &declared {
            assert!(build.steps.iter().any(|s| s.secret_env.iter().any(|e| e == env)), "{env} unused");
            assert!(build.steps.iter().all(|s| env_of(s, env).is_none()), "{env} in a step env");
        }
        // The secret enters the container by name, never as a value on a command line.
        let seed = step(&build, "seed");
        assert_eq!(seed.secret_env, ["API_TOKEN"]);
        assert!(seed.args.windows(2).any(|w| w == ["--env", "API_TOKEN"]));
        assert_eq!(env_of(seed, "MODE"), Some("full"));
    }

    #[test]
    fn a_migration_reaches_cloud_sql_through_the_proxy_without_a_password_in_the_url() {
        let build = build_of(RELEASE, "release");
        let migrate = step(&build, "migrate");
        assert!(migrate.args[1].contains("--network-alias"));
        assert_eq!(env_of(migrate, "CLOUDSQL_PROXIES"), Some("db,5432,demo-prod:europe-west1:demo-db"));
        assert_eq!(env_of(migrate, "DATABASE_URL"), Some("postgresql+psycopg2://demo@db:5432/demo_db"));
        assert_eq!(migrate.secret_env, ["PGPASSWORD"]);
        let positional = &migrate.args[3..];
        assert_eq!(
            positional,
            [
                "--network",
                "cloudbuild",
                "--env",
                "DATABASE_URL",
                "--env",
                "PGPASSWORD",
                "europe-west1-docker.pkg.dev/demo-prod/app/api:development",
                "alembic",
                "upgrade",
                "head"
            ]
        );
        // A step without Cloud SQL renders no proxy.
        assert!(!step(&build, "unit").args[1].contains("cloud-sql"));
        assert!(!step(&build, "unit").args[1].contains("PROXY"));
    }

    #[test]
    fn substitutions_defined_are_used_and_scripts_are_escaped() {
        let build = build_of(RELEASE, "release");
        assert_eq!(
            build.substitutions,
            BTreeMap::from([
                ("_REGION".to_string(), "europe-west1".to_string()),
                ("_ZONE".to_string(), "b".to_string())
            ])
        );
        assert_eq!(env_of(step(&build, "release"), "REGION"), Some("${_REGION}"));
        for s in &build.steps {
            assert_eq!(s.entrypoint, "bash");
            assert_eq!(s.args[0], "-c");
            assert!(substitution_refs(&s.args[1]).is_empty(), "{}: the script is substituted", s.id);
        }
    }

    #[test]
    fn options_logging_timeouts_and_tags() {
        let build = build_of(RELEASE, "release");
        assert_eq!(build.options.logging, "CLOUD_LOGGING_ONLY");
        assert_eq!(build.options.machine_type.as_deref(), Some("E2_HIGHCPU_8"));
        assert_eq!(build.timeout, "2400s");
        assert_eq!(step(&build, "integration").timeout.as_deref(), Some("600s"));
        assert_eq!(build.tags, ["sight-release"]);
        let manual = build_of(MANUAL, "hotfix");
        assert_eq!(manual.options.logging, "CLOUD_LOGGING_ONLY");
        assert_eq!(manual.options.machine_type, None);
    }

    #[test]
    fn emitted_files_are_deterministic_and_named_per_pipeline() {
        let one = model_of(&[("a.sight", SRC), ("p.sight", RELEASE)]);
        let first = emit(&one, "ci").unwrap();
        let paths: Vec<&str> = first.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            ["ci/cloudbuild.yaml", "ci/notifiers/release-oncall.json", "ci/notifiers/release-oncall.yaml"]
        );
        let reordered = model_of(&[("p.sight", RELEASE), ("a.sight", SRC)]);
        assert_eq!(first, emit(&reordered, "ci").unwrap());
        assert_eq!(first, emit(&one, "ci").unwrap());
        let yaml = &first[0].contents;
        assert!(yaml.starts_with(&crate::emit::header::header(&one, "#")));
        let parsed: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(parsed["options"]["logging"].as_str(), Some("CLOUD_LOGGING_ONLY"));
        assert!(!yaml.contains("substitutionOption") && !yaml.contains("ALLOW_LOOSE"));
        assert!(!yaml.contains("wait_for") && !yaml.contains("secret_env"), "camelCase keys");

        let two = model_of(&[("a.sight", SRC), ("p.sight", RELEASE), ("q.sight", MANUAL)]);
        let paths: Vec<String> = emit(&two, ".").unwrap().into_iter().map(|a| a.path).collect();
        assert!(paths.contains(&"cloudbuild.release.yaml".to_string()));
        assert!(paths.contains(&"cloudbuild.hotfix.yaml".to_string()));
    }

    #[test]
    fn the_notifier_filters_on_failures_of_this_pipeline() {
        let model = model_of(&[("a.sight", SRC), ("p.sight", RELEASE)]);
        let artifacts = emit(&model, ".").unwrap();
        let config = artifacts.iter().find(|a| a.path == "notifiers/release-oncall.yaml").unwrap();
        let value: serde_yaml::Value = serde_yaml::from_str(&config.contents).unwrap();
        let filter = value["spec"]["notification"]["filter"].as_str().unwrap();
        assert!(filter.contains("Build.Status.FAILURE") && filter.contains("Build.Status.TIMEOUT"));
        assert!(filter.contains("\"sight-release\" in build.tags"));
        assert_eq!(value["kind"].as_str(), Some("SlackNotifier"));
        assert_eq!(
            value["spec"]["secrets"][0]["value"].as_str(),
            Some("projects/demo-prod/secrets/slack-webhook/versions/2")
        );
        assert_eq!(
            value["spec"]["notification"]["delivery"]["webhookUrl"]["secretRef"],
            value["spec"]["secrets"][0]["name"]
        );
        assert_eq!(
            value["spec"]["notification"]["template"]["uri"].as_str(),
            Some("gs://demo-prod-cloud-build-notifiers/release-oncall.json")
        );
        let template = artifacts.iter().find(|a| a.path == "notifiers/release-oncall.json").unwrap();
        let blocks: Json = serde_json::from_str(&template.contents).unwrap();
        assert!(blocks[0]["text"]["text"].as_str().unwrap().contains("{{.Build.Status}}"));
        assert!(blocks[0]["text"]["text"].as_str().unwrap().contains("`release`"));
        // The build config never carries the webhook: no step uses it.
        let build = &artifacts[0].contents;
        assert!(!build.contains("slack-webhook"));
    }

    /// The negative tests of the reference prototype (`test_emit.py`): each broken variant
    /// of a valid build is caught by the self-check.
    #[test]
    fn the_self_check_catches_each_broken_invariant() {
        let build = build_of(RELEASE, "release");
        let broken = |f: &dyn Fn(&mut BuildConfig)| {
            let mut b = build.clone();
            f(&mut b);
            self_check(&b, true)
        };
        let has = |problems: Vec<String>, needle: &str| {
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle:?} not in {problems:?}");
        };
        has(broken(&|b| drop(b.substitutions.insert("_UNUSED".into(), "1".into()))), "_UNUSED is defined but unused");
        has(broken(&|b| b.steps[0].env.push("ZONE=${_ZONE2}".into())), "undefined substitution _ZONE2");
        has(broken(&|b| b.steps[0].args[1] = "echo $HOME".into()), "neither a built-in");
        has(broken(&|b| b.steps[1].wait_for.push("smoke".into())), "not an earlier step");
        has(
            broken(&|b| {
                b.available_secrets.as_mut().unwrap().secret_manager.push(SecretManagerSecret {
                    version_name: "projects/$PROJECT_ID/secrets/slack-webhook/versions/2".into(),
                    env: "SLACK_WEBHOOK".into(),
                })
            }),
            "SLACK_WEBHOOK is unused",
        );
        has(broken(&|b| b.steps[2].id = "unit".into()), "duplicate step id unit");
        has(broken(&|b| b.steps[2].wait_for.clear()), "has no waitFor");
        has(broken(&|b| b.steps[3].env.push("PGPASSWORD=x".into())), "both in env and secretEnv");
        has(broken(&|b| b.steps[2].timeout = Some("20m".into())), "timeout 20m");
        has(broken(&|b| b.steps[2].timeout = Some("3000s".into())), "timeout 3000s");
        has(broken(&|b| b.steps[0].secret_env.push("NOPE".into())), "secretEnv NOPE is not declared");
        assert!(self_check(&build, false).iter().any(|p| p.contains("$SHORT_SHA is empty")));
    }

    #[test]
    fn transitive_reduction_keeps_only_direct_edges_in_file_order() {
        let s = |id: &str, deps: &[&str]| (id.to_string(), deps.iter().map(|d| d.to_string()).collect::<Vec<_>>());
        let steps = [s("a", &[]), s("b", &["a"]), s("c", &["a"]), s("d", &["c", "b", "a"]), s("e", &["a", "d"])];
        let reduced = transitive_reduction(&steps);
        assert_eq!(reduced, [vec!["-"], vec!["a"], vec!["a"], vec!["b", "c"], vec!["d"]]);
    }

    #[test]
    fn substitution_references_skip_escaped_dollars() {
        assert_eq!(substitution_refs("a $$HOME ${_X} $PROJECT_ID $$$_Y"), ["_X", "PROJECT_ID", "_Y"]);
        assert_eq!(seconds("600s"), Some(600.0));
        assert_eq!(seconds("1.5s"), Some(1.5));
        assert_eq!(seconds("10m"), None);
        assert_eq!(seconds("s"), None);
    }

    /// Every variant of every stdlib step script passes `shellcheck -S style` (the gate of
    /// `tools/validate/run.sh`), when shellcheck is installed.
    #[test]
    fn stdlib_step_scripts_pass_shellcheck() {
        let lib = crate::stdlib::Stdlib::builtin().unwrap();
        for kind in lib.kinds_of(crate::stdlib::KindClass::Step) {
            let def = kind.step.as_ref().unwrap();
            for script in std::iter::once(&def.script).chain(&def.promote_script) {
                // A trailing blank would turn the YAML literal block into a quoted string.
                assert!(!script.lines().any(|l| l.ends_with([' ', '\t'])), "{}: trailing whitespace", kind.name);
            }
        }
        let Ok(status) = std::process::Command::new("shellcheck").arg("--version").output() else {
            eprintln!("shellcheck not found; skipped");
            return;
        };
        assert!(status.status.success());
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for kind in lib.kinds_of(crate::stdlib::KindClass::Step) {
            let def = kind.step.as_ref().unwrap();
            for (i, script) in std::iter::once(&def.script).chain(&def.promote_script).enumerate() {
                for flag in [false, true] {
                    let context = json!({ "step": "s", "service": "api", "dev_image": flag, "cloud_sql": flag });
                    let text = template::render(script, &context).unwrap();
                    let path = dir.path().join(format!("{}.{i}.{flag}.sh", kind.name));
                    std::fs::write(&path, format!("#!/bin/bash\n{text}")).unwrap();
                    files.push(path);
                }
            }
        }
        let out =
            std::process::Command::new("shellcheck").args(["--norc", "-S", "style"]).args(&files).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }

    #[test]
    fn the_checker_rejects_what_the_emitter_cannot_express() {
        let codes_of = |pipeline: &str| -> Vec<&'static str> {
            let compiled = compiled(&[("a.sight", SRC), ("p.sight", pipeline)]);
            compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.code).collect()
        };
        // A step after a tolerated smoke test would run after a failed one.
        let after_smoke = r#"pipeline p {
  trigger = push(branch = "main")
  step build = docker_build(api)
  step push = push(api) after [build]
  step release = deploy(api) after [push]
  step smoke = smoke(api, ["/health"])
  step notify = run(api, "python notify.py") after [smoke]
  on_failure smoke = rollback(api)
}"#;
        assert!(codes_of(after_smoke).contains(&"S0158"), "{:?}", codes_of(after_smoke));
        // One variable name bound to two secrets in one build.
        let clash = r#"pipeline p {
  trigger = push(branch = "main")
  step build = docker_build(api)
  step a = run(api, "x") { env { TOKEN = secret.token } }
  step b = run(api, "y") { env { TOKEN = secret.pw } }
}"#;
        assert!(codes_of(clash).contains(&"S0101"), "{:?}", codes_of(clash));
        // A store URL only Compose resolves, in a step that starts no proxy.
        let compose_host = r#"pipeline p {
  trigger = push(branch = "main")
  step build = docker_build(api)
  step t = compose_test(api, "pytest") { env { DATABASE_URL = db.url() } }
}"#;
        assert!(codes_of(compose_host).contains(&"S0183"), "{:?}", codes_of(compose_host));
        // A deploy with no production configuration to apply.
        let undeployed = r#"service worker {
  build : python { version = "3.12" }
  command = ["python", "-m", "worker"]
}
pipeline p {
  trigger = push(branch = "main")
  step build = docker_build(worker)
  step push = push(worker) after [build]
  step release = deploy(worker) after [push]
}"#;
        assert!(codes_of(undeployed).contains(&"S0107"), "{:?}", codes_of(undeployed));
    }

    #[test]
    fn the_self_check_rejects_substitution_keys_cloud_build_refuses() {
        let build = build_of(RELEASE, "release");
        for key in ["ZONE", "_zone", "_"] {
            let mut b = build.clone();
            b.substitutions.insert(key.into(), "b".into());
            let problems = self_check(&b, true);
            let expected = format!("substitution key {key} does not match ^_[A-Z0-9_]+$");
            assert!(problems.contains(&expected), "{key}: {problems:?}");
        }
    }

    /// The script of a step reads the variables sight sets for it (`IMAGE`, `SERVICE`, …): a
    /// step `env` entry of the same name, plain or secret, must not replace one silently.
    #[test]
    fn a_step_env_never_replaces_a_variable_sight_sets_for_the_script() {
        for value in [EnvValue::Text("elsewhere".into()), EnvValue::Secret("token".into())] {
            let mut model = model_of(&[("a.sight", SRC), ("p.sight", RELEASE)]);
            let pipeline = model.pipelines.get_mut("release").unwrap();
            let build = pipeline.steps.iter_mut().find(|s| s.name == "build").unwrap();
            build.env.insert("IMAGE".into(), value.clone());
            let error = lower(&model, &model.pipelines["release"]).map(|_| ()).unwrap_err();
            assert!(error.0.contains("step `build`: `IMAGE` is set by sight"), "{value:?}: {error:?}");
        }
    }
}
