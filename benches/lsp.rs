//! The language server's latency: time from `textDocument/didChange` to the
//! `textDocument/publishDiagnostics` it causes, through the real binary over stdio.
//!
//! `cargo bench --bench lsp` (optimised build). Two projects: the flagship example, and a
//! generated one with 1,000 services (plus stores, secrets, a pipeline and alerts) in ten
//! files. Each round edits one open file, alternating a change that introduces an error and
//! one that fixes it, so that every round recompiles the project and publishes new diagnostics.
//! Prints the median, 90th percentile and maximum per project.

#[path = "../tests/it/lsp/client.rs"]
mod client;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use client::{uri, Client};

const ROUNDS: usize = 60;

/// A project with `services` services in `files` files, which checks without errors.
fn generate(dir: &Path, services: usize, files: usize) -> std::io::Result<()> {
    std::fs::write(dir.join("sight.toml"), "[project]\nname = \"big\"\n")?;
    let mut head = String::from(
        "project big {\n  gcp { project = \"big-prod\"  region = \"europe-west1\"  registry = \"europe-west1-docker.pkg.dev/big-prod/app\" }\n}\n\n",
    );
    head.push_str("secret db_password { from = secret_manager(\"db-password\", version = 1) }\n");
    head.push_str("secret slack_webhook { from = secret_manager(\"slack-webhook\", version = 1) }\n\n");
    head.push_str("database postgres : postgres {\n  password = secret.db_password\n  max_connections = 500\n}\n\n");
    head.push_str("cache redis : redis { version = 7 }\n\n");
    head.push_str("channel oncall : slack {\n  webhook = secret.slack_webhook\n  id = \"projects/big-prod/notificationChannels/1234567890\"\n}\n\n");
    head.push_str("alert db_pool { on = postgres  when connections > 90% for 5m  notify = oncall }\n");
    std::fs::write(dir.join("base.sight"), head)?;
    let per_file = services.div_ceil(files);
    for f in 0..files {
        let mut text = String::new();
        for i in f * per_file..((f + 1) * per_file).min(services) {
            let depends = if i == 0 { "postgres, redis".to_string() } else { format!("postgres, svc{:04}", i - 1) };
            text.push_str(&format!(
                "service svc{i:04} {{\n  image = \"nginx:1.27\"\n  port = {port}\n  health = http(\"/health\") {{ interval = 30s  timeout = 5s }}\n  env {{\n    DATABASE_URL = postgres.url\n    CACHE_URL = redis.url(db = 1)\n    DB_PASSWORD = secret.db_password\n    LOG_LEVEL = \"info\"\n  }}\n  depends_on = [{depends}]\n  dev {{ env {{ LOG_LEVEL = \"debug\" }} }}\n}}\n\n",
                port = 10_000 + i,
            ));
        }
        std::fs::write(dir.join(format!("services_{f:02}.sight")), text)?;
    }
    Ok(())
}

fn copy_flagship(to: &Path) -> std::io::Result<()> {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sight-platform");
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

struct Figures {
    median: Duration,
    p90: Duration,
    max: Duration,
    /// The server's CPU time per change (user + system), which other load on the machine does
    /// not inflate as it inflates wall-clock time.
    cpu: Option<Duration>,
}

/// Opens `file` in the project at `root`, then edits it `ROUNDS` times: a misspelt reference
/// (an error), then the original text (no error).
fn measure(root: &Path, file: &str, original: &str, broken: &str) -> Result<Figures, String> {
    let (mut client, _) = Client::start(Path::new(env!("CARGO_BIN_EXE_sight")), root)?;
    let target = uri(&root.join(file));
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": target, "languageId": "sight", "version": 0, "text": original } }),
    )?;
    let initial = client.diagnostics(&target)?;
    if !initial.is_empty() {
        return Err(format!("{file} should check cleanly: {initial:?}"));
    }
    let mut times = Vec::with_capacity(ROUNDS);
    let cpu_before = client.cpu_time();
    for round in 1..=ROUNDS {
        let text = if round % 2 == 1 { broken } else { original };
        let started = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": target, "version": round }, "contentChanges": [{ "text": text }] }),
        )?;
        let diagnostics = client.diagnostics(&target)?;
        times.push(started.elapsed());
        if diagnostics.is_empty() == (round % 2 == 1) {
            return Err(format!("round {round}: unexpected diagnostics {diagnostics:?}"));
        }
    }
    let cpu = match (cpu_before, client.cpu_time()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before) / ROUNDS as u32),
        _ => None,
    };
    client.stop()?;
    times.sort();
    let at = |q: f64| times.get(((times.len() - 1) as f64 * q).round() as usize).copied().unwrap_or_default();
    Ok(Figures { median: at(0.5), p90: at(0.9), max: times.last().copied().unwrap_or_default(), cpu })
}

fn report(name: &str, figures: Result<Figures, String>, target_ms: u64) {
    match figures {
        Ok(f) => println!(
            "{name:<36} median {:>7.2} ms   p90 {:>7.2} ms   max {:>7.2} ms   server CPU/change {}   (target < {target_ms} ms)",
            f.median.as_secs_f64() * 1e3,
            f.p90.as_secs_f64() * 1e3,
            f.max.as_secs_f64() * 1e3,
            f.cpu.map_or("n/a".to_string(), |c| format!("{:.1} ms", c.as_secs_f64() * 1e3)),
        ),
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let run = || -> Result<(), String> {
        let flagship = tempfile::tempdir().map_err(|e| e.to_string())?;
        copy_flagship(flagship.path()).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(flagship.path().join("platform.sight")).map_err(|e| e.to_string())?;
        let broken = text.replacen("depends_on = [postgres", "depends_on = [postgress", 1);
        report("flagship (examples/sight-platform)", measure(flagship.path(), "platform.sight", &text, &broken), 20);

        let big = tempfile::tempdir().map_err(|e| e.to_string())?;
        generate(big.path(), 1000, 10).map_err(|e| e.to_string())?;
        let file = "services_05.sight";
        let text = std::fs::read_to_string(big.path().join(file)).map_err(|e| e.to_string())?;
        let broken = text.replacen("depends_on = [postgres", "depends_on = [postgress", 1);
        report("1,000 services (10 files)", measure(big.path(), file, &text, &broken), 200);
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
