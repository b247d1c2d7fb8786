//! `sight import alert FILE…`: Cloud Monitoring alert policies (JSON or YAML) → `alert`
//! declarations, for the policies that watch a signal the stdlib knows (FACTS §5).
//!
//! sight's alerts are one threshold on a named signal of a deployed service or a store kind
//! (`when error_rate > 1% for 5m`); the signals are stdlib data, each with its metric. A
//! threshold condition whose filter names one of those metrics maps back to the signal: the
//! target kind follows from the signal, the threshold is converted to the signal's unit
//! (a fraction → `%`, milliseconds → a duration), the duration to whole minutes. Everything
//! else (PromQL, MQL, log-match and absence conditions, metrics of other resources,
//! documentation, labels, several conditions) is reported, field by field.
//!
//! The import declares a placeholder target (a service deployed to the kind, or a store of
//! the kind) and a channel per notification channel, to be renamed by the user.

use std::collections::BTreeMap;

use super::yaml::{self, Yaml};
use super::{duration, finish, project_decl, render, sight_name, Decl, Entry, Imported, Warning};
use crate::format::quote;
use crate::stdlib::{KindClass, SignalForm, Stdlib};

/// Imports alert policies into one project; `Err` when nothing could be imported.
pub fn import(files: &[(String, String)], project: &str) -> Result<Imported, Vec<Warning>> {
    let stdlib = Stdlib::builtin().map_err(|_| {
        vec![Warning {
            file: String::new(),
            line: 0,
            field: "(stdlib)".into(),
            message: "the stdlib is invalid".into(),
        }]
    })?;
    let mut importer =
        AlertImporter { warnings: Vec::new(), mapped: Vec::new(), decls: BTreeMap::new(), alerts: Vec::new() };
    for (index, (name, text)) in files.iter().enumerate() {
        match yaml::parse(text) {
            Ok(Some(mut doc)) => {
                doc.set_file(index);
                importer.policy(name, &doc, &stdlib);
            }
            Ok(None) => importer.warn(name, 0, "(file)", "empty"),
            Err(e) => importer.warn(name, e.line, "(file)", &format!("not valid JSON or YAML: {}", e.message)),
        }
    }
    if importer.alerts.is_empty() {
        return Err(importer.warnings);
    }
    let project = sight_name(project);
    let mut decls = vec![project_decl(&project)];
    decls.extend(importer.decls.into_values());
    decls.extend(importer.alerts);
    let imported = Imported { files: BTreeMap::new(), warnings: importer.warnings, mapped: importer.mapped };
    let first = files.first().map(|(n, _)| n.clone()).unwrap_or_default();
    Ok(finish(imported, &project, &format!("{project}.sight"), &render(&decls), &first))
}

struct AlertImporter {
    warnings: Vec<Warning>,
    mapped: Vec<String>,
    /// Placeholder targets and channels, by name.
    decls: BTreeMap<String, Decl>,
    alerts: Vec<Decl>,
}

/// A metric type named in a Cloud Monitoring filter.
fn metric_type(filter: &str) -> Option<String> {
    let at = filter.find("metric.type")?;
    let rest = filter.get(at + "metric.type".len()..)?.trim_start().strip_prefix('=')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest.split('"').next()?.to_string())
}

/// `300s` → milliseconds.
fn seconds(text: &str) -> Option<u64> {
    let n: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    Some((n * 1000.0).round() as u64)
}

impl AlertImporter {
    fn warn(&mut self, file: &str, line: usize, field: &str, message: &str) {
        self.warnings.push(Warning {
            file: file.to_string(),
            line,
            field: field.to_string(),
            message: message.to_string(),
        });
    }

