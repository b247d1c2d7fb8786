//! `sight lsp` through the real binary: a scripted editor session on a two-file project.

pub mod client;

use std::path::Path;

use serde_json::{json, Value};

use self::client::{position, uri, Client};

const MANIFEST: &str = "[project]\nname = \"demo\"\n";

const INFRA_BROKEN: &str = r#"project demo {
  gcp { project = "demo-prod"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/demo-prod/app" }
}

secret db_password { from = secret_manager("db-password", version = 3) }

database postgres : postgres {
  user = "app"
}
"#;

const INFRA_FIXED: &str = r#"project demo {
  gcp { project = "demo-prod"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/demo-prod/app" }
}

secret db_password { from = secret_manager("db-password", version = 3) }

database postgres : postgres {
  password = secret.db_password
  user = "app"

}
"#;

const APP_BROKEN: &str = r#"# The API.
service api {
  image = "nginx:1.27"
  port = 8000
  env { DATABASE_URL = postgres.url(driver = "postgresql+asyncpg") }
  depends_on = [postgress]
}
"#;

/// Fixed, and formatted badly on purpose.
const APP_FIXED: &str = r#"# The API.
service api {
  image = "nginx:1.27"
  port =    8000
  env { DATABASE_URL = postgres.url(driver = "postgresql+asyncpg") }
  depends_on = [postgres]
}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    let mut codes: Vec<&str> = diagnostics.iter().filter_map(|d| d.get("code").and_then(Value::as_str)).collect();
    codes.sort_unstable();
    codes
}

fn open(client: &mut Client, uri: &str, text: &str) {
    let params = json!({ "textDocument": { "uri": uri, "languageId": "sight", "version": 1, "text": text } });
    client.notify("textDocument/didOpen", params).unwrap_or_else(|e| panic!("{e}"));
}

fn change(client: &mut Client, uri: &str, version: i64, text: &str) {
    let params = json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] });
    client.notify("textDocument/didChange", params).unwrap_or_else(|e| panic!("{e}"));
}

fn at(uri: &str, position: Value) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": position })
}

