//! The one place YAML is written: a serde [`Serializer`](serde::Serializer) that writes block
//! YAML straight into a `String`. Every emitter builds typed values and goes through
//! [`to_string`] or [`document`]; nothing else in sight writes YAML.
//!
//! # Layout
//!
//! - Block style throughout, 2-space indentation; a sequence is indented under its key
//!   (`key:\n  - a`); a mapping inside a sequence starts on the dash's line (`- name: x`).
//! - Empty mappings and sequences are written inline: `{}`, `[]`.
//! - No `---`, no blank lines (indentation carries the structure, and a diff of a generated
//!   file shows only what changed), exactly one final line break.
//! - `None` and `()` are `null` (emitters skip absent fields with `skip_serializing_if`);
//!   integers as Rust prints them; floats always read back as floats (`1.0`, `1.5e+20`, `.inf`).
//!
//! # Strings
//!
//! A string is plain only when every YAML 1.1 and 1.2 reader (yamllint and gcloud's PyYAML,
//! libyaml, Go's yaml.v2/v3, the 1.2 core and JSON schemas) reads it back as that same string.
//! Otherwise it is quoted:
//!
//! - single-quoted (`'8000'`, `'yes'`, `'-'`, `'a: b'`) when it only needs quoting: it reads
//!   as a null, boolean, number, timestamp or sexagesimal number in some schema (`~`, `on`,
//!   `y`, `012`, `0x1F`, `1_000`, `1:20`, `2024-01-02`, `.inf`, `1e3`, `1.27.0`), starts
//!   with an indicator (`- ? : , [ ] { } # & * ! | > ' " % @`, backquote; and backslash) or a
//!   document marker, contains `: ` or ` #`, ends with `:`, has leading or trailing spaces, or is empty;
//! - double-quoted with JSON-like escapes (`\n`, `\t`, `\r`, `\"`, `\\`, `\uXXXX`) when it holds
//!   a tab, a carriage return or another non-printable character (C0/C1 controls, DEL, NEL,
//!   U+2028/U+2029, BOM, U+FFFE/U+FFFF), or line breaks a literal block cannot keep;
//! - a literal block (`|` with one final line break, `|-` without) when it spans lines, with an
//!   indentation indicator (`|2-`) when its first non-empty line starts with a space. It falls
//!   back to double quotes for trailing spaces on a line, no non-empty line, or more than one
//!   final line break.
//!
//! Mapping keys follow the same rules, except that they are never block scalars.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};

use crate::emit::InternalError;

/// Serializes a typed value as a YAML document (no `---`, one final line break).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, InternalError> {
    let mut out = String::with_capacity(256);
    write(&mut out, value)?;
    Ok(out)
}

/// A header (comment lines, each ending in a line break) followed by the YAML document.
pub fn document<T: Serialize + ?Sized>(header: &str, value: &T) -> Result<String, InternalError> {
    let mut out = String::with_capacity(header.len() + 256);
    out.push_str(header);
    write(&mut out, value)?;
    Ok(out)
}

/// Appends the YAML document of `value` to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), InternalError> {
    value
        .serialize(ValueSerializer { out, place: Place::Root })
        .map_err(|e| InternalError(format!("YAML serialization failed: {e}")))
}

/// Appends one entry, `key: value`, of a mapping whose keys are at column `indent`: a large
/// mapping written an entry at a time, each given to the file as it is written (the Compose
/// file's containers). The text is what writing the whole mapping would give.
pub fn write_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
    out: &mut String,
    indent: usize,
    key: &K,
    value: &V,
) -> Result<(), InternalError> {
    // Past the first entry, a mapping's entry starts with its indentation alone.
    let mut map = Compound { out, place: Place::Root, indent, kind: Kind::Map, empty: false };
    map.key(key).and_then(|()| map.value(value)).map_err(|e| InternalError(format!("YAML serialization failed: {e}")))
}

/// Appends `key:` at column `indent` and ends the line: the key of a mapping or sequence whose
/// entries follow, [`write_entry`] by [`write_entry`] two columns further in. At least one must
/// follow (an empty mapping is written `key: {}` by `write_entry`).
pub fn write_key(out: &mut String, indent: usize, key: &str) {
    self::indent(out, indent);
    write_key_str(out, key);
    out.push_str(":\n");
}

