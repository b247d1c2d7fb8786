//! Rules over the whole model: each function catches one mistake that needs more than one
//! declaration to see (ports across services, test order across steps, coverage of alerts).

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graphmap::DiGraphMap;

use crate::check::pipelines::{is_migration, is_test};
use crate::check::Checker;
use crate::diagnostics::{codes, Diagnostic};
use crate::model::*;
use crate::stdlib::StepRole;

pub fn run(model: &Model, checker: &mut Checker) {
    duplicate_host_ports(model, checker);
    depends_on_without_healthcheck(model, checker);
    service_dependency_cycles(model, checker);
    for service in model.services.values() {
        if let Some(build) = &service.build {
            unpinned_system_packages(service, build, checker);
            build_time_variables_at_runtime(service, build, checker);
            base_image_versions(service, build, checker);
        }
        if let Some(deploy) = &service.deploy {
            cloud_run_resources(service, deploy, checker);
        }
        command_binding(service, checker);
        credentials_in_plain_env(service, checker);
    }
    for pipeline in model.pipelines.values() {
        deploy_before_tests(pipeline, checker);
        async_migration_driver(model, pipeline, checker);
    }
    deployed_service_without_alert(model, checker);
    for store in model.stores.values() {
        checker.image_pinned(&store.image.clone(), store.span);
    }
}

/// S0132: one host port published twice in one Compose file.
fn duplicate_host_ports(model: &Model, checker: &mut Checker) {
    for env in [Env::Dev, Env::Prod] {
        let mut seen: BTreeMap<u16, &Service> = BTreeMap::new();
        for service in model.services.values() {
            let Some(port) = service.config(env).publish else {
                continue;
            };
            if let Some(first) = seen.get(&port) {
                checker.report(
                    Diagnostic::new(
                        &codes::DUPLICATE_HOST_PORT,
                        format!(
                            "`{}` and `{}` both publish host port {port} in {}",
                            first.name,
                            service.name,
                            env.name()
                        ),
                    )
                    .at(service.span, format!("publishes {port}"))
                    .with_label(first.span, format!("also publishes {port}"))
                    .with_help(format!(
                        "set `publish = {}` on one of them (the container port stays)",
                        port.saturating_add(1)
                    )),
                );
            } else {
                seen.insert(port, service);
            }
        }
    }
}

/// S0131: a dependency without a health check can only be awaited as "started".
fn depends_on_without_healthcheck(model: &Model, checker: &mut Checker) {
    for service in model.services.values() {
        for dep in &service.depends_on {
            if dep.target_is_store {
                continue;
            }
            if model
                .services
                .get(&dep.target)
                .is_some_and(|t| t.health.is_none())
            {
                checker.report(
                    Diagnostic::new(&codes::DEPENDS_ON_WITHOUT_HEALTHCHECK, format!("`{}` depends on `{}`, which has no health check", service.name, dep.target))
                        .at(dep.span, "only waits until it has started")
                        .with_help(format!("add `health = http(\"/health\")` to `{}` so that `{}` waits until it is ready", dep.target, service.name)),
                );
            }
        }
    }
}

