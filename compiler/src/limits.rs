//! The limits sight puts on its input, so that no spec (hand-written, generated or hostile)
//! can make it run out of stack, memory or time. Each one is a diagnostic, never a panic:
//!
//! | limit                                   | value       | code  |
//! |-----------------------------------------|-------------|-------|
//! | bytes in one source file                | 10 MiB      | S0008 |
//! | nesting of blocks, lists and calls      | 64 levels   | S0005 |
//! | items in one list, block or call        | 10,000      | S0009 |
//! | declarations in a project               | 1,000,000   | S0014 |
//! | steps in a pipeline                      | 1,000       | S0163 |
//! | characters in a declaration name        | 49          | S0106 |
//! | integers, durations and sizes           | 64 bits     | S0004 |
//!
//! The values are far beyond any real project (the largest known spec has a few hundred
//! declarations) and low enough that the worst input of each kind checks in about a second.

use std::io::Read as _;

/// The largest source file, in bytes. Spans are 32-bit offsets; this keeps them far from
/// overflowing, and a spec this large is a mistake (a generated file gone wrong, a binary).
pub const MAX_FILE_BYTES: usize = 10 << 20;

/// The most items one list (`[a, b]`), block (`{ a = 1  b = 2 }`) or call (`f(a, b)`) holds.
pub const MAX_ITEMS: usize = 10_000;

/// The most declarations (services, stores, pipelines, …) of one project, over all its files.
/// Platform monorepos reach tens of thousands of services; the benchmark workload (issue 6,
/// docs/performance.md) checks 100,000 in well under a second.
pub const MAX_DECLARATIONS: usize = 1_000_000;

/// The most steps of one pipeline. Ordering steps relates each with the others (implied
/// edges, what waits for what, the critical path): bounded, a pipeline checks in well under a
/// second. Real pipelines have tens of steps.
pub const MAX_STEPS: usize = 1_000;

/// `10 MiB`, as messages write the file limit.
pub fn file_limit_text() -> String {
    format!("{} MiB", MAX_FILE_BYTES >> 20)
}

/// Reads at most [`MAX_FILE_BYTES`] + 1 bytes of a file: enough to tell that it is too large
/// without reading all of it. The CLI reads every spec file through this.
pub fn read_capped(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let cap = MAX_FILE_BYTES as u64 + 1;
    // Sized from the file's length (a `Take` gives `read_to_end` no hint): one read instead of
    // a doubling buffer, about twenty reads per 400 KB file.
    let expected = file.metadata().map_or(0, |m| m.len()).min(cap);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0) + 1);
    file.take(cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}
