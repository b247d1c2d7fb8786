//! Completion. The context comes from the tokens before the cursor (the lexer never fails, and
//! a half-typed file is the normal case): the stack of open blocks says whose fields are
//! expected, the last tokens say whether a kind, a field, a value or a step name comes next.

use std::collections::BTreeSet;

use crate::source::FileId;
use crate::stdlib::{FieldType, KindClass, StepRole};
use crate::syntax::lexer::{self, Tok, Token};

use super::index::Symbol;
use super::schema::{self, Owner, Shape};
use super::workspace::View;

/// What an item completes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Keyword,
    Kind,
    Field,
    Reference,
    Secret,
    Step,
    Url,
    StepKind,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub label: String,
    pub kind: ItemKind,
    pub detail: String,
    pub doc: String,
    /// The text inserted, when it is not the label.
    pub insert: Option<String>,
}

/// The items, and the byte offset where the word being typed starts (it is replaced).
pub struct Completion {
    pub items: Vec<Item>,
    pub start: usize,
}

struct Frame {
    owner: Owner,
    pipeline: Option<String>,
    alert: bool,
    /// Fields already written before the cursor.
    set: BTreeSet<String>,
}

enum Delim {
    Brace(Frame),
    /// `[`; after `after`, the list of steps the step waits for (and that step's name).
    /// Otherwise the field the list is the value of (`depends_on = [`).
    Bracket {
        after: Option<String>,
        field: Option<String>,
    },
    Paren,
}

fn ident<'a>(token: Option<&&'a Token>) -> Option<&'a str> {
    match token.map(|t| &t.tok) {
        Some(Tok::Ident(name)) => Some(name.as_str()),
        _ => None,
    }
}

fn is(token: Option<&&Token>, tok: &Tok) -> bool {
    token.is_some_and(|t| &t.tok == tok)
}

pub fn complete(view: &View, text: &str, offset: usize) -> Completion {
    let lexed = lexer::lex(FileId(0), text);
    let mut start = offset;
    let inside = |s: crate::source::Span| (s.start as usize) < offset && offset <= s.end as usize;
    // Nothing to complete inside a comment or a string.
    if lexed.comments.iter().any(|c| inside(c.span))
        || lexed.tokens.iter().any(|t| matches!(t.tok, Tok::Str(_)) && inside(t.span) && offset < t.span.end as usize)
    {
        return Completion { items: Vec::new(), start };
    }
    let mut tokens: Vec<&Token> =
        lexed.tokens.iter().filter(|t| t.tok != Tok::Eof && t.span.end as usize <= offset).collect();
    if let Some(last) = tokens.last() {
        if matches!(last.tok, Tok::Ident(_)) && last.span.end as usize == offset {
            start = last.span.start as usize;
            tokens.pop();
        }
    }
    let items = items(view, &tokens);
    Completion { items, start }
}

fn frames(view: &View, tokens: &[&Token]) -> Vec<Delim> {
    let mut stack: Vec<Delim> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let before = |n: usize| i.checked_sub(n).and_then(|j| tokens.get(j));
        match &token.tok {
            Tok::LBrace => {
                let frame = open_frame(view, tokens, i, &stack);
                if let (Some(Delim::Brace(parent)), Some(name)) = (stack.last_mut(), block_name(tokens, i)) {
                    parent.set.insert(name);
                }
                stack.push(Delim::Brace(frame));
            }
            Tok::RBrace => {
                while let Some(d) = stack.pop() {
                    if matches!(d, Delim::Brace(_)) {
                        break;
                    }
                }
            }
            Tok::LBracket => {
                let after = (ident(before(1)) == Some("after")).then(|| {
                    // `step NAME = …(…) after [`: the nearest `step` before.
                    (0..i)
                        .rev()
                        .find(|&j| ident(tokens.get(j)) == Some("step"))
                        .and_then(|j| ident(tokens.get(j + 1)))
                        .unwrap_or_default()
                        .to_string()
                });
                let field = if is(before(1), &Tok::Eq) { ident(before(2)).map(str::to_string) } else { None };
                stack.push(Delim::Bracket { after, field });
            }
            Tok::RBracket => {
                if matches!(stack.last(), Some(Delim::Bracket { .. })) {
                    stack.pop();
                }
            }
            Tok::LParen => stack.push(Delim::Paren),
            Tok::RParen => {
                if matches!(stack.last(), Some(Delim::Paren)) {
                    stack.pop();
                }
            }
            Tok::Eq => {
                if let (Some(Delim::Brace(frame)), Some(name)) = (stack.last_mut(), ident(before(1))) {
                    frame.set.insert(name.to_string());
                }
            }
            _ => {}
        }
    }
    stack
}

