//! Dockerfiles and `.dockerignore` files: for every service with `build`, `<context>/Dockerfile`
//! and `<context>/.dockerignore`, rendered from the runtime kind's handlebars template.
//!
//! The templates (`stdlib/templates/*.hbs`) hold every Dockerfile rule; their README is the
//! contract for the context built here. This module is generic: the context is every build
//! field plus a few computed keys ([`RuntimeDef::COMPUTED_KEYS`] and the runtime's `images`),
//! so a new runtime kind with its template needs no Rust. The traps it guards (FACTS §4, §7
//! items 26–31):
//! - `CMD` in exec form: commands are serialized JSON arrays, never joined into shell text.
//! - HEALTHCHECK only with a probe that exits 1 on an error status (the templates' probes);
//!   absent when the service declares no `health`, never a probe that passes on HTTP 500.
//! - The production stage runs as a numeric non-root UID (the runtime's `uid`).
//! - `.dockerignore` keeps `.git`, `.env*` and the Compose `secrets` folder out of the build
//!   context: the development stage runs `COPY . .`.
//! - HEALTHCHECK durations are whole or decimal seconds: hadolint cannot parse `1m30s` or
//!   `500ms` (both valid for Docker) and reports a syntax error.
//! - Templates render in strict mode, so a template naming a key this module does not
//!   provide is an internal error, never an empty string in the Dockerfile.

use serde_json::{json, Value as Json};

use crate::emit::{join, Artifact, InternalError};
use crate::model::{Build, Env, Model, Service};
use crate::stdlib::RuntimeDef;
use crate::template;

/// The template every runtime's `.dockerignore` is rendered from.
const DOCKERIGNORE_TEMPLATE: &str = "dockerignore.hbs";

pub fn emit(model: &Model) -> Result<Vec<Artifact>, InternalError> {
    let full_header = crate::emit::header::header(model, "#");
    // The templates add the line break after the header themselves (templates/README.md).
    let header = full_header.trim_end_matches('\n');
    let mut artifacts = Vec::new();
    for service in model.services.values() {
        // A context with its own Dockerfile (`build : dockerfile`) is built as it is.
        let Some(build) = service.build.as_ref().filter(|b| !b.own_dockerfile()) else {
            continue;
        };
        let runtime = build.runtime.runtime.as_ref().ok_or_else(|| {
            InternalError(format!("the build kind `{}` of `{}` is not a runtime", build.runtime.name, service.name))
        })?;
        let context = dockerfile_context(header, service, build, runtime)?;
        artifacts.push(Artifact {
            path: join(&build.context, "Dockerfile"),
            contents: render_file(model, &runtime.template, &context, service)?,
        });
        let ignore = dockerignore_context(header, build, runtime, &context, service)?;
        artifacts.push(Artifact {
            path: join(&build.context, ".dockerignore"),
            contents: render_file(model, DOCKERIGNORE_TEMPLATE, &ignore, service)?,
        });
    }
    Ok(artifacts)
}

/// The context described in `stdlib/templates/README.md`.
fn dockerfile_context(
    header: &str,
    service: &Service,
    build: &Build,
    runtime: &RuntimeDef,
) -> Result<Json, InternalError> {
    // Fields, `service` and `port`: what the runtime's own templates (images, commands) see.
    let mut context = build.template_context(&service.name, service.port);
    let fields = Json::Object(context.clone());
    let render = |what: &str, text: &str| {
        template::render(text, &fields).map_err(|e| {
            InternalError(format!("the {what} of runtime `{}` (service `{}`): {e}", build.runtime.name, service.name))
        })
    };

    context.insert("header".into(), header.into());
    context.insert("base_image".into(), render("base image", &runtime.base_image)?.into());
    for (key, image) in &runtime.images {
        context.insert(key.clone(), render("image", image)?.into());
    }
    context.insert("uid".into(), runtime.uid.into());
    // The port production listens on: fixed by the runtime (nginx) or the service's own.
    if let Some(port) = runtime.fixed_port.or(service.port) {
        context.insert("production_port".into(), port.into());
    }

    let default_command =
        runtime.command.iter().map(|part| render("default command", part)).collect::<Result<Vec<_>, _>>()?;
    let command = first_non_empty([&service.config(Env::Prod).command[..], &default_command]);
    // The checker already put the runtime's dev default into the dev config (it alone knows
    // the port a service without one gets); a dev config left without a command (`dev {
    // command = [] }`) runs the production command.
    let dev_command = first_non_empty([&service.config(Env::Dev).command[..], command]);
    // Absent rather than `[]`: a template that needs a command and gets none fails in strict
    // mode instead of writing `CMD []`.
    if !command.is_empty() {
        context.insert("command_json".into(), exec_form(command)?.into());
    }
    if !dev_command.is_empty() {
        context.insert("dev_command_json".into(), exec_form(dev_command)?.into());
    }

    if let Some(health) = &service.health {
        // The probes stop themselves after half of Docker's timeout (at least 1 s), so they
        // report a slow answer as a failure before Docker kills them; the Compose health
        // check uses the same number (reference NOTES §3.3).
        let probe_timeout = (health.timeout_ms / 2000).max(1);
        // Seconds only (`90s`, `1.500s`): Docker reads `1m30s` too, but hadolint's parser
        // stops at the second unit and at `ms`, and fails the whole file.
        let seconds = crate::units::duration_seconds;
        context.insert(
            "health".into(),
            json!({
                "path": health.path,
                "interval": seconds(health.interval_ms),
                "timeout": seconds(health.timeout_ms),
                "start_period": seconds(health.start_period_ms),
                "retries": health.retries,
                "probe_timeout": probe_timeout,
                "probe_timeout_ms": probe_timeout * 1000,
            }),
        );
    }
    Ok(Json::Object(context))
}

