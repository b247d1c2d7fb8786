//! Positions and file names in the protocol's terms: byte offsets ↔ line and UTF-16 column,
//! file paths ↔ `file://` URIs.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{Position, Range, Uri};

/// Line starts of a text, for converting byte offsets to LSP positions and back.
///
/// Lines end at `\n` (a `\r` before it belongs to no column a client can address); columns
/// count UTF-16 code units, the protocol's default encoding.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// The position of a byte offset (clamped to the text, moved back to a char boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let column: usize = self.text.get(start..offset).map_or(0, |s| s.chars().map(char::len_utf16).sum());
        Position { line: to_u32(line), character: to_u32(column) }
    }

    /// The byte offset of a position; a column past the end of its line means the line's end,
    /// a line past the end of the text means the text's end.
    pub fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let end = self.starts.get(position.line as usize + 1).map_or(self.text.len(), |next| next - 1);
        let line = self.text.get(start..end).unwrap_or("");
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range { start: self.position(start), end: self.position(end) }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The local path of a `file://` URI (`None` for other schemes and remote hosts).
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let rest = text.strip_prefix("file://")?;
    // `file:///path` or `file://localhost/path`.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let decoded = percent_decode(rest)?;
    if cfg!(windows) {
        // `/C:/dir` → `C:/dir`.
        let bytes = decoded.as_bytes();
        if bytes.len() >= 3 && bytes.get(2) == Some(&b':') && bytes.get(1).is_some_and(u8::is_ascii_alphabetic) {
            return Some(PathBuf::from(decoded.get(1..).unwrap_or(&decoded)));
        }
    }
    Some(PathBuf::from(decoded))
}

/// The `file://` URI of an absolute path.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = if text.starts_with('/') { text } else { format!("/{text}") };
    let mut out = String::from("file://");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Uri::from_str(&out).ok()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "a = \"é😀\" b\nsecond\r\nthird";
        let index = LineIndex::new(text);
        // `b` is after `a = "` (5), é (1 unit), 😀 (2 units), `" ` (2).
        let b = text.find(" b").map_or(0, |i| i + 1);
        assert_eq!(index.position(b), Position { line: 0, character: 10 });
        assert_eq!(index.offset(Position { line: 0, character: 10 }), b);
        // A column inside the surrogate pair lands after the emoji's start, never mid-char.
        let mid = index.offset(Position { line: 0, character: 7 });
        assert!(text.is_char_boundary(mid));
        assert_eq!(index.offset(Position { line: 1, character: 99 }), text.find("\r\n").unwrap_or(0));
        assert_eq!(index.offset(Position { line: 9, character: 0 }), text.len());
        assert_eq!(index.position(text.len()), Position { line: 2, character: 5 });
    }

    #[test]
    fn file_uris_round_trip() {
        let path = PathBuf::from("/tmp/my project/ü.sight");
        let uri = path_to_uri(&path);
        assert_eq!(uri.as_ref().map(|u| u.as_str()), Some("file:///tmp/my%20project/%C3%BC.sight"));
        assert_eq!(uri.as_ref().and_then(uri_to_path), Some(path));
        let untitled = Uri::from_str("untitled:Untitled-1").ok();
        assert_eq!(untitled.as_ref().and_then(uri_to_path), None);
    }
}
