//! The benchmark workload of issue 6: `scripts/gen-workload N DIR` writes a sight project whose
//! production Compose file is the workload's Compose document. For a few hundred services (enough
//! for the parallel build), the document is built here from the workload's definition and compared
//! with what sight generates.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Map, Value};

use crate::support::*;

/// The workload's definition, as a Compose document's `services` (issue 6): service i runs
/// `registry.example.com/svc-i:1.0` on host port 8000+i, reads its database `db-<i mod 10>`,
/// waits for it, is probed with curl, restarts unless stopped, and has 1 CPU and 512M.
fn workload_services(n: usize) -> Map<String, Value> {
    let mut services = Map::new();
    for i in 0..n {
        let db = format!("db-{}", i % 10);
        services.insert(
            format!("svc-{i}"),
            json!({
                "image": format!("registry.example.com/svc-{i}:1.0"),
                "ports": [format!("{}:8000", 8000 + i)],
                "environment": {
                    "DATABASE_URL": format!("postgresql://app@{db}:5432/app"),
                    "SERVICE_NAME": format!("svc-{i}"),
                    "LOG_LEVEL": "info",
                },
                "depends_on": { db.as_str(): { "condition": "service_healthy" } },
                "healthcheck": {
                    "test": ["CMD", "curl", "-f", "http://localhost:8000/health"],
                    "interval": "30s",
                    "timeout": "10s",
                    "retries": 3,
                },
                "restart": "unless-stopped",
                "deploy": { "resources": { "limits": { "cpus": "1", "memory": "512M" } } },
            }),
        );
    }
    services
}

fn generate(n: usize, dir: &Path) {
    let status = Command::new("python3")
        .arg(repo_root().join("scripts/gen-workload"))
        .arg(n.to_string())
        .arg(dir)
        .status()
        .unwrap_or_else(|e| panic!("python3 scripts/gen-workload: {e}"));
    assert!(status.success(), "scripts/gen-workload failed");
}

#[test]
fn the_generated_compose_file_is_the_workload() {
    // Large enough for the files to be built on parallel threads (`sight::parallel`).
    let n = sight::parallel::LARGE_PROJECT + 100;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    generate(n, dir.path());
    let compiled = compile_dir(dir.path());
    assert!(compiled.diagnostics.is_empty(), "{}", human(&compiled));
    let model = compiled.model.as_ref().unwrap_or_else(|| panic!("no model"));
    let artifacts =
        sight::emit::emit_targets(model, &[sight::emit::Target::Compose]).unwrap_or_else(|e| panic!("{e:?}"));
    // Threads or not, the same bytes every time.
    let again = sight::emit::emit_targets(model, &[sight::emit::Target::Compose]).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(model.services.len() + model.stores.len() >= sight::parallel::LARGE_PROJECT);
    assert!(artifacts.iter().map(|a| (&a.path, &a.contents)).eq(again.iter().map(|a| (&a.path, &a.contents))));
    let prod = artifacts
        .iter()
        .find(|a| a.path == "docker-compose.prod.yml")
        .unwrap_or_else(|| panic!("no docker-compose.prod.yml"));
    let file: Value = serde_yaml::from_str(&prod.contents).unwrap_or_else(|e| panic!("{e}"));
    let services = file["services"].as_object().unwrap_or_else(|| panic!("no services"));

    // The services: exactly the workload's, key for key.
    let expected = workload_services(n);
    for (name, service) in &expected {
        assert_eq!(services.get(name), Some(service), "{name}");
    }
    // The databases: postgres:16 with a pg_isready health check (sight adds the password
    // secret, the data volume and the health check's timing, which the workload leaves open).
    let databases: Vec<&String> = services.keys().filter(|name| !expected.contains_key(*name)).collect();
    assert_eq!(databases, (0..10).map(|d| format!("db-{d}")).collect::<Vec<_>>().iter().collect::<Vec<_>>());
    for name in databases {
        let db = &services[name];
        assert_eq!(db["image"], "postgres:16", "{name}");
        assert!(db["healthcheck"]["test"][1].as_str().is_some_and(|t| t.starts_with("pg_isready ")), "{name}");
        assert_eq!(db["restart"], "unless-stopped", "{name}");
    }
}

/// A large project's services are checked on two threads (`check/services.rs`): the findings of
/// both halves are all reported, in source order, and a secret only the second half reads is
/// still counted as used.
#[test]
fn a_large_project_is_checked_in_two_halves_as_in_one() {
    let n = sight::parallel::LARGE_PROJECT + 100;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    generate(n, dir.path());
    let path = dir.path().join("services-000.sight");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    // In name order `svc-0` comes first and `svc-99` last: one in each half.
    for name in ["svc-0", "svc-300", "svc-99"] {
        let head = format!("service {name} {{\n");
        assert!(text.contains(&head), "{name}");
        text = text.replacen(&head, &format!("{head}  portt = 1\n"), 1);
    }
    let read = "SERVICE_NAME = \"svc-99\"";
    assert!(text.contains(read));
    text = text.replacen(read, "SERVICE_NAME = secret.token", 1);
    text.push_str("\nsecret token { from = secret_manager(\"token\", version = 1) }\n");
    // A rule's finding (a plain-text credential, S0123) in each half as well.
    for name in ["svc-0", "svc-99"] {
        let at = text.find(&format!("service {name} {{\n")).unwrap_or_else(|| panic!("{name}"));
        let (before, after) = text.split_at(at);
        text = format!("{before}{}", after.replacen("LOG_LEVEL = \"info\"", "API_TOKEN = \"plain\"", 1));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));

    let compiled = compile_dir(dir.path());
    let found: Vec<(&str, usize)> = compiled
        .diagnostics
        .iter()
        .map(|d| (d.code.code, d.primary.as_ref().map_or(0, |p| compiled.sources.location(p.span).line)))
        .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let expected: Vec<(&str, usize)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| match l.trim() {
            "portt = 1" => Some(("S0110", i + 1)),
            "API_TOKEN = \"plain\"" => Some(("S0123", i + 1)),
            _ => None,
        })
        .collect();
    assert_eq!(expected.len(), 5);
    assert_eq!(found, expected, "{}", human(&compiled));
}
