//! Rules over the whole model: each function catches one mistake that needs more than one
//! declaration to see (ports across services, test order across steps, coverage of alerts).

use std::collections::{BTreeMap, BTreeSet};

use crate::check::pipelines::{is_migration, is_test};
use crate::check::Checker;
use crate::diagnostics::{codes, Diagnostic};
use crate::model::*;
use crate::source::Span;
use crate::stdlib::StepRole;
use crate::syntax::ast::{self, Block, Expr, ExprKind, Member};

pub fn run(model: &Model, checker: &mut Checker) {
    duplicate_host_ports(model, checker);
    depends_on_without_healthcheck(model, checker);
    dependencies_across_profiles(model, checker);
    test_runner_names(model, checker);
    publish_without_port(model, checker);
    service_dependency_cycles(model, checker);
    shared_build_contexts(model, checker);
    for service in model.services.values() {
        if let Some(build) = &service.build {
            unpinned_system_packages(service, build, checker);
            build_time_variables_at_runtime(service, build, checker);
            base_image_versions(service, build, checker);
        }
        if let Some(deploy) = &service.deploy {
            cloud_run_resources(service, deploy, checker);
            compose_host_in_production(service, deploy, checker);
        }
        command_binding(service, checker);
        credentials_in_plain_env(service, checker);
    }
    for pipeline in model.pipelines.values() {
        deploy_before_tests(pipeline, checker);
        async_migration_driver(model, pipeline, checker);
        steps_after_tolerated_smoke(pipeline, checker);
        images_sight_does_not_build(model, pipeline, checker);
        own_dockerfiles_in_pipelines(model, pipeline, checker);
        deploys_without_target(model, pipeline, checker);
        secret_names_per_pipeline(pipeline, checker);
        script_variables_in_step_env(model, pipeline, checker);
        compose_host_in_pipeline(model, pipeline, checker);
    }
    deployed_service_without_alert(model, checker);
    for store in model.stores.values() {
        // Point at `image = …` when written, else at the `version` that names the tag.
        let item = checker.decls.stores.get(store.name.as_str()).copied();
        let span = item
            .and_then(|i| find_field(&i.body, "image", &[]).or_else(|| find_field(&i.body, "version", &[])))
            .map_or(store.span, |f| f.value.span);
        checker.image_pinned(&store.image.clone(), span);
    }
}

/// Overlay blocks: a field inside one applies to one environment only.
const OVERLAYS: &[&str] = &["dev", "prod", "test"];

/// The first field `name` in a block or its nested blocks (except those named in `skip`).
fn find_field<'b>(block: &'b Block, name: &str, skip: &[&str]) -> Option<&'b ast::Field> {
    block.members.iter().find_map(|m| match m {
        Member::Field(f) if f.name.name == name => Some(f),
        Member::Block(b) if !skip.contains(&b.name.name.as_str()) => find_field(&b.body, name, &[]),
        _ => None,
    })
}

/// Where a service sets `name`, so that a label can point at it rather than at the service's
/// name: in the overlay of `env` when that overlay sets it, else in the service's body or its
/// `build`, `env` and `deploy` blocks. `None` when the value is a default.
fn service_field(checker: &Checker, service: &Service, env: Option<Env>, name: &str) -> Option<ast::Field> {
    let item = checker.service_item(&service.name)?;
    let overlay = env.and_then(|e| {
        item.body.members.iter().find_map(|m| match m {
            Member::Block(b) if b.name.name == e.name() => find_field(&b.body, name, &[]),
            _ => None,
        })
    });
    overlay.or_else(|| find_field(&item.body, name, OVERLAYS)).cloned()
}

/// The span of the string `text` in a list expression.
fn list_item(expr: &Expr, text: &str) -> Option<Span> {
    match &expr.kind {
        ExprKind::List(items) => {
            items.iter().find(|i| matches!(&i.kind, ExprKind::Str(s) if s == text)).map(|i| i.span)
        }
        _ => None,
    }
}

/// The declaration of a pipeline step, for its name and its written `env`.
fn step_decl<'a>(checker: &Checker<'a>, pipeline: &Pipeline, step: &str) -> Option<&'a ast::Step> {
    let item: &'a ast::Item = checker.decls.pipelines.get(pipeline.name.as_str()).copied()?;
    item.body.members.iter().find_map(|m| match m {
        Member::Step(s) if s.name.name == step => Some(&**s),
        _ => None,
    })
}
/// S0132: one host port published twice in one Compose file. A clash in both files is one
/// mistake: it is reported once, at the later declaration.
fn duplicate_host_ports(model: &Model, checker: &mut Checker) {
    const ENVS: [Env; 2] = [Env::Dev, Env::Prod];
    // Each service's published ports, read once and sorted in declaration order: sorting the
    // services themselves would follow a pointer at every comparison (a third of the rules'
    // time at 10,000 services).
    let mut published: Vec<(Span, [Option<u16>; 2], &Service)> =
        model.services.values().map(|s| (s.span, ENVS.map(|env| s.config(env).publish), &**s)).collect();
    published.sort_by_key(|(span, ..)| *span);
    // (later service, earlier service, port) → the two services and the files they clash in.
    type Clash<'m> = (&'m Service, &'m Service, Vec<&'static str>);
    let mut clashes: BTreeMap<(Span, Span, u16), Clash> = BTreeMap::new();
    for (file, env) in ENVS.into_iter().enumerate() {
        // (host port, index in `published`), sorted: the first of each port published it first.
        let mut by_port: Vec<(u16, usize)> = published
            .iter()
            .enumerate()
            .filter_map(|(index, (_, ports, _))| Some((ports.get(file).copied().flatten()?, index)))
            .collect();
        by_port.sort_unstable();
        for run in by_port.chunk_by(|a, b| a.0 == b.0) {
            let Some((&(port, first), later)) = run.split_first() else { continue };
            let Some(&(first_span, _, first_service)) = published.get(first) else { continue };
            for &(_, index) in later {
                let Some(&(span, _, service)) = published.get(index) else { continue };
                clashes
                    .entry((span, first_span, port))
                    .or_insert((first_service, service, Vec::new()))
                    .2
                    .push(env.name());
            }
        }
    }
    for ((_, _, port), (first, second, envs)) in clashes {
        let at = |s: &Service, env: &str| {
            let env = if env == "dev" { Env::Dev } else { Env::Prod };
            service_field(checker, s, Some(env), "publish")
                .or_else(|| service_field(checker, s, Some(env), "port"))
                .map_or(s.span, |f| f.span())
        };
        let env = envs.first().copied().unwrap_or("dev");
        let (second_at, first_at) = (at(second, env), at(first, env));
        checker.report(
            Diagnostic::new(
                &codes::DUPLICATE_HOST_PORT,
                format!(
                    "`{}` and `{}` both publish host port {port} in {}",
                    first.name,
                    second.name,
                    envs.join(" and ")
                ),
            )
            .at(second_at, format!("`{}` publishes {port}", second.name))
            .with_label(first_at, format!("`{}` already publishes {port}", first.name))
            .with_help(format!(
                "set `publish = {}` on `{}` (its container port stays {port})",
                port.saturating_add(1),
                second.name
            )),
        );
    }
}

