//! What must hold for any input, shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and
//! the regression tests (`tests/it/hardening.rs`, which includes this file by path).
//!
//! Every function panics on a broken promise: that is how libFuzzer learns of a finding, and
//! how a regression test fails.
#![allow(dead_code)] // each target uses only some of them

use sight::diagnostics::render::{render, Format};
use sight::project::{compile, ProjectInput};
use sight::source::FileId;

/// Inputs larger than this are cut: libFuzzer's default `-max_len` is far below, and the
/// file-size limit has its own tests.
const MAX_INPUT: usize = 1 << 20;

/// The text of a fuzz input: valid UTF-8 as is, anything else as its lossy conversion (the CLI
/// reports the bad byte with S0006 and parses the lossy text too).
pub fn text(data: &[u8]) -> String {
    let data = data.get(..MAX_INPUT).unwrap_or(data);
    String::from_utf8_lossy(data).into_owned()
}

/// Parsing never panics; every diagnostic points inside the file; a file without syntax
/// errors formats idempotently to a file with the same tree.
pub fn parse(text: &str) {
    let (_, diagnostics) = sight::syntax::parse(FileId(0), text);
    for d in &diagnostics {
        for label in d.primary.iter().chain(&d.secondary) {
            assert!(
                label.span.start <= label.span.end && label.span.end as usize <= text.len(),
                "span {:?} outside the file ({} bytes): {}",
                label.span,
                text.len(),
                d.message
            );
            assert!(
                text.is_char_boundary(label.span.start as usize) && text.is_char_boundary(label.span.end as usize),
                "span {:?} splits a character: {}",
                label.span,
                d.message
            );
        }
    }
    let Some(once) = sight::format::format_source(text) else { return };
    let twice = sight::format::format_source(&once);
    assert_eq!(twice.as_deref(), Some(once.as_str()), "formatting is not idempotent:\n{once}");
    assert_eq!(
        sight::format::tree_shape(&once),
        sight::format::tree_shape(text),
        "formatting changed the tree:\n{once}"
    );
}

/// Every diagnostic format: what the regression tests render.
pub const ALL_FORMATS: &[Format] = &[Format::Human, Format::Json, Format::Github, Format::Sarif];

/// One format, chosen by the input: rendering is most of a checking input's cost, and the
/// fuzzer reaches every format across its inputs at about twice the executions.
pub fn one_format(data: &[u8]) -> &'static [Format] {
    let i = data.len() % ALL_FORMATS.len();
    ALL_FORMATS.get(i..=i).unwrap_or(ALL_FORMATS)
}

/// A one-file project (`sight.toml` empty): checking never panics, every diagnostic renders
/// in each of `formats`, and deferring service bodies changes nothing: the diagnostics and
/// the model are those of parsing every body up front.
pub fn check(text: &str, formats: &[Format]) {
    let input = ProjectInput {
        manifest: String::new(),
        sources: vec![("spec.sight".to_string(), text.to_string())],
        ..ProjectInput::default()
    };
    let compiled = compile(&input);
    let whole = sight::project::compile_parsing_whole(&input);
    assert_eq!(compiled.diagnostics, whole.diagnostics, "deferring service bodies changed the diagnostics");
    assert_eq!(
        format!("{:?}", compiled.model),
        format!("{:?}", whole.model),
        "deferring service bodies changed the model"
    );
    render_all(&compiled, formats);
}

/// The whole pipeline in memory: `manifest` NUL `spec` (no NUL: the spec alone). When the
/// project checks, every emitter succeeds, every path stays inside the output root and every
/// YAML artifact parses; diagnostics render in each of `formats`.
pub fn pipeline(data: &[u8], formats: &[Format]) {
    let (manifest, spec) = match data.iter().position(|b| *b == 0) {
        Some(i) => (text(data.get(..i).unwrap_or_default()), text(data.get(i + 1..).unwrap_or_default())),
        None => (String::new(), text(data)),
    };
    let input = ProjectInput { manifest, sources: vec![("spec.sight".to_string(), spec)], ..ProjectInput::default() };
    let compiled = compile(&input);
    render_all(&compiled, formats);
    let Some(model) = &compiled.model else { return };
    assert!(!compiled.has_errors(), "a model came with errors");
    let artifacts = match sight::emit::emit(model) {
        Ok(a) => a,
        Err(e) => panic!("an emitter failed on a checked project: {}", e.0),
    };
    for artifact in &artifacts {
        let path = std::path::Path::new(&artifact.path);
        assert!(
            !artifact.path.is_empty()
                && path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
                && !artifact.path.contains('\\'),
            "artifact path `{}` leaves the output root",
            artifact.path
        );
        if artifact.path.ends_with(".yaml") || artifact.path.ends_with(".yml") {
            if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(&artifact.contents) {
                panic!("{} is not YAML: {e}\n{}", artifact.path, artifact.contents);
            }
        }
        if artifact.path.ends_with(".json") {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&artifact.contents) {
                panic!("{} is not JSON: {e}\n{}", artifact.path, artifact.contents);
            }
        }
    }
    // What reaches a Dockerfile is one line: a line break would start a new instruction.
    for service in model.services.values() {
        for (field, value) in service.build.iter().flat_map(|b| &b.fields) {
            assert!(
                !has_control(value),
                "the build field `{field}` of `{}` holds a control character: {value:?}",
                service.name
            );
        }
    }
    for artifact in artifacts.iter().filter(|a| a.path.ends_with("Dockerfile")) {
        dockerfile_lines(&artifact.path, &artifact.contents);
    }
    let graph = sight::graph::build(model, None);
    let _ = (sight::graph::to_dot(&graph), sight::graph::to_mermaid(&graph), sight::graph::to_json(&graph));
}

/// Whether a value holds a control character anywhere.
fn has_control(value: &sight::model::Value) -> bool {
    use sight::model::Value;
    let control = |s: &str| s.chars().any(char::is_control);
    match value {
        Value::Str(s) | Value::Secret(s) | Value::Service(s) => control(s),
        Value::List(items) => items.iter().any(has_control),
        Value::Map(map) => map.iter().any(|(k, v)| control(k) || control(v)),
        _ => false,
    }
}

/// Every line of a Dockerfile is a comment, an instruction, or continues the line before it.
fn dockerfile_lines(path: &str, text: &str) {
    const INSTRUCTIONS: &[&str] = &[
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ];
    let mut continued = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let word = trimmed.split_whitespace().next().unwrap_or_default();
        assert!(
            continued
                || trimmed.is_empty()
                || trimmed.starts_with('#')
                || INSTRUCTIONS.contains(&word.to_ascii_uppercase().as_str()),
            "{path}: `{line}` is not an instruction\n{text}"
        );
        // A comment inside a continued instruction does not end it.
        if !trimmed.starts_with('#') {
            continued = trimmed.ends_with('\\');
        }
    }
}

fn render_all(compiled: &sight::project::Compiled, formats: &[Format]) {
    for d in &compiled.diagnostics {
        for label in d.primary.iter().chain(&d.secondary) {
            let Some(file) = compiled.sources.get(label.span.file) else {
                panic!("`{}` points into no file", d.message);
            };
            let (start, end) = (label.span.start as usize, label.span.end as usize);
            assert!(
                start <= end && file.text.is_char_boundary(start) && file.text.is_char_boundary(end),
                "span {:?} of `{}` is not a range of `{}` ({} bytes)",
                label.span,
                d.message,
                file.path,
                file.text.len()
            );
        }
    }
    for format in formats {
        let _ = render(&compiled.diagnostics, &compiled.sources, "", *format, false);
    }
}
