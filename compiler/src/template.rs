//! The one place that talks to handlebars: stdlib text templates (image names, environment,
//! connection URLs, step scripts) and the Dockerfile templates.
//!
//! Speed: the checker renders a connection URL per use (thousands in a large project), so
//! rendering never compiles the same template twice. Text without `{{` is returned as is, text
//! whose only placeholders are plain `{{name}}` with a string, number or boolean value is filled
//! in directly (what handlebars would write, tested below), and every other template is compiled
//! once per thread and kept.

use std::cell::RefCell;

use handlebars::Handlebars;

thread_local! {
    /// A registry holding every template compiled so far, named by its text.
    static ENGINE: RefCell<Handlebars<'static>> = RefCell::new(engine());
}

fn engine() -> Handlebars<'static> {
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    engine.register_escape_fn(handlebars::no_escape);
    engine
}

/// Renders `template` with `context`. Strict: a missing variable is an error, never "".
/// Nothing is HTML-escaped: the outputs are shell, Dockerfile and URL text.
pub fn render(template: &str, context: &serde_json::Value) -> Result<String, String> {
    if !template.contains("{{") {
        return Ok(template.to_string());
    }
    if let Some(text) = render_simple(template, context) {
        return Ok(text);
    }
    ENGINE.with(|engine| {
        let mut engine = engine.borrow_mut();
        if !engine.has_template(template) {
            engine.register_template_string(template, template).map_err(|e| e.to_string())?;
        }
        engine.render(template, context).map_err(|e| e.to_string())
    })
}

/// `template` filled in when every placeholder is a plain `{{name}}` whose value in `context`
/// is a string, a number or a boolean; `None` for anything else (handlebars decides).
fn render_simple(template: &str, context: &serde_json::Value) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let (before, after) = rest.split_at(open);
        // `\{{` escapes a placeholder in handlebars.
        if before.ends_with('\\') {
            return None;
        }
        out.push_str(before);
        let inner = after.get(2..)?;
        let close = inner.find("}}")?;
        let name = inner.get(..close)?.trim_matches(' ');
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || name == "else" {
            return None;
        }
        match context.get(name)? {
            serde_json::Value::String(s) => out.push_str(s),
            serde_json::Value::Number(n) => out.push_str(&n.to_string()),
            serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            _ => return None,
        }
        rest = inner.get(close + 2..)?;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // a failing test panics
mod tests {
    use super::*;
    use serde_json::json;

    fn handlebars(template: &str, context: &serde_json::Value) -> Result<String, String> {
        engine().render_template(template, context).map_err(|e| e.to_string())
    }

    #[test]
    fn the_fast_paths_write_what_handlebars_writes() {
        let context = json!({
            "user": "app", "port": 5432, "ratio": 0.5, "flag": true, "list": ["a"], "map": { "k": "v" },
            "nothing": null, "amp": "a&b<c>\"d\"", "name_2": "x",
        });
        for template in [
            "plain text",
            "{{user}}",
            "{{ user }}",
            "postgresql://{{user}}@{{host}}:{{port}}/{{name}}",
            "{{user}}:{{port}}/{{ratio}}/{{flag}}/{{name_2}}",
            "{{amp}}",
            "{{{user}}}",
            "\\{{user}}",
            "{{#if flag}}yes{{else}}no{{/if}}",
            "{{list}}",
            "{{map.k}}",
            "{{nothing}}",
            "{{missing}}",
            "{{~user~}}",
            "a {{ b",
            "{{user}} {{! a comment }}",
        ] {
            let expected = handlebars(template, &context);
            let actual = render(template, &context);
            match (&expected, &actual) {
                (Ok(e), Ok(a)) => assert_eq!(a, e, "{template}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{template}: handlebars {expected:?}, render {actual:?}"),
            }
        }
        // Twice: the second rendering comes from the compiled template.
        let t = "{{#each list}}{{this}}{{/each}}";
        assert_eq!(render(t, &context).unwrap(), "a");
        assert_eq!(render(t, &context).unwrap(), "a");
    }
}