    fn policy(&mut self, file: &str, doc: &Yaml, stdlib: &Stdlib) {
        let name = doc.get("displayName").and_then(Yaml::as_str).map_or_else(|| sight_name(file), sight_name);
        let conditions = doc.get("conditions").and_then(Yaml::as_seq).unwrap_or_default();
        let mut alert: Option<Vec<Entry>> = None;
        for (i, condition) in conditions.iter().enumerate() {
            let at = format!("conditions[{i}]");
            let Some((kind, body)) =
                condition.as_map().and_then(|m| m.iter().find(|(k, _)| k.starts_with("condition")))
            else {
                self.warn(file, condition.line, &at, "no condition");
                continue;
            };
            if kind != "conditionThreshold" {
                self.warn(
                    file,
                    body.line,
                    &format!("{at}.{kind}"),
                    &format!("`{kind}` has no sight equivalent: sight alerts are thresholds on stdlib signals"),
                );
                continue;
            }
            if alert.is_some() {
                self.warn(
                    file,
                    body.line,
                    &at,
                    "sight alerts have one condition; only the first one that maps was imported",
                );
                continue;
            }
            alert = self.threshold(file, &at, body, stdlib);
            if alert.is_some() {
                self.mapped.push(format!("{at}.displayName"));
            }
        }
        let Some(mut entries) = alert else {
            self.warn(file, doc.line, "conditions", "no condition watches a signal sight knows (Cloud Run and Cloud SQL metrics of the stdlib); nothing imported");
            return;
        };
        let mut channels = Vec::new();
        for (key, value) in doc.as_map().unwrap_or_default() {
            match key.as_str() {
                "displayName" | "conditions" => self.mapped.push(key.clone()),
                "combiner" | "enabled" if conditions.len() <= 1 || key == "enabled" => self.mapped.push(key.clone()),
                "notificationChannels" => {
                    for (i, channel) in value.as_seq().unwrap_or_default().iter().enumerate() {
                        let Some(id) = channel.as_str() else { continue };
                        let channel_name =
                            format!("channel-{}", self.decls.keys().filter(|k| k.starts_with("channel-")).count() + 1);
                        self.decls.insert(
                            channel_name.clone(),
                            Decl {
                                keyword: "channel",
                                name: channel_name.clone(),
                                kind: Some("email".to_string()),
                                comments: vec![
                                    "The kind and address are placeholders: the policy names only the channel."
                                        .to_string(),
                                ],
                                body: vec![
                                    Entry::field("address", quote("oncall@example.com")),
                                    Entry::field("id", quote(id)),
                                ],
                            },
                        );
                        channels.push(channel_name);
                        self.mapped.push(format!("notificationChannels[{i}]"));
                    }
                }
                "severity" => match value.as_str().map(str::to_ascii_lowercase) {
                    Some(s) if ["critical", "error", "warning"].contains(&s.as_str()) => {
                        entries.push(Entry::field("severity", quote(&s)));
                        self.mapped.push(key.clone());
                    }
                    _ => self.warn(file, value.line, key, "a severity sight does not have (critical, error, warning)"),
                },
                "alertStrategy" => {
                    for (k, v) in value.as_map().unwrap_or_default() {
                        match (k.as_str(), v.as_str().and_then(seconds)) {
                            ("autoClose", Some(ms)) => {
                                entries.push(Entry::field("auto_close", duration(ms)));
                                self.mapped.push(format!("alertStrategy.{k}"));
                            }
                            _ => {
                                self.warn(file, v.line, &format!("alertStrategy.{k}"), "not part of the spec; dropped")
                            }
                        }
                    }
                }
                _ => self.warn(
                    file,
                    value.line,
                    key,
                    &format!("`{key}` is written by sight (documentation, labels) or not part of the spec; dropped"),
                ),
            }
        }
        if channels.is_empty() {
            self.warn(
                file,
                doc.line,
                "notificationChannels",
                "the policy notifies nobody: sight requires a channel (S0174); add `notify`",
            );
        } else {
            entries.push(Entry::Field(
                "notify".to_string(),
                if channels.len() == 1 { channels.concat() } else { format!("[{}]", channels.join(", ")) },
            ));
        }
        self.alerts.push(Decl {
            keyword: "alert",
            name,
            kind: None,
            comments: vec![format!("Imported from {file}.")],
            body: entries,
        });
    }

