//! Pipelines: step kinds and parameters, ordering (`after` plus the implied edges), failure
//! handlers, substitutions, machine types and timeouts.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graphmap::DiGraphMap;

use crate::check::Checker;
use crate::diagnostics::{codes, unknown_name_help, Diagnostic};
use crate::model::*;
use crate::source::Span;
use crate::stdlib::{FieldType, KindClass, StepRole};
use crate::syntax::ast::{Expr, ExprKind, Item, Member};

/// Cloud Build machine types the API accepts and does not deprecate.
pub const MACHINE_TYPES: &[&str] = &["UNSPECIFIED", "E2_MEDIUM", "E2_STANDARD_2", "E2_HIGHCPU_8", "E2_HIGHCPU_32"];
const DEPRECATED_MACHINE_TYPES: &[(&str, &str)] =
    &[("N1_HIGHCPU_8", "E2_HIGHCPU_8"), ("N1_HIGHCPU_32", "E2_HIGHCPU_32")];
/// Built-in substitutions Cloud Build always or (for triggers) sets.
pub const BUILTIN_SUBSTITUTIONS: &[&str] = &[
    "PROJECT_ID",
    "BUILD_ID",
    "PROJECT_NUMBER",
    "LOCATION",
    "TRIGGER_NAME",
    "COMMIT_SHA",
    "REVISION_ID",
    "SHORT_SHA",
    "REPO_NAME",
    "REPO_FULL_NAME",
    "BRANCH_NAME",
    "TAG_NAME",
    "REF_NAME",
    "TRIGGER_BUILD_CONFIG_PATH",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
];
const MAX_BUILD_MS: u64 = 86_400_000;
/// Commands that change a database schema: such a step is a migration.
const MIGRATION_MARKERS: &[&str] = &["alembic upgrade", "migrate", "flyway", "liquibase"];

/// Test runners: a `run` step whose command names one is a test.
const TEST_MARKERS: &[&str] = &["test", "jest", "mocha", "rspec", "phpunit", "tox", "nox"];

pub fn is_test(step: &Step) -> bool {
    step.role == StepRole::Test
        || (step.role == StepRole::Run
            && !is_migration(step)
            && step
                .params
                .get("command")
                .and_then(Value::as_str)
                .is_some_and(|c| TEST_MARKERS.iter().any(|m| c.contains(m))))
}

pub fn is_migration(step: &Step) -> bool {
    step.role == StepRole::Run
        && step
            .params
            .get("command")
            .and_then(Value::as_str)
            .is_some_and(|c| MIGRATION_MARKERS.iter().any(|m| c.contains(m)))
}

