//! The checker's rules one at a time: for each, the spec that breaks it yields its code at the
//! right place, and the nearest spec that keeps it yields nothing. UI cases show one wrong
//! spec per code; these tests pin the boundaries (which values are still accepted, which
//! place a diagnostic points at) that a UI case does not reach.

use sight::project::Compiled;

use crate::support::*;

/// A deployed service, watched, with a channel: a spec that checks clean, to add to.
const BASE: &str = r#"
secret hook { from = secret_manager("hook", version = 1) }
channel oncall : slack { webhook = secret.hook  id = "projects/demo-prod/notificationChannels/1" }
service api {
  build : python { version = "3.12" }
  port = 8000
  deploy : cloud_run { memory = 1Gi }
}
alert api_errors { on = api  when error_rate > 1% for 5m  notify = oncall }
"#;

/// One diagnostic: its code, message, the text its primary label points at and that label.
#[derive(Debug)]
struct Found {
    code: &'static str,
    message: String,
    at: String,
    label: String,
}

fn found(compiled: &Compiled) -> Vec<Found> {
    compiled
        .diagnostics
        .iter()
        .map(|d| Found {
            code: d.code.code,
            message: d.message.clone(),
            at: d.primary.as_ref().map(|l| compiled.sources.snippet(l.span).to_string()).unwrap_or_default(),
            label: d.primary.as_ref().map(|l| l.message.clone()).unwrap_or_default(),
        })
        .collect()
}

/// The diagnostics of `BASE` plus `extra`.
fn check(extra: &str) -> Vec<Found> {
    found(&compile_source("", &format!("{BASE}{extra}")))
}

/// Asserts that `extra` added to `BASE` checks clean.
fn assert_clean(extra: &str) {
    let compiled = compile_source("", &format!("{BASE}{extra}"));
    assert!(compiled.diagnostics.is_empty(), "{extra}\n{}", human(&compiled));
}

/// The one diagnostic of `extra` added to `BASE`, which must have `code`.
fn only(extra: &str, code: &str) -> Found {
    let mut all = check(extra);
    assert!(all.len() == 1 && all.iter().all(|f| f.code == code), "{extra}\nexpected one {code}, got {all:#?}");
    all.remove(0)
}

#[test]
fn a_share_threshold_that_can_never_fire_is_rejected_at_the_threshold() {
    for (when, label) in [
        ("error_rate < 0%", "a share is never below 0%"),
        ("error_rate > 100%", "a share never exceeds 100%"),
        ("error_rate > 101%", "outside 0% to 100%"),
    ] {
        let f = only(&format!("alert x {{ on = api  when {when} for 5m  notify = oncall }}\n"), "S0171");
        assert_eq!((f.at.as_str(), f.label.as_str()), (when.rsplit(' ').next().unwrap_or(""), label), "{when}");
        assert!(f.message.contains("can never fire"), "{}", f.message);
    }
    // The boundaries that can fire: any error at all, and fewer than all requests failing.
    for when in ["error_rate > 0%", "error_rate < 100%", "error_rate < 5%", "memory < 0.5%"] {
        assert_clean(&format!("alert x {{ on = api  when {when} for 5m  notify = oncall }}\n"));
    }
}

#[test]
fn a_step_without_its_required_argument_names_the_missing_one() {
    let pipeline = |step: &str| {
        format!(
            "pipeline ci {{\n  step build = docker_build(api)\n  step t = {step}\n  step p = push(api) after [t]\n  step d = deploy(api) after [p]\n}}\n"
        )
    };
    let f = only(&pipeline("run(api)"), "S0116");
    assert_eq!((f.message.as_str(), f.at.as_str()), ("`run` needs `command`", "run"));
    // A command of the wrong type is one mistake, a type mismatch, not also a missing argument.
    let wrong = check(&pipeline("run(api, 42)"));
    assert!(wrong.iter().all(|f| f.code != "S0116"), "{wrong:#?}");
    assert!(!wrong.is_empty());
    assert_clean(&pipeline("run(api, \"pytest\")"));
}

