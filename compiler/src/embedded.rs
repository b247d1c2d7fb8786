//! Files compiled into the binary by `build.rs`: the standard library and the explain pages.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The long explanation of a code, if its page exists.
pub fn explain_text(code: &str) -> Option<&'static str> {
    EXPLAIN_TEXTS.iter().find(|(c, _)| *c == code).map(|(_, text)| *text)
}
