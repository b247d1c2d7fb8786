//! The command line: reads projects from disk, runs the stages, prints diagnostics and writes
//! artifacts. The only module that touches the file system, the environment or the terminal.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod import;

use crate::diagnostics::render::{self, Format};
use crate::diagnostics::{codes, Code, Diagnostic, Severity};
use crate::project::{self, Compiled, ProjectInput};

#[derive(Parser, Debug)]
#[command(
    name = "sight",
    version,
    about = "Compile a sight spec into Compose files, Dockerfiles, cloudbuild.yaml, alert policies and Cloud Run services"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and check a project; print diagnostics.
    Check {
        /// The project folder (holding sight.toml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Check, then write every artifact (nothing is written if there are errors).
    Build {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The output root (default: the project folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compare with the files on disk instead of writing; exit 1 on any drift.
        #[arg(long)]
        check: bool,
        /// Overwrite files that do not carry sight's generated header.
        #[arg(long)]
        force: bool,
        /// Only this target's artifacts (repeatable); other generated files are left alone.
        #[arg(long, value_enum, value_name = "TARGET")]
        only: Vec<OnlyTarget>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Print the long explanation of a diagnostic code.
    Explain {
        /// A code (`S0101`) or name (`duplicate-name`).
        code: Option<String>,
        /// List every code with its summary.
        #[arg(long)]
        list: bool,
    },
    /// Format `.sight` files in the canonical layout (comments kept).
    Fmt {
        /// Files or folders (default: the current folder).
        paths: Vec<PathBuf>,
        /// Only report files that are not formatted; exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Create a starter project that checks and builds.
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Run the language server on stdin and stdout (for editors).
    Lsp,
    /// Turn existing files (Compose files, alert policies) into a sight project.
    Import {
        #[command(subcommand)]
        what: import::ImportCommand,
    },
    /// Print the dependency graph.
    Graph {
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        /// Only this pipeline's steps.
        #[arg(long)]
        pipeline: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
struct ReportArgs {
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Colors in human output (`NO_COLOR` turns `auto` off).
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Treat warnings as errors (`--deny warnings`).
    #[arg(long, value_name = "warnings")]
    deny: Option<Deny>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Deny {
    Warnings,
}

/// `sight build --only`: the targets of `sight.toml`'s `[output]`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum OnlyTarget {
    Compose,
    Dockerfiles,
    Cloudbuild,
    Alerts,
    #[value(name = "cloud_run", alias = "cloud-run")]
    CloudRun,
}

impl OnlyTarget {
    fn target(self) -> crate::emit::Target {
        use crate::emit::Target;
        match self {
            OnlyTarget::Compose => Target::Compose,
            OnlyTarget::Dockerfiles => Target::Dockerfiles,
            OnlyTarget::Cloudbuild => Target::Cloudbuild,
            OnlyTarget::Alerts => Target::Alerts,
            OnlyTarget::CloudRun => Target::CloudRun,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

const EXIT_OK: u8 = 0;
const EXIT_ERRORS: u8 = 1;
const EXIT_USAGE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    ExitCode::from(match cli.command {
        Command::Check { dir, report } => check(&dir, &report),
        Command::Build { dir, out, check, force, only, report } => {
            let targets: Vec<crate::emit::Target> = only.iter().map(|t| t.target()).collect();
            build(&dir, out.as_deref(), check, force, &targets, &report)
        }
        Command::Explain { code, list } => explain(code.as_deref(), list),
        Command::Graph { dir, format, pipeline } => graph(&dir, format, pipeline.as_deref()),
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::Init { dir } => init(&dir),
        Command::Import { what } => import::run(what),
        Command::Lsp => crate::lsp::run(),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "sight", &mut std::io::stdout());
            EXIT_OK
        }
    })
}

fn fail(message: &str) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// Reads `sight.toml`, every `*.sight` file below `dir` and the project's stdlib folder.
pub fn read_project(dir: &Path) -> Result<ProjectInput, String> {
    let manifest_path = dir.join(project::MANIFEST);
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{} has no {} (is it a sight project? `sight init` makes one)", dir.display(), project::MANIFEST)
        }
        _ => format!("cannot read {}: {e}", manifest_path.display()),
    })?;
    let mut input = ProjectInput { manifest, ..ProjectInput::default() };
    let mut spec_files = Vec::new();
    collect(dir, dir, &mut spec_files, &|p| p.extension().is_some_and(|e| e == "sight"), 0)?;
    for path in spec_files {
        let bytes = crate::limits::read_capped(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rel = relative(dir, &path);
        match String::from_utf8(bytes) {
            Ok(text) => input.sources.push((rel, text)),
            // Cut at the size limit, maybe inside a character: S0008 says it, not S0006.
            Err(e) if e.as_bytes().len() > crate::limits::MAX_FILE_BYTES => {
                input.sources.push((rel, String::from_utf8_lossy(e.as_bytes()).into_owned()));
            }
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                input.invalid_utf8.push((rel.clone(), offset));
                input.sources.push((rel, String::from_utf8_lossy(e.as_bytes()).into_owned()));
            }
        }
    }
    if let Ok(m) = project::parse_manifest(&input.manifest, crate::source::FileId(0)) {
        // A stdlib folder outside the project is never read (S0015 says why).
        if let Some(stdlib) = m.stdlib.filter(|s| crate::paths::readable(dir, s)) {
            let root = dir.join(&stdlib);
            let mut files = Vec::new();
            collect(&root, &root, &mut files, &|_| true, 0)?;
            for path in files {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                input.stdlib_files.push((relative(&root, &path), text));
            }
        }
    }
    Ok(input)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Files below `dir` matching `keep`, skipping hidden folders and dependency folders.
fn collect(
    root: &Path,
    dir: &Path,
    out: &mut Vec<PathBuf>,
    keep: &dyn Fn(&Path) -> bool,
    depth: usize,
) -> Result<(), String> {
    if depth > 16 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && !["node_modules", "target", "stdlib"].contains(&name.as_str())
                || (depth == 0 && root != dir)
            {
                collect(root, &path, out, keep, depth + 1)?;
            }
        } else if keep(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn color_enabled(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal(),
    }
}

/// Prints diagnostics; returns whether any counts as an error.
fn report(compiled: &mut Compiled, dir: &Path, args: &ReportArgs) -> bool {
    if args.deny == Some(Deny::Warnings) {
        for d in &mut compiled.diagnostics {
            d.severity = Severity::Error;
        }
    }
    let root = dir.to_string_lossy().into_owned();
    let text = render::render(&compiled.diagnostics, &compiled.sources, &root, args.format, color_enabled(args.color));
    match args.format {
        Format::Human => eprint!("{text}"),
        _ => print!("{text}"),
    }
    compiled.diagnostics.iter().any(Diagnostic::is_error)
}

fn compile_dir(dir: &Path) -> Result<Compiled, String> {
    let mut input = read_project(dir)?;
    let mut compiled = project::compile_taking_texts(&mut input);
    crate::paths::check_links(dir, &input, &mut compiled);
    Ok(compiled)
}

/// The process ends right after `check` and `build`: the compiled project is left to the OS
/// rather than freed node by node (a tenth of the run time of a large project).
fn keep_until_exit(compiled: Compiled) -> &'static mut Compiled {
    Box::leak(Box::new(compiled))
}

fn check(dir: &Path, args: &ReportArgs) -> u8 {
    let compiled = match compile_dir(dir) {
        Ok(c) => keep_until_exit(c),
        Err(e) => return fail(&e),
    };
    if report(compiled, dir, args) {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}

/// `only`: the targets to build; empty for all.
fn build(
    dir: &Path,
    out: Option<&Path>,
    check_only: bool,
    force: bool,
    only: &[crate::emit::Target],
    args: &ReportArgs,
) -> u8 {
    let compiled = match compile_dir(dir) {
        Ok(c) => keep_until_exit(c),
        Err(e) => return fail(&e),
    };
    if report(compiled, dir, args) {
        eprintln!("nothing was written: fix the errors above first");
        return EXIT_ERRORS;
    }
    let Some(model) = compiled.model.as_ref() else {
        return fail("no model was produced; this is a bug in sight, please report it");
    };
    let targets = if only.is_empty() { &crate::emit::Target::ALL[..] } else { only };
    let root = out.unwrap_or(dir);
    if check_only {
        check_built(model, targets, root, !only.is_empty())
    } else {
        write_built(model, targets, root, force, !only.is_empty())
    }
}

fn internal_error(e: crate::emit::InternalError) -> u8 {
    fail(&format!("internal error: {}; this is a bug in sight, please report it", e.0))
}

/// `build --check`: what building would change under `root`, as diffs; writes nothing.
fn check_built(model: &crate::model::Model, targets: &[crate::emit::Target], root: &Path, partial: bool) -> u8 {
    let artifacts = match crate::emit::emit_targets(model, targets) {
        Ok(a) => a,
        Err(e) => return internal_error(e),
    };
    let plan = match crate::write::plan(root, artifacts, partial) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let shown = |p: &str| render::display_path(&root.to_string_lossy(), p);
    let mut stdout = std::io::stdout().lock();
    for (artifact, change) in &plan.files {
        let _ = match change {
            crate::write::Change::Create => writeln!(stdout, "missing: {}", shown(&artifact.path)),
            crate::write::Change::Update { diff } => write!(stdout, "{diff}"),
            crate::write::Change::Foreign => writeln!(stdout, "not generated by sight: {}", shown(&artifact.path)),
            crate::write::Change::Unchanged => Ok(()),
        };
    }
    for stale in &plan.stale {
        let _ = writeln!(stdout, "stale: {} (sight no longer generates it)", shown(stale));
    }
    if plan.drift() {
        eprintln!("the generated files differ from the spec: run `sight build`");
        return EXIT_ERRORS;
    }
    EXIT_OK
}

/// `build`: each file written beside its target as it is emitted, then all moved into place;
/// on any failure, the output tree is left as it was.
fn write_built(
    model: &crate::model::Model,
    targets: &[crate::emit::Target],
    root: &Path,
    force: bool,
    partial: bool,
) -> u8 {
    // Declared first, so dropped last: after the staged files, it removes the folders it made.
    let staging = crate::write::Staging::new(root);
    let files = match crate::emit::emit_targets_into(model, targets, |path| staging.open(path)) {
        Ok(files) => files,
        Err(e) => return internal_error(e),
    };
    let plan = match staging.plan(files, partial) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let shown = |p: &str| render::display_path(&root.to_string_lossy(), p);
    let foreign = plan.foreign();
    if !foreign.is_empty() && !force {
        for f in &foreign {
            eprintln!("error[S0010]: {} exists and was not generated by sight; nothing was written", shown(f));
        }
        eprintln!("help: move it away, or pass --force to overwrite it");
        return EXIT_ERRORS;
    }
    let stale = plan.stale.len();
    match plan.apply(force) {
        Ok(n) => {
            eprintln!(
                "wrote {n} file(s) to {}{}",
                root.display(),
                if stale == 0 { String::new() } else { format!(", removed {stale} stale") }
            );
            EXIT_OK
        }
        Err(e) => fail(&format!("{e}; previously generated files are intact")),
    }
}

fn explain(code: Option<&str>, list: bool) -> u8 {
    if list {
        for c in codes::ALL {
            println!("{}  {:<32} {:<8} {}", c.code, c.name, c.severity, c.summary);
        }
        return EXIT_OK;
    }
    let Some(key) = code else {
        return fail("give a code (`sight explain S0101`) or `--list`");
    };
    let Some(c) = Code::by_code_or_name(key) else {
        let help = crate::diagnostics::unknown_name_help(key, codes::ALL.iter().map(|c| c.name));
        return fail(&format!("no diagnostic code `{key}`: {help}"));
    };
    match c.explain() {
        Some(text) => print!("{text}"),
        None => println!("{} ({}): {}", c.code, c.name, c.summary),
    }
    EXIT_OK
}

fn graph(dir: &Path, format: GraphFormat, pipeline: Option<&str>) -> u8 {
    let mut compiled = match compile_dir(dir) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let args = ReportArgs { format: Format::Human, color: Color::Auto, deny: None };
    if report(&mut compiled, dir, &args) {
        return EXIT_ERRORS;
    }
    let Some(model) = compiled.model.as_ref() else {
        return EXIT_ERRORS;
    };
    if let Some(p) = pipeline {
        if !model.pipelines.contains_key(p) {
            return fail(&format!("no pipeline named `{p}`"));
        }
    }
    let g = crate::graph::build(model, pipeline);
    print!(
        "{}",
        match format {
            GraphFormat::Dot => crate::graph::to_dot(&g),
            GraphFormat::Mermaid => crate::graph::to_mermaid(&g),
            GraphFormat::Json => crate::graph::to_json(&g),
        }
    );
    EXIT_OK
}

fn fmt(paths: &[PathBuf], check_only: bool) -> u8 {
    let roots = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths.to_vec() };
    let mut files = Vec::new();
    for root in &roots {
        if root.is_dir() {
            if let Err(e) = collect(root, root, &mut files, &|p| p.extension().is_some_and(|e| e == "sight"), 0) {
                return fail(&e);
            }
        } else if root.exists() {
            files.push(root.clone());
        } else {
            return fail(&format!("{} does not exist", root.display()));
        }
    }
    let mut unformatted = 0;
    let mut broken = 0;
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => return fail(&format!("cannot read {}: {e}", path.display())),
        };
        let Some(formatted) = crate::format::format_source(&text) else {
            eprintln!("{}: has syntax errors, left as is (run `sight check`)", path.display());
            broken += 1;
            continue;
        };
        if formatted == text {
            continue;
        }
        unformatted += 1;
        if check_only {
            print!("{}", crate::write::unified_diff(&path.to_string_lossy(), &text, &formatted));
        } else if let Err(e) = crate::write::write_atomically(&path, formatted.as_bytes()) {
            return fail(&format!("cannot write {}: {e}", path.display()));
        }
    }
    if check_only && unformatted > 0 {
        eprintln!("{unformatted} file(s) are not formatted: run `sight fmt`");
        return EXIT_ERRORS;
    }
    if broken > 0 {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}

fn init(dir: &Path) -> u8 {
    if dir.join(project::MANIFEST).exists() {
        return fail(&format!("{} already has a {}", dir.display(), project::MANIFEST));
    }
    let name: String = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "app".into())
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) { name } else { format!("app-{name}") };
    let name: String = name.trim_end_matches('-').chars().take(20).collect();
    let context = serde_json::json!({ "name": name });
    for (file, target) in [("init/sight.toml", project::MANIFEST), ("init/app.sight", "app.sight")] {
        let Some((_, template)) = crate::embedded::STDLIB_FILES.iter().find(|(p, _)| *p == file) else {
            return fail("the starter project is missing from this build; this is a bug in sight, please report it");
        };
        let text = match crate::template::render(template, &context) {
            Ok(t) => t,
            Err(e) => return fail(&format!("internal error: {e}; this is a bug in sight, please report it")),
        };
        if let Err(e) = std::fs::create_dir_all(dir)
            .and_then(|_| crate::write::write_atomically(&dir.join(target), text.as_bytes()))
        {
            return fail(&format!("cannot write {}: {e}", dir.join(target).display()));
        }
    }
    eprintln!(
        "created {} and app.sight in {}: next, `sight check {0}` and `sight build {0}`",
        project::MANIFEST,
        dir.display()
    );
    EXIT_OK
}