/// Why a value cannot be written (a map key that is not a scalar, a custom error).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Where the next node goes.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// The document's root.
    Root,
    /// After `key:`, the key at column `indent`.
    Value { indent: usize },
    /// After `- `, the dash at column `indent`.
    Item { indent: usize },
}

impl Place {
    /// The column of the entries of a collection placed here.
    fn child_indent(self) -> usize {
        match self {
            Place::Root => 0,
            Place::Value { indent } | Place::Item { indent } => indent + 2,
        }
    }
}

const SPACES: &str = "                                                                ";

fn indent(out: &mut String, n: usize) {
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(SPACES.get(..step).unwrap_or_default());
        left -= step;
    }
}

/// Writes a scalar's text (already in its final form) and ends the line.
fn scalar(out: &mut String, place: Place, text: &str) {
    if let Place::Value { .. } = place {
        out.push(' ');
    }
    out.push_str(text);
    out.push('\n');
}

// ---------------------------------------------------------------------------------------------
// Strings: the choice of style.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Bytes that need a closer look in [`style`]: controls, `#`, space and non-ASCII. A `:`
/// matters only before a space (which is special) or at the end, so it is not: an image
/// reference, a URL or a port mapping takes the short way.
fn special(b: u8) -> bool {
    matches!(b, 0..=0x1f | 0x7f.. | b'#' | b' ')
}

/// The style of a string as a value (`key = false`) or a mapping key.
fn style(s: &str, key: bool) -> Style {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return Style::Single;
    };
    // Most strings (names, images, paths, URLs) hold no special byte and skip the closer look:
    // the rule below decides. This runs for every string written; the scan has no early exit,
    // so that it runs on whole words of bytes.
    let mut quote = false;
    if bytes.iter().fold(false, |found, &b| found | special(b)) {
        let mut newline = false;
        let mut escape = false;
        let mut non_ascii = false;
        let mut previous = b'\0';
        for &b in bytes {
            match b {
                b'\n' => newline = true,
                0..=0x1f | 0x7f => escape = true,
                b'#' if previous == b' ' => quote = true,
                b' ' if previous == b':' => quote = true,
                0x80.. => non_ascii = true,
                _ => {}
            }
            previous = b;
        }
        if non_ascii && s.chars().any(needs_escape) {
            escape = true;
        }
        if escape {
            return Style::Double;
        }
        if newline {
            return if !key && literal_fits(s) { Style::Literal } else { Style::Double };
        }
    }
    if quote || last == b':' || last == b' ' || first == b' ' || !plain_start(bytes) || ambiguous(s) {
        return Style::Single;
    }
    Style::Plain
}

/// Characters written as escapes in double quotes: controls (C0 but line feed, DEL, C1), line
/// and paragraph separators, the byte-order mark and the non-characters U+FFFE and U+FFFF.
fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\x09' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// Whether a plain scalar may start so: not with an indicator (a `-` followed by a non-space,
/// as in `-c` or `--port`, is fine), nor with a document marker.
fn plain_start(bytes: &[u8]) -> bool {
    match bytes {
        [b'-', b'-', b'-', ..] | [b'.', b'.', b'.', ..] => false,
        [b'-', second, ..] => !matches!(second, b' ' | b'\t'),
        [first, ..] => !matches!(
            first,
            b'-' | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
                | b'\\'
        ),
        [] => false,
    }
}

/// Whether some YAML 1.1 or 1.2 schema reads the plain scalar `s` as something other than a
/// string: a null, a boolean, a number, a timestamp, a merge or value key.
fn ambiguous(s: &str) -> bool {
    // The words, lowercased into one integer each: compared as numbers, not as slices.
    const WORDS: [u64; 18] = [
        word(b"~"),
        word(b"null"),
        word(b"y"),
        word(b"n"),
        word(b"yes"),
        word(b"no"),
        word(b"on"),
        word(b"off"),
        word(b"true"),
        word(b"false"),
        word(b"<<"),
        word(b"="),
        word(b".inf"),
        word(b"+.inf"),
        word(b"-.inf"),
        word(b".nan"),
        word(b"+.nan"),
        word(b"-.nan"),
    ];
    if s.len() <= 5 && WORDS.contains(&word(s.as_bytes())) {
        return true;
    }
    numeric(s.as_bytes())
}

