//! Alerts: the target, its kind's signal catalogue, threshold units and ranges, durations and
//! channels. Thresholds leave here in the metric's own unit.

use std::collections::BTreeMap;

use crate::check::Checker;
use crate::diagnostics::{codes, unknown_name_help, Diagnostic};
use crate::model::*;
use crate::stdlib::SignalForm;
use crate::syntax::ast::{CompareOp, ExprKind, Item, Member};
use crate::template;

const SEVERITIES: &[&str] = &["critical", "error", "warning"];

impl Checker<'_> {
    pub fn alerts(
        &mut self,
        services: &Services,
        stores: &BTreeMap<String, Store>,
        channels: &BTreeMap<String, Channel>,
        project: Option<&Project>,
    ) -> BTreeMap<String, Alert> {
        let _ = channels;
        let mut out = BTreeMap::new();
        let items: Vec<&Item> = self.decls.alerts.values().copied().collect();
        for item in items {
            if let Some(a) = self.alert(item, services, stores, project) {
                out.insert(a.name.clone(), a);
            }
        }
        out
    }

    fn alert(
        &mut self,
        item: &Item,
        services: &Services,
        stores: &BTreeMap<String, Store>,
        project: Option<&Project>,
    ) -> Option<Alert> {
        let mut target = None;
        let mut when = None;
        let mut channels = Vec::new();
        let mut notify_seen = false;
        let mut auto_close_ms = None;
        let mut severity = "error".to_string();
        for member in &item.body.members {
            match member {
                Member::When(w) => when = Some(w),
                Member::Field(f) => match (f.name.name.as_str(), &f.value.kind) {
                    ("on", ExprKind::Path(p)) => target = Some(p),
                    ("on", _) => self.type_error(&f.value, "the name of a service or store", "on"),
                    ("notify", value) => {
                        // `notify = []` notifies nobody, like no `notify` at all.
                        notify_seen = !matches!(value, ExprKind::List(items) if items.is_empty());
                        channels = self.channel_refs(&f.value);
                    }
                    ("auto_close", ExprKind::Duration(ms)) => auto_close_ms = Some(*ms),
                    ("auto_close", _) => self.type_error(&f.value, "a duration such as `30m`", "auto_close"),
                    ("severity", ExprKind::Str(s)) if SEVERITIES.contains(&s.as_str()) => severity = s.to_string(),
                    ("severity", _) => {
                        self.type_error(&f.value, "`\"critical\"`, `\"error\"` or `\"warning\"`", "severity")
                    }
                    (other, _) => self.unknown_field(
                        "an alert",
                        other,
                        f.name.span,
                        ["on", "when", "notify", "auto_close", "severity"],
                    ),
                },
                other => {
                    self.report(
                        Diagnostic::new(
                            &codes::UNKNOWN_FIELD,
                            "an alert takes `on`, `when`, `notify`, `auto_close` and `severity`",
                        )
                        .at(other.span(), "not allowed here")
                        .with_help("write `when error_rate > 1% for 5m`"),
                    );
                }
            }
        }
        if !notify_seen {
            self.report(
                Diagnostic::new(&codes::ALERT_WITHOUT_CHANNEL, format!("alert `{}` notifies nobody", item.name.name))
                    .at(item.name.span, "no `notify`")
                    .with_help("add `notify = oncall` with a declared `channel`"),
            );
        }
        let Some(target) = target else {
            self.report(
                Diagnostic::new(&codes::MISSING_FIELD, format!("alert `{}` watches nothing", item.name.name))
                    .at(item.name.span, "needs `on`")
                    .with_help("add `on = api` (a deployed service or a data store)"),
            );
            return None;
        };
        let Some(when) = when else {
            self.report(
                Diagnostic::new(&codes::MISSING_FIELD, format!("alert `{}` has no condition", item.name.name))
                    .at(item.name.span, "needs `when`")
                    .with_help("add `when error_rate > 1% for 5m`"),
            );
            return None;
        };
        let target_name = target.dotted();
        let (kind, render_context) = if let Some(service) = services.get(&target_name) {
            let Some(deploy) = &service.deploy else {
                self.report(
                    Diagnostic::new(
                        &codes::ALERT_ON_UNDEPLOYED,
                        format!("service `{target_name}` is never deployed, so it has no metrics"),
                    )
                    .at(target.span, "not deployed")
                    .with_help(format!(
                        "add `deploy : cloud_run {{ … }}` to `{target_name}`, or watch a deployed service"
                    )),
                );
                return None;
            };
            (deploy.target.clone(), serde_json::json!({ "name": target_name }))
        } else if let Some(store) = stores.get(&target_name) {
            let instance = store.fields.get("instance").and_then(Value::as_str).unwrap_or(&store.name).to_string();
            let project_id = project.map(|p| p.gcp.project.clone()).unwrap_or_default();
            (
                store.kind.clone(),
                serde_json::json!({ "name": target_name, "instance_id": format!("{project_id}:{instance}") }),
            )
        } else {
            if !self.decls.services.contains_key(target_name.as_str())
                && !self.decls.stores.contains_key(target_name.as_str())
            {
                let candidates =
                    self.decls.services.keys().chain(self.decls.stores.keys()).map(|k| k.to_string()).collect();
                self.unknown_reference(target.span, &target_name, "service or data store", candidates);
            }
            return None;
        };
        let signal_name = when.signal.dotted();
        let Some(signal) = kind.signals.get(&signal_name).cloned() else {
            let help = if kind.signals.is_empty() {
                format!("a `{}` has no signals Cloud Monitoring can watch", kind.name)
            } else {
                unknown_name_help(&signal_name, kind.signals.keys().map(String::as_str))
            };
            self.report(
                Diagnostic::new(
                    &codes::UNKNOWN_SIGNAL,
                    format!("a `{}` target has no signal `{signal_name}`", kind.name),
                )
                .at(when.signal.span, "unknown signal")
                .with_help(help),
            );
            return None;
        };
        let monitored = kind.monitored()?.clone();
        let (threshold, threshold_text) =
            self.threshold(when, &signal, &signal_name, stores.get(&target_name), &kind.name)?;
        let duration_ms = match when.duration.as_ref().map(|d| &d.kind) {
            None => 300_000,
            Some(ExprKind::Duration(ms)) if *ms > 0 && ms % 60_000 == 0 && *ms <= 86_400_000 => *ms,
            Some(ExprKind::Duration(ms)) => {
                let span = when.duration.as_ref().map_or(when.span, |d| d.span);
                // Whole minutes, at most a day (a duration near `u64::MAX` must not overflow).
                let rounded = ms.div_ceil(60_000).clamp(1, 1440) * 60_000;
                let (problem, label) = if *ms > 86_400_000 {
                    ("is longer than a day", "Cloud Monitoring takes at most 1d")
                } else {
                    ("is not a whole number of minutes", "Cloud Monitoring takes multiples of 60s")
                };
                self.report(
                    Diagnostic::new(
                        &codes::ALERT_DURATION_NOT_MINUTES,
                        format!("alert duration {} {problem}", crate::units::duration_single(*ms)),
                    )
                    .at(span, label)
                    .with_help(format!("write `for {}`", crate::units::duration_single(rounded))),
                );
                return None;
            }
            Some(_) => {
                if let Some(d) = &when.duration {
                    self.type_error(d, "a duration such as `5m`", "for");
                }
                return None;
            }
        };
        let resource_filter = template::render(&monitored.filter, &render_context).ok()?;
        Some(Alert {
            name: item.name.name.as_str().to_owned(),
            target: target_name,
            target_kind: kind.clone(),
            signal_name,
            signal,
            comparison: match when.op {
                CompareOp::Gt => Comparison::Above,
                CompareOp::Lt => Comparison::Below,
            },
            threshold,
            threshold_text,
            duration_ms,
            auto_close_ms,
            severity,
            channels,
            resource_filter,
            group_by: monitored.group_by.clone(),
            // Filled in by `check`, which knows the file paths.
            file: String::new(),
            span: item.name.span,
        })
    }

    /// The threshold in the metric's unit, and as written.
    fn threshold(
        &mut self,
        when: &crate::syntax::ast::When,
        signal: &crate::stdlib::SignalDef,
        name: &str,
        store: Option<&Store>,
        kind: &str,
    ) -> Option<(f64, String)> {
        let expr = &when.threshold;
        let text = crate::format::expr_text(expr);
        let percent = |checker: &mut Checker, p: f64| -> Option<f64> {
            // `> 0%` (any error at all) and `< 100%` can fire; `> 100%` and `< 0%` cannot.
            let label = if !(0.0..=100.0).contains(&p) {
                "outside 0% to 100%"
            } else if p >= 100.0 && when.op == CompareOp::Gt {
                "a share never exceeds 100%"
            } else if p <= 0.0 && when.op == CompareOp::Lt {
                "a share is never below 0%"
            } else {
                ""
            };
            if !label.is_empty() {
                checker.report(
                    Diagnostic::new(
                        &codes::THRESHOLD_OUT_OF_RANGE,
                        format!("`{name} {} {p}%` can never fire", when.op.as_str()),
                    )
                    .at(expr.span, label)
                    .with_help(format!("`{name}` is a share between 0% and 100%: pick a threshold inside it")),
                );
                return None;
            }
            Some(p / 100.0)
        };
        let mismatch = |checker: &mut Checker, expected: &str| {
            checker.report(
                Diagnostic::new(
                    &codes::THRESHOLD_UNIT_MISMATCH,
                    format!("`{name}` compares with {expected}, not {}", crate::check::values::describe_expr(expr)),
                )
                .at(expr.span, format!("expected {expected}"))
                .with_help(format!(
                    "`{name}`: {}; write e.g. `{}`",
                    signal.doc.trim_end_matches('.'),
                    match signal.form {
                        SignalForm::Percentile => "5s",
                        SignalForm::Gauge => "10",
                        _ => "80%",
                    }
                )),
            );
        };
        let value = match (signal.form, &expr.kind) {
            (SignalForm::Ratio | SignalForm::Utilization, ExprKind::Percent(p)) => percent(self, *p)?,
            (SignalForm::PercentOfField, ExprKind::Percent(p)) => {
                let fraction = percent(self, *p)?;
                let field = signal.percent_of.as_deref().unwrap_or("");
                let Some(limit) = store.and_then(|s| s.fields.get(field)).and_then(Value::as_f64) else {
                    self.report(
                        Diagnostic::new(
                            &codes::PERCENT_WITHOUT_LIMIT,
                            match store {
                                Some(s) => format!("`{name}` is a share of `{field}`, which `{}` does not set", s.name),
                                None => format!("`{name}` is a share of `{field}`, which a `{kind}` target cannot set"),
                            },
                        )
                        .at(expr.span, format!("{p}% of an unknown limit"))
                        .with_help(match store {
                            Some(s) => format!(
                                "set `{field} = …` on `{}` to the limit the server enforces: the threshold is {p}% of it",
                                s.name
                            ),
                            None => format!("the `{kind}` kind's `{name}` signal needs a `{field}` field"),
                        }),
                    );
                    return None;
                };
                (fraction * limit * 1000.0).round() / 1000.0
            }
            (SignalForm::Percentile, ExprKind::Duration(ms)) => *ms as f64 / signal.ms_per_unit.unwrap_or(1.0),
            (SignalForm::Gauge, ExprKind::Int(n)) => *n as f64,
            (SignalForm::Gauge, ExprKind::Float(f)) => *f,
            (SignalForm::Percentile, _) => {
                mismatch(self, "a duration");
                return None;
            }
            (SignalForm::Gauge, _) => {
                mismatch(self, "a number");
                return None;
            }
            _ => {
                mismatch(self, "a percentage");
                return None;
            }
        };
        Some((value, text))
    }
}
