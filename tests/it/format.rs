//! The formatter's promises on real inputs: every example is already formatted; formatting is
//! idempotent and never changes the tree; generated inputs in odd layouts converge.

use sight::format::format_source;

use crate::support::*;

fn sight_files() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![repo_root().join("examples"), repo_root().join("tests/ui")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "sight") && !past_a_limit(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The UI cases of the size limits (S0008, S0009, S0014) hold megabytes of generated text that
/// does not parse: nothing to format.
fn past_a_limit(path: &std::path::Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 256 << 10)
}

#[test]
fn examples_are_formatted() {
    for path in sight_files().into_iter().filter(|p| p.starts_with(repo_root().join("examples"))) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            format_source(&text).as_deref(),
            Some(text.as_str()),
            "{} is not formatted (run `sight fmt`)",
            path.display()
        );
    }
}

#[test]
fn formatting_is_idempotent_and_keeps_the_tree() {
    let mut checked = 0;
    for path in sight_files() {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let Some(once) = format_source(&text) else { continue };
        assert_eq!(
            format_source(&once).as_deref(),
            Some(once.as_str()),
            "{}: fmt twice differs from fmt once",
            path.display()
        );
        assert_eq!(
            sight::format::tree_shape(&text),
            sight::format::tree_shape(&once),
            "{}: the tree changed",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} files checked");
}

/// Pieces of valid members, laid out with varying white space and comments.
#[test]
fn generated_layouts_converge() {
    let members = [
        "port = 8000",
        "image = \"nginx:1.27\"",
        "command = [\"a\", \"b\"]",
        "health = http(\"/h\") { interval = 30s  timeout = 5s }",
        "env { A = \"1\"  B = secret.s }",
        "build : python { version = \"3.12\"  copy = [\"app/\"] }",
        "dev { mount = [\"./a:/a\"] }",
        "when error_rate > 1% for 5m",
        "step a = run(api, \"x\") after [b, c] { timeout = 1m }",
        "on_failure a = rollback(api)",
        "\"quoted.key\" = \"v\"",
        "ratio = 0.25",
        "version = 3.10",
        "when latency.p95 > 1500ms for 90s",
        "size = 512Mi",
    ];
    let separators = [" ", "\n", "\n\n", "  # note\n", "\t", "\r\n"];
    let mut seed: u64 = 0x5eed;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for case in 0..300 {
        let mut text = String::new();
        for item in 0..(1 + next(3)) {
            text.push_str(&format!("service s{item}{}{{", separators[next(2)]));
            for _ in 0..next(6) {
                text.push_str(separators[next(separators.len())]);
                text.push_str(members[next(members.len())]);
            }
            text.push_str(separators[next(separators.len())]);
            text.push_str("}\n");
            if next(3) == 0 {
                text.push_str("# between\n");
            }
        }
        let once = format_source(&text).unwrap_or_else(|| panic!("case {case} did not parse:\n{text}"));
        assert_eq!(
            format_source(&once).as_deref(),
            Some(once.as_str()),
            "case {case}: not idempotent\n{text}\n---\n{once}"
        );
        assert_eq!(
            sight::format::tree_shape(&text),
            sight::format::tree_shape(&once),
            "case {case}: tree changed\n{text}\n---\n{once}"
        );
    }
}

#[test]
fn literals_keep_their_written_form() {
    let text = "alert a { version = 3.10  when latency.p95 > 1500ms for 90s  size = 1024Mi }\n";
    assert_eq!(format_source(text).as_deref(), Some(text));
}