/// S0131: a dependency without a health check can only be awaited as "started".
fn depends_on_without_healthcheck(model: &Model, checker: &mut Checker) {
    for service in model.services.values() {
        for dep in &service.depends_on {
            if dep.target_is_store {
                continue;
            }
            // `health` on a build whose runtime kind has no `probe` still gives Compose no
            // health check (Service::has_health_probe).
            // A job (`job = true`) is awaited until it exits successfully, not until healthy.
            let Some(target) = model.services.get(&dep.target).filter(|t| !t.has_health_probe() && !t.container.job)
            else {
                continue;
            };
            let help = if let Some(build) = target.build.as_ref().filter(|_| target.health.is_some()) {
                format!(
                    "the runtime kind `{}` of `{}` defines no health `probe`, so Compose cannot check its `health`; add one to the kind, or accept that `{}` only waits for it to start",
                    build.runtime.name, dep.target, service.name
                )
            } else {
                format!(
                    "add `health = http(\"/health\")` to `{}` so that `{}` waits until it is ready",
                    dep.target, service.name
                )
            };
            checker.report(
                Diagnostic::new(
                    &codes::DEPENDS_ON_WITHOUT_HEALTHCHECK,
                    format!("`{}` depends on `{}`, which has no health check", service.name, dep.target),
                )
                .at(dep.span, "only waits until it has started")
                .with_help(help),
            );
        }
    }
}

