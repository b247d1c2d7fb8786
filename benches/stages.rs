//! Per-stage timings of one project, in process: `cargo bench --bench stages -- DIR [RUNS]`.
//!
//! Stages: read (the CLI's `read_project`), parse (`syntax::parse_deferring_services` of every
//! spec file: what `project::compile` parses before checking; service bodies are parsed as
//! they are checked), check (`project::compile`, which parses again, minus parse), graph (`graph::build`), emit
//! (compose only, then every target), write (plan and apply into a fresh folder). Each stage
//! runs RUNS times (default 10); the median is printed as one JSON object per line, which
//! `benches/run.sh` reads into docs/performance.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sight::emit::{Sink, Target};

/// The allocator of the `sight` binary, so that the stages cost what they cost there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default().as_secs_f64() * 1000.0
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        samples.push(start.elapsed());
        // Dropping the previous result is not part of the stage.
        drop(last.replace(value));
    }
    (median(samples), last.unwrap_or_else(f))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: cargo bench --bench stages -- DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(10).max(1);

    let (read, input) = time(runs, || sight::cli::read_project(&dir).unwrap_or_else(|e| panic!("{e}")));
    let (parse, _) = time(runs, || {
        input
            .sources
            .iter()
            .enumerate()
            .map(|(i, (_, text))| sight::syntax::parse_deferring_services(sight::source::FileId(i as u32), text))
            .collect::<Vec<_>>()
    });
    let (compile, compiled) = time(runs, || sight::project::compile(&input));
    let Some(model) = compiled.model.as_ref() else {
        eprintln!("{} has errors: run `sight check` on it", dir.display());
        std::process::exit(1);
    };
    let (graph, _) = time(runs, || sight::graph::build(model, None));
    let (emit_compose, compose) =
        time(runs, || sight::emit::emit_targets(model, &[Target::Compose]).unwrap_or_default());
    let (emit_all, _) = time(runs, || sight::emit::emit(model).unwrap_or_default());
    let bytes: usize = compose.iter().map(|a| a.contents.len()).sum();
    let scratch = std::env::temp_dir().join(format!("sight-stages-{}", std::process::id()));
    let mut round = 0;
    // Writing the emitted text, put whole into each file (a fresh output folder per run).
    let (write, _) = time(runs, || {
        round += 1;
        let staging = sight::write::Staging::new(&scratch.join(round.to_string()));
        let files = compose
            .iter()
            .map(|artifact| {
                let mut file = staging.open(&artifact.path);
                file.put(&artifact.contents);
                (artifact.path.clone(), file)
            })
            .collect();
        let plan = staging.plan(files, false).unwrap_or_else(|e| panic!("{e}"));
        plan.apply(false).unwrap_or_else(|e| panic!("{e}"))
    });
    // What `sight build --only compose` does after compiling: each file written as it is emitted.
    let (emit_and_write, _) = time(runs, || {
        round += 1;
        let staging = sight::write::Staging::new(&scratch.join(round.to_string()));
        let files = sight::emit::emit_targets_into(model, &[Target::Compose], |path| staging.open(path))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let plan = staging.plan(files, false).unwrap_or_else(|e| panic!("{e}"));
        plan.apply(false).unwrap_or_else(|e| panic!("{e}"))
    });
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "{{\"dir\": {:?}, \"services\": {}, \"read_ms\": {read:.3}, \"parse_ms\": {parse:.3}, \"check_ms\": {:.3}, \"graph_ms\": {graph:.3}, \"emit_compose_ms\": {emit_compose:.3}, \"emit_all_ms\": {emit_all:.3}, \"write_compose_ms\": {write:.3}, \"emit_and_write_compose_ms\": {emit_and_write:.3}, \"compose_bytes\": {bytes}}}",
        dir.display().to_string(),
        model.services.len(),
        (compile - parse).max(0.0),
    );
}
