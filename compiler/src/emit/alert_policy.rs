//! Cloud Monitoring alert policies: one `AlertPolicy` per alert, at `<dir>/<alert>.yaml`, the
//! input of `gcloud monitoring policies create --policy-from-file` (FACTS §5, §7 items 32–37).
//!
//! Traps, and how this module avoids them:
//! - One policy per file, camelCase keys, no `name` on the policy or its conditions: create
//!   assigns them (FACTS §7 item 36).
//! - A percentage of requests is a ratio. `ALIGN_RATE` on the 5xx count is requests per
//!   second, so `> 0.01` would fire at 0.6 errors a minute. A `ratio` signal gets a
//!   `denominatorFilter` and `denominatorAggregations` identical to its aggregations, which
//!   the API requires (same period, same labels) (FACTS §5 ERROR RATE, item 32).
//! - A threshold compares numbers, so a DISTRIBUTION is first reduced to a percentile:
//!   `ALIGN_DELTA` (merges each window, stays a distribution) then `REDUCE_PERCENTILE_NN`
//!   across series, which is the percentile of all requests. `ALIGN_PERCENTILE_NN` +
//!   `REDUCE_MAX` would be a maximum over per-series percentiles. Percentile aligners and
//!   reducers never touch a numeric metric, and `REDUCE_MAX` never a distribution (item 34);
//!   the stdlib loader rejects signals that would need them (`SignalDef::consistency_error`).
//! - `alignmentPeriod` is 60s with every aligner; the checker makes `duration` a multiple of
//!   60s; `comparison` is only ever `COMPARISON_GT` or `COMPARISON_LT` (item 34).
//! - Thresholds arrive in the metric's unit from the checker (5s → 5000 on a latency in ms,
//!   80% → 0.8 on a utilization, 90% of `max_connections = 100` → 90) (item 33).
//! - Filters always name `resource.type` (the kind's resource filter) and `metric.type`
//!   (item 35), joined by ` AND `.
//! - `notificationChannels` holds full channel names; the checker requires at least one
//!   (item 37). `userLabels` values are lowercased and limited to `[a-z0-9_-]{0,63}`.
//! - `autoClose` defaults to 30m, not the API's 7 days: an idle Cloud Run service with
//!   `min_instances = 0` stops emitting request metrics, and its incident would stay open.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::emit::{join, Artifact, InternalError};
use crate::model::{Alert, Comparison, Model};
use crate::stdlib::SignalForm;
use crate::units::{duration_compact, duration_seconds, number};

/// Every aggregation measures one-minute windows; the alert's `for` is the persistence.
const ALIGNMENT_PERIOD: &str = "60s";
/// `autoClose` when the alert sets no `auto_close` (see the module documentation).
const DEFAULT_AUTO_CLOSE_MS: u64 = 30 * 60_000;
/// `documentation.content` is limited to 8,192 bytes.
const MAX_CONTENT_BYTES: usize = 8192;
/// The percentile a utilization distribution is reduced to when its signal names none.
const DEFAULT_UTILIZATION_PERCENTILE: u8 = 99;

