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

/// Where an emitter puts a file's text, piece by piece as it is produced: a `String` holds it
/// ([`emit`]), a file being written takes it (`sight build`, [`crate::write::Staging`]), so a
/// large file is never held whole. A sink that fails keeps its error for its owner: the
/// emitter is a function of the model alone and goes on.
pub trait Sink {
    fn put(&mut self, text: &str);

    /// The text is complete: a file is closed at once (a project has thousands).
    fn done(&mut self) {}

    /// About how many bytes will be put: a `String` reserves them.
    fn expect(&mut self, _bytes: usize) {}
}

impl Sink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }

    fn expect(&mut self, bytes: usize) {
        self.reserve(bytes);
    }
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
pub fn emit_targets(model: &Model, targets: &[Target]) -> Result<Vec<Artifact>, InternalError> {
    let files = emit_targets_into(model, targets, |_| String::new())?;
    Ok(files.into_iter().map(|(path, contents)| Artifact { path, contents }).collect())
}

/// [`emit_targets`], each file put into the sink `open` gives for its path as it is produced:
/// the paths and their sinks, sorted by path. Targets are independent: a large project's are
/// emitted on parallel threads.
pub fn emit_targets_into<S: Sink + Send>(
    model: &Model,
    targets: &[Target],
    open: impl Fn(&str) -> S + Sync,
) -> Result<Vec<(String, S)>, InternalError> {
    let mut selected: Vec<Target> = targets.to_vec();
    selected.sort();
    selected.dedup();
    let results = each_part(model, selected, |target| emit_target_into(model, target, &open));
    let mut files = Vec::new();
    for result in results {
        files.extend(result?);
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = files.windows(2).find(|w| matches!(w, [a, b] if a.0 == b.0)) {
        let path = pair.first().map(|a| a.0.clone()).unwrap_or_default();
        return Err(InternalError(format!("two artifacts are written to `{path}`")));
    }
    Ok(files)
}

/// One target's files (none when `sight.toml` turns it off), each in the sink `open` gives.
/// Compose files are put as they are produced (they grow with the project); the other
/// targets' files are small and put whole.
fn emit_target_into<S: Sink + Send>(
    model: &Model,
    target: Target,
    open: &(impl Fn(&str) -> S + Sync),
) -> Result<Vec<(String, S)>, InternalError> {
    let outputs = &model.project.outputs;
    let artifacts = match target {
        Target::Compose => {
            return outputs.compose.as_ref().map_or(Ok(Vec::new()), |dir| compose::emit_into(model, dir, open))
        }
        Target::Dockerfiles if outputs.dockerfiles => dockerfile::emit(model),
        Target::Dockerfiles => Ok(Vec::new()),
        Target::Cloudbuild => outputs.cloudbuild.as_ref().map_or(Ok(Vec::new()), |dir| cloudbuild::emit(model, dir)),
        Target::Alerts => outputs.alerts.as_ref().map_or(Ok(Vec::new()), |dir| alert_policy::emit(model, dir)),
        Target::CloudRun => outputs.cloud_run.as_ref().map_or(Ok(Vec::new()), |dir| cloud_run::emit(model, dir)),
    }?;
    Ok(artifacts
        .into_iter()
        .map(|artifact| {
            let mut sink = open(&artifact.path);
            sink.put(&artifact.contents);
            sink.done();
            (artifact.path, sink)
        })
        .collect())
}

/// `dir/name`, without a leading `./`.
pub fn join(dir: &str, name: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => name.to_string(),
        d => format!("{}/{name}", d.trim_start_matches("./")),
    }
}
