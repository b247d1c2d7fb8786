//! Property tests: generated VALID projects (random services, stores, secrets, channels,
//! pipelines and alerts, with random names and the hardest strings YAML knows as values)
//! check with no error, build, format idempotently without changing the tree, and every
//! string of the spec reads back unchanged from the YAML artifacts (Compose with `$` doubled:
//! Compose interpolates `$`, and `$$` is its literal dollar).
//!
//! Case counts are modest for CI (2 cores): `PROPTEST_CASES=1000 cargo test properties` runs
//! more.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::select;

use sight::project::{compile, ProjectInput};

/// Strings that change meaning in YAML 1.1 or 1.2, in shells or in Compose when written
/// carelessly (issue 7, "the YAML round trip").
const HARD: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "N",
    "Yes",
    "NO",
    "On",
    "OFF",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "false",
    "True",
    "FALSE",
    "1e3",
    "1E3",
    "0x1F",
    "0o17",
    "0b101",
    ".inf",
    "-.inf",
    ".NaN",
    "012",
    "1_000",
    "+1",
    "-1",
    "1.0",
    "1.",
    "12:30",
    "8080:22",
    "2001-12-14",
    "*star",
    "&anchor",
    "!tag",
    "!!str",
    "%percent",
    "@at",
    "`tick",
    "|pipe",
    ">folded",
    "'single",
    "\"double",
    "#hash",
    "- dash",
    "-",
    "--",
    "?",
    "? key",
    ":",
    "key: value",
    "a #comment",
    "a#b",
    " leading",
    "trailing ",
    "  ",
    "",
    "line\nbreak",
    "\n",
    "two\n\nlines",
    "tab\there",
    "\ttab",
    "cr\rhere",
    "é",
    "日本語",
    "emoji 😀",
    "\u{2028}",
    "\u{85}",
    "\u{feff}bom",
    "$HOME",
    "${VAR}",
    "${VAR:-x}",
    "$$",
    "$",
    "a$b",
    "$(cmd)",
    "{",
    "}",
    "[",
    "]",
    "{a: 1}",
    "[1, 2]",
    ",",
    "a, b",
    "---",
    "...",
    "<<",
    "=",
    "\\",
    "\\n",
    "'",
    "\"",
    "''",
    "\"\"",
    "%YAML 1.1",
    "0",
    "00",
    "0.0",
    "-0",
    "1e",
    "0x",
    "=yes",
];

/// A value string: a hard one, printable random text, or two hard ones joined.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(HARD).prop_map(str::to_string),
        2 => "\\PC{0,16}",
        1 => (select(HARD), select(HARD)).prop_map(|(a, b)| format!("{a}{b}")),
    ]
}

/// A word of a service command: anything but a flag the port checks read.
fn word() -> impl Strategy<Value = String> {
    value().prop_filter("not a port or host flag", |w| {
        let flag = w.split('=').next().unwrap_or_default();
        !["--port", "-p", "--host", "--bind", "-b", "-H"].contains(&flag)
    })
}

/// An environment variable name that no rule reads as a credential or a build-time variable.
fn env_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,10}".prop_filter("no credential-looking or reserved name", |n| {
        !["PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY", "VITE_", "_FILE", "PORT"]
            .iter()
            .any(|m| n.contains(m))
    })
}

#[derive(Clone, Debug)]
enum EnvSpec {
    Text(String),
    Secret(usize),
    StoreUrl(usize),
}

#[derive(Clone, Debug)]
struct ServiceSpec {
    built: bool,
    image_repo: String,
    image_tag: String,
    command: Option<Vec<String>>,
    env: BTreeMap<String, EnvSpec>,
    dev_env: BTreeMap<String, String>,
    dev_command: Option<Vec<String>>,
    test_env: BTreeMap<String, String>,
    depends: Vec<usize>,
    deploy: Option<(u32, u32)>,
    health: bool,
}

#[derive(Clone, Debug)]
struct Spec {
    project: String,
    gcp_project: String,
    region: String,
    /// (Secret Manager id, version).
    secrets: Vec<(String, u32)>,
    /// `true`: postgres (with its own secret), `false`: redis.
    stores: Vec<(bool, String, String)>,
    services: Vec<ServiceSpec>,
    channel: Option<u64>,
    alert_percent: u32,
    alert_minutes: u32,
    pipeline: bool,
    one_line: bool,
}

