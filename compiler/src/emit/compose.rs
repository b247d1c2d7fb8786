//! Compose: three standalone files in the `compose` output folder, one per [`Env`]:
//! `docker-compose.yml` (development), `docker-compose.prod.yml` (production images on one
//! host) and `docker-compose.test.yml` (ephemeral stores plus test runners). Each is used with
//! a single `-f`: merging the prod file over the dev one would keep the dev bind mounts, ports
//! and reload command (FACTS §3 "Merging").
//!
//! The traps (FACTS §3, §6, §7 items 19–25) and how this module avoids them:
//! - No `version:` key (obsolete); a top-level `name:` per file (`<project>`, `<project>-prod`,
//!   `<project>-test`), so that `up` on the test file never recreates or stops the dev stack's
//!   containers (reference NOTES D10). No `container_name`, for the same reason.
//! - `depends_on` in long form, `condition: service_healthy` exactly where the dependency has a
//!   health check in the same file (every store; a service with `health` and a probe), else
//!   `service_started`. The conditions are derived from the health checks this module writes,
//!   so `service_healthy` never meets a container without one ("has no healthcheck configured").
//! - `$` convention: the model and the stdlib hold container-side text (a store health test
//!   reads `${POSTGRES_USER}`), never pre-escaped `$$`. This module doubles every `$` of every
//!   value it writes (environment, command, health check, paths), so Compose interpolation
//!   never touches them and the container sees one `$` (FACTS §3 "Interpolation", item 23).
//! - YAML typing: durations are strings (`"30s"`, `"1m30s"`, via
//!   [`crate::units::duration_compact`]), ports are `"[IP:]HOST:CONTAINER"` strings, `cpus` a
//!   string, environment values strings (the serializer quotes `"true"`, `"8000"`). `restart`
//!   is only ever `unless-stopped`, never a bare `no`. The writer (`emit/yaml.rs`) quotes
//!   every string a YAML 1.1 or 1.2 reader could take for something else (`yes`, `on`,
//!   base-60 lookalikes such as `"8080:22"`), so yamllint and 1.1 parsers agree with Compose.
//! - Secrets never inline: top-level `secrets: {name: {file: ./secrets/<name>.txt}}` (the
//!   secret's `file`), granted to each container that uses it; a secret env value `VAR`
//!   becomes `VAR_FILE=/run/secrets/<name>` (the official images' `*_FILE` convention).
//! - Configuration files (`configs`) are Compose `configs` the same way: top-level
//!   `configs: {name: {file: ./proxy/nginx.conf}}`, granted with `{source, target}` and mounted
//!   read-only, in every file (production too: they carry configuration, not code).
//! - Production: no bind mounts, `restart: unless-stopped`, `deploy.resources.limits` from the
//!   Cloud Run deploy (memory in Docker's binary units, `cpus` as a string).
//!
//! Choices:
//! - Built services are `image: <registry>/<service>:<target>` with `build: {context, target}`
//!   and `pull_policy: build`. Without the pull policy, Compose first tries to pull an image
//!   that has both `image` and `build` from the registry; these tags only ever exist locally.
//!   The dev file and the test runners share the `development` image, the prod file (and the
//!   test file's services) the `production` one.
//! - Container settings (`ports`, `volumes`, `networks`, `restart`, `ulimits`, …; model
//!   [`ContainerOptions`]) are written as declared in every file, with three exceptions: extra
//!   development ports without an address are bound to 127.0.0.1 like the service's port; the
//!   test file publishes no port, restarts nothing and ignores profiles (its runners need their
//!   services, and runners join their service's networks); production keeps `restart:
//!   unless-stopped` unless the spec names a policy. A dependency that is a `job` is awaited
//!   with `service_completed_successfully`. `build : dockerfile` builds the context's own
//!   Dockerfile with its own `dockerfile`, `target` and `args` in every file.
//! - Paths in the spec (build contexts, bind mounts, secret files) are relative to the project
//!   root; they are rebased onto the compose folder, since Compose resolves them from the file.
//! - Development publishes on `127.0.0.1` only: service ports, and each store's port unless a
//!   service or an earlier store (by name) already took that host port (two postgres stores
//!   cannot both have 5432; the second stays reachable through `docker compose exec`).
//!   Production publishes service ports on every interface and no store port. The test file
//!   publishes only what a service's test configuration explicitly publishes (on
//!   `127.0.0.1`), so it runs beside the dev stack.
//! - node_static production listens on the runtime's `fixed_port` (nginx: 8080): the prod file
//!   maps `publish:fixed_port`, and the health probe targets that port.
//! - Health probes are the runtime kind's data (`probe`, `dev_probe` in its TOML), identical to
//!   the Dockerfile `HEALTHCHECK`; the probe's own timeout is half Docker's, at least 1 s, as
//!   in the Dockerfile emitter. A prebuilt image with `health` is asked with `wget --spider`,
//!   else `curl -f` (sight does not know its tools; with neither it stays unhealthy, a loud
//!   failure rather than dependents that start too early).
//! - The test file holds every store (a tmpfs on its data directory and its other `VOLUME`s,
//!   no named volume), the test runners, and the services the runners need (production image,
//!   test configuration, health check). A runner `<service>-test` is built from the
//!   `development` target (test tools are not in production) for every built service with a
//!   health probe and every service a `compose_test` step targets. Its default command is the
//!   first such step's command (pipelines by name, steps in order), split into words like the
//!   shell would (or run by `sh -c` when it uses shell syntax); without such a step, the
//!   runner is a boot test: it waits until the service (production image, ephemeral stores) is
//!   healthy, then requests its health endpoint over the Compose network, which also proves
//!   that it listens on all interfaces. Run one with
//!   `docker compose -f docker-compose.test.yml up --abort-on-container-exit --exit-code-from
//!   <service>-test <service>-test`, or `run --rm <service>-test <command>`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use serde::Serialize;

#[cfg(test)]
use crate::emit::Artifact;
use crate::emit::{join, yaml, InternalError, Sink};
use crate::model::{Build, ContainerOptions, Env, EnvValue, Model, Service, Store, Value, TEST_RUNNER_SUFFIX};
use crate::units::{duration_compact, number, size_docker};

/// Text of a Compose file: borrowed from the model where it is written as is.
type Str<'a> = Cow<'a, str>;

/// The restart policy of every production container.
const PROD_RESTART: &str = "unless-stopped";

/// A file's text is put into its sink in pieces of about this size: a large file is written
/// as it is produced instead of held whole.
const PUT_EVERY: usize = 64 * 1024;

/// Where Compose mounts a granted secret (`/run/secrets/<name>`).
const SECRETS_DIR: &str = "/run/secrets";

/// The three Compose files, in memory.
#[cfg(test)]
fn emit(model: &Model, dir: &str) -> Result<Vec<Artifact>, InternalError> {
    let files = emit_into(model, dir, &|_: &str| String::new())?;
    Ok(files.into_iter().map(|(path, contents)| Artifact { path, contents }).collect())
}

/// The three Compose files, each put into the sink `open` gives for its path as it is written.
pub fn emit_into<S: Sink + Send>(
    model: &Model,
    dir: &str,
    open: &(impl Fn(&str) -> S + Sync),
) -> Result<Vec<(String, S)>, InternalError> {
    let root = root_from(dir)?;
    let one = |env: Env| -> Result<(String, S), InternalError> {
        let path = join(dir, file_name(env));
        let mut sink = open(&path);
        ComposeBuilder { model, env, root: &root }.document(&mut sink)?;
        Ok((path, sink))
    };
    // A large project's three files are built on threads of their own: on two cores its
    // Compose build takes about 0.7 of the time, for about a sixth more peak memory.
    crate::emit::each_part(model, Env::ALL, one).into_iter().collect()
}

fn file_name(env: Env) -> &'static str {
    match env {
        Env::Dev => "docker-compose.yml",
        Env::Prod => "docker-compose.prod.yml",
        Env::Test => "docker-compose.test.yml",
    }
}

// ---------------------------------------------------------------------------------------------
// The Compose file, as typed values in the order the keys are written.

/// The top-level declarations after `services`: what the containers use, known once they are
/// all written.
#[derive(Serialize)]
struct Tail {
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    volumes: IndexMap<String, VolumeSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    secrets: BTreeMap<String, SecretSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    configs: BTreeMap<String, SecretSource>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    networks: BTreeMap<String, NetworkSpec>,
}

impl Tail {
    fn is_empty(&self) -> bool {
        self.volumes.is_empty() && self.secrets.is_empty() && self.configs.is_empty() && self.networks.is_empty()
    }
}

/// A top-level network: Compose's defaults unless the spec declares it.
#[derive(Default, Serialize)]
struct NetworkSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    external: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    internal: bool,
}

/// A service's networks: a list, or a mapping when the container has aliases on them.
#[derive(Serialize)]
#[serde(untagged)]
enum ServiceNetworks {
    List(Vec<String>),
    Aliased(BTreeMap<String, NetworkAttachment>),
}

impl Default for ServiceNetworks {
    fn default() -> Self {
        ServiceNetworks::List(Vec::new())
    }
}

impl ServiceNetworks {
    fn is_empty(&self) -> bool {
        matches!(self, ServiceNetworks::List(l) if l.is_empty())
    }
}

#[derive(Serialize)]
struct NetworkAttachment {
    aliases: Vec<String>,
}