/// Up to seven bytes, lowercased, in one integer after their length (so that no two words
/// meet); longer text gives a value no word of [`ambiguous`] has.
const fn word(mut bytes: &[u8]) -> u64 {
    if bytes.len() > 7 {
        return u64::MAX;
    }
    let mut packed = bytes.len() as u64;
    while let [first, rest @ ..] = bytes {
        packed = packed << 8 | first.to_ascii_lowercase() as u64;
        bytes = rest;
    }
    packed
}

/// Integers (decimal with `_`, `0b`, `0o`, `0x`, leading-zero octal), floats (`1.`, `.5`,
/// `1e3`, `1.2.3` by YAML 1.1's pattern), sexagesimal numbers (`1:20`, `1:20.5`) and dates
/// (`2024-01-02`, `2024-1-2T10:00:00Z`), with a sign where the schemas allow one.
fn numeric(b: &[u8]) -> bool {
    if date(b) {
        return true;
    }
    let t = match b {
        [b'-' | b'+', rest @ ..] => rest,
        _ => b,
    };
    match t {
        [b'0', b'b' | b'B', rest @ ..] if !rest.is_empty() => {
            return rest.iter().all(|c| matches!(c, b'0' | b'1' | b'_'))
        }
        [b'0', b'o' | b'O', rest @ ..] if !rest.is_empty() => {
            return rest.iter().all(|c| matches!(c, b'0'..=b'7' | b'_'))
        }
        [b'0', b'x' | b'X', rest @ ..] if !rest.is_empty() => {
            return rest.iter().all(|c| c.is_ascii_hexdigit() || *c == b'_')
        }
        [b'0'..=b'9' | b'.', ..] => {}
        _ => return false,
    }
    let mut i = 0;
    let at = |i: usize| t.get(i).copied();
    // Integer part: a digit, then digits and `_`.
    if at(0).is_some_and(|c| c.is_ascii_digit()) {
        while at(i).is_some_and(|c| c.is_ascii_digit() || c == b'_') {
            i += 1;
        }
        // Sexagesimal groups `:[0-5]?[0-9]` (any two digits: quoting more is harmless).
        while at(i) == Some(b':') {
            let start = i + 1;
            let mut end = start;
            while end < start + 2 && at(end).is_some_and(|c| c.is_ascii_digit()) {
                end += 1;
            }
            if end == start || !matches!(at(end), None | Some(b':' | b'.')) {
                return false;
            }
            i = end;
        }
    }
    // Fraction: YAML 1.1 allows further dots (`1.2.3`).
    if at(i) == Some(b'.') {
        while at(i).is_some_and(|c| c.is_ascii_digit() || c == b'.' || c == b'_') {
            i += 1;
        }
    }
    if i == 0 {
        return false;
    }
    // Exponent.
    if matches!(at(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(at(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let digits = j;
        while at(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        if j == digits {
            return false;
        }
        i = j;
    }
    i == t.len()
}

/// `YYYY-M[M]-D[D]`, alone or followed by `T`, `t`, a space or a tab (a YAML 1.1 timestamp).
fn date(b: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
    if b.len() < 8 || digits(b) != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    let rest = b.get(5..).unwrap_or_default();
    let month = digits(rest);
    if !(1..=2).contains(&month) || rest.get(month) != Some(&b'-') {
        return false;
    }
    let rest = rest.get(month + 1..).unwrap_or_default();
    let day = digits(rest);
    (1..=2).contains(&day) && matches!(rest.get(day), None | Some(b'T' | b't' | b' ' | b'\t'))
}

/// Whether a literal block keeps `s` exactly: a non-empty line, no trailing space on a line, at
/// most one final line break (the caller has excluded tabs, carriage returns and controls).
fn literal_fits(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    !body.ends_with('\n')
        && body.split('\n').any(|line| !line.is_empty())
        && body.split('\n').all(|line| !line.ends_with(' '))
}

fn write_single(out: &mut String, s: &str) {
    out.push('\'');
    let mut rest = s;
    while let Some(at) = rest.find('\'') {
        out.push_str(rest.get(..at).unwrap_or_default());
        out.push_str("''");
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out.push('\'');
}

fn write_double(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\t' => "\\t",
            '\r' => "\\r",
            c if needs_escape(c) => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        if escaped.is_empty() {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{:04X}", c as u32);
        } else {
            out.push_str(escaped);
        }
        start = i + c.len_utf8();
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// `|`, `|-` or `|2-`, then each line at `content` columns (empty lines stay empty).
fn write_literal(out: &mut String, place: Place, s: &str) {
    let content = place.child_indent().max(2);
    if let Place::Value { .. } = place {
        out.push(' ');
    }
    out.push('|');
    let body = match s.strip_suffix('\n') {
        Some(body) => body,
        None => s,
    };
    if body.split('\n').find(|l| !l.is_empty()).is_some_and(|l| l.starts_with(' ')) {
        // Relative to the parent node's indentation: the key's column, or the dash's.
        let parent = match place {
            Place::Root => 0,
            Place::Value { indent } | Place::Item { indent } => indent,
        };
        out.push(char::from_digit((content - parent) as u32, 10).unwrap_or('2'));
    }
    if body.len() == s.len() {
        out.push('-');
    }
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, content);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Writes a string in its style as a value at `place`.
fn write_str(out: &mut String, place: Place, s: &str) {
    match style(s, false) {
        Style::Literal => return write_literal(out, place, s),
        style => {
            if let Place::Value { .. } = place {
                out.push(' ');
            }
            write_inline(out, style, s);
        }
    }
    out.push('\n');
}

fn write_inline(out: &mut String, style: Style, s: &str) {
    match style {
        Style::Plain => out.push_str(s),
        Style::Single => write_single(out, s),
        Style::Double | Style::Literal => write_double(out, s),
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers.

fn write_int(out: &mut String, place: Place, n: impl itoa_like::Int) {
    let mut buf = [0u8; 40];
    scalar(out, place, n.format(&mut buf));
}

mod itoa_like {
    /// Integer formatting without the `fmt` machinery.
    pub trait Int: Copy {
        fn format(self, buf: &mut [u8; 40]) -> &str;
    }

    fn digits(mut n: u128, negative: bool, buf: &mut [u8; 40]) -> &str {
        let mut i = buf.len();
        loop {
            i -= 1;
            if let Some(slot) = buf.get_mut(i) {
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if negative {
            i -= 1;
            if let Some(slot) = buf.get_mut(i) {
                *slot = b'-';
            }
        }
        std::str::from_utf8(buf.get(i..).unwrap_or_default()).unwrap_or("0")
    }

    macro_rules! unsigned {
        ($($t:ty)*) => {$(
            impl Int for $t {
                fn format(self, buf: &mut [u8; 40]) -> &str {
                    digits(self as u128, false, buf)
                }
            }
        )*};
    }
    macro_rules! signed {
        ($($t:ty)*) => {$(
            impl Int for $t {
                fn format(self, buf: &mut [u8; 40]) -> &str {
                    digits(self.unsigned_abs() as u128, self < 0, buf)
                }
            }
        )*};
    }
    unsigned!(u8 u16 u32 u64 u128);
    signed!(i8 i16 i32 i64 i128);
}

/// A float that every schema reads back as a float: `1.0`, `0.25`, `1.5e+20`, `.inf`, `.nan`.
fn float_text(debug: String, value: f64) -> String {
    if value.is_nan() {
        return ".nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    // Rust's `{:?}` keeps the shortest round-trip digits and a `.0` on whole numbers, but
    // writes `1e20` and `1.5e-7`: YAML 1.1 needs a dot in the mantissa and a signed exponent.
    match debug.split_once('e') {
        Some((mantissa, exponent)) => {
            let dot = if mantissa.contains('.') { "" } else { ".0" };
            let sign = if exponent.starts_with('-') { "" } else { "+" };
            format!("{mantissa}{dot}e{sign}{exponent}")
        }
        None => debug,
    }
}

// ---------------------------------------------------------------------------------------------
// The serializer of a value.

struct ValueSerializer<'o> {
    out: &'o mut String,
    place: Place,
}

impl<'o> ValueSerializer<'o> {
    fn compound(self, kind: Kind) -> Compound<'o> {
        Compound { indent: self.place.child_indent(), out: self.out, place: self.place, kind, empty: true }
    }

    /// A mapping with the one key `variant` (externally tagged enums); returns the column of
    /// its key.
    fn single_key(self, variant: &str) -> (&'o mut String, usize) {
        let mut map = self.compound(Kind::Map);
        map.start_entry();
        write_key_str(map.out, variant);
        map.out.push(':');
        (map.out, map.indent)
    }
}

fn write_key_str(out: &mut String, key: &str) {
    let style = style(key, true);
    write_inline(out, style, key);
}

impl<'o> ser::Serializer for ValueSerializer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'o>;
    type SerializeTuple = Compound<'o>;
    type SerializeTupleStruct = Compound<'o>;
    type SerializeTupleVariant = Compound<'o>;
    type SerializeMap = Compound<'o>;
    type SerializeStruct = Compound<'o>;
    type SerializeStructVariant = Compound<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        scalar(self.out, self.place, if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        write_int(self.out, self.place, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        scalar(self.out, self.place, &float_text(format!("{v:?}"), f64::from(v)));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        scalar(self.out, self.place, &float_text(format!("{v:?}"), v));
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, self.place, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, self.place, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq as _;
        let mut seq = self.compound(Kind::Seq);
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        scalar(self.out, self.place, "null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let (out, indent) = self.single_key(variant);
        value.serialize(ValueSerializer { out, place: Place::Value { indent } })
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'o>, Error> {
        Ok(self.compound(Kind::Seq))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'o>, Error> {
        Ok(self.compound(Kind::Seq))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'o>, Error> {
        Ok(self.compound(Kind::Seq))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, Error> {
        let (out, indent) = self.single_key(variant);
        Ok(ValueSerializer { out, place: Place::Value { indent } }.compound(Kind::Seq))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'o>, Error> {
        Ok(self.compound(Kind::Map))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'o>, Error> {
        Ok(self.compound(Kind::Map))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, Error> {
        let (out, indent) = self.single_key(variant);
        Ok(ValueSerializer { out, place: Place::Value { indent } }.compound(Kind::Map))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

/// A mapping or sequence being written. Nothing is written until the first entry, so that an
/// empty one (a struct whose fields are all skipped, too) becomes `{}` or `[]`.
struct Compound<'o> {
    out: &'o mut String,
    place: Place,
    /// The column of the entries.
    indent: usize,
    kind: Kind,
    empty: bool,
}

impl Compound<'_> {
    /// Moves to where the next entry's key or dash goes.
    fn start_entry(&mut self) {
        if self.empty {
            self.empty = false;
            match self.place {
                Place::Root => {}
                Place::Value { .. } => {
                    self.out.push('\n');
                    indent(self.out, self.indent);
                }
                // The first entry shares the dash's line: `- key: value`, `- - a`.
                Place::Item { .. } => {}
            }
        } else {
            indent(self.out, self.indent);
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.start_entry();
        self.out.push_str("- ");
        value.serialize(ValueSerializer { out: self.out, place: Place::Item { indent: self.indent } })
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.start_entry();
        key.serialize(KeySerializer { out: self.out })?;
        self.out.push(':');
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(ValueSerializer { out: self.out, place: Place::Value { indent: self.indent } })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.start_entry();
        write_key_str(self.out, key);
        self.out.push(':');
        self.value(value)
    }

    fn finish(self) -> Result<(), Error> {
        if self.empty {
            let text = if self.kind == Kind::Map { "{}" } else { "[]" };
            scalar(self.out, self.place, text);
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping keys: scalars only, on one line.

struct KeySerializer<'o> {
    out: &'o mut String,
}

fn key_error() -> Error {
    Error("a mapping key must be a string, a number or a boolean".into())
}

impl KeySerializer<'_> {
    fn int(self, n: impl itoa_like::Int) -> Result<(), Error> {
        let mut buf = [0u8; 40];
        self.out.push_str(n.format(&mut buf));
        Ok(())
    }
}

impl ser::Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.out.push_str(&float_text(format!("{v:?}"), f64::from(v)));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.out.push_str(&float_text(format!("{v:?}"), v));
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_key_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        // Simple keys are limited to 1024 characters.
        if v.len() > 1000 {
            return Err(Error(format!("a mapping key of {} bytes is too long", v.len())));
        }
        write_key_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // a failing test panics
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Strings that some YAML reader takes for something else, or that need care.
    pub(crate) const ADVERSARIAL: &[&str] = &[
        "",
        " ",
        "  ",
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "y",
        "Y",
        "n",
        "N",
        "true",
        "True",
        "false",
        "FALSE",
        "null",
        "Null",
        "NULL",
        "~",
        "<<",
        "=",
        "1:20",
        "8080:22",
        "10:30:00",
        "1:20.5",
        "2024-01-02",
        "2024-1-2",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5",
        "0x1F",
        "0X1f",
        "0o17",
        "0b1010",
        "012",
        "0999",
        "1_000",
        "-1_000",
        "+12",
        "-7",
        "3",
        "0",
        "-0",
        "00",
        ".inf",
        "-.inf",
        "+.inf",
        ".Inf",
        ".NaN",
        ".nan",
        ".5",
        "-.5",
        "1.",
        "1.0",
        "1e3",
        "1E3",
        "1.5e-7",
        "6.8523015e+5",
        "1.27.0",
        "0.0.0.0",
        ".",
        "..",
        "...",
        "---",
        "--- a",
        "... a",
        "-",
        "- a",
        "-a",
        "--reload",
        "-c",
        "?",
        "? a",
        "?a",
        ":",
        ": a",
        ":a",
        "a:",
        "a: b",
        "a:b",
        "http://x:80/y",
        "a #b",
        "a#b",
        "#a",
        "* a",
        "*a",
        "&a",
        "!a",
        "!!str",
        "%a",
        "@a",
        "`a`",
        "\\a",
        "a\\b",
        "\\on",
        "|",
        "|a",
        ">",
        ">a",
        "'a",
        "a'b",
        "\"a",
        "a\"b",
        "[a]",
        "{a: b}",
        "a, b",
        ",a",
        "]a",
        "}a",
        " a",
        "a ",
        "\ta",
        "a\t",
        "a\tb",
        "a\nb",
        "a\nb\n",
        "a\n",
        "\n",
        "\n\n",
        "a\n\n",
        "\na",
        " a\nb",
        "  a\n b\n",
        "a \nb",
        "a\n \nb",
        "a\r\nb",
        "a\rb",
        "\u{0}",
        "a\u{7}b",
        "\u{7f}",
        "\u{85}a",
        "a\u{2028}b",
        "\u{feff}a",
        "\u{fffe}",
        "é",
        "日本語",
        "a\u{a0}b",
        "emoji 😀",
        "$",
        "$$",
        "${VAR}",
        "$${VAR}",
        "costs $5 in ${CURRENCY}",
        "127.0.0.1:8000:8000",
        "8000:8000",
        "5432:5432",
        "30s",
        "1m30s",
        "512M",
        "2G",
        "postgresql://app@db-0:5432/app",
        "pg_isready -h 127.0.0.1 -U \"${POSTGRES_USER}\"",
        "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=5)",
        "#!/bin/sh\nset -eu\necho \"$1\"\n",
        "  indented\nlines\n",
        "\n  leading newline",
        "tab\tinside\nlines",
        "trailing  \nspace",
        "CMD-SHELL",
        "a b c",
        "key=value",
        "a - b",
        "a ? b",
        "a | b",
        "@",
        "`",
    ];

    fn roundtrip(value: &Value) {
        let text = to_string(value).expect("serializes");
        assert!(text.ends_with('\n') && !text.ends_with("\n\n") || text.ends_with("|\n\n"), "{text:?}");
        let back: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(&back, value, "\n{text}");
    }

    #[test]
    fn adversarial_strings_read_back_as_themselves() {
        for s in ADVERSARIAL {
            roundtrip(&json!(s));
            roundtrip(&json!({ "k": s }));
            roundtrip(&json!([s]));
            roundtrip(&json!([[s]]));
            roundtrip(&json!({ "k": [s, { "n": s }] }));
            roundtrip(&json!([{ "k": s, "m": s }]));
            if s.len() < 1000 {
                roundtrip(&json!({ *s: s }));
                roundtrip(&json!([{ *s: { *s: [s] } }]));
            }
        }
    }

    #[test]
    fn strings_that_need_it_are_quoted() {
        let plain = |s: &str| style(s, false) == Style::Plain;
        for s in [
            "yes",
            "on",
            "no",
            "y",
            "n",
            "~",
            "1:20",
            "2024-01-02",
            "0x1F",
            "012",
            "1_000",
            ".inf",
            "1e3",
            "1.27.0",
            "0.0.0.0",
            "-",
            "- a",
            "a: b",
            "a #b",
            " a",
            "a ",
            "",
            "*a",
            "&a",
            "!a",
            "%a",
            "@a",
            "`a",
            "|",
            ">",
            "'",
            "\"",
            "#",
            "?",
            ":",
            "[",
            "]",
            "{",
            "}",
            ",",
            "---",
            "...",
            "a:",
            "<<",
            "=",
            "8080:22",
            "+1",
            "-.5",
            "\\a",
            // Every word some schema reads as a null, a boolean or a special float, in any case.
            "Yes",
            "ON",
            "off",
            "OFF",
            "null",
            "NULL",
            "true",
            "True",
            "false",
            "FALSE",
            "+.inf",
            "-.Inf",
            ".nan",
            ".NaN",
            "+.nan",
            "-.nan",
        ] {
            assert!(!plain(s), "{s:?} is plain");
        }
        for s in [
            "api",
            "-c",
            "--reload",
            "127.0.0.1:8000:8000",
            "8000:8000",
            "30s",
            "512M",
            "a:b",
            "a#b",
            "http://x:80/y",
            "unless-stopped",
            "${VAR}",
            "é",
            "1.2.3-beta",
            "v1.0",
            "12e",
            "0x",
            "a b",
            // Next to those words, but strings in every schema.
            "of",
            "offf",
            "ye",
            "yess",
            "nul",
            "nulls",
            "truth",
            "inf",
            "nan",
            "nano",
        ] {
            assert!(plain(s), "{s:?} is quoted");
        }
        assert_eq!(style("a\tb", false), Style::Double);
        assert_eq!(style("a\u{85}b", false), Style::Double);
        assert_eq!(style("a\nb", false), Style::Literal);
        assert_eq!(style("a\nb", true), Style::Double);
        assert_eq!(style("a \nb", false), Style::Double);
        assert_eq!(style("a\n\n", false), Style::Double);
        assert_eq!(style("a\r\nb", false), Style::Double);
    }

    #[test]
    fn layout() {
        let value = json!({
            "name": "x",
            "empty_map": {},
            "empty_seq": [],
            "list": ["a", "8000", { "k": "v", "l": ["b"] }, ["c", "d"], {}, []],
            "nested": { "a": { "b": 1, "c": 1.0, "d": -2.5e-8, "e": true, "f": null } },
            "script": "set -e\necho hi\n",
            "text": "  two\nlines",
        });
        let expected = "\
name: x
empty_map: {}
empty_seq: []
list:
  - a
  - '8000'
  - k: v
    l:
      - b
  - - c
    - d
  - {}
  - []
nested:
  a:
    b: 1
    c: 1.0
    d: -2.5e-8
    e: true
    f: null
script: |
  set -e
  echo hi
text: |2-
    two
  lines
";
        assert_eq!(to_string(&value).unwrap(), expected);
        assert_eq!(to_string(&json!({})).unwrap(), "{}\n");
        assert_eq!(to_string(&json!([])).unwrap(), "[]\n");
        assert_eq!(to_string(&json!("yes")).unwrap(), "'yes'\n");
        assert_eq!(document("# h\n", &json!({ "a": 1 })).unwrap(), "# h\na: 1\n");
    }

    #[test]
    fn floats_stay_floats() {
        for (value, text) in [(1.0, "1.0"), (0.25, "0.25"), (1e20, "1.0e+20"), (1.5e-7, "1.5e-7"), (-3.0, "-3.0")] {
            assert_eq!(to_string(&value).unwrap(), format!("{text}\n"));
            let back: f64 = serde_yaml::from_str(text).unwrap();
            assert_eq!(back, value);
        }
        assert_eq!(to_string(&f64::INFINITY).unwrap(), ".inf\n");
        assert_eq!(to_string(&f64::NEG_INFINITY).unwrap(), "-.inf\n");
        assert_eq!(to_string(&f64::NAN).unwrap(), ".nan\n");
        assert_eq!(to_string(&i64::MIN).unwrap(), "-9223372036854775808\n");
        assert_eq!(to_string(&u64::MAX).unwrap(), "18446744073709551615\n");
    }

    #[test]
    fn enums_and_structs() {
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, String),
            Struct { a: Option<u8> },
        }
        #[derive(serde::Serialize)]
        struct S {
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
        }
        let value = (E::Unit, E::New(1), E::Tuple(2, "no".into()), E::Struct { a: None }, S { skipped: None });
        let text = to_string(&value).unwrap();
        assert_eq!(text, "- Unit\n- New: 1\n- Tuple:\n    - 2\n    - 'no'\n- Struct:\n    a: null\n- {}\n");
        assert!(to_string(&std::collections::BTreeMap::from([((1, 2), 3)])).is_err());
    }

    /// A small deterministic generator (xorshift), so that failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn string(&mut self) -> String {
            const PIECES: &[&str] = &[
                "a",
                "Z",
                "0",
                "1",
                "9",
                " ",
                "  ",
                ":",
                ": ",
                " #",
                "#",
                "-",
                "- ",
                "?",
                ",",
                "[",
                "]",
                "{",
                "}",
                "&",
                "*",
                "!",
                "|",
                ">",
                "'",
                "\"",
                "%",
                "@",
                "`",
                "\\",
                "\n",
                "\t",
                "\r",
                ".",
                "_",
                "e",
                "x",
                "o",
                "b",
                "+",
                "$",
                "${X}",
                "é",
                "日",
                "\u{85}",
                "\u{2028}",
                "\u{feff}",
                "\u{1}",
                "yes",
                "no",
                "on",
                "~",
                "null",
                "true",
                "2024-01-02",
                "0x",
                "12",
                ":30",
                ".inf",
                "---",
                "...",
            ];
            match self.below(4) {
                0 => ADVERSARIAL[self.below(ADVERSARIAL.len())].to_string(),
                _ => (0..self.below(6)).map(|_| PIECES[self.below(PIECES.len())]).collect(),
            }
        }
        fn value(&mut self, depth: usize) -> Value {
            match self.below(if depth > 3 { 6 } else { 9 }) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 0),
                2 => json!(self.next() as i64 >> self.below(64)),
                3 => json!(
                    (self.next() >> 11) as f64 / (1u64 << self.below(60)) as f64
                        * 10f64.powi(self.below(40) as i32 - 20)
                ),
                4 | 5 => Value::String(self.string()),
                6 | 7 => Value::Object((0..self.below(4)).map(|_| (self.string(), self.value(depth + 1))).collect()),
                _ => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            }
        }
    }

    #[test]
    fn random_documents_read_back_as_themselves() {
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let samples = std::env::var_os("SIGHT_YAML_SAMPLES").map(std::path::PathBuf::from);
        for i in 0..3000 {
            let value = match (rng.below(3), ADVERSARIAL.get(i)) {
                (_, Some(s)) => json!({ *s: [s, { "k": s }] }),
                (0, None) => rng.value(0),
                (_, None) => Value::Object((0..1 + rng.below(5)).map(|_| (rng.string(), rng.value(1))).collect()),
            };
            roundtrip(&value);
            // `SIGHT_YAML_SAMPLES=DIR cargo test yaml` writes the documents (and their JSON) for
            // yamllint and PyYAML: `tools/validate/yaml_samples.py DIR`.
            if let Some(dir) = &samples {
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(dir.join(format!("{i:04}.yaml")), to_string(&value).unwrap()).unwrap();
                std::fs::write(dir.join(format!("{i:04}.json")), serde_json::to_string(&value).unwrap()).unwrap();
            }
        }
    }
}