/// `name {` or `name : kind {`: the block's name.
fn block_name(tokens: &[&Token], brace: usize) -> Option<String> {
    let before = |n: usize| brace.checked_sub(n).and_then(|j| tokens.get(j));
    if is(before(2), &Tok::Colon) {
        return ident(before(3)).map(str::to_string);
    }
    ident(before(1)).map(str::to_string)
}

/// The frame a `{` opens, from the tokens before it.
fn open_frame(view: &View, tokens: &[&Token], brace: usize, stack: &[Delim]) -> Frame {
    let before = |n: usize| brace.checked_sub(n).and_then(|j| tokens.get(j));
    let parent = stack.iter().rev().find_map(|d| match d {
        Delim::Brace(f) => Some(f),
        _ => None,
    });
    let inherit = |owner: Owner| Frame {
        owner,
        pipeline: parent.and_then(|p| p.pipeline.clone()),
        alert: false,
        set: BTreeSet::new(),
    };
    let (name, kind, keyword_at) =
        if is(before(2), &Tok::Colon) { (ident(before(3)), ident(before(1)), 4) } else { (ident(before(1)), None, 2) };
    if let Some(name) = name {
        let Some(parent) = parent else {
            // A declaration: `keyword name (: kind)? {`.
            let Some(keyword) = ident(before(keyword_at)) else {
                return inherit(Owner::Unknown);
            };
            return Frame {
                owner: Owner::item(view.stdlib, keyword, kind),
                pipeline: (keyword == "pipeline").then(|| name.to_string()),
                alert: keyword == "alert",
                set: BTreeSet::new(),
            };
        };
        return inherit(parent.owner.child(view.stdlib, name, kind));
    }
    match before(1).map(|t| &t.tok) {
        // `… = callee(…) {`: a step's block or a call's block (`http("/health") { … }`).
        Some(Tok::RParen) => {
            let mut depth = 0usize;
            let mut j = brace.saturating_sub(1);
            loop {
                match tokens.get(j).map(|t| &t.tok) {
                    Some(Tok::RParen) => depth += 1,
                    Some(Tok::LParen) => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    None => break,
                    _ => {}
                }
                if j == 0 {
                    break;
                }
                j -= 1;
            }
            let mut k = j.saturating_sub(1);
            let mut callee = Vec::new();
            while let Some(Tok::Ident(n)) = tokens.get(k).map(|t| &t.tok) {
                callee.insert(0, n.clone());
                if k >= 2 && is(tokens.get(k - 1), &Tok::Dot) {
                    k -= 2;
                } else {
                    break;
                }
            }
            let step = k >= 3
                && is(tokens.get(k - 1), &Tok::Eq)
                && ident(tokens.get(k - 3)).is_some_and(|s| s == "step" || s == "on_failure");
            if step {
                inherit(Owner::Builtin(schema::Builtin::StepBody))
            } else {
                inherit(Owner::call_block(&callee.join(".")))
            }
        }
        // `step x = run(…) after [a, b] {`
        Some(Tok::RBracket) => inherit(Owner::Builtin(schema::Builtin::StepBody)),
        _ => inherit(Owner::Unknown),
    }
}

