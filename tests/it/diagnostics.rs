//! Diagnostics: one UI case per code (`tests/ui/<CODE>-<name>/`, expected output in
//! `expected.txt`), and the tidy rules that keep the registry, the explain pages and the
//! cases in step.

use sight::diagnostics::codes::ALL;

use crate::support::*;

/// Codes whose explain examples cannot be compiled from one Markdown page: S0006 needs
/// invalid UTF-8 bytes, S0177 a project stdlib kind (every standard `percent_of` field has a
/// default), S0008, S0009, S0014 and S0163 inputs past a size limit (10 MiB, 10,000 items,
/// 1,000,000 declarations, 1,000 steps). Their UI case covers them.
const EXAMPLE_EXEMPT: &[&str] = &["S0006", "S0008", "S0009", "S0014", "S0163", "S0177"];

/// Codes whose examples are about the `project` block itself: they get no standard one.
const NO_PREAMBLE: &[&str] = &["S0013"];

fn ui_cases() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(repo_root().join("tests/ui"))
        .map(|r| r.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

#[test]
fn ui_cases_render_as_expected() {
    let cases = ui_cases();
    assert!(!cases.is_empty(), "no UI cases found");
    for dir in cases {
        let (input, _copy) = ui_case_dir(&dir);
        let compiled = compile_dir(&input);
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let code = name.split('-').next().unwrap_or_default().to_string();
        assert!(
            codes(&compiled).contains(&code.as_str()),
            "UI case {name} does not produce {code}; it produced {:?}",
            codes(&compiled)
        );
        assert_matches_file(human(&compiled), &dir.join("expected.txt"));
    }
}

#[test]
fn every_code_has_an_explain_page_and_a_ui_case() {
    let cases: Vec<String> =
        ui_cases().iter().filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    let mut missing = Vec::new();
    for code in ALL {
        if code.explain().is_none() {
            missing.push(format!("{} has no docs/diagnostics/{}.md", code.code, code.code));
        }
        if !cases.iter().any(|c| c.starts_with(&format!("{}-", code.code))) {
            missing.push(format!("{} has no tests/ui/{}-{}/ case", code.code, code.code, code.name));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn codes_are_unique_and_well_formed() {
    for (i, a) in ALL.iter().enumerate() {
        assert!(a.code.len() == 5 && a.code.starts_with('S'), "{} is not S####", a.code);
        assert!(a.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{} is not kebab-case", a.name);
        for b in ALL.iter().skip(i + 1) {
            assert_ne!(a.code, b.code);
            assert_ne!(a.name, b.name);
        }
    }
}

/// A fenced block of `lang` in the section that starts with `heading`.
fn example(text: &str, heading: &str, lang: &str) -> Option<String> {
    let section = text.split("\n## ").find(|s| s.starts_with(heading))?;
    let fence = format!("```{lang}\n");
    let start = section.find(&fence)? + fence.len();
    let end = section.get(start..)?.find("```")? + start;
    section.get(start..end).map(str::to_string)
}

#[test]
fn explain_examples_yield_exactly_their_code() {
    let mut failures = Vec::new();
    for code in ALL {
        let Some(text) = code.explain() else { continue };
        if EXAMPLE_EXEMPT.contains(&code.code) {
            continue;
        }
        for (heading, want) in [("Wrong", vec![code.code]), ("Right", vec![])] {
            let Some(source) = example(text, heading, "sight") else {
                failures.push(format!("{}: no ```sight block under `## {heading}`", code.code));
                continue;
            };
            let manifest = example(text, heading, "toml").unwrap_or_default();
            let compiled = if NO_PREAMBLE.contains(&code.code) {
                let sources = vec![("spec.sight".to_string(), source.clone())];
                sight::project::compile(&sight::project::ProjectInput {
                    manifest: manifest.clone(),
                    sources,
                    ..Default::default()
                })
            } else {
                compile_source(&manifest, &source)
            };
            let got = codes(&compiled);
            if got != want {
                failures.push(format!(
                    "{} `## {heading}` yields {got:?}, expected {want:?}:\n{}",
                    code.code,
                    human(&compiled)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_flagship_example_is_clean() {
    let compiled = compile_dir(&repo_root().join("examples/sight-platform"));
    assert!(compiled.diagnostics.is_empty(), "{}", human(&compiled));
    assert!(compiled.model.is_some());
}

/// Every example compiles without a single diagnostic, warnings included: examples are what
/// users copy (`sight check examples/<name>` prints nothing).
#[test]
fn every_example_is_clean() {
    let examples = example_dirs();
    assert!(examples.len() > 1, "{examples:?}");
    for example in examples {
        let compiled = compile_dir(&example);
        assert!(compiled.diagnostics.is_empty(), "{}:\n{}", example.display(), human(&compiled));
        assert!(compiled.model.is_some(), "{}", example.display());
    }
}

#[test]
fn diagnostics_are_sorted_by_file_and_position() {
    let compiled = compile_source("", "service b { image = \"x\" }\nservice a { imag = \"y:1\" }\n");
    let positions: Vec<(u32, u32)> =
        compiled.diagnostics.iter().filter_map(|d| d.primary.as_ref()).map(|l| (l.span.file.0, l.span.start)).collect();
    let mut sorted = positions.clone();
    sorted.sort_unstable();
    assert_eq!(positions, sorted);
    assert!(positions.len() >= 2, "{}", human(&compiled));
}

#[test]
fn a_kind_added_as_a_stdlib_file_needs_no_rust() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    std::fs::write(root.join("sight.toml"), "stdlib = \"kinds-extra\"\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(root.join("kinds-extra/kinds/store")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        root.join("kinds-extra/kinds/store/memcached.toml"),
        r#"name = "memcached"
class = "store"
doc = "Memcached, added by a project."
[fields.version]
type = "version"
default = "1.6"
doc = "Image tag."
[store]
image = "memcached:{{version}}"
port = 11211
data_dir = "/tmp"
[store.health]
test = ["CMD-SHELL", "echo stats | nc -w 1 127.0.0.1 11211 | grep -q uptime"]
interval = "5s"
timeout = "3s"
start_period = "5s"
retries = 5
[store.urls.url]
template = "memcached://{{host}}:{{port}}"
doc = "The server address."
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        root.join("spec.sight"),
        format!("{PREAMBLE}cache sessions : memcached {{ version = \"1.6.29\" }}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let compiled = compile_dir(root);
    assert!(compiled.diagnostics.is_empty(), "{}", human(&compiled));
    let model = compiled.model.unwrap_or_else(|| panic!("no model"));
    let store = model.stores.get("sessions").unwrap_or_else(|| panic!("no store"));
    assert_eq!(store.image, "memcached:1.6.29");
    assert_eq!(store.port, 11211);
    // Without the project stdlib the kind is unknown.
    std::fs::write(root.join("sight.toml"), "").unwrap_or_else(|e| panic!("{e}"));
    let compiled = compile_dir(root);
    assert_eq!(codes(&compiled), vec!["S0103"]);
}
