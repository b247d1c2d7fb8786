//! Goldens: `golden/<example>/` holds the exact tree `sight build examples/<example>` writes.
//! The file set is asserted exactly, every file byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::*;

fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.insert(rel.to_string_lossy().replace('\\', "/"), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

fn artifacts(example: &Path) -> BTreeMap<String, Vec<u8>> {
    let compiled = compile_dir(example);
    let model = compiled
        .model
        .unwrap_or_else(|| panic!("{} does not compile:\n{}", example.display(), human(&compile_dir(example))));
    let artifacts = sight::emit::emit(&model).unwrap_or_else(|e| panic!("{e:?}"));
    artifacts.into_iter().map(|a| (a.path, a.contents.into_bytes())).collect()
}

#[test]
fn every_example_matches_its_golden_tree() {
    let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite");
    let examples = example_dirs();
    assert!(!examples.is_empty());
    for example in examples {
        let name = example.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let golden = repo_root().join("golden").join(&name);
        let actual = artifacts(&example);
        if overwrite {
            let _ = std::fs::remove_dir_all(&golden);
            for (path, bytes) in &actual {
                let target = golden.join(path);
                std::fs::create_dir_all(target.parent().unwrap_or(&golden)).unwrap_or_else(|e| panic!("{e}"));
                std::fs::write(target, bytes).unwrap_or_else(|e| panic!("{e}"));
            }
            continue;
        }
        let expected = files_under(&golden);
        let actual_set: Vec<&String> = actual.keys().collect();
        let expected_set: Vec<&String> = expected.keys().collect();
        assert_eq!(
            actual_set, expected_set,
            "{name}: the set of generated files differs from golden/{name} (bless with SNAPSHOTS=overwrite)"
        );
        for (path, bytes) in &actual {
            if expected.get(path) != Some(bytes) {
                let old =
                    String::from_utf8_lossy(expected.get(path).map(Vec::as_slice).unwrap_or_default()).into_owned();
                let diff = sight::write::unified_diff(path, &old, &String::from_utf8_lossy(bytes));
                panic!("{name}: {path} differs from its golden (bless with SNAPSHOTS=overwrite):\n{diff}");
            }
        }
    }
}

#[test]
fn output_is_identical_whatever_the_file_order_and_working_directory() {
    let example = repo_root().join("examples/sight-platform");
    let first = artifacts(&example);
    // Copy the spec files in reverse order under other names' order into a fresh folder.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<_> =
        std::fs::read_dir(&example).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files.reverse();
    for f in files {
        let name = f.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        std::fs::copy(&f, dir.path().join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    let previous = std::env::current_dir().unwrap_or_else(|e| panic!("{e}"));
    std::env::set_current_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let second = artifacts(Path::new("."));
    std::env::set_current_dir(previous).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    for (path, bytes) in &first {
        assert!(second.get(path) == Some(bytes), "{path} differs between the two builds");
    }
}