#[derive(Default, Serialize)]
struct ComposeService<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<BuildSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entrypoint: Vec<Str<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    command: Vec<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env_file: Vec<String>,
    #[serde(skip_serializing_if = "Entries::is_empty")]
    environment: Entries<Str<'a>, Str<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<Str<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    configs: Vec<ConfigMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Str<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tmpfs: Vec<Str<'a>>,
    #[serde(skip_serializing_if = "Entries::is_empty")]
    depends_on: Entries<Str<'a>, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restart: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deploy: Option<DeploySpec>,
    #[serde(skip_serializing_if = "ServiceNetworks::is_empty")]
    networks: ServiceNetworks,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profiles: Vec<Str<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<Str<'a>, Str<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    security_opt: Vec<Str<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stdin_open: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tty: bool,
}

/// A mapping written in the order of its entries, for the small maps of a container
/// (`environment`, `depends_on`): a vector, not a tree or a hash table per container and file.
/// Its keys are unique where it is built (the model's names are).
struct Entries<K, V>(Vec<(K, V)>);

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<K, V> Entries<K, V> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K, V> FromIterator<(K, V)> for Entries<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        Entries(entries.into_iter().collect())
    }
}

impl<K: Serialize, V: Serialize> Serialize for Entries<K, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct BuildSpec {
    context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    args: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct DependsOn {
    condition: &'static str,
}

#[derive(Serialize)]
struct Healthcheck<'a> {
    test: Vec<Str<'a>>,
    interval: String,
    timeout: String,
    retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_period: Option<String>,
}

#[derive(Serialize)]
struct DeploySpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Resources>,
}

#[derive(Serialize)]
struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<Limits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reservations: Option<Reservations>,
}

/// GPUs reserved for the container (`gpus`): NVIDIA devices, all or a count.
#[derive(Serialize)]
struct Reservations {
    devices: Vec<Device>,
}

#[derive(Serialize)]
struct Device {
    driver: &'static str,
    count: serde_json::Value,
    capabilities: Vec<&'static str>,
}

/// `nofile: 65536` or `nofile: {soft: 1024, hard: 65536}`.
#[derive(Serialize)]
#[serde(untagged)]
enum Ulimit {
    Single(i64),
    Pair { soft: i64, hard: i64 },
}

impl Ulimit {
    /// From the checked spec text, `65536` or `1024:65536`.
    fn parse(text: &str) -> Option<Ulimit> {
        match text.split_once(':') {
            Some((soft, hard)) => Some(Ulimit::Pair { soft: soft.parse().ok()?, hard: hard.parse().ok()? }),
            None => text.parse().ok().map(Ulimit::Single),
        }
    }
}

/// A top-level named volume: Compose's defaults unless the spec declares it.
#[derive(Default, Serialize)]
struct VolumeSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    external: bool,
}

/// A top-level secret: a file, or a variable of the shell running Compose.
#[derive(Serialize)]
struct SecretSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
}

#[derive(Serialize)]
struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
}

#[derive(Serialize)]
struct SecretSource {
    file: String,
}

/// A granted config: Compose mounts the top-level config `source` read-only at `target`.
#[derive(Clone, Serialize)]
struct ConfigMount {
    source: String,
    target: String,
}

// ---------------------------------------------------------------------------------------------
// Building one file.

/// The Dockerfile stage a built service runs from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Development,
    Production,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Development => "development",
            Target::Production => "production",
        }
    }
}

/// A test runner of the test file.
struct Runner<'a> {
    service: &'a Service,
    command: Vec<String>,
    /// No test command: the runner probes the running service (which the file then holds).
    boot_test: bool,
}

impl Runner<'_> {
    fn name(&self) -> String {
        format!("{}{TEST_RUNNER_SUFFIX}", self.service.name)
    }
}

struct ComposeBuilder<'a> {
    model: &'a Model,
    env: Env,
    /// The project root, seen from the compose folder (`./`, `../../`).
    root: &'a str,
}

impl<'a> ComposeBuilder<'a> {
    /// The file's text, into `sink`: header, name, containers, then the volumes, secrets,
    /// configs and networks they use. Each container's entry is built, written and dropped in
    /// turn, and the text is put into the sink every [`PUT_EVERY`] bytes: a large project's
    /// file is never held whole, neither as typed values nor as text.
    fn document(&self, sink: &mut impl Sink) -> Result<(), InternalError> {
        let runners = if self.env == Env::Test { self.runners()? } else { Vec::new() };
        let services = self.services_in_file(&runners);
        let config_names = config_names(self.model);
        let mut found = Found::default();
        // Stores first (few, each with a health check): they take their host ports after
        // every service's.
        let mut host_ports: BTreeSet<u16> = services.iter().filter_map(|s| self.host_port(s)).collect();
        let mut stores = Vec::with_capacity(self.model.stores.len());
        for store in self.model.stores.values() {
            let mut entry = self.store(store, &mut host_ports, &mut found.volumes);
            self.container(&mut entry, &store.container, &mut found.volumes, &mut found.networks);
            found.record(&entry);
            stores.push((store.name.as_str(), entry));
        }
        // `service_healthy` exactly where this file gives the dependency a health check: known
        // before the entries are built, and checked against each as it is.
        let healthy: BTreeSet<&str> = stores
            .iter()
            .filter(|(_, e)| e.healthcheck.is_some())
            .map(|(name, _)| *name)
            .chain(services.iter().filter(|s| self.has_healthcheck(s)).map(|s| s.name.as_str()))
            .collect();
        // A one-shot job is waited for until it exits successfully.
        let jobs: BTreeSet<&str> =
            self.model.services.values().filter(|s| s.container.job).map(|s| s.name.as_str()).collect();
        let mut containers = Containers { builder: self, healthy, jobs, config_names: &config_names, found };

        let header = format!("{}{}\n", crate::emit::header::header(self.model, "#"), self.usage(&runners));
        // About 550 bytes per container in the workload of docs/performance.md.
        let entries = stores.len() + services.len() + runners.len();
        sink.expect(header.len() + 600 * entries + 1024);
        let mut out = String::with_capacity(PUT_EVERY + 4096);
        out.push_str(&header);
        yaml::write_entry(&mut out, 0, "name", &self.project_name())?;
        if entries == 0 {
            yaml::write_entry(&mut out, 0, "services", &BTreeMap::<String, String>::new())?;
        } else {
            yaml::write_key(&mut out, 0, "services");
        }
        // One entry of `services`, then the text so far to the sink once it is large enough.
        let mut write = |out: &mut String, name: &str, entry: &ComposeService| -> Result<(), InternalError> {
            yaml::write_entry(out, 2, name, entry)?;
            if out.len() >= PUT_EVERY {
                sink.put(out);
                out.clear();
            }
            Ok(())
        };
        for (name, entry) in &stores {
            write(&mut out, name, entry)?;
        }
        for service in services {
            write(&mut out, &service.name, &containers.service(service)?)?;
        }
        for runner in &runners {
            write(&mut out, &runner.name(), &containers.runner(runner))?;
        }
        let tail = self.tail(containers.found, &config_names)?;
        if !tail.is_empty() {
            yaml::write(&mut out, &tail)?;
        }
        sink.put(&out);
        sink.done();
        Ok(())
    }

    /// The top-level declarations of what the containers use. Declared volumes and networks
    /// carry their settings; the others have Compose's defaults.
    fn tail(&self, found: Found, config_names: &BTreeMap<String, String>) -> Result<Tail, InternalError> {
        let Found { mut volumes, mut networks, secrets: granted, configs: mounted } = found;
        let mut secrets = BTreeMap::new();
        for name in granted {
            let secret = self
                .model
                .secrets
                .get(&name)
                .ok_or_else(|| InternalError(format!("secret `{name}` is used but not declared")))?;
            let spec = match &secret.environment {
                Some(var) => SecretSpec { file: None, environment: Some(var.clone()) },
                None => SecretSpec { file: Some(self.rebase(&secret.file)), environment: None },
            };
            secrets.insert(name, spec);
        }
        // Configs, like secrets, are declared once at the top and granted per container.
        let configs = config_names
            .iter()
            .filter(|(_, name)| mounted.contains(name.as_str()))
            .map(|(source, name)| (name.clone(), SecretSource { file: self.rebase(source) }))
            .collect();
        for volume in self.model.volumes.values() {
            volumes.insert(
                volume.name.clone(),
                VolumeSpec {
                    name: volume.volume_name.as_deref().map(|n| dollars(n).into_owned()),
                    driver: volume.driver.clone(),
                    driver_opts: volume.driver_opts.iter().map(|(k, v)| (k.clone(), dollars(v).into_owned())).collect(),
                    external: volume.external,
                },
            );
        }
        for network in self.model.networks.values() {
            networks.insert(
                network.name.clone(),
                NetworkSpec {
                    name: network.network_name.as_deref().map(|n| dollars(n).into_owned()),
                    driver: network.driver.clone(),
                    external: network.external,
                    internal: network.internal,
                },
            );
        }
        Ok(Tail { volumes, secrets, configs, networks })
    }

    /// Whether `service`'s entry in this file gets a health check: its own command, or `health`
    /// with a probe ([`Self::service`] writes exactly these).
    fn has_healthcheck(&self, service: &Service) -> bool {
        if service.container.health_check.is_some() {
            return true;
        }
        if service.health.is_none() {
            return false;
        }
        match &service.build {
            Some(_) => {
                let target = if self.env == Env::Dev { Target::Development } else { Target::Production };
                container_port(service, target).is_some() && probe_argv(service, target).is_some()
            }
            None => service.port.is_some(),
        }
    }

