//! The integration test binary: data-driven tests of the whole compiler.
