//! Limits the checker applies before its work: a pipeline past
//! [`MAX_STEPS`](crate::limits::MAX_STEPS) is S0163 and is not checked further (relating its
//! steps with each other would take as long as their number squared).

use crate::check::Checker;
use crate::diagnostics::{codes, Diagnostic};
use crate::syntax::ast::Member;

pub fn run(checker: &mut Checker) {
    let max = crate::limits::MAX_STEPS;
    let mut over = Vec::new();
    for (name, item) in &checker.decls.pipelines {
        let steps = item.body.members.iter().filter(|m| matches!(m, Member::Step(_))).count();
        if steps > max {
            over.push(*name);
            checker.diagnostics.push(
                Diagnostic::new(&codes::TOO_MANY_STEPS, format!("pipeline `{name}` has {steps} steps, more than {max}"))
                    .at(item.name.span, "too many steps")
                    .with_help(format!(
                        "sight checks at most {max} steps per pipeline: split it into several pipelines (the spec is probably generated wrongly)"
                    )),
            );
        }
    }
    for name in over {
        checker.decls.pipelines.remove(name);
    }
}
