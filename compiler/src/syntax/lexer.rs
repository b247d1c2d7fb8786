//! The lexical grammar: identifiers, numbers with units (written with nom), strings with
//! escapes, punctuation, comments. Lexing never fails: a bad character or literal becomes a
//! diagnostic and lexing goes on after it.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, digit1};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::{IResult, Parser};

use crate::diagnostics::{codes, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::ast::{Comment, Text};

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(Text),
    Str(Text),
    Int(i64),
    Float(f64),
    Duration(u64),
    Size(u64),
    Percent(f64),
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Eq,
    Comma,
    Colon,
    Dot,
    Gt,
    Lt,
    /// A literal that was reported as malformed; the parser treats it as a value.
    Bad,
    Eof,
}

impl Tok {
    /// How the token is named in "expected …, found …" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("`{name}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(_) | Tok::Float(_) => "a number".into(),
            Tok::Duration(_) => "a duration".into(),
            Tok::Size(_) => "a size".into(),
            Tok::Percent(_) => "a percentage".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Bad => "a malformed literal".into(),
            Tok::Eof => "end of file".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
    /// A line break stands between this token and the previous one.
    pub line_start: bool,
}

/// Durations, in milliseconds per unit.
pub const DURATION_UNITS: &[(&str, u64)] =
    &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