/// A release pipeline of `api` with `extra` inside it.
fn pipeline(extra: &str) -> String {
    format!(
        "pipeline ci {{\n  trigger = push(branch = \"main\")\n  step build = docker_build(api)\n  step unit = run(api, \"pytest\")\n  step p = push(api) after [unit]\n  step d = deploy(api) after [p]\n{extra}}}\n"
    )
}

#[test]
fn substitutions_in_a_step_env_must_be_defined_and_count_as_used() {
    let f = only(&pipeline("  step seed = run(api, \"python seed.py\") { env { ZONE = \"$_ZONE\" } }\n"), "S0155");
    assert_eq!(f.message, "substitution `$_ZONE` is used but never defined");
    assert_eq!(f.label, "used here");
    // Defined and read only by a step's `env`: used, so not "defined but never used".
    assert_clean(&pipeline(
        "  step seed = run(api, \"python seed.py\") { env { ZONE = \"${_ZONE}\" } }\n  substitutions { _ZONE = \"b\" }\n",
    ));
}

#[test]
fn notifying_a_service_or_a_store_is_a_wrong_target_not_an_unknown_name() {
    let store = "database db : postgres { password = secret.hook }\n";
    for (name, extra) in [("api", ""), ("db", store)] {
        let all = check(&format!("{extra}{}", pipeline(&format!("  notify = {name}\n"))));
        let f = all.iter().find(|f| f.code == "S0107");
        assert!(f.is_some_and(|f| f.message == format!("`{name}` is not a channel") && f.at == name), "{all:#?}");
        assert!(all.iter().all(|f| f.code != "S0102"), "{all:#?}");
    }
    let all = check(&pipeline("  notify = nobody\n"));
    assert!(all.iter().any(|f| f.code == "S0102" && f.at == "nobody"), "{all:#?}");
    assert_clean(&pipeline("  notify = oncall\n"));
}

#[test]
fn substitution_names_are_an_underscore_then_capitals_digits_or_underscores() {
    for key in ["_", "ZONE", "_zone", "_ZONE-A"] {
        let all = check(&pipeline(&format!("  substitutions {{ {key} = \"b\" }}\n")));
        let f = all.iter().find(|f| f.code == "S0155");
        assert!(
            f.is_some_and(|f| f.message == format!("`{key}` is not a valid substitution name") && f.at == key),
            "{key}: {all:#?}"
        );
    }
    for key in ["_Z", "_ZONE_2"] {
        assert_clean(&pipeline(&format!(
            "  step seed = run(api, \"python seed.py\") {{ env {{ ZONE = \"${key}\" }} }}\n  substitutions {{ {key} = \"b\" }}\n"
        )));
    }
}

/// A prebuilt service `w`, watched, deployed with `settings`.
fn deployed(settings: &str) -> String {
    format!(
        "service w {{\n  build : python {{ version = \"3.12\"  context = \"w\" }}\n  port = 8080\n  deploy : cloud_run {{ {settings} }}\n}}\nalert w_errors {{ on = w  when error_rate > 1% for 5m  notify = oncall }}\n"
    )
}

