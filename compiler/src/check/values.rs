//! Values against types: turns an expression into a typed [`Value`] for a [`FieldType`], and
//! checks a block of fields against a kind's field declarations.

use std::collections::BTreeMap;

use crate::check::Checker;
use crate::diagnostics::{codes, unknown_name_help, Diagnostic};
use crate::model::Value;
use crate::source::Span;
use crate::stdlib::{FieldDef, FieldType};
use crate::syntax::ast::{Block, Expr, ExprKind, Member};

/// How a literal is named in type errors.
pub fn describe_expr(expr: &Expr) -> &'static str {
    match &expr.kind {
        ExprKind::Str(_) => "a string",
        ExprKind::Int(_) => "an integer",
        ExprKind::Float(_) => "a decimal number",
        ExprKind::Bool(_) => "a boolean",
        ExprKind::Duration(_) => "a duration",
        ExprKind::Size(_) => "a size",
        ExprKind::Percent(_) => "a percentage",
        ExprKind::List(items) if items.is_empty() => "an empty list",
        ExprKind::List(_) => "a list",
        ExprKind::Path(_) => "a reference",
        ExprKind::Call(_) => "a call",
        ExprKind::Error => "a malformed value",
    }
}

impl Checker<'_> {
    /// S0110: `owner` ("a network", "`limits`") has no field `name`; the help names the
    /// closest of `known`.
    pub fn unknown_field<'k>(&mut self, owner: &str, name: &str, span: Span, known: impl IntoIterator<Item = &'k str>) {
        self.report(
            Diagnostic::new(&codes::UNKNOWN_FIELD, format!("{owner} has no field `{name}`"))
                .at(span, "unknown field")
                .with_help(unknown_name_help(name, known)),
        );
    }

    pub fn type_error(&mut self, expr: &Expr, expected: &str, field: &str) {
        if matches!(expr.kind, ExprKind::Error) {
            return;
        }
        let found = describe_expr(expr);
        let help = match (&expr.kind, expected) {
            (ExprKind::Float(f), e) if e.contains("version") => {
                format!("quote the version exactly as written: as a number it reads `{f}`, trailing zeros lost")
            }
            (ExprKind::Str(s), e) if e.contains("integer") && s.parse::<i64>().is_ok() => {
                format!("remove the quotes: `{s}`")
            }
            (ExprKind::Int(n), e) if e.contains("duration") => format!("add a unit: `{n}s`"),
            (ExprKind::Int(n), e) if e.contains("size") => format!("add a unit: `{n}Mi`"),
            (ExprKind::Int(n), e) if e.contains("percentage") => format!("add a unit: `{n}%`"),
            (ExprKind::List(items), e) if items.is_empty() && e.starts_with("a non-empty") => {
                format!("leave `{field}` out for the default, or give it {expected}")
            }
            _ => format!("`{field}` takes {expected}"),
        };
        self.report(
            Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{field}` expects {expected}, found {found}"))
                .at(expr.span, format!("{found}, not {expected}"))
                .with_help(help),
        );
    }

    /// Converts `expr` to a value of type `ty`, reporting a diagnostic (and returning `None`)
    /// when it does not fit.
    pub fn value(&mut self, expr: &Expr, ty: FieldType, field: &str) -> Option<Value> {
        let value = match (&expr.kind, ty) {
            (ExprKind::Error, _) => return None,
            (ExprKind::Str(s), FieldType::String | FieldType::Version) => Value::Str(s.as_str().to_owned()),
            (ExprKind::Int(n), FieldType::Version) => Value::Str(n.to_string()),
            (ExprKind::Int(n), FieldType::Int) => Value::Int(*n),
            (ExprKind::Int(n), FieldType::Number) => Value::Float(*n as f64),
            (ExprKind::Float(f), FieldType::Number) => Value::Float(*f),
            (ExprKind::Bool(b), FieldType::Bool) => Value::Bool(*b),
            (ExprKind::Duration(ms), FieldType::Duration) => Value::DurationMs(*ms),
            (ExprKind::Size(b), FieldType::Size) => Value::Bytes(*b),
            (ExprKind::Percent(p), FieldType::Percent) => {
                if !(0.0..=100.0).contains(p) {
                    self.report(
                        Diagnostic::new(&codes::VALUE_OUT_OF_RANGE, format!("`{field}` is {p}%, outside 0% to 100%"))
                            .at(expr.span, "out of range")
                            .with_help("a percentage lies between `0%` and `100%`"),
                    );
                    return None;
                }
                Value::Fraction(p / 100.0)
            }
            (ExprKind::Str(s), FieldType::Secret) => {
                let shown: String =
                    if s.len() > 3 { format!("{}…", s.chars().take(3).collect::<String>()) } else { s.to_string() };
                self.report(
                    Diagnostic::new(&codes::PLAINTEXT_SECRET, format!("`{field}` is a secret, but is given a plain string"))
                        .at(expr.span, format!("plain text `\"{shown}\"` would be written into generated files"))
                        .with_help(format!("keep the value in Secret Manager: declare `secret {field} {{ from = secret_manager(\"{}\", version = 1) }}` and write `{field} = secret.{field}`", field.replace('_', "-"))),
                );
                return None;
            }
            (ExprKind::Path(path), FieldType::Secret) => return self.secret_ref(path, field),
            (ExprKind::Path(path), FieldType::Service) if path.segments.len() == 1 => {
                let name = &path.segments.first()?.name;
                if self.decls.services.contains_key(name.as_str()) {
                    Value::Service(name.as_str().to_owned())
                } else {
                    let candidates = self.decls.services.keys().map(|k| k.to_string()).collect();
                    self.unknown_reference(path.span, name, "service", candidates);
                    return None;
                }
            }
            (ExprKind::List(items), FieldType::StringList) => {
                let mut out = Vec::new();
                for item in items {
                    match &item.kind {
                        ExprKind::Str(s) => out.push(Value::Str(s.as_str().to_owned())),
                        _ => {
                            self.type_error(item, "a string", &format!("{field}[]"));
                            return None;
                        }
                    }
                }
                Value::List(out)
            }
            _ => {
                self.type_error(expr, ty.describe(), field);
                return None;
            }
        };
        Some(value)
    }

    /// `secret.name` → the secret's name, if declared.
    pub fn secret_ref(&mut self, path: &crate::syntax::ast::Path, field: &str) -> Option<Value> {
        match path.segments.as_slice() {
            [ns, name] if ns.name == "secret" => {
                if self.decls.secrets.contains_key(name.name.as_str()) {
                    self.used_secrets.insert(name.name.as_str().to_owned());
                    Some(Value::Secret(name.name.as_str().to_owned()))
                } else {
                    let names = self.decls.secrets.keys().map(|k| k.to_string()).collect();
                    self.unknown_reference(name.span, &name.name, "secret", names);
                    None
                }
            }
            _ => {
                self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{field}` expects a secret reference"))
                        .at(path.span, "not a secret")
                        .with_help("refer to a declared secret as `secret.<name>`"),
                );
                None
            }
        }
    }

    pub fn unknown_reference(&mut self, span: Span, name: &str, what: &str, candidates: Vec<String>) {
        let help = unknown_name_help(name, candidates.iter().map(String::as_str));
        self.report(
            Diagnostic::new(&codes::UNKNOWN_REFERENCE, format!("no {what} named `{name}`"))
                .at(span, format!("unknown {what}"))
                .with_help(help),
        );
    }

    /// Checks the fields of a kind block: unknown, duplicate, missing and mistyped fields;
    /// applies defaults. Nested blocks are accepted only for `string_map` fields.
    pub fn fields(
        &mut self,
        block: &Block,
        defs: &BTreeMap<String, FieldDef>,
        owner: &str,
        owner_span: Span,
    ) -> BTreeMap<String, Value> {
        let mut values = BTreeMap::new();
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for member in &block.members {
            let (name, span) = match member {
                Member::Field(f) => (&f.name, f.name.span),
                Member::Block(b) => (&b.name, b.name.span),
                other => {
                    self.report(
                        Diagnostic::new(&codes::SYNTAX_ERROR, format!("{owner} takes only fields"))
                            .at(other.span(), "not allowed here")
                            .with_help("steps, `on_failure` and `when` belong in pipelines and alerts"),
                    );
                    continue;
                }
            };
            if let Some(first) = seen.get(name.name.as_str()) {
                let first = *first;
                self.report(
                    Diagnostic::new(&codes::DUPLICATE_FIELD, format!("`{}` is set twice", name.name))
                        .at(span, "set again here")
                        .with_label(first, "first set here")
                        .with_help("remove one of them"),
                );
                continue;
            }
            seen.insert(name.name.as_str().to_owned(), span);
            let Some(def) = defs.get(name.name.as_str()) else {
                self.unknown_field(owner, &name.name, span, defs.keys().map(String::as_str));
                continue;
            };
            let value = match member {
                Member::Field(f) => self.value(&f.value, def.ty, &name.name),
                Member::Block(b) if def.ty == FieldType::StringMap => self.string_map(&b.body, &name.name),
                Member::Block(b) => {
                    self.report(
                        Diagnostic::new(
                            &codes::TYPE_MISMATCH,
                            format!("`{}` expects {}, found a block", name.name, def.ty.describe()),
                        )
                        .at(b.name.span, "a block")
                        .with_help(format!("write `{} = <value>`", name.name)),
                    );
                    None
                }
                _ => None,
            };
            if let Some(value) = value {
                self.range(&value, def, &name.name, member.span());
                values.insert(name.name.as_str().to_owned(), value);
            }
        }
        for (name, def) in defs {
            if values.contains_key(name) || seen.contains_key(name) {
                continue;
            }
            if def.required {
                self.report(
                    Diagnostic::new(&codes::MISSING_FIELD, format!("{owner} is missing the required field `{name}`"))
                        .at(owner_span, format!("needs `{name}`"))
                        .with_help(if def.ty == FieldType::Secret {
                            format!("add `{name} = secret.<name>`: {}", def.doc)
                        } else {
                            format!("add `{name} = …`: {}", def.doc)
                        }),
                );
            } else if let Some(default) = &def.default {
                if let Some(v) = default_value(default, def.ty) {
                    values.insert(name.clone(), v);
                }
            }
        }
        values
    }

    /// A block of `NAME = "value"` pairs.
    pub fn string_map(&mut self, block: &Block, field: &str) -> Option<Value> {
        let mut map = BTreeMap::new();
        for member in &block.members {
            if let Member::Field(f) = member {
                if map.contains_key(f.name.name.as_str()) {
                    let first = block.members.iter().find_map(|m| match m {
                        Member::Field(g) if g.name.name == f.name.name => Some(g.name.span),
                        _ => None,
                    });
                    let mut d = Diagnostic::new(&codes::DUPLICATE_FIELD, format!("`{}` is set twice", f.name.name))
                        .at(f.name.span, "set again here")
                        .with_help("remove one of them");
                    if let Some(first) = first {
                        d = d.with_label(first, "first set here");
                    }
                    self.report(d);
                    continue;
                }
            }
            match member {
                Member::Field(f) => match &f.value.kind {
                    ExprKind::Str(s) => {
                        map.insert(f.name.name.as_str().to_owned(), s.as_str().to_owned());
                    }
                    ExprKind::Int(n) => {
                        map.insert(f.name.name.as_str().to_owned(), n.to_string());
                    }
                    _ => self.type_error(&f.value, "a string", &format!("{field}.{}", f.name.name)),
                },
                other => self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{field}` holds only `NAME = \"value\"` pairs"))
                        .at(other.span(), "not a pair")
                        .with_help("write `NAME = \"value\"`"),
                ),
            }
        }
        Some(Value::Map(map))
    }

    fn range(&mut self, value: &Value, def: &FieldDef, field: &str, span: Span) {
        let Some(n) = value.as_f64() else { return };
        let below = def.min.is_some_and(|min| n < min);
        let above = def.max.is_some_and(|max| n > max);
        if below || above {
            let bounds = match (def.min, def.max) {
                (Some(a), Some(b)) => format!("between {} and {}", crate::units::number(a), crate::units::number(b)),
                (Some(a), None) => format!("at least {}", crate::units::number(a)),
                (None, Some(b)) => format!("at most {}", crate::units::number(b)),
                (None, None) => String::new(),
            };
            self.report(
                Diagnostic::new(
                    &codes::VALUE_OUT_OF_RANGE,
                    format!("`{field}` is {}, but must be {bounds}", crate::units::number(n)),
                )
                .at(span, "out of range")
                .with_help(format!("`{field}`: {}", def.doc)),
            );
        }
    }
}

