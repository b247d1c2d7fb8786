//! Container settings of a service that only Compose reads (FACTS §3): extra published ports,
//! named and anonymous volumes, tmpfs, networks, restart policy, entrypoint, user, secrets
//! mounted as files, profiles, env files, labels, resource limits, one-shot jobs, `tty`,
//! `stdin_open`, `read_only`, and health checks given as a command. They fill
//! [`ContainerOptions`]; each value is checked here so that the Compose emitter can write it as
//! is.
//!
//! Bind mounts stay in the `dev`/`test` overlays (`mount`, S0115): `volumes` takes named and
//! anonymous volumes only, which carry no code from the host into production.

use crate::check::Checker;
use crate::diagnostics::{codes, unknown_name_help, Diagnostic};
use std::collections::BTreeMap;

use crate::model::{ContainerLimits, ContainerOptions, Health, Network, Value, Volume};
use crate::stdlib::FieldType;
use crate::syntax::ast::{Block, Call, Expr, ExprKind, Field, Member, Text};

/// The service fields this module reads.
pub const CONTAINER_FIELDS: &[&str] = &[
    "ports",
    "volumes",
    "tmpfs",
    "networks",
    "aliases",
    "ulimits",
    "security_opt",
    "gpus",
    "restart",
    "entrypoint",
    "user",
    "secrets",
    "profiles",
    "env_file",
    "labels",
    "limits",
    "job",
    "tty",
    "stdin_open",
    "read_only",
];

/// The probes of `health = …` that run a command rather than request a URL.
pub const COMMAND_PROBES: &[&str] = &["command", "shell"];

const RESTART_POLICIES: &[&str] = &["no", "always", "on-failure", "unless-stopped"];