    /// A threshold condition on a stdlib signal → the alert's `on` and `when` entries.
    fn threshold(&mut self, file: &str, at: &str, body: &Yaml, stdlib: &Stdlib) -> Option<Vec<Entry>> {
        let filter = body.get("filter").and_then(Yaml::as_str).unwrap_or_default();
        let Some(metric) = metric_type(filter) else {
            self.warn(file, body.line, &format!("{at}.conditionThreshold.filter"), "the filter names no metric type");
            return None;
        };
        let found = stdlib
            .kinds
            .values()
            .filter(|k| matches!(k.class, KindClass::Deploy | KindClass::Store))
            .flat_map(|k| k.signals.iter().map(move |(s, def)| (k.clone(), s.clone(), def.clone())))
            .find(|(_, _, def)| def.metric == metric);
        let Some((kind, signal, def)) = found else {
            self.warn(file, body.line, &format!("{at}.conditionThreshold.filter"), &format!("`{metric}` is not the metric of a stdlib signal (sight watches Cloud Run services and Cloud SQL stores)"));
            return None;
        };
        let value =
            body.get("thresholdValue").and_then(Yaml::as_str).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let threshold = match def.form {
            SignalForm::Ratio | SignalForm::Utilization => format!("{}%", crate::units::number(value * 100.0)),
            SignalForm::Percentile => duration((value * def.ms_per_unit.unwrap_or(1.0)).round() as u64),
            SignalForm::Gauge => crate::units::number(value),
            SignalForm::PercentOfField => {
                self.warn(
                    file,
                    body.line,
                    &format!("{at}.conditionThreshold.thresholdValue"),
                    "a count, but sight's threshold is a percentage of the store's `max_connections`: check it",
                );
                format!("{}%", crate::units::number(value))
            }
        };
        let comparison = match body.get("comparison").and_then(Yaml::as_str) {
            Some("COMPARISON_LT") => "<",
            _ => ">",
        };
        let minutes =
            body.get("duration").and_then(Yaml::as_str).and_then(seconds).unwrap_or(0).div_ceil(60_000).max(1);
        for (k, v) in body.as_map().unwrap_or_default() {
            let sub = format!("{at}.conditionThreshold.{k}");
            match k.as_str() {
                "filter" | "thresholdValue" | "comparison" | "duration" => self.mapped.push(sub),
                _ => self.warn(
                    file,
                    v.line,
                    &sub,
                    "written by sight from the signal's definition; the original's value is dropped",
                ),
            }
        }
        // A placeholder target of the signal's kind.
        let target = format!("{}-target", kind.name.replace('_', "-"));
        let target_decl = match kind.class {
            KindClass::Deploy => Decl {
                keyword: "service",
                name: target.clone(),
                kind: None,
                comments: vec![
                    "A placeholder for the service the policy watches: rename it and set its image.".to_string()
                ],
                body: vec![
                    Entry::field("image", quote("example/app:1.0.0")),
                    Entry::field("port", "8080"),
                    Entry::block("deploy", Some(&kind.name), Vec::new()),
                ],
            },
            _ => Decl {
                keyword: "database",
                name: target.clone(),
                kind: Some(kind.name.clone()),
                comments: vec!["A placeholder for the store the policy watches: rename it.".to_string()],
                body: vec![Entry::field("password", format!("secret.{target}-password"))],
            },
        };
        if kind.class == KindClass::Store && kind.fields.get("password").is_some_and(|f| f.required) {
            self.decls.insert(
                format!("{target}-password"),
                Decl {
                    keyword: "secret",
                    name: format!("{target}-password"),
                    kind: None,
                    comments: Vec::new(),
                    body: vec![Entry::field(
                        "from",
                        format!("secret_manager({}, version = 1)", quote(&format!("{target}-password"))),
                    )],
                },
            );
        }
        self.decls.insert(target.clone(), target_decl);
        Some(vec![
            Entry::field("on", target),
            Entry::Raw(format!("when {signal} {comparison} {threshold} for {minutes}m")),
        ])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const CLOUD_RUN: &str = r#"{
  "displayName": "API errors",
  "conditions": [{
    "displayName": "5xx",
    "conditionThreshold": {
      "filter": "resource.type = \"cloud_run_revision\" AND metric.type = \"run.googleapis.com/container/cpu/utilizations\"",
      "comparison": "COMPARISON_GT",
      "thresholdValue": 0.8,
      "duration": "300s",
      "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_PERCENTILE_99"}]
    }
  }],
  "notificationChannels": ["projects/p/notificationChannels/1"],
  "alertStrategy": {"autoClose": "1800s"},
  "severity": "WARNING",
  "combiner": "OR"
}"#;

    #[test]
    fn a_threshold_on_a_stdlib_signal_becomes_an_alert() {
        let imported = import(&[("policy.json".into(), CLOUD_RUN.into())], "ops").expect("imports");
        let spec = &imported.files["ops.sight"];
        assert!(spec.contains("when cpu > 80% for 5m"), "{spec}");
        assert!(spec.contains("auto_close = 30m"), "{spec}");
        assert!(spec.contains("severity = \"warning\""), "{spec}");
        assert!(imported.warnings.iter().any(|w| w.field.ends_with("aggregations")), "{:#?}", imported.warnings);
        assert!(
            !imported.warnings.iter().any(|w| w.message.contains("does not check")),
            "{:#?}\n{spec}",
            imported.warnings
        );
    }

    #[test]
    fn other_conditions_are_reported_not_imported() {
        let policy = r#"{"displayName": "x", "conditions": [{"conditionMatchedLog": {"filter": "severity>=ERROR"}}]}"#;
        let warnings = import(&[("p.json".into(), policy.into())], "ops").expect_err("nothing maps");
        assert!(warnings.iter().any(|w| w.field == "conditions[0].conditionMatchedLog"), "{warnings:#?}");
    }
}