fn hover_text(result: &Value) -> String {
    result.pointer("/contents/value").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn labels(result: &Value) -> Vec<String> {
    let items = result.get("items").and_then(Value::as_array).or(result.as_array()).cloned().unwrap_or_default();
    items.iter().filter_map(|i| i.get("label").and_then(Value::as_str).map(str::to_string)).collect()
}

#[test]
fn scripted_editor_session() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    write(root, "sight.toml", MANIFEST);
    write(root, "infra.sight", INFRA_BROKEN);
    write(root, "app.sight", APP_BROKEN);
    let infra = uri(&root.join("infra.sight"));
    let app = uri(&root.join("app.sight"));

    let (mut client, init) =
        Client::start(Path::new(env!("CARGO_BIN_EXE_sight")), root).unwrap_or_else(|e| panic!("{e}"));
    let caps = init.get("capabilities").cloned().unwrap_or_default();
    for capability in
        ["hoverProvider", "definitionProvider", "referencesProvider", "renameProvider", "documentFormattingProvider"]
    {
        assert!(caps.get(capability).is_some(), "missing {capability} in {caps}");
    }
    assert_eq!(caps.pointer("/textDocumentSync/change"), Some(&json!(1)), "full sync");

    // Errors in both files, each published on its own file, with the CLI's codes.
    open(&mut client, &app, APP_BROKEN);
    let app_diagnostics = client.diagnostics(&app).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(codes(&app_diagnostics), ["S0102"], "{app_diagnostics:?}");
    open(&mut client, &infra, INFRA_BROKEN);
    // Opening app.sight compiled the whole project, infra.sight as it is on disk; opening
    // infra.sight publishes again, with the document's version.
    let from_disk = client.diagnostics(&infra).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(codes(&from_disk), ["S0111", "S0121"], "{from_disk:?}");
    let infra_diagnostics = client.diagnostics(&infra).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(codes(&infra_diagnostics), ["S0111", "S0121"], "{infra_diagnostics:?}");
    let unknown = &app_diagnostics[0];
    assert_eq!(unknown.get("source"), Some(&json!("sight")));
    assert_eq!(unknown.get("severity"), Some(&json!(1)));
    assert_eq!(
        unknown.get("range"),
        Some(
            &json!({ "start": position(APP_BROKEN, "postgress", 0, 0), "end": position(APP_BROKEN, "postgress]", 0, 9) })
        )
    );
    let message = unknown.get("message").and_then(Value::as_str).unwrap_or_default();
    assert!(message.contains("no service or data store named `postgress`"), "{message}");
    assert!(message.contains("help: did you mean `postgres`?"), "{message}");

    // Quick fixes: the help's suggestion, and the missing required field.
    let range = unknown.get("range").cloned().unwrap_or_default();
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": app }, "range": range, "context": { "diagnostics": [unknown] } }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(actions.pointer("/0/title"), Some(&json!("Replace `postgress` with `postgres`")), "{actions}");
    let edit = actions.pointer(&format!("/0/edit/changes/{}/0", app.replace('~', "~0").replace('/', "~1")));
    assert_eq!(edit.and_then(|e| e.get("newText")), Some(&json!("postgres")), "{actions}");
    assert_eq!(edit.and_then(|e| e.get("range")), Some(&range));

    let missing =
        infra_diagnostics.iter().find(|d| d.get("code") == Some(&json!("S0111"))).cloned().unwrap_or_default();
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": infra }, "range": missing.get("range"), "context": { "diagnostics": [missing] } }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(actions.pointer("/0/title"), Some(&json!("Add `password = secret.db_password`")), "{actions}");
    let edits = actions.pointer(&format!("/0/edit/changes/{}", infra.replace('~', "~0").replace('/', "~1")));
    assert_eq!(edits.and_then(|e| e.pointer("/0/newText")), Some(&json!("\n  password = secret.db_password")));

    // Fix both files: each gets empty diagnostics.
    change(&mut client, &app, 2, APP_FIXED);
    assert_eq!(client.diagnostics(&app).unwrap_or_else(|e| panic!("{e}")), Vec::<Value>::new());
    change(&mut client, &infra, 2, INFRA_FIXED);
    assert_eq!(client.diagnostics(&infra).unwrap_or_else(|e| panic!("{e}")), Vec::<Value>::new());

    // Hover: a kind, a field, references to a store and to a secret.
    let kind = client
        .request("textDocument/hover", at(&infra, position(INFRA_FIXED, ": postgres", 0, 3)))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = hover_text(&kind);
    assert!(text.contains("**postgres**: data store kind"), "{text}");
    assert!(text.contains("`max_connections`: an integer"), "{text}");
    let field = client
        .request("textDocument/hover", at(&app, position(APP_FIXED, "port", 0, 1)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(hover_text(&field).contains("**port**: an integer"), "{field}");
    assert!(hover_text(&field).contains("The container port the service listens on."), "{field}");
    let store = client
        .request("textDocument/hover", at(&app, position(APP_FIXED, "postgres.url", 0, 2)))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = hover_text(&store);
    assert!(text.contains("database postgres : postgres"), "{text}");
    assert!(text.contains("image `postgres:16` · port `5432`"), "{text}");
    assert!(text.contains("`postgres.url` → `postgresql://app@postgres:5432/app`"), "{text}");
    let url = client
        .request("textDocument/hover", at(&app, position(APP_FIXED, "url(", 0, 1)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(hover_text(&url).contains("`postgresql+asyncpg://app@postgres:5432/app`"), "{url}");
    let secret = client
        .request("textDocument/hover", at(&infra, position(INFRA_FIXED, "secret.db_password", 0, 8)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(hover_text(&secret).contains("Secret Manager `db-password`, version `3`"), "{secret}");

    // Definition and references across files.
    let definition = client
        .request("textDocument/definition", at(&app, position(APP_FIXED, "postgres]", 0, 0)))
        .unwrap_or_else(|e| panic!("{e}"));
    let declared = json!({
        "uri": infra,
        "range": { "start": position(INFRA_FIXED, "postgres :", 0, 0), "end": position(INFRA_FIXED, "postgres :", 0, 8) },
    });
    assert_eq!(definition, declared);
    let references = client
        .request(
            "textDocument/references",
            json!({
                "textDocument": { "uri": infra },
                "position": position(INFRA_FIXED, "postgres :", 0, 3),
                "context": { "includeDeclaration": true },
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let places: Vec<(String, Value)> = references
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| {
            (
                l.get("uri").and_then(Value::as_str).unwrap_or_default().to_string(),
                l.pointer("/range/start").cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            (infra.clone(), position(INFRA_FIXED, "postgres :", 0, 0)),
            (app.clone(), position(APP_FIXED, "postgres.url", 0, 0)),
            (app.clone(), position(APP_FIXED, "postgres]", 0, 0)),
        ]
    );

    // Completion: the fields of the kind block (with types and docs), the kinds of a class.
    let completion = client
        .request("textDocument/completion", at(&infra, position(INFRA_FIXED, "\n\n}", 0, 1)))
        .unwrap_or_else(|e| panic!("{e}"));
    let names = labels(&completion);
    assert!(names.contains(&"max_connections".to_string()), "{names:?}");
    assert!(names.contains(&"version".to_string()), "{names:?}");
    assert!(!names.contains(&"user".to_string()), "`user` is already set: {names:?}");
    assert!(!names.contains(&"port".to_string()), "a service field: {names:?}");
    let items = completion.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
    let max = items.iter().find(|i| i.get("label") == Some(&json!("max_connections"))).cloned().unwrap_or_default();
    assert_eq!(max.get("detail"), Some(&json!("an integer")));
    let doc = max.pointer("/documentation/value").and_then(Value::as_str).unwrap_or_default();
    assert!(doc.contains("max_connections") && doc.contains("default: `100`"), "{doc}");
    let kinds = client
        .request("textDocument/completion", at(&infra, position(INFRA_FIXED, ": postgres", 0, 2)))
        .unwrap_or_else(|e| panic!("{e}"));
    let names = labels(&kinds);
    assert!(names.contains(&"redis".to_string()) && names.contains(&"postgres".to_string()), "{names:?}");
    assert!(!names.contains(&"python".to_string()), "a runtime is not a store: {names:?}");
    let secrets = client
        .request("textDocument/completion", at(&infra, position(INFRA_FIXED, "secret.db", 0, 7)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(labels(&secrets), ["db_password"]);

    // Rename a store from a reference: the declaration and both references, in two files.
    let rename = client
        .request(
            "textDocument/rename",
            json!({ "textDocument": { "uri": app }, "position": position(APP_FIXED, "postgres]", 0, 2), "newName": "db" }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let changes = rename.get("changes").cloned().unwrap_or_default();
    let count = |uri: &str| changes.get(uri).and_then(Value::as_array).map_or(0, Vec::len);
    assert_eq!((count(&infra), count(&app)), (1, 2), "{rename}");
    assert!(changes
        .get(&app)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| e.get("newText") == Some(&json!("db"))));
    let invalid = client.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": app }, "position": position(APP_FIXED, "postgres]", 0, 2), "newName": "Bad Name" }),
    );
    assert!(invalid.is_err(), "{invalid:?}");

    // Formatting through the formatter.
    let formatting = client
        .request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": app }, "options": { "tabSize": 2, "insertSpaces": true } }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = sight::format::format_source(APP_FIXED).unwrap_or_default();
    assert!(expected.contains("port = 8000"));
    assert_eq!(formatting.pointer("/0/newText"), Some(&json!(expected)), "{formatting}");
    assert_eq!(formatting.pointer("/0/range/start"), Some(&json!({ "line": 0, "character": 0 })));

    assert_eq!(client.stop(), Ok(Some(0)));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `name` in a grammar (scopes of patterns and captures).
fn scope_names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("name", Value::String(s)) => out.extend(s.split_whitespace().map(str::to_string)),
                    _ => scope_names(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| scope_names(v, out)),
        _ => {}
    }
}

/// The VS Code extension's JSON files parse, agree with each other, and the grammar names
/// the language's lexical classes and every declaration keyword of the parser.
#[test]
fn vscode_extension_files_are_consistent() {
    let root = crate::support::repo_root().join("editors/vscode");
    let package = read_json(&root.join("package.json"));
    let grammar_entry = package.pointer("/contributes/grammars/0").cloned().unwrap_or_default();
    assert_eq!(grammar_entry.get("language"), Some(&json!("sight")));
    assert_eq!(grammar_entry.get("scopeName"), Some(&json!("source.sight")));
    assert_eq!(package.pointer("/contributes/languages/0/extensions"), Some(&json!([".sight"])));
    assert!(package.pointer("/dependencies/vscode-languageclient").is_some());
    for file in ["main", "/contributes/languages/0/configuration", "/contributes/grammars/0/path"] {
        let path = if file == "main" { package.get("main") } else { package.pointer(file) };
        let path = path.and_then(Value::as_str).unwrap_or_else(|| panic!("package.json has no {file}"));
        assert!(root.join(path).is_file(), "{path} is missing");
    }
    let configuration = read_json(&root.join("language-configuration.json"));
    assert_eq!(configuration.pointer("/comments/lineComment"), Some(&json!("#")));

    let grammar = read_json(&root.join("syntaxes/sight.tmLanguage.json"));
    assert_eq!(grammar.get("scopeName"), Some(&json!("source.sight")));
    let mut names = Vec::new();
    // (The top-level `name` is the grammar's title, not a scope.)
    scope_names(grammar.get("patterns").unwrap_or(&Value::Null), &mut names);
    scope_names(grammar.get("repository").unwrap_or(&Value::Null), &mut names);
    assert!(names.iter().all(|n| n.ends_with(".sight")), "every scope ends with .sight: {names:?}");
    for scope in [
        "comment.line.number-sign.sight",
        "string.quoted.double.sight",
        "constant.character.escape.sight",
        "invalid.illegal.escape.sight",
        "constant.numeric.sight",
        "constant.numeric.duration.sight",
        "keyword.other.unit.duration.sight",
        "constant.numeric.size.sight",
        "keyword.other.unit.size.sight",
        "constant.numeric.percentage.sight",
        "constant.language.boolean.sight",
        "storage.type.declaration.sight",
        "entity.name.type.sight",
        "support.type.kind.sight",
        "keyword.control.step.sight",
        "keyword.control.after.sight",
        "keyword.control.on-failure.sight",
        "keyword.control.when.sight",
        "keyword.control.for.sight",
        "keyword.other.overlay.sight",
    ] {
        assert!(names.iter().any(|n| n == scope), "the grammar has no `{scope}`");
    }
    // Included rules exist.
    let repository = grammar.get("repository").and_then(Value::as_object).cloned().unwrap_or_default();
    let text = grammar.to_string();
    for include in text.split("\"include\":\"#").skip(1).filter_map(|s| s.split('"').next()) {
        assert!(repository.contains_key(include), "`#{include}` is not in the repository");
    }
    // The declaration rule lists exactly the parser's keywords; the units are the lexer's.
    let declaration = grammar.pointer("/repository/declaration/match").and_then(Value::as_str).unwrap_or_default();
    let listed: Vec<&str> = declaration
        .split_once("^\\s*(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(keywords, _)| keywords.split('|').collect())
        .unwrap_or_default();
    let keywords: Vec<&str> = sight::syntax::KEYWORDS.iter().map(|(k, _)| *k).collect();
    assert_eq!(listed, keywords);
    for (unit, _) in sight::syntax::lexer::DURATION_UNITS.iter().chain(sight::syntax::lexer::SIZE_UNITS) {
        assert!(
            text.contains(&format!("|{unit}|"))
                || text.contains(&format!("({unit}|"))
                || text.contains(&format!("|{unit})")),
            "unit `{unit}` missing"
        );
    }
}