/// S0130: services that depend on each other cannot start.
fn service_dependency_cycles(model: &Model, checker: &mut Checker) {
    let names: Vec<&str> = model.services.keys().map(String::as_str).collect();
    let mut graph: DiGraphMap<&str, (), std::hash::RandomState> = DiGraphMap::new();
    for service in model.services.values() {
        graph.add_node(service.name.as_str());
        for dep in service.depends_on.iter().filter(|d| !d.target_is_store) {
            graph.add_edge(service.name.as_str(), dep.target.as_str(), ());
        }
    }
    let _ = names;
    for mut scc in petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
    {
        scc.sort_unstable();
        let Some(first) = scc.first().and_then(|n| model.services.get(*n)) else {
            continue;
        };
        let mut d = Diagnostic::new(
            &codes::DEPENDENCY_CYCLE,
            format!(
                "services {} depend on each other",
                scc.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .at(first.span, format!("`{}` is part of the cycle", first.name))
        .with_help("Compose cannot start any of them first: remove one `depends_on` edge");
        for name in &scc {
            if let Some(s) = model.services.get(*name) {
                for dep in s
                    .depends_on
                    .iter()
                    .filter(|d| scc.contains(&d.target.as_str()))
                {
                    d = d.with_label(
                        dep.span,
                        format!("`{}` depends on `{}`", s.name, dep.target),
                    );
                }
            }
        }
        checker.report(d);
    }
}

/// S0142 / S0143: system packages are pinned, and compilers never reach production.
fn unpinned_system_packages(service: &Service, build: &Build, checker: &mut Checker) {
    let build_only = build
        .runtime
        .runtime
        .as_ref()
        .map(|r| r.build_only_packages.clone())
        .unwrap_or_default();
    for field in ["system_packages", "runtime_packages"] {
        for package in build
            .fields
            .get(field)
            .map(Value::as_strings)
            .unwrap_or_default()
        {
            let name = package.split('=').next().unwrap_or(&package);
            if !package.contains('=') {
                checker.report(
                    Diagnostic::new(&codes::UNPINNED_SYSTEM_PACKAGE, format!("system package `{package}` of `{}` has no version", service.name))
                        .at(service.span, format!("in `{field}`"))
                        .with_help(format!("pin it, e.g. `\"{package}=<version>\"` (`apt-cache policy {package}` shows the candidates; `1.2.*` pins a series)")),
                );
            }
            if field == "runtime_packages"
                && (name.ends_with("-dev") || build_only.iter().any(|b| b == name))
            {
                checker.report(
                    Diagnostic::new(&codes::BUILD_TOOL_AT_RUNTIME, format!("`{name}` would ship in the production image of `{}`", service.name))
                        .at(service.span, "in `runtime_packages`")
                        .with_help("move it to `system_packages` (builder stage only) and keep only the runtime library (e.g. `libpq5`) here"),
                );
            }
        }
    }
}

/// S0144: `VITE_*` variables are replaced at build time; at run time nothing reads them.
fn build_time_variables_at_runtime(service: &Service, build: &Build, checker: &mut Checker) {
    if build.runtime.name != "node_static" {
        return;
    }
    for env in Env::ALL {
        for name in service
            .config(env)
            .env
            .keys()
            .filter(|n| n.starts_with("VITE_"))
        {
            checker.report(
                Diagnostic::new(
                    &codes::BUILD_TIME_VARIABLE_AT_RUNTIME,
                    format!("`{name}` is set at run time, but the static bundle was built before"),
                )
                .at(service.span, "in `env`")
                .with_help(format!(
                    "move it to `build : node_static {{ build_args {{ {name} = \"…\" }} }}`"
                )),
            );
            return;
        }
    }
}

/// S0140: a runtime version of `latest` is an unpinned base image.
fn base_image_versions(service: &Service, build: &Build, checker: &mut Checker) {
    if build.fields.get("version").and_then(Value::as_str) == Some("latest") {
        checker.report(
            Diagnostic::new(
                &codes::IMAGE_TAG_LATEST,
                format!(
                    "the base image of `{}` would be tagged `latest`",
                    service.name
                ),
            )
            .at(service.span, "`version = \"latest\"`")
            .with_help("pin a version, e.g. `version = \"3.12\"`"),
        );
    }
}

/// S0180: Cloud Run's memory, CPU and concurrency rules.
fn cloud_run_resources(service: &Service, deploy: &Deploy, checker: &mut Checker) {
    let gib = deploy.memory_bytes as f64 / (1u64 << 30) as f64;
    let cpu = deploy.cpu;
    let mut problems = Vec::new();
    if deploy.memory_bytes < 128 << 20 || gib > 32.0 {
        problems.push("memory must lie between 128Mi and 32Gi".to_string());
    }
    let valid_cpu = (0.08..1.0).contains(&cpu) || [1.0, 2.0, 4.0, 6.0, 8.0].contains(&cpu);
    if !valid_cpu {
        problems.push(format!(
            "cpu {} is not 0.08 to 1 or one of 1, 2, 4, 6, 8",
            crate::units::number(cpu)
        ));
    }
    for (above, needs) in [(24.0, 8.0), (16.0, 6.0), (8.0, 4.0), (4.0, 2.0)] {
        if gib > above && cpu < needs {
            problems.push(format!(
                "more than {above}Gi of memory needs at least {needs} CPUs"
            ));
            break;
        }
    }
    if cpu >= 6.0 && gib < 4.0 {
        problems.push(format!(
            "{} CPUs need at least 4Gi of memory",
            crate::units::number(cpu)
        ));
    } else if cpu >= 4.0 && gib < 2.0 {
        problems.push("4 CPUs need at least 2Gi of memory".to_string());
    }
    if cpu < 1.0 {
        if deploy.concurrency != 1 {
            problems.push("less than 1 CPU needs `concurrency = 1`".to_string());
        }
        if cpu < 0.5 && gib > 0.5 {
            problems.push("less than 0.5 CPU allows at most 512Mi".to_string());
        } else if gib > 1.0 {
            problems.push("less than 1 CPU allows at most 1Gi".to_string());
        }
    }
    if deploy.min_instances > deploy.max_instances {
        problems.push("`min_instances` exceeds `max_instances`".to_string());
    }
    if deploy.timeout_ms > 3_600_000 || deploy.timeout_ms < 1000 {
        problems.push("`timeout` must lie between 1s and 60m".to_string());
    }
    if !["all", "internal", "internal-and-cloud-load-balancing"].contains(&deploy.ingress.as_str())
    {
        problems.push(format!(
            "ingress `{}` is not `all`, `internal` or `internal-and-cloud-load-balancing`",
            deploy.ingress
        ));
    }
    if let Some(first) = problems.first() {
        checker.report(
            Diagnostic::new(
                &codes::CLOUD_RUN_RESOURCES,
                format!(
                    "Cloud Run would reject the deploy of `{}`: {first}",
                    service.name
                ),
            )
            .at(
                service.span,
                format!(
                    "memory {}, cpu {}, concurrency {}",
                    crate::units::size_compact(deploy.memory_bytes),
                    crate::units::number(cpu),
                    deploy.concurrency
                ),
            )
            .with_help(problems.join("; ")),
        );
    }
}

/// S0181 / S0182: the command listens on the declared port, on all interfaces.
fn command_binding(service: &Service, checker: &mut Checker) {
    let Some(port) = service.port else { return };
    for env in [Env::Dev, Env::Prod] {
        let command = &service.config(env).command;
        let mut args = command.iter().peekable();
        while let Some(arg) = args.next() {
            let (flag, value) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = || value.clone().or_else(|| args.peek().map(|s| s.to_string()));
            match flag.as_str() {
                "--port" | "-p" => {
                    if let Some(v) = value()
                        .and_then(|v| v.parse::<u16>().ok())
                        .filter(|v| *v != port)
                    {
                        checker.report(
                            Diagnostic::new(
                                &codes::PORT_MISMATCH,
                                format!(
                                    "`{}` listens on {v} in {}, but declares `port = {port}`",
                                    service.name,
                                    env.name()
                                ),
                            )
                            .at(service.span, format!("`{flag} {v}`"))
                            .with_help(format!("write `{flag} {port}` or change `port`")),
                        );
                        return;
                    }
                }
                "--host" | "--bind" | "-b" | "-H" => {
                    if let Some(v) = value().filter(|v| {
                        v.starts_with("127.") || v.starts_with("localhost") || v == "::1"
                    }) {
                        checker.report(
                            Diagnostic::new(&codes::LISTENS_ON_LOCALHOST, format!("`{}` binds to `{v}` in {}, unreachable from outside its container", service.name, env.name()))
                                .at(service.span, format!("`{flag} {v}`"))
                                .with_help(format!("write `{flag} 0.0.0.0`")),
                        );
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

/// S0123: a credential-looking variable set to plain text.
fn credentials_in_plain_env(service: &Service, checker: &mut Checker) {
    const MARKERS: &[&str] = &["PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY"];
    for env in Env::ALL {
        for (name, value) in &service.config(env).env {
            if let EnvValue::Text(text) = value {
                if MARKERS.iter().any(|m| name.contains(m))
                    && !text.is_empty()
                    && !name.ends_with("_FILE")
                {
                    checker.report(
                        Diagnostic::new(&codes::SECRET_IN_PLAIN_ENV, format!("`{name}` of `{}` holds a plain-text credential", service.name))
                            .at(service.span, format!("`{name}` in `env`"))
                            .with_help(format!("declare a secret and write `{name} = secret.<name>`; plain values end up in committed files")),
                    );
                    return;
                }
            }
        }
    }
}

/// S0150: every deploy and migration waits (transitively) for every test.
fn deploy_before_tests(pipeline: &Pipeline, checker: &mut Checker) {
    let ancestors = ancestors(pipeline);
    let descendants = |name: &str| -> BTreeSet<&str> {
        pipeline
            .steps
            .iter()
            .filter(|s| {
                ancestors
                    .get(s.name.as_str())
                    .is_some_and(|a| a.contains(name))
            })
            .map(|s| s.name.as_str())
            .collect()
    };
    for gate in pipeline
        .steps
        .iter()
        .filter(|s| s.role == StepRole::Deploy || is_migration(s))
    {
        let after_gate = descendants(&gate.name);
        let Some(before) = ancestors.get(gate.name.as_str()) else {
            continue;
        };
        let tests = pipeline
            .steps
            .iter()
            .filter(|s| is_test(s) && !after_gate.contains(s.name.as_str()) && s.name != gate.name);
        for test in tests {
            if !before.contains(test.name.as_str()) {
                let what = if gate.role == StepRole::Deploy {
                    "deploys"
                } else {
                    "migrates the database"
                };
                checker.report(
                    Diagnostic::new(
                        &codes::DEPLOY_BEFORE_TESTS,
                        format!(
                            "step `{}` {what} without waiting for `{}`",
                            gate.name, test.name
                        ),
                    )
                    .at(gate.span, "can start before the test passes")
                    .with_label(test.span, "this test")
                    .with_help(format!(
                        "add `{}` to the `after [..]` of `{}`",
                        test.name, gate.name
                    )),
                );
            }
        }
    }
}

/// Every step's transitive predecessors.
fn ancestors(pipeline: &Pipeline) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    // Steps are in topological order, so predecessors are complete when a step is reached.
    for step in &pipeline.steps {
        let mut set = BTreeSet::new();
        for dep in &step.wait_for {
            set.insert(dep.as_str());
            if let Some(more) = out.get(dep.as_str()) {
                set.extend(more.iter().copied());
            }
        }
        out.insert(step.name.as_str(), set);
    }
    out
}

/// S0159: Alembic's default env.py is synchronous; an async driver fails the migration.
fn async_migration_driver(model: &Model, pipeline: &Pipeline, checker: &mut Checker) {
    for step in pipeline.steps.iter().filter(|s| is_migration(s)) {
        let step_env = step.env.iter().map(|(k, v)| (k.clone(), v.clone()));
        let service_env = model
            .services
            .get(&step.service)
            .map(|s| s.config(Env::Prod).env.clone())
            .unwrap_or_default();
        let env: BTreeMap<String, EnvValue> = service_env.into_iter().chain(step_env).collect();
        for (name, value) in env {
            if let EnvValue::StoreUrl { url, .. } = value {
                if let Some(driver) = ["+asyncpg", "+aiomysql", "+aiosqlite", "+psycopg_async"]
                    .iter()
                    .find(|d| url.contains(*d))
                {
                    checker.report(
                        Diagnostic::new(&codes::ASYNC_MIGRATION_DRIVER, format!("migration step `{}` reads `{name}` with the async driver `{}`", step.name, driver.trim_start_matches('+')))
                            .at(step.span, "Alembic's default env.py fails with `MissingGreenlet`")
                            .with_help(format!("override it in the step: `env {{ {name} = <store>.url(driver = \"postgresql+psycopg2\") }}`")),
                    );
                }
            }
        }
    }
}

/// S0175: a deployed service nobody watches.
fn deployed_service_without_alert(model: &Model, checker: &mut Checker) {
    for service in model.services.values().filter(|s| s.deploy.is_some()) {
        if !model.alerts.values().any(|a| a.target == service.name) {
            checker.report(
                Diagnostic::new(&codes::DEPLOYED_SERVICE_WITHOUT_ALERT, format!("service `{}` is deployed but no alert watches it", service.name))
                    .at(service.span, "unwatched")
                    .with_help(format!("add `alert {0}_errors {{ on = {0}  when error_rate > 1% for 5m  notify = <channel> }}`", service.name)),
            );
        }
    }
}