impl Checker<'_> {
    /// Reads one container field of a service into `options`; `false` if `name` is not one.
    pub fn container_field(&mut self, name: &str, member: &Member, options: &mut ContainerOptions) -> bool {
        if !CONTAINER_FIELDS.contains(&name) {
            return false;
        }
        match (name, member) {
            ("labels", Member::Block(b)) => {
                if let Some(Value::Map(map)) = self.string_map(&b.body, "labels") {
                    options.extras_mut().labels = map;
                }
            }
            ("limits", Member::Block(b)) => options.limits = self.limits(&b.body),
            ("ulimits", Member::Block(b)) => {
                if let Some(Value::Map(map)) = self.string_map(&b.body, "ulimits") {
                    for (limit, value) in map {
                        let valid = value.split_once(':').map_or(value.parse::<i64>().is_ok(), |(soft, hard)| {
                            soft.parse::<i64>().is_ok() && hard.parse::<i64>().is_ok()
                        });
                        if valid {
                            options.extras_mut().ulimits.insert(limit, value);
                        } else {
                            let span = crate::check::services::find_field_span(&b.body, &limit).unwrap_or(b.name.span);
                            self.report(
                                Diagnostic::new(
                                    &codes::TYPE_MISMATCH,
                                    format!("`{value}` is not a limit of `{limit}`"),
                                )
                                .at(span, "not a number or `soft:hard`")
                                .with_help(format!(
                                    "write `{limit} = 65536` or `{limit} = \"1024:65536\"` (soft:hard)"
                                )),
                            );
                        }
                    }
                }
            }
            (_, Member::Field(f)) => {
                let value = &f.value;
                match name {
                    "ports" => options.extras_mut().ports = self.checked_strings(value, name, port_mapping_error),
                    "volumes" => options.extras_mut().volumes = self.volumes(value),
                    "tmpfs" => options.extras_mut().tmpfs = self.checked_strings(value, name, tmpfs_error),
                    "networks" => {
                        options.extras_mut().networks =
                            self.checked_strings(value, name, |n| compose_name_error(n, "network"))
                    }
                    "profiles" => {
                        options.extras_mut().profiles =
                            self.checked_strings(value, name, |n| compose_name_error(n, "profile"))
                    }
                    "aliases" => {
                        options.extras_mut().aliases =
                            self.checked_strings(value, name, |n| compose_name_error(n, "host"))
                    }
                    "security_opt" => options.extras_mut().security_opt = self.strings(value, name).unwrap_or_default(),
                    "gpus" => {
                        options.extras_mut().gpus = match &value.kind {
                            ExprKind::Str(all) if all == "all" => Some(all.to_string()),
                            ExprKind::Int(n) if *n >= 1 => Some(n.to_string()),
                            _ => {
                                self.type_error(value, "`\"all\"` or a number of GPUs", "gpus");
                                None
                            }
                        }
                    }
                    "entrypoint" => options.extras_mut().entrypoint = self.strings(value, name).unwrap_or_default(),
                    "env_file" => options.extras_mut().env_files = self.checked_strings(value, name, env_file_error),
                    "user" => {
                        options.extras_mut().user =
                            self.value(value, FieldType::String, name).and_then(|v| v.as_str().map(str::to_string))
                    }
                    "restart" => options.restart = self.restart(value),
                    "secrets" => options.extras_mut().secrets = self.secret_grants(value),
                    "job" | "tty" | "stdin_open" | "read_only" => {
                        let flag = matches!(self.value(value, FieldType::Bool, name), Some(Value::Bool(true)));
                        match name {
                            "job" => options.job = flag,
                            "tty" => options.extras_mut().tty = flag,
                            "stdin_open" => options.extras_mut().stdin_open = flag,
                            _ => options.extras_mut().read_only = flag,
                        }
                    }
                    _ => self.wrong_form(name, f.span(), true),
                }
            }
            (_, other) => self.wrong_form(name, other.span(), false),
        }
        true
    }

    fn wrong_form(&mut self, name: &str, span: crate::source::Span, is_field: bool) {
        let block = ["labels", "limits", "ulimits"].contains(&name);
        if block != is_field {
            return;
        }
        let help = if block { format!("write `{name} {{ … }}`") } else { format!("write `{name} = <value>`") };
        self.report(
            Diagnostic::new(
                &codes::TYPE_MISMATCH,
                format!("`{name}` is {}", if block { "a block" } else { "a field" }),
            )
            .at(span, "wrong form")
            .with_help(help),
        );
    }

    /// A list of strings, each checked by `problem` (which returns the label and help).
    fn checked_strings(
        &mut self,
        expr: &Expr,
        field: &str,
        problem: impl Fn(&str) -> Option<(String, String)>,
    ) -> Vec<String> {
        let Some(items) = self.strings(expr, field) else { return Vec::new() };
        let spans: Vec<crate::source::Span> = match &expr.kind {
            ExprKind::List(exprs) => exprs.iter().map(|e| e.span).collect(),
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            match problem(&item) {
                Some((label, help)) => {
                    let span = spans.get(i).copied().unwrap_or(expr.span);
                    self.report(
                        Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{item}` is not a valid `{field}` entry"))
                            .at(span, label)
                            .with_help(help),
                    );
                }
                None => out.push(item),
            }
        }
        out
    }

    /// Named (`name:/path[:mode]`) and anonymous (`/path`) volumes. A bind mount (a host path)
    /// belongs in the `dev` or `test` overlay's `mount` (S0115), like the service's other ones.
    fn volumes(&mut self, expr: &Expr) -> Vec<String> {
        let Some(items) = self.strings(expr, "volumes") else { return Vec::new() };
        let spans: Vec<crate::source::Span> = match &expr.kind {
            ExprKind::List(exprs) => exprs.iter().map(|e| e.span).collect(),
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let span = spans.get(i).copied().unwrap_or(expr.span);
            let source = item.split(':').next().unwrap_or_default();
            if item.contains(':') && is_host_path(source) {
                self.report(
                    Diagnostic::new(&codes::INVALID_OVERLAY, format!("`{item}` is a bind mount"))
                        .at(span, "a host path would reach production")
                        .with_help(format!(
                            "move it into `dev {{ mount = [\"{item}\"] }}`: `volumes` holds named and anonymous volumes"
                        )),
                );
                continue;
            }
            match volume_error(&item) {
                Some((label, help)) => self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{item}` is not a valid `volumes` entry"))
                        .at(span, label)
                        .with_help(help),
                ),
                None => out.push(item),
            }
        }
        out
    }

    fn restart(&mut self, expr: &Expr) -> Option<String> {
        let policy = self.value(expr, FieldType::String, "restart")?.as_str()?.to_string();
        let valid = RESTART_POLICIES.contains(&policy.as_str())
            || policy.strip_prefix("on-failure:").is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0));
        if valid {
            return Some(policy);
        }
        let help = unknown_name_help(&policy, RESTART_POLICIES.iter().copied());
        self.report(
            Diagnostic::new(&codes::VALUE_OUT_OF_RANGE, format!("`{policy}` is not a restart policy"))
                .at(expr.span, "unknown policy")
                .with_help(format!("{help}; `on-failure:3` also limits the attempts")),
        );
        None
    }

    /// `secrets = [secret.a, secret.b]`: each is mounted at `/run/secrets/<name>`.
    fn secret_grants(&mut self, expr: &Expr) -> Vec<String> {
        let ExprKind::List(items) = &expr.kind else {
            self.type_error(expr, "a list of secrets such as `[secret.db_password]`", "secrets");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let ExprKind::Path(path) = &item.kind else {
                self.type_error(item, "a secret such as `secret.db_password`", "secrets[]");
                continue;
            };
            if let Some(Value::Secret(name)) = self.secret_ref(path, "secrets") {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// `limits { cpus = 0.5  memory = 512Mi }`.
    fn limits(&mut self, block: &Block) -> Option<ContainerLimits> {
        let mut limits = ContainerLimits { cpus: None, memory_bytes: None };
        for member in &block.members {
            let Member::Field(f) = member else {
                self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, "`limits` holds only `cpus` and `memory`")
                        .at(member.span(), "not a field")
                        .with_help("write `limits { cpus = 0.5  memory = 512Mi }`"),
                );
                continue;
            };
            match f.name.name.as_str() {
                "cpus" => match self.value(&f.value, FieldType::Number, "cpus") {
                    Some(Value::Float(n)) if n > 0.0 && n <= 1024.0 => limits.cpus = Some(n),
                    Some(_) => self.report(
                        Diagnostic::new(&codes::VALUE_OUT_OF_RANGE, "`cpus` must be above 0")
                            .at(f.value.span, "out of range")
                            .with_help("write a share of CPUs such as `0.5` or `2`"),
                    ),
                    None => {}
                },
                "memory" => match self.value(&f.value, FieldType::Size, "memory") {
                    Some(Value::Bytes(b)) if b >= 6 << 20 => limits.memory_bytes = Some(b),
                    Some(_) => self.report(
                        Diagnostic::new(&codes::VALUE_OUT_OF_RANGE, "`memory` is below Docker's minimum of 6Mi")
                            .at(f.value.span, "too small")
                            .with_help("Docker refuses to start a container with less than `6Mi`"),
                    ),
                    None => {}
                },
                other => self.unknown_field("`limits`", other, f.name.span, ["cpus", "memory"]),
            }
        }
        (limits.cpus.is_some() || limits.memory_bytes.is_some()).then_some(limits)
    }

    /// `network <name> { driver = "overlay"  name = "shared"  external = true  internal = true }`.
    pub fn networks(&mut self) -> BTreeMap<String, Network> {
        let mut out = BTreeMap::new();
        let items: Vec<&crate::syntax::ast::Item> = self.decls.networks.values().copied().collect();
        for item in items {
            let mut network = Network { name: item.name.name.as_str().to_owned(), ..Network::default() };
            if let Some(kind) = &item.kind {
                self.report(
                    Diagnostic::new(&codes::SYNTAX_ERROR, "a network takes no kind")
                        .at(kind.span, "not allowed here")
                        .with_help("write `network <name> { driver = \"bridge\" }`"),
                );
            }
            for member in &item.body.members {
                let Member::Field(f) = member else {
                    self.report(
                        Diagnostic::new(&codes::UNKNOWN_FIELD, "a network takes only fields")
                            .at(member.span(), "not allowed here")
                            .with_help(
                                "write `driver = \"overlay\"`, `name = \"…\"`, `external = true` or `internal = true`",
                            ),
                    );
                    continue;
                };
                let text = |checker: &mut Self| {
                    checker
                        .value(&f.value, FieldType::String, &f.name.name)
                        .and_then(|v| v.as_str().map(str::to_string))
                };
                let flag = |checker: &mut Self| {
                    matches!(checker.value(&f.value, FieldType::Bool, &f.name.name), Some(Value::Bool(true)))
                };
                match f.name.name.as_str() {
                    "driver" => network.driver = text(self),
                    "name" => network.network_name = text(self),
                    "external" => network.external = flag(self),
                    "internal" => network.internal = flag(self),
                    other => {
                        self.unknown_field("a network", other, f.name.span, ["driver", "name", "external", "internal"])
                    }
                }
            }
            out.insert(network.name.clone(), network);
        }
        out
    }

    /// `volume <name> { driver = "local"  driver_opts { type = "tmpfs" }  name = "…"  external = true }`.
    pub fn volume_decls(&mut self) -> BTreeMap<String, Volume> {
        let mut out = BTreeMap::new();
        let items: Vec<&crate::syntax::ast::Item> = self.decls.volumes.values().copied().collect();
        for item in items {
            let mut volume = Volume { name: item.name.name.as_str().to_owned(), ..Volume::default() };
            for member in &item.body.members {
                match member {
                    Member::Block(b) if b.name.name == "driver_opts" => {
                        if let Some(Value::Map(map)) = self.string_map(&b.body, "driver_opts") {
                            volume.driver_opts = map;
                        }
                    }
                    Member::Field(f) if ["driver", "name"].contains(&f.name.name.as_str()) => {
                        let text = self
                            .value(&f.value, FieldType::String, &f.name.name)
                            .and_then(|v| v.as_str().map(str::to_string));
                        if f.name.name == "driver" {
                            volume.driver = text;
                        } else {
                            volume.volume_name = text;
                        }
                    }
                    Member::Field(f) if f.name.name == "external" => {
                        volume.external =
                            matches!(self.value(&f.value, FieldType::Bool, "external"), Some(Value::Bool(true)));
                    }
                    other => {
                        let (name, span) = match other {
                            Member::Field(f) => (f.name.name.clone(), f.name.span),
                            Member::Block(b) => (b.name.name.clone(), b.name.span),
                            _ => (Text::default(), other.span()),
                        };
                        self.unknown_field("a volume", &name, span, ["driver", "driver_opts", "name", "external"]);
                    }
                }
            }
            out.insert(volume.name.clone(), volume);
        }
        out
    }

    /// `health = command(["pg_isready", "-h", "127.0.0.1"])` (run directly) or
    /// `health = shell("curl -f http://localhost/ || exit 1")` (run by the image's `sh`), with
    /// the timing block of `http`. Defaults are Docker's: 30s, 30s, no start period, 3 tries.
    pub fn command_health(&mut self, call: &Call) -> Option<Health> {
        let name = call.callee.dotted();
        let [arg] = call.args.as_slice() else {
            self.report(
                Diagnostic::new(&codes::UNKNOWN_ARGUMENT, format!("`{name}` takes one argument"))
                    .at(call.callee.span, "here")
                    .with_help(probe_help(&name)),
            );
            return None;
        };
        let test = match (name.as_str(), &arg.value.kind) {
            ("shell", ExprKind::Str(script)) if !script.trim().is_empty() => {
                vec![Text::from("CMD-SHELL"), script.clone()]
            }
            ("command", ExprKind::List(_)) => {
                let argv = self.argv(&arg.value, "command")?;
                std::iter::once(Text::from("CMD")).chain(argv.into_iter().map(Text::from)).collect()
            }
            _ => {
                self.report(
                    Diagnostic::new(&codes::TYPE_MISMATCH, format!("`{name}` expects {}", probe_expected(&name)))
                        .at(arg.value.span, "not a probe")
                        .with_help(probe_help(&name)),
                );
                return None;
            }
        };
        let mut health = Health { test, interval_ms: 30_000, timeout_ms: 30_000, start_period_ms: 0, retries: 3 };
        if let Some(block) = &call.block {
            self.probe_timing(block, &mut health);
        }
        Some(health)
    }

    fn probe_timing(&mut self, block: &Block, health: &mut Health) {
        for member in &block.members {
            let Member::Field(f) = member else { continue };
            match self.health_timing(f) {
                Some(HealthTiming::Retries(n)) => health.retries = n,
                Some(HealthTiming::Duration(field, ms)) => {
                    if ms < 1000 && field != "start_period" {
                        self.below_one_second(f, ms);
                    } else {
                        let h = &mut *health;
                        *duration_slot(field, &mut h.interval_ms, &mut h.timeout_ms, &mut h.start_period_ms) = ms;
                    }
                }
                None => {}
            }
        }
    }

    /// Reads one field of a health check's block (`interval`, `timeout`, `start_period`,
    /// `retries`); `None` once an unknown field or a value of the wrong type is reported. The
    /// health checks of stores, of command probes and of `http` share it.
    pub(super) fn health_timing(&mut self, f: &Field) -> Option<HealthTiming> {
        let field = match f.name.name.as_str() {
            "interval" => "interval",
            "timeout" => "timeout",
            "start_period" => "start_period",
            "retries" => {
                return match f.value.kind {
                    ExprKind::Int(n) if (1..=1000).contains(&n) => Some(HealthTiming::Retries(n as u32)),
                    _ => {
                        self.type_error(&f.value, "an integer from 1 to 1000", "retries");
                        None
                    }
                };
            }
            other => {
                self.unknown_field(
                    "a health check",
                    other,
                    f.name.span,
                    ["interval", "timeout", "start_period", "retries"],
                );
                return None;
            }
        };
        match f.value.kind {
            ExprKind::Duration(ms) => Some(HealthTiming::Duration(field, ms)),
            _ => {
                self.type_error(&f.value, "a duration such as `30s`", field);
                None
            }
        }
    }

    /// A probe interval or timeout under one second (a value out of range).
    pub(super) fn below_one_second(&mut self, f: &Field, ms: u64) {
        self.report(
            Diagnostic::new(
                &codes::VALUE_OUT_OF_RANGE,
                format!("`{}` is {}, below one second", f.name.name, crate::units::duration_compact(ms)),
            )
            .at(f.value.span, "too short")
            .with_help("health check intervals and timeouts are at least `1s`"),
        );
    }
}

