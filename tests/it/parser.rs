//! The parser: every construct, recovery (all syntax errors of a file in one run), and hostile
//! input (never a panic, always a position).

use sight::source::FileId;
use sight::syntax::ast::*;
use sight::syntax::parse;

use crate::support::*;

/// A compact outline of a tree: enough to see that each construct parsed as intended.
fn outline(file: &File) -> String {
    let mut out = Vec::new();
    for item in &file.items {
        let kind = item.kind.as_ref().map(|k| format!(" : {}", k.name)).unwrap_or_default();
        out.push(format!("{} {}{kind} {}", item.keyword.name, item.name.name, block(&item.body)));
    }
    out.join("\n")
}

fn block(b: &Block) -> String {
    let members: Vec<String> = b.members.iter().map(member).collect();
    format!("{{{}}}", members.join("; "))
}

fn member(m: &Member) -> String {
    match m {
        Member::Field(f) => format!("{} = {}", f.name.name, expr(&f.value)),
        Member::Block(b) => format!(
            "{}{} {}",
            b.name.name,
            b.kind.as_ref().map(|k| format!(" : {}", k.name)).unwrap_or_default(),
            block(&b.body)
        ),
        Member::Step(s) => format!(
            "step {} = {}{}{}",
            s.name.name,
            expr(&s.action),
            if s.after.is_empty() {
                String::new()
            } else {
                format!(" after [{}]", s.after.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "))
            },
            s.body.as_ref().map(|b| format!(" {}", block(b))).unwrap_or_default()
        ),
        Member::OnFailure(o) => format!("on_failure {} = {}", o.step.name, expr(&o.action)),
        Member::When(w) => format!(
            "when {} {} {}{}",
            w.signal.dotted(),
            w.op.as_str(),
            expr(&w.threshold),
            w.duration.as_ref().map(|d| format!(" for {}", expr(d))).unwrap_or_default()
        ),
    }
}

fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Str(s) => format!("str({s:?})"),
        ExprKind::Int(n) => format!("int({n})"),
        ExprKind::Float(f) => format!("float({f})"),
        ExprKind::Bool(b) => format!("bool({b})"),
        ExprKind::Duration(ms) => format!("ms({ms})"),
        ExprKind::Size(b) => format!("bytes({b})"),
        ExprKind::Percent(p) => format!("pct({p})"),
        ExprKind::List(items) => format!("[{}]", items.iter().map(expr).collect::<Vec<_>>().join(", ")),
        ExprKind::Path(p) => format!("ref({})", p.dotted()),
        ExprKind::Call(c) => format!(
            "{}({}){}",
            c.callee.dotted(),
            c.args
                .iter()
                .map(|a| format!(
                    "{}{}",
                    a.name.as_ref().map(|n| format!("{} = ", n.name)).unwrap_or_default(),
                    expr(&a.value)
                ))
                .collect::<Vec<_>>()
                .join(", "),
            c.block.as_ref().map(|b| format!(" {}", block(b))).unwrap_or_default()
        ),
        ExprKind::Error => "error".into(),
    }
}

#[track_caller]
fn check(src: &str, expected: &str) {
    let (file, diags) = parse(FileId(0), src);
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    assert_eq!(outline(&file), expected.trim());
}

/// Parses and returns the (code, line, column) of every diagnostic.
fn errors(src: &str) -> Vec<(&'static str, usize, usize)> {
    let (_, diags) = parse(FileId(0), src);
    let file = sight::source::SourceFile::new("t.sight", src);
    diags
        .iter()
        .map(|d| {
            let (line, col) = d.primary.as_ref().map_or((0, 0), |p| file.line_col(p.span.start as usize));
            (d.code.code, line, col)
        })
        .collect()
}

#[test]
fn declarations_with_and_without_kinds() {
    check(
        "service api { port = 8000 }\ndatabase pg : postgres { }",
        "service api {port = int(8000)}\ndatabase pg : postgres {}",
    );
}

#[test]
fn comments_are_kept_aside() {
    let (file, diags) = parse(FileId(0), "# top\nservice api { # trailing\n  port = 1 # after\n}\n");
    assert!(diags.is_empty());
    assert_eq!(file.comments.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), vec![" top", " trailing", " after"]);
}

#[test]
fn literals_with_units() {
    check(
        "x y { a = 30s  b = 5m  c = 1h  d = 250ms  e = 2d  f = 512Mi  g = 2Gi  h = 1%  i = 0.5%  j = 12  k = 0.25  l = true  m = false }",
        "x y {a = ms(30000); b = ms(300000); c = ms(3600000); d = ms(250); e = ms(172800000); f = bytes(536870912); g = bytes(2147483648); h = pct(1); i = pct(0.5); j = int(12); k = float(0.25); l = bool(true); m = bool(false)}",
    );
}

