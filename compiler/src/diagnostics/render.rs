//! Renders diagnostics for people (miette), programs (JSON), GitHub workflow annotations and
//! code scanning (SARIF 2.1.0). The only module that knows these formats.

use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
use serde_json::json;

use crate::diagnostics::{codes, Diagnostic, Severity};
use crate::source::SourceMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
}

/// Renders all diagnostics. `root` prefixes every file path (the project folder as the user
/// named it), so that paths are clickable from where `sight` was run.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap, root: &str, format: Format, color: bool) -> String {
    match format {
        Format::Human => human(diagnostics, sources, root, color),
        Format::Json => {
            serde_json::to_string_pretty(&json_value(diagnostics, sources, root)).unwrap_or_default() + "\n"
        }
        Format::Github => github(diagnostics, sources, root),
        Format::Sarif => serde_json::to_string_pretty(&sarif(diagnostics, sources, root)).unwrap_or_default() + "\n",
    }
}

pub fn display_path(root: &str, path: &str) -> String {
    if root.is_empty() || root == "." {
        path.to_string()
    } else {
        format!("{}/{path}", root.trim_end_matches('/'))
    }
}

fn human(diagnostics: &[Diagnostic], sources: &SourceMap, root: &str, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    // Each file's text and line index, shared by all its diagnostics (see `Windowed`).
    let mut windowed: std::collections::BTreeMap<crate::source::FileId, Windowed> = std::collections::BTreeMap::new();
    for d in diagnostics {
        let mut report = MietteDiagnostic::new(d.message.clone())
            .with_code(format!("{}({})", d.code.code, d.code.name))
            .with_severity(match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            });
        if let Some(help) = &d.help {
            report = report.with_help(help.clone());
        }
        let mut labels = Vec::new();
        if let Some(primary) = &d.primary {
            labels.push(LabeledSpan::new_primary_with_span(
                Some(primary.message.clone()),
                (primary.span.start as usize, primary.span.len()),
            ));
        }
        let primary_file = d.primary.as_ref().map(|p| p.span.file);
        for label in d.secondary.iter().filter(|l| Some(l.span.file) == primary_file) {
            labels.push(LabeledSpan::new_with_span(
                Some(label.message.clone()),
                (label.span.start as usize, label.span.len()),
            ));
        }
        report = report.with_labels(labels);
        let primary_source = d.primary.as_ref().and_then(|p| Some((p.span.file, sources.get(p.span.file)?)));
        let rendered = match primary_source {
            Some((id, file)) => {
                let text = windowed.entry(id).or_insert_with(|| Windowed::new(&file.text)).clone();
                let source = NamedSource::new(display_path(root, &file.path), text);
                let report = miette::Report::new(report).with_source_code(source);
                let mut s = String::new();
                let _ = handler.render_report(&mut s, report.as_ref());
                s
            }
            None => {
                let mut s = String::new();
                let _ = handler.render_report(&mut s, &report);
                s
            }
        };
        out.push_str(&rendered);
        // Labels in other files (a duplicate declared in another file) are listed by position.
        for label in d.secondary.iter().filter(|l| Some(l.span.file) != primary_file) {
            let loc = sources.location(label.span);
            let _ = writeln!(out, "  note: {}: {}", display_path(root, &loc.to_string()), label.message);
        }
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.len() - errors;
    if !diagnostics.is_empty() {
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let _ = writeln!(out, "{}, {}", plural(errors, "error"), plural(warnings, "warning"));
    }
    out
}

fn location_json(sources: &SourceMap, root: &str, span: crate::source::Span) -> serde_json::Value {
    let loc = sources.location(span);
    json!({
        "file": display_path(root, &loc.path),
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
    })
}

fn json_value(diagnostics: &[Diagnostic], sources: &SourceMap, root: &str) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            json!({
                "code": d.code.code,
                "name": d.code.name,
                "severity": d.severity,
                "message": d.message,
                "location": d.primary.as_ref().map(|p| location_json(sources, root, p.span)),
                "label": d.primary.as_ref().map(|p| p.message.clone()),
                "related": d.secondary.iter().map(|l| json!({ "location": location_json(sources, root, l.span), "message": l.message })).collect::<Vec<_>>(),
                "help": d.help,
            })
        })
        .collect();
    json!({ "diagnostics": items })
}

/// `::error file=…,line=…::message` lines, escaped as the workflow command syntax requires.
fn github(diagnostics: &[Diagnostic], sources: &SourceMap, root: &str) -> String {
    let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(p) = &d.primary {
            let loc = sources.location(p.span);
            props.push(format!("file={}", prop(&display_path(root, &loc.path))));
            props.push(format!("line={}", loc.line));
            props.push(format!("col={}", loc.column));
            props.push(format!("endLine={}", loc.end_line));
            props.push(format!("endColumn={}", loc.end_column));
        }
        props.push(format!("title={}", prop(&format!("{} {}", d.code.code, d.code.name))));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(out, "::{level} {}::{}", props.join(","), data(&message));
    }
    out
}

