//! `sight import`, through the real binary: the project it writes builds, every field it does
//! not import is a warning with its file and line, and nothing is overwritten without `--force`.

use snapbox::cmd::Command;

fn sight() -> Command {
    Command::new(snapbox::cmd::cargo_bin!("sight")).env("NO_COLOR", "1")
}

const COMPOSE: &str = "services:
  web:
    build: ./web
    ports: [\"8080:80\"]
    depends_on: [db]
    logging:
      driver: syslog
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: example
";

const OVERRIDE: &str = "services:
  web:
    environment:
      DEBUG: \"1\"
";

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn import_compose_writes_a_project_that_builds() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap_or_else(|e| panic!("{e}"));
    write(&app, "compose.yaml", COMPOSE);
    write(&app, "compose.override.yaml", OVERRIDE);
    // Below the Compose folder, its paths would leave the project.
    sight().arg("import").arg("compose").arg(app.join("compose.yaml")).arg("--out").arg(app.join("x")).assert().code(2);
    let out = dir.path().to_path_buf();
    let output = sight()
        .arg("import")
        .arg("compose")
        .arg(app.join("compose.yaml"))
        .arg(app.join("compose.override.yaml"))
        .arg("--out")
        .arg(&out)
        .arg("--name")
        .arg("shop")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The dropped field is named with its file and line.
    assert!(stderr.contains("compose.yaml:6: warning: services.web.logging:"), "{stderr}");
    let spec = std::fs::read_to_string(out.join("shop.sight")).unwrap_or_else(|e| panic!("{e}"));
    assert!(spec.contains("build : dockerfile"), "{spec}");
    assert!(spec.contains("context = \"./app/web\""), "paths are rebased onto --out: {spec}");
    assert!(spec.contains("DEBUG = \"1\""), "the override is merged: {spec}");
    assert!(spec.contains("database db : postgres"), "{spec}");
    assert_eq!(std::fs::read_to_string(out.join("secrets/db_password.txt")).unwrap_or_default(), "example");
    sight().arg("build").arg(&out).assert().success();
    assert!(out.join("docker-compose.yml").exists());
    // A second import does not overwrite the first.
    sight()
        .arg("import")
        .arg("compose")
        .arg(app.join("compose.yaml"))
        .arg("--out")
        .arg(&out)
        .arg("--name")
        .arg("shop")
        .assert()
        .code(1);
}

#[test]
fn import_alert_reports_what_it_cannot_map() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "policy.json",
        r#"{"displayName": "logs", "conditions": [{"conditionMatchedLog": {"filter": "severity>=ERROR"}}]}"#,
    );
    let output = sight()
        .arg("import")
        .arg("alert")
        .arg(dir.path().join("policy.json"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("conditions[0].conditionMatchedLog"), "{stderr}");
    assert!(!dir.path().join("out/sight.toml").exists());
}