pub fn emit(model: &Model, dir: &str) -> Result<Vec<Artifact>, InternalError> {
    model
        .alerts
        .values()
        .map(|alert| {
            let path = join(dir, &format!("{}.yaml", alert.name));
            let policy = policy(model, alert)?;
            let header = format!(
                "{}# Create once: gcloud monitoring policies create --project={} --policy-from-file={path}\n\
                 # Create is not idempotent: later, update the policy labelled sight_alert={} instead.\n\n",
                crate::emit::header::header(model, "#"),
                model.project.gcp.project,
                label_value(&alert.name),
            );
            Ok(Artifact { contents: crate::emit::yaml::document(&header, &policy)?, path })
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertPolicy {
    display_name: String,
    documentation: Documentation,
    user_labels: BTreeMap<&'static str, String>,
    conditions: Vec<Condition>,
    combiner: &'static str,
    enabled: bool,
    notification_channels: Vec<String>,
    alert_strategy: AlertStrategy,
    severity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Documentation {
    content: String,
    mime_type: &'static str,
    subject: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    display_name: String,
    condition_threshold: ConditionThreshold,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConditionThreshold {
    filter: String,
    aggregations: Vec<Aggregation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    denominator_filter: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    denominator_aggregations: Vec<Aggregation>,
    comparison: &'static str,
    threshold_value: Threshold,
    duration: String,
    trigger: Trigger,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Aggregation {
    alignment_period: &'static str,
    per_series_aligner: &'static str,
    cross_series_reducer: String,
    group_by_fields: Vec<String>,
}

#[derive(Serialize)]
struct Trigger {
    count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertStrategy {
    auto_close: String,
}

/// `thresholdValue` is a double; a whole value is written without `.0` (`5000`, `90`).
struct Threshold(f64);

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 1e15 {
            serializer.serialize_i64(self.0 as i64)
        } else {
            serializer.serialize_f64(self.0)
        }
    }
}

fn policy(model: &Model, alert: &Alert) -> Result<AlertPolicy, InternalError> {
    let gcp = &model.project.gcp;
    let title = title(alert);
    let severity = alert.severity.to_uppercase();
    let mut notification_channels: Vec<String> = Vec::new();
    for name in &alert.channels {
        let channel = model
            .channels
            .get(name)
            .ok_or_else(|| InternalError(format!("alert `{}` notifies the unknown channel `{name}`", alert.name)))?;
        if !notification_channels.contains(&channel.id) {
            notification_channels.push(channel.id.clone());
        }
    }
    let user_labels = BTreeMap::from([
        ("managed_by", "sight".to_string()),
        ("sight_project", label_value(&model.project.name)),
        ("sight_alert", label_value(&alert.name)),
        ("target", label_value(&alert.target)),
        ("signal", label_value(&alert.signal_name)),
    ]);
    Ok(AlertPolicy {
        display_name: format!("{title} for {}", duration_compact(alert.duration_ms)),
        documentation: Documentation {
            content: documentation(model, alert, &title)?,
            mime_type: "text/markdown",
            subject: format!("[{severity}] {title} ({})", gcp.project),
        },
        user_labels,
        conditions: vec![Condition {
            display_name: condition_name(model, alert),
            condition_threshold: threshold(alert)?,
        }],
        combiner: "OR",
        enabled: true,
        notification_channels,
        alert_strategy: AlertStrategy {
            auto_close: duration_seconds(alert.auto_close_ms.unwrap_or(DEFAULT_AUTO_CLOSE_MS)),
        },
        severity,
    })
}

/// The condition: filters and aggregations per signal form (FACTS §5 valid combinations).
fn threshold(alert: &Alert) -> Result<ConditionThreshold, InternalError> {
    let signal = &alert.signal;
    let metric_filter = format!("{} AND metric.type = \"{}\"", alert.resource_filter, signal.metric);
    let aggregation = |aligner: &'static str, reducer: String| Aggregation {
        alignment_period: ALIGNMENT_PERIOD,
        per_series_aligner: aligner,
        cross_series_reducer: reducer,
        group_by_fields: alert.group_by.clone(),
    };
    let distribution = signal.value_type == "DISTRIBUTION";
    let kind = signal.metric_kind.as_str();
    let percentile_reducer = |p: u8| format!("REDUCE_PERCENTILE_{p:02}");
    let (filter, aggregation, denominator) = match signal.form {
        SignalForm::Ratio => {
            let numerator = signal.numerator_filter.as_deref().ok_or_else(|| {
                InternalError(format!("ratio signal `{}` has no numerator_filter", alert.signal_name))
            })?;
            let aggregation = aggregation(count_aligner(kind), "REDUCE_SUM".to_string());
            (format!("{metric_filter} AND {numerator}"), aggregation.clone(), Some((metric_filter, aggregation)))
        }
        SignalForm::Percentile | SignalForm::Utilization if distribution => {
            let percentile = match signal.form {
                SignalForm::Percentile => signal.percentile.ok_or_else(|| {
                    InternalError(format!("percentile signal `{}` names no percentile", alert.signal_name))
                })?,
                _ => signal.percentile.unwrap_or(DEFAULT_UTILIZATION_PERCENTILE),
            };
            (metric_filter, aggregation(distribution_aligner(kind), percentile_reducer(percentile)), None)
        }
        SignalForm::Percentile => {
            return Err(InternalError(format!("percentile signal `{}` is not a distribution", alert.signal_name)))
        }
        // A numeric utilization (Cloud SQL CPU): the busiest series decides.
        SignalForm::Utilization => (metric_filter, aggregation(mean_aligner(kind), "REDUCE_MAX".to_string()), None),
        // Connections per database add up to the instance's total.
        SignalForm::PercentOfField | SignalForm::Gauge => {
            (metric_filter, aggregation(mean_aligner(kind), "REDUCE_SUM".to_string()), None)
        }
    };
    let (denominator_filter, denominator_aggregations) = match denominator {
        Some((f, a)) => (Some(f), vec![a]),
        None => (None, Vec::new()),
    };
    Ok(ConditionThreshold {
        filter,
        aggregations: vec![aggregation],
        denominator_filter,
        denominator_aggregations,
        comparison: match alert.comparison {
            Comparison::Above => "COMPARISON_GT",
            Comparison::Below => "COMPARISON_LT",
        },
        threshold_value: Threshold(alert.threshold),
        duration: duration_seconds(alert.duration_ms),
        trigger: Trigger { count: 1 },
    })
}

/// Counts per window: the change of a DELTA or CUMULATIVE metric, the mean of a gauge.
fn count_aligner(metric_kind: &str) -> &'static str {
    match metric_kind {
        "GAUGE" => "ALIGN_MEAN",
        _ => "ALIGN_DELTA",
    }
}

/// Merges a distribution per window and keeps it a distribution (ALIGN_DELTA needs DELTA or
/// CUMULATIVE; ALIGN_SUM takes a GAUGE distribution).
fn distribution_aligner(metric_kind: &str) -> &'static str {
    match metric_kind {
        "GAUGE" => "ALIGN_SUM",
        _ => "ALIGN_DELTA",
    }
}

/// The level of a numeric metric per window (ALIGN_MEAN takes GAUGE and DELTA only).
fn mean_aligner(metric_kind: &str) -> &'static str {
    match metric_kind {
        "CUMULATIVE" => "ALIGN_DELTA",
        _ => "ALIGN_MEAN",
    }
}

/// `api error rate above 1%`, `postgres connections above 90% of max_connections`.
fn title(alert: &Alert) -> String {
    let signal = alert.signal.title.as_deref().unwrap_or(alert.signal_name.as_str());
    format!("{} {signal} {} {}{}", alert.target, direction(alert), alert.threshold_text, share_of(alert))
}

fn direction(alert: &Alert) -> &'static str {
    match alert.comparison {
        Comparison::Above => "above",
        Comparison::Below => "below",
    }
}