/// Sizes, in bytes per unit (binary units, as Kubernetes, Cloud Run and Compose read them).
pub const SIZE_UNITS: &[(&str, u64)] = &[("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40)];

pub struct Lexed {
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Every token of `text` at once (the editor's completion reads them); the parser pulls them
/// one by one from a [`Lexer`] instead.
pub fn lex(file: FileId, text: &str) -> Lexed {
    let mut lexer = Lexer::new(file, text);
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token();
        let end = token.tok == Tok::Eof;
        tokens.push(token);
        if end {
            break;
        }
    }
    let (comments, diagnostics) = lexer.finish();
    Lexed { tokens, comments, diagnostics }
}

/// The tokens of one file, on demand: the parser never holds more than two, so a large file
/// costs no token vector.
pub struct Lexer<'a> {
    file: FileId,
    text: &'a str,
    pos: usize,
    /// A line break stands between the last token and the next.
    line_start: bool,
    comments: Vec<Comment>,
    diags: Vec<Diagnostic>,
}

impl<'a> Lexer<'a> {
    pub fn new(file: FileId, text: &'a str) -> Lexer<'a> {
        Lexer::starting_at(file, text, 0)
    }

    /// A lexer that reads `text` from byte `pos` on (spans stay offsets into all of `text`).
    pub fn starting_at(file: FileId, text: &'a str, pos: usize) -> Lexer<'a> {
        Lexer { file, text, pos, line_start: true, comments: Vec::new(), diags: Vec::new() }
    }

    /// Skips the rest of a block whose `{` ends at byte `from`: reading only braces, strings
    /// and comments, to just past the matching `}` (or to the end of the text). The next
    /// token is the one after it; the span of that `}` is returned (empty at the end of the
    /// text). Where the block has no lexical error, this is the `}` its tokens close it with.
    pub fn skip_block(&mut self, from: usize) -> Span {
        let bytes = self.text.as_bytes();
        let mut depth = 1usize;
        let mut i = from;
        while let Some(&b) = bytes.get(i) {
            i += 1;
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i;
                        self.line_start = false;
                        return self.span(i - 1, i);
                    }
                }
                // A string ends at its unescaped quote or at the line's end (an error then).
                b'"' => {
                    while let Some(&c) = bytes.get(i) {
                        i += match c {
                            b'\\' => 2,
                            b'"' => {
                                i += 1;
                                break;
                            }
                            b'\n' => break,
                            _ => 1,
                        };
                    }
                }
                b'#' => {
                    let rest = bytes.get(i..).unwrap_or_default();
                    i += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                }
                _ => {}
            }
        }
        self.pos = self.text.len();
        self.span(self.pos, self.pos)
    }

    /// The comments and the diagnostics of what was read.
    pub fn finish(self) -> (Vec<Comment>, Vec<Diagnostic>) {
        (self.comments, self.diags)
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// The next token; at the end of the text, `Eof` again and again.
    pub fn next_token(&mut self) -> Token {
        loop {
            let (end, newline) = skip_trivia(self.text, self.pos, self.file, &mut self.comments);
            self.pos = end;
            self.line_start |= newline;
            let start = self.pos;
            let rest = self.text.as_bytes().get(start..).unwrap_or_default();
            let Some(&first) = rest.first() else {
                let end = self.text.len();
                return Token { tok: Tok::Eof, span: self.span(end, end), line_start: true };
            };
            let (tok, len) = self.token(first, rest);
            self.pos += len.max(1).min(rest.len());
            // `None`: a bad character, reported; the next token follows it.
            if let Some(tok) = tok {
                let line_start = std::mem::replace(&mut self.line_start, false);
                return Token { tok, span: self.span(start, self.pos), line_start };
            }
        }
    }

    /// Reads one token from `rest` (at `self.pos`; `first` is its first byte), by that byte:
    /// the token (or `None` after a reported bad character) and how many bytes it used.
    fn token(&mut self, first: u8, rest: &[u8]) -> (Option<Tok>, usize) {
        let start = self.pos;
        let text = || self.text.get(start..).unwrap_or_default();
        let punct = match first {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let len = name_len(rest);
                return (Some(Tok::Ident(Text::from(text().get(..len).unwrap_or_default()))), len);
            }
            b'"' => return self.string(text()),
            b'0'..=b'9' => {
                let rest = text();
                return match number_with_unit(rest) {
                    Ok((after, (number, unit))) => {
                        let len = rest.len() - after.len();
                        (Some(self.number(number, unit, start, start + len)), len)
                    }
                    // Not reached (a digit starts a number), but never silently.
                    Err(_) => (Some(self.bad_number(start)), 1),
                };
            }
            b'{' => Tok::LBrace,
            b'}' => Tok::RBrace,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'=' => Tok::Eq,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'.' => Tok::Dot,
            b'>' => Tok::Gt,
            b'<' => Tok::Lt,
            _ => return (None, text().chars().next().map_or(1, |c| self.unexpected(c, start))),
        };
        (Some(punct), 1)
    }

    /// Reports a character that starts no token at `start`: its length.
    fn unexpected(&mut self, c: char, start: usize) -> usize {
        const HELP: &str = "names start with a letter; strings are written in double quotes; comments start with `#`";
        let len = c.len_utf8();
        let shown = if c.is_control() { format!("{:?}", c) } else { c.to_string() };
        self.diags.push(
            Diagnostic::new(&codes::SYNTAX_ERROR, format!("unexpected character `{shown}`"))
                .at(self.span(start, start + len), "not part of the language")
                .with_help(HELP),
        );
        len
    }

    /// Reports a number that could not be read at `start`.
    fn bad_number(&mut self, start: usize) -> Tok {
        self.diags.push(
            Diagnostic::new(&codes::INVALID_NUMBER, "this number cannot be read")
                .at(self.span(start, start + 1), "not a valid number")
                .with_help("write a number such as `8000`, `0.5`, `30s` or `512Mi`"),
        );
        Tok::Bad
    }

    fn number(&mut self, number: &str, unit: &str, start: usize, end: usize) -> Tok {
        let span = self.span(start, end);
        let bad = |lexer: &mut Self, message: String, help: &str| {
            lexer.diags.push(
                Diagnostic::new(&codes::INVALID_NUMBER, message)
                    .at(span, "not a valid number")
                    .with_help(help.to_string()),
            );
            Tok::Bad
        };
        let is_float = number.contains('.');
        match unit {
            "" if is_float => match number.parse::<f64>() {
                Ok(v) if v.is_finite() => Tok::Float(v),
                _ => bad(self, format!("`{number}` is not a number"), "write a decimal number such as `0.5`"),
            },
            "" => match number.parse::<i64>() {
                Ok(v) => Tok::Int(v),
                Err(_) => bad(self, format!("`{number}` is too large"), "integers range up to 9223372036854775807"),
            },
            "%" => match number.parse::<f64>() {
                Ok(v) if v.is_finite() => Tok::Percent(v),
                _ => bad(self, format!("`{number}%` is not a percentage"), "write a percentage such as `1%` or `0.5%`"),
            },
            _ => {
                let scaled = |units: &[(&str, u64)]| {
                    units.iter().find(|(u, _)| *u == unit).map(|(_, factor)| {
                        if is_float {
                            let v = number.parse::<f64>().unwrap_or(f64::NAN) * *factor as f64;
                            ((0.0..1.8e19).contains(&v) && v.fract() == 0.0).then_some(v as u64)
                        } else {
                            number.parse::<u64>().ok().and_then(|n| n.checked_mul(*factor))
                        }
                    })
                };
                if let Some(v) = scaled(DURATION_UNITS) {
                    return match v {
                        Some(ms) => Tok::Duration(ms),
                        None => bad(
                            self,
                            format!("`{number}{unit}` is not a whole number of milliseconds or is too large"),
                            "write durations such as `30s`, `5m`, `1h`",
                        ),
                    };
                }
                if let Some(v) = scaled(SIZE_UNITS) {
                    return match v {
                        Some(bytes) => Tok::Size(bytes),
                        None => bad(
                            self,
                            format!("`{number}{unit}` is not a whole number of bytes or is too large"),
                            "write sizes such as `512Mi` or `2Gi`",
                        ),
                    };
                }
                let help = match unit {
                    "K" | "KB" | "k" | "kb" => "sizes use binary units: write `Ki`",
                    "M" | "MB" | "mb" => "sizes use binary units: write `Mi`",
                    "G" | "GB" | "gb" => "sizes use binary units: write `Gi`",
                    "sec" | "secs" => "write seconds as `s`",
                    "min" | "mins" => "write minutes as `m`",
                    _ => "durations take `ms`, `s`, `m`, `h`, `d`; sizes take `Ki`, `Mi`, `Gi`, `Ti`; percentages take `%`",
                };
                self.diags.push(
                    Diagnostic::new(&codes::INVALID_NUMBER, format!("unknown unit `{unit}` in `{number}{unit}`"))
                        .at(span, "unknown unit")
                        .with_help(help),
                );
                Tok::Bad
            }
        }
    }

    /// A double-quoted string with escapes `\" \\ \n \t \r \$ \u{…}`.
    fn string(&mut self, rest: &str) -> (Option<Tok>, usize) {
        let start = self.pos;
        // Most strings have no escape: taken whole, not a character at a time.
        let body = rest.get(1..).unwrap_or_default();
        if let Some(end) = body.bytes().position(|b| matches!(b, b'"' | b'\\' | b'\n')) {
            if let (Some(b'"'), Some(text)) = (body.as_bytes().get(end), body.get(..end)) {
                return (Some(Tok::Str(Text::from(text))), end + 2);
            }
        }
        let mut value = Text::default();
        let mut chars = rest.char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return (Some(Tok::Str(value)), i + 1),
                '\n' => break,
                '\\' => {
                    let Some((j, e)) = chars.next() else { break };
                    let simple = match e {
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        'n' => Some('\n'),
                        't' => Some('\t'),
                        'r' => Some('\r'),
                        '$' => Some('$'),
                        _ => None,
                    };
                    if let Some(s) = simple {
                        value.push(s);
                        continue;
                    }
                    if e == 'u' && rest.get(j + 1..).is_some_and(|r| r.starts_with('{')) {
                        let body = rest.get(j + 2..).unwrap_or("");
                        let hex: String = body.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
                        let closes = body.get(hex.len()..).is_some_and(|r| r.starts_with('}'));
                        if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).filter(|_| closes)
                        {
                            value.push(ch);
                            for _ in 0..hex.len() + 2 {
                                chars.next();
                            }
                            continue;
                        }
                    }
                    let esc_span = self.span(start + i, start + j + e.len_utf8());
                    self.diags.push(
                        Diagnostic::new(&codes::INVALID_ESCAPE, format!("unknown escape `\\{e}`"))
                            .at(esc_span, "not an escape sequence")
                            .with_help("escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r`, `\\$` and `\\u{1F600}`; write `\\\\` for a backslash"),
                    );
                }
                c => value.push(c),
            }
        }
        let line_end = rest.find('\n').unwrap_or(rest.len());
        self.diags.push(
            Diagnostic::new(&codes::UNTERMINATED_STRING, "unterminated string")
                .at(self.span(start, start + 1), "this string is never closed")
                .with_help("add a closing `\"` on the same line; strings cannot span lines (use `\\n`)"),
        );
        (Some(Tok::Bad), line_end.max(1))
    }
}