impl Checker<'_> {
    pub fn pipelines(
        &mut self,
        services: &Services,
        stores: &BTreeMap<String, Store>,
        project: Option<&Project>,
    ) -> BTreeMap<String, Pipeline> {
        let _ = (stores, project);
        let mut out = BTreeMap::new();
        let items: Vec<&Item> = self.decls.pipelines.values().copied().collect();
        for item in items {
            if let Some(p) = self.pipeline(item, services) {
                out.insert(p.name.clone(), p);
            }
        }
        out
    }

    fn pipeline(&mut self, item: &Item, services: &Services) -> Option<Pipeline> {
        let mut trigger = Trigger::Manual;
        let mut machine = None;
        let mut timeout_ms = 3_600_000;
        let mut timeout_span = item.name.span;
        let mut notify = Vec::new();
        let mut substitutions = BTreeMap::new();
        let mut substitution_spans = BTreeMap::new();
        let mut steps: Vec<Step> = Vec::new();
        let mut step_spans: BTreeMap<String, Span> = BTreeMap::new();
        let mut declared_after: BTreeMap<String, Vec<(String, Span)>> = BTreeMap::new();
        let mut step_timeout_spans: BTreeMap<String, Span> = BTreeMap::new();
        let mut handlers = Vec::new();

        for member in &item.body.members {
            match member {
                Member::Step(s) => {
                    if let Some(first) = step_spans.get(s.name.name.as_str()) {
                        let first = *first;
                        self.report(
                            Diagnostic::new(
                                &codes::DUPLICATE_STEP,
                                format!("step `{}` is declared twice", s.name.name),
                            )
                            .at(s.name.span, "declared again here")
                            .with_label(first, "first declared here")
                            .with_help("rename one of them"),
                        );
                        continue;
                    }
                    step_spans.insert(s.name.name.as_str().to_owned(), s.name.span);
                    let call_block = match &s.action.kind {
                        ExprKind::Call(c) => c.block.as_ref(),
                        _ => None,
                    };
                    if let Some(span) = call_block
                        .into_iter()
                        .chain(s.body.as_ref())
                        .find_map(|b| crate::check::services::find_field_span(b, "timeout"))
                    {
                        step_timeout_spans.insert(s.name.name.as_str().to_owned(), span);
                    }
                    declared_after.insert(
                        s.name.name.as_str().to_owned(),
                        s.after.iter().map(|a| (a.name.to_string(), a.span)).collect(),
                    );
                    if let Some(step) = self.step(&s.name.name, &s.action, s.body.as_ref(), s.span, services) {
                        steps.push(step);
                    }
                }
                Member::OnFailure(o) => handlers.push(&**o),
                Member::Field(f) => match f.name.name.as_str() {
                    "trigger" => trigger = self.trigger(&f.value).unwrap_or(Trigger::Manual),
                    "machine" => machine = self.machine(&f.value),
                    "timeout" => match f.value.kind {
                        ExprKind::Duration(ms) => {
                            timeout_ms = ms;
                            timeout_span = f.value.span;
                        }
                        _ => self.type_error(&f.value, "a duration such as `30m`", "timeout"),
                    },
                    "notify" => notify = self.channel_refs(&f.value),
                    other => self.unknown_field(
                        "a pipeline",
                        other,
                        f.name.span,
                        ["trigger", "machine", "timeout", "notify", "substitutions", "step", "on_failure"],
                    ),
                },
                Member::Block(b) if b.name.name == "substitutions" => {
                    for m in &b.body.members {
                        let Member::Field(f) = m else { continue };
                        let key = &f.name.name;
                        if !is_substitution_key(key) {
                            self.report(
                                Diagnostic::new(
                                    &codes::INVALID_SUBSTITUTION,
                                    format!("`{key}` is not a valid substitution name"),
                                )
                                .at(f.name.span, "must match `^_[A-Z0-9_]+$`")
                                .with_help(format!(
                                    "write `_{}`",
                                    key.trim_start_matches('_').to_ascii_uppercase().replace('-', "_")
                                )),
                            );
                            continue;
                        }
                        match &f.value.kind {
                            ExprKind::Str(v) => {
                                substitutions.insert(key.to_string(), v.to_string());
                                substitution_spans.insert(key.to_string(), f.name.span);
                            }
                            _ => self.type_error(&f.value, "a string", key),
                        }
                    }
                }
                other => {
                    let span = match other {
                        Member::Block(b) => b.name.span,
                        _ => other.span(),
                    };
                    self.report(
                        Diagnostic::new(&codes::UNKNOWN_FIELD, "a pipeline takes steps, `on_failure` and its settings")
                            .at(span, "not allowed here")
                            .with_help("write `step name = kind(service, …)`"),
                    );
                }
            }
        }
        if !(1000..=MAX_BUILD_MS).contains(&timeout_ms) {
            self.report(
                Diagnostic::new(&codes::STEP_TIMEOUT_EXCEEDS_BUILD, "the build timeout must lie between 1s and 24h")
                    .at(timeout_span, "out of range")
                    .with_help("Cloud Build accepts build timeouts up to `24h`"),
            );
        }

        // Declared ordering, with unknown names reported.
        let names: BTreeSet<String> = steps.iter().map(|s| s.name.clone()).collect();
        for step in &mut steps {
            for (dep, span) in declared_after.get(&step.name).cloned().unwrap_or_default() {
                if names.contains(&dep) {
                    if !step.wait_for.contains(&dep) {
                        step.wait_for.push(dep);
                    }
                } else if !step_spans.contains_key(&dep) {
                    let help = unknown_name_help(&dep, names.iter().map(String::as_str));
                    self.diagnostics.push(
                        Diagnostic::new(&codes::UNKNOWN_REFERENCE, format!("no step named `{dep}` in this pipeline"))
                            .at(span, "unknown step")
                            .with_help(help),
                    );
                }
            }
            if let Some(t) = step.timeout_ms {
                if t > timeout_ms {
                    let span = step_timeout_spans.get(&step.name).copied().unwrap_or(step.span);
                    self.diagnostics.push(
                        Diagnostic::new(
                            &codes::STEP_TIMEOUT_EXCEEDS_BUILD,
                            format!(
                                "step `{}` may run {} but the build stops after {}",
                                step.name,
                                crate::units::duration_single(t),
                                crate::units::duration_single(timeout_ms)
                            ),
                        )
                        .at(span, "step timeout")
                        .with_label(timeout_span, "build timeout")
                        .with_help("raise the pipeline's `timeout` or lower the step's"),
                    );
                }
            }
        }
        self.implied_edges(&mut steps, services);
        self.failure_handlers(&mut steps, &handlers, services);
        let steps = self.order_steps(steps, &step_spans, &declared_after)?;
        self.substitutions_used(&steps, &substitutions, &substitution_spans, &trigger, item.name.span);
        Some(Pipeline {
            name: item.name.name.as_str().to_owned(),
            trigger,
            machine,
            timeout_ms,
            steps,
            notify,
            substitutions,
            span: item.name.span,
        })
    }

    fn step(
        &mut self,
        name: &str,
        action: &Expr,
        body: Option<&crate::syntax::ast::Block>,
        span: Span,
        services: &Services,
    ) -> Option<Step> {
        let ExprKind::Call(call) = &action.kind else {
            self.type_error(action, "a step action such as `run(api, \"pytest\")`", name);
            return None;
        };
        let kind_name = call.callee.dotted();
        let kind = match self.stdlib.kind(&kind_name) {
            Some(k) if k.class == KindClass::Step => k.clone(),
            _ => {
                let mut help =
                    unknown_name_help(&kind_name, self.stdlib.kinds_of(KindClass::Step).map(|k| k.name.as_str()));
                if !help.starts_with("did you mean") {
                    // Usually a tool (`pytest`, `ruff`) written as if it were a step kind.
                    help.push_str(&format!("; a tool runs in a service's image: `run(<service>, \"{kind_name} …\")`"));
                }
                self.report(
                    Diagnostic::new(&codes::UNKNOWN_STEP_KIND, format!("no step kind named `{kind_name}`"))
                        .at(call.callee.span, "unknown step kind")
                        .with_help(help),
                );
                return None;
            }
        };
        let def = kind.step.as_ref()?;
        let mut params: BTreeMap<String, Value> = BTreeMap::new();
        for (i, arg) in call.args.iter().enumerate() {
            let param = match &arg.name {
                Some(n) => def.params.iter().find(|p| p.name == n.name),
                None => def.params.get(i),
            };
            let Some(param) = param else {
                let help = format!(
                    "`{kind_name}` takes {}",
                    def.params.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ")
                );
                let at = arg.name.as_ref().map_or(arg.value.span, |n| n.span);
                self.report(
                    Diagnostic::new(&codes::UNKNOWN_ARGUMENT, format!("`{kind_name}` has no such argument"))
                        .at(at, "surplus argument")
                        .with_help(help),
                );
                continue;
            };
            if let Some(v) = self.value(&arg.value, param.ty, &param.name) {
                params.insert(param.name.clone(), v);
            }
        }
        for param in &def.params {
            if param.required
                && !params.contains_key(&param.name)
                && !call.args.iter().any(|a| a.name.as_ref().is_some_and(|n| n.name == param.name))
                && call.args.len() <= def.params.iter().position(|p| p.name == param.name).unwrap_or(0)
            {
                self.report(
                    Diagnostic::new(&codes::UNKNOWN_ARGUMENT, format!("`{kind_name}` needs `{}`", param.name))
                        .at(call.callee.span, "missing argument")
                        .with_help(format!("`{}`: {}", param.name, param.doc)),
                );
            }
        }
        let service = params.remove("service").and_then(|v| v.as_str().map(str::to_string))?;
        let _ = services;
        let mut env = crate::model::EnvMap::new();
        let mut timeout_ms = None;
        // Without `after`, the parser attaches the step's block to the call:
        // `run(api, "pytest") { timeout = 10m }` — both places hold the step's settings.
        for body in call.block.iter().chain(body) {
            for m in &body.members {
                match m {
                    Member::Block(b) if b.name.name == "env" => {
                        for e in &b.body.members {
                            let Member::Field(f) = e else { continue };
                            let v = match &f.value.kind {
                                ExprKind::Str(s) => EnvValue::Text(s.clone()),
                                ExprKind::Path(p) if p.segments.first().is_some_and(|s| s.name == "secret") => {
                                    match self.secret_ref(p, &f.name.name) {
                                        Some(Value::Secret(s)) => EnvValue::Secret(s.into()),
                                        _ => continue,
                                    }
                                }
                                _ => match self.step_store_url(&f.value) {
                                    Some(v) => v,
                                    None => continue,
                                },
                            };
                            env.insert(f.name.name.clone(), v);
                        }
                    }
                    Member::Field(f) if f.name.name == "timeout" => match f.value.kind {
                        ExprKind::Duration(ms) => timeout_ms = Some(ms),
                        _ => self.type_error(&f.value, "a duration such as `10m`", "timeout"),
                    },
                    other => {
                        let span = match other {
                            Member::Field(f) => f.name.span,
                            Member::Block(b) => b.name.span,
                            _ => other.span(),
                        };
                        self.report(
                            Diagnostic::new(&codes::UNKNOWN_FIELD, "a step takes only `env { … }` and `timeout`")
                                .at(span, "unknown field")
                                .with_help("write `timeout = 10m` or `env { NAME = \"value\" }`"),
                        );
                    }
                }
            }
        }
        Some(Step {
            name: name.to_string(),
            role: def.role,
            kind,
            service,
            params,
            wait_for: Vec::new(),
            env,
            timeout_ms,
            on_failure: None,
            span,
        })
    }

    /// Store URLs in step environments reuse the service rules; the stores are known by now.
    fn step_store_url(&mut self, expr: &Expr) -> Option<EnvValue> {
        let stores = self.resolved_stores.clone();
        self.store_url(expr, &stores)
    }

    /// Adds the edges a reader expects without writing them: build before anything that uses
    /// the image, push before deploy, deploy before smoke.
    fn implied_edges(&mut self, steps: &mut [Step], services: &Services) {
        let by_role = |steps: &[Step], role: StepRole, service: &str| -> Vec<String> {
            steps.iter().filter(|s| s.role == role && s.service == service).map(|s| s.name.clone()).collect()
        };
        let snapshot: Vec<Step> = steps.to_vec();
        let needs_build = |step: &Step| {
            services.get(&step.service).is_some_and(|s| s.build.is_some())
                && matches!(step.role, StepRole::Run | StepRole::Test | StepRole::Push | StepRole::Deploy)
        };
        // One missing build is one mistake: reported once per service, at its first user.
        let mut unbuilt: BTreeMap<&str, Vec<&Step>> = BTreeMap::new();
        for step in snapshot.iter().filter(|s| needs_build(s)) {
            if by_role(&snapshot, StepRole::Build, &step.service).is_empty() {
                unbuilt.entry(step.service.as_str()).or_default().push(step);
            }
        }
        for (service, users) in &unbuilt {
            let Some((first, others)) = users.split_first() else { continue };
            let mut d = Diagnostic::new(
                &codes::STEP_IMAGE_NOT_BUILT,
                format!("step `{}` uses the image of `{service}`, which no step builds", first.name),
            )
            .at(first.span, "nothing builds this image")
            .with_help(format!("add `step build_{service} = docker_build({service})` before it"));
            for other in others {
                d = d.with_label(other.span, "uses it too");
            }
            self.diagnostics.push(d);
        }
        for step in steps.iter_mut() {
            let builds = by_role(&snapshot, StepRole::Build, &step.service);
            if needs_build(step) {
                for b in builds {
                    if !step.wait_for.contains(&b) {
                        step.wait_for.push(b);
                    }
                }
            }
            match step.role {
                StepRole::Deploy => {
                    let pushes = by_role(&snapshot, StepRole::Push, &step.service);
                    if pushes.is_empty() {
                        self.diagnostics.push(
                            Diagnostic::new(&codes::DEPLOY_BEFORE_PUSH, format!("step `{}` deploys `{}`, but no step pushes its image", step.name, step.service))
                                .at(step.span, "the image would not be in the registry yet")
                                .with_help(format!("add `step push_{0} = push({0})` and order the deploy after it; `images:` pushes only after every step", step.service)),
                        );
                    }
                    for p in pushes {
                        if !step.wait_for.contains(&p) {
                            step.wait_for.push(p);
                        }
                    }
                }
                StepRole::Smoke => {
                    let deploys = by_role(&snapshot, StepRole::Deploy, &step.service);
                    if deploys.is_empty() {
                        self.diagnostics.push(
                            Diagnostic::new(
                                &codes::SMOKE_BEFORE_DEPLOY,
                                format!("step `{}` smoke-tests `{}`, but no step deploys it", step.name, step.service),
                            )
                            .at(step.span, "nothing to test")
                            .with_help(format!("add `step release = deploy({})` before the smoke test", step.service)),
                        );
                    }
                    for d in deploys {
                        if !step.wait_for.contains(&d) {
                            step.wait_for.push(d);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn failure_handlers(
        &mut self,
        steps: &mut [Step],
        handlers: &[&crate::syntax::ast::OnFailure],
        services: &Services,
    ) {
        let _ = services;
        for handler in handlers {
            let Some(index) = steps.iter().position(|s| s.name == handler.step.name) else {
                let help = unknown_name_help(&handler.step.name, steps.iter().map(|s| s.name.as_str()));
                self.report(
                    Diagnostic::new(
                        &codes::UNKNOWN_REFERENCE,
                        format!("no step named `{}` in this pipeline", handler.step.name),
                    )
                    .at(handler.step.span, "unknown step")
                    .with_help(help),
                );
                continue;
            };
            let ExprKind::Call(call) = &handler.action.kind else {
                self.type_error(&handler.action, "an action such as `rollback(api)`", "on_failure");
                continue;
            };
            let kind = match self.stdlib.kind(&call.callee.dotted()) {
                Some(k) if k.step.as_ref().is_some_and(|s| s.role == StepRole::Rollback) => k.clone(),
                _ => {
                    let rollbacks: Vec<String> = self
                        .stdlib
                        .kinds_of(KindClass::Step)
                        .filter(|k| k.step.as_ref().is_some_and(|s| s.role == StepRole::Rollback))
                        .map(|k| format!("`{}(<service>)`", k.name))
                        .collect();
                    self.report(
                        Diagnostic::new(
                            &codes::INVALID_ON_FAILURE,
                            format!("`{}` cannot handle a failure", call.callee.dotted()),
                        )
                        .at(call.callee.span, "not a rollback action")
                        .with_help(format!(
                            "an `on_failure` handler is {}; to hear about failures, set `notify = <channel>` on the pipeline",
                            rollbacks.join(" or ")
                        )),
                    );
                    continue;
                }
            };
            let service = match call.args.as_slice() {
                [arg] => match self.value(&arg.value, FieldType::Service, "service") {
                    Some(Value::Service(s)) => s,
                    _ => continue,
                },
                _ => {
                    self.report(
                        Diagnostic::new(
                            &codes::UNKNOWN_ARGUMENT,
                            format!("`{}` takes one argument, the service", kind.name),
                        )
                        .at(call.callee.span, "here")
                        .with_help(format!("write `{}(api)`", kind.name)),
                    );
                    continue;
                }
            };
            let Some(step) = steps.get(index) else {
                continue;
            };
            if step.role != StepRole::Smoke {
                self.report(
                    Diagnostic::new(&codes::INVALID_ON_FAILURE, format!("`on_failure` can only follow a smoke test, and `{}` is a `{}` step", step.name, step.kind.name))
                        .at(handler.step.span, "not a smoke test")
                        .with_help("a failed build step stops Cloud Build; only a smoke test after a `--no-traffic` deploy leaves something to roll back"),
                );
                continue;
            }
            if !steps.iter().any(|s| s.role == StepRole::Deploy && s.service == service) {
                self.report(
                    Diagnostic::new(
                        &codes::ROLLBACK_WITHOUT_DEPLOY,
                        format!("`{}` rolls back `{service}`, which no step deploys", kind.name),
                    )
                    .at(handler.action.span, "nothing to roll back")
                    .with_help(format!(
                        "roll back the service the smoke test checks: `{}({})`",
                        kind.name, step.service
                    )),
                );
                continue;
            }
            if let Some(step) = steps.get_mut(index) {
                step.on_failure = Some(FailureAction { kind, service });
            }
        }
    }

    /// Topological order (ties by declaration order); a cycle is reported edge by edge, each
    /// edge at its `after` entry (implied edges at the step's name).
    fn order_steps(
        &mut self,
        steps: Vec<Step>,
        spans: &BTreeMap<String, Span>,
        declared_after: &BTreeMap<String, Vec<(String, Span)>>,
    ) -> Option<Vec<Step>> {
        let index: BTreeMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        let mut graph: DiGraphMap<usize, (), std::hash::RandomState> = DiGraphMap::new();
        for (i, step) in steps.iter().enumerate() {
            graph.add_node(i);
            for dep in &step.wait_for {
                if let Some(&j) = index.get(dep.as_str()) {
                    graph.add_edge(j, i, ());
                }
            }
        }
        let sccs = petgraph::algo::tarjan_scc(&graph);
        let mut cyclic = false;
        for scc in sccs.iter().filter(|c| c.len() > 1) {
            cyclic = true;
            let mut members: Vec<usize> = scc.clone();
            members.sort_unstable();
            let names: Vec<&str> = members.iter().filter_map(|i| steps.get(*i).map(|s| s.name.as_str())).collect();
            let mut edges: Vec<(Span, String)> = Vec::new();
            for &i in &members {
                let Some(step) = steps.get(i) else { continue };
                for dep in step.wait_for.iter().filter(|d| names.contains(&d.as_str())) {
                    let written = declared_after
                        .get(&step.name)
                        .and_then(|after| after.iter().find(|(name, _)| name == dep))
                        .map(|(_, span)| *span);
                    edges.push(match written {
                        Some(span) => (span, format!("`{}` waits for `{dep}`", step.name)),
                        None => (
                            spans.get(&step.name).copied().unwrap_or(step.span),
                            format!("`{}` waits for `{dep}` (implied by their kinds)", step.name),
                        ),
                    });
                }
            }
            let mut edges = edges.into_iter();
            let Some((span, label)) = edges.next() else { continue };
            let mut d = Diagnostic::new(
                &codes::DEPENDENCY_CYCLE,
                format!(
                    "steps {} wait for each other",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .at(span, label)
            .with_help("remove one of the `after` edges so that the steps can run in some order");
            for (span, label) in edges {
                d = d.with_label(span, label);
            }
            self.report(d);
        }
        if cyclic {
            return None;
        }
        // Kahn's algorithm with declaration order as the tie-break: stable, deterministic.
        let mut placed = vec![false; steps.len()];
        let mut order = Vec::new();
        while order.len() < steps.len() {
            let next = (0..steps.len()).find(|&i| {
                !placed.get(i).copied().unwrap_or(true)
                    && steps.get(i).is_some_and(|s| {
                        s.wait_for
                            .iter()
                            .all(|d| index.get(d.as_str()).is_none_or(|&j| placed.get(j).copied().unwrap_or(false)))
                    })
            })?;
            if let Some(p) = placed.get_mut(next) {
                *p = true;
            }
            order.push(next);
        }
        let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
        Some(order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)).collect())
    }

    fn substitutions_used(
        &mut self,
        steps: &[Step],
        defined: &BTreeMap<String, String>,
        spans: &BTreeMap<String, Span>,
        trigger: &Trigger,
        pipeline_span: Span,
    ) {
        let mut used = BTreeSet::new();
        for step in steps {
            let texts = step.params.values().flat_map(|v| match v {
                Value::Str(s) => vec![s.clone()],
                Value::List(_) => v.as_strings(),
                _ => vec![],
            });
            for text in texts.chain(step.env.values().filter_map(|e| match e {
                EnvValue::Text(t) => Some(t.to_string()),
                _ => None,
            })) {
                for name in substitution_refs(&text) {
                    if name.starts_with('_') {
                        if !defined.contains_key(name.as_str()) {
                            self.report(
                                Diagnostic::new(&codes::INVALID_SUBSTITUTION, format!("substitution `${name}` is used but never defined"))
                                    .at(step.span, "used here")
                                    .with_help(format!("define it: `substitutions {{ {name} = \"…\" }}`; triggers would silently replace it with \"\"")),
                            );
                        }
                        used.insert(name);
                    } else if BUILTIN_SUBSTITUTIONS.contains(&name.as_str()) {
                        if matches!(trigger, Trigger::Manual)
                            && ["SHORT_SHA", "COMMIT_SHA", "BRANCH_NAME", "TAG_NAME", "REPO_NAME"]
                                .contains(&name.as_str())
                        {
                            self.report(
                                Diagnostic::new(
                                    &codes::UNSCOPED_SHORT_SHA,
                                    format!("`${name}` is empty in a manually submitted build"),
                                )
                                .at(step.span, "used here")
                                .with_label(pipeline_span, "this pipeline has no repository trigger")
                                .with_help("add `trigger = push(branch = \"main\")`, or use `$BUILD_ID`"),
                            );
                        }
                    } else {
                        self.report(
                            Diagnostic::new(
                                &codes::INVALID_SUBSTITUTION,
                                format!("`${name}` is neither a built-in substitution nor a user one"),
                            )
                            .at(step.span, "used here")
                            .with_help(format!(
                                "for a shell variable write `$${name}`; user substitutions start with `_`"
                            )),
                        );
                    }
                }
            }
        }
        for (name, span) in spans {
            if !used.contains(name) {
                self.report(
                    Diagnostic::new(
                        &codes::INVALID_SUBSTITUTION,
                        format!("substitution `{name}` is defined but never used"),
                    )
                    .at(*span, "unused")
                    .with_help("remove it: Cloud Build rejects unused substitutions"),
                );
            }
        }
    }

    fn trigger(&mut self, expr: &Expr) -> Option<Trigger> {
        let ExprKind::Call(call) = &expr.kind else {
            self.type_error(expr, "a trigger such as `push(branch = \"main\")`", "trigger");
            return None;
        };
        let arg = |name: &str| {
            call.args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == name)).and_then(|a| {
                match &a.value.kind {
                    ExprKind::Str(s) => Some(s.as_str()),
                    _ => None,
                }
            })
        };
        match call.callee.dotted().as_str() {
            "push" => Some(Trigger::Push { branch: arg("branch").unwrap_or("main").to_string() }),
            "tag" => Some(Trigger::Tag { pattern: arg("pattern").unwrap_or("v.*").to_string() }),
            "manual" => Some(Trigger::Manual),
            other => {
                let help = unknown_name_help(other, ["push", "tag", "manual"]);
                self.report(
                    Diagnostic::new(&codes::UNKNOWN_REFERENCE, format!("no trigger named `{other}`"))
                        .at(call.callee.span, "unknown trigger")
                        .with_help(help),
                );
                None
            }
        }
    }

    fn machine(&mut self, expr: &Expr) -> Option<String> {
        let ExprKind::Str(m) = &expr.kind else {
            self.type_error(expr, "a machine type such as `\"E2_HIGHCPU_8\"`", "machine");
            return None;
        };
        if MACHINE_TYPES.contains(&m.as_str()) {
            return Some(m.to_string());
        }
        let help = match DEPRECATED_MACHINE_TYPES.iter().find(|(old, _)| old == m) {
            Some((_, new)) => {
                format!("`{m}` is deprecated by the Cloud Build API: write `\"{new}\"`")
            }
            None => format!(
                "Cloud Build machine types are {}",
                MACHINE_TYPES.iter().map(|t| format!("`\"{t}\"`")).collect::<Vec<_>>().join(", ")
            ),
        };
        self.report(
            Diagnostic::new(&codes::INVALID_MACHINE_TYPE, format!("`{m}` is not a current Cloud Build machine type"))
                .at(expr.span, "invalid machine type")
                .with_help(help),
        );
        None
    }

    pub fn channel_refs(&mut self, expr: &Expr) -> Vec<String> {
        let items: Vec<&Expr> = match &expr.kind {
            ExprKind::List(items) => items.iter().collect(),
            _ => vec![expr],
        };
        let mut out = Vec::new();
        for item in items {
            let ExprKind::Path(path) = &item.kind else {
                self.type_error(item, "the name of a channel", "notify");
                continue;
            };
            let name = path.dotted();
            if self.decls.channels.contains_key(name.as_str()) {
                out.push(name);
            } else if self.decls.services.contains_key(name.as_str()) || self.decls.stores.contains_key(name.as_str()) {
                self.report(
                    Diagnostic::new(&codes::WRONG_REFERENCE_TARGET, format!("`{name}` is not a channel"))
                        .at(path.span, "cannot be notified")
                        .with_help("declare `channel oncall : slack { … }` and write `notify = oncall`"),
                );
            } else {
                let candidates = self.decls.channels.keys().map(|k| k.to_string()).collect();
                self.unknown_reference(path.span, &name, "channel", candidates);
            }
        }
        out
    }
}

pub fn is_substitution_key(key: &str) -> bool {
    key.len() > 1
        && key.len() <= 100
        && key.starts_with('_')
        && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `$NAME` and `${NAME}` references in text, skipping `$$` (a literal `$` for Cloud Build).
pub fn substitution_refs(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'$') {
            if bytes.get(i + 1) == Some(&b'$') {
                i += 2;
                continue;
            }
            let braced = bytes.get(i + 1) == Some(&b'{');
            let start = if braced { i + 2 } else { i + 1 };
            let mut end = start;
            while bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                end += 1;
            }
            if end > start {
                if let Some(name) = text.get(start..end) {
                    out.push(name.to_string());
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}