fn operator(alert: &Alert) -> &'static str {
    match alert.comparison {
        Comparison::Above => ">",
        Comparison::Below => "<",
    }
}

/// ` of max_connections` for a share of a declared field, else nothing.
fn share_of(alert: &Alert) -> String {
    match (alert.signal.form, &alert.signal.percent_of) {
        (SignalForm::PercentOfField, Some(field)) => format!(" of {field}"),
        _ => String::new(),
    }
}

/// The declared limit a `percent_of_field` threshold is a share of (`max_connections = 100`).
fn limit(model: &Model, alert: &Alert) -> Option<(String, f64)> {
    let field = alert.signal.percent_of.as_ref()?;
    let value = model.stores.get(&alert.target)?.fields.get(field)?.as_f64()?;
    Some((field.clone(), value))
}

/// The threshold in the metric's unit, described: `ratio 0.01`, `5000 ms`, `fraction 0.8`.
fn threshold_in_metric_units(model: &Model, alert: &Alert) -> String {
    let value = number(alert.threshold);
    match alert.signal.form {
        SignalForm::Ratio => format!("ratio {value}"),
        SignalForm::Percentile => format!("{value} {}", alert.signal.unit),
        SignalForm::Utilization => format!("fraction {value}"),
        SignalForm::PercentOfField => match limit(model, alert) {
            Some((field, limit)) => format!("`{field}` = {}, so {value}", number(limit)),
            None => value,
        },
        SignalForm::Gauge => value,
    }
}