fn service(n_secrets: usize, n_stores: usize, index: usize) -> impl Strategy<Value = ServiceSpec> {
    let env_value = prop_oneof![
        4 => value().prop_map(EnvSpec::Text),
        1 => (0..n_secrets.max(1)).prop_map(EnvSpec::Secret),
        1 => (0..n_stores.max(1)).prop_map(EnvSpec::StoreUrl),
    ];
    let text_env = || proptest::collection::btree_map(env_name(), value(), 0..3);
    (
        (any::<bool>(), "[a-z][a-z0-9]{0,8}(/[a-z][a-z0-9]{0,6})?", "[0-9]{1,2}\\.[0-9]{1,2}(\\.[0-9])?"),
        proptest::option::of(proptest::collection::vec(word(), 1..5)),
        proptest::collection::btree_map(env_name(), env_value, 0..5),
        (text_env(), proptest::option::of(proptest::collection::vec(word(), 1..4)), text_env()),
        proptest::collection::vec(0..index.max(1) + n_stores, 0..3),
        proptest::option::of((1u32..4, 1u32..20)),
        any::<bool>(),
    )
        .prop_map(
            move |((built, repo, tag), command, env, (dev_env, dev_command, test_env), depends, deploy, health)| {
                let env = env
                    .into_iter()
                    .filter(|(_, v)| match v {
                        EnvSpec::Secret(_) => n_secrets > 0,
                        EnvSpec::StoreUrl(_) => n_stores > 0,
                        EnvSpec::Text(_) => true,
                    })
                    .collect();
                ServiceSpec {
                    built,
                    image_repo: repo,
                    image_tag: tag,
                    command,
                    env,
                    dev_env,
                    dev_command,
                    test_env,
                    // Earlier services (indexes below `index`) or stores (from `index` on).
                    depends,
                    deploy,
                    health,
                }
            },
        )
}

fn spec() -> impl Strategy<Value = Spec> {
    (0usize..3, 0usize..3, 1usize..4)
        .prop_flat_map(|(n_secrets, n_stores, n_services)| {
            let services: Vec<_> = (0..n_services).map(|i| service(n_secrets, n_stores, i)).collect();
            (
                (
                    "[a-z][a-z0-9]{0,10}",
                    "[a-z][a-z0-9-]{4,20}[a-z0-9]",
                    select(&["europe-west1", "us-central1", "asia-east1"][..]),
                ),
                proptest::collection::vec(("[a-zA-Z0-9_-]{1,30}", 1u32..200), n_secrets),
                proptest::collection::vec((any::<bool>(), value(), value()), n_stores),
                services,
                (proptest::option::of(any::<u64>()), 1u32..100, 1u32..60),
                (any::<bool>(), any::<bool>()),
            )
        })
        .prop_map(
            |(
                (project, gcp_project, region),
                secrets,
                stores,
                services,
                (channel, percent, minutes),
                (pipeline, one_line),
            )| Spec {
                project,
                gcp_project,
                region: region.to_string(),
                secrets,
                stores,
                services,
                channel,
                alert_percent: percent,
                alert_minutes: minutes,
                pipeline,
                one_line,
            },
        )
}

