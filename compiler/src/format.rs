//! The formatter: one canonical layout for `.sight` files. Also prints single expressions
//! for diagnostics and documentation.

use crate::syntax::ast::{Expr, ExprKind};

/// An expression in canonical source form: `5s`, `1%`, `"text"`, `postgres.url(driver = "x")`.
pub fn expr_text(expr: &Expr) -> String {
    expr_source(expr, None)
}

/// Like [`expr_text`], but numbers, durations, sizes and percentages are copied from `source`
/// as written (`3.10` stays `3.10`, `90s` stays `90s`).
fn expr_source(expr: &Expr, source: Option<&str>) -> String {
    let written = || source.and_then(|s| s.get(expr.span.start as usize..expr.span.end as usize)).map(str::to_string);
    match &expr.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_) | ExprKind::Size(_) | ExprKind::Percent(_)
            if written().is_some() =>
        {
            written().unwrap_or_default()
        }
        _ => expr_canonical(expr, source),
    }
}

fn expr_canonical(expr: &Expr, source: Option<&str>) -> String {
    let expr_text = |e: &Expr| expr_source(e, source);
    match &expr.kind {
        ExprKind::Str(s) => quote(s),
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Float(f) => {
            let s = f.to_string();
            if s.contains('.') {
                s
            } else {
                format!("{s}.0")
            }
        }
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Duration(ms) => crate::units::duration_single(*ms),
        ExprKind::Size(b) => crate::units::size_compact(*b),
        ExprKind::Percent(p) => format!("{}%", crate::units::number(*p)),
        ExprKind::List(items) => format!("[{}]", items.iter().map(expr_text).collect::<Vec<_>>().join(", ")),
        ExprKind::Path(p) => p.dotted(),
        ExprKind::Call(c) => {
            let args: Vec<String> = c
                .args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{} = {}", n.name, expr_text(&a.value)),
                    None => expr_text(&a.value),
                })
                .collect();
            format!("{}({})", c.callee.dotted(), args.join(", "))
        }
        ExprKind::Error => "<error>".to_string(),
    }
}

/// A string literal with the language's escapes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

use crate::syntax::ast::{Block, Comment, File, Member};

const INDENT: &str = "  ";
const MAX_LINE: usize = 120;

/// Formats a file in the canonical layout. Comments are kept (own-line comments before the
/// node that follows them, trailing comments after the line they ended); one blank line is
/// kept where the source had one or more. Returns `None` when the file has syntax errors:
/// the formatter never rewrites what it could not read.
pub fn format_source(text: &str) -> Option<String> {
    let (file, diagnostics) = crate::syntax::parse(crate::source::FileId(0), text);
    if diagnostics.iter().any(|d| d.is_error()) {
        return None;
    }
    Some(format_file(&file, text))
}