/// Where a health check duration goes: `interval`, `timeout` or `start_period` (the names
/// [`Checker::health_timing`] returns).
pub(super) fn duration_slot<'h>(
    field: &str,
    interval: &'h mut u64,
    timeout: &'h mut u64,
    start_period: &'h mut u64,
) -> &'h mut u64 {
    match field {
        "interval" => interval,
        "timeout" => timeout,
        _ => start_period,
    }
}

/// A health check setting, read and typed: a duration in milliseconds (`interval`, `timeout`,
/// `start_period`) or the number of retries.
pub(super) enum HealthTiming {
    Duration(&'static str, u64),
    Retries(u32),
}

fn probe_expected(name: &str) -> &'static str {
    if name == "shell" {
        "a shell command as a string"
    } else {
        "the command as a list of strings"
    }
}

fn probe_help(name: &str) -> String {
    if name == "shell" {
        "write `shell(\"curl -fsS http://127.0.0.1:8080/health || exit 1\")`".to_string()
    } else {
        "write `command([\"pg_isready\", \"-h\", \"127.0.0.1\"])`".to_string()
    }
}

/// A host path: relative (`./x`, `../x`, `.`), absolute, home (`~`) or a variable.
pub fn is_host_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~', '$'])
}

/// `[IP:]HOST:CONTAINER[/PROTOCOL]` or `CONTAINER[/PROTOCOL]`; ports and ranges (`9000-9010`).
fn port_mapping_error(text: &str) -> Option<(String, String)> {
    let help = || {
        "write Compose's short syntax: `\"8080:80\"`, `\"127.0.0.1:9229:9229\"`, `\"5000:5000/udp\"` or `\"3000\"`"
            .to_string()
    };
    let (mapping, protocol) = match text.rsplit_once('/') {
        Some((m, p)) => (m, Some(p)),
        None => (text, None),
    };
    if protocol.is_some_and(|p| !["tcp", "udp", "sctp"].contains(&p)) {
        return Some(("the protocol is `tcp`, `udp` or `sctp`".to_string(), help()));
    }
    let (host, container) = match mapping.rsplit_once(':') {
        Some((h, c)) => (Some(h), c),
        None => (None, mapping),
    };
    let range = |s: &str| -> Option<(u16, u16)> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let (a, b) = (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?);
        (a >= 1 && a <= b).then_some((a, b))
    };
    if range(container).is_none() {
        return Some(("the container port is a number from 1 to 65535".to_string(), help()));
    }
    if let Some(host) = host {
        // `IP:HOST`, `IP:` (any free host port) or `HOST`; IPv6 addresses are bracketed.
        let published = match host.rsplit_once(':') {
            Some((ip, port)) => {
                let ip = ip.trim_start_matches('[').trim_end_matches(']');
                if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':') {
                    return Some(("the host address is an IP".to_string(), help()));
                }
                port
            }
            None => host,
        };
        if !published.is_empty() && range(published).is_none() {
            return Some(("the host port is a number from 1 to 65535".to_string(), help()));
        }
    }
    None
}