fn items(view: &View, tokens: &[&Token]) -> Vec<Item> {
    let stack = frames(view, tokens);
    let frame = stack.iter().rev().find_map(|d| match d {
        Delim::Brace(f) => Some(f),
        _ => None,
    });
    let n = tokens.len();
    let back = |k: usize| n.checked_sub(k).and_then(|j| tokens.get(j));
    let last = back(1).map(|t| &t.tok);

    match last {
        Some(Tok::Dot) => {
            return match ident(back(2)) {
                Some("secret") => secrets(view, false),
                Some(store) => urls(view, store),
                None => Vec::new(),
            };
        }
        Some(Tok::Colon) => {
            let class = match (frame, ident(back(2))) {
                (None, Some(_)) => ident(back(3)).and_then(schema::item_kind_class),
                (Some(f), Some(name)) => schema::block_kind_class(&f.owner, name),
                _ => None,
            };
            return class.map(|c| kinds(view, c)).unwrap_or_default();
        }
        _ => {}
    }
    match stack.last() {
        Some(Delim::Bracket { after: Some(step), .. }) => return steps(view, frame, Some(step)),
        Some(Delim::Bracket { after: None, field: Some(field) }) => {
            // A list field: its type names the items (`depends_on`, `notify`, `secrets`).
            let ty = frame.and_then(|f| f.owner.field(field)).and_then(|f| f.field_type);
            let ty = if ty == Some(FieldType::StringList) { Some(FieldType::String) } else { ty };
            return values(view, ty, Some(field));
        }
        Some(Delim::Bracket { .. } | Delim::Paren) => return values(view, None, None),
        _ => {}
    }
    match last {
        Some(Tok::Eq) => {
            let name = ident(back(2));
            return match ident(back(3)) {
                Some("step") => step_kinds(view, false),
                Some("on_failure") => step_kinds(view, true),
                _ => {
                    let owner = frame.map(|f| &f.owner);
                    let ty = match (owner, name) {
                        (Some(o), Some(n)) => o.field(n).and_then(|f| f.field_type),
                        _ => None,
                    };
                    let free = owner.is_some_and(|o| matches!(o, Owner::Free));
                    values(view, ty, if free { Some("env") } else { name })
                }
            };
        }
        Some(Tok::Ident(word)) if word == "on_failure" => return steps(view, frame, None),
        Some(Tok::Ident(word)) if frame.is_none() && crate::syntax::KEYWORDS.iter().any(|(k, _)| k == word) => {
            return Vec::new();
        }
        Some(Tok::Ident(word)) if ["step", "after", "for", "when"].contains(&word.as_str()) => return Vec::new(),
        Some(Tok::Gt | Tok::Lt) => return Vec::new(),
        _ => {}
    }
    let Some(frame) = frame else {
        // Top level: a declaration starts after a `}` or at the start of the file.
        return if matches!(last, None | Some(Tok::RBrace)) { keywords() } else { Vec::new() };
    };
    fields(frame)
}

fn keywords() -> Vec<Item> {
    crate::syntax::KEYWORDS
        .iter()
        .map(|(k, what)| Item {
            label: (*k).to_string(),
            kind: ItemKind::Keyword,
            detail: format!("declares {what}"),
            doc: String::new(),
            insert: Some(format!("{k} ")),
        })
        .collect()
}

fn kinds(view: &View, class: KindClass) -> Vec<Item> {
    view.stdlib
        .kinds_of(class)
        .map(|k| Item {
            label: k.name.clone(),
            kind: ItemKind::Kind,
            detail: format!("{} kind", class.describe()),
            doc: super::hover::kind(k),
            insert: None,
        })
        .collect()
}

fn fields(frame: &Frame) -> Vec<Item> {
    let mut out: Vec<Item> = frame
        .owner
        .fields()
        .into_iter()
        .filter(|f| !frame.set.contains(&f.name))
        .map(|f| {
            let required = if f.required { " (required)" } else { "" };
            let default = f.default.as_ref().map(|d| format!("\n\ndefault: `{d}`")).unwrap_or_default();
            let insert = match f.shape {
                Shape::Value => format!("{} = ", f.name),
                Shape::Block => format!("{} {{ }}", f.name),
                Shape::KindBlock => format!("{} : ", f.name),
            };
            Item {
                detail: format!("{}{required}", f.ty),
                doc: format!("{}{default}", f.doc),
                label: f.name,
                kind: ItemKind::Field,
                insert: Some(insert),
            }
        })
        .collect();
    let extra: &[(&str, &str)] =
        if frame.pipeline.is_some() && matches!(frame.owner, Owner::Builtin(schema::Builtin::Pipeline)) {
            &[("step", "step <name> = <kind>(<service>, …)"), ("on_failure", "on_failure <step> = rollback(<service>)")]
        } else if frame.alert {
            &[("when", "when <signal> > <threshold> for <duration>")]
        } else {
            &[]
        };
    for (keyword, detail) in extra {
        out.push(Item {
            label: (*keyword).to_string(),
            kind: ItemKind::Keyword,
            detail: (*detail).to_string(),
            doc: String::new(),
            insert: Some(format!("{keyword} ")),
        });
    }
    out
}

