//! Hover: what a name is. Kinds and fields show their stdlib documentation and type;
//! references show what they resolve to (a store's image, port and URLs, a service's image,
//! port and address, a secret's Secret Manager version, a step's order).

use std::fmt::Write as _;

use crate::model::Model;
use crate::source::{FileId, Span};
use crate::stdlib::{KindClass, KindDef};

use super::index::{Occ, Symbol};
use super::schema::{self, Owner};
use super::workspace::View;

/// Markdown for the name at `offset`, and the span it describes.
pub fn hover(view: &View, file: FileId, offset: usize) -> Option<(String, Span)> {
    let occurrence = view.index.at(file, offset)?;
    let text = match &occurrence.occ {
        Occ::Keyword(keyword) => {
            let (_, what) = crate::syntax::KEYWORDS.iter().find(|(k, _)| k == keyword)?;
            format!("**{keyword}**: declares {what}")
        }
        Occ::Kind(name) => kind(view.stdlib.kind(name)?),
        Occ::Field { owner, name } => field(owner, name)?,
        Occ::Decl(symbol) | Occ::Ref(symbol) => symbol_text(view, symbol)?,
        Occ::Url { store, url, args } => url_text(view, store, url, args)?,
        Occ::Signal { alert } => {
            let alert = view.model?.alerts.get(alert)?;
            let title = alert.signal.title.clone().unwrap_or_else(|| alert.signal_name.clone());
            format!(
                "**{}** ({title}) of `{}`\n\n{}\n\nmetric `{}`",
                alert.signal_name, alert.target, alert.signal.doc, alert.signal.metric
            )
        }
    };
    Some((text, occurrence.span))
}

/// A kind: its class, documentation and fields (or a step kind's parameters).
pub fn kind(def: &KindDef) -> String {
    let mut out = String::new();
    if def.class == KindClass::Step {
        let _ = writeln!(out, "```sight\n{}\n```", schema::step_signature(def));
        let _ = writeln!(out, "{} (pipeline step)\n", def.doc);
        for param in def.step.iter().flat_map(|s| s.params.iter()) {
            let _ = writeln!(out, "- `{}`: {}: {}", param.name, param.ty.describe(), param.doc);
        }
        return out;
    }
    let _ = writeln!(out, "**{}**: {} kind\n\n{}\n", def.name, def.class.describe(), def.doc);
    for f in Owner::Kind(std::sync::Arc::new(def.clone())).fields() {
        let required = if f.required { ", required" } else { "" };
        let default = f.default.map(|d| format!(", default `{d}`")).unwrap_or_default();
        let _ = writeln!(out, "- `{}`: {}{required}{default}", f.name, f.ty);
    }
    out
}

fn field(owner: &Owner, name: &str) -> Option<String> {
    let f = owner.field(name)?;
    let mut out = format!("**{}**: {}", f.name, f.ty);
    if f.required {
        out.push_str(" (required)");
    }
    let _ = write!(out, "\n\n{}", f.doc);
    if let Some(default) = &f.default {
        let _ = write!(out, "\n\ndefault: `{default}`");
    }
    let owner = owner.describe();
    if !owner.is_empty() {
        let _ = write!(out, "\n\nfield of {owner}");
    }
    Some(out)
}

fn header(view: &View, symbol: &Symbol) -> String {
    match (symbol, view.index.decl(symbol)) {
        (Symbol::Step(pipeline, name), _) => format!("```sight\nstep {name}\n```\nin pipeline `{pipeline}`\n"),
        (_, Some(decl)) => {
            let kind = decl.kind.as_ref().map(|k| format!(" : {k}")).unwrap_or_default();
            format!("```sight\n{} {}{kind}\n```\n", decl.keyword, decl.name)
        }
        (Symbol::Secret(name), None) => format!("`secret.{name}`: no secret of that name is declared"),
        (_, None) => format!("`{}`: nothing of that name is declared", symbol.name()),
    }
}

fn symbol_text(view: &View, symbol: &Symbol) -> Option<String> {
    let mut out = header(view, symbol);
    let Some(model) = view.model else {
        // No model yet (the project never compiled without errors): the declaration and its
        // kind's documentation.
        if let Some(def) = view.index.decl(symbol).and_then(|d| d.kind.as_ref()).and_then(|k| view.stdlib.kind(k)) {
            let _ = write!(out, "\n{}", def.doc);
        }
        return Some(out);
    };
    let details = match symbol {
        Symbol::Entity(name) => entity(model, name),
        Symbol::Secret(name) => model.secrets.get(name).map(|s| {
            format!(
                "Secret Manager `{}`, version `{}`\n\nCompose reads it from `{}`; Cloud Run from Secret Manager.",
                s.secret_id, s.version, s.file
            )
        }),
        Symbol::Step(pipeline, name) => step(model, pipeline, name),
        // Their settings are Compose's own; the declaration says it all.
        Symbol::Network(_) | Symbol::Volume(_) => None,
        Symbol::Project => Some(format!(
            "Google Cloud project `{}` in `{}`\n\nimages go to `{}`",
            model.project.gcp.project, model.project.gcp.region, model.project.gcp.registry
        )),
    };
    if let Some(details) = details {
        let _ = write!(out, "\n{details}");
    }
    Some(out)
}

/// The repository a built service's image is pushed to (as the Cloud Run emitter names it).
fn image_repository(model: &Model, service: &str) -> String {
    let registry = model.project.gcp.registry.trim_end_matches('/');
    if registry.contains('/') {
        format!("{registry}/{service}")
    } else {
        format!("{registry}/{}/{service}", model.project.gcp.project)
    }
}