fn volume_error(text: &str) -> Option<(String, String)> {
    let help =
        || "write `\"name:/path\"` (a named volume), `\"name:/path:ro\"` or `\"/path\"` (an anonymous one)".to_string();
    let parts: Vec<&str> = text.split(':').collect();
    let (target, mode) = match parts.as_slice() {
        [target] => (*target, None),
        [name, target] => {
            if compose_name_error(name, "volume").is_some() {
                return Some(("a volume name holds letters, digits, `_`, `.` and `-`".to_string(), help()));
            }
            (*target, None)
        }
        [name, target, mode] => {
            if compose_name_error(name, "volume").is_some() {
                return Some(("a volume name holds letters, digits, `_`, `.` and `-`".to_string(), help()));
            }
            (*target, Some(*mode))
        }
        _ => return Some(("too many `:`".to_string(), help())),
    };
    if !target.starts_with('/') {
        return Some(("the path in the container is absolute".to_string(), help()));
    }
    if let Some(mode) = mode {
        let known = ["ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"];
        if !mode.split(',').all(|m| known.contains(&m)) {
            return Some((format!("unknown mode `{mode}`"), help()));
        }
    }
    None
}

fn tmpfs_error(text: &str) -> Option<(String, String)> {
    (!text.starts_with('/'))
        .then(|| ("a tmpfs is an absolute path".to_string(), "write `\"/tmp\"` or `\"/run:size=16M\"`".to_string()))
}

