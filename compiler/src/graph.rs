//! Stage 3b, graph: the model as one dependency graph (petgraph): services, data stores,
//! secrets, channels, pipeline steps and alerts, with the edges between them. Rendered by
//! `sight graph` as DOT, Mermaid or JSON; each pipeline's critical path is marked.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::json;

use crate::model::{EnvValue, Model, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Service,
    Store,
    Secret,
    Channel,
    Step,
    Alert,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Node {
    pub kind: NodeKind,
    /// `api`, or `release.build` for a step.
    pub id: String,
    pub pipeline: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    DependsOn,
    UsesSecret,
    WaitsFor,
    ActsOn,
    Watches,
    Notifies,
}

pub struct Graph {
    pub graph: DiGraph<Node, EdgeKind>,
    /// Step ids on each pipeline's critical path (the longest chain of `waitFor`).
    pub critical: BTreeSet<String>,
}

/// Builds the graph. Node and edge order follow the model's sorted maps: deterministic.
pub fn build(model: &Model, only_pipeline: Option<&str>) -> Graph {
    let mut graph = DiGraph::new();
    let mut index: BTreeMap<String, NodeIndex> = BTreeMap::new();
    let mut add = |graph: &mut DiGraph<Node, EdgeKind>, kind: NodeKind, id: String, pipeline: Option<String>| {
        let i = graph.add_node(Node { kind, id: id.clone(), pipeline });
        index.insert(id, i);
    };
    for name in model.secrets.keys() {
        add(&mut graph, NodeKind::Secret, format!("secret.{name}"), None);
    }
    for name in model.stores.keys() {
        add(&mut graph, NodeKind::Store, name.clone(), None);
    }
    for name in model.services.keys() {
        add(&mut graph, NodeKind::Service, name.clone(), None);
    }
    for name in model.channels.keys() {
        add(&mut graph, NodeKind::Channel, name.clone(), None);
    }
    let pipelines: Vec<_> = model.pipelines.values().filter(|p| only_pipeline.is_none_or(|o| o == p.name)).collect();
    for p in &pipelines {
        for step in &p.steps {
            add(&mut graph, NodeKind::Step, format!("{}.{}", p.name, step.name), Some(p.name.clone()));
        }
    }
    for name in model.alerts.keys() {
        add(&mut graph, NodeKind::Alert, format!("alert.{name}"), None);
    }
    let edge = |graph: &mut DiGraph<Node, EdgeKind>, from: &str, to: &str, kind: EdgeKind| {
        if let (Some(&a), Some(&b)) = (index.get(from), index.get(to)) {
            graph.add_edge(a, b, kind);
        }
    };
    for store in model.stores.values() {
        for secret in &store.secrets {
            edge(&mut graph, &store.name, &format!("secret.{secret}"), EdgeKind::UsesSecret);
        }
    }
    for service in model.services.values() {
        for dep in &service.depends_on {
            edge(&mut graph, &service.name, &dep.target, EdgeKind::DependsOn);
        }
        let mut secrets = BTreeSet::new();
        for config in service.configs.iter() {
            for value in config.env.values() {
                if let EnvValue::Secret(s) = value {
                    secrets.insert(s.clone());
                }
            }
        }
        for s in secrets {
            edge(&mut graph, &service.name, &format!("secret.{s}"), EdgeKind::UsesSecret);
        }
    }
    for channel in model.channels.values() {
        for value in channel.fields.values() {
            if let Value::Secret(s) = value {
                edge(&mut graph, &channel.name, &format!("secret.{s}"), EdgeKind::UsesSecret);
            }
        }
    }
    let mut critical = BTreeSet::new();
    for p in &pipelines {
        for step in &p.steps {
            let id = format!("{}.{}", p.name, step.name);
            for dep in &step.wait_for {
                edge(&mut graph, &id, &format!("{}.{dep}", p.name), EdgeKind::WaitsFor);
            }
            edge(&mut graph, &id, &step.service, EdgeKind::ActsOn);
        }
        for channel in &p.notify {
            if let Some(last) = p.steps.last() {
                edge(&mut graph, &format!("{}.{}", p.name, last.name), channel, EdgeKind::Notifies);
            }
        }
        critical.extend(critical_path(p).into_iter().map(|s| format!("{}.{s}", p.name)));
    }
    for alert in model.alerts.values() {
        let id = format!("alert.{}", alert.name);
        edge(&mut graph, &id, &alert.target, EdgeKind::Watches);
        for c in &alert.channels {
            edge(&mut graph, &id, c, EdgeKind::Notifies);
        }
    }
    Graph { graph, critical }
}

/// The longest chain of steps (each step counts one; ties broken by declaration order).
pub fn critical_path(pipeline: &crate::model::Pipeline) -> Vec<String> {
    let mut best: BTreeMap<&str, (usize, Option<&str>)> = BTreeMap::new();
    for step in &pipeline.steps {
        let prev = step
            .wait_for
            .iter()
            .filter_map(|d| best.get(d.as_str()).map(|(len, _)| (*len, d.as_str())))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)));
        let entry = match prev {
            Some((len, d)) => (len + 1, Some(d)),
            None => (1, None),
        };
        best.insert(step.name.as_str(), entry);
    }
    let Some(mut at) = pipeline
        .steps
        .iter()
        .rev()
        .max_by_key(|s| best.get(s.name.as_str()).map_or(0, |e| e.0))
        .map(|s| s.name.as_str())
    else {
        return Vec::new();
    };
    let mut path = vec![at.to_string()];
    while let Some((_, Some(prev))) = best.get(at) {
        path.push(prev.to_string());
        at = prev;
    }
    path.reverse();
    path
}