fn entity(model: &Model, name: &str) -> Option<String> {
    let mut out = String::new();
    if let Some(store) = model.stores.get(name) {
        let _ = writeln!(out, "image `{}` · port `{}`\n", store.image, store.port);
        for (url_name, url) in store.kind.store.iter().flat_map(|s| s.urls.iter()) {
            if let Some(rendered) = render_url(store, &url.template, &url.params, &[]) {
                let _ = writeln!(out, "- `{name}.{url_name}` → `{rendered}`");
            }
        }
        let _ = write!(out, "\n{}", store.kind.doc);
        return Some(out);
    }
    if let Some(service) = model.services.get(name) {
        match (&service.image, &service.build) {
            (Some(image), _) => {
                let _ = writeln!(out, "image `{image}`\n");
            }
            (None, Some(build)) => {
                let _ = writeln!(
                    out,
                    "built with `{}` from `{}/`, pushed to `{}`\n",
                    build.runtime.name,
                    build.context,
                    image_repository(model, name)
                );
            }
            (None, None) => {}
        }
        if let Some(port) = service.port {
            let published = service.config(crate::model::Env::Dev).publish.unwrap_or(port);
            let _ = writeln!(out, "port `{port}` (published on `{published}` in development)\n");
            let _ = writeln!(out, "URL in Compose: `http://{name}:{port}`\n");
        }
        if let Some(health) = &service.health {
            let _ = writeln!(
                out,
                "health: `GET {}` every {}\n",
                health.path,
                crate::units::duration_compact(health.interval_ms)
            );
        }
        if let Some(deploy) = &service.deploy {
            let _ = writeln!(
                out,
                "deployed to `{}`: {} memory, {} CPU, {}–{} instances\n",
                deploy.target.name,
                crate::units::size_compact(deploy.memory_bytes),
                crate::units::number(deploy.cpu),
                deploy.min_instances,
                deploy.max_instances
            );
        }
        if !service.depends_on.is_empty() {
            let names: Vec<String> = service.depends_on.iter().map(|d| format!("`{}`", d.target)).collect();
            let _ = writeln!(out, "depends on {}", names.join(", "));
        }
        return Some(out);
    }
    if let Some(channel) = model.channels.get(name) {
        return Some(format!("{} channel `{}`\n\n{}", channel.kind.name, channel.id, channel.kind.doc));
    }
    if let Some(pipeline) = model.pipelines.get(name) {
        let trigger = match &pipeline.trigger {
            crate::model::Trigger::Push { branch } => format!("pushes to `{branch}`"),
            crate::model::Trigger::Tag { pattern } => format!("tags matching `{pattern}`"),
            crate::model::Trigger::Manual => "manual builds".to_string(),
        };
        let steps: Vec<String> = pipeline.steps.iter().map(|s| format!("`{}`", s.name)).collect();
        return Some(format!(
            "Cloud Build pipeline on {trigger}, timeout {}\n\nsteps in order: {}",
            crate::units::duration_compact(pipeline.timeout_ms),
            steps.join(" → ")
        ));
    }
    if let Some(alert) = model.alerts.get(name) {
        let op = match alert.comparison {
            crate::model::Comparison::Above => ">",
            crate::model::Comparison::Below => "<",
        };
        return Some(format!(
            "watches `{}`: `{} {op} {}` for {}, severity `{}`, notifies {}",
            alert.target,
            alert.signal_name,
            alert.threshold_text,
            crate::units::duration_compact(alert.duration_ms),
            alert.severity,
            alert.channels.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    None
}

fn step(model: &Model, pipeline: &str, name: &str) -> Option<String> {
    let step = model.pipelines.get(pipeline)?.steps.iter().find(|s| s.name == name)?;
    let mut out = format!("`{}({})`: {}\n", step.kind.name, step.service, step.kind.doc);
    if step.wait_for.is_empty() {
        out.push_str("\nwaits for no other step: starts with the build\n");
    } else {
        let names: Vec<String> = step.wait_for.iter().map(|w| format!("`{w}`")).collect();
        let _ = writeln!(out, "\nwaits for {} (declared and implied)", names.join(", "));
    }
    if let Some(timeout) = step.timeout_ms {
        let _ = writeln!(out, "\ntimeout {}", crate::units::duration_compact(timeout));
    }
    if let Some(handler) = &step.on_failure {
        let _ = writeln!(out, "\non failure: `{}({})`", handler.kind.name, handler.service);
    }
    Some(out)
}

/// A store URL rendered as the checker renders it for Compose: the store's fields, the URL's
/// default parameters, the call's arguments, and the store's host and port.
fn render_url(
    store: &crate::model::Store,
    template: &str,
    params: &std::collections::BTreeMap<String, String>,
    args: &[(String, String)],
) -> Option<String> {
    let mut context = serde_json::Map::new();
    for (k, v) in &store.fields {
        context.insert(k.clone(), v.to_json());
    }
    for (k, v) in params {
        context.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    context.insert("host".into(), serde_json::Value::String(store.name.clone()));
    context.insert("port".into(), serde_json::Value::from(store.port));
    for (k, v) in args {
        context.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    crate::template::render(template, &serde_json::Value::Object(context)).ok()
}

fn url_text(view: &View, store: &str, url: &str, args: &[(String, String)]) -> Option<String> {
    let model = view.model?;
    let s = model.stores.get(store)?;
    let def = s.kind.store.as_ref()?.urls.get(url)?;
    let rendered = render_url(s, &def.template, &def.params, args)?;
    Some(format!("`{store}.{url}` → `{rendered}`\n\n{}", def.doc))
}
