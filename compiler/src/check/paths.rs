//! S0015 for the paths of a spec: build contexts, `copy` entries, bind mounts, `env_file`
//! entries and secret files stay inside the project root (`copy` inside its build context).
//! The checker sees text only; symbolic links are the CLI's part ([`crate::paths::symlinks`]).

use crate::check::Checker;
use crate::diagnostics::{codes, Diagnostic};
use crate::paths::{mount_host, relative, Escape};
use crate::syntax::ast::{Block, Expr, ExprKind, Item, Member};

/// What a path is relative to, for messages.
const PROJECT: &str = "the project root";
const CONTEXT: &str = "the build context";

/// A path as written: the string literal, what it is and what it is relative to.
struct Written {
    expr: Expr,
    what: String,
    root: &'static str,
    /// A bind mount `host:container`: only the host side is a path here.
    mount: bool,
}

fn written(expr: &Expr, what: String, root: &'static str) -> Written {
    Written { expr: expr.clone(), what, root, mount: false }
}

/// The paths of one service: checked with its lowering ([`Checker::services`]), while its
/// nodes are in the cache.
pub fn service(checker: &mut Checker, item: &Item) {
    let mut found: Vec<Written> = Vec::new();
    paths_in(&item.body, &item.name.name, true, &mut found);
    report(checker, found);
}

/// The files of secrets.
pub fn run(checker: &mut Checker) {
    let mut found: Vec<Written> = Vec::new();
    for item in checker.decls.secrets.values() {
        for member in &item.body.members {
            if let Member::Field(f) = member {
                if f.name.name == "file" {
                    found.push(written(&f.value, format!("the file of secret `{}`", item.name.name), PROJECT));
                }
            }
        }
    }
    report(checker, found);
}

fn report(checker: &mut Checker, found: Vec<Written>) {
    for Written { expr, what, root, mount } in found {
        let ExprKind::Str(text) = &expr.kind else { continue };
        let path = if mount { mount_host(text) } else { text.as_str() };
        let Err(escape) = relative(path) else { continue };
        let help = match escape {
            Escape::Control => "a path is one line of plain characters".to_string(),
            _ if root == CONTEXT => {
                "Docker sends only the build context to the build: move the file into it, or widen `context`".to_string()
            }
            _ => format!(
                "paths are relative to {root} and stay inside it (sight writes and Compose reads there): move what it names into the project"
            ),
        };
        checker.report(
            Diagnostic::new(&codes::PATH_OUTSIDE_PROJECT, format!("`{path}` ({what}) {}", escape.describe(root)))
                .at(expr.span, format!("outside {root}"))
                .with_help(help),
        );
    }
}

/// The paths of a service, in one walk of its members: `mount` and `env_file` lists anywhere
/// (the base, overlays, nested blocks) and, at the top (`top`), the build's context and `copy`.
fn paths_in(block: &Block, service: &str, top: bool, found: &mut Vec<Written>) {
    for member in &block.members {
        match member {
            Member::Block(b) if top && b.name.name == "build" => {
                for m in &b.body.members {
                    match m {
                        Member::Field(f) if f.name.name == "context" => {
                            found.push(written(&f.value, format!("the build context of `{service}`"), PROJECT));
                        }
                        Member::Field(f) if f.name.name == "copy" => {
                            for e in strings(&f.value) {
                                found.push(written(e, format!("a `copy` entry of `{service}`"), CONTEXT));
                            }
                        }
                        _ => {}
                    }
                }
            }
            Member::Field(f) if f.name.name == "mount" => {
                for e in strings(&f.value) {
                    found.push(Written { mount: true, ..written(e, format!("the mount of `{service}`"), PROJECT) });
                }
            }
            Member::Field(f) if f.name.name == "env_file" => {
                for e in strings(&f.value) {
                    found.push(written(e, format!("the `env_file` of `{service}`"), PROJECT));
                }
            }
            Member::Block(b) if b.name.name != "build" => paths_in(&b.body, service, false, found),
            _ => {}
        }
    }
}

/// The string items of a list (or the string itself).
fn strings(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::List(items) => items.iter().filter(|e| matches!(e.kind, ExprKind::Str(_))).collect(),
        ExprKind::Str(_) => vec![expr],
        _ => Vec::new(),
    }
}