#[test]
fn strings_with_escapes() {
    check(r#"x y { a = "q\"b\\n\n\t$\$\u{1F600}" }"#, "x y {a = str(\"q\\\"b\\\\n\\n\\t$$😀\")}");
}

#[test]
fn lists_references_and_calls() {
    check(
        r#"x y { l = [1, "a", [b]]  r = postgres.url  c = postgres.url(driver = "pg", 3)  e = [] }"#,
        r#"x y {l = [int(1), str("a"), [ref(b)]]; r = ref(postgres.url); c = postgres.url(driver = str("pg"), int(3)); e = []}"#,
    );
}

#[test]
fn calls_with_blocks() {
    check(
        r#"service a { health = http("/h") { interval = 30s } }"#,
        r#"service a {health = http(str("/h")) {interval = ms(30000)}}"#,
    );
}

#[test]
fn nested_blocks_kinds_and_overlays() {
    check(
        r#"service a { build : python { version = "3.12" } dev { command = ["x"] } prod { } test { } env { A = "1" } }"#,
        r#"service a {build : python {version = str("3.12")}; dev {command = [str("x")]}; prod {}; test {}; env {A = str("1")}}"#,
    );
}

#[test]
fn quoted_map_keys() {
    check(
        r#"database n : neo4j { settings { "server.memory.heap.max_size" = "1G" } }"#,
        r#"database n : neo4j {settings {server.memory.heap.max_size = str("1G")}}"#,
    );
}

#[test]
fn steps_ordering_and_failure_handlers() {
    check(
        "pipeline p {\n  step a = run(api, \"x\")\n  step b = push(api) after [a] { timeout = 10m }\n  on_failure b = rollback(api)\n}",
        r#"pipeline p {step a = run(ref(api), str("x")); step b = push(ref(api)) after [a] {timeout = ms(600000)}; on_failure b = rollback(ref(api))}"#,
    );
}

#[test]
fn alert_conditions() {
    check(
        "alert a { on = api  when latency.p95 > 5s for 5m  notify = oncall }",
        "alert a {on = ref(api); when latency.p95 > ms(5000) for ms(300000); notify = ref(oncall)}",
    );
    check("alert b { when instances < 1 }", "alert b {when instances < int(1)}");
}

#[test]
fn recovery_reports_every_error_of_a_file() {
    let src = "service a { port = = 1 }\nservice b { port 2 }\nservice c { port = 3 }\ndatabase d : { }\n";
    let found = errors(src);
    assert_eq!(found, vec![("S0001", 1, 20), ("S0001", 2, 18), ("S0001", 4, 14)], "{found:?}");
    // What parsed survives: `c` is intact.
    let (file, _) = parse(FileId(0), src);
    assert!(file.items.iter().any(|i| i.name.name == "c"));
}

#[test]
fn recovery_inside_blocks_keeps_later_members() {
    let (file, diags) = parse(FileId(0), "service a {\n  port = ]\n  image = \"x:1\"\n}\n");
    assert_eq!(diags.len(), 1);
    let item = file.items.first().unwrap_or_else(|| panic!("no item"));
    assert!(item.body.members.iter().any(|m| matches!(m, Member::Field(f) if f.name.name == "image")));
}

#[test]
fn lexical_errors_point_at_the_literal() {
    assert_eq!(errors("x y { a = \"open\n}"), vec![("S0002", 1, 11)]);
    assert_eq!(errors("x y { a = \"\\q\" }"), vec![("S0003", 1, 12)]);
    assert_eq!(errors("x y { a = 5x }"), vec![("S0004", 1, 11)]);
    assert_eq!(errors("x y { a = 99999999999999999999 }"), vec![("S0004", 1, 11)]);
    assert_eq!(errors("x y { a = @ }").first().map(|e| e.0), Some("S0001"));
    assert_eq!(errors("service a {\n  port = 1\n"), vec![("S0007", 1, 11)]);
}

#[test]
fn hostile_inputs_never_panic_and_always_have_positions() {
    let deep_brackets = "x y { a = ".to_string() + &"[".repeat(100_000) + &"]".repeat(100_000) + " }";
    let deep_blocks = "x y { ".to_string() + &"a { ".repeat(100_000);
    let big = "service a { port = 1 }\n".repeat(450_000); // about 10 MB
    let random: String =
        (0u32..20_000).map(|i| char::from_u32((i.wrapping_mul(2_654_435_761) >> 7) % 0x2FFF).unwrap_or('?')).collect();
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("bom", "\u{feff}service a { port = 1 }".into()),
        ("crlf", "service a {\r\n  port = 1\r\n}\r\n".into()),
        ("truncated", "service a { build : python { version = \"3".into()),
        ("deep brackets", deep_brackets),
        ("deep blocks", deep_blocks),
        ("random", random),
        ("ten megabytes", big),
    ];
    for (name, src) in cases {
        let compiled = compile_source("", &src);
        for d in &compiled.diagnostics {
            if let Some(p) = &d.primary {
                let loc = compiled.sources.location(p.span);
                assert!(loc.line >= 1 && loc.column >= 1, "{name}: {loc:?}");
            }
        }
        if name == "bom" || name == "crlf" {
            assert!(!compiled.diagnostics.iter().any(|d| d.code.code < "S0010"), "{name}: {}", human(&compiled));
        }
        if name.starts_with("deep") {
            assert!(compiled.diagnostics.iter().any(|d| d.code.code == "S0005"), "{name}");
        }
    }
}

/// The lexer reads ASCII white space a byte at a time and decodes anything else: every kind
/// of white space Unicode knows still separates tokens, and a line break is still a line break.
#[test]
fn every_unicode_white_space_separates_tokens() {
    for space in ["\u{0b}", "\u{0c}", "\u{85}", "\u{a0}", "\u{1680}", "\u{2003}", "\u{2028}", "\u{3000}", "\u{feff}"] {
        let src = format!("project p {{ gcp {{{space}project{space}={space}\"p\"  region = \"r\" }} }}");
        assert_eq!(errors(&src), vec![], "U+{:04X}", space.chars().next().map_or(0, u32::from));
    }
    // A name stops at the first byte that cannot continue it, even inside a multi-byte character.
    assert_eq!(errors("x y { a\u{e9} = 1 }").first().map(|e| e.0), Some("S0001"));
    assert_eq!(errors("x y {\n  a = 1 # a comment\u{2028} b\n}").len(), 0, "a comment runs to the end of the line");
}
