//! What each name in the spec is: a declaration, a reference to one, a kind, a field. Built
//! from the syntax trees of every file of a project, so navigation works across files and
//! while the project still has errors.

use std::collections::BTreeMap;

use crate::source::{FileId, SourceMap, Span};
use crate::stdlib::Stdlib;
use crate::syntax::ast::{self, Block, Expr, ExprKind, Member};

use super::schema::{self, Owner};

/// Something a name can mean, across the project.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Symbol {
    /// A store, service, channel, pipeline or alert: they share one namespace.
    Entity(String),
    /// `secret x { … }`, used as `secret.x`.
    Secret(String),
    /// A step of a pipeline: (pipeline, step).
    Step(String, String),
    Project,
    /// `network x { … }` and `volume x { … }` settings: services name them in strings.
    Network(String),
    Volume(String),
}

impl Symbol {
    pub fn name(&self) -> &str {
        match self {
            Symbol::Entity(n) | Symbol::Secret(n) | Symbol::Step(_, n) | Symbol::Network(n) | Symbol::Volume(n) => n,
            Symbol::Project => "project",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Occ {
    Decl(Symbol),
    Ref(Symbol),
    /// The URL segment of `postgres.url(driver = "…")`.
    Url {
        store: String,
        url: String,
        args: Vec<(String, String)>,
    },
    /// A kind name: `: postgres`, or a step call's `docker_build`.
    Kind(String),
    /// A field name in a block whose fields are known.
    Field {
        owner: Owner,
        name: String,
    },
    /// A declaration keyword.
    Keyword(String),
    /// The signal of an alert's `when`.
    Signal {
        alert: String,
    },
}

#[derive(Clone, Debug)]
pub struct Occurrence {
    pub span: Span,
    pub occ: Occ,
}

/// One declaration.
#[derive(Clone, Debug)]
pub struct Decl {
    pub keyword: String,
    pub name: String,
    pub kind: Option<String>,
    /// The name.
    pub span: Span,
}

#[derive(Default)]
pub struct Index {
    pub occurrences: Vec<Occurrence>,
    /// Every declaration of each symbol (several when it is declared twice).
    pub decls: BTreeMap<Symbol, Vec<Decl>>,
    pub trees: Vec<(FileId, ast::File)>,
}

impl Index {
    /// Parses every spec file of `sources` (all but `sight.toml`) and indexes the names.
    pub fn build(sources: &SourceMap, stdlib: &Stdlib) -> Index {
        let mut index = Index::default();
        for (id, file) in sources.iter() {
            if file.path == crate::project::MANIFEST {
                continue;
            }
            let (tree, _) = crate::syntax::parse(id, &file.text);
            index.trees.push((id, tree));
        }
        let trees = std::mem::take(&mut index.trees);
        for (_, tree) in &trees {
            let mut walker = Walker { stdlib, out: &mut index, pipeline: None };
            for item in &tree.items {
                walker.item(item);
            }
        }
        index.trees = trees;
        index.occurrences.sort_by_key(|o| (o.span.file, o.span.start, o.span.end));
        index
    }

    /// The innermost occurrence at a byte offset (a cursor right after a name still counts).
    pub fn at(&self, file: FileId, offset: usize) -> Option<&Occurrence> {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        self.occurrences
            .iter()
            .filter(|o| o.span.file == file && o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| (o.span.len(), o.span.start))
    }

    /// The symbol at a position: the declared or referenced one.
    pub fn symbol_at(&self, file: FileId, offset: usize) -> Option<&Symbol> {
        // A reference and a declaration never overlap; a cursor between two names picks the
        // one that starts there.
        let offset32 = u32::try_from(offset).unwrap_or(u32::MAX);
        let mut best: Option<&Occurrence> = None;
        for o in &self.occurrences {
            if o.span.file != file || o.span.start > offset32 || offset32 > o.span.end {
                continue;
            }
            if !matches!(o.occ, Occ::Decl(_) | Occ::Ref(_)) {
                continue;
            }
            if best.is_none_or(|b| o.span.start > b.span.start) {
                best = Some(o);
            }
        }
        match &best?.occ {
            Occ::Decl(s) | Occ::Ref(s) => Some(s),
            _ => None,
        }
    }

    /// Declarations and references of a symbol, declarations first.
    pub fn spans_of(&self, symbol: &Symbol, include_declaration: bool) -> Vec<Span> {
        let mut out: Vec<Span> = Vec::new();
        if include_declaration {
            out.extend(self.decls.get(symbol).into_iter().flatten().map(|d| d.span));
        }
        out.extend(self.occurrences.iter().filter_map(|o| match &o.occ {
            Occ::Ref(s) if s == symbol => Some(o.span),
            _ => None,
        }));
        out
    }

    pub fn decl(&self, symbol: &Symbol) -> Option<&Decl> {
        self.decls.get(symbol).and_then(|d| d.first())
    }

    /// Declared entities, secrets and steps of a pipeline, for completion.
    pub fn declared(&self) -> impl Iterator<Item = (&Symbol, &Decl)> {
        self.decls.iter().filter_map(|(s, d)| d.first().map(|d| (s, d)))
    }

    /// The syntax tree of a file.
    pub fn tree(&self, file: FileId) -> Option<&ast::File> {
        self.trees.iter().find(|(id, _)| *id == file).map(|(_, t)| t)
    }
}

struct Walker<'a> {
    stdlib: &'a Stdlib,
    out: &'a mut Index,
    pipeline: Option<String>,
}

impl Walker<'_> {
    fn push(&mut self, span: Span, occ: Occ) {
        self.out.occurrences.push(Occurrence { span, occ });
    }

    fn declare(&mut self, symbol: Symbol, keyword: &str, name: &str, kind: Option<&ast::Ident>, span: Span) {
        self.push(span, Occ::Decl(symbol.clone()));
        self.out.decls.entry(symbol).or_default().push(Decl {
            keyword: keyword.to_string(),
            name: name.to_string(),
            kind: kind.map(|k| k.name.to_string()),
            span,
        });
    }

    fn item(&mut self, item: &ast::Item) {
        let keyword = item.keyword.name.as_str();
        self.push(item.keyword.span, Occ::Keyword(keyword.to_string()));
        let symbol = match keyword {
            "project" => Some(Symbol::Project),
            "secret" => Some(Symbol::Secret(item.name.name.to_string())),
            "database" | "cache" | "store" | "service" | "channel" | "pipeline" | "alert" => {
                Some(Symbol::Entity(item.name.name.to_string()))
            }
            "network" => Some(Symbol::Network(item.name.name.to_string())),
            "volume" => Some(Symbol::Volume(item.name.name.to_string())),
            _ => None,
        };
        if let Some(symbol) = symbol {
            self.declare(symbol, keyword, &item.name.name, item.kind.as_ref(), item.name.span);
        }
        if let Some(kind) = &item.kind {
            self.push(kind.span, Occ::Kind(kind.name.to_string()));
        }
        let owner = Owner::item(self.stdlib, keyword, item.kind.as_ref().map(|k| k.name.as_str()));
        self.pipeline = (keyword == "pipeline").then(|| item.name.name.to_string());
        let alert = (keyword == "alert").then(|| item.name.name.clone());
        self.block(&item.body, &owner, alert.as_deref());
        self.pipeline = None;
    }

    fn block(&mut self, block: &Block, owner: &Owner, alert: Option<&str>) {
        for member in &block.members {
            match member {
                Member::Field(f) => {
                    self.field_name(owner, &f.name);
                    self.expr(&f.value);
                }
                Member::Block(b) => {
                    self.field_name(owner, &b.name);
                    if let Some(kind) = &b.kind {
                        self.push(kind.span, Occ::Kind(kind.name.to_string()));
                    }
                    let child = owner.child(self.stdlib, &b.name.name, b.kind.as_ref().map(|k| k.name.as_str()));
                    self.block(&b.body, &child, None);
                }
                Member::Step(s) => self.step(s),
                Member::OnFailure(o) => {
                    if let Some(pipeline) = self.pipeline.clone() {
                        self.push(o.step.span, Occ::Ref(Symbol::Step(pipeline, o.step.name.to_string())));
                    }
                    self.action(&o.action);
                }
                Member::When(w) => {
                    if let Some(alert) = alert {
                        self.push(w.signal.span, Occ::Signal { alert: alert.to_string() });
                    }
                    self.expr(&w.threshold);
                    if let Some(d) = &w.duration {
                        self.expr(d);
                    }
                }
            }
        }
    }

    fn field_name(&mut self, owner: &Owner, name: &ast::Ident) {
        if !matches!(owner, Owner::Free | Owner::Unknown) {
            self.push(name.span, Occ::Field { owner: owner.clone(), name: name.name.to_string() });
        }
    }

    fn step(&mut self, step: &ast::Step) {
        let Some(pipeline) = self.pipeline.clone() else { return };
        let symbol = Symbol::Step(pipeline.clone(), step.name.name.to_string());
        self.declare(symbol, "step", &step.name.name, None, step.name.span);
        let call_block = self.action(&step.action);
        for after in &step.after {
            self.push(after.span, Occ::Ref(Symbol::Step(pipeline.clone(), after.name.to_string())));
        }
        let body_owner = Owner::Builtin(schema::Builtin::StepBody);
        if let Some(block) = call_block {
            self.block(block, &body_owner, None);
        }
        if let Some(body) = &step.body {
            self.block(body, &body_owner, None);
        }
    }

    /// A step or `on_failure` action: the callee is a step kind. Returns the call's block.
    fn action<'e>(&mut self, action: &'e Expr) -> Option<&'e Block> {
        let ExprKind::Call(call) = &action.kind else {
            self.expr(action);
            return None;
        };
        let kind = call.callee.dotted();
        self.push(call.callee.span, Occ::Kind(kind.clone()));
        let def = self.stdlib.kind(&kind).filter(|k| k.step.is_some()).cloned();
        for arg in &call.args {
            if let (Some(name), Some(def)) = (&arg.name, &def) {
                self.push(name.span, Occ::Field { owner: Owner::StepArgs(def.clone()), name: name.name.to_string() });
            }
            self.expr(&arg.value);
        }
        call.block.as_ref()
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Path(path) => self.path(path, &[]),
            ExprKind::Call(call) => {
                if call.callee.segments.len() >= 2 {
                    self.path(&call.callee, &call.args);
                }
                for arg in &call.args {
                    self.expr(&arg.value);
                }
                if let Some(block) = &call.block {
                    let owner = Owner::call_block(&call.callee.dotted());
                    self.block(block, &owner, None);
                }
            }
            ExprKind::List(items) => {
                for item in items {
                    self.expr(item);
                }
            }
            _ => {}
        }
    }

    fn path(&mut self, path: &ast::Path, args: &[ast::Arg]) {
        match path.segments.as_slice() {
            [ns, name] if ns.name == "secret" => {
                self.push(name.span, Occ::Ref(Symbol::Secret(name.name.to_string())));
            }
            [first, rest @ ..] if first.name != "secret" => {
                self.push(first.span, Occ::Ref(Symbol::Entity(first.name.to_string())));
                if let [url] = rest {
                    let args = args
                        .iter()
                        .filter_map(|a| {
                            let value = match &a.value.kind {
                                ExprKind::Str(s) => s.to_string(),
                                ExprKind::Int(n) => n.to_string(),
                                _ => return None,
                            };
                            Some((a.name.as_ref()?.name.to_string(), value))
                        })
                        .collect();
                    self.push(url.span, Occ::Url { store: first.name.to_string(), url: url.name.to_string(), args });
                }
            }
            _ => {}
        }
    }
}
