//! The grammar: a recursive-descent parser over the tokens of [`super::lexer`].
//!
//! Parsing never fails. A syntax error is reported, the parser skips to the next member of
//! the enclosing block (or the next top-level declaration) and goes on, so one run reports
//! every independent syntax error of a file. Nesting is bounded ([`MAX_DEPTH`]) so that
//! hostile input cannot exhaust the stack.

use crate::diagnostics::{codes, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::*;
use crate::syntax::lexer::{Lexer, Tok, Token};

/// The deepest nesting of blocks, lists and calls the parser accepts.
pub const MAX_DEPTH: usize = 64;

pub struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The token at hand and the one after it (the grammar looks one token ahead). Owned, so
    /// that names and strings move into the tree instead of being copied.
    current: Token,
    next: Token,
    /// The span of the token before `current`, and whether it started a line.
    previous: Option<(Span, bool)>,
    /// Tokens consumed so far: recovery skips at least one.
    consumed: usize,
    depth: usize,
    /// Set when nesting went too deep: the rest of the file is not parsed.
    too_deep: bool,
    /// Skip the bodies of services instead of parsing them ([`crate::syntax::parse_deferring_services`]).
    defer_services: bool,
    /// The tree is dropped as soon as it is read ([`crate::syntax::parse_deferred`]): its
    /// blocks keep the room their vectors grew to.
    transient: bool,
    pub diagnostics: Vec<Diagnostic>,
}

/// Raised to abandon the current member; the diagnostic is already recorded.
struct Abandon;

type PResult<T> = Result<T, Abandon>;

impl<'a> Parser<'a> {
    pub fn new(mut lexer: Lexer<'a>) -> Parser<'a> {
        let current = lexer.next_token();
        let next = lexer.next_token();
        Parser {
            lexer,
            current,
            next,
            previous: None,
            consumed: 0,
            depth: 0,
            too_deep: false,
            defer_services: false,
            transient: false,
            diagnostics: Vec::new(),
        }
    }

    /// This parser, skipping the bodies of services ([`crate::syntax::parse_deferring_services`]).
    pub fn deferring_services(self) -> Parser<'a> {
        Parser { defer_services: true, ..self }
    }