#[test]
fn cloud_run_resources_outside_the_platform_limits_are_one_error_at_the_deploy_block() {
    for (settings, problem) in [
        ("memory = 127Mi", "memory must lie between 128Mi and 32Gi"),
        ("memory = 33Gi  cpu = 8", "memory must lie between 128Mi and 32Gi"),
        ("cpu = 3", "cpu 3 is not 0.08 to 1 or one of 1, 2, 4, 6, 8"),
        ("cpu = 0.07  concurrency = 1  memory = 256Mi", "cpu 0.07 is not 0.08 to 1 or one of 1, 2, 4, 6, 8"),
        ("cpu = 10  memory = 4Gi", "cpu 10 is not 0.08 to 1 or one of 1, 2, 4, 6, 8"),
        ("memory = 5Gi  cpu = 1", "more than 4Gi of memory needs at least 2 CPUs"),
        ("memory = 9Gi  cpu = 2", "more than 8Gi of memory needs at least 4 CPUs"),
        ("memory = 17Gi  cpu = 4", "more than 16Gi of memory needs at least 6 CPUs"),
        ("memory = 25Gi  cpu = 6", "more than 24Gi of memory needs at least 8 CPUs"),
        ("memory = 3Gi  cpu = 6", "6 CPUs need at least 4Gi of memory"),
        ("memory = 1Gi  cpu = 4", "4 CPUs need at least 2Gi of memory"),
        ("cpu = 0.5", "less than 1 CPU needs `concurrency = 1`"),
        ("cpu = 0.25  concurrency = 1  memory = 1Gi", "less than 0.5 CPU allows at most 512Mi"),
        ("cpu = 0.5  concurrency = 1  memory = 2Gi", "less than 1 CPU allows at most 1Gi"),
        ("min_instances = 3  max_instances = 2", "`min_instances` exceeds `max_instances`"),
        ("timeout = 61m", "`timeout` must lie between 1s and 60m"),
        ("timeout = 999ms", "`timeout` must lie between 1s and 60m"),
        ("ingress = \"public\"", "ingress `public` is not `all`, `internal` or `internal-and-cloud-load-balancing`"),
    ] {
        let f = only(&deployed(settings), "S0180");
        assert_eq!(f.message, format!("Cloud Run would reject the deploy of `w`: {problem}"), "{settings}");
        // At the deploy block, not at the `build` block before it.
        assert_eq!(f.at, "deploy : cloud_run", "{settings}");
    }
    // Several problems are one diagnostic, all of them named.
    let f = only(&deployed("cpu = 0.5  memory = 2Gi  timeout = 0s"), "S0180");
    assert_eq!(
        f.message,
        "Cloud Run would reject the deploy of `w`: less than 1 CPU needs `concurrency = 1`; less than 1 CPU allows at most 1Gi; `timeout` must lie between 1s and 60m"
    );
    assert_eq!(f.label, "memory 2Gi, cpu 0.5, concurrency 80");
}

#[test]
fn cloud_run_resources_on_the_platform_limits_are_accepted() {
    for settings in [
        "memory = 128Mi",
        "memory = 32Gi  cpu = 8",
        "memory = 4Gi  cpu = 1",
        "memory = 8Gi  cpu = 2",
        "memory = 16Gi  cpu = 4",
        "memory = 24Gi  cpu = 6",
        "memory = 4Gi  cpu = 6",
        "memory = 2Gi  cpu = 4",
        "cpu = 0.08  concurrency = 1",
        "cpu = 0.49  concurrency = 1  memory = 512Mi",
        "cpu = 0.5  concurrency = 1  memory = 1Gi",
        "cpu = 0.999  concurrency = 1  memory = 1Gi",
        "min_instances = 2  max_instances = 2",
        "timeout = 60m",
        "timeout = 1s",
        "ingress = \"internal\"",
        "ingress = \"internal-and-cloud-load-balancing\"",
    ] {
        assert_clean(&deployed(settings));
    }
}

/// A built service `w` listening on 8080, with `body` added.
fn service_w(body: &str) -> String {
    format!("service w {{\n  build : python {{ version = \"3.12\"  context = \"w\" }}\n  port = 8080\n  {body}\n}}\n")
}