/// The steps of the enclosing pipeline, but `except` (a step does not wait for itself).
fn steps(view: &View, frame: Option<&Frame>, except: Option<&str>) -> Vec<Item> {
    let Some(pipeline) = frame.and_then(|f| f.pipeline.as_deref()) else { return Vec::new() };
    view.index
        .declared()
        .filter_map(|(symbol, _)| match symbol {
            Symbol::Step(p, name) if p == pipeline && Some(name.as_str()) != except => Some(Item {
                label: name.clone(),
                kind: ItemKind::Step,
                detail: format!("step of `{pipeline}`"),
                doc: String::new(),
                insert: None,
            }),
            _ => None,
        })
        .collect()
}

fn step_kinds(view: &View, rollback_only: bool) -> Vec<Item> {
    view.stdlib
        .kinds_of(KindClass::Step)
        .filter(|k| !rollback_only || k.step.as_ref().is_some_and(|s| s.role == StepRole::Rollback))
        .map(|k| Item {
            label: k.name.clone(),
            kind: ItemKind::StepKind,
            detail: schema::step_signature(k),
            doc: k.doc.clone(),
            insert: None,
        })
        .collect()
}

fn secrets(view: &View, qualified: bool) -> Vec<Item> {
    view.index
        .declared()
        .filter_map(|(symbol, _)| match symbol {
            Symbol::Secret(name) => Some(Item {
                label: if qualified { format!("secret.{name}") } else { name.clone() },
                kind: ItemKind::Secret,
                detail: "secret".to_string(),
                doc: view
                    .model
                    .and_then(|m| m.secrets.get(name))
                    .map(|s| format!("Secret Manager `{}`, version `{}`", s.secret_id, s.version))
                    .unwrap_or_default(),
                insert: None,
            }),
            _ => None,
        })
        .collect()
}

fn urls(view: &View, store: &str) -> Vec<Item> {
    let Some(kind) = view.index.decl(&Symbol::Entity(store.to_string())).and_then(|d| d.kind.as_ref()) else {
        return Vec::new();
    };
    let Some(def) = view.stdlib.kind(kind).and_then(|k| k.store.as_ref()) else { return Vec::new() };
    def.urls
        .iter()
        .map(|(name, url)| Item {
            label: name.clone(),
            kind: ItemKind::Url,
            detail: format!("`{kind}` connection URL"),
            doc: url.doc.clone(),
            insert: None,
        })
        .collect()
}

/// References in scope for a value: the field's type narrows them when it is known.
fn values(view: &View, ty: Option<FieldType>, field: Option<&str>) -> Vec<Item> {
    if ty == Some(FieldType::Secret) || field == Some("secrets") {
        return secrets(view, true);
    }
    let wanted: &[&str] = match (ty, field) {
        (Some(FieldType::Service), _) => &["service"],
        (_, Some("notify")) => &["channel"],
        (_, Some("on" | "depends_on")) => &["service", "database", "cache", "store"],
        (_, Some("env")) => &["database", "cache", "store"],
        (Some(_), _) => return Vec::new(),
        (None, _) => &["service", "database", "cache", "store", "channel"],
    };
    let mut out: Vec<Item> = view
        .index
        .declared()
        .filter_map(|(symbol, decl)| match symbol {
            Symbol::Entity(name) if wanted.contains(&decl.keyword.as_str()) => Some(Item {
                label: name.clone(),
                kind: ItemKind::Reference,
                detail: match &decl.kind {
                    Some(k) => format!("{} : {k}", decl.keyword),
                    None => decl.keyword.clone(),
                },
                doc: String::new(),
                insert: None,
            }),
            _ => None,
        })
        .collect();
    if matches!(field, None | Some("env")) {
        out.extend(secrets(view, true));
    }
    out
}