/// S0107: Compose refuses to start a service whose dependency is off because of its profiles
/// (FACTS §3 `profiles`): every profile of the dependent must also enable the dependency.
fn dependencies_across_profiles(model: &Model, checker: &mut Checker) {
    let profiles_of = |name: &str| -> &[String] {
        model
            .services
            .get(name)
            .map(|s| s.container.extras().profiles.as_slice())
            .or_else(|| model.stores.get(name).map(|s| s.container.extras().profiles.as_slice()))
            .unwrap_or_default()
    };
    for service in model.services.values() {
        for dep in &service.depends_on {
            let target = profiles_of(&dep.target);
            let own = &service.container.extras().profiles;
            if target.is_empty() || (!own.is_empty() && own.iter().all(|p| target.contains(p))) {
                continue;
            }
            let missing = if own.is_empty() {
                "always starts".to_string()
            } else {
                let off: Vec<String> = own.iter().filter(|p| !target.contains(p)).map(|p| format!("`{p}`")).collect();
                format!("starts with profile {}", off.join(", "))
            };
            checker.report(
                Diagnostic::new(
                    &codes::WRONG_REFERENCE_TARGET,
                    format!("`{}` {missing}, but its dependency `{}` does not", service.name, dep.target),
                )
                .at(dep.span, format!("only started with profile {}", target.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")))
                .with_help(format!(
                    "give `{}` the same `profiles`, or remove them from `{}`: Compose refuses to start a service whose dependency is disabled",
                    service.name, dep.target
                )),
            );
        }
    }
}

/// S0101: the Compose test file adds a runner `<service>-test` per tested service (the
/// `compose_test` step calls it by that name), so no service or store may be named so.
fn test_runner_names(model: &Model, checker: &mut Checker) {
    let declared =
        model.services.values().map(|s| (&s.name, s.span)).chain(model.stores.values().map(|s| (&s.name, s.span)));
    for (name, span) in declared {
        let Some(service) = name.strip_suffix(TEST_RUNNER_SUFFIX).and_then(|base| model.services.get(base)) else {
            continue;
        };
        checker.report(
            Diagnostic::new(
                &codes::DUPLICATE_NAME,
                format!("`{name}` is the name of the test runner of `{}`", service.name),
            )
            .at(span, "clashes with a container of docker-compose.test.yml")
            .with_label(service.span, format!("`{}` gets the runner `{name}`", service.name))
            .with_help(format!(
                "rename `{name}`: names ending in `{TEST_RUNNER_SUFFIX}` are reserved next to a service of that name"
            )),
        );
    }
}

/// S0111: `publish` maps a host port onto the container port, so it needs `port`.
fn publish_without_port(model: &Model, checker: &mut Checker) {
    for service in model.services.values().filter(|s| s.port.is_none()) {
        if Env::ALL.iter().any(|env| service.config(*env).publish.is_some()) {
            checker.report(
                Diagnostic::new(
                    &codes::MISSING_FIELD,
                    format!("service `{}` publishes a host port but has no `port`", service.name),
                )
                .at(service.span, "needs `port`")
                .with_help("add `port = <the port the container listens on>`: `publish` is the host side of that port"),
            );
        }
    }
}

/// S0130: services that depend on each other cannot start.
fn service_dependency_cycles(model: &Model, checker: &mut Checker) {
    use petgraph::graph::NodeIndex;
    // Nodes are the services in name order, so a name's node is found by binary search.
    let names: Vec<&str> = model.services.keys().map(String::as_str).collect();
    let mut graph = petgraph::Graph::<(), ()>::with_capacity(names.len(), 0);
    for _ in &names {
        graph.add_node(());
    }
    for (i, service) in model.services.values().enumerate() {
        for dep in service.depends_on.iter().filter(|d| !d.target_is_store) {
            if let Ok(j) = names.binary_search(&dep.target.as_str()) {
                graph.add_edge(NodeIndex::new(i), NodeIndex::new(j), ());
            }
        }
    }
    // Only the cycles are kept: a project of independent services is one component per
    // service, and collecting each would be an allocation per service.
    let mut cycles: Vec<Vec<NodeIndex>> = Vec::new();
    petgraph::algo::TarjanScc::new().run(&graph, |scc| {
        if scc.len() > 1 {
            cycles.push(scc.to_vec());
        }
    });
    for scc in cycles {
        let mut scc: Vec<&str> = scc.iter().filter_map(|n| names.get(n.index()).copied()).collect();
        scc.sort_unstable();
        // Every edge of the cycle at its `depends_on` entry, in source order.
        let mut edges: Vec<(Span, String)> = scc
            .iter()
            .filter_map(|name| model.services.get(*name))
            .flat_map(|s| {
                s.depends_on
                    .iter()
                    .filter(|d| scc.contains(&d.target.as_str()))
                    .map(move |dep| (dep.span, format!("`{}` depends on `{}`", s.name, dep.target)))
            })
            .collect();
        edges.sort();
        let mut edges = edges.into_iter();
        let Some((span, label)) = edges.next() else {
            continue;
        };
        let mut d = Diagnostic::new(
            &codes::DEPENDENCY_CYCLE,
            format!(
                "services {} depend on each other",
                scc.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
        )
        .at(span, label)
        .with_help("Compose cannot start any of them first: remove the `depends_on` entry that points the wrong way");
        for (span, label) in edges {
            d = d.with_label(span, label);
        }
        checker.report(d);
    }
}

/// S0101: each build context gets one `Dockerfile` and one `.dockerignore` (FACTS §4), so two
/// built services cannot share a context.
fn shared_build_contexts(model: &Model, checker: &mut Checker) {
    let mut first_by_context: BTreeMap<&str, &Service> = BTreeMap::new();
    for service in model.services.values() {
        let Some(build) = &service.build else { continue };
        // Contexts with their own Dockerfile get nothing written: they may be shared.
        if build.own_dockerfile()
            && model
                .services
                .values()
                .filter_map(|s| s.build.as_ref())
                .filter(|b| b.context == build.context)
                .all(|b| b.own_dockerfile())
        {
            continue;
        }
        let Some(first) = first_by_context.get(build.context.as_str()) else {
            first_by_context.insert(&build.context, service);
            continue;
        };
        checker.report(
            Diagnostic::new(
                &codes::DUPLICATE_NAME,
                format!("`{}` and `{}` are both built from `{}`", first.name, service.name, build.context),
            )
            .at(service.span, "second build from this context")
            .with_label(first.span, "first build from it")
            .with_help("give one of them its own folder with `context = \"…\"`: each context holds one Dockerfile"),
        );
    }
}
/// S0142 / S0143: system packages are pinned, and compilers never reach production.
fn unpinned_system_packages(service: &Service, build: &Build, checker: &mut Checker) {
    let build_only = build.runtime.runtime.as_ref().map(|r| r.build_only_packages.clone()).unwrap_or_default();
    for field in ["system_packages", "runtime_packages"] {
        // Where the list is written: read (the service parsed again) only for a package to report.
        let mut written: Option<Option<ast::Field>> = None;
        for package in build.fields.get(field).map(Value::as_strings).unwrap_or_default() {
            let name = package.split('=').next().unwrap_or(&package);
            let unpinned = !package.contains('=');
            let at_runtime =
                field == "runtime_packages" && (name.ends_with("-dev") || build_only.iter().any(|b| b == name));
            if !unpinned && !at_runtime {
                continue;
            }
            let at = written
                .get_or_insert_with(|| service_field(checker, service, None, field))
                .as_ref()
                .and_then(|f| list_item(&f.value, &package))
                .unwrap_or(service.span);
            if unpinned {
                checker.report(
                    Diagnostic::new(&codes::UNPINNED_SYSTEM_PACKAGE, format!("system package `{package}` of `{}` has no version", service.name))
                        .at(at, format!("unpinned, in `{field}`"))
                        .with_help(format!("pin it, e.g. `\"{package}=<version>\"` (`apt-cache policy {package}` shows the candidates; `1.2.*` pins a series)")),
                );
            }
            if at_runtime {
                let what = if name.ends_with("-dev") { "headers" } else { "a build tool" };
                checker.report(
                    Diagnostic::new(&codes::BUILD_TOOL_AT_RUNTIME, format!("`{name}` would ship in the production image of `{}`", service.name))
                        .at(at, format!("{what}, in `runtime_packages`"))
                        .with_help(if name.ends_with("-dev") {
                            format!("move `{name}` to `system_packages` (the builder stage) and keep only its runtime library here (e.g. `libpq5` for `libpq-dev`)")
                        } else {
                            format!("move `{name}` to `system_packages`: it is needed to build, in the builder stage, not to run")
                        }),
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
    // Not in dev: the Vite dev server reads `VITE_*` from its environment when it serves.
    for env in [Env::Prod, Env::Test] {
        if let Some(name) = service.config(env).env.keys().find(|n| n.starts_with("VITE_")) {
            let at = service_field(checker, service, Some(env), name).map_or(service.span, |f| f.span());
            checker.report(
                Diagnostic::new(
                    &codes::BUILD_TIME_VARIABLE_AT_RUNTIME,
                    format!("`{name}` is set at run time, but the static bundle was built before"),
                )
                .at(at, "nothing reads this at run time")
                .with_help(format!("move it to `build : node_static {{ build_args {{ {name} = \"…\" }} }}`")),
            );
            return;
        }
    }
}
/// S0140: a runtime version of `latest` is an unpinned base image.
fn base_image_versions(service: &Service, build: &Build, checker: &mut Checker) {
    if build.fields.get("version").and_then(Value::as_str) == Some("latest") {
        let at = service_field(checker, service, None, "version").map_or(service.span, |f| f.value.span);
        checker.report(
            Diagnostic::new(
                &codes::IMAGE_TAG_LATEST,
                format!("the base image of `{}` would be tagged `latest`", service.name),
            )
            .at(at, "`latest` moves")
            .with_help(
                match build.runtime.fields.get("version").and_then(|f| f.default.as_ref()?.as_str()) {
                    Some(default) => format!("pin a version, e.g. `version = \"{default}\"`"),
                    None => "pin a version".to_string(),
                },
            ),
        );
    }
}
/// S0180: Cloud Run's memory, CPU and concurrency rules (FACTS §2), each with its fix.
fn cloud_run_resources(service: &Service, deploy: &Deploy, checker: &mut Checker) {
    let gib = deploy.memory_bytes as f64 / (1u64 << 30) as f64;
    let cpu = deploy.cpu;
    let cpus = crate::units::number(cpu);
    let mut problems: Vec<(String, String)> = Vec::new();
    if deploy.memory_bytes < 128 << 20 || gib > 32.0 {
        problems
            .push(("memory must lie between 128Mi and 32Gi".into(), "set `memory` between `128Mi` and `32Gi`".into()));
    }
    let valid_cpu = (0.08..1.0).contains(&cpu) || [1.0, 2.0, 4.0, 6.0, 8.0].contains(&cpu);
    if !valid_cpu {
        problems.push((
            format!("cpu {cpus} is not 0.08 to 1 or one of 1, 2, 4, 6, 8"),
            "write `cpu = 1`, `2`, `4`, `6` or `8`, or a fraction from 0.08 to 1".into(),
        ));
    }
    for (above, needs) in [(24.0, 8.0), (16.0, 6.0), (8.0, 4.0), (4.0, 2.0)] {
        if gib > above && cpu < needs {
            problems.push((
                format!("more than {above}Gi of memory needs at least {needs} CPUs"),
                format!("set `cpu = {needs}`, or lower `memory` to `{above}Gi`"),
            ));
            break;
        }
    }
    if cpu >= 6.0 && gib < 4.0 {
        problems.push((format!("{cpus} CPUs need at least 4Gi of memory"), "set `memory = 4Gi`, or fewer CPUs".into()));
    } else if cpu >= 4.0 && gib < 2.0 {
        problems.push(("4 CPUs need at least 2Gi of memory".into(), "set `memory = 2Gi`, or fewer CPUs".into()));
    }
    if cpu < 1.0 {
        if deploy.concurrency != 1 {
            problems
                .push(("less than 1 CPU needs `concurrency = 1`".into(), "set `concurrency = 1`, or `cpu = 1`".into()));
        }
        if cpu < 0.5 && gib > 0.5 {
            problems.push((
                "less than 0.5 CPU allows at most 512Mi".into(),
                "lower `memory` to `512Mi`, or raise `cpu`".into(),
            ));
        } else if gib > 1.0 {
            problems.push((
                "less than 1 CPU allows at most 1Gi".into(),
                "lower `memory` to `1Gi`, or set `cpu = 1`".into(),
            ));
        }
    }
    if deploy.min_instances > deploy.max_instances {
        problems.push((
            "`min_instances` exceeds `max_instances`".into(),
            "lower `min_instances` or raise `max_instances`".into(),
        ));
    }
    if deploy.timeout_ms > 3_600_000 || deploy.timeout_ms < 1000 {
        problems.push(("`timeout` must lie between 1s and 60m".into(), "set `timeout` between `1s` and `60m`".into()));
    }
    if !["all", "internal", "internal-and-cloud-load-balancing"].contains(&deploy.ingress.as_str()) {
        problems.push((
            format!("ingress `{}` is not `all`, `internal` or `internal-and-cloud-load-balancing`", deploy.ingress),
            "write `ingress = \"all\"`, `\"internal\"` or `\"internal-and-cloud-load-balancing\"`".into(),
        ));
    }
    if problems.is_empty() {
        return;
    }
    let (what, fixes): (Vec<String>, Vec<String>) = problems.into_iter().unzip();
    let at = checker
        .service_item(&service.name)
        .and_then(|item| {
            item.body.members.iter().find_map(|m| match m {
                Member::Block(b) if b.name.name == "deploy" => {
                    Some(b.kind.as_ref().map_or(b.name.span, |k| b.name.span.to(k.span)))
                }
                _ => None,
            })
        })
        .unwrap_or(service.span);
    checker.report(
        Diagnostic::new(
            &codes::CLOUD_RUN_RESOURCES,
            format!("Cloud Run would reject the deploy of `{}`: {}", service.name, what.join("; ")),
        )
        .at(
            at,
            format!(
                "memory {}, cpu {cpus}, concurrency {}",
                crate::units::size_compact(deploy.memory_bytes),
                deploy.concurrency
            ),
        )
        .with_help(fixes.join("; ")),
    );
}

/// S0183: a store URL rendered for the Compose network (`postgres:5432`) in the environment
/// of a deployed service, with no production value in `deploy { env { … } }` (FACTS §7 item 17).
fn compose_host_in_production(service: &Service, deploy: &Deploy, checker: &mut Checker) {
    for (name, value) in service.config(Env::Prod).env.iter() {
        let EnvValue::StoreUrl { store, url } = value else {
            continue;
        };
        if deploy.env.contains_key(name.as_str()) {
            continue;
        }
        let span = service_field(checker, service, Some(Env::Prod), name).map_or(service.span, |f| f.span());
        checker.report(
            Diagnostic::new(
                &codes::COMPOSE_HOST_IN_PRODUCTION,
                format!(
                    "`{name}` of `{}` names the Compose host `{store}`, which does not resolve where it is deployed",
                    service.name
                ),
            )
            .at(span, format!("`{url}` outside Compose"))
            .with_help(format!(
                "give the production value in `deploy : {} {{ env {{ {name} = \"…\" }} }}`: a private host or IP reachable from the service, or for Cloud SQL a socket URL with `host=/cloudsql/<project>:<region>:<instance>`",
                deploy.target.name
            )),
        );
    }
}
/// S0181 / S0182: the command listens on the declared port, on all interfaces. Flags take
/// `--port 8000`, `--port=8000` and, for `--bind` (gunicorn), `HOST:PORT`.
fn command_binding(service: &Service, checker: &mut Checker) {
    let Some(port) = service.port else { return };
    // Name the environment only when the commands differ.
    let same = service.config(Env::Dev).command == service.config(Env::Prod).command;
    for env in [Env::Dev, Env::Prod] {
        let command = &service.config(env).command;
        if !command.iter().any(|arg| arg.starts_with('-')) {
            continue;
        }
        let written = service_field(checker, service, Some(env), "command");
        let in_env = if same { String::new() } else { format!(" in {}", env.name()) };
        let mut args = command.iter().peekable();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let next = args.peek().map(|s| s.to_string());
            let value = inline.clone().or_else(|| next.clone());
            // The flag and its value as written: one list item or two.
            let at = written
                .as_ref()
                .and_then(|f| {
                    let first = list_item(&f.value, arg)?;
                    let second =
                        if inline.is_none() { next.as_deref().and_then(|n| list_item(&f.value, n)) } else { None };
                    Some(second.map_or(first, |s| first.to(s)))
                })
                .or(written.as_ref().map(|f| f.span()))
                .unwrap_or(service.span);
            let (host, bound_port) = match flag.as_str() {
                "--port" | "-p" => (None, value.as_deref().and_then(|v| v.parse::<u16>().ok())),
                "--host" | "--bind" | "-b" | "-H" => match value.as_deref().map(|v| (v, v.rsplit_once(':'))) {
                    Some((_, Some((h, p)))) if !h.is_empty() && !h.ends_with(':') && p.parse::<u16>().is_ok() => {
                        (Some(h.to_string()), p.parse::<u16>().ok())
                    }
                    Some((v, _)) => (Some(v.to_string()), None),
                    None => (None, None),
                },
                _ => continue,
            };
            let shown = value.clone().unwrap_or_default();
            // As written: `--port 8080` or `--port=8080`.
            let sep = if inline.is_some() { "=" } else { " " };
            if let Some(h) =
                host.filter(|h| h.starts_with("127.") || h.starts_with("localhost") || h == "::1" || h == "[::1]")
            {
                let fix = if bound_port.is_some() { format!("0.0.0.0:{port}") } else { "0.0.0.0".to_string() };
                checker.report(
                    Diagnostic::new(
                        &codes::LISTENS_ON_LOCALHOST,
                        format!("`{}` binds to `{h}`{in_env}, unreachable from outside its container", service.name),
                    )
                    .at(at, format!("`{flag}{sep}{shown}`"))
                    .with_help(format!("write `{flag}{sep}{fix}`: only the container itself can reach `{h}`")),
                );
                return;
            }
            if let Some(v) = bound_port.filter(|v| *v != port) {
                let fix = match value.as_deref().and_then(|v| v.rsplit_once(':')) {
                    Some((h, _)) if flag != "--port" && flag != "-p" => format!("{h}:{port}"),
                    _ => port.to_string(),
                };
                checker.report(
                    Diagnostic::new(
                        &codes::PORT_MISMATCH,
                        format!("`{}` listens on {v}{in_env}, but declares `port = {port}`", service.name),
                    )
                    .at(at, format!("`{flag}{sep}{shown}`"))
                    .with_help(format!(
                        "write `{flag}{sep}{fix}`, or change `port`: Compose, the health check and Cloud Run use `port`"
                    )),
                );
                return;
            }
        }
    }
}

/// Whether `word` occurs in `name`: a window compare, which for names of a few bytes costs a
/// fraction of `str::contains` (that prepares a searcher per call; this runs for every
/// variable of every service).
fn contains(name: &str, word: &str) -> bool {
    !word.is_empty() && name.as_bytes().windows(word.len()).any(|window| window == word.as_bytes())
}

/// S0123: a credential-looking variable set to plain text.
fn credentials_in_plain_env(service: &Service, checker: &mut Checker) {
    const MARKERS: &[&str] = &["PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY"];
    for (i, env) in Env::ALL.into_iter().enumerate() {
        // Environments share one map until an overlay changes it: each map is read once.
        let vars = &service.config(env).env;
        if Env::ALL.iter().take(i).any(|earlier| std::sync::Arc::ptr_eq(&service.config(*earlier).env, vars)) {
            continue;
        }
        for (name, value) in vars.iter() {
            if let EnvValue::Text(text) = value {
                if !text.is_empty() && !name.ends_with("_FILE") && MARKERS.iter().any(|m| contains(name, m)) {
                    // Point at the `NAME = "…"` entry itself when it can be found.
                    let span = service_field(checker, service, Some(env), name).map_or(service.span, |f| f.span());
                    checker.report(
                        Diagnostic::new(&codes::SECRET_IN_PLAIN_ENV, format!("`{name}` of `{}` holds a plain-text credential", service.name))
                            .at(span, "a credential in plain text")
                            .with_help(format!(
                                "keep it in Secret Manager: declare `secret {secret} {{ from = secret_manager(\"{id}\", version = 1) }}` and write `{name} = secret.{secret}`",
                                secret = name.to_ascii_lowercase(),
                                id = name.to_ascii_lowercase().replace('_', "-"),
                            )),
                    );
                    return;
                }
            }
        }
    }
}

/// S0150: every deploy and migration waits (transitively) for every test.
fn deploy_before_tests(pipeline: &Pipeline, checker: &mut Checker) {
    // A gate that waits for none of thousands of tests is one mistake: at most this many
    // diagnostics per gate, the last one saying how many more tests it misses.
    const MAX_PER_GATE: usize = 5;
    let ancestors = Ancestors::new(pipeline);
    for (g, gate) in pipeline.steps.iter().enumerate() {
        if gate.role != StepRole::Deploy && !is_migration(gate) {
            continue;
        }
        // Tests that run after the gate are not its business (a smoke test after a deploy).
        let missing: Vec<&Step> = pipeline
            .steps
            .iter()
            .enumerate()
            .filter(|(t, s)| is_test(s) && *t != g && !ancestors.waits(*t, g) && !ancestors.waits(g, *t))
            .map(|(_, s)| s)
            .collect();
        for (i, test) in missing.iter().enumerate().take(MAX_PER_GATE) {
            let what = if gate.role == StepRole::Deploy { "deploys" } else { "migrates the database" };
            let more = match missing.len() - MAX_PER_GATE.min(missing.len()) {
                n if n > 0 && i + 1 == MAX_PER_GATE => format!(" (nor for {n} more tests)"),
                _ => String::new(),
            };
            checker.report(
                Diagnostic::new(
                    &codes::DEPLOY_BEFORE_TESTS,
                    format!("step `{}` {what} without waiting for `{}`{more}", gate.name, test.name),
                )
                .at(gate.span, "can start before the test passes")
                .with_label(test.span, "this test")
                .with_help(format!("add `{}` to the `after [..]` of `{}`", test.name, gate.name)),
            );
        }
    }
}

/// Every step's ancestors (what it waits for, transitively) as bit sets over the pipeline's
/// step order: n² bits instead of n² tree entries, so that a pipeline of thousands of steps
/// (a generated one, a hostile one) is checked in milliseconds, not minutes and gigabytes.
struct Ancestors {
    bits: Vec<Vec<u64>>,
}

impl Ancestors {
    fn new(pipeline: &Pipeline) -> Ancestors {
        let index: BTreeMap<&str, usize> =
            pipeline.steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        let words = pipeline.steps.len().div_ceil(64);
        let mut bits: Vec<Vec<u64>> = Vec::with_capacity(pipeline.steps.len());
        // Steps are in topological order, so predecessors are complete when a step is reached.
        for step in &pipeline.steps {
            let mut set = vec![0u64; words];
            for dep in &step.wait_for {
                let Some(&d) = index.get(dep.as_str()) else { continue };
                if let Some(word) = set.get_mut(d / 64) {
                    *word |= 1 << (d % 64);
                }
                if let Some(more) = bits.get(d) {
                    for (w, m) in set.iter_mut().zip(more) {
                        *w |= m;
                    }
                }
            }
            bits.push(set);
        }
        Ancestors { bits }
    }

    /// Whether the step at `later` waits (transitively) for the step at `earlier`.
    fn waits(&self, later: usize, earlier: usize) -> bool {
        self.bits.get(later).and_then(|b| b.get(earlier / 64)).is_some_and(|w| w & (1 << (earlier % 64)) != 0)
    }
}
/// S0159: Alembic's default env.py is synchronous; an async driver fails the migration.
fn async_migration_driver(model: &Model, pipeline: &Pipeline, checker: &mut Checker) {
    /// Async drivers and the sync driver of the same database.
    const ASYNC_DRIVERS: &[(&str, &str)] = &[
        ("+asyncpg", "postgresql+psycopg2"),
        ("+psycopg_async", "postgresql+psycopg"),
        ("+aiomysql", "mysql+pymysql"),
        ("+aiosqlite", "sqlite"),
    ];
    for step in pipeline.steps.iter().filter(|s| is_migration(s)) {
        let service = model.services.get(&step.service);
        let service_env = service.map(|s| (*s.config(Env::Prod).env).clone()).unwrap_or_default();
        let env: BTreeMap<Text, EnvValue> =
            service_env.into_iter().chain(step.env.iter().map(|(k, v)| (k.clone(), v.clone()))).collect();
        let decl = step_decl(checker, pipeline, &step.name);
        for (name, value) in env {
            let EnvValue::StoreUrl { url, store } = value else { continue };
            let Some((driver, sync)) = ASYNC_DRIVERS.iter().find(|(d, _)| url.contains(*d)) else { continue };
            // The URL is written in the step's `env`, or else in the service's.
            let in_step = step.env.contains_key(name.as_str());
            let step_block = decl.and_then(|d| {
                let call_block = match &d.action.kind {
                    ExprKind::Call(c) => c.block.as_ref(),
                    _ => None,
                };
                call_block.into_iter().chain(d.body.as_ref()).find_map(|b| find_field(b, &name, &[]))
            });
            let written = if in_step {
                step_block.cloned()
            } else {
                service.and_then(|s| service_field(checker, s, Some(Env::Prod), &name))
            };
            let step_at = decl.map_or(step.span, |d| d.name.span);
            let mut d = Diagnostic::new(
                &codes::ASYNC_MIGRATION_DRIVER,
                format!(
                    "migration step `{}` reads `{name}` with the async driver `{}`",
                    step.name,
                    driver.trim_start_matches('+')
                ),
            )
            .at(step_at, "Alembic's default env.py fails here with `MissingGreenlet`");
            if let Some(f) = written {
                let whose =
                    if in_step { "set in the step".to_string() } else { format!("inherited from `{}`", step.service) };
                d = d.with_label(f.span(), format!("async driver, {whose}"));
            }
            let fix = format!("{name} = {store}.url(driver = \"{sync}\")");
            checker.report(d.with_help(if in_step {
                format!("use a sync driver in the step: `{fix}`")
            } else {
                format!("override it in the step: `env {{ {fix} }}`")
            }));
        }
    }
}

/// S0175: a deployed service nobody watches.
fn deployed_service_without_alert(model: &Model, checker: &mut Checker) {
    // An alert that names the service but has an error of its own was reported already: it
    // counts here, or one mistake would yield a second diagnostic.
    let declared_targets: BTreeSet<String> = checker
        .decls
        .alerts
        .values()
        .filter_map(|item| find_field(&item.body, "on", &[]))
        .filter_map(|f| match &f.value.kind {
            ExprKind::Path(p) => Some(p.dotted()),
            _ => None,
        })
        .collect();
    for service in model.services.values().filter(|s| s.deploy.is_some()) {
        if !model.alerts.values().any(|a| a.target == service.name) && !declared_targets.contains(&service.name) {
            checker.report(
                Diagnostic::new(
                    &codes::DEPLOYED_SERVICE_WITHOUT_ALERT,
                    format!("service `{}` is deployed but no alert watches it", service.name),
                )
                .at(service.span, "unwatched")
                .with_help(format!(
                    "add `alert {0}_errors {{ on = {0}  when error_rate > 1% for 5m  notify = <channel> }}`",
                    service.name
                )),
            );
        }
    }
}

/// The `env` entry `name` of a pipeline step, for labels.
fn step_env_span(checker: &Checker, pipeline: &Pipeline, step: &Step, name: &str) -> Span {
    let Some(decl) = step_decl(checker, pipeline, &step.name) else {
        return step.span;
    };
    let call_block = match &decl.action.kind {
        ExprKind::Call(c) => c.block.as_ref(),
        _ => None,
    };
    call_block
        .into_iter()
        .chain(decl.body.as_ref())
        .find_map(|b| find_field(b, name, &[]))
        .map_or(step.span, |f| f.span())
}

/// S0158: a step after a smoke test whose failure `on_failure` handles. That smoke test exits 1
/// without failing the build, so that the rollback can still run (FACTS §7 item 1): every step
/// after it would run after a failed smoke test too. Only the promote and rollback steps sight
/// adds read its failure marker.
fn steps_after_tolerated_smoke(pipeline: &Pipeline, checker: &mut Checker) {
    let ancestors = Ancestors::new(pipeline);
    let tolerated: Vec<(usize, &Step)> =
        pipeline.steps.iter().enumerate().filter(|(_, s)| s.on_failure.is_some()).collect();
    for (i, step) in pipeline.steps.iter().enumerate() {
        let Some((_, smoke)) = tolerated.iter().find(|(t, _)| ancestors.waits(i, *t)) else {
            continue;
        };
        checker.report(
            Diagnostic::new(
                &codes::INVALID_ON_FAILURE,
                format!("step `{}` runs after `{}`, even when that smoke test fails", step.name, smoke.name),
            )
            .at(step.span, "runs after a tolerated failure")
            .with_label(smoke.span, "its failure is handled by `on_failure`, so it does not stop the build")
            .with_help(format!(
                "order `{}` before `{}`, or put it in another pipeline; sight promotes the tested revision itself",
                step.name, smoke.name
            )),
        );
    }
}

/// S0107: a pipeline builds the `production` and `development` stages of the Dockerfiles sight
/// writes; a context's own Dockerfile (`build : dockerfile`) need not have them.
fn own_dockerfiles_in_pipelines(model: &Model, pipeline: &Pipeline, checker: &mut Checker) {
    for step in pipeline.steps.iter().filter(|s| s.role == StepRole::Build) {
        let Some(service) =
            model.services.get(&step.service).filter(|s| s.build.as_deref().is_some_and(Build::own_dockerfile))
        else {
            continue;
        };
        checker.report(
            Diagnostic::new(
                &codes::WRONG_REFERENCE_TARGET,
                format!("step `{}` builds `{}`, which is built from its own Dockerfile", step.name, service.name),
            )
            .at(step.span, "builds the `production` and `development` stages")
            .with_label(service.span, "`build : dockerfile`")
            .with_help(format!(
                "give `{}` a runtime kind (`build : python {{ … }}`, `node`, `go`, …) so that sight writes the Dockerfile the pipeline builds",
                service.name
            )),
        );
    }
}

/// S0107: a step builds or pushes the image of a service that has no `build` (a prebuilt
/// image is used as it is).
fn images_sight_does_not_build(model: &Model, pipeline: &Pipeline, checker: &mut Checker) {
    for step in pipeline.steps.iter().filter(|s| matches!(s.role, StepRole::Build | StepRole::Push)) {
        let Some(service) = model.services.get(&step.service).filter(|s| s.build.is_none()) else {
            continue;
        };
        let verb = if step.role == StepRole::Build { "builds" } else { "pushes" };
        checker.report(
            Diagnostic::new(
                &codes::WRONG_REFERENCE_TARGET,
                format!("step `{}` {verb} the image of `{}`, which has no `build`", step.name, service.name),
            )
            .at(step.span, "nothing to build or push")
            .with_label(service.span, "a prebuilt image")
            .with_help(format!("give `{}` a `build : <runtime> {{ … }}` block, or remove the step", service.name)),
        );
    }
}

/// S0107: a `deploy` step on a service without a `deploy` block. The step applies the
/// service's whole production configuration (resources, environment, secrets, Cloud SQL,
/// access), and without the block there is none: Cloud Run would run the image with defaults
/// and the Compose environment's host names.
fn deploys_without_target(model: &Model, pipeline: &Pipeline, checker: &mut Checker) {
    for step in pipeline.steps.iter().filter(|s| s.role == StepRole::Deploy) {
        let Some(service) = model.services.get(&step.service).filter(|s| s.deploy.is_none()) else {
            continue;
        };
        checker.report(
            Diagnostic::new(
                &codes::WRONG_REFERENCE_TARGET,
                format!("step `{}` deploys `{}`, which has no `deploy` block", step.name, service.name),
            )
            .at(step.span, "no production configuration to deploy")
            .with_label(service.span, "not deployed anywhere")
            .with_help(format!("give `{}` a `deploy : cloud_run {{ … }}` block, or remove the step", service.name)),
        );
    }
}

/// S0101: two steps of a pipeline read different secrets under one variable name. Cloud
/// Build declares secrets for the whole build (`availableSecrets`), by that name.
fn secret_names_per_pipeline(pipeline: &Pipeline, checker: &mut Checker) {
    let mut bound: BTreeMap<&str, (&str, &Step)> = BTreeMap::new();
    for step in &pipeline.steps {
        for (name, value) in &step.env {
            let EnvValue::Secret(secret) = value else { continue };
            match bound.get(name.as_str()) {
                Some((other, first)) if *other != secret.as_str() => {
                    let span = step_env_span(checker, pipeline, step, name);
                    let first_span = step_env_span(checker, pipeline, first, name);
                    checker.report(
                        Diagnostic::new(
                            &codes::DUPLICATE_NAME,
                            format!("`{name}` names the secrets `{other}` and `{secret}` in pipeline `{}`", pipeline.name),
                        )
                        .at(span, format!("`secret.{secret}`"))
                        .with_label(first_span, format!("`secret.{other}`"))
                        .with_help("Cloud Build names a build's secrets once for all its steps: use another variable name in one of the steps"),
                    );
                }
                Some(_) => {}
                None => {
                    bound.insert(name, (secret, step));
                }
            }
        }
    }
}

/// S0101: a step's `env` sets a variable that sight passes to the step's script itself (the
/// table in `stdlib/kinds/step/README.md`; `emit/cloudbuild.rs` sets them). The script needs
/// sight's value, so the Cloud Build emitter could not write the step.
fn script_variables_in_step_env(model: &Model, pipeline: &Pipeline, checker: &mut Checker) {
    for step in &pipeline.steps {
        let Some(def) = step.kind.step.as_ref() else { continue };
        let reads_cloud_sql = step.env.values().any(|v| {
            matches!(v, EnvValue::StoreUrl { store, .. } if model.stores.get(store.as_str()).is_some_and(Store::is_cloud_sql))
        });
        let reserved = def.script_variables(reads_cloud_sql);
        for name in step.env.keys().filter(|n| reserved.contains(&n.as_str())) {
            let span = step_env_span(checker, pipeline, step, name);
            checker.report(
                Diagnostic::new(
                    &codes::DUPLICATE_NAME,
                    format!(
                        "`{name}` of step `{}` is a variable sight sets for the `{}` script",
                        step.name, step.kind.name
                    ),
                )
                .at(span, "set by sight")
                .with_help(format!(
                    "rename it: the script reads `{name}` as sight sets it (stdlib/kinds/step/README.md lists them)"
                )),
            );
        }
    }
}

/// S0183: a store URL in a step's `env` names a Compose host, which does not resolve in Cloud
/// Build. The one exception is a Cloud SQL store used by a step kind that starts the Cloud SQL
/// Auth Proxy under the store's name (`run`).
fn compose_host_in_pipeline(model: &Model, pipeline: &Pipeline, checker: &mut Checker) {
    for step in &pipeline.steps {
        let proxies = step.kind.step.as_ref().is_some_and(|d| d.cloud_sql.is_some());
        for (name, value) in &step.env {
            let EnvValue::StoreUrl { store, url } = value else { continue };
            let cloud_sql = model.stores.get(store.as_str()).is_some_and(Store::is_cloud_sql);
            if proxies && cloud_sql {
                continue;
            }
            let span = step_env_span(checker, pipeline, step, name);
            checker.report(
                Diagnostic::new(
                    &codes::COMPOSE_HOST_IN_PRODUCTION,
                    format!("`{name}` of step `{}` names the Compose host `{store}`, which does not resolve in Cloud Build", step.name),
                )
                .at(span, format!("`{url}` outside Compose"))
                .with_help(if cloud_sql {
                    format!("only a `run` step reaches `{store}` (through the Cloud SQL Auth Proxy); give this step a reachable URL as a string")
                } else {
                    "give the URL of the production endpoint as a string, reachable from Cloud Build (a private one needs a private pool)".to_string()
                }),
            );
        }
    }
}