/// The length of the name at the start of `input`, whose first byte starts one (a letter or
/// `_`). Names are ASCII (then letters, digits, `_` and `-`), so bytes are read, not
/// characters: this is the lexer's hottest loop.
fn name_len(input: &[u8]) -> usize {
    let rest = input.get(1..).unwrap_or_default();
    1 + rest.iter().position(|&b| !continues_name(b)).unwrap_or(rest.len())
}

/// Whether `b` continues a name (a letter, a digit, `_`, `-`): one load from a table.
fn continues_name(b: u8) -> bool {
    // Evaluated by the compiler: an index out of bounds would fail the build, not a run.
    #[allow(clippy::indexing_slicing)]
    const TABLE: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0u8;
        loop {
            table[b as usize] = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
            if b == u8::MAX {
                break table;
            }
            b += 1;
        }
    };
    TABLE.get(usize::from(b)).copied().unwrap_or(false)
}

/// `12`, `0.5`, `30s`, `2Gi`, `1%`: the digits and the unit, unparsed.
fn number_with_unit(input: &str) -> IResult<&str, (&str, &str)> {
    (
        recognize(pair(digit1, opt(pair(char('.'), digit1)))),
        alt((tag("%"), take_while(|c: char| c.is_ascii_alphabetic()))),
    )
        .parse(input)
}

/// Skips white space and comments from `pos` in `text`: where they end, and whether a line
/// break was crossed. ASCII white space is read a byte at a time; any other byte is decoded,
/// as Unicode white space and the byte-order mark count too.
fn skip_trivia(text: &str, pos: usize, file: FileId, comments: &mut Vec<Comment>) -> (usize, bool) {
    let bytes = text.as_bytes();
    let mut newline = false;
    let mut i = pos;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => i += 1,
            b'\n' => {
                newline = true;
                i += 1;
            }
            b'#' => {
                let body = bytes.get(i + 1..).unwrap_or_default();
                let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
                let comment = text.get(i + 1..i + 1 + end).unwrap_or("").trim_end_matches('\r').to_string();
                comments.push(Comment { span: Span::new(file, i, i + 1 + end), text: comment });
                i += 1 + end;
            }
            0x80.. => match text.get(i..).and_then(|rest| rest.chars().next()) {
                Some(c) if c.is_whitespace() || c == '\u{feff}' => i += c.len_utf8(),
                _ => break,
            },
            _ => break,
        }
    }
    (i, newline)
}
