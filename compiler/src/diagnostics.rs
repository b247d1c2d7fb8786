//! Diagnostics are data: a stable code, a severity, a message, labelled spans and a help line.
//!
//! Every stage returns its diagnostics next to its result instead of stopping at the first one.
//! The codes live in one registry ([`codes`]); one module renders them ([`render`]).

pub mod codes;
pub mod render;

pub use codes::{Code, Severity};

use crate::source::Span;

/// A span with a message saying what is wrong (or relevant) there.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: &'static Code,
    pub severity: Severity,
    /// Lowercase, no trailing period: what is wrong.
    pub message: String,
    /// Where it is wrong; `None` only for project-level problems with no source position.
    pub primary: Option<Label>,
    pub secondary: Vec<Label>,
    /// How to fix it, as concretely as possible.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at the code's default severity.
    pub fn new(code: &'static Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label { span, message: label.into() });
        self
    }

    pub fn with_label(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, message: label.into() });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn sort_key(&self) -> (Option<(u32, u32)>, &'static str, &str) {
        (self.primary.as_ref().map(|l| (l.span.file.0, l.span.start)), self.code.code, &self.message)
    }
}

/// Sorts by file, then position, then code: the order every output format uses.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// "did you mean `x`?" for the candidate closest to `name`, if any is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(name, candidate);
        if score >= 0.8 && best.is_none_or(|(s, c)| score > s || (score == s && candidate < c)) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// The help line for an unknown name: a suggestion when one is close, else the choices.
pub fn unknown_name_help<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let mut all: Vec<&str> = candidates.into_iter().collect();
    all.sort_unstable();
    all.dedup();
    if let Some(best) = did_you_mean(name, all.iter().copied()) {
        return format!("did you mean `{best}`?");
    }
    if all.is_empty() {
        return "nothing of that sort is declared".to_string();
    }
    let shown: Vec<String> = all.iter().take(12).map(|c| format!("`{c}`")).collect();
    let more = if all.len() > 12 { format!(" and {} more", all.len() - 12) } else { String::new() };
    format!("expected one of {}{more}", shown.join(", "))
}
