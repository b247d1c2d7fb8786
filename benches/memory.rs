//! Live heap bytes and allocation counts after each stage, in process:
//! `cargo bench --bench memory -- DIR`. Peak RSS (benches/run.sh) says how much; this says
//! which stage holds it: the syntax trees, the model, the emitted files.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn report(stage: &str) {
    let mb = |n: usize| n as f64 / 1e6;
    println!(
        "{{\"stage\": \"{stage}\", \"live_mb\": {:.1}, \"peak_mb\": {:.1}, \"allocations\": {}}}",
        mb(LIVE.load(Relaxed)),
        mb(PEAK.load(Relaxed)),
        ALLOCATIONS.load(Relaxed)
    );
}

fn main() {
    let Some(dir) = std::env::args().skip(1).find(|a| a != "--bench") else {
        eprintln!("usage: cargo bench --bench memory -- DIR");
        std::process::exit(2);
    };
    let input = sight::cli::read_project(std::path::Path::new(&dir)).unwrap_or_else(|e| panic!("{e}"));
    report("read");
    let parse = |deferring: bool| -> Vec<_> {
        let each = if deferring { sight::syntax::parse_deferring_services } else { sight::syntax::parse };
        input.sources.iter().enumerate().map(|(i, (_, text))| each(sight::source::FileId(i as u32), text)).collect()
    };
    // What the compiler holds: service bodies are parsed one at a time while they are checked.
    let declarations = parse(true);
    report("parse (declarations held, service bodies deferred)");
    drop(declarations);
    let compiled = sight::project::compile(&input);
    report("compile (model held)");
    let Some(model) = compiled.model.as_ref() else {
        eprintln!("{dir} has errors: run `sight check` on it");
        std::process::exit(1);
    };
    let compose = sight::emit::emit_targets(model, &[sight::emit::Target::Compose]).unwrap_or_default();
    report("emit compose (files held)");
    drop(compose);
    drop(compiled);
    // Last, so that the peaks above are the compiler's: what whole trees would take.
    let trees = parse(false);
    report("parse whole (trees held; the compiler never holds them all)");
    drop(trees);
}