    /// This parser, for a tree that is dropped as soon as it is read.
    pub fn transient(self) -> Parser<'a> {
        Parser { transient: true, ..self }
    }

    /// The lexer's comments, then its diagnostics followed by the parser's.
    pub fn finish(mut self) -> (Vec<Comment>, Vec<Diagnostic>) {
        // Where parsing stopped early (nesting too deep), the rest is still read: every
        // lexical error and comment of the file is reported, as if it had all been parsed.
        while self.current.tok != Tok::Eof {
            self.bump();
        }
        let (comments, mut diagnostics) = self.lexer.finish();
        diagnostics.extend(self.diagnostics);
        (comments, diagnostics)
    }

    fn peek(&self) -> &Token {
        &self.current
    }

    /// The token after the current one.
    fn peek_next(&self) -> &Tok {
        &self.next.tok
    }

    /// Consumes the current token (the end of the file stays); its span.
    fn bump(&mut self) -> Span {
        let span = self.current.span;
        if self.current.tok != Tok::Eof {
            self.previous = Some((span, self.current.line_start));
            let after = self.lexer.next_token();
            self.current = std::mem::replace(&mut self.next, after);
            self.consumed += 1;
        }
        span
    }

    /// Consumes the current token, taking its text (a name or a string) out of it.
    fn bump_text(&mut self) -> (Text, Span) {
        let text = match &mut self.current.tok {
            Tok::Ident(text) | Tok::Str(text) => std::mem::take(text),
            _ => Text::default(),
        };
        (text, self.bump())
    }

    fn at(&self, tok: &Tok) -> bool {
        &self.peek().tok == tok
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w == word)
    }

    fn error(&mut self, expected: &str) -> Abandon {
        let token = self.peek();
        let (tok, span) = (token.tok.clone(), token.span);
        let found = tok.describe();
        let (code, message, label) = match tok {
            Tok::Eof => {
                (&codes::UNCLOSED_DELIMITER, format!("expected {expected}, found end of file"), "the file ends here")
            }
            _ => (&codes::SYNTAX_ERROR, format!("expected {expected}, found {found}"), "unexpected here"),
        };
        let help = match (&tok, expected) {
            (Tok::Eof, _) => "close every `{`, `[` and `(` that is still open".to_string(),
            (Tok::Colon, _) => "fields are set with `=`: write `name = value`".to_string(),
            (Tok::Str(_), e) if e.contains("name") => "names are written without quotes".to_string(),
            _ => format!("write {expected} here"),
        };
        if tok != Tok::Bad {
            self.diagnostics.push(Diagnostic::new(code, message).at(span, label).with_help(help));
        }
        Abandon
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> PResult<Span> {
        if self.at(&tok) {
            Ok(self.bump())
        } else {
            Err(self.error(expected))
        }
    }

    #[inline]
    fn ident(&mut self, expected: &str) -> PResult<Ident> {
        self.ident_else(|| expected.to_string())
    }

    /// [`Self::ident`], with a message that is only formatted when the name is missing.
    #[inline]
    fn ident_else(&mut self, expected: impl FnOnce() -> String) -> PResult<Ident> {
        if matches!(self.peek().tok, Tok::Ident(_)) {
            let (name, span) = self.bump_text();
            Ok(Ident { name, span })
        } else {
            Err(self.error(&expected()))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            // Every caller has just consumed the opening `{`, `[` or `(`: point at it.
            let span = self.previous.map_or(self.peek().span, |(span, _)| span);
            self.diagnostics.push(
                Diagnostic::new(&codes::NESTING_TOO_DEEP, format!("nesting deeper than {MAX_DEPTH} levels"))
                    .at(span, "too deep")
                    .with_help("flatten the structure: specs rarely need more than a few levels"),
            );
            self.too_deep = true;
            return Err(Abandon);
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Counts one more item of the list, block or call opened at `open`. Past
    /// [`MAX_ITEMS`](crate::limits::MAX_ITEMS) the first extra item is reported and every extra
    /// item is parsed but dropped (`false`): the tree stays bounded and in step with the text.
    fn keep_item(&mut self, count: &mut usize, open: Span, what: &str) -> bool {
        *count += 1;
        let max = crate::limits::MAX_ITEMS;
        if *count == max + 1 {
            self.diagnostics.push(
                Diagnostic::new(&codes::TOO_MANY_ITEMS, format!("this {what} holds more than {max} items"))
                    .at(open, format!("this {what}"))
                    .with_help(format!(
                        "split it: sight reads at most {max} items per list, block or call (the spec is probably generated wrongly)"
                    )),
            );
        }
        *count <= max
    }

    // ---- Recovery ----------------------------------------------------------------------------

    /// Skips to the next top-level declaration: an identifier at the start of a line outside
    /// any bracket.
    fn recover_top_level(&mut self) {
        let mut depth = 0usize;
        let start = self.consumed;
        while !self.at(&Tok::Eof) {
            let token = self.peek();
            if depth == 0 && self.consumed > start && token.line_start && matches!(token.tok, Tok::Ident(_)) {
                return;
            }
            match token.tok {
                Tok::LBrace | Tok::LBracket | Tok::LParen => depth += 1,
                Tok::RBrace | Tok::RBracket | Tok::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    /// Skips to the next member of the current block, or to its closing `}`.
    fn recover_member(&mut self) {
        let mut depth = 0usize;
        let start = self.consumed;
        while !self.at(&Tok::Eof) {
            let token = self.peek();
            match token.tok {
                Tok::RBrace if depth == 0 => return,
                Tok::Ident(_) if depth == 0 && token.line_start && self.consumed > start => return,
                Tok::LBrace | Tok::LBracket | Tok::LParen => depth += 1,
                Tok::RBrace | Tok::RBracket | Tok::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    // ---- Grammar -----------------------------------------------------------------------------

    /// file = item*
    pub fn file(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while !self.at(&Tok::Eof) {
            match self.item() {
                Ok(item) => items.push(item),
                Err(Abandon) if self.too_deep => break,
                Err(Abandon) => self.recover_top_level(),
            }
        }
        items
    }

    /// One declaration and nothing after it ([`crate::syntax::parse_deferred`]).
    pub fn item_alone(&mut self) -> Option<Item> {
        let item = self.item().ok()?;
        self.at(&Tok::Eof).then_some(item)
    }

    /// item = keyword name (":" kind)? block
    fn item(&mut self) -> PResult<Item> {
        let keyword = self.ident("a declaration such as `service api { … }`")?;
        let name = self.ident_else(|| format!("a name after `{}`", keyword.name))?;
        let kind = self.kind_annotation()?;
        let deferred = self.defer_services && keyword.name == "service";
        let body = if deferred { self.skip_block()? } else { self.block()? };
        let span = keyword.span.to(body.span);
        Ok(Item { keyword, name, kind, body, span, deferred })
    }

    /// A block skipped to its matching `}` (or the end of the file), unparsed: an empty block
    /// with the span of the whole. Only braces are counted (outside strings and comments),
    /// which finds the end [`Self::block`] finds whenever the block reads without a diagnostic;
    /// when it does not, [`crate::syntax::parse_deferred`] says so.
    fn skip_block(&mut self) -> PResult<Block> {
        let open = self.expect(Tok::LBrace, "`{`")?;
        // The two tokens looked ahead lie in the block (or end it): read again after it.
        let close = self.lexer.skip_block(open.end as usize);
        self.previous = Some((close, false));
        self.current = self.lexer.next_token();
        self.next = self.lexer.next_token();
        self.consumed += 1;
        Ok(Block { members: Vec::new(), span: open.to(close) })
    }

    fn kind_annotation(&mut self) -> PResult<Option<Ident>> {
        if self.at(&Tok::Colon) {
            self.bump();
            Ok(Some(self.ident("a kind name after `:`")?))
        } else {
            Ok(None)
        }
    }

    /// block = "{" member* "}"
    fn block(&mut self) -> PResult<Block> {
        let open = self.expect(Tok::LBrace, "`{`")?;
        self.enter()?;
        let mut members = Vec::new();
        let mut count = 0;
        let close = loop {
            if self.at(&Tok::RBrace) {
                break self.bump();
            }
            if self.at(&Tok::Eof) {
                self.leave();
                let span = open;
                self.diagnostics.push(
                    Diagnostic::new(&codes::UNCLOSED_DELIMITER, "this block is never closed")
                        .at(span, "opened here")
                        .with_help("add the missing `}`"),
                );
                return Err(Abandon);
            }
            match self.member() {
                Ok(member) => {
                    if self.keep_item(&mut count, open, "block") {
                        members.push(member);
                    }
                }
                Err(Abandon) if self.too_deep => {
                    self.leave();
                    return Err(Abandon);
                }
                Err(Abandon) => self.recover_member(),
            }
        };
        self.leave();
        // Blocks are many and small: a tree that is kept keeps what they hold, not the room a
        // growing vector left.
        if !self.transient {
            members.shrink_to_fit();
        }
        Ok(Block { members, span: open.to(close) })
    }

    /// member = step | on_failure | when | name (":" kind)? block | name "=" expr
    fn member(&mut self) -> PResult<Member> {
        if self.at_word("step") && matches!(self.peek_next(), Tok::Ident(_)) {
            return self.step().map(|s| Member::Step(Box::new(s)));
        }
        if self.at_word("on_failure") && matches!(self.peek_next(), Tok::Ident(_)) {
            let start = self.bump();
            let step = self.ident("the name of a step")?;
            self.expect(Tok::Eq, "`=`")?;
            let action = self.expr()?;
            return Ok(Member::OnFailure(Box::new(OnFailure { span: start.to(action.span), step, action })));
        }
        if self.at_word("when") && !matches!(self.peek_next(), Tok::Eq) {
            return self.when().map(|w| Member::When(Box::new(w)));
        }
        // `"quoted.key" = "value"`: map keys that are not names (Neo4j settings, labels).
        if let (Tok::Str(_), Tok::Eq) = (&self.peek().tok, self.peek_next()) {
            let (key, span) = self.bump_text();
            let name = Ident { name: key, span };
            self.bump();
            let value = self.expr()?;
            return Ok(Member::Field(Field { name, value }));
        }
        let name = self.ident("a field name")?;
        match self.peek().tok {
            Tok::Eq => {
                self.bump();
                let value = self.expr()?;
                Ok(Member::Field(Field { name, value }))
            }
            // `port: 8000` (a YAML habit): a colon followed by a value, not by a kind name.
            Tok::Colon if !matches!(self.peek_next(), Tok::Ident(_)) => {
                self.diagnostics.push(
                    Diagnostic::new(&codes::SYNTAX_ERROR, format!("expected `=` after `{}`, found `:`", name.name))
                        .at(self.peek().span, "fields are set with `=`")
                        .with_help(format!("write `{} = …`", name.name)),
                );
                Err(Abandon)
            }
            Tok::Colon | Tok::LBrace => {
                let kind = self.kind_annotation()?;
                let body = self.block()?;
                Ok(Member::Block(Box::new(NestedBlock { span: name.span.to(body.span), name, kind, body })))
            }
            // `service api {` at the start of a line inside a block: the block above it misses
            // its `}` (a member is never two names in a row).
            Tok::Ident(ref declared) if self.starts_declaration(&name) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        &codes::UNCLOSED_DELIMITER,
                        format!("`{} {declared}` is declared inside another block", name.name),
                    )
                    .at(name.span, "a declaration cannot be nested")
                    .with_help("a block above is missing its closing `}`"),
                );
                Err(Abandon)
            }
            _ => Err(self.error(&format!("`=` or `{{` after `{}`", name.name))),
        }
    }

    /// Whether `keyword` (just consumed) opens a top-level declaration at the start of a line.
    fn starts_declaration(&self, keyword: &Ident) -> bool {
        let at_line_start = self.previous.is_some_and(|(_, line_start)| line_start);
        at_line_start && crate::syntax::KEYWORDS.iter().any(|(k, _)| *k == keyword.name)
    }

    /// step name "=" call ("after" "[" names "]")? block?
    fn step(&mut self) -> PResult<Step> {
        let start = self.bump();
        let name = self.ident("the step's name")?;
        self.expect(Tok::Eq, "`=`")?;
        let mut action = self.expr()?;
        // `step x = run(api, "…") { … }`: the block is the step's, not the call's.
        let mut body = None;
        if let ExprKind::Call(call) = &mut action.kind {
            body = call.block.take();
        }
        let mut after = Vec::new();
        let mut end = action.span;
        if self.at_word("after") {
            self.bump();
            let open = self.expect(Tok::LBracket, "`[` after `after`")?;
            let mut count = 0;
            while !self.at(&Tok::RBracket) {
                let name = self.ident("a step name")?;
                if self.keep_item(&mut count, open, "list") {
                    after.push(name);
                }
                if !self.at(&Tok::RBracket) {
                    self.expect(Tok::Comma, "`,` or `]`")?;
                }
            }
            end = self.bump();
        }
        if body.is_none() && self.at(&Tok::LBrace) {
            body = Some(self.block()?);
        }
        if let Some(b) = &body {
            end = b.span;
            if after.is_empty() {
                action.span = Span { end: action.span.end.min(b.span.start), ..action.span };
            }
        }
        Ok(Step { span: start.to(end), name, action, after, body })
    }

    /// when path (">" | "<") expr ("for" expr)?
    fn when(&mut self) -> PResult<When> {
        let start = self.bump();
        let signal = self.path()?;
        let op = match self.peek().tok {
            Tok::Gt => CompareOp::Gt,
            Tok::Lt => CompareOp::Lt,
            _ => return Err(self.error("`>` or `<`")),
        };
        let op_span = self.bump();
        let threshold = self.expr()?;
        let mut end = threshold.span;
        let duration = if self.at_word("for") {
            self.bump();
            let d = self.expr()?;
            end = d.span;
            Some(d)
        } else {
            None
        };
        Ok(When { signal, op, op_span, threshold, duration, span: start.to(end) })
    }

    fn path(&mut self) -> PResult<Path> {
        let first = self.ident("a name")?;
        let mut span = first.span;
        let mut segments = vec![first];
        while self.at(&Tok::Dot) {
            self.bump();
            let next = self.ident("a name after `.`")?;
            span = span.to(next.span);
            segments.push(next);
        }
        Ok(Path { segments, span })
    }

    /// expr = literal | list | path | call
    fn expr(&mut self) -> PResult<Expr> {
        if matches!(self.peek().tok, Tok::Str(_)) {
            let (text, span) = self.bump_text();
            return Ok(Expr { kind: ExprKind::Str(text), span });
        }
        let token = self.peek();
        let span = token.span;
        let simple = match &token.tok {
            Tok::Int(n) => Some(ExprKind::Int(*n)),
            Tok::Float(f) => Some(ExprKind::Float(*f)),
            Tok::Duration(d) => Some(ExprKind::Duration(*d)),
            Tok::Size(s) => Some(ExprKind::Size(*s)),
            Tok::Percent(p) => Some(ExprKind::Percent(*p)),
            Tok::Bad => Some(ExprKind::Error),
            Tok::Ident(w) if w == "true" => Some(ExprKind::Bool(true)),
            Tok::Ident(w) if w == "false" => Some(ExprKind::Bool(false)),
            _ => None,
        };
        if let Some(kind) = simple {
            self.bump();
            return Ok(Expr { kind, span });
        }
        match self.peek().tok {
            Tok::LBracket => self.list(),
            Tok::Ident(_) => {
                let path = self.path()?;
                if self.at(&Tok::LParen) {
                    self.call(path)
                } else {
                    Ok(Expr { span: path.span, kind: ExprKind::Path(Box::new(path)) })
                }
            }
            _ => Err(self.error("a value")),
        }
    }

    fn list(&mut self) -> PResult<Expr> {
        let open = self.bump();
        self.enter()?;
        let mut items = Vec::new();
        let mut count = 0;
        while !self.at(&Tok::RBracket) {
            match self.expr() {
                Ok(e) => {
                    if self.keep_item(&mut count, open, "list") {
                        items.push(e);
                    }
                }
                Err(a) => {
                    self.leave();
                    return Err(a);
                }
            }
            if !self.at(&Tok::RBracket) {
                if let Err(a) = self.expect(Tok::Comma, "`,` or `]`") {
                    self.leave();
                    return Err(a);
                }
            }
        }
        let close = self.bump();
        self.leave();
        Ok(Expr { kind: ExprKind::List(items.into_boxed_slice()), span: open.to(close) })
    }

    /// call = path "(" (arg ("," arg)*)? ")" block?
    fn call(&mut self, callee: Path) -> PResult<Expr> {
        let open = self.bump();
        self.enter()?;
        let result = self.call_rest(callee, open);
        self.leave();
        result
    }

    fn call_rest(&mut self, callee: Path, open: Span) -> PResult<Expr> {
        let mut args = Vec::new();
        let mut count = 0;
        while !self.at(&Tok::RParen) {
            let named = matches!(self.peek().tok, Tok::Ident(_)) && matches!(self.peek_next(), Tok::Eq);
            let name = if named {
                let n = self.ident("an argument name")?;
                self.bump();
                Some(n)
            } else {
                None
            };
            let value = self.expr()?;
            if self.keep_item(&mut count, open, "call") {
                args.push(Arg { name, value });
            }
            if !self.at(&Tok::RParen) {
                self.expect(Tok::Comma, "`,` or `)`")?;
            }
        }
        let close = self.bump();
        let block = if self.at(&Tok::LBrace) { Some(self.block()?) } else { None };
        let end = block.as_ref().map_or(close, |b| b.span);
        Ok(Expr { span: callee.span.to(end), kind: ExprKind::Call(Box::new(Call { callee, args, block })) })
    }
}