fn edge_label(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::DependsOn => "depends on",
        EdgeKind::UsesSecret => "reads",
        EdgeKind::WaitsFor => "waits for",
        EdgeKind::ActsOn => "acts on",
        EdgeKind::Watches => "watches",
        EdgeKind::Notifies => "notifies",
    }
}

pub fn to_dot(g: &Graph) -> String {
    let mut out = String::from("digraph sight {\n  rankdir=LR;\n");
    for i in g.graph.node_indices() {
        let Some(n) = g.graph.node_weight(i) else {
            continue;
        };
        let shape = match n.kind {
            NodeKind::Service => "box",
            NodeKind::Store => "cylinder",
            NodeKind::Secret => "note",
            NodeKind::Channel => "house",
            NodeKind::Step => "box, style=rounded",
            NodeKind::Alert => "octagon",
        };
        let bold = if g.critical.contains(&n.id) { ", penwidth=3" } else { "" };
        let _ = writeln!(out, "  \"{}\" [shape={shape}{bold}];", n.id);
    }
    for e in g.graph.edge_indices() {
        let (Some((a, b)), Some(kind)) = (g.graph.edge_endpoints(e), g.graph.edge_weight(e)) else {
            continue;
        };
        let (Some(a), Some(b)) = (g.graph.node_weight(a), g.graph.node_weight(b)) else {
            continue;
        };
        let bold = if *kind == EdgeKind::WaitsFor && g.critical.contains(&a.id) && g.critical.contains(&b.id) {
            ", penwidth=3"
        } else {
            ""
        };
        let _ = writeln!(out, "  \"{}\" -> \"{}\" [label=\"{}\"{bold}];", a.id, b.id, edge_label(*kind));
    }
    out.push_str("}\n");
    out
}

pub fn to_mermaid(g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    let id = |s: &str| s.replace(['.', '-'], "_");
    for i in g.graph.node_indices() {
        let Some(n) = g.graph.node_weight(i) else {
            continue;
        };
        let (open, close) = match n.kind {
            NodeKind::Service => ("[", "]"),
            NodeKind::Store => ("[(", ")]"),
            NodeKind::Secret => ("[/", "/]"),
            NodeKind::Channel => ("{{", "}}"),
            NodeKind::Step => ("(", ")"),
            NodeKind::Alert => ("{", "}"),
        };
        let _ = writeln!(out, "  {}{open}\"{}\"{close}", id(&n.id), n.id);
    }
    for e in g.graph.edge_indices() {
        let (Some((a, b)), Some(kind)) = (g.graph.edge_endpoints(e), g.graph.edge_weight(e)) else {
            continue;
        };
        let (Some(a), Some(b)) = (g.graph.node_weight(a), g.graph.node_weight(b)) else {
            continue;
        };
        let arrow = if *kind == EdgeKind::WaitsFor && g.critical.contains(&a.id) && g.critical.contains(&b.id) {
            "==>"
        } else {
            "-->"
        };
        let _ = writeln!(out, "  {} {arrow}|{}| {}", id(&a.id), edge_label(*kind), id(&b.id));
    }
    let critical: Vec<String> = g.critical.iter().map(|c| id(c)).collect();
    if !critical.is_empty() {
        let _ = writeln!(out, "  classDef critical stroke-width:4px\n  class {} critical", critical.join(","));
    }
    out
}

pub fn to_json(g: &Graph) -> String {
    let nodes: Vec<_> = g
        .graph
        .node_weights()
        .map(|n| json!({ "id": n.id, "kind": n.kind, "pipeline": n.pipeline, "critical": g.critical.contains(&n.id) }))
        .collect();
    let edges: Vec<_> = g
        .graph
        .edge_indices()
        .filter_map(|e| {
            let (a, b) = g.graph.edge_endpoints(e)?;
            Some(json!({ "from": g.graph.node_weight(a)?.id, "to": g.graph.node_weight(b)?.id, "kind": g.graph.edge_weight(e)? }))
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "nodes": nodes, "edges": edges })).unwrap_or_default() + "\n"
}
