//! Stage 1, syntax: source text → [`ast::File`] plus diagnostics. Never fails.

pub mod ast;
pub mod lexer;
pub mod parser;

use crate::diagnostics::Diagnostic;

/// The declaration keywords and what they declare.
pub const KEYWORDS: &[(&str, &str)] = &[
    ("project", "the project's cloud settings"),
    ("secret", "a secret kept in Secret Manager"),
    ("database", "a data store"),
    ("cache", "a data store"),
    ("store", "a data store"),
    ("service", "a service"),
    ("channel", "a notification channel"),
    ("pipeline", "a Cloud Build pipeline"),
    ("alert", "a Cloud Monitoring alert policy"),
    ("network", "a Compose network's settings"),
    ("volume", "a Compose named volume's settings"),
];
use crate::source::FileId;

/// Parses one file. Every syntax error of the file is reported; the tree holds what parsed.
pub fn parse(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    let mut parser = parser::Parser::new(lexer::Lexer::new(file, text));
    let items = parser.file();
    let (comments, diagnostics) = parser.finish();
    (ast::File { items, comments }, diagnostics)
}
