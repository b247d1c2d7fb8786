//! `sight import …`: reads the files to import (and the `.env` Compose would read), runs the
//! pure importer ([`crate::import`]), prints its warnings and writes the project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::import::{Imported, Warning};

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Compose files: the base file first, then override files, merged as Compose merges them.
    Compose {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The project folder to write (default: the first file's folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The project's name (default: Compose's `name:`, else the first file's folder name).
        #[arg(long)]
        name: Option<String>,
        /// Overwrite an existing `sight.toml` and spec.
        #[arg(long)]
        force: bool,
    },
    /// A Cloud Monitoring alert policy (JSON or YAML), as an `alert` of a new project.
    Alert {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        force: bool,
    },
}

const EXIT_OK: u8 = 0;
const EXIT_ERRORS: u8 = 1;
const EXIT_USAGE: u8 = 2;

pub fn run(command: ImportCommand) -> u8 {
    match command {
        ImportCommand::Compose { files, out, name, force } => compose(&files, out.as_deref(), name, force),
        ImportCommand::Alert { files, out, force } => alert(&files, out.as_deref(), force),
    }
}

fn fail(message: &str) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The files to import, read: their texts (by path as given), the first one's folder, and
/// the output folder (`--out`, else that folder).
struct Inputs {
    texts: Vec<(String, String)>,
    folder: PathBuf,
    out: PathBuf,
}

fn read_inputs(files: &[PathBuf], out: Option<&Path>, what: &str) -> Result<Inputs, String> {
    let first = files.first().ok_or_else(|| format!("give at least one {what}"))?;
    let folder = first.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let out = out.map_or_else(|| folder.clone(), Path::to_path_buf);
    let texts = files.iter().map(|f| Ok((f.display().to_string(), read(f)?))).collect::<Result<_, String>>()?;
    Ok(Inputs { texts, folder, out })
}

fn compose(files: &[PathBuf], out: Option<&Path>, name: Option<String>, force: bool) -> u8 {
    let Inputs { texts, folder, out } = match read_inputs(files, out, "Compose file") {
        Ok(inputs) => inputs,
        Err(e) => return fail(&e),
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        return fail(&format!("cannot create {}: {e}", out.display()));
    }
    let base = match (std::fs::canonicalize(&folder), std::fs::canonicalize(&out)) {
        (Ok(folder), Ok(out)) => relative_path(&out, &folder),
        _ => return fail("cannot resolve the folders of the files and of --out"),
    };
    if base.starts_with("..") {
        return fail(&format!(
            "--out must be the Compose file's folder or a folder above it: the Compose file's paths (build contexts, mounts) must stay inside the project (S0015), and {} is not above {}",
            out.display(),
            folder.display()
        ));
    }
    // Compose reads `.env` beside the first file for interpolation; nothing else is read.
    let variables = std::fs::read_to_string(folder.join(".env")).map(|t| dotenv(&t)).unwrap_or_default();
    let project = name.unwrap_or_else(|| {
        std::fs::canonicalize(&folder)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".to_string())
    });
    let input = crate::import::compose::ComposeInput { files: texts, base, project, variables };
    match crate::import::compose::import(&input) {
        Ok(imported) => write(&imported, &out, force),
        Err(errors) => {
            print_warnings(&errors);
            EXIT_ERRORS
        }
    }
}

fn alert(files: &[PathBuf], out: Option<&Path>, force: bool) -> u8 {
    let Inputs { texts, out, .. } = match read_inputs(files, out, "alert policy file") {
        Ok(inputs) => inputs,
        Err(e) => return fail(&e),
    };
    let project = std::fs::canonicalize(&out)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "alerts".to_string());
    match crate::import::alert::import(&texts, &project) {
        Ok(imported) => {
            if let Err(e) = std::fs::create_dir_all(&out) {
                return fail(&format!("cannot create {}: {e}", out.display()));
            }
            write(&imported, &out, force)
        }
        Err(warnings) => {
            print_warnings(&warnings);
            eprintln!("error: no alert policy could be imported; nothing was written");
            EXIT_ERRORS
        }
    }
}

fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("{w}");
    }
}

fn write(imported: &Imported, out: &Path, force: bool) -> u8 {
    print_warnings(&imported.warnings);
    if !force {
        let existing: Vec<&String> = imported.files.keys().filter(|f| out.join(f).exists()).collect();
        if !existing.is_empty() {
            for f in existing {
                eprintln!("error: {} exists; nothing was written", out.join(f).display());
            }
            eprintln!("help: import into another folder with --out, or pass --force to overwrite");
            return EXIT_ERRORS;
        }
    }
    for (path, contents) in &imported.files {
        let target = out.join(path);
        if let Some(parent) = target.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                return fail(&format!("cannot create {}: {e}", parent.display()));
            }
        }
        if let Err(e) = crate::write::write_atomically(&target, contents.as_bytes()) {
            return fail(&format!("cannot write {}: {e}", target.display()));
        }
    }
    eprintln!(
        "wrote {} file(s) to {} with {} warning(s): every field not imported is listed above",
        imported.files.len(),
        out.display(),
        imported.warnings.len()
    );
    EXIT_OK
}

/// `to` relative to `from` (both absolute): `.`, `compose`, `../app`.
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len().saturating_sub(common)];
    parts.extend(to.iter().skip(common).map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// `KEY=value` lines of a `.env` file (`#` comments, optional quotes).
fn dotenv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (key, value) = line.strip_prefix("export ").unwrap_or(line).split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_string(), value.to_string()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_env_files() {
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/b")), ".");
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/c/d")), "../c/d");
        assert_eq!(relative_path(Path::new("/a"), Path::new("/a/c")), "c");
        let env = dotenv("# c\nA=1\nexport B=\"two\"\nC='3'\n");
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "two");
        assert_eq!(env["C"], "3");
    }
}