fn sarif(diagnostics: &[Diagnostic], sources: &SourceMap, root: &str) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = codes::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.code,
                "name": c.name,
                "shortDescription": { "text": c.summary },
                "help": { "text": format!("Run `sight explain {}` for the full explanation.", c.code) },
                "defaultConfiguration": { "level": sarif_level(c.severity) },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let index = codes::ALL.iter().position(|c| c.code == d.code.code).unwrap_or(0);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let mut result = json!({
                "ruleId": d.code.code,
                "ruleIndex": index,
                "level": sarif_level(d.severity),
                "message": { "text": text },
            });
            if let Some(p) = &d.primary {
                let loc = sources.location(p.span);
                let locations = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": display_path(root, &loc.path) },
                        "region": { "startLine": loc.line, "startColumn": loc.column, "endLine": loc.end_line, "endColumn": loc.end_column.max(1) }
                    },
                    "message": { "text": p.message }
                }]);
                if let Some(object) = result.as_object_mut() {
                    object.insert("locations".to_string(), locations);
                }
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "sight", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }]
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A file's text for miette that reads only the lines around a span. miette's own `str`
/// source scans from the start of the text for every label of every diagnostic: a file with
/// thousands of diagnostics (a generated project, every service warned about) took minutes to
/// render. This reads a window of whole lines around the span through the same code, then
/// moves offsets and line numbers back to the whole file, so the output is the same.
#[derive(Clone)]
struct Windowed {
    text: std::sync::Arc<str>,
    /// Where each line starts, with miette's line breaks (`\n`, `\r\n`, a lone `\r`).
    starts: std::sync::Arc<Vec<usize>>,
}

impl Windowed {
    fn new(text: &str) -> Windowed {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            if b == b'\n' || b == b'\r' {
                starts.push(i + 1);
            }
            i += 1;
        }
        Windowed { text: text.into(), starts: std::sync::Arc::new(starts) }
    }

    /// The line holding `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }
}

impl miette::SourceCode for Windowed {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > self.text.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        // Whole lines, one more than the context on each side, so that miette's scan inside the
        // window stops where it would have stopped in the whole text.
        let first = self.line_of(start).saturating_sub(before + 1);
        let last = self.line_of(end) + after + 2;
        let from = self.starts.get(first).copied().unwrap_or(0);
        let to = self.starts.get(last + 1).copied().unwrap_or(self.text.len());
        let window = self.text.get(from..to).ok_or(miette::MietteError::OutOfBounds)?;
        let inner = window.read_span(&(start - from, span.len()).into(), before, after)?;
        let moved = miette::MietteSpanContents::new(
            inner.data(),
            (inner.span().offset() + from, inner.span().len()).into(),
            inner.line() + first,
            inner.column(),
            inner.line_count() + first,
        );
        Ok(Box::new(moved))
    }
}

#[cfg(test)]
mod windowed_tests {
    use miette::SourceCode;

    use super::Windowed;

    /// Reads through a window exactly what miette reads from the whole text.
    #[test]
    fn a_window_reads_what_the_whole_text_reads() {
        let texts = [
            "a\nbb\n\nccc\ndddd\ne\nf\ng\nh\n",
            "one\r\ntwo\r\n\r\nthree\rfour\nfive",
            "x",
            "",
            "é\nüñ\n日本\n\n语\n",
            "\n\n\n\n\n\n\n\n\n\n",
        ];
        for text in texts {
            let windowed = Windowed::new(text);
            for start in 0..=text.len() {
                for len in 0..=(text.len() - start).min(12) {
                    for (before, after) in [(0, 0), (1, 1), (2, 3), (3, 2)] {
                        let span = (start, len).into();
                        let whole = text.read_span(&span, before, after);
                        let window = windowed.read_span(&span, before, after);
                        match (whole, window) {
                            (Ok(w), Ok(v)) => {
                                assert_eq!(w.data(), v.data(), "{text:?} {start}+{len} {before}/{after}");
                                assert_eq!(w.span(), v.span(), "{text:?} {start}+{len} {before}/{after}");
                                assert_eq!(w.line(), v.line(), "{text:?} {start}+{len} {before}/{after}");
                                assert_eq!(w.column(), v.column(), "{text:?} {start}+{len} {before}/{after}");
                                assert_eq!(w.line_count(), v.line_count(), "{text:?} {start}+{len} {before}/{after}");
                            }
                            (Err(_), Err(_)) => {}
                            (w, v) => panic!("{text:?} {start}+{len}: {:?} vs {:?}", w.is_ok(), v.is_ok()),
                        }
                    }
                }
            }
        }
    }
}
