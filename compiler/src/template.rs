//! The one place that talks to handlebars: stdlib text templates (image names, environment,
//! connection URLs, step scripts) and the Dockerfile templates.

use handlebars::Handlebars;

/// Renders `template` with `context`. Strict: a missing variable is an error, never "".
/// Nothing is HTML-escaped: the outputs are shell, Dockerfile and URL text.
pub fn render(template: &str, context: &serde_json::Value) -> Result<String, String> {
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    engine.register_escape_fn(handlebars::no_escape);
    engine.render_template(template, context).map_err(|e| e.to_string())
}