#[test]
fn a_command_bound_to_a_loopback_address_is_unreachable() {
    for (command, host, at) in [
        (r#""--host", "127.0.0.1", "--port", "8080""#, "127.0.0.1", r#""--host", "127.0.0.1""#),
        (r#""--host=localhost""#, "localhost", r#""--host=localhost""#),
        (r#""--host", "::1", "--port", "8080""#, "::1", r#""--host", "::1""#),
        (r#""--bind", "[::1]:8080""#, "[::1]", r#""--bind", "[::1]:8080""#),
        (r#""-b", "127.0.0.1:8080""#, "127.0.0.1", r#""-b", "127.0.0.1:8080""#),
    ] {
        let f = only(&service_w(&format!("command = [\"gunicorn\", \"app.wsgi\", {command}]")), "S0182");
        assert_eq!(f.message, format!("`w` binds to `{host}`, unreachable from outside its container"), "{command}");
        assert_eq!(f.at, at, "{command}");
    }
    for command in [r#""--host", "0.0.0.0", "--port", "8080""#, r#""--bind", "[::]:8080""#, r#""-H", "10.0.0.1""#] {
        assert_clean(&service_w(&format!("command = [\"gunicorn\", \"app.wsgi\", {command}]")));
    }
}

#[test]
fn a_command_listening_on_another_port_names_the_port_and_the_fix() {
    for (command, at, help) in [
        (r#""-p", "9000""#, r#""-p", "9000""#, "write `-p 8080`"),
        (r#""--port=9000""#, r#""--port=9000""#, "write `--port=8080`"),
        (r#""-b", "0.0.0.0:9000""#, r#""-b", "0.0.0.0:9000""#, "write `-b 0.0.0.0:8080`"),
        (r#""--bind=0.0.0.0:9000""#, r#""--bind=0.0.0.0:9000""#, "write `--bind=0.0.0.0:8080`"),
    ] {
        let compiled = compile_source("", &format!("{BASE}{}", service_w(&format!("command = [\"app\", {command}]"))));
        let all = found(&compiled);
        assert!(all.len() == 1 && all[0].code == "S0181", "{command}: {all:#?}");
        assert_eq!(all[0].message, "`w` listens on 9000, but declares `port = 8080`", "{command}");
        assert_eq!(all[0].at, at, "{command}");
        let d = &compiled.diagnostics[0];
        assert!(d.help.as_deref().is_some_and(|h| h.starts_with(help)), "{command}: {:?}", d.help);
    }
}

#[test]
fn a_label_falls_back_to_the_base_field_never_to_another_overlay() {
    // The production command comes from the base field; the `dev` overlay, written first,
    // sets another one, which the diagnostic about production must not point at.
    let body = r#"dev { command = ["app", "--port", "8080", "--reload"] }
  command = ["app", "--port", "9000"]"#;
    let f = only(&service_w(body), "S0181");
    assert_eq!(f.message, "`w` listens on 9000 in prod, but declares `port = 8080`");
    assert_eq!(f.at, r#""--port", "9000""#);
}

#[test]
fn a_deploy_that_skips_many_tests_names_five_and_counts_the_rest() {
    let tests =
        |n: usize| (1..=n).map(|i| format!("  step t{i} = run(api, \"pytest tests/{i}\")\n")).collect::<String>();
    let spec = |n: usize| {
        format!("pipeline ci {{\n  step build = docker_build(api)\n{}  step p = push(api)\n  step d = deploy(api) after [p]\n}}\n", tests(n))
    };
    let messages = |n: usize| -> Vec<String> {
        let all = check(&spec(n));
        assert!(all.iter().all(|f| f.code == "S0150" && f.at.starts_with("step d")), "{all:#?}");
        all.into_iter().map(|f| f.message).collect()
    };
    let first = |n: usize| (1..=n).map(|i| format!("step `d` deploys without waiting for `t{i}`")).collect::<Vec<_>>();
    assert_eq!(messages(5), first(5));
    let mut seven = first(5);
    if let Some(last) = seven.last_mut() {
        last.push_str(" (nor for 2 more tests)");
    }
    assert_eq!(messages(7), seven);
}

#[test]
fn a_store_url_in_a_pipeline_step_needs_the_cloud_sql_proxy_of_a_run_step() {
    let stores = "database db : postgres { password = secret.hook }\ncache redis : redis { version = \"7.2\" }\n";
    let spec = |step: &str| format!("{stores}{}", pipeline(&format!("  {step}\n")));
    // A `run` step reaches Cloud SQL through the proxy it starts; Redis has no such proxy.
    assert_clean(&spec(
        "step seed = run(api, \"python seed.py\") after [unit] { env { DATABASE_URL = db.url(driver = \"postgresql+psycopg2\") } }",
    ));
    let f = only(&spec("step seed = run(api, \"python seed.py\") { env { CACHE = redis.url() } }"), "S0183");
    assert_eq!(
        f.message,
        "`CACHE` of step `seed` names the Compose host `redis`, which does not resolve in Cloud Build"
    );
    assert_eq!(f.at, "CACHE = redis.url()");
    // A step kind without the proxy cannot reach Cloud SQL either.
    let all = check(&spec(
        "step it = compose_test(api, \"pytest\") { env { DATABASE_URL = db.url(driver = \"postgresql+psycopg2\") } }",
    ));
    assert!(
        all.iter().any(|f| f.code == "S0183"
            && f.message.starts_with("`DATABASE_URL` of step `it` names the Compose host `db`")
            && f.at.starts_with("DATABASE_URL = ")),
        "{all:#?}"
    );
}

#[test]
fn a_step_env_may_not_set_a_variable_sight_passes_to_the_script() {
    let stores = "database db : postgres { password = secret.hook }\n";
    for (step, name) in [
        ("step b2 = docker_build(api) { env { IMAGE = \"mine\" } }", "IMAGE"),
        ("step it = compose_test(api, \"pytest\") { env { COMPOSE_FILE = \"other.yml\" } }", "COMPOSE_FILE"),
        ("step smoke = smoke(api, [\"/health\"]) { env { TAG = secret.hook } }", "TAG"),
        (
            "step seed = run(api, \"python seed.py\") after [unit] { env { DB = db.url(driver = \"postgresql+psycopg2\")  PROXY_IMAGE = \"x\" } }",
            "PROXY_IMAGE",
        ),
    ] {
        let all = check(&format!("{stores}{}", pipeline(&format!("  {step}\n"))));
        let f = all.iter().find(|f| f.code == "S0101");
        assert!(
            f.is_some_and(|f| f.message.starts_with(&format!("`{name}` of step `"))
                && f.message.contains("is a variable sight sets for the `")
                && f.at.starts_with(&format!("{name} = "))),
            "{step}: {all:#?}"
        );
    }
    // The same names are the step's own where sight sets nothing of that name.
    assert_clean(&format!(
        "{stores}{}",
        pipeline(
            "  step seed = run(api, \"python seed.py\") { env { IMAGE = \"x\"  PROXY_IMAGE = \"y\"  TAG = \"z\" } }\n"
        )
    ));
}

#[test]
fn a_project_test_kind_without_the_compose_runner_keeps_its_own_env() {
    // Only the Compose runner's script reads `COMPOSE_FILE` from sight.
    let kind = r#"name = "tox_test"
class = "step"
doc = "Runs tox in the development image."

[step]
role = "test"
builder = "gcr.io/cloud-builders/docker"
params = [
  { name = "service", type = "service", required = true, doc = "The service under test." },
  { name = "command", type = "string", required = true, doc = "The test command." },
]
script = '''
set -euo pipefail
docker run --rm "$@"
'''
"#;
    let spec = format!(
        "{BASE}{}",
        pipeline("  step tox = tox_test(api, \"tox\") after [d] { env { COMPOSE_FILE = \"tox.yml\" } }\n")
    );
    let compiled = sight::project::compile(&sight::project::ProjectInput {
        sources: vec![("spec.sight".into(), spec), ("preamble.sight".into(), PREAMBLE.into())],
        stdlib_files: vec![("kinds/step/tox_test.toml".into(), kind.into())],
        ..Default::default()
    });
    assert!(compiled.diagnostics.is_empty(), "{}", human(&compiled));
    let artifacts = compiled.model.as_ref().map(sight::emit::emit);
    assert!(matches!(artifacts, Some(Ok(_))), "{artifacts:?}");
}

#[test]
fn a_name_shared_by_three_declarations_clashes_with_its_first_owner_only() {
    // `oncall` is BASE's channel; a store and a service take the name too. Stores come first
    // in the shared namespace, so both others clash with the store, not with each other
    // (reported in source order: BASE's channel first).
    let extra = "database oncall : postgres { password = secret.hook }\nservice oncall { image = \"nginx:1.27\" }\n";
    let clashes: Vec<(String, String)> =
        check(extra).into_iter().filter(|f| f.code == "S0101").map(|f| (f.message, f.label)).collect();
    assert_eq!(
        clashes,
        [
            ("`oncall` names both a store and a channel".to_string(), "channel declared here".to_string()),
            ("`oncall` names both a store and a service".to_string(), "service declared here".to_string()),
        ],
        "{clashes:#?}"
    );
}
