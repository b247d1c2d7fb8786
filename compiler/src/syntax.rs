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
    whole_file(parser::Parser::new(lexer::Lexer::new(file, text)))
}

fn whole_file(mut parser: parser::Parser) -> (ast::File, Vec<Diagnostic>) {
    let items = parser.file();
    let (comments, diagnostics) = parser.finish();
    (ast::File { items, comments }, diagnostics)
}

/// [`parse`], except that the body of each `service` is skipped to its matching `}` and left
/// [`deferred`](ast::Item::deferred), to be read one at a time by [`parse_deferred`]: a large
/// project's service trees are then never all held at once (docs/performance.md).
///
/// A skipped body is only scanned for braces, strings and comments: neither its errors nor
/// its comments are reported here. The result is the same as [`parse`]'s only when every
/// deferred body reads cleanly with [`parse_deferred`]; the compiler parses the project again
/// with [`parse`] otherwise (`project::compile`).
pub fn parse_deferring_services(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    whole_file(parser::Parser::new(lexer::Lexer::new(file, text)).deferring_services())
}

/// The whole of a [`deferred`](ast::Item::deferred) declaration of `text` (the file it was
/// read from), or `None` when its body does not parse without a diagnostic, or not to the
/// same `}`, so that [`parse_deferring_services`] could not stand in for [`parse`].
pub fn parse_deferred(file: FileId, text: &str, item: &ast::Item) -> Option<ast::Item> {
    // The text ends with the declaration: the parser looks a token ahead, and what follows
    // must not be lexed (its diagnostics belong to the rest of the file).
    let text = text.get(..item.span.end as usize)?;
    let mut parser = parser::Parser::new(lexer::Lexer::starting_at(file, text, item.span.start as usize)).transient();
    let parsed = parser.item_alone();
    let (_, diagnostics) = parser.finish();
    parsed.filter(|whole| diagnostics.is_empty() && whole.span == item.span)
}