/// `header`, `runtime` (the kind's name) and `ignore`: the runtime's entries, rendered over
/// the build fields (`{{dist}}`). The common entries are in the template itself.
fn dockerignore_context(
    header: &str,
    build: &Build,
    runtime: &RuntimeDef,
    dockerfile_context: &Json,
    service: &Service,
) -> Result<Json, InternalError> {
    let ignore = runtime
        .dockerignore
        .iter()
        .map(|entry| {
            template::render(entry, dockerfile_context).map_err(|e| {
                InternalError(format!(
                    "a .dockerignore entry of runtime `{}` (service `{}`): {e}",
                    build.runtime.name, service.name
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "header": header,
        "runtime": build.runtime.name,
        "ignore": ignore,
    }))
}

fn render_file(model: &Model, name: &str, context: &Json, service: &Service) -> Result<String, InternalError> {
    let text =
        model.templates.get(name).ok_or_else(|| InternalError(format!("the stdlib has no template `{name}`")))?;
    template::render(text, context)
        .map_err(|e| InternalError(format!("template `{name}` for service `{}`: {e}", service.name)))
}

fn first_non_empty<const N: usize>(candidates: [&[String]; N]) -> &[String] {
    candidates.into_iter().find(|c| !c.is_empty()).unwrap_or(&[])
}

/// `["uvicorn", "app.main:app"]`: a JSON array, which Docker reads as the exec form (FACTS §4,
/// DL3025). Each element is JSON-escaped; only the separators are written here.
fn exec_form(command: &[String]) -> Result<String, InternalError> {
    let parts = command
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InternalError(format!("a command did not serialize: {e}")))?;
    Ok(format!("[{}]", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::project::{compile, ProjectInput};

    const PROJECT: &str = r#"project p { gcp { project = "my-project"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/my-project/app" } }
"#;

    /// The api of the flagship example: build tools, runtime library, health check.
    const PYTHON: &str = r#"
service api {
  build : python {
    version = "3.11"
    system_packages = ["libpq-dev=15.*", "gcc=4:12.*"]
    runtime_packages = ["libpq5=15.*"]
    copy = ["app/", "alembic/", "alembic.ini"]
    dev_requirements = "requirements-dev.txt"
  }
  command = ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
  dev { command = ["uvicorn", "app.main:app", "--reload", "--host", "0.0.0.0", "--port", "8000"] }
  port = 8000
  health = http("/health") { interval = 30s  timeout = 10s  start_period = 40s  retries = 3 }
}
"#;

    const NODE: &str = r#"
service gateway {
  build : node { run = "npm run build"  copy = ["dist/"]  system_packages = ["python3=3.11.*", "make=4.3-4.1", "g++=4:12.*"] }
  command = ["node", "dist/server.js"]
  port = 3000
  health = http("/healthz") { timeout = 5s }
}
service web {
  build : node_static { build_args { VITE_B = "b"  VITE_API_URL = "https://api.example.com" } }
  port = 5173
  health = http("/")
}
"#;

    const GO: &str = r#"
service api {
  build : go { main_package = "./cmd/api"  copy = ["cmd/", "internal/"] }
  port = 8080
  health = http("/healthz") { timeout = 5s  start_period = 5s }
}
service worker { build : go { system_packages = ["git=1:2.39.*"] } }
"#;

    /// Every artifact of the spec, by path; fails the test on any error diagnostic.
    fn artifacts(spec: &str) -> BTreeMap<String, String> {
        artifacts_of(vec![("a.sight".into(), format!("{PROJECT}{spec}"))])
    }

    fn artifacts_of(sources: Vec<(String, String)>) -> BTreeMap<String, String> {
        let compiled = compile(&ProjectInput { manifest: String::new(), sources, ..Default::default() });
        let errors: Vec<&str> =
            compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.as_str()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        let result = compiled.model.as_ref().map(emit);
        assert!(matches!(result, Some(Ok(_))), "{result:?}");
        result.and_then(Result::ok).unwrap_or_default().into_iter().map(|a| (a.path, a.contents)).collect()
    }

    fn file<'a>(files: &'a BTreeMap<String, String>, path: &str) -> &'a str {
        assert!(files.contains_key(path), "no {path} in {:?}", files.keys());
        files.get(path).map_or("", String::as_str)
    }

    /// Stage name → its lines (from its `FROM` to the next), in file order.
    fn stages(dockerfile: &str) -> Vec<(String, Vec<&str>)> {
        let mut stages: Vec<(String, Vec<&str>)> = Vec::new();
        for line in dockerfile.lines() {
            if let Some(from) = line.strip_prefix("FROM ") {
                let name = from.split(" AS ").nth(1).unwrap_or("").to_string();
                stages.push((name, Vec::new()));
            }
            if let Some((_, lines)) = stages.last_mut() {
                lines.push(line);
            }
        }
        stages
    }

    fn stage<'a>(dockerfile: &'a str, name: &str) -> Vec<&'a str> {
        stages(dockerfile).into_iter().find(|(n, _)| n == name).map(|(_, lines)| lines).unwrap_or_default()
    }

    fn all_dockerfiles() -> Vec<(String, String)> {
        [PYTHON, NODE, GO]
            .iter()
            .flat_map(|spec| artifacts(spec))
            .filter(|(path, _)| path.ends_with("Dockerfile"))
            .collect()
    }

    #[test]
    fn every_dockerfile_has_base_development_and_a_final_production_stage() {
        for (path, text) in all_dockerfiles() {
            let names: Vec<String> = stages(&text).into_iter().map(|(n, _)| n).collect();
            for expected in ["base", "builder", "development"] {
                assert!(names.iter().any(|n| n == expected), "{path}: {names:?}");
            }
            // A build with no target gives the production image.
            assert_eq!(names.last().map(String::as_str), Some("production"), "{path}");
        }
    }

    #[test]
    fn build_tools_stay_in_the_builder_stage() {
        let files = artifacts(PYTHON);
        let dockerfile = file(&files, "api/Dockerfile");
        let builder = stage(dockerfile, "builder").join("\n");
        assert!(builder.contains("gcc=4:12.*") && builder.contains("libpq-dev=15.*"));
        let production = stage(dockerfile, "production").join("\n");
        assert!(production.contains("libpq5=15.*"), "{production}");
        assert!(production.contains("COPY --from=builder /opt/venv /opt/venv"));
        let development = stage(dockerfile, "development").join("\n");
        assert!(development.contains("RUN pip install --no-cache-dir -r requirements-dev.txt"));
        assert!(!production.contains("requirements-dev.txt"));
        for (path, text) in all_dockerfiles() {
            let production = stage(&text, "production").join("\n");
            assert!(!production.is_empty(), "{path}");
            for tool in ["gcc", "g++", "make=", "-dev=", "build-essential", "python3="] {
                assert!(!production.contains(tool), "{path}: `{tool}` in production");
            }
        }
    }

    #[test]
    fn the_last_user_is_a_numeric_non_root_uid() {
        for (path, text) in all_dockerfiles() {
            let user = text.lines().filter_map(|l| l.strip_prefix("USER ")).next_back();
            let uid = user.and_then(|u| u.split(':').next()?.parse::<u32>().ok());
            assert!(matches!(uid, Some(n) if n > 0), "{path}: USER {user:?}");
        }
        let files = artifacts(NODE);
        assert!(file(&files, "web/Dockerfile").contains("\nUSER 101\n"));
    }

    #[test]
    fn every_cmd_is_an_exec_form_json_array() {
        for (path, text) in all_dockerfiles() {
            let mut cmds = 0;
            for line in text.lines() {
                // `CMD` lines and the continuation line of HEALTHCHECK.
                let Some(json) = line.trim_start().strip_prefix("CMD ") else {
                    continue;
                };
                cmds += 1;
                let parsed: Result<Vec<String>, _> = serde_json::from_str(json);
                assert!(matches!(&parsed, Ok(v) if !v.is_empty()), "{path}: {line}");
            }
            assert!(cmds >= 2, "{path}: development and production need a CMD");
        }
    }

    #[test]
    fn commands_come_from_the_spec_then_the_runtime_defaults() {
        let files = artifacts(PYTHON);
        let api = file(&files, "api/Dockerfile");
        let dev = stage(api, "development").join("\n");
        assert!(dev.contains(r#"CMD ["uvicorn", "app.main:app", "--reload", "--host", "0.0.0.0", "--port", "8000"]"#));
        assert!(api.ends_with("CMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8000\"]\n"));

        let files = artifacts(GO);
        let api = file(&files, "api/Dockerfile");
        assert!(stage(api, "development").contains(&r#"CMD ["go", "run", "./cmd/api"]"#));
        assert!(api.ends_with("CMD [\"/usr/local/bin/api\"]\n"));
        assert!(api.contains("go build -trimpath -ldflags=\"-s -w\" -o /out/api ./cmd/api"));
        let worker = file(&files, "worker/Dockerfile");
        assert!(worker.ends_with("CMD [\"/usr/local/bin/worker\"]\n"));

        let files = artifacts("service py { build : python { } }\nservice js { build : node { } }");
        let py = file(&files, "py/Dockerfile");
        assert!(py.ends_with("CMD [\"python\", \"main.py\"]\n"));
        assert!(stage(py, "development").contains(&r#"CMD ["python", "main.py"]"#));
        assert!(file(&files, "js/Dockerfile").ends_with("CMD [\"node\", \".\"]\n"));
    }

    #[test]
    fn healthcheck_iff_health_is_declared_with_a_status_failing_probe() {
        let probes = [
            (PYTHON, "api/Dockerfile", "CMD [\"python\", \"-c\", \"import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=5)\"]"),
            (NODE, "gateway/Dockerfile", "r.ok ? 0 : 1"),
            (NODE, "web/Dockerfile", "CMD [\"wget\", \"-q\", \"--spider\", \"http://127.0.0.1:8080/\"]"),
            (GO, "api/Dockerfile", "CMD [\"/usr/local/bin/healthprobe\", \"http://127.0.0.1:8080/healthz\"]"),
        ];
        for (spec, path, probe) in probes {
            let files = artifacts(spec);
            let text = file(&files, path);
            let instructions = text.lines().filter(|l| l.starts_with("HEALTHCHECK "));
            assert_eq!(instructions.count(), 1, "{path}");
            let production = stage(text, "production").join("\n");
            assert!(production.contains(probe), "{path}: {production}");
            // Never a probe that exits 0 on HTTP 500 (FACTS §7 item 26).
            assert!(!text.contains("requests.get") && !text.contains("\"curl\""), "{path}");
        }
        let files = artifacts(PYTHON);
        assert!(file(&files, "api/Dockerfile")
            .contains("HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \\\n"));
        let files = artifacts(GO);
        let worker = file(&files, "worker/Dockerfile");
        assert!(!worker.contains("HEALTHCHECK") && !worker.contains("healthprobe"), "{worker}");
        let files = artifacts("service py { build : python { } }");
        assert!(!file(&files, "py/Dockerfile").contains("HEALTHCHECK"));
    }

    #[test]
    fn healthcheck_durations_are_seconds_for_hadolint() {
        let files = artifacts(
            "service api { build : python { } port = 8000 health = http(\"/h\") { interval = 90s timeout = 3s } }",
        );
        let api = file(&files, "api/Dockerfile");
        assert!(api.contains("HEALTHCHECK --interval=90s --timeout=3s --start-period=0s --retries=3"), "{api}");
        // Half the timeout, at least a second.
        assert!(api.contains("timeout=1)"), "{api}");
    }

    #[test]
    fn static_front_end_takes_build_args_and_serves_on_the_fixed_port() {
        let files = artifacts(NODE);
        let web = file(&files, "web/Dockerfile");
        let artifacts_stage = stage(web, "artifacts");
        let args: Vec<&&str> = artifacts_stage.iter().filter(|l| l.starts_with("ARG ")).collect();
        assert_eq!(args, [&"ARG VITE_API_URL", &"ARG VITE_B"]);
        // Names only: values are build arguments, never baked into ENV.
        assert!(!web.contains("https://api.example.com"));
        assert!(web.contains("listen 8080;"));
        let production = stage(web, "production").join("\n");
        assert!(production.starts_with("FROM nginxinc/nginx-unprivileged:1.27-alpine AS production"));
        assert!(production.contains("EXPOSE 8080") && !production.contains("5173"));
        assert!(stage(web, "development").contains(&"EXPOSE 5173"));
    }

    #[test]
    fn dockerignore_keeps_secrets_and_history_out_of_every_context() {
        for spec in [PYTHON, NODE, GO] {
            for (path, text) in artifacts(spec) {
                if !path.ends_with(".dockerignore") {
                    continue;
                }
                let lines: Vec<&str> = text.lines().collect();
                for entry in [".git", ".env", ".env.*", "**/.env", "**/.env.*", "secrets"] {
                    assert!(lines.contains(&entry), "{path}: no `{entry}`");
                }
                assert!(text.starts_with("# Code generated by sight"), "{path}");
            }
        }
        let files = artifacts(PYTHON);
        assert!(file(&files, "api/.dockerignore").contains("\n**/__pycache__\n"));
        let files = artifacts(NODE);
        // The static runtime's entry is rendered over its fields (`{{dist}}`).
        assert!(file(&files, "web/.dockerignore").contains("\ndist\n"));
    }

    #[test]
    fn files_end_with_one_newline_and_no_double_blank_lines() {
        for spec in [PYTHON, NODE, GO] {
            for (path, text) in artifacts(spec) {
                assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{path}");
                assert!(!text.contains("\n\n\n"), "{path}");
            }
        }
    }

    #[test]
    fn output_is_deterministic() {
        for spec in [PYTHON, NODE, GO] {
            assert_eq!(artifacts(spec), artifacts(spec));
        }
        // Nor does the order of the spec files.
        let files = [("a.sight", PROJECT), ("b.sight", NODE), ("c.sight", GO)];
        let forward = files.map(|(p, t)| (p.to_string(), t.to_string())).to_vec();
        let mut backward = forward.clone();
        backward.reverse();
        let output = artifacts_of(forward);
        assert!(output.contains_key("web/Dockerfile") && output.contains_key("worker/Dockerfile"));
        assert_eq!(output, artifacts_of(backward));
    }

    #[test]
    fn every_stdlib_runtime_renders() {
        let stdlib = crate::stdlib::Stdlib::builtin().unwrap_or_default();
        // A runtime without a template (`dockerfile`) builds the context's own Dockerfile.
        let runtimes: Vec<&str> = stdlib
            .kinds_of(crate::stdlib::KindClass::Runtime)
            .filter(|k| k.runtime.as_ref().is_some_and(|r| !r.template.is_empty()))
            .map(|k| k.name.as_str())
            .collect();
        assert!(runtimes.len() >= 4, "{runtimes:?}");
        for runtime in runtimes {
            // The fewest fields: every default and every absent optional key is exercised.
            let files =
                artifacts(&format!("service s {{ build : {runtime} {{ }} port = 8080 health = http(\"/h\") }}"));
            assert!(file(&files, "s/Dockerfile").contains("HEALTHCHECK"), "{runtime}");
            assert!(file(&files, "s/.dockerignore").contains(".git"), "{runtime}");
        }
    }

    #[test]
    fn an_own_dockerfile_is_never_written() {
        let files = artifacts("service api { build : dockerfile { context = \"api\"  target = \"dev\" } }");
        assert!(files.is_empty(), "{:?}", files.keys());
    }

    #[test]
    fn context_decides_the_paths() {
        let files = artifacts("service api { build : python { context = \"services/api/\" } }");
        assert_eq!(files.keys().collect::<Vec<_>>(), ["services/api/.dockerignore", "services/api/Dockerfile"]);
        let files = artifacts("service api { build : python { context = \".\" } }");
        assert_eq!(files.keys().collect::<Vec<_>>(), [".dockerignore", "Dockerfile"]);
    }

    #[test]
    fn two_builds_cannot_share_a_context() {
        let compiled = compile(&ProjectInput {
            manifest: String::new(),
            sources: vec![(
                "a.sight".into(),
                format!("{PROJECT}service a {{ build : python {{ context = \".\" }} }}\nservice b {{ build : go {{ context = \".\" }} }}"),
            )],
            ..Default::default()
        });
        assert!(compiled.diagnostics.iter().any(|d| d.code.code == "S0101" && d.message.contains("both built from")));
    }

    #[test]
    fn a_health_path_that_needs_quoting_is_rejected() {
        let compiled = compile(&ProjectInput {
            manifest: String::new(),
            sources: vec![(
                "a.sight".into(),
                format!("{PROJECT}service a {{ build : python {{ }} port = 80 health = http(\"/h'x\") }}"),
            )],
            ..Default::default()
        });
        assert!(compiled.has_errors());
    }
}
