//! Values that are spliced into text artifacts must be plain, or they change meaning there:
//! - the strings of a `build` block go into a Dockerfile, line by line: a line break in
//!   `version = "3.12\nRUN curl … | sh"` would start a new instruction;
//! - the `gcp` settings go into image names, `gcloud` flags, Cloud Build substitutions and
//!   the commands written in artifact headers: they must have the form Google Cloud gives them.
//!
//! Both are S0112 (a value of the wrong form), pointing at the value.

use crate::check::Checker;
use crate::diagnostics::{codes, Diagnostic};
use crate::syntax::ast::{Block, Expr, ExprKind, Item, Member};

/// The build strings of one service: checked with its lowering ([`Checker::services`]),
/// while its nodes are in the cache.
pub fn service(checker: &mut Checker, item: &Item) {
    let mut found = Vec::new();
    for member in &item.body.members {
        if let Member::Block(b) = member {
            if b.name.name == "build" {
                control_characters(&b.body, &item.name.name, &mut found);
            }
        }
    }
    for d in found {
        checker.report(d);
    }
}

/// The `gcp` settings of the project.
pub fn run(checker: &mut Checker) {
    let mut found = Vec::new();
    if let Some(project) = checker.decls.project {
        for member in &project.body.members {
            let Member::Block(gcp) = member else { continue };
            if gcp.name.name != "gcp" {
                continue;
            }
            for m in &gcp.body.members {
                let Member::Field(f) = m else { continue };
                let ExprKind::Str(value) = &f.value.kind else { continue };
                let (valid, example) = match f.name.name.as_str() {
                    "project" => (is_project_id(value), "a project id such as `shop-prod`"),
                    "region" => (is_region(value), "a region such as `europe-west1`"),
                    "registry" => {
                        (is_registry(value), "a registry such as `europe-west1-docker.pkg.dev/shop-prod/app`")
                    }
                    _ => continue,
                };
                if !valid {
                    found.push(
                        Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{}` expects {example}", f.name.name))
                            .at(f.value.span, "not of this form")
                            .with_help(format!(
                                "`{}` goes into image names, `gcloud` flags and Cloud Build substitutions: write it as Google Cloud shows it ({})",
                                f.name.name,
                                match f.name.name.as_str() {
                                    "project" => "up to 30 lowercase letters, digits and `-`, starting with a letter",
                                    "region" => "lowercase words joined by `-`, ending in a digit",
                                    _ => "a lowercase host, an optional port, and lowercase path parts",
                                }
                            )),
                    );
                }
            }
        }
    }
    for d in found {
        checker.report(d);
    }
}

/// Strings with a control character (a line break, a tab, …) anywhere in a build block.
fn control_characters(block: &Block, service: &str, found: &mut Vec<Diagnostic>) {
    for member in &block.members {
        match member {
            Member::Field(f) => {
                for e in strings(&f.value) {
                    if let ExprKind::Str(s) = &e.kind {
                        if let Some(c) = s.chars().find(|c| c.is_control()) {
                            found.push(
                                Diagnostic::new(
                                    &codes::TYPE_MISMATCH,
                                    format!(
                                        "`{}` of the build of `{service}` holds the control character {c:?}",
                                        f.name.name
                                    ),
                                )
                                .at(e.span, "not a plain one-line value")
                                .with_help(
                                    "build values are written into the Dockerfile, where a line break starts a new instruction: write the value on one line, without control characters",
                                ),
                            );
                        }
                    }
                }
            }
            Member::Block(b) => control_characters(&b.body, service, found),
            _ => {}
        }
    }
}

fn strings(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::List(items) => items.iter().collect(),
        _ => vec![expr],
    }
}

/// `shop-prod`, or a legacy domain-scoped id `example.com:shop-prod`.
fn is_project_id(id: &str) -> bool {
    let id = match id.rsplit_once(':') {
        Some((domain, id)) => {
            if domain.is_empty()
                || !domain.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
            {
                return false;
            }
            id
        }
        None => id,
    };
    // Google allows 6 to 30 characters; what matters here is that nothing else gets in.
    (1..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `europe-west1`, `us-central1`, `northamerica-northeast2`.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 2
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.first().is_some_and(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && region.ends_with(|c: char| c.is_ascii_digit())
}

/// A Docker registry and repository prefix: `host[:port][/path…]`, lowercase (the grammar of
/// image references).
fn is_registry(registry: &str) -> bool {
    let mut parts = registry.split('/');
    let host = parts.next().unwrap_or_default();
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let host_ok = !name.is_empty()
        && name.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    host_ok
        && parts.all(|p| {
            !p.is_empty()
                && p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && p.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_cloud_names() {
        assert!(is_project_id("shop-prod"));
        assert!(is_project_id("example.com:shop-prod"));
        assert!(is_project_id("p"));
        assert!(!is_project_id("a-project-id-far-longer-than-thirty"));
        assert!(!is_project_id("Shop-prod"));
        assert!(!is_project_id("shop-prod-"));
        assert!(!is_project_id("shop prod; rm -rf /"));
        assert!(is_region("europe-west1"));
        assert!(is_region("northamerica-northeast2"));
        assert!(!is_region("europe-west1; curl x | sh"));
        assert!(!is_region("europe"));
        assert!(!is_region("1-2"));
        assert!(is_registry("gcr.io"));
        assert!(is_registry("europe-west1-docker.pkg.dev/shop-prod/app"));
        assert!(is_registry("localhost:5000/app"));
        assert!(is_registry("ghcr.io/acme_corp/app.v2"));
        assert!(!is_registry("gcr.io/App"));
        assert!(!is_registry("gcr.io/app\nRUN id"));
        assert!(!is_registry("gcr.io//app"));
        assert!(!is_registry(""));
        assert!(!is_registry("gcr.io:/app"));
    }
}