pub fn format_file(file: &File, text: &str) -> String {
    let mut p = Printer { text, comments: &file.comments, next: 0, out: String::new() };
    let mut previous_multiline = false;
    for (i, item) in file.items.iter().enumerate() {
        // Multi-line declarations stand apart; one-liners stay grouped as written. Whether a
        // declaration is multi-line is decided on the printed text: a one-line declaration
        // that no longer fits is printed on several lines, and must stand apart already in
        // this pass, or formatting again would move it (formatting is idempotent).
        let has_comment = p.comments.get(p.next).is_some_and(|c| c.span.start < item.span.start);
        let start = p.out.len();
        p.leading(item.span.start, 0);
        let item_start = p.out.len();
        let kind = item.kind.as_ref().map(|k| format!(" : {}", k.name)).unwrap_or_default();
        let head = format!("{} {}{kind} ", item.keyword.name, item.name.name);
        p.out.push_str(&head);
        p.block(&item.body, 0, head.len());
        p.trailing(item.span.end);
        let multiline = p.out.get(item_start..).is_some_and(|printed| printed.contains('\n'));
        if i > 0 && !has_comment && (previous_multiline || multiline || p.blank_line_before(item.span.start)) {
            p.out.insert(start, '\n');
        }
        previous_multiline = multiline;
        p.out.push('\n');
    }
    p.leading(u32::MAX, 0);
    let mut out = p.out.trim_start_matches('\n').to_string();
    if out.is_empty() {
        return out;
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    next: usize,
    out: String,
}

impl Printer<'_> {
    fn src(&self, expr: &Expr) -> String {
        expr_source(expr, Some(self.text))
    }

    /// Own-line comments that start before `pos`, each on its own line at `depth`.
    fn leading(&mut self, pos: u32, depth: usize) {
        let mut flushed = false;
        while let Some(c) = self.comments.get(self.next).filter(|c| c.span.start < pos) {
            flushed = true;
            if self.blank_line_before(c.span.start)
                && !self.out.is_empty()
                && !self.out.ends_with("\n\n")
                && !self.out.ends_with("{\n")
            {
                self.out.push('\n');
            }
            self.out.push_str(&INDENT.repeat(depth));
            self.out.push('#');
            self.out.push_str(c.text.trim_end());
            self.out.push('\n');
            self.next += 1;
        }
        // A blank line between the comments and what follows them is kept.
        if flushed && pos != u32::MAX && self.blank_line_before(pos) {
            self.out.push('\n');
        }
    }

    /// A comment on the same source line as `end` goes after the printed line.
    fn trailing(&mut self, end: u32) {
        let line_end =
            self.text.get(end as usize..).and_then(|r| r.find('\n')).map_or(self.text.len(), |i| end as usize + i);
        if let Some(c) =
            self.comments.get(self.next).filter(|c| (c.span.start as usize) < line_end && c.span.start >= end)
        {
            self.out.push_str(" #");
            self.out.push_str(c.text.trim_end());
            self.next += 1;
        }
    }

    fn blank_line_before(&self, pos: u32) -> bool {
        let before = self.text.get(..pos as usize).unwrap_or("");
        let trimmed = before.trim_end_matches([' ', '\t', '\r']);
        trimmed.ends_with('\n')
            && trimmed
                .get(..trimmed.len().saturating_sub(1))
                .unwrap_or("")
                .trim_end_matches([' ', '\t', '\r'])
                .ends_with('\n')
    }

    fn has_comments_within(&self, block: &Block) -> bool {
        self.comments.iter().any(|c| c.span.start > block.span.start && c.span.start < block.span.end)
    }

    /// One line when the source had it on one line, it holds only fields and calls, and it
    /// fits; otherwise one member per line.
    fn block(&mut self, block: &Block, depth: usize, column: usize) {
        if block.members.is_empty() && !self.has_comments_within(block) {
            self.out.push_str("{ }");
            return;
        }
        let source = self.text.get(block.span.start as usize..block.span.end as usize).unwrap_or("");
        if !source.contains('\n') && !self.has_comments_within(block) {
            let parts: Option<Vec<String>> = block.members.iter().map(|m| self.inline_member(m)).collect();
            if let Some(parts) = parts {
                let line = format!("{{ {} }}", parts.join("  "));
                if column + line.len() <= MAX_LINE {
                    self.out.push_str(&line);
                    return;
                }
            }
        }
        self.out.push_str("{\n");
        for (i, member) in block.members.iter().enumerate() {
            if i > 0 && self.blank_line_before(member.span().start) {
                self.out.push('\n');
            }
            self.leading(member.span().start, depth + 1);
            self.out.push_str(&INDENT.repeat(depth + 1));
            self.member(member, depth + 1);
            self.trailing(member.span().end);
            self.out.push('\n');
        }
        self.leading(block.span.end, depth + 1);
        self.out.push_str(&INDENT.repeat(depth));
        self.out.push('}');
    }

    fn inline_member(&self, member: &Member) -> Option<String> {
        match member {
            Member::Field(f) => {
                let value = match &f.value.kind {
                    ExprKind::Call(c) if c.block.is_some() => return None,
                    _ => self.src(&f.value),
                };
                Some(format!("{} = {value}", key(&f.name.name)))
            }
            Member::When(w) => Some(when_text(w, self.text)),
            Member::Block(b) => {
                let kind = b.kind.as_ref().map(|k| format!(" : {}", k.name)).unwrap_or_default();
                let parts: Option<Vec<String>> = b.body.members.iter().map(|m| self.inline_member(m)).collect();
                let parts = parts?;
                let body = if parts.is_empty() { "{ }".to_string() } else { format!("{{ {} }}", parts.join("  ")) };
                Some(format!("{}{kind} {body}", b.name.name))
            }
            _ => None,
        }
    }

    fn member(&mut self, member: &Member, depth: usize) {
        match member {
            Member::Field(f) => {
                let head = format!("{} = ", key(&f.name.name));
                self.out.push_str(&head);
                self.expr_with_block(&f.value, depth, depth * 2 + head.len());
            }
            Member::Block(b) => {
                let kind = b.kind.as_ref().map(|k| format!(" : {}", k.name)).unwrap_or_default();
                let head = format!("{}{kind} ", b.name.name);
                self.out.push_str(&head);
                self.block(&b.body, depth, depth * 2 + head.len());
            }
            Member::Step(s) => {
                let after = if s.after.is_empty() {
                    String::new()
                } else {
                    format!(" after [{}]", s.after.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "))
                };
                let head = format!("step {} = {}{after}", s.name.name, self.src(&s.action));
                self.out.push_str(&head);
                if let Some(body) = &s.body {
                    self.out.push(' ');
                    self.block(body, depth, depth * 2 + head.len() + 1);
                }
            }
            Member::OnFailure(o) => self.out.push_str(&format!("on_failure {} = {}", o.step.name, self.src(&o.action))),
            Member::When(w) => self.out.push_str(&when_text(w, self.text)),
        }
    }

    fn expr_with_block(&mut self, expr: &Expr, depth: usize, column: usize) {
        match &expr.kind {
            ExprKind::Call(c) if c.block.is_some() => {
                let head = self.src(expr);
                self.out.push_str(&head);
                self.out.push(' ');
                if let Some(b) = &c.block {
                    self.block(b, depth, column + head.len() + 1);
                }
            }
            _ => self.out.push_str(&self.src(expr)),
        }
    }
}

fn when_text(w: &crate::syntax::ast::When, source: &str) -> String {
    let duration = w.duration.as_ref().map(|d| format!(" for {}", expr_source(d, Some(source)))).unwrap_or_default();
    format!("when {} {} {}{duration}", w.signal.dotted(), w.op.as_str(), expr_source(&w.threshold, Some(source)))
}

/// A field name, quoted when it is not a plain name (`"server.memory.heap.max_size"`).
fn key(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        name.to_string()
    } else {
        quote(name)
    }
}