    /// `<project>`, `<project>-prod`, `<project>-test`: Compose project names allow lowercase
    /// letters, digits, `_` and `-`, starting with a letter or digit.
    fn project_name(&self) -> String {
        let base: String = self
            .model
            .project
            .name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
            .collect();
        let base = base.trim_start_matches(['_', '-']);
        let base = if base.is_empty() { "sight" } else { base };
        match self.env {
            Env::Dev => base.to_string(),
            Env::Prod => format!("{base}-prod"),
            Env::Test => format!("{base}-test"),
        }
    }

    fn usage(&self, runners: &[Runner]) -> String {
        let file = file_name(self.env);
        match self.env {
            Env::Dev => {
                format!("# Run: docker compose -f {file} up   (development: reload, bind mounts, ports on 127.0.0.1)\n")
            }
            Env::Prod => format!(
                "# Run: docker compose -f {file} up -d   (standalone: never combine it with docker-compose.yml)\n"
            ),
            Env::Test if runners.is_empty() => {
                format!("# Run: docker compose -f {file} up   (ephemeral stores: nothing survives `down`)\n")
            }
            Env::Test => runners
                .iter()
                .map(|r| {
                    let name = r.name();
                    format!(
                        "# Run: docker compose -f {file} up --abort-on-container-exit --exit-code-from {name} {name}\n"
                    )
                })
                .collect(),
        }
    }