fn q(s: &str) -> String {
    sight::format::quote(s)
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

impl Spec {
    fn service_name(&self, i: usize) -> String {
        format!("svc{i}")
    }

    fn store_name(&self, i: usize) -> String {
        format!("store{i}")
    }

    /// Secrets: the declared ones, then one per postgres store, then the channel's webhook.
    fn secret_name(&self, i: usize) -> String {
        format!("sec{i}")
    }

    fn store_secret(&self, store: usize) -> usize {
        self.secrets.len() + store
    }

    /// The spec text, in one of two layouts (one-line or multi-line blocks).
    fn source(&self) -> String {
        let (open, sep, close) = if self.one_line { (" { ", "  ", " }") } else { (" {\n  ", "\n  ", "\n}") };
        let block = |head: String, members: Vec<String>| {
            if members.is_empty() {
                format!("{head} {{ }}\n")
            } else {
                format!("{head}{open}{}{close}\n", members.join(sep))
            }
        };
        let mut out = format!(
            "project {} {{\n  gcp {{ project = {}  region = {}  registry = {} }}\n}}\n",
            self.project,
            q(&self.gcp_project),
            q(&self.region),
            q(&format!("{}-docker.pkg.dev/{}/app", self.region, self.gcp_project))
        );
        for (i, (id, version)) in self.secrets.iter().enumerate() {
            out += &format!(
                "secret {} {{ from = secret_manager({}, version = {version}) }}\n",
                self.secret_name(i),
                q(id)
            );
        }
        for (i, (postgres, user, name)) in self.stores.iter().enumerate() {
            let store = self.store_name(i);
            if *postgres {
                let secret = self.secret_name(self.store_secret(i));
                out += &format!(
                    "secret {secret} {{ from = secret_manager({}, version = 1) }}\n",
                    q(&format!("{store}-password"))
                );
                out += &block(
                    format!("database {store} : postgres"),
                    vec![
                        format!("user = {}", q(user)),
                        format!("name = {}", q(name)),
                        format!("password = secret.{secret}"),
                    ],
                );
            } else {
                out += &block(format!("cache {store} : redis"), vec!["version = 7".into()]);
            }
        }
        if self.channel.is_some() {
            out += "secret hook { from = secret_manager(\"webhook\", version = 1) }\n";
        }
        for (i, s) in self.services.iter().enumerate() {
            let mut members = Vec::new();
            if s.built {
                members.push("build : python { }".to_string());
            } else {
                members.push(format!("image = {}", q(&format!("{}:{}", s.image_repo, s.image_tag))));
            }
            members.push(format!("port = {}", 2000 + i * 10));
            if s.health {
                members.push("health = http(\"/health\")".into());
            }
            if let Some(command) = &s.command {
                members.push(format!("command = {}", list(command)));
            }
            let env: Vec<String> = s
                .env
                .iter()
                .map(|(k, v)| match v {
                    EnvSpec::Text(t) => format!("{k} = {}", q(t)),
                    EnvSpec::Secret(n) => format!("{k} = secret.{}", self.secret_name(*n)),
                    EnvSpec::StoreUrl(n) => format!("{k} = {}.url", self.store_name(*n)),
                })
                .collect();
            if !env.is_empty() {
                members.push(format!("env {{ {} }}", env.join("  ")));
            }
            let depends: BTreeSet<String> = s
                .depends
                .iter()
                .filter_map(|d| {
                    if *d < i {
                        Some(self.service_name(*d))
                    } else {
                        let store = d - i;
                        (store < self.stores.len()).then(|| self.store_name(store))
                    }
                })
                .collect();
            if !depends.is_empty() {
                members.push(format!("depends_on = [{}]", depends.into_iter().collect::<Vec<_>>().join(", ")));
            }
            let text_env = |env: &BTreeMap<String, String>| {
                env.iter().map(|(k, v)| format!("{k} = {}", q(v))).collect::<Vec<_>>().join("  ")
            };
            let mut dev = Vec::new();
            if !s.dev_env.is_empty() {
                dev.push(format!("env {{ {} }}", text_env(&s.dev_env)));
            }
            if let Some(command) = &s.dev_command {
                dev.push(format!("command = {}", list(command)));
            }
            if !dev.is_empty() {
                members.push(format!("dev {{ {} }}", dev.join("  ")));
            }
            if !s.test_env.is_empty() {
                members.push(format!("test {{ env {{ {} }} }}", text_env(&s.test_env)));
            }
            if let Some((cpu, max)) = s.deploy {
                let (cpu, memory) = match cpu % 3 {
                    0 => (1, "512Mi"),
                    1 => (2, "2Gi"),
                    _ => (4, "4Gi"),
                };
                // Store URLs name Compose hosts: production gets its own value (S0183).
                let overrides: Vec<String> = s
                    .env
                    .iter()
                    .filter(|(_, v)| matches!(v, EnvSpec::StoreUrl(_)))
                    .map(|(k, _)| format!("{k} = \"prod-{}\"", k.to_ascii_lowercase()))
                    .collect();
                let env =
                    if overrides.is_empty() { String::new() } else { format!("  env {{ {} }}", overrides.join("  ")) };
                members.push(format!(
                    "deploy : cloud_run {{ memory = {memory}  cpu = {cpu}  max_instances = {max}{env} }}"
                ));
            }
            out += &block(format!("service {}", self.service_name(i)), members);
        }
        if let Some(id) = self.channel {
            out += &format!(
                "channel oncall : slack {{ webhook = secret.hook  id = {} }}\n",
                q(&format!("projects/{}/notificationChannels/{id}", self.gcp_project))
            );
            for (i, _) in self.services.iter().enumerate().filter(|(_, s)| s.deploy.is_some()) {
                out += &format!(
                    "alert errors{i} {{ on = {}  when error_rate > {}% for {}m  notify = oncall }}\n",
                    self.service_name(i),
                    self.alert_percent,
                    self.alert_minutes
                );
            }
        }
        let built: Vec<usize> =
            (0..self.services.len()).filter(|i| self.services.get(*i).is_some_and(|s| s.built)).collect();
        if self.pipeline && !built.is_empty() {
            let tests: Vec<String> = built.iter().map(|i| format!("test{i}")).collect();
            let mut steps = vec!["trigger = push(branch = \"main\")".to_string()];
            for i in &built {
                let name = self.service_name(*i);
                steps.push(format!("step build{i} = docker_build({name})"));
                steps.push(format!("step test{i} = run({name}, \"pytest -q tests/{i}\")"));
                steps.push(format!("step push{i} = push({name}) after [{}]", tests.join(", ")));
                if self.services.get(*i).is_some_and(|s| s.deploy.is_some()) {
                    steps.push(format!("step deploy{i} = deploy({name}) after [push{i}]"));
                }
            }
            if self.channel.is_some() {
                steps.push("notify = oncall".into());
            }
            out += &format!("pipeline release {{\n  {}\n}}\n", steps.join("\n  "));
        }
        out
    }
}

/// Every string (keys and values, at any depth) of a YAML document.
fn strings(value: &serde_yaml::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_yaml::Value::String(s) => {
            out.insert(s.clone());
        }
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
        serde_yaml::Value::Mapping(map) => {
            for (k, v) in map {
                strings(k, out);
                strings(v, out);
            }
        }
        serde_yaml::Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// The environment of a service in a parsed Compose file, as written there.
fn compose_env(doc: &serde_yaml::Value, service: &str) -> BTreeMap<String, String> {
    let env = doc.get("services").and_then(|s| s.get(service)).and_then(|s| s.get("environment"));
    let mut out = BTreeMap::new();
    if let Some(serde_yaml::Value::Mapping(map)) = env {
        for (k, v) in map {
            let key = k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}"));
            // Not `as_str` alone: a value read back as a bool, a number or null is the bug.
            let value = v.as_str().map(str::to_string).unwrap_or_else(|| format!("<not a string: {v:?}>"));
            out.insert(key, value);
        }
    }
    out
}

fn compose_command(doc: &serde_yaml::Value, service: &str) -> Option<Vec<String>> {
    let command = doc.get("services")?.get(service)?.get("command")?.as_sequence()?;
    Some(
        command
            .iter()
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| format!("<not a string: {v:?}>")))
            .collect(),
    )
}

