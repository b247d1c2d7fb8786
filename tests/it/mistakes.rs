//! FACTS §7, "mistakes the compiler must make impossible": one test per mistake the emitters
//! rule out, asserted on what the flagship example actually generates.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use crate::support::*;

struct Out {
    files: BTreeMap<String, String>,
}

impl Out {
    fn build() -> Out {
        let compiled = compile_dir(&repo_root().join("examples/sight-platform"));
        let Some(model) = compiled.model.as_ref() else { panic!("{}", human(&compiled)) };
        let files = sight::emit::emit(model)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|a| (a.path, a.contents))
            .collect();
        Out { files }
    }

    fn text(&self, path: &str) -> &str {
        self.files.get(path).unwrap_or_else(|| panic!("no {path}; have {:?}", self.files.keys()))
    }

    fn yaml(&self, path: &str) -> Value {
        serde_yaml::from_str(self.text(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}

fn steps(build: &Value) -> Vec<&Value> {
    build["steps"].as_sequence().map(|s| s.iter().collect()).unwrap_or_default()
}

fn id(step: &Value) -> &str {
    step["id"].as_str().unwrap_or_default()
}

fn wait_for(step: &Value) -> Vec<&str> {
    step["waitFor"].as_sequence().map(|s| s.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn step<'a>(build: &'a Value, name: &str) -> &'a Value {
    steps(build).into_iter().find(|s| id(s) == name).unwrap_or_else(|| panic!("no step {name}"))
}

fn script(step: &Value) -> String {
    step["args"].as_sequence().and_then(|a| a.get(1)).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Every step `name` waits for, directly or not.
fn ancestors(build: &Value, name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        for w in wait_for(step(build, &n)) {
            if w != "-" && out.insert(w.to_string()) {
                todo.push(w.to_string());
            }
        }
    }
    out
}

#[test]
fn m01_rollback_runs_after_a_tolerated_smoke_failure_and_fails_the_build() {
    let b = Out::build().yaml("cloudbuild.yaml");
    let smoke = step(&b, "smoke");
    assert_eq!(smoke["allowExitCodes"], serde_yaml::from_str::<Value>("[1]").unwrap_or_default());
    let rollback =
        steps(&b).into_iter().find(|s| id(s).starts_with("rollback")).unwrap_or_else(|| panic!("no rollback step"));
    assert!(wait_for(rollback).contains(&"smoke"));
    assert!(script(rollback).contains("exit 1"), "the rollback step ends the build as a failure");
    // Notification is not a step: it is a Cloud Build notifier.
    assert!(steps(&b).iter().all(|s| !id(s).contains("notify")));
}

#[test]
fn m02_state_crosses_steps_only_through_workspace_files() {
    let b = Out::build().yaml("cloudbuild.yaml");
    let text = serde_yaml::to_string(&b).unwrap_or_default();
    assert!(text.contains("/workspace/"), "markers live under /workspace");
    assert!(!text.contains("_SMOKE_TEST_FAILED"));
}

#[test]
fn m03_smoke_tests_a_revision_without_traffic_and_promotion_waits_for_it() {
    let b = Out::build().yaml("cloudbuild.yaml");
    assert!(script(step(&b, "release")).contains("--no-traffic"));
    let promote =
        steps(&b).into_iter().find(|s| id(s).starts_with("promote")).unwrap_or_else(|| panic!("no promote step"));
    assert!(wait_for(promote).contains(&"smoke"));
}

#[test]
fn m05_every_step_has_explicit_wait_for_on_earlier_unique_ids() {
    let b = Out::build().yaml("cloudbuild.yaml");
    let mut seen = BTreeSet::new();
    for s in steps(&b) {
        let waits = wait_for(s);
        assert!(!waits.is_empty(), "{} has no waitFor", id(s));
        for w in waits {
            assert!(w == "-" || seen.contains(w), "{} waits for {w}, not an earlier step", id(s));
        }
        assert!(seen.insert(id(s)), "duplicate id {}", id(s));
    }
}

#[test]
fn m06_deploy_waits_for_the_push_of_its_image() {
    let b = Out::build().yaml("cloudbuild.yaml");
    assert!(ancestors(&b, "release").contains("push"));
}

#[test]
fn m07_m11_m12_shape_enums_durations_and_logging() {
    let b = Out::build().yaml("cloudbuild.yaml");
    assert_eq!(b["options"]["logging"], "CLOUD_LOGGING_ONLY");
    let allowed: BTreeSet<&str> = [
        "id",
        "name",
        "waitFor",
        "entrypoint",
        "args",
        "env",
        "secretEnv",
        "timeout",
        "allowExitCodes",
        "allowFailure",
        "dir",
        "volumes",
        "script",
    ]
    .into();
    for s in steps(&b) {
        for key in s.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str()) {
            assert!(allowed.contains(key), "step key {key}");
        }
        if let Some(t) = s["timeout"].as_str() {
            assert!(t.ends_with('s') && t.trim_end_matches('s').parse::<u64>().is_ok(), "timeout {t}");
        }
    }
    let machine = b["options"]["machineType"].as_str().unwrap_or("UNSPECIFIED");
    assert!(!machine.starts_with("N1_"), "deprecated machine type {machine}");
}

#[test]
fn m08_substitutions_are_well_formed_used_and_defined() {
    let out = Out::build();
    let b = out.yaml("cloudbuild.yaml");
    let defined: BTreeSet<String> = b["substitutions"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str().map(str::to_string))
        .collect();
    let text = out.text("cloudbuild.yaml");
    let used: BTreeSet<String> =
        sight::check::pipelines::substitution_refs(text).into_iter().filter(|n| n.starts_with('_')).collect();
    for key in &defined {
        assert!(sight::check::pipelines::is_substitution_key(key), "{key}");
    }
    assert_eq!(defined, used);
    assert!(!text.contains("ALLOW_LOOSE") && !text.contains("substitutionOption"));
}

#[test]
fn m09_images_of_a_repository_triggered_pipeline_are_tagged_by_commit() {
    let b = Out::build().yaml("cloudbuild.yaml");
    let text = serde_yaml::to_string(&b).unwrap_or_default();
    assert!(text.contains("api:$SHORT_SHA"));
}

#[test]
fn m10_secrets_are_declared_used_and_never_plain_env() {
    let b = Out::build().yaml("cloudbuild.yaml");
    let declared: BTreeSet<&str> = b["availableSecrets"]["secretManager"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|s| s["env"].as_str())
        .collect();
    let used: BTreeSet<&str> = steps(&b)
        .iter()
        .flat_map(|s| s["secretEnv"].as_sequence().into_iter().flatten().filter_map(Value::as_str))
        .collect();
    assert_eq!(declared, used);
    for s in steps(&b) {
        for e in s["env"].as_sequence().into_iter().flatten().filter_map(Value::as_str) {
            let name = e.split('=').next().unwrap_or_default();
            assert!(!declared.contains(name), "secret {name} also in plain env");
        }
    }
    for s in b["availableSecrets"]["secretManager"].as_sequence().into_iter().flatten() {
        assert!(!s["versionName"].as_str().unwrap_or_default().ends_with("/latest"), "unpinned secret");
    }
}

#[test]
fn m13_deploy_and_migrations_wait_for_every_test() {
    let b = Out::build().yaml("cloudbuild.yaml");
    for gate in ["release", "migrate"] {
        let before = ancestors(&b, gate);
        assert!(before.contains("unit") && before.contains("integration"), "{gate}: {before:?}");
    }
}

#[test]
fn m14_m16_m17_m18_cloud_run_service() {
    let out = Out::build();
    let svc = out.yaml("deploy/cloud-run/api.yaml");
    let container = &svc["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["containerPort"], 8000);
    for env in container["env"].as_sequence().into_iter().flatten() {
        if let Some(key) = env["valueFrom"]["secretKeyRef"]["key"].as_str() {
            assert!(key != "latest" && key.parse::<u32>().is_ok(), "secret version {key}");
        }
        let value = env["value"].as_str().unwrap_or_default();
        for compose_host in ["@postgres:", "//neo4j:", "//redis:"] {
            assert!(!value.contains(compose_host), "Compose host in production: {value}");
        }
    }
    for annotations in [&svc["metadata"]["annotations"], &svc["spec"]["template"]["metadata"]["annotations"]] {
        for (_, v) in annotations.as_mapping().into_iter().flatten() {
            assert!(v.is_string(), "annotation value {v:?} is not a string");
        }
    }
    assert!(svc["spec"]["template"]["metadata"]["annotations"]["run.googleapis.com/cloudsql-instances"]
        .as_str()
        .is_some());
}

#[test]
fn m19_m21_m22_compose_shape() {
    let out = Out::build();
    for file in ["docker-compose.yml", "docker-compose.prod.yml", "docker-compose.test.yml"] {
        let c = out.yaml(file);
        assert!(c.get("version").is_none(), "{file} has `version:`");
        for (_, service) in c["services"].as_mapping().into_iter().flatten() {
            for key in ["interval", "timeout", "start_period"] {
                let v = &service["healthcheck"][key];
                assert!(v.is_null() || v.is_string(), "{file}: duration {v:?} is not a string");
            }
        }
    }
    let prod = out.yaml("docker-compose.prod.yml");
    for (name, service) in prod["services"].as_mapping().into_iter().flatten() {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let v = volume.as_str().unwrap_or_default();
            assert!(!v.starts_with("./") && !v.starts_with('/'), "prod bind mount {v} on {name:?}");
        }
        assert!(service["restart"].is_string(), "{name:?} has no restart policy");
    }
    assert!(prod["services"]["api"]["deploy"]["resources"]["limits"]["memory"].is_string());
}

#[test]
fn m20_depends_on_waits_for_health_exactly_where_there_is_a_health_check() {
    let c = Out::build().yaml("docker-compose.yml");
    let services = &c["services"];
    for (name, service) in services.as_mapping().into_iter().flatten() {
        for (dep, condition) in service["depends_on"].as_mapping().into_iter().flatten() {
            let has_health = !services[dep]["healthcheck"].is_null();
            let healthy = condition["condition"] == "service_healthy";
            assert_eq!(has_health, healthy, "{name:?} → {dep:?}");
        }
    }
}

#[test]
fn m23_container_dollars_are_escaped() {
    let text = Out::build().text("docker-compose.yml").to_string();
    assert!(text.contains("$${POSTGRES_USER}"));
    assert!(!text.replace("$$", "").contains('$'), "an unescaped `$` would be interpolated by Compose");
}

#[test]
fn m24_host_ports_are_unique() {
    let c = Out::build().yaml("docker-compose.yml");
    let mut seen = BTreeSet::new();
    for (_, service) in c["services"].as_mapping().into_iter().flatten() {
        for port in service["ports"].as_sequence().into_iter().flatten().filter_map(Value::as_str) {
            let parts: Vec<&str> = port.rsplitn(2, ':').collect();
            let host = parts.get(1).copied().unwrap_or_default().to_string();
            assert!(seen.insert(host.clone()), "host port {host} twice");
        }
    }
}

#[test]
fn m25_passwords_are_secret_files_never_literals() {
    let out = Out::build();
    for file in ["docker-compose.yml", "docker-compose.prod.yml", "docker-compose.test.yml"] {
        let c = out.yaml(file);
        for (name, service) in c["services"].as_mapping().into_iter().flatten() {
            for (key, _) in service["environment"].as_mapping().into_iter().flatten() {
                let key = key.as_str().unwrap_or_default();
                assert!(
                    !key.contains("PASSWORD") || key.ends_with("_FILE"),
                    "{file}: {name:?} sets {key} in plain text"
                );
            }
        }
        assert!(c["secrets"]["postgres_password"]["file"].is_string(), "{file}");
    }
}

#[test]
fn m26_m27_m28_dockerfile() {
    let out = Out::build();
    let dockerfile = out.text("api/Dockerfile");
    let production = dockerfile.split("AS production").nth(1).unwrap_or_else(|| panic!("no production stage"));
    for tool in ["gcc", "-dev"] {
        assert!(!production.contains(tool), "{tool} in the production stage");
    }
    let health = dockerfile.lines().skip_while(|l| !l.starts_with("HEALTHCHECK")).take(2).collect::<String>();
    assert!(health.contains("urlopen") && health.contains("CMD [\""), "{health}");
    let last_user = dockerfile.lines().rfind(|l| l.starts_with("USER ")).unwrap_or_default();
    let uid: u32 = last_user.trim_start_matches("USER ").split(':').next().unwrap_or_default().parse().unwrap_or(0);
    assert!(uid > 0, "last USER is not a non-root numeric id: {last_user}");
    let cmd = dockerfile.lines().rfind(|l| l.starts_with("CMD ")).unwrap_or_default();
    assert!(cmd.starts_with("CMD [\""), "shell-form CMD: {cmd}");
}

#[test]
fn m30_every_build_context_has_a_dockerignore() {
    let out = Out::build();
    for context in ["api", "frontend"] {
        let ignore = out.text(&format!("{context}/.dockerignore"));
        for entry in [".git", ".env", "secrets"] {
            assert!(ignore.lines().any(|l| l == entry), "{context}/.dockerignore lacks {entry}");
        }
    }
}

#[test]
fn m32_m33_m34_m36_m37_alert_policies() {
    let out = Out::build();
    let errors = out.yaml("monitoring/alerts/api_errors.yaml");
    let threshold = &errors["conditions"][0]["conditionThreshold"];
    assert!(threshold["denominatorFilter"].is_string(), "an error rate is a ratio");
    assert_eq!(threshold["aggregations"], threshold["denominatorAggregations"]);
    assert_eq!(threshold["thresholdValue"].as_f64(), Some(0.01));
    let latency = out.yaml("monitoring/alerts/api_latency.yaml");
    assert_eq!(latency["conditions"][0]["conditionThreshold"]["thresholdValue"].as_f64(), Some(5000.0));
    let memory = out.yaml("monitoring/alerts/api_memory.yaml");
    assert_eq!(memory["conditions"][0]["conditionThreshold"]["thresholdValue"].as_f64(), Some(0.8));
    let pool = out.yaml("monitoring/alerts/db_pool.yaml");
    assert_eq!(pool["conditions"][0]["conditionThreshold"]["thresholdValue"].as_f64(), Some(90.0));
    for name in ["api_errors", "api_latency", "api_memory", "db_pool"] {
        let policy = out.yaml(&format!("monitoring/alerts/{name}.yaml"));
        assert!(policy.get("name").is_none(), "{name}: `name` set on create");
        assert!(!policy["notificationChannels"].as_sequence().map(Vec::is_empty).unwrap_or(true), "{name}: no channel");
        let condition = &policy["conditions"][0]["conditionThreshold"];
        let seconds =
            |v: &Value| v.as_str().and_then(|s| s.strip_suffix('s')).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        assert_eq!(seconds(&condition["duration"]) % 60, 0, "{name}: duration");
        for agg in condition["aggregations"].as_sequence().into_iter().flatten() {
            assert!(seconds(&agg["alignmentPeriod"]) >= 60, "{name}: alignment period");
            let aligner = agg["perSeriesAligner"].as_str().unwrap_or_default();
            if aligner.starts_with("ALIGN_PERCENTILE")
                || agg["crossSeriesReducer"].as_str().unwrap_or_default().starts_with("REDUCE_PERCENTILE")
            {
                assert!(
                    condition["filter"].as_str().unwrap_or_default().contains("latencies")
                        || condition["filter"].as_str().unwrap_or_default().contains("utilizations"),
                    "{name}: percentile on a non-distribution"
                );
            }
        }
    }
}

#[test]
fn m38_store_health_checks_probe_for_real() {
    let c = Out::build().yaml("docker-compose.test.yml");
    let test = |name: &str| serde_yaml::to_string(&c["services"][name]["healthcheck"]["test"]).unwrap_or_default();
    assert!(test("postgres").contains("-h 127.0.0.1"));
    assert!(test("redis").contains("PONG"));
    assert!(test("neo4j").contains("cypher-shell"));
    let timeout = c["services"]["neo4j"]["healthcheck"]["timeout"].as_str().unwrap_or_default();
    assert_eq!(timeout, "20s");
}

#[test]
fn m39_migrations_use_a_sync_driver() {
    let b = Out::build().yaml("cloudbuild.yaml");
    let migrate = serde_yaml::to_string(step(&b, "migrate")).unwrap_or_default();
    assert!(migrate.contains("postgresql+psycopg2://"));
    assert!(!migrate.contains("asyncpg"));
}