    /// The services of this file: all of them in development and production; in the test
    /// file, those the runners need (boot-tested services and dependencies, transitively).
    fn services_in_file(&self, runners: &[Runner]) -> Vec<&'a Service> {
        if self.env != Env::Test {
            return self.model.services.values().map(|s| &**s).collect();
        }
        let mut needed = BTreeSet::new();
        let mut pending: Vec<&str> = Vec::new();
        for runner in runners {
            if runner.boot_test {
                pending.push(&runner.service.name);
            } else {
                pending
                    .extend(runner.service.depends_on.iter().filter(|d| !d.target_is_store).map(|d| d.target.as_str()));
            }
        }
        while let Some(name) = pending.pop() {
            let Some(service) = self.model.services.get(name) else { continue };
            if needed.insert(name) {
                pending.extend(service.depends_on.iter().filter(|d| !d.target_is_store).map(|d| d.target.as_str()));
            }
        }
        self.model.services.values().map(|s| &**s).filter(|s| needed.contains(s.name.as_str())).collect()
    }

    /// Test runners: services a `compose_test` step targets, and built services with a probe.
    fn runners(&self) -> Result<Vec<Runner<'a>>, InternalError> {
        let mut runners = Vec::new();
        for service in self.model.services.values() {
            if let Some(command) = self.compose_test_command(&service.name) {
                runners.push(Runner { service, command: command_words(command), boot_test: false });
            } else if service.build.is_some() && service.has_health_probe() {
                let command = self
                    .probe(service, Target::Development, &service.name, production_port(service))?
                    .unwrap_or_default();
                runners.push(Runner { service, command, boot_test: true });
            }
        }
        Ok(runners)
    }

    /// The command of the first step (pipelines by name, steps in order) that runs the
    /// service's Compose test runner.
    fn compose_test_command(&self, service: &str) -> Option<&'a str> {
        self.model
            .pipelines
            .values()
            .flat_map(|p| &p.steps)
            .filter(|step| step.service == service && step.kind.step.as_ref().is_some_and(|s| s.compose_runner))
            .find_map(|step| step.params.get("command").and_then(|v| v.as_str()))
    }

    fn store(
        &self,
        store: &'a Store,
        host_ports: &mut BTreeSet<u16>,
        volumes: &mut IndexMap<String, VolumeSpec>,
    ) -> ComposeService<'a> {
        let mut entry = ComposeService {
            image: Some(Cow::Borrowed(store.image.as_str())),
            command: store.command.iter().map(|c| dollars(c)).collect(),
            environment: store.environment.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), dollars(v))).collect(),
            secrets: sorted_unique(store.secrets.iter().map(|s| Cow::Borrowed(s.as_str()))),
            healthcheck: Some(Healthcheck {
                test: store.health.test.iter().map(|t| dollars(t)).collect(),
                interval: duration_compact(store.health.interval_ms),
                timeout: duration_compact(store.health.timeout_ms),
                retries: store.health.retries,
                start_period: start_period(store.health.start_period_ms),
            }),
            ..ComposeService::default()
        };
        match self.env {
            Env::Dev | Env::Prod => {
                let volume = format!("{}_data", store.name);
                entry.volumes.push(Cow::Owned(format!("{volume}:{}", dollars(&store.data_dir))));
                volumes.insert(volume, VolumeSpec::default());
            }
            Env::Test => {
                let others = store.kind.store.as_ref().map(|s| s.other_volumes.as_slice()).unwrap_or_default();
                entry.tmpfs = std::iter::once(&store.data_dir).chain(others).map(|d| dollars(d)).collect();
            }
        }
        if self.env == Env::Dev && host_ports.insert(store.port) {
            entry.ports.push(format!("127.0.0.1:{0}:{0}", store.port));
        }
        if self.env == Env::Prod {
            entry.restart = Some(Cow::Borrowed(PROD_RESTART));
        }
        entry
    }

    fn service(&self, service: &'a Service) -> Result<ComposeService<'a>, InternalError> {
        // Development runs the dev stage; production and the test file's services the image
        // that ships.
        let target = if self.env == Env::Dev { Target::Development } else { Target::Production };
        let config = service.config(self.env);
        let (environment, secrets) = environment(&config.env);
        let mut entry = ComposeService {
            command: config.command.iter().map(|c| dollars(c)).collect(),
            environment,
            secrets,
            ..self.image(service, target)
        };
        if let (Some(host), Some(container)) = (self.host_port(service), container_port(service, target)) {
            entry.ports.push(match self.env {
                Env::Prod => format!("{host}:{container}"),
                Env::Dev | Env::Test => format!("127.0.0.1:{host}:{container}"),
            });
        }
        if self.env != Env::Prod {
            entry.volumes = config.mounts.iter().map(|m| Cow::Owned(self.mount(m))).collect();
        }
        if let Some(health) = &service.health {
            let test = match &service.build {
                Some(_) => self.probe(service, target, "127.0.0.1", container_port(service, target))?.map(|argv| {
                    std::iter::once(Cow::Borrowed("CMD")).chain(argv.into_iter().map(Cow::Owned)).collect()
                }),
                None => prebuilt_probe(service),
            };
            if let Some(test) = test {
                entry.healthcheck = Some(Healthcheck {
                    test,
                    interval: duration_compact(health.interval_ms),
                    timeout: duration_compact(health.timeout_ms),
                    retries: health.retries,
                    start_period: start_period(health.start_period_ms),
                });
            }
        }
        let limits = match (self.env, &service.deploy) {
            (Env::Prod, Some(deploy)) => {
                Some(Limits { cpus: Some(number(deploy.cpu)), memory: Some(size_docker(deploy.memory_bytes)) })
            }
            _ => service
                .container
                .limits
                .as_ref()
                .map(|l| Limits { cpus: l.cpus.map(number), memory: l.memory_bytes.map(size_docker) }),
        };
        let reservations = service.container.extras().gpus.as_ref().map(|gpus| Reservations {
            devices: vec![Device {
                driver: "nvidia",
                count: gpus
                    .parse::<u32>()
                    .map_or_else(|_| serde_json::Value::from(gpus.as_str()), serde_json::Value::from),
                capabilities: vec!["gpu"],
            }],
        });
        let limits = (limits.is_some() || reservations.is_some()).then_some(Resources { limits, reservations });
        let replicas = Some(config.replicas).filter(|r| *r != 1);
        if limits.is_some() || replicas.is_some() {
            entry.deploy = Some(DeploySpec { replicas, resources: limits });
        }
        if self.env == Env::Prod {
            entry.restart = Some(Cow::Borrowed(PROD_RESTART));
        }
        Ok(entry)
    }

    fn runner(&self, runner: &Runner<'a>) -> ComposeService<'a> {
        let image = self.image(runner.service, Target::Development);
        let command = runner.command.iter().map(|c| Cow::Owned(dollars(c).into_owned())).collect();
        if runner.boot_test {
            // It only requests the service's health endpoint: no environment, secret or mount.
            return ComposeService { command, ..image };
        }
        let config = runner.service.config(Env::Test);
        let (environment, secrets) = environment(&config.env);
        ComposeService {
            command,
            environment,
            secrets,
            volumes: config.mounts.iter().map(|m| Cow::Owned(self.mount(m))).collect(),
            ..image
        }
    }

    /// The container settings of a service or store (`ports`, `volumes`, `networks`, …),
    /// declaring the named volumes and networks they use. The test file publishes no port,
    /// restarts nothing and ignores profiles (its runners need their services).
    fn container(
        &self,
        entry: &mut ComposeService<'a>,
        options: &'a ContainerOptions,
        volumes: &mut IndexMap<String, VolumeSpec>,
        networks: &mut BTreeMap<String, NetworkSpec>,
    ) {
        let extras = options.extras();
        if self.env != Env::Test {
            entry.ports.extend(extras.ports.iter().map(|p| match self.env {
                Env::Dev => loopback_port(p),
                _ => p.clone(),
            }));
            if let Some(restart) = &options.restart {
                entry.restart = Some(Cow::Borrowed(restart.as_str()));
            }
            entry.profiles = extras.profiles.iter().map(|p| Cow::Borrowed(p.as_str())).collect();
        }
        for volume in &extras.volumes {
            if let Some((name, _)) = volume.split_once(':') {
                volumes.entry(name.to_string()).or_default();
            }
            entry.volumes.push(dollars(volume));
        }
        entry.tmpfs.extend(extras.tmpfs.iter().map(|t| dollars(t)));
        for network in &extras.networks {
            if network != "default" {
                networks.entry(network.clone()).or_default();
            }
        }
        entry.networks = if extras.aliases.is_empty() {
            ServiceNetworks::List(extras.networks.clone())
        } else {
            // Aliases are per network: the same ones on each (`default` when none is named).
            let names = if extras.networks.is_empty() { vec!["default".to_string()] } else { extras.networks.clone() };
            ServiceNetworks::Aliased(
                names.into_iter().map(|n| (n, NetworkAttachment { aliases: extras.aliases.clone() })).collect(),
            )
        };
        entry.entrypoint = extras.entrypoint.iter().map(|e| dollars(e)).collect();
        entry.user = extras.user.as_deref().map(dollars);
        entry.env_file = extras.env_files.iter().map(|f| self.rebase(f)).collect();
        entry.labels = extras.labels.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), dollars(v))).collect();
        let secrets = std::mem::take(&mut entry.secrets);
        entry.secrets =
            sorted_unique(secrets.into_iter().chain(extras.secrets.iter().map(|s| Cow::Borrowed(s.as_str()))));
        entry.tty = extras.tty;
        entry.stdin_open = extras.stdin_open;
        entry.read_only = extras.read_only;
        entry.security_opt = extras.security_opt.iter().map(|o| Cow::Borrowed(o.as_str())).collect();
        entry.ulimits = extras.ulimits.iter().filter_map(|(k, v)| Some((k.clone(), Ulimit::parse(v)?))).collect();
        if let Some(health) = &options.health_check {
            entry.healthcheck = Some(Healthcheck {
                test: health.test.iter().map(|t| dollars(t)).collect(),
                interval: duration_compact(health.interval_ms),
                timeout: duration_compact(health.timeout_ms),
                retries: health.retries,
                start_period: start_period(health.start_period_ms),
            });
        }
    }

    /// `build:` of a built service: sight's Dockerfile at the file's stage, or the context's
    /// own Dockerfile with its own stage and arguments.
    fn build_spec(&self, build: &Build, target: Target) -> BuildSpec {
        let context = self.rebase(&build.context);
        if !build.own_dockerfile() {
            return BuildSpec {
                context,
                dockerfile: None,
                target: Some(target.name().to_string()),
                args: BTreeMap::new(),
            };
        }
        let text = |key: &str| build.fields.get(key).and_then(Value::as_str).map(|t| dollars(t).into_owned());
        let args = match build.fields.get("args") {
            Some(Value::Map(map)) => map.iter().map(|(k, v)| (k.clone(), dollars(v).into_owned())).collect(),
            _ => BTreeMap::new(),
        };
        BuildSpec { context, dockerfile: text("dockerfile"), target: text("target"), args }
    }

    /// `image` (and `build` for a built service).
    fn image(&self, service: &'a Service, target: Target) -> ComposeService<'a> {
        match &service.build {
            Some(build) => ComposeService {
                image: Some(Cow::Owned(format!(
                    "{}/{}:{}",
                    self.model.project.gcp.registry,
                    service.name,
                    target.name()
                ))),
                pull_policy: Some("build"),
                build: Some(self.build_spec(build, target)),
                ..ComposeService::default()
            },
            None => ComposeService { image: service.image.as_deref().map(Cow::Borrowed), ..ComposeService::default() },
        }
    }

    /// The published host port of a service in this file.
    fn host_port(&self, service: &Service) -> Option<u16> {
        service.config(self.env).publish
    }

    /// The runtime's probe (`dev_probe` for the development image) for `http://host:port/path`,
    /// with `$` doubled; `None` without `health`, a port or a probe.
    fn probe(
        &self,
        service: &Service,
        target: Target,
        host: &str,
        port: Option<u16>,
    ) -> Result<Option<Vec<String>>, InternalError> {
        let (Some(health), Some(port)) = (&service.health, port) else { return Ok(None) };
        let Some(argv) = probe_argv(service, target) else { return Ok(None) };
        // Half of Docker's timeout, at least 1 s, in whole seconds: the Dockerfile emitter's
        // number, so that the HEALTHCHECK and the Compose health check are the same command.
        let probe_timeout = (health.timeout_ms / 2000).max(1);
        let context = serde_json::json!({
            "url": format!("http://{host}:{port}{}", health.path),
            "probe_timeout": probe_timeout,
            "probe_timeout_ms": probe_timeout * 1000,
        });
        argv.iter()
            .map(|part| {
                crate::template::render(part, &context)
                    .map(|s| dollars(&s).into_owned())
                    .map_err(|e| InternalError(format!("the health probe of runtime kind of `{}`: {e}", service.name)))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A path relative to the project root, as seen from the compose folder.
    fn rebase(&self, path: &str) -> String {
        dollars(&rebase(self.root, path)).into_owned()
    }

    /// `./host:/container[:mode]` with the host side rebased.
    fn mount(&self, mount: &str) -> String {
        match mount.split_once(':') {
            Some((host, rest)) => format!("{}:{}", self.rebase(host), dollars(rest)),
            None => dollars(mount).into_owned(),
        }
    }
}

/// What the entries of one file's `services` mapping depend on across the file: each
/// service's and runner's entry is built just before it is written and dropped after.
struct Containers<'c, 'a> {
    builder: &'c ComposeBuilder<'a>,
    healthy: BTreeSet<&'a str>,
    jobs: BTreeSet<&'a str>,
    config_names: &'c BTreeMap<String, String>,
    /// What the entries built so far use.
    found: Found,
}

/// The volumes, networks, secrets and configs the containers use, gathered as they are built.
#[derive(Default)]
struct Found {
    /// In the order they are first used: the stores' data volumes, then the services'.
    volumes: IndexMap<String, VolumeSpec>,
    networks: BTreeMap<String, NetworkSpec>,
    secrets: BTreeSet<String>,
    configs: BTreeSet<String>,
}

impl Found {
    fn record(&mut self, entry: &ComposeService) {
        for secret in &entry.secrets {
            if !self.secrets.contains(secret.as_ref()) {
                self.secrets.insert(secret.to_string());
            }
        }
        for config in &entry.configs {
            if !self.configs.contains(&config.source) {
                self.configs.insert(config.source.clone());
            }
        }
    }
}

impl<'a> Containers<'_, 'a> {
    fn service(&mut self, service: &'a Service) -> Result<ComposeService<'a>, InternalError> {
        let b = self.builder;
        let mut entry = b.service(service)?;
        let Found { volumes, networks, .. } = &mut self.found;
        b.container(&mut entry, &service.container, volumes, networks);
        entry.configs = config_mounts(service, self.config_names);
        if entry.healthcheck.is_some() != self.healthy.contains(service.name.as_str()) {
            return Err(InternalError(format!("the health check of `{}` was foreseen wrongly", service.name)));
        }
        entry.depends_on = self.depends_on(service.depends_on.iter().map(|d| d.target.as_str()));
        self.found.record(&entry);
        Ok(entry)
    }

    fn runner(&mut self, runner: &Runner<'a>) -> ComposeService<'a> {
        let mut entry = self.builder.runner(runner);
        if !runner.boot_test {
            // The tests run the service's code, which reads its configuration files.
            entry.configs = config_mounts(runner.service, self.config_names);
        }
        // The runner reaches its service over the networks the service is on.
        entry.networks = ServiceNetworks::List(runner.service.container.extras().networks.clone());
        entry.depends_on = if runner.boot_test {
            self.depends_on([runner.service.name.as_str()])
        } else {
            self.depends_on(runner.service.depends_on.iter().map(|d| d.target.as_str()))
        };
        self.found.record(&entry);
        entry
    }

    /// `depends_on` of a container waiting for `targets`, each with its condition.
    fn depends_on<'t>(&self, targets: impl IntoIterator<Item = &'t str>) -> Entries<Str<'t>, DependsOn> {
        targets
            .into_iter()
            .map(|target| {
                let condition = if self.jobs.contains(target) {
                    "service_completed_successfully"
                } else if self.healthy.contains(target) {
                    "service_healthy"
                } else {
                    "service_started"
                };
                (Cow::Borrowed(target), DependsOn { condition })
            })
            .collect()
    }
}

/// The runtime's probe command for `target` (`dev_probe` for the development image, when the
/// runtime has one); `None` when it has none.
fn probe_argv(service: &Service, target: Target) -> Option<&[String]> {
    let runtime = service.build.as_ref()?.runtime.runtime.as_ref()?;
    let argv = match target {
        Target::Development if !runtime.dev_probe.is_empty() => &runtime.dev_probe,
        _ => &runtime.probe,
    };
    (!argv.is_empty()).then_some(argv.as_slice())
}

/// The health check of a prebuilt image: sight does not know its tools, so it asks busybox or
/// GNU `wget --spider`, then `curl -f` (each fails on an error status). An image with neither
/// stays unhealthy, and `up` stops with "container … is unhealthy" instead of starting its
/// dependents early.
fn prebuilt_probe(service: &Service) -> Option<Vec<Str<'static>>> {
    let (Some(health), Some(port)) = (&service.health, service.port) else { return None };
    let url = format!("http://127.0.0.1:{port}{}", health.path);
    let seconds = (health.timeout_ms / 2000).max(1);
    // The path holds no quote (the checker allows `[A-Za-z0-9._~/?&=%-]`), so single quotes
    // keep `&` and `?` away from the shell.
    let script = format!("wget -q -T {seconds} --spider '{url}' || curl -fsS -m {seconds} -o /dev/null '{url}'");
    Some(vec![Cow::Borrowed("CMD-SHELL"), Cow::Owned(dollars(&script).into_owned())])
}

/// The top-level config name of every configuration file of the project, by source path:
/// the path without `./`, other characters than `[A-Za-z0-9._-]` replaced by `_`
/// (`proxy/nginx.conf` → `proxy_nginx.conf`), then `_2`, `_3`… should two paths meet.
fn config_names(model: &Model) -> BTreeMap<String, String> {
    let sources: BTreeSet<&str> =
        model.services.values().flat_map(|s| &s.config_files).map(|c| c.source.as_str()).collect();
    let mut names = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for source in sources {
        let base: String = source
            .trim_start_matches("./")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.insert(source.to_string(), name);
    }
    names
}

/// A service's configuration files, mounted read-only (Compose's default for configs).
fn config_mounts(service: &Service, names: &BTreeMap<String, String>) -> Vec<ConfigMount> {
    service
        .config_files
        .iter()
        .filter_map(|c| {
            Some(ConfigMount { source: names.get(&c.source)?.clone(), target: dollars(&c.target).into_owned() })
        })
        .collect()
}

/// A published port of the development file on the loopback interface unless the spec names
/// an address: `8080:80` → `127.0.0.1:8080:80`, `3000` → `127.0.0.1::3000`.
fn loopback_port(port: &str) -> String {
    let mapping = port.split('/').next().unwrap_or(port);
    match mapping.matches(':').count() {
        0 => format!("127.0.0.1::{port}"),
        1 => format!("127.0.0.1:{port}"),
        _ => port.to_string(),
    }
}

/// The container port a service listens on in `target`: the runtime's fixed production port
/// (nginx) or the service's own.
fn container_port(service: &Service, target: Target) -> Option<u16> {
    match target {
        Target::Production => production_port(service),
        Target::Development => service.port,
    }
}

fn production_port(service: &Service) -> Option<u16> {
    service.build.as_ref().and_then(|b| b.runtime.runtime.as_ref()).and_then(|r| r.fixed_port).or(service.port)
}

/// The environment with `$` doubled, in name order, and the secrets it reads. A secret `VAR`
/// becomes `VAR_FILE=/run/secrets/<secret>` (a name already ending in `_FILE` is kept); it
/// wins over a plain variable of the same name, and of two secrets that meet so, the later
/// (by name) wins.
fn environment(env: &crate::model::EnvMap) -> (Entries<Str<'_>, Str<'_>>, Vec<Str<'_>>) {
    // (name, value, rank): plain variables rank 0, secrets by their place in `env`, from 1.
    let mut out: Vec<(Str, Str, usize)> = Vec::with_capacity(env.len());
    let mut secrets = Vec::new();
    for (place, (name, value)) in env.iter().enumerate() {
        match value {
            EnvValue::Text(text) => out.push((Cow::Borrowed(name.as_str()), dollars(text), 0)),
            EnvValue::StoreUrl { url, .. } => out.push((Cow::Borrowed(name.as_str()), dollars(url), 0)),
            EnvValue::Secret(secret) => {
                let var = if name.ends_with("_FILE") {
                    Cow::Borrowed(name.as_str())
                } else {
                    Cow::Owned(format!("{name}_FILE"))
                };
                out.push((var, Cow::Owned(dollars(&format!("{SECRETS_DIR}/{secret}")).into_owned()), place + 1));
                secrets.push(Cow::Borrowed(secret.as_str()));
            }
        }
    }
    // By name, the highest rank first; then the first of each name is kept.
    out.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
    out.dedup_by(|later, kept| later.0 == kept.0);
    (out.into_iter().map(|(name, value, _)| (name, value)).collect(), sorted_unique(secrets))
}

fn sorted_unique<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    items.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
}

