//! Stage 4, emit: the model → artifacts (path + text). One module per target; each is a pure
//! function of the [`Model`] and never reports a user error (the checker already has).

mod alert_policy;
mod cloud_run;
mod cloudbuild;
mod compose;
mod dockerfile;
pub mod header;
pub mod yaml;

use crate::model::Model;

/// One generated file. `path` is relative to the output root and uses `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub contents: String,
}

/// A failure inside an emitter: always sight's bug, never the user's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InternalError(pub String);

/// A kind of artifact, as `sight.toml`'s `[output]` and `sight build --only` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Compose,
    Dockerfiles,
    Cloudbuild,
    Alerts,
    CloudRun,
}

impl Target {
    pub const ALL: [Target; 5] =
        [Target::Compose, Target::Dockerfiles, Target::Cloudbuild, Target::Alerts, Target::CloudRun];

    /// The name in `sight.toml` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Compose => "compose",
            Target::Dockerfiles => "dockerfiles",
            Target::Cloudbuild => "cloudbuild",
            Target::Alerts => "alerts",
            Target::CloudRun => "cloud_run",
        }
    }
}

/// Every artifact of the targets `sight.toml` enables, sorted by path.
pub fn emit(model: &Model) -> Result<Vec<Artifact>, InternalError> {
    emit_targets(model, &Target::ALL)
}

/// Whether to emit `model` on parallel threads ([`crate::parallel`]): its services and stores
/// make a large project, on a machine with more than one core.
fn in_parallel(model: &Model) -> bool {
    crate::parallel::worth_threads(model.services.len() + model.stores.len())
}

/// `emit` applied to each of `parts` (targets, Compose files), in their order: on a thread
/// each when `model` is emitted in parallel, else one after the other. A panic on a thread is
/// an internal error, like any other failure of an emitter.
pub(crate) fn each_part<P: Send, R: Send>(
    model: &Model,
    parts: impl IntoIterator<Item = P>,
    emit: impl Fn(P) -> Result<R, InternalError> + Sync,
) -> Vec<Result<R, InternalError>> {
    let parts: Vec<P> = parts.into_iter().collect();
    if parts.len() < 2 || !in_parallel(model) {
        return parts.into_iter().map(emit).collect();
    }
    let emit = &emit;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts.into_iter().map(|part| scope.spawn(move || emit(part))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(InternalError("an emitter panicked".into()))))
            .collect()
    })
}

/// The artifacts of `targets` that `sight.toml` enables (`sight build --only`), sorted by path.
/// Targets are independent: a large project's are emitted on parallel threads.
pub fn emit_targets(model: &Model, targets: &[Target]) -> Result<Vec<Artifact>, InternalError> {
    let mut selected: Vec<Target> = targets.to_vec();
    selected.sort();
    selected.dedup();
    let results = each_part(model, selected, |target| emit_target(model, target));
    let mut artifacts = Vec::new();
    for result in results {
        artifacts.extend(result?);
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = artifacts.windows(2).find(|w| matches!(w, [a, b] if a.path == b.path)) {
        let path = pair.first().map(|a| a.path.clone()).unwrap_or_default();
        return Err(InternalError(format!("two artifacts are written to `{path}`")));
    }
    Ok(artifacts)
}

/// One target's artifacts (none when `sight.toml` turns it off).
fn emit_target(model: &Model, target: Target) -> Result<Vec<Artifact>, InternalError> {
    let outputs = &model.project.outputs;
    match target {
        Target::Compose => outputs.compose.as_ref().map_or(Ok(Vec::new()), |dir| compose::emit(model, dir)),
        Target::Dockerfiles if outputs.dockerfiles => dockerfile::emit(model),
        Target::Dockerfiles => Ok(Vec::new()),
        Target::Cloudbuild => outputs.cloudbuild.as_ref().map_or(Ok(Vec::new()), |dir| cloudbuild::emit(model, dir)),
        Target::Alerts => outputs.alerts.as_ref().map_or(Ok(Vec::new()), |dir| alert_policy::emit(model, dir)),
        Target::CloudRun => outputs.cloud_run.as_ref().map_or(Ok(Vec::new()), |dir| cloud_run::emit(model, dir)),
    }
}

/// `dir/name`, without a leading `./`.
pub fn join(dir: &str, name: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => name.to_string(),
        d => format!("{}/{name}", d.trim_start_matches("./")),
    }
}