fn env_file_error(text: &str) -> Option<(String, String)> {
    (text.is_empty() || text.contains('$')).then(|| {
        (
            "not a file path".to_string(),
            "write a path relative to the project root, such as `\"common.env\"`".to_string(),
        )
    })
}

/// Compose names of networks, volumes and profiles: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn compose_name_error(name: &str, what: &str) -> Option<(String, String)> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    (!valid).then(|| {
        (
            format!("not a {what} name"),
            format!("a {what} name starts with a letter or digit and holds letters, digits, `_`, `.` and `-`"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mappings() {
        for ok in [
            "80",
            "8080:80",
            "127.0.0.1:9229:9229",
            "5000:5000/udp",
            "9000-9010:9000-9010",
            "127.0.0.1::80",
            "[::1]:80:80",
        ] {
            assert!(port_mapping_error(ok).is_none(), "{ok}");
        }
        for bad in ["x", "80:x", "0:80", "80/icmp", "host:80:80", "70000:80"] {
            assert!(port_mapping_error(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn volumes() {
        for ok in ["data:/var/lib/x", "/app/node_modules", "data:/x:ro", "db-data:/x:rw,z"] {
            assert!(volume_error(ok).is_none(), "{ok}");
        }
        for bad in ["data:x", "data:/x:bogus", "a:b:c:d", "-bad:/x"] {
            assert!(volume_error(bad).is_some(), "{bad}");
        }
        assert!(is_host_path("./x") && is_host_path("/srv") && is_host_path("~/x") && !is_host_path("data"));
    }
}