/// `error_rate > 0.01 (1%), per minute, for 5m`: the API's number, then the spec's.
fn condition_name(model: &Model, alert: &Alert) -> String {
    let value = number(alert.threshold);
    let value = match alert.signal.form {
        SignalForm::Percentile => format!("{value} {}", alert.signal.unit),
        _ => value,
    };
    let written = match (alert.signal.form, limit(model, alert)) {
        (SignalForm::Gauge, _) => String::new(),
        (SignalForm::PercentOfField, Some((field, limit))) => {
            format!(" ({} of {field} {})", alert.threshold_text, number(limit))
        }
        _ => format!(" ({})", alert.threshold_text),
    };
    format!(
        "{} {} {value}{written}, per minute, for {}",
        alert.signal_name,
        operator(alert),
        duration_compact(alert.duration_ms)
    )
}

/// How the signal is computed, in words, for the documentation.
fn signal_description(alert: &Alert) -> String {
    let signal = &alert.signal;
    let target = &alert.target;
    let metric = &signal.metric;
    let windows = "1-minute windows";
    match signal.form {
        SignalForm::Ratio => format!(
            "`{metric}` matching `{}` / all `{metric}` of `{target}`, each summed over {windows} (a ratio, not a rate per second)",
            signal.numerator_filter.as_deref().unwrap_or("")
        ),
        SignalForm::Percentile | SignalForm::Utilization if signal.value_type == "DISTRIBUTION" => {
            let percentile = signal
                .percentile
                .unwrap_or(DEFAULT_UTILIZATION_PERCENTILE);
            format!(
                "the {percentile}th percentile of `{metric}` (a distribution, unit `{}`), all series of `{target}` merged, over {windows}",
                signal.unit
            )
        }
        SignalForm::Percentile | SignalForm::Utilization => format!(
            "`{metric}` (unit `{}`), mean over {windows}, the highest series of `{target}`",
            signal.unit
        ),
        SignalForm::PercentOfField | SignalForm::Gauge => format!(
            "`{metric}`, mean over {windows}, summed over all series of `{target}`"
        ),
    }
}

