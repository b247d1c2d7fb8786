//! The floor of `benches/run.sh`: a minimal program that writes the workload's Compose
//! document (issue 6) directly, with no input to read and nothing to check:
//! `cargo bench --bench baseline -- N OUT_FILE`. sight's figures are reported as ratios to it.

use std::fmt::Write as _;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (Some(n), Some(out)) = (args.first().and_then(|n| n.parse::<usize>().ok()), args.get(1)) else {
        eprintln!("usage: cargo bench --bench baseline -- N OUT_FILE");
        std::process::exit(2);
    };
    let mut y = String::with_capacity(700 * (n + 10));
    y.push_str("name: workload-prod\nservices:\n");
    for d in 0..10 {
        let _ = write!(
            y,
            "  db-{d}:\n    image: postgres:16\n    healthcheck:\n      test:\n        - CMD-SHELL\n        - pg_isready -h 127.0.0.1 -U app -d app\n      interval: 5s\n      timeout: 5s\n      retries: 10\n    restart: unless-stopped\n"
        );
    }
    for i in 0..n {
        let db = i % 10;
        let _ = write!(
            y,
            "  svc-{i}:\n    image: registry.example.com/svc-{i}:1.0\n    environment:\n      DATABASE_URL: postgresql://app@db-{db}:5432/app\n      LOG_LEVEL: info\n      SERVICE_NAME: svc-{i}\n"
        );
        if 8000 + i <= 65535 {
            let _ = write!(y, "    ports:\n      - {}:8000\n", 8000 + i);
        }
        let _ = write!(
            y,
            "    depends_on:\n      db-{db}:\n        condition: service_healthy\n    healthcheck:\n      test:\n        - CMD\n        - curl\n        - -f\n        - http://localhost:8000/health\n      interval: 30s\n      timeout: 10s\n      retries: 3\n    restart: unless-stopped\n    deploy:\n      resources:\n        limits:\n          cpus: '1'\n          memory: 512M\n"
        );
    }
    if let Err(e) = std::fs::write(out, y) {
        eprintln!("{out}: {e}");
        std::process::exit(1);
    }
}
