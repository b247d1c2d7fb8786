//! The syntax tree: what the user wrote, with a span on every node, nothing resolved yet.

use crate::source::Span;

/// The text of a name or a string literal: inline up to 24 bytes (most names and values), so
/// that a large project's tree is not millions of tiny heap strings.
pub type Text = compact_str::CompactString;

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: Text,
    pub span: Span,
}

/// One parsed `.sight` file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
    /// Comments, in source order, for the formatter.
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// The text after `#`, without the line end.
    pub text: String,
    pub span: Span,
}

/// A top-level declaration: `service api { … }`, `database pg : postgres { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub keyword: Ident,
    pub name: Ident,
    pub kind: Option<Ident>,
    pub body: Block,
    pub span: Span,
    /// The body was skipped, not parsed: `body` has its span but no members, and
    /// [`crate::syntax::parse_deferred`] reads it when it is needed. Only
    /// [`crate::syntax::parse_deferring_services`] leaves bodies unread.
    pub deferred: bool,
}

/// `{ member* }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub members: Vec<Member>,
    pub span: Span,
}

/// Rare members are boxed, so that a block's members take as little room as a field.
#[derive(Clone, Debug, PartialEq)]
pub enum Member {
    /// `name = value`
    Field(Field),
    /// `name { … }` or `name : kind { … }` (also the overlays `dev { … }`, `prod { … }`, `test { … }`).
    Block(Box<NestedBlock>),
    /// `step name = call(…) after [a, b] { … }`
    Step(Box<Step>),
    /// `on_failure step = call(…)`
    OnFailure(Box<OnFailure>),
    /// `when signal > threshold for 5m`
    When(Box<When>),
}

impl Member {
    pub fn span(&self) -> Span {
        match self {
            Member::Field(f) => f.span(),
            Member::Block(b) => b.span,
            Member::Step(s) => s.span,
            Member::OnFailure(o) => o.span,
            Member::When(w) => w.span,
        }
    }
}

/// `name = value`. Its span runs from the name to the end of the value ([`Field::span`]): not
/// stored, since fields are most of a tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: Ident,
    pub value: Expr,
}

impl Field {
    pub fn span(&self) -> Span {
        self.name.span.to(self.value.span)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NestedBlock {
    pub name: Ident,
    pub kind: Option<Ident>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub name: Ident,
    pub action: Expr,
    pub after: Vec<Ident>,
    pub body: Option<Block>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OnFailure {
    pub step: Ident,
    pub action: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct When {
    pub signal: Path,
    pub op: CompareOp,
    pub op_span: Span,
    pub threshold: Expr,
    pub duration: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Gt,
    Lt,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Gt => ">",
            CompareOp::Lt => "<",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Str(Text),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Milliseconds.
    Duration(u64),
    /// Bytes.
    Size(u64),
    /// The number before `%` (`1%` is 1.0).
    Percent(f64),
    /// Boxed as a slice (two words, not three), so that an expression fits in 40 bytes.
    List(Box<[Expr]>),
    Path(Box<Path>),
    Call(Box<Call>),
    /// A value the parser could not read; a diagnostic was already reported.
    Error,
}

/// `a` or `a.b.c`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Path {
    pub fn dotted(&self) -> String {
        self.segments.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(".")
    }
}

/// `f(x, k = v)`, optionally followed by a block: `http("/health") { interval = 30s }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub callee: Path,
    pub args: Vec<Arg>,
    pub block: Option<Block>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}
