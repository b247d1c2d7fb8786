//! Edits: code actions from the checker's help lines, and rename.

use crate::diagnostics::{codes, Diagnostic};
use crate::source::{FileId, Span};
use crate::stdlib::FieldType;
use crate::syntax::ast::{Block, Item, Member};

use super::index::Symbol;
use super::schema::Owner;
use super::workspace::View;

/// One edit: replace `span` (possibly empty) with `text`.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

pub struct Action<'d> {
    pub title: String,
    pub edits: Vec<Edit>,
    /// The diagnostic it fixes.
    pub diagnostic: &'d Diagnostic,
}

/// `did you mean `x`?` in a help line.
fn suggestion(help: &str) -> Option<&str> {
    let rest = help.split("did you mean `").nth(1)?;
    rest.split('`').next().filter(|s| !s.is_empty())
}

/// Fixes for the diagnostics whose primary span touches `start..=end` in `file`.
pub fn code_actions<'v>(view: &View<'v>, file: FileId, start: usize, end: usize) -> Vec<Action<'v>> {
    let mut out = Vec::new();
    for d in &view.compiled.diagnostics {
        let Some(primary) = &d.primary else { continue };
        let span = primary.span;
        if span.file != file || (span.end as usize) < start || (span.start as usize) > end {
            continue;
        }
        let Some(help) = &d.help else { continue };
        let written = view.compiled.sources.snippet(span);
        if let Some(replacement) = suggestion(help) {
            let plain =
                !written.is_empty() && !written.contains(|c: char| c.is_whitespace() || "{}[]()=\"".contains(c));
            if plain && written != replacement {
                out.push(Action {
                    title: format!("Replace `{written}` with `{replacement}`"),
                    edits: vec![Edit { span, text: replacement.to_string() }],
                    diagnostic: d,
                });
            }
        }
        if d.code.code == codes::MISSING_FIELD.code {
            if let Some(action) = missing_field(view, d, span, help) {
                out.push(action);
            }
        }
    }
    out
}

/// `add `name = …`` in a help line: the member to insert, with placeholders filled in.
fn missing_field<'v>(view: &View<'v>, d: &'v Diagnostic, span: Span, help: &str) -> Option<Action<'v>> {
    let member = help.strip_prefix("add `")?.split('`').next()?;
    let tree = view.index.tree(span.file)?;
    let (block, owner, owner_name) = tree.items.iter().find_map(|item| find_block(view, item, span))?;
    let member = fill_placeholders(view, member, &owner, &owner_name)?;
    let text = view.text(span.file);
    let open = block.span.start as usize;
    let block_text = text.get(open..block.span.end as usize)?;
    let insert = if block_text.contains('\n') {
        // One member per line: the new one first, indented like the others.
        let indent = block
            .members
            .first()
            .map(|m| line_indent(text, m.span().start as usize))
            .unwrap_or_else(|| format!("{}  ", line_indent(text, open)));
        format!("\n{indent}{member}")
    } else {
        format!(" {member} ")
    };
    let at = Span { file: span.file, start: block.span.start + 1, end: block.span.start + 1 };
    Some(Action { title: format!("Add `{member}`"), edits: vec![Edit { span: at, text: insert }], diagnostic: d })
}

fn line_indent(text: &str, offset: usize) -> String {
    let line_start = text.get(..offset).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
    text.get(line_start..offset).unwrap_or("").chars().take_while(|c| *c == ' ' || *c == '\t').collect()
}

/// The block whose name is at `span` (a declaration or a nested block), with its owner.
fn find_block<'a>(view: &View, item: &'a Item, span: Span) -> Option<(&'a Block, Owner, String)> {
    let owner = Owner::item(view.stdlib, &item.keyword.name, item.kind.as_ref().map(|k| k.name.as_str()));
    if item.name.span == span {
        return Some((&item.body, owner, item.name.name.to_string()));
    }
    if !(item.span.start <= span.start && span.end <= item.span.end) {
        return None;
    }
    nested(view, &item.body, &owner, span, &item.name.name)
}

fn nested<'a>(
    view: &View,
    block: &'a Block,
    owner: &Owner,
    span: Span,
    item: &str,
) -> Option<(&'a Block, Owner, String)> {
    for member in &block.members {
        if let Member::Block(b) = member {
            let child = owner.child(view.stdlib, &b.name.name, b.kind.as_ref().map(|k| k.name.as_str()));
            if b.name.span == span {
                return Some((&b.body, child, item.to_string()));
            }
            if let Some(found) = nested(view, &b.body, &child, span, item) {
                return Some(found);
            }
        }
    }
    None
}

/// Replaces `…` and `<name>` in a suggested member with a value of the field's type.
fn fill_placeholders(view: &View, member: &str, owner: &Owner, item: &str) -> Option<String> {
    if !member.contains('…') && !member.contains('<') {
        return Some(member.to_string());
    }
    let field = member.split('=').next()?.trim();
    let ty = owner.field(field).and_then(|f| f.field_type);
    let secret = || {
        let names: Vec<&str> = view
            .index
            .declared()
            .filter_map(|(s, _)| match s {
                Symbol::Secret(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        let best = names
            .iter()
            .find(|n| n.contains(item) || n.contains(field))
            .or(names.first())
            .map_or_else(|| format!("{item}_{field}"), |n| (*n).to_string());
        format!("secret.{best}")
    };
    let value = match ty {
        Some(FieldType::Secret) => secret(),
        Some(FieldType::Int) => "0".to_string(),
        Some(FieldType::Number) => "1".to_string(),
        Some(FieldType::Bool) => "false".to_string(),
        Some(FieldType::Duration) => "30s".to_string(),
        Some(FieldType::Size) => "512Mi".to_string(),
        Some(FieldType::Percent) => "50%".to_string(),
        Some(FieldType::StringList) => "[]".to_string(),
        Some(FieldType::Service) => view
            .index
            .declared()
            .find_map(|(s, d)| match s {
                Symbol::Entity(n) if d.keyword == "service" => Some(n.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "\"\"".to_string()),
        _ if member.contains("secret.<") => secret(),
        _ => "\"\"".to_string(),
    };
    Some(format!("{field} = {value}"))
}

/// Why a new name cannot be used, if it cannot.
pub fn rename_error(view: &View, symbol: &Symbol, new_name: &str) -> Option<String> {
    let valid = new_name.len() <= 49
        && new_name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && new_name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !new_name.ends_with('-');
    if !valid {
        return Some(format!(
            "`{new_name}` is not a valid name: names start with a lowercase letter and hold at most 49 lowercase letters, digits, `_` and `-`"
        ));
    }
    let taken = match symbol {
        Symbol::Entity(_) => Symbol::Entity(new_name.to_string()),
        Symbol::Secret(_) => Symbol::Secret(new_name.to_string()),
        Symbol::Step(p, _) => Symbol::Step(p.clone(), new_name.to_string()),
        Symbol::Project => return None,
        Symbol::Network(_) | Symbol::Volume(_) => {
            return Some(
                "services name networks and volumes in strings (`networks = [\"…\"]`): rename those by hand"
                    .to_string(),
            );
        }
    };
    (taken != *symbol && view.index.decls.contains_key(&taken)).then(|| format!("`{new_name}` is already declared"))
}

/// Every place that names the symbol, rewritten.
pub fn rename(view: &View, symbol: &Symbol, new_name: &str) -> Vec<Edit> {
    view.index.spans_of(symbol, true).into_iter().map(|span| Edit { span, text: new_name.to_string() }).collect()
}
