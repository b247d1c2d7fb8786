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
        let rendered = match d.primary.as_ref().and_then(|p| sources.get(p.span.file)) {
            Some(file) => {
                let source = NamedSource::new(display_path(root, &file.path), file.text.clone());
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
