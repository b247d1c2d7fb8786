//! The formatter: one canonical layout for `.sight` files. Also prints single expressions
//! for diagnostics and documentation.

use crate::syntax::ast::{Expr, ExprKind};

/// An expression in canonical source form: `5s`, `1%`, `"text"`, `postgres.url(driver = "x")`.
pub fn expr_text(expr: &Expr) -> String {
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
        ExprKind::Duration(ms) => crate::units::duration_compact(*ms),
        ExprKind::Size(b) => crate::units::size_compact(*b),
        ExprKind::Percent(p) => format!("{}%", crate::units::number(*p)),
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(expr_text).collect::<Vec<_>>().join(", ")
        ),
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
