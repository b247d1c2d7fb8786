//! The integration test binary: data-driven tests of the whole compiler, from files.
//!
//! Bless every snapshot (UI cases, goldens) with `SNAPSHOTS=overwrite cargo test`, then read
//! the diff before committing.

mod checker;
mod cli;
mod diagnostics;
mod format;
mod golden;
mod hardening;
mod import;
mod lsp;
mod mistakes;
mod parser;
mod properties;
mod support;
mod workload;