/// The syntax tree of `text` without its spans: what formatting must keep. The formatter's
/// tests, the property tests and the fuzz oracles compare it before and after formatting.
pub fn tree_shape(text: &str) -> String {
    let (file, _) = crate::syntax::parse(crate::source::FileId(0), text);
    let debug = format!("{:?}", file.items);
    let mut out = String::new();
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i..).unwrap_or("");
        rest = after.get(after.find('}').map_or(after.len(), |e| e + 1)..).unwrap_or("");
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> String {
        let (_, diags) = crate::syntax::parse(crate::source::FileId(0), text);
        assert!(diags.is_empty(), "{diags:?}");
        tree_shape(text)
    }

    #[track_caller]
    fn check(src: &str, expected: &str) {
        let once = format_source(src).unwrap_or_else(|| panic!("syntax errors"));
        assert_eq!(once, expected);
        assert_eq!(format_source(&once).as_deref(), Some(once.as_str()), "not idempotent");
        assert_eq!(shape(src), shape(&once), "the tree changed");
    }

    #[test]
    fn canonical_layout_keeps_comments() {
        check(
            "# head\nservice   api{port=8000 # the port\n\n\n  env {A=\"1\"}\n# before image\nimage=\"x:1\"}\nsecret s { from = secret_manager(\"s\", version = 1) }",
            "# head\nservice api {\n  port = 8000 # the port\n\n  env { A = \"1\" }\n  # before image\n  image = \"x:1\"\n}\n\nsecret s { from = secret_manager(\"s\", version = 1) }\n",
        );
    }

    #[test]
    fn steps_alerts_and_quoted_keys() {
        check(
            "pipeline p {\n step a = run(api,\"x\")\n step b = push(api) after [a]{timeout=10m}\n on_failure b = rollback(api)\n}\nalert x { on = api when error_rate > 1% for 5m notify = o }\ndatabase n : neo4j { settings { \"a.b\" = \"1\" } }\n",
            "pipeline p {\n  step a = run(api, \"x\")\n  step b = push(api) after [a] { timeout = 10m }\n  on_failure b = rollback(api)\n}\n\nalert x { on = api  when error_rate > 1% for 5m  notify = o }\ndatabase n : neo4j { settings { \"a.b\" = \"1\" } }\n",
        );
    }

    #[test]
    fn syntax_errors_are_not_formatted() {
        assert_eq!(format_source("service {"), None);
        assert_eq!(format_source("").as_deref(), Some(""));
    }
}
