//! When sight spreads its work over threads. The lowering of services (in two halves) and
//! emitting (by target and Compose file) take more threads only for a large project on a
//! machine with more than one core: below that, a thread costs about what it saves, and on one
//! core it would only hold more memory at once. (Parsing goes by bytes instead: files are
//! parsed on threads above 256 KB of spec, `project::parse_all`.) None of it changes a byte
//! of the result (tests/it/golden.rs and tests/it/workload.rs build both ways).

/// From this many services (and stores, when emitting), the work is spread over threads. The
/// flagship example builds in the same time either way.
pub const LARGE_PROJECT: usize = 500;

/// Whether the machine has more than one core to give.
fn two_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Whether `items` of a project are many enough, and the machine wide enough, for threads.
pub fn worth_threads(items: usize) -> bool {
    items >= LARGE_PROJECT && two_cores()
}