/// Compose interpolates `$`; sight writes `$$`, its literal dollar.
fn compose_text(s: &str) -> String {
    s.replace('$', "$$")
}

fn check_spec(spec: &Spec) -> Result<(), TestCaseError> {
    let source = spec.source();
    let input = ProjectInput { sources: vec![("app.sight".into(), source.clone())], ..ProjectInput::default() };
    let compiled = compile(&input);
    let report = || {
        sight::diagnostics::render::render(
            &compiled.diagnostics,
            &compiled.sources,
            "",
            sight::diagnostics::render::Format::Human,
            false,
        )
    };
    prop_assert!(!compiled.has_errors(), "a valid project has errors:\n{}\n{source}", report());
    let model = compiled.model.as_ref().ok_or_else(|| TestCaseError::fail("no model"))?;

    // Formatting: idempotent, keeps the tree.
    let once = sight::format::format_source(&source).ok_or_else(|| TestCaseError::fail("not formatted"))?;
    prop_assert_eq!(sight::format::format_source(&once), Some(once.clone()), "formatting is not idempotent");
    prop_assert_eq!(
        sight::format::tree_shape(&once),
        sight::format::tree_shape(&source),
        "formatting changed the tree"
    );

    // Build.
    let artifacts = sight::emit::emit(model).map_err(|e| TestCaseError::fail(format!("emit failed: {}", e.0)))?;
    let mut docs: BTreeMap<String, serde_yaml::Value> = BTreeMap::new();
    for a in &artifacts {
        if a.path.ends_with(".yaml") || a.path.ends_with(".yml") {
            let doc: serde_yaml::Value = serde_yaml::from_str(&a.contents)
                .map_err(|e| TestCaseError::fail(format!("{} does not parse: {e}\n{}", a.path, a.contents)))?;
            docs.insert(a.path.clone(), doc);
        }
    }

    // The round trip: every string of the spec reads back unchanged.
    for (i, s) in spec.services.iter().enumerate() {
        let name = spec.service_name(i);
        for (env, file) in [
            (sight::model::Env::Dev, "docker-compose.yml"),
            (sight::model::Env::Prod, "docker-compose.prod.yml"),
            (sight::model::Env::Test, "docker-compose.test.yml"),
        ] {
            let doc = docs.get(file).ok_or_else(|| TestCaseError::fail(format!("no {file}")))?;
            if doc.get("services").and_then(|x| x.get(name.as_str())).is_none() {
                prop_assert!(env == sight::model::Env::Test, "{name} is missing from {file}");
                continue;
            }
            let written = compose_env(doc, &name);
            let overlay = match env {
                sight::model::Env::Dev => &s.dev_env,
                sight::model::Env::Test => &s.test_env,
                sight::model::Env::Prod => &BTreeMap::new(),
            };
            let mut expected: BTreeMap<&String, &String> =
                s.env.iter().filter_map(|(k, v)| if let EnvSpec::Text(t) = v { Some((k, t)) } else { None }).collect();
            expected.extend(overlay.iter());
            for (k, v) in expected {
                prop_assert_eq!(written.get(k), Some(&compose_text(v)), "{} of {} in {}", k, name, file);
            }
            let command = match (env, &s.dev_command) {
                (sight::model::Env::Dev, Some(c)) => Some(c),
                _ => s.command.as_ref(),
            };
            if let (Some(command), false) = (command, s.built && env == sight::model::Env::Dev && s.command.is_none()) {
                let want: Vec<String> = command.iter().map(|w| compose_text(w)).collect();
                prop_assert_eq!(compose_command(doc, &name), Some(want), "command of {} in {}", name, file);
            }
        }
        if s.deploy.is_some() {
            let file = format!("deploy/cloud-run/{name}.yaml");
            let doc = docs.get(&file).ok_or_else(|| TestCaseError::fail(format!("no {file}")))?;
            let mut found = BTreeSet::new();
            strings(doc, &mut found);
            for (k, v) in &s.env {
                if let EnvSpec::Text(t) = v {
                    prop_assert!(found.contains(k) && found.contains(t), "{k} = {t:?} of {name} is not in {file}");
                }
            }
        }
    }
    if spec.channel.is_some() {
        let mut found = BTreeSet::new();
        for (path, doc) in &docs {
            if path.starts_with("monitoring/") {
                strings(doc, &mut found);
            }
        }
        let id = format!("projects/{}/notificationChannels/{}", spec.gcp_project, spec.channel.unwrap_or_default());
        if spec.services.iter().any(|s| s.deploy.is_some()) {
            prop_assert!(found.contains(&id), "the channel id is not in the alert policies");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        max_shrink_iters: 200,
        // Failures are printed with their spec; no file is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn valid_projects_check_build_format_and_round_trip(spec in spec()) {
        check_spec(&spec)?;
    }

    #[test]
    fn every_hard_string_reads_back_from_compose(values in proptest::collection::vec(value(), 1..8)) {
        let env: BTreeMap<String, EnvSpec> =
            values.iter().enumerate().map(|(i, v)| (format!("E{i}"), EnvSpec::Text(v.clone()))).collect();
        let service = ServiceSpec {
            built: false,
            image_repo: "nginx".into(),
            image_tag: "1.27".into(),
            command: Some(values.clone()),
            env,
            dev_env: BTreeMap::new(),
            dev_command: None,
            test_env: BTreeMap::new(),
            depends: Vec::new(),
            deploy: Some((1, 3)),
            health: false,
        };
        let spec = Spec {
            project: "shop".into(),
            gcp_project: "shop-prod".into(),
            region: "europe-west1".into(),
            secrets: Vec::new(),
            stores: Vec::new(),
            services: vec![service],
            channel: None,
            alert_percent: 1,
            alert_minutes: 5,
            pipeline: false,
            one_line: false,
        };
        check_spec(&spec)?;
    }
}

/// Every hard string, one at a time, without randomness: a failure names the string.
#[test]
fn each_hard_string_round_trips() {
    for hard in HARD {
        let mut env = BTreeMap::new();
        env.insert("VALUE".to_string(), EnvSpec::Text((*hard).to_string()));
        let spec = Spec {
            project: "shop".into(),
            gcp_project: "shop-prod".into(),
            region: "europe-west1".into(),
            secrets: Vec::new(),
            stores: Vec::new(),
            services: vec![ServiceSpec {
                built: true,
                image_repo: String::new(),
                image_tag: String::new(),
                command: Some(vec![(*hard).to_string()]),
                env,
                dev_env: BTreeMap::new(),
                dev_command: None,
                test_env: BTreeMap::new(),
                depends: Vec::new(),
                deploy: Some((1, 3)),
                health: true,
            }],
            channel: None,
            alert_percent: 1,
            alert_minutes: 5,
            pipeline: true,
            one_line: true,
        };
        if let Err(e) = check_spec(&spec) {
            panic!("{hard:?}: {e}");
        }
    }
}
