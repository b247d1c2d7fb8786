//! The importer's YAML reader: a tree whose every node knows its line, so that a field that
//! cannot be mapped is reported where the user wrote it. YAML is read only here (yaml-rust2's
//! event parser, which keeps marks; serde_yaml drops them).
//!
//! Compose files use YAML 1.1 habits that a 1.2 parser does not resolve by itself: anchors and
//! aliases (resolved here by copying the anchored node), merge keys `<<: *x` (keys written
//! in the mapping win over merged ones, earlier merged mappings over later ones), and the
//! Compose tags `!reset` and `!override` (kept on the node, for the merge of several files).
//! Scalars keep their text; whether a plain scalar is `null`, a boolean or a number is decided
//! where the value is used.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Text as written, and whether it was plain (unquoted: may be null, a bool or a number).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Yaml>),
    /// Keys in order (merge keys resolved).
    Map(Vec<(String, Yaml)>),
}

/// A node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Yaml {
    pub node: Node,
    /// 1-based line.
    pub line: usize,
    /// `reset` or `override` (Compose's merge tags), else empty.
    pub tag: String,
    /// Which of the imported files it comes from (an index into the caller's list).
    pub file: usize,
}

impl Yaml {
    pub fn scalar(text: &str, line: usize) -> Yaml {
        Yaml { node: Node::Scalar { text: text.to_string(), plain: false }, line, tag: String::new(), file: 0 }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.node, Node::Scalar { text, plain: true } if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }

    /// A scalar's text (`None` for null, sequences and mappings).
    pub fn as_str(&self) -> Option<&str> {
        match &self.node {
            Node::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.node {
            Node::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Yaml]> {
        match &self.node {
            Node::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(String, Yaml)]> {
        match &self.node {
            Node::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Yaml> {
        self.as_map()?.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Marks this node and every node below it as coming from file `file`.
    pub fn set_file(&mut self, file: usize) {
        self.file = file;
        match &mut self.node {
            Node::Scalar { .. } => {}
            Node::Seq(items) => items.iter_mut().for_each(|i| i.set_file(file)),
            Node::Map(entries) => entries.iter_mut().for_each(|(_, v)| v.set_file(file)),
        }
    }
}

/// A YAML syntax error: its line and message.
#[derive(Debug, PartialEq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

/// Parses the first document of `text`; `Ok(None)` for an empty file.
///
/// Go's YAML parser (Compose's) accepts a flow sequence or mapping whose closing bracket
/// stands alone on a line less indented than its content (`command: [` … `]` under the key);
/// yaml-rust2 does not. On that error the closing line is indented like the line before it
/// and the text is read again (flow context ignores the indentation; lines keep their numbers).
pub fn parse(text: &str) -> Result<Option<Yaml>, YamlError> {
    match parse_once(text) {
        Err(e) if e.message.contains("indentation") => {
            let mut previous_indent = 0;
            let lines: Vec<String> = text
                .lines()
                .map(|line| {
                    let trimmed = line.trim();
                    let indent = line.len() - line.trim_start().len();
                    if matches!(trimmed, "]" | "}" | "]," | "},") && indent < previous_indent {
                        return format!("{}{trimmed}", " ".repeat(previous_indent));
                    }
                    if !trimmed.is_empty() {
                        previous_indent = indent;
                    }
                    line.to_string()
                })
                .collect();
            parse_once(&lines.join("\n")).map_err(|_| e)
        }
        other => other,
    }
}

fn parse_once(text: &str) -> Result<Option<Yaml>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text).keep_tags(true);
    parser
        .load(&mut builder, false)
        .map_err(|e| YamlError { line: e.marker().line(), message: e.info().to_string() })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.document)
}

enum Open {
    Seq {
        items: Vec<Yaml>,
        line: usize,
        anchor: usize,
        tag: String,
    },
    /// `key`: the pending key and its line (a value is reported at its key's line).
    Map {
        entries: Vec<(String, Yaml)>,
        merges: Vec<Yaml>,
        key: Option<(String, usize)>,
        line: usize,
        anchor: usize,
        tag: String,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: BTreeMap<usize, Yaml>,
    document: Option<Yaml>,
    done: bool,
    error: Option<YamlError>,
}

impl Builder {
    fn add(&mut self, mut value: Yaml, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.document.is_none() && !self.done {
                    self.document = Some(value);
                }
            }
            Some(Open::Seq { items, .. }) => items.push(value),
            Some(Open::Map { entries, merges, key, .. }) => match key.take() {
                None => match &value.node {
                    Node::Scalar { text, .. } => *key = Some((text.clone(), value.line)),
                    _ => {
                        self.error = Some(YamlError {
                            line: value.line,
                            message: "a mapping key that is not a scalar".to_string(),
                        })
                    }
                },
                Some((k, _)) if k == "<<" => match value.node {
                    Node::Seq(items) => merges.extend(items),
                    _ => merges.push(value),
                },
                Some((k, line)) => {
                    value.line = line;
                    entries.push((k, value));
                }
            },
        }
    }
}

fn tag_name(tag: &Option<yaml_rust2::parser::Tag>) -> String {
    match tag {
        Some(t) if t.handle == "!" && (t.suffix == "reset" || t.suffix == "override") => t.suffix.clone(),
        _ => String::new(),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::DocumentEnd => self.done = self.document.is_some(),
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain;
                self.add(Yaml { node: Node::Scalar { text, plain }, line, tag: tag_name(&tag), file: 0 }, anchor);
            }
            Event::Alias(anchor) => {
                let value = self.anchors.get(&anchor).cloned().unwrap_or(Yaml {
                    node: Node::Scalar { text: String::new(), plain: true },
                    line,
                    tag: String::new(),
                    file: 0,
                });
                self.add(value, 0);
            }
            Event::SequenceStart(anchor, tag) => {
                self.stack.push(Open::Seq { items: Vec::new(), line, anchor, tag: tag_name(&tag) });
            }
            Event::MappingStart(anchor, tag) => self.stack.push(Open::Map {
                entries: Vec::new(),
                merges: Vec::new(),
                key: None,
                line,
                anchor,
                tag: tag_name(&tag),
            }),
            Event::SequenceEnd => {
                if let Some(Open::Seq { items, line, anchor, tag }) = self.stack.pop() {
                    self.add(Yaml { node: Node::Seq(items), line, tag, file: 0 }, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Open::Map { mut entries, merges, line, anchor, tag, .. }) = self.stack.pop() {
                    // Written keys win; among merged mappings, the first one wins.
                    for merged in merges {
                        for (k, v) in merged.as_map().unwrap_or_default() {
                            if !entries.iter().any(|(e, _)| e == k) {
                                entries.push((k.clone(), v.clone()));
                            }
                        }
                    }
                    self.add(Yaml { node: Node::Map(entries), line, tag, file: 0 }, anchor);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn lines_anchors_and_merge_keys() {
        let text = "x-env: &env\n  A: 1\n  B: 2\nservices:\n  api:\n    environment:\n      <<: *env\n      B: 3\n    image: \"nginx\"\n";
        let doc = parse(text).unwrap().unwrap();
        let api = doc.get("services").unwrap().get("api").unwrap();
        assert_eq!(api.line, 5);
        let env = api.get("environment").unwrap();
        let keys: Vec<(&str, &str)> =
            env.as_map().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
        assert_eq!(keys, [("B", "3"), ("A", "1")]);
        assert_eq!(api.get("image").unwrap().line, 9);
        assert!(matches!(api.get("image").unwrap().node, Node::Scalar { plain: false, .. }));
    }

    #[test]
    fn tags_nulls_and_errors() {
        let doc = parse("a: !reset null\nb:\nc: !override [1]\n").unwrap().unwrap();
        assert_eq!(doc.get("a").unwrap().tag, "reset");
        assert!(doc.get("b").unwrap().is_null());
        assert_eq!(doc.get("c").unwrap().tag, "override");
        assert_eq!(parse("a: [1\n").unwrap_err().line, 2);
        assert_eq!(parse("").unwrap(), None);
    }
}