fn documentation(model: &Model, alert: &Alert, title: &str) -> Result<String, InternalError> {
    let gcp = &model.project.gcp;
    let signal_title = alert.signal.title.as_deref().unwrap_or(alert.signal_name.as_str());
    let duration = duration_compact(alert.duration_ms);
    let auto_close = duration_compact(alert.auto_close_ms.unwrap_or(DEFAULT_AUTO_CLOSE_MS));
    let doc = alert.signal.doc.trim_end_matches('.');
    let mut lines = vec![
        format!("## {title}"),
        String::new(),
        format!(
            "On `{}`, {signal_title} stayed {} **{}**{} in every 1-minute window for {duration}.",
            alert.target,
            direction(alert),
            alert.threshold_text,
            share_of(alert),
        ),
        String::new(),
        format!("- **Signal:** `{}`: {doc}. Computed as {}.", alert.signal_name, signal_description(alert)),
        format!(
            "- **Threshold:** {} {}{} ({}), sustained {duration}.",
            operator(alert),
            alert.threshold_text,
            share_of(alert),
            threshold_in_metric_units(model, alert)
        ),
        format!("- **Closes:** when the condition clears, or automatically after {auto_close} without data."),
        format!("- **Project:** `{}`, region `{}`.", gcp.project, gcp.region),
    ];
    let steps = runbook(model, alert)?;
    if !steps.is_empty() {
        lines.extend([String::new(), "### First steps".to_string(), String::new()]);
        lines.extend(steps.iter().enumerate().map(|(i, step)| format!("{}. {step}", i + 1)));
    }
    let file = if alert.file.is_empty() { "the spec".to_string() } else { format!("`{}`", alert.file) };
    lines.extend([
        String::new(),
        "### Source".to_string(),
        String::new(),
        format!("Generated by sight from this declaration in {file}:"),
        String::new(),
        "```".to_string(),
        declaration(alert),
        "```".to_string(),
    ]);
    // Markdown ends with one line break; no line keeps trailing spaces, so the YAML writer
    // can use a literal block.
    let mut content: String = lines.iter().map(|l| format!("{}\n", l.trim_end())).collect();
    if content.len() > MAX_CONTENT_BYTES {
        // The API rejects longer content; cut at a line end below the limit.
        let mut end = MAX_CONTENT_BYTES;
        while end > 0 && !content.is_char_boundary(end) {
            end -= 1;
        }
        let cut = content.get(..end).and_then(|s| s.rfind('\n')).map_or(end, |i| i + 1);
        content.truncate(cut);
    }
    Ok(content)
}

/// The signal's first steps, rendered for this target.
fn runbook(model: &Model, alert: &Alert) -> Result<Vec<String>, InternalError> {
    let gcp = &model.project.gcp;
    let mut context = serde_json::Map::new();
    context.insert("name".into(), alert.target.clone().into());
    context.insert("project".into(), gcp.project.clone().into());
    context.insert("region".into(), gcp.region.clone().into());
    if let Some(store) = model.stores.get(&alert.target) {
        // The Cloud SQL instance, as the checker derives it for the resource filter.
        let instance = store.fields.get("instance").and_then(crate::model::Value::as_str).unwrap_or(&store.name);
        context.insert("instance".into(), instance.into());
    }
    let context = serde_json::Value::Object(context);
    alert
        .signal
        .runbook
        .iter()
        .map(|step| {
            crate::template::render(step, &context).map_err(|e| {
                InternalError(format!(
                    "the runbook of signal `{}` of kind `{}` ({}) does not render: {e}",
                    alert.signal_name, alert.target_kind.name, alert.target_kind.source
                ))
            })
        })
        .collect()
}

/// The alert as sight reads it, in the language's own syntax.
fn declaration(alert: &Alert) -> String {
    let notify = match alert.channels.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let mut fields = vec![
        format!("on = {}", alert.target),
        format!(
            "when {} {} {} for {}",
            alert.signal_name,
            operator(alert),
            alert.threshold_text,
            duration_compact(alert.duration_ms)
        ),
        format!("notify = {notify}"),
    ];
    if let Some(ms) = alert.auto_close_ms {
        fields.push(format!("auto_close = {}", duration_compact(ms)));
    }
    fields.push(format!("severity = {}", crate::format::quote(&alert.severity)));
    format!("alert {} {{ {} }}", alert.name, fields.join("  "))
}

/// A `userLabels` value: lowercase letters, digits, `_` and `-`, at most 63 characters
/// (FACTS §5). Anything else becomes `_` (`latency.p95` → `latency_p95`).
fn label_value(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
            _ => '_',
        })
        .take(63)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{compile, ProjectInput};
    use serde_yaml::Value as Yaml;

    const SRC: &str = r#"
