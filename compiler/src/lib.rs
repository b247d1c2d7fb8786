//! sight: an infrastructure-as-code compiler.
//!
//! # Stages
//!
//! 1. [`syntax`]: text → [`syntax::ast::File`] (spans on every node; never fails).
//! 2. [`check`]: syntax trees + [`stdlib`] → [`model::Model`] (names, kinds, types, units,
//!    overlays, secrets resolved) + diagnostics.
//! 3. [`graph`]: model → the dependency graph (services, stores, secrets, channels, steps).
//! 4. [`emit`]: model → [`emit::Artifact`]s (one module per target; pure functions).
//! 5. [`write`]: artifacts → files (atomic; drift check; never clobbers hand-written files).
//!
//! [`project::compile`] runs stages 1–2; the CLI ([`cli`]) does all file-system IO.
#![deny(unsafe_code)]
// A panic in the compiler is a bug: no unwrap, expect, indexing or panic outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod check;
pub mod cli;
pub mod diagnostics;
pub mod embedded;
pub mod emit;
pub mod format;
pub mod graph;
pub mod import;
pub mod limits;
pub mod lsp;
pub mod model;
pub mod parallel;
pub mod paths;
pub mod project;
pub mod source;
pub mod stdlib;
pub mod syntax;
pub mod template;
pub mod units;
pub mod write;