fn start_period(ms: u64) -> Option<String> {
    (ms > 0).then(|| duration_compact(ms))
}

/// Every `$` doubled: Compose reads `$$` as a literal `$` (FACTS §3 "Interpolation"). Most
/// values have none and are borrowed from the model.
fn dollars(text: &str) -> Str<'_> {
    if text.contains('$') {
        Cow::Owned(text.replace('$', "$$"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The project root seen from the compose folder `dir` (relative to the root): `./` or
/// `../` per folder level.
fn root_from(dir: &str) -> Result<String, InternalError> {
    let mut depth = 0;
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(InternalError(format!("the compose folder `{dir}` leaves the project"))),
            _ => depth += 1,
        }
    }
    Ok(if depth == 0 { "./".to_string() } else { "../".repeat(depth) })
}

/// `path` (relative to the project root unless absolute) relative to the compose folder.
fn rebase(root: &str, path: &str) -> String {
    if path.starts_with('/') || path.starts_with('~') {
        return path.to_string();
    }
    let mut rest = path;
    while let Some(stripped) = rest.strip_prefix("./") {
        rest = stripped;
    }
    match rest.trim_end_matches('/') {
        "" | "." if root == "./" => ".".to_string(),
        "" | "." => root.trim_end_matches('/').to_string(),
        rest => format!("{root}{rest}"),
    }
}

/// A test command as argv: split into words as the shell would, or `sh -c` when it uses
/// shell syntax (pipes, `&&`, variables, globs, redirections) that splitting cannot keep.
pub(crate) fn command_words(command: &str) -> Vec<String> {
    shell_words(command)
        .filter(|words| !words.is_empty())
        .unwrap_or_else(|| vec!["sh".to_string(), "-c".to_string(), command.to_string()])
}

/// Plain words with `'…'`, `"…"` and `\` quoting; `None` on shell syntax or an open quote.
fn shell_words(text: &str) -> Option<Vec<String>> {
    const SHELL_SYNTAX: &str = "|&;<>()$`*?[]{}~#!\n";
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => w.push(other),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' => return None,
                        '\\' => match chars.next()? {
                            escaped @ ('"' | '\\') => w.push(escaped),
                            other => {
                                w.push('\\');
                                w.push(other);
                            }
                        },
                        other => w.push(other),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            c if SHELL_SYNTAX.contains(c) => return None,
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // a failing test panics
mod tests {
    use super::*;
    use crate::project::{compile, ProjectInput};
    use serde_yaml::Value as Yaml;

    const SRC: &str = r#"
project demo {
  gcp { project = "demo-prod"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/demo-prod/app" }
}
secret pw { from = secret_manager("db-password", version = 3) }
secret token { from = secret_manager("api-token", version = 1) }
database db : postgres { user = "demo"  name = "demo_db"  password = secret.pw }
database graph : neo4j { password = secret.pw }
cache redis : redis { version = 7 }
service api {
  build : python { version = "3.12"  context = "api" }
  command = ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
  port = 8000
  health = http("/health") { interval = 30s  timeout = 10s  start_period = 90s  retries = 3 }
  env {
    DATABASE_URL = db.url(driver = "postgresql+asyncpg")
    DATABASE_PASSWORD = secret.pw
    API_TOKEN = secret.token
    GREETING = "costs $5 in ${CURRENCY}"
    DEBUG = "true"
    WORKERS = "4"
  }
  depends_on = [db, graph, redis, mail]
  dev { mount = ["./api/app:/app/app"]  command = ["uvicorn", "app.main:app", "--reload", "--host", "0.0.0.0", "--port", "8000"] }
  deploy : cloud_run {
    memory = 2Gi  cpu = 2  concurrency = 80  min_instances = 0  max_instances = 10
    env {
      DATABASE_URL = "postgresql+asyncpg://demo@/demo_db?host=/cloudsql/demo-prod:europe-west1:demo-db"
      NEO4J_URI = "neo4j+s://graph.demo.internal:7687"
    }
  }
}
service web {
  build : node_static { version = "20" }
  port = 5173
  health = http("/")
  depends_on = [api, jobs]
}
service gw {
  build : go { version = "1.22" }
  port = 8081
  health = http("/healthz")
}
service jobs {
  build : node { version = "20" }
  port = 3000
}
service pinger {
  build : node { version = "20" }
  port = 3001
  health = http("/ready") { timeout = 3s }
  test { command = ["node", "ping.js"] }
}
service mail { image = "axllent/mailpit:v1.20.0"  port = 8025  health = http("/livez") }
pipeline ci {
  trigger = push(branch = "main")
  step build = docker_build(api)
  step build_jobs = docker_build(jobs)
  step integration = compose_test(api, "pytest tests/integration/ -v --timeout=600")
  step jobs_it = compose_test(jobs, "npm test -- --grep 'queue works'")
}
"#;

    fn model_of(src: &str) -> Model {
        let compiled = compile(&ProjectInput {
            manifest: String::new(),
            sources: vec![("a.sight".into(), src.into())],
            ..Default::default()
        });
        let errors: Vec<String> =
            compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| format!("{d:?}")).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        compiled.model.expect("the spec compiles")
    }

    fn texts(dir: &str) -> BTreeMap<String, String> {
        emit(&model_of(SRC), dir).expect("emits").into_iter().map(|a| (a.path, a.contents)).collect()
    }

    fn files() -> BTreeMap<Env, Yaml> {
        let texts = texts(".");
        Env::ALL
            .into_iter()
            .map(|env| (env, serde_yaml::from_str(&texts[file_name(env)]).expect("valid YAML")))
            .collect()
    }

    fn services(file: &Yaml) -> Vec<(String, &Yaml)> {
        file["services"]
            .as_mapping()
            .expect("services")
            .iter()
            .map(|(k, v)| (k.as_str().expect("name").to_string(), v))
            .collect()
    }

    #[test]
    fn three_standalone_files_without_version() {
        let texts = texts(".");
        assert_eq!(
            texts.keys().collect::<Vec<_>>(),
            ["docker-compose.prod.yml", "docker-compose.test.yml", "docker-compose.yml"]
        );
        for (env, file) in files() {
            assert!(file.get("version").is_none(), "{env:?} has a version key");
            let suffix = match env {
                Env::Dev => "",
                Env::Prod => "-prod",
                Env::Test => "-test",
            };
            assert_eq!(file["name"], format!("demo{suffix}").as_str());
        }
        for text in texts.values() {
            assert!(text.starts_with("# Code generated by sight"), "{text}");
        }
    }

    #[test]
    fn service_healthy_exactly_where_the_dependency_has_a_healthcheck() {
        let mut checked = 0;
        for (env, file) in files() {
            let services = services(&file);
            let has_healthcheck = |name: &str| {
                services.iter().find(|(n, _)| n == name).is_some_and(|(_, s)| s.get("healthcheck").is_some())
            };
            for (name, service) in &services {
                for (target, dep) in service["depends_on"].as_mapping().into_iter().flatten() {
                    let target = target.as_str().expect("name");
                    assert!(services.iter().any(|(n, _)| n == target), "{env:?}: {name} waits on absent {target}");
                    let expected = if has_healthcheck(target) { "service_healthy" } else { "service_started" };
                    assert_eq!(dep["condition"], expected, "{env:?}: {name} → {target}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 10);
        // A prebuilt image is asked with wget, else curl; a service without `health` has no
        // health check, so its dependents only wait for it to start.
        let dev = &files()[&Env::Dev];
        assert_eq!(
            dev["services"]["mail"]["healthcheck"]["test"][1],
            "wget -q -T 5 --spider 'http://127.0.0.1:8025/livez' || curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:8025/livez'"
        );
        assert_eq!(dev["services"]["api"]["depends_on"]["mail"]["condition"], "service_healthy");
        assert_eq!(dev["services"]["api"]["depends_on"]["db"]["condition"], "service_healthy");
        assert_eq!(dev["services"]["web"]["depends_on"]["api"]["condition"], "service_healthy");
        assert_eq!(dev["services"]["web"]["depends_on"]["jobs"]["condition"], "service_started");
    }

    #[test]
    fn every_dollar_is_doubled() {
        for (path, text) in texts(".") {
            assert!(!text.replace("$$", "").contains('$'), "{path} has a single `$`");
        }
        let dev = &files()[&Env::Dev];
        assert_eq!(dev["services"]["api"]["environment"]["GREETING"], "costs $$5 in $${CURRENCY}");
        let test = &dev["services"]["db"]["healthcheck"]["test"];
        assert_eq!(test[1], r#"pg_isready -h 127.0.0.1 -U "$${POSTGRES_USER}" -d "$${POSTGRES_DB}""#);
    }

    #[test]
    fn stdlib_store_health_tests_are_written_container_side() {
        // The convention: stdlib data holds what the container runs; only this module escapes.
        let model = model_of(SRC);
        for store in model.stores.values() {
            for part in &store.health.test {
                assert!(!part.contains("$$"), "{}: {part}", store.name);
            }
        }
    }

    #[test]
    fn secret_variables_win_over_plain_ones_of_the_same_name() {
        let mut env = crate::model::EnvMap::new();
        for (name, value) in [
            ("A", EnvValue::Secret("s1".into())),
            ("A_FILE", EnvValue::Text("plain".into())),
            ("B", EnvValue::Secret("s3".into())),
            ("B_FILE", EnvValue::Secret("s2".into())),
            ("C", EnvValue::Text("x$y".into())),
            ("Z_FILE", EnvValue::Text("kept".into())),
        ] {
            env.insert(name.into(), value);
        }
        let (entries, secrets) = environment(&env);
        let written: Vec<(&str, &str)> = entries.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(
            written,
            [("A_FILE", "/run/secrets/s1"), ("B_FILE", "/run/secrets/s2"), ("C", "x$$y"), ("Z_FILE", "kept")]
        );
        assert_eq!(secrets, ["s1", "s2", "s3"]);
    }

    #[test]
    fn environment_values_stay_strings() {
        let dev = &files()[&Env::Dev];
        let env = &dev["services"]["api"]["environment"];
        assert_eq!(env["DEBUG"], Yaml::String("true".into()));
        assert_eq!(env["WORKERS"], Yaml::String("4".into()));
        for (_, service) in services(dev) {
            for value in service["environment"].as_mapping().into_iter().flatten().map(|(_, v)| v) {
                assert!(value.is_string(), "{value:?}");
            }
            for port in service["ports"].as_sequence().into_iter().flatten() {
                assert!(port.is_string(), "{port:?}");
            }
        }
    }

    #[test]
    fn numbers_and_booleans_in_env_are_written_as_rust_displays_them() {
        let model = model_of(&format!(
            "project p {{ {GCP} }}\nservice api {{\n  image = \"nginx:1.27\"\n  env {{ RATIO = 2.0  SHARE = 0.25  BIG = 10000000000000000.0  COUNT = 3  ON = true }}\n}}\n"
        ));
        let dev = emit(&model, ".").expect("emits").into_iter().find(|a| a.path == "docker-compose.yml").expect("dev");
        let yaml: Yaml = serde_yaml::from_str(&dev.contents).expect("valid YAML");
        let env = &yaml["services"]["api"]["environment"];
        for (name, value) in
            [("RATIO", "2"), ("SHARE", "0.25"), ("BIG", "10000000000000000"), ("COUNT", "3"), ("ON", "true")]
        {
            assert_eq!(env[name], Yaml::String(value.into()), "{name}");
        }
    }

    #[test]
    fn prod_has_no_bind_mounts_and_has_restart_and_limits() {
        let prod = &files()[&Env::Prod];
        let named: Vec<&str> = prod["volumes"].as_mapping().expect("volumes").keys().filter_map(Yaml::as_str).collect();
        for (name, service) in services(prod) {
            assert_eq!(service["restart"], "unless-stopped", "{name}");
            for volume in service["volumes"].as_sequence().into_iter().flatten() {
                let source = volume.as_str().and_then(|v| v.split(':').next()).expect("short syntax");
                assert!(named.contains(&source), "{name} mounts `{source}`, not a named volume");
            }
            if let Some(build) = service.get("build") {
                assert_eq!(build["target"], "production", "{name}");
            }
        }
        let limits = &prod["services"]["api"]["deploy"]["resources"]["limits"];
        assert_eq!(limits["cpus"], Yaml::String("2".into()));
        assert_eq!(limits["memory"], "2G");
        assert_eq!(prod["services"]["api"]["ports"][0], "8000:8000");
        // nginx listens on the runtime's fixed port in production.
        assert_eq!(prod["services"]["web"]["ports"][0], "5173:8080");
        assert!(services(prod).iter().all(|(name, _)| !name.ends_with(TEST_RUNNER_SUFFIX)));
        let dev = &files()[&Env::Dev];
        assert_eq!(dev["services"]["api"]["volumes"][0], "./api/app:/app/app");
        assert_eq!(dev["services"]["api"]["ports"][0], "127.0.0.1:8000:8000");
        assert_eq!(dev["services"]["web"]["ports"][0], "127.0.0.1:5173:5173");
        assert!(dev["services"]["api"].get("restart").is_none());
    }

    #[test]
    fn test_stores_are_ephemeral() {
        let test = &files()[&Env::Test];
        assert!(test.get("volumes").is_none());
        assert_eq!(test["services"]["db"]["tmpfs"][0], "/var/lib/postgresql/data");
        assert_eq!(test["services"]["graph"]["tmpfs"], serde_yaml::from_str::<Yaml>("[/data, /logs]").expect("yaml"));
        for (name, service) in services(test) {
            assert!(service.get("volumes").is_none(), "{name} has volumes");
            assert!(service.get("ports").is_none(), "{name} publishes in the test file");
        }
    }

    #[test]
    fn test_runners() {
        let test = &files()[&Env::Test];
        let names: Vec<String> = services(test).into_iter().map(|(n, _)| n).collect();
        // Stores, the services the runners need (the boot-tested gw, pinger and web; web's
        // dependencies api and jobs; api's dependency mail), then the runners: one per
        // compose_test target (api, jobs) and per built service with a probe (gw, pinger, web);
        // none for mail (prebuilt).
        assert_eq!(
            names,
            [
                "db",
                "graph",
                "redis",
                "api",
                "gw",
                "jobs",
                "mail",
                "pinger",
                "web",
                "api-test",
                "gw-test",
                "jobs-test",
                "pinger-test",
                "web-test"
            ]
        );
        // The test overlay configures the service itself; its boot test only probes it.
        assert_eq!(
            test["services"]["pinger"]["command"],
            serde_yaml::from_str::<Yaml>("[node, ping.js]").expect("yaml")
        );
        assert_eq!(test["services"]["pinger-test"]["command"][1], "-e");
        assert!(test["services"]["pinger-test"]["command"][2]
            .as_str()
            .is_some_and(|c| c.contains("'http://pinger:3001/ready'") && c.contains("AbortSignal.timeout(1000)")));
        assert!(test["services"]["pinger-test"].get("environment").is_none());
        let api = &test["services"]["api-test"];
        assert_eq!(api["build"]["target"], "development");
        assert_eq!(
            api["command"],
            serde_yaml::from_str::<Yaml>(r#"[pytest, tests/integration/, -v, "--timeout=600"]"#).expect("yaml")
        );
        assert_eq!(api["depends_on"]["db"]["condition"], "service_healthy");
        assert_eq!(api["depends_on"]["mail"]["condition"], "service_healthy");
        assert_eq!(test["services"]["jobs-test"]["command"][4], "queue works");
        // Without a compose_test step, the runner boot-tests the service over the network.
        let gw = &test["services"]["gw-test"];
        assert_eq!(gw["command"][1], "http://gw:8081/healthz");
        assert_eq!(gw["depends_on"]["gw"]["condition"], "service_healthy");
        assert_eq!(test["services"]["gw"]["build"]["target"], "production");
        let web = &test["services"]["web-test"];
        assert_eq!(web["command"][0], "node");
        assert!(web["command"][2].as_str().is_some_and(|c| c.contains("http://web:8080/")));
    }

    #[test]
    fn secrets_are_files_never_literals() {
        for (env, file) in files() {
            let secrets = file["secrets"].as_mapping().expect("secrets");
            assert_eq!(secrets.len(), 2, "{env:?}");
            for (name, source) in secrets {
                let name = name.as_str().expect("name");
                assert_eq!(source["file"], format!("./secrets/{name}.txt").as_str());
            }
        }
        let dev = &files()[&Env::Dev];
        let api = &dev["services"]["api"];
        assert!(api["environment"].get("DATABASE_PASSWORD").is_none());
        assert_eq!(api["environment"]["DATABASE_PASSWORD_FILE"], "/run/secrets/pw");
        assert_eq!(api["environment"]["API_TOKEN_FILE"], "/run/secrets/token");
        assert_eq!(api["secrets"], serde_yaml::from_str::<Yaml>("[pw, token]").expect("yaml"));
        assert_eq!(dev["services"]["db"]["secrets"], serde_yaml::from_str::<Yaml>("[pw]").expect("yaml"));
    }

    #[test]
    fn paths_are_rebased_onto_the_compose_folder() {
        let texts = texts("deploy/compose");
        let dev: Yaml = serde_yaml::from_str(&texts["deploy/compose/docker-compose.yml"]).expect("yaml");
        assert_eq!(dev["services"]["api"]["build"]["context"], "../../api");
        assert_eq!(dev["services"]["api"]["volumes"][0], "../../api/app:/app/app");
        assert_eq!(dev["secrets"]["pw"]["file"], "../../secrets/pw.txt");
        assert_eq!(rebase("./", "."), ".");
        assert_eq!(rebase("../", "."), "..");
        assert_eq!(rebase("../../", "./api/"), "../../api");
        assert_eq!(rebase("./", "/abs/path"), "/abs/path");
        assert!(root_from("../x").is_err());
    }

    #[test]
    fn probes_equal_the_dockerfile_healthchecks() {
        let model = model_of(SRC);
        let dockerfiles = crate::emit::dockerfile::emit(&model).expect("dockerfiles");
        let prod = &files()[&Env::Prod];
        let mut compared = 0;
        for service in model.services.values().filter(|s| s.build.is_some() && s.health.is_some()) {
            let build = service.build.as_ref().expect("built");
            let dockerfile = dockerfiles
                .iter()
                .find(|a| a.path == join(&build.context, "Dockerfile"))
                .expect("a Dockerfile per built service");
            let cmd = dockerfile
                .contents
                .lines()
                .skip_while(|l| !l.starts_with("HEALTHCHECK"))
                .nth(1)
                .and_then(|l| l.trim().strip_prefix("CMD "))
                .expect("a HEALTHCHECK CMD line");
            let test: Vec<String> =
                serde_yaml::from_value(prod["services"][service.name.as_str()]["healthcheck"]["test"].clone())
                    .expect("a health check");
            let parts: Vec<String> = test.iter().skip(1).map(|p| serde_json::to_string(p).expect("json")).collect();
            assert_eq!(format!("[{}]", parts.join(", ")), cmd, "{}", service.name);
            compared += 1;
        }
        assert_eq!(compared, 4);
    }

    #[test]
    fn output_is_byte_identical_across_runs() {
        assert_eq!(texts("."), texts("."));
        assert_eq!(texts("deploy/compose"), texts("deploy/compose"));
    }

    #[test]
    fn store_ports_are_published_once() {
        let src = SRC.replace(
            "cache redis : redis { version = 7 }",
            "cache redis : redis { version = 7 }\ndatabase db2 : postgres { password = secret.pw }",
        );
        let model = model_of(&src);
        let dev = emit(&model, ".").expect("emits").into_iter().find(|a| a.path == "docker-compose.yml").expect("dev");
        let dev: Yaml = serde_yaml::from_str(&dev.contents).expect("yaml");
        assert_eq!(dev["services"]["db"]["ports"][0], "127.0.0.1:5432:5432");
        assert!(dev["services"]["db2"].get("ports").is_none());
    }

    /// Codes of the error diagnostics of a spec with the demo project block.
    fn error_codes(body: &str) -> Vec<&'static str> {
        let src = format!("{}\n{body}", SRC.lines().take(4).collect::<Vec<_>>().join("\n"));
        let compiled = compile(&ProjectInput { sources: vec![("a.sight".into(), src)], ..Default::default() });
        compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.code).collect()
    }

    #[test]
    fn the_checker_rejects_what_compose_cannot_express() {
        // A runner name taken by a declared service.
        assert_eq!(
            error_codes("service api { image = \"nginx:1.27.0\" }\nservice api-test { image = \"nginx:1.27.0\" }"),
            ["S0101"]
        );
        // A host port with no container port to map it to.
        assert_eq!(error_codes("service web { image = \"nginx:1.27.0\"  publish = 8080 }"), ["S0111"]);
        assert!(error_codes("service web { image = \"nginx:1.27.0\"  port = 80  publish = 8080 }").is_empty());
    }

    #[test]
    fn config_files_are_read_only_configs_in_every_file() {
        let src = format!(
            "{}\n{}",
            SRC.lines().take(4).collect::<Vec<_>>().join("\n"),
            r#"service proxy {
  image = "nginx:1.27.4-alpine"
  port = 80
  configs = ["./proxy/nginx.conf:/etc/nginx/conf.d/default.conf", "proxy/mime types:/etc/nginx/mime.types"]
}
service edge {
  image = "nginx:1.27.4-alpine"
  port = 81
  configs = ["./proxy/nginx.conf:/etc/nginx/nginx.conf"]
}"#
        );
        let model = model_of(&src);
        let artifacts = emit(&model, "deploy").expect("emits");
        for env in [Env::Dev, Env::Prod] {
            let text = &artifacts.iter().find(|a| a.path == join("deploy", file_name(env))).expect("file").contents;
            let file: Yaml = serde_yaml::from_str(text).expect("valid YAML");
            // Declared once, from the compose folder; the name is the path, made a Compose name.
            assert_eq!(file["configs"]["proxy_nginx.conf"]["file"], "../proxy/nginx.conf", "{}", env.name());
            assert_eq!(file["configs"]["proxy_mime_types"]["file"], "../proxy/mime types");
            let proxy = &file["services"]["proxy"]["configs"];
            assert_eq!(proxy[0]["source"], "proxy_nginx.conf");
            assert_eq!(proxy[0]["target"], "/etc/nginx/conf.d/default.conf");
            // Two services share one declaration of one file.
            assert_eq!(file["services"]["edge"]["configs"][0]["source"], "proxy_nginx.conf");
            assert_eq!(file["configs"].as_mapping().map(|m| m.len()), Some(2));
            // Never a bind mount: production allows none.
            assert!(file["services"]["proxy"]["volumes"].is_null());
        }
        // Malformed entries, a target mounted twice, a deployed service with configs.
        assert_eq!(error_codes(r#"service p { image = "nginx:1.27.4"  configs = ["nginx.conf"] }"#), ["S0112"]);
        assert_eq!(
            error_codes(r#"service p { image = "nginx:1.27.4"  configs = ["/etc/n.conf:/etc/n.conf"] }"#),
            ["S0112"]
        );
        assert_eq!(
            error_codes(r#"service p { image = "nginx:1.27.4"  configs = ["n.conf:/etc/n.conf:ro"] }"#),
            ["S0112"]
        );
        assert_eq!(error_codes(r#"service p { image = "nginx:1.27.4"  configs = ["n.conf:etc/n.conf"] }"#), ["S0112"]);
        assert_eq!(error_codes(r#"service p { image = "nginx:1.27.4"  configs = ["a:/n", "b:/n"] }"#), ["S0113"]);
        assert_eq!(
            error_codes(
                r#"service p { image = "nginx:1.27.4"  port = 80  configs = ["n:/n"]  deploy : cloud_run { } }"#
            ),
            ["S0184"]
        );
        assert_eq!(error_codes(r#"service p { image = "nginx:1.27.4"  dev { configs = ["n:/n"] } }"#), ["S0115"]);
    }

    const CONTAINER_SRC: &str = r#"
project demo { gcp { project = "p"  region = "europe-west1"  registry = "gcr.io/p" } }
secret key { from = secret_manager("key", version = 1) }
network back { internal = true  name = "shared-back" }
database db : postgres { password = secret.key  restart = "always"  networks = ["back"] }
service api {
  build : dockerfile { context = "api"  dockerfile = "Dockerfile.dev"  target = "builder"  args { MODE = "dev" } }
  port = 8000
  ports = ["9229:9229", "5000/udp", "0.0.0.0:8443:443"]
  volumes = ["cache:/cache", "/app/node_modules"]
  tmpfs = ["/tmp"]
  networks = ["front", "back"]
  aliases = ["api.internal"]
  restart = "on-failure:3"
  entrypoint = ["/entry.sh"]
  user = "1000"
  secrets = [secret.key, secret.token]
  env_file = ["api/.env"]
  labels { "traefik.enable" = "true" }
  limits { cpus = 0.5  memory = 512Mi }
  health = command(["curl", "-f", "http://localhost:8000/"]) { interval = 5s }
  depends_on = [db, seed]
  tty = true
  stdin_open = true
  read_only = true
  profiles = ["app"]
  ulimits { nofile = "1024:65536"  nproc = 512 }
  security_opt = ["no-new-privileges"]
  gpus = "all"
}
secret token { from = secret_manager("token", version = 1)  env = "API_TOKEN" }
volume cache { driver_opts { type = "tmpfs"  device = "tmpfs" } }
service seed { image = "busybox:1.36"  command = ["true"]  job = true  profiles = ["app"]  networks = ["back"] }
"#;

    #[test]
    fn container_options_are_written_as_declared() {
        let model = model_of(CONTAINER_SRC);
        let texts: BTreeMap<String, String> =
            emit(&model, ".").expect("emits").into_iter().map(|a| (a.path, a.contents)).collect();
        let dev: Yaml = serde_yaml::from_str(&texts["docker-compose.yml"]).expect("yaml");
        let api = &dev["services"]["api"];
        // Development ports on the loopback unless an address is given.
        assert_eq!(
            api["ports"],
            serde_yaml::from_str::<Yaml>(
                r#"["127.0.0.1:8000:8000", "127.0.0.1:9229:9229", "127.0.0.1::5000/udp", "0.0.0.0:8443:443"]"#
            )
            .expect("yaml")
        );
        assert_eq!(api["build"]["dockerfile"], "Dockerfile.dev");
        assert_eq!(api["build"]["target"], "builder");
        assert_eq!(api["build"]["args"]["MODE"], "dev");
        assert_eq!(api["volumes"], serde_yaml::from_str::<Yaml>("[cache:/cache, /app/node_modules]").expect("yaml"));
        assert!(dev["volumes"].get("cache").is_some());
        assert_eq!(api["networks"]["front"]["aliases"][0], "api.internal");
        assert_eq!(dev["networks"]["back"]["internal"], true);
        assert_eq!(dev["networks"]["back"]["name"], "shared-back");
        assert!(dev["networks"].get("front").is_some());
        assert_eq!(api["restart"], "on-failure:3");
        assert_eq!(api["healthcheck"]["test"][0], "CMD");
        assert_eq!(api["healthcheck"]["timeout"], "30s", "Docker's default");
        assert_eq!(api["depends_on"]["seed"]["condition"], "service_completed_successfully");
        assert_eq!(api["depends_on"]["db"]["condition"], "service_healthy");
        assert_eq!(api["deploy"]["resources"]["limits"]["memory"], "512M");
        assert_eq!(api["env_file"][0], "./api/.env");
        assert_eq!(api["secrets"][0], "key");
        for flag in ["tty", "stdin_open", "read_only"] {
            assert_eq!(api[flag], true, "{flag}");
        }
        assert_eq!(dev["services"]["db"]["networks"][0], "back");
        assert_eq!(api["ulimits"]["nofile"]["soft"], 1024);
        assert_eq!(api["ulimits"]["nproc"], 512);
        assert_eq!(api["security_opt"][0], "no-new-privileges");
        let gpu = &api["deploy"]["resources"]["reservations"]["devices"][0];
        assert_eq!(
            (&gpu["driver"], &gpu["count"], &gpu["capabilities"][0]),
            (&"nvidia".into(), &"all".into(), &"gpu".into())
        );
        assert_eq!(dev["secrets"]["token"]["environment"], "API_TOKEN");
        assert!(dev["secrets"]["token"].get("file").is_none());
        assert_eq!(dev["volumes"]["cache"]["driver_opts"]["type"], "tmpfs");
        assert_eq!(dev["services"]["db"]["restart"], "always");
        // A context with its own Dockerfile gets none written.
        assert!(!texts.keys().any(|p| p.ends_with("Dockerfile")));
        // The test file publishes nothing, restarts nothing and ignores profiles.
        let test: Yaml = serde_yaml::from_str(&texts["docker-compose.test.yml"]).expect("yaml");
        for (name, service) in services(&test) {
            for key in ["ports", "restart", "profiles"] {
                assert!(service.get(key).is_none(), "{name} has {key}");
            }
        }
        let prod: Yaml = serde_yaml::from_str(&texts["docker-compose.prod.yml"]).expect("yaml");
        assert_eq!(prod["services"]["api"]["ports"][1], "9229:9229");
        assert_eq!(prod["services"]["api"]["restart"], "on-failure:3");
    }

    #[test]
    fn the_checker_rejects_container_settings_compose_cannot_take() {
        for (body, code) in [
            ("service a { image = \"n:1\"  ports = [\"x:80\"] }", "S0112"),
            ("service a { image = \"n:1\"  volumes = [\"./src:/src\"] }", "S0115"),
            ("service a { image = \"n:1\"  restart = \"sometimes\" }", "S0114"),
            ("service a { image = \"n:1\"  limits { memory = 1Mi } }", "S0114"),
            ("service a { image = \"n:1\"  health = shell(\"\") }", "S0112"),
            (
                "service a { image = \"n:1\"  profiles = [\"x\"] }\nservice b { image = \"n:1\"  depends_on = [a] }",
                "S0107",
            ),
            ("network n { colour = \"red\" }", "S0110"),
        ] {
            assert_eq!(error_codes(body), [code], "{body}");
        }
    }

    #[test]
    fn test_commands_split_like_the_shell() {
        let words = |s: &str| command_words(s);
        assert_eq!(words("pytest tests/ -v"), ["pytest", "tests/", "-v"]);
        assert_eq!(words(r#"npm test -- --grep 'a b' "c \"d\"""#), ["npm", "test", "--", "--grep", "a b", r#"c "d""#]);
        assert_eq!(words("make test && echo ok"), ["sh", "-c", "make test && echo ok"]);
        assert_eq!(words("echo $HOME"), ["sh", "-c", "echo $HOME"]);
        assert_eq!(words("echo 'open"), ["sh", "-c", "echo 'open"]);
    }

    const GCP: &str =
        r#"gcp { project = "p"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/p/app" }"#;

    /// A sink that keeps each piece apart.
    #[derive(Default)]
    struct Pieces(Vec<String>);

    impl Sink for Pieces {
        fn put(&mut self, text: &str) {
            self.0.push(text.to_string());
        }
    }

    #[test]
    fn a_large_file_is_put_in_pieces_that_make_the_whole_text() {
        let services: String = (0..2000)
            .map(|i| {
                let publish = 10_000 + i;
                format!("service svc-{i} {{\n  image = \"registry.example.com/svc-{i}:1.0\"\n  port = 8000\n  publish = {publish}\n}}\n")
            })
            .collect();
        let model = model_of(&format!("project big {{ {GCP} }}\n{services}"));
        let whole = emit(&model, ".").expect("emits");
        let pieces = emit_into(&model, ".", &|_: &str| Pieces::default()).expect("emits");
        assert_eq!(pieces.len(), whole.len());
        for ((path, Pieces(parts)), artifact) in pieces.iter().zip(&whole) {
            assert_eq!(*path, artifact.path);
            assert_eq!(parts.concat(), artifact.contents, "{path}");
            if artifact.contents.len() > 2 * PUT_EVERY {
                assert!(parts.len() > 2, "{path}: {} bytes in {} piece(s)", artifact.contents.len(), parts.len());
            }
            // Put as soon as it passes PUT_EVERY: no piece holds much more than that.
            assert!(parts.iter().all(|p| p.len() < PUT_EVERY + 4096), "{path}");
        }
        let sizes: Vec<usize> = whole.iter().map(|a| a.contents.len()).collect();
        assert!(sizes.iter().any(|&n| n > 2 * PUT_EVERY), "the project is large enough to be put in pieces: {sizes:?}");
    }

    #[test]
    fn a_project_without_containers_writes_an_empty_services_mapping() {
        for artifact in emit(&model_of(&format!("project empty {{ {GCP} }}\n")), ".").expect("emits") {
            assert!(artifact.contents.ends_with("\nservices: {}\n"), "{}", artifact.contents);
            let yaml: Yaml = serde_yaml::from_str(&artifact.contents).expect("valid YAML");
            assert_eq!(yaml["services"], Yaml::Mapping(Default::default()), "{}", artifact.path);
        }
    }
}