project demo {
  gcp { project = "demo-prod"  region = "europe-west1"  registry = "europe-west1-docker.pkg.dev/demo-prod/app" }
}
secret pw { from = secret_manager("pw", version = 1) }
secret hook { from = secret_manager("hook", version = 1) }
database db : postgres { password = secret.pw  max_connections = 100  instance = "demo-db" }
service api {
  image = "nginx:1.27"
  port = 8080
  env { DATABASE_PASSWORD = secret.pw }
  deploy : cloud_run { memory = 2Gi  cpu = 2 }
}
channel oncall : slack {
  webhook = secret.hook
  id = "projects/demo-prod/notificationChannels/42"
}
alert api_errors  { on = api  when error_rate > 1%  for 5m  notify = oncall  auto_close = 1h }
alert api_latency { on = api  when latency.p95 > 5s  for 5m  notify = oncall  severity = "warning" }
alert api_memory  { on = api  when memory > 80%  for 10m  notify = oncall }
alert db_pool     { on = db  when connections > 90%  for 2m  notify = oncall }
alert db_cpu      { on = db  when cpu > 75%  for 5m  notify = oncall }
alert api_idle    { on = api  when instances < 1  for 15m  notify = oncall }
"#;

    static NULL: Yaml = Yaml::Null;

    /// The value at `path` (mapping keys, or sequence indices written as numbers); Null when
    /// absent.
    fn at<'a>(value: &'a Yaml, path: &[&str]) -> &'a Yaml {
        path.iter().fold(value, |v, key| {
            match key.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(*key),
            }
            .unwrap_or(&NULL)
        })
    }

    fn model() -> Option<Model> {
        let compiled = compile(&ProjectInput {
            manifest: String::new(),
            sources: vec![("a.sight".into(), SRC.into())],
            ..Default::default()
        });
        let errors: Vec<&str> =
            compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.as_str()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(compiled.model.is_some());
        compiled.model
    }

    fn artifacts() -> Vec<Artifact> {
        let result = model().as_ref().map(|m| emit(m, "monitoring/alerts"));
        assert!(matches!(result, Some(Ok(_))), "{result:?}");
        result.and_then(Result::ok).unwrap_or_default()
    }

    /// Alert name → parsed policy.
    fn policies() -> BTreeMap<String, Yaml> {
        artifacts()
            .into_iter()
            .map(|a| {
                let name = a.path.strip_prefix("monitoring/alerts/").and_then(|p| p.strip_suffix(".yaml"));
                assert!(name.is_some(), "{} is not <dir>/<alert>.yaml", a.path);
                let parsed = serde_yaml::from_str::<Yaml>(&a.contents);
                assert!(parsed.is_ok(), "{parsed:?}");
                (name.unwrap_or_default().to_string(), parsed.unwrap_or_default())
            })
            .collect()
    }

    fn policy(name: &str) -> Yaml {
        let mut policies = policies();
        assert!(policies.contains_key(name), "no policy {name}");
        policies.remove(name).unwrap_or_default()
    }

    fn condition(policy: &Yaml) -> &Yaml {
        at(policy, &["conditions", "0", "conditionThreshold"])
    }

    #[test]
    fn one_policy_per_alert_without_a_name() {
        let policies = policies();
        assert_eq!(
            policies.keys().collect::<Vec<_>>(),
            ["api_errors", "api_idle", "api_latency", "api_memory", "db_cpu", "db_pool"]
        );
        for policy in policies.values() {
            assert!(policy.get("name").is_none());
            assert_eq!(at(policy, &["conditions"]).as_sequence().map(Vec::len), Some(1));
            assert!(at(policy, &["conditions", "0", "name"]).is_null());
            assert_eq!(at(policy, &["combiner"]), "OR");
            assert_eq!(at(policy, &["enabled"]).as_bool(), Some(true));
            assert_eq!(at(policy, &["documentation", "mimeType"]), "text/markdown");
        }
    }

    #[test]
    fn error_rate_is_a_ratio_with_identical_aggregations() {
        let policy = policy("api_errors");
        let t = condition(&policy);
        let denominator = at(t, &["denominatorFilter"]).as_str().unwrap_or_default();
        let numerator = at(t, &["filter"]).as_str().unwrap_or_default();
        assert_eq!(numerator, format!("{denominator} AND metric.labels.response_code_class = \"5xx\""));
        assert!(denominator.contains("resource.type = \"cloud_run_revision\""), "{denominator}");
        assert!(denominator.contains("metric.type = \"run.googleapis.com/request_count\""));
        assert!(!at(t, &["aggregations"]).is_null());
        assert_eq!(at(t, &["aggregations"]), at(t, &["denominatorAggregations"]));
        assert_eq!(at(t, &["aggregations", "0", "perSeriesAligner"]), "ALIGN_DELTA");
        assert_eq!(at(t, &["aggregations", "0", "crossSeriesReducer"]), "REDUCE_SUM");
        assert_eq!(at(t, &["aggregations", "0", "groupByFields", "0"]), "resource.labels.service_name");
        assert_eq!(at(t, &["thresholdValue"]).as_f64(), Some(0.01));
        assert_eq!(at(t, &["comparison"]), "COMPARISON_GT");
    }

    #[test]
    fn thresholds_are_in_the_metric_unit() {
        let policies = policies();
        let value = |name: &str| policies.get(name).and_then(|p| at(condition(p), &["thresholdValue"]).as_f64());
        assert_eq!(value("api_latency"), Some(5000.0));
        assert_eq!(value("api_memory"), Some(0.8));
        assert_eq!(value("db_pool"), Some(90.0));
        assert_eq!(value("db_cpu"), Some(0.75));
        assert_eq!(value("api_idle"), Some(1.0));
        assert_eq!(at(condition(&policy("api_idle")), &["comparison"]), "COMPARISON_LT");
    }

    #[test]
    fn whole_thresholds_are_written_without_a_fraction() {
        let text = artifacts().into_iter().find(|a| a.path.ends_with("/db_pool.yaml")).map(|a| a.contents);
        assert!(text.as_deref().is_some_and(|t| t.contains("thresholdValue: 90\n")), "{text:?}");
    }

    #[test]
    fn durations_are_whole_minutes_and_periods_60s() {
        for (name, policy) in policies() {
            let t = condition(&policy);
            let duration = at(t, &["duration"]).as_str().unwrap_or_default();
            let seconds = duration.strip_suffix('s').and_then(|s| s.parse::<u64>().ok());
            assert!(seconds.is_some_and(|s| s > 0 && s % 60 == 0), "{name}: {duration:?}");
            for key in ["aggregations", "denominatorAggregations"] {
                for agg in at(t, &[key]).as_sequence().into_iter().flatten() {
                    assert_eq!(at(agg, &["alignmentPeriod"]), "60s", "{name}");
                }
            }
        }
        assert_eq!(at(condition(&policy("api_memory")), &["duration"]), "600s");
        assert_eq!(at(&policy("api_errors"), &["alertStrategy", "autoClose"]), "3600s");
        assert_eq!(at(&policy("api_latency"), &["alertStrategy", "autoClose"]), "1800s");
    }

    #[test]
    fn percentiles_only_on_distributions() {
        let model = model();
        let policies = policies();
        for alert in model.iter().flat_map(|m| m.alerts.values()) {
            let agg = policies.get(&alert.name).map_or(&NULL, |p| at(condition(p), &["aggregations", "0"]));
            let aligner = at(agg, &["perSeriesAligner"]).as_str().unwrap_or_default();
            let reducer = at(agg, &["crossSeriesReducer"]).as_str().unwrap_or_default();
            assert!(!aligner.is_empty() && !reducer.is_empty(), "{}", alert.name);
            let distribution = alert.signal.value_type == "DISTRIBUTION";
            let percentile = aligner.contains("PERCENTILE") || reducer.contains("PERCENTILE");
            assert_eq!(percentile, distribution, "{}", alert.name);
            if distribution {
                assert!(!["REDUCE_MAX", "REDUCE_MIN"].contains(&reducer), "{}", alert.name);
            }
        }
        let agg = |name: &str, key: &str| {
            policies.get(name).map_or(&NULL, |p| at(condition(p), &["aggregations", "0", key])).clone()
        };
        assert_eq!(agg("api_latency", "perSeriesAligner"), "ALIGN_DELTA");
        assert_eq!(agg("api_latency", "crossSeriesReducer"), "REDUCE_PERCENTILE_95");
        assert_eq!(agg("api_memory", "crossSeriesReducer"), "REDUCE_PERCENTILE_99");
        assert_eq!(agg("db_cpu", "perSeriesAligner"), "ALIGN_MEAN");
        assert_eq!(agg("db_pool", "perSeriesAligner"), "ALIGN_MEAN");
        assert_eq!(agg("db_pool", "crossSeriesReducer"), "REDUCE_SUM");
        let pool = policy("db_pool");
        let filter = at(condition(&pool), &["filter"]).as_str().unwrap_or_default();
        assert!(filter.contains("resource.labels.database_id = \"demo-prod:demo-db\""), "{filter}");
    }

    #[test]
    fn every_policy_notifies_a_channel_and_has_valid_labels() {
        let valid = |s: &str| {
            s.len() <= 63 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        };
        for (name, policy) in policies() {
            assert_eq!(
                at(&policy, &["notificationChannels", "0"]),
                "projects/demo-prod/notificationChannels/42",
                "{name}"
            );
            assert_eq!(at(&policy, &["userLabels", "managed_by"]), "sight");
            let labels = at(&policy, &["userLabels"]).as_mapping();
            assert!(labels.is_some_and(|l| l.len() >= 3), "{name}");
            for (k, v) in labels.into_iter().flatten() {
                assert!(k.as_str().is_some_and(valid), "{name}: {k:?}");
                assert!(v.as_str().is_some_and(valid), "{name}: {v:?}");
            }
        }
        assert_eq!(at(&policy("api_latency"), &["userLabels", "signal"]), "latency_p95");
    }

    #[test]
    fn severity_and_documentation_describe_the_alert() {
        assert_eq!(at(&policy("api_latency"), &["severity"]), "WARNING");
        assert_eq!(at(&policy("api_errors"), &["severity"]), "ERROR");
        let pool = policy("db_pool");
        let content = at(&pool, &["documentation", "content"]).as_str().unwrap_or_default();
        assert!(content.starts_with("## db connections above 90% of max_connections\n"), "{content}");
        assert!(content.contains("(`max_connections` = 100, so 90)"), "{content}");
        assert!(content.contains("alert db_pool { on = db  when connections > 90% for 2m"), "{content}");
        assert!(content.contains("declaration in `a.sight`"), "{content}");
        assert!(content.contains("https://console.cloud.google.com/sql/instances/demo-db/"), "{content}");
        assert!(content.ends_with("```\n"));
        assert_eq!(
            at(&pool, &["documentation", "subject"]),
            "[ERROR] db connections above 90% of max_connections (demo-prod)"
        );
        assert_eq!(at(&pool, &["displayName"]), "db connections above 90% of max_connections for 2m");
    }

    #[test]
    fn output_is_deterministic() {
        let first = artifacts();
        assert_eq!(first, artifacts());
        assert!(first.iter().all(|a| a.contents.starts_with("# Code generated by sight")));
    }

    #[test]
    fn condition_names_give_the_api_number_then_the_written_threshold() {
        let policies = policies();
        let name =
            |alert: &str| policies.get(alert).map_or(&NULL, |p| at(p, &["conditions", "0", "displayName"])).clone();
        assert_eq!(name("api_errors"), "error_rate > 0.01 (1%), per minute, for 5m");
        assert_eq!(name("api_latency"), "latency.p95 > 5000 ms (5s), per minute, for 5m");
        assert_eq!(name("db_pool"), "connections > 90 (90% of max_connections 100), per minute, for 2m");
        // A gauge is compared with the number as written: nothing to add in parentheses.
        assert_eq!(name("api_idle"), "instances < 1, per minute, for 15m");
    }
}