/// A stdlib default (TOML) as a value of the field's type.
pub fn default_value(default: &toml::Value, ty: FieldType) -> Option<Value> {
    use toml::Value as T;
    Some(match (default, ty) {
        (T::String(s), FieldType::String | FieldType::Version) => Value::Str(s.clone()),
        (T::Integer(n), FieldType::Version) => Value::Str(n.to_string()),
        (T::Integer(n), FieldType::Int) => Value::Int(*n),
        (T::Integer(n), FieldType::Number) => Value::Float(*n as f64),
        (T::Float(f), FieldType::Number) => Value::Float(*f),
        (T::Boolean(b), FieldType::Bool) => Value::Bool(*b),
        (T::String(s), FieldType::Duration) => Value::DurationMs(parse_duration(s)?),
        (T::String(s), FieldType::Size) => Value::Bytes(parse_size(s)?),
        (T::Array(items), FieldType::StringList) => {
            Value::List(items.iter().filter_map(|i| i.as_str().map(|s| Value::Str(s.to_string()))).collect())
        }
        _ => return None,
    })
}

/// `30s` → 30000 (stdlib data uses the language's own literals).
pub fn parse_duration(text: &str) -> Option<u64> {
    parse_with_units(text, crate::syntax::lexer::DURATION_UNITS)
}

pub fn parse_size(text: &str) -> Option<u64> {
    parse_with_units(text, crate::syntax::lexer::SIZE_UNITS)
}

fn parse_with_units(text: &str, units: &[(&str, u64)]) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let factor = units.iter().find(|(u, _)| *u == unit)?.1;
    digits.parse::<u64>().ok()?.checked_mul(factor)
}
