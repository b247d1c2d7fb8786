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

/// Every artifact of the targets `sight.toml` enables, sorted by path.
pub fn emit(model: &Model) -> Result<Vec<Artifact>, InternalError> {
    let outputs = &model.project.outputs;
    let mut artifacts = Vec::new();
    if let Some(dir) = &outputs.compose {
        artifacts.extend(compose::emit(model, dir)?);
    }
    if outputs.dockerfiles {
        artifacts.extend(dockerfile::emit(model)?);
    }
    if let Some(dir) = &outputs.cloudbuild {
        artifacts.extend(cloudbuild::emit(model, dir)?);
    }
    if let Some(dir) = &outputs.alerts {
        artifacts.extend(alert_policy::emit(model, dir)?);
    }
    if let Some(dir) = &outputs.cloud_run {
        artifacts.extend(cloud_run::emit(model, dir)?);
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = artifacts.windows(2).find(|w| matches!(w, [a, b] if a.path == b.path)) {
        let path = pair.first().map(|a| a.path.clone()).unwrap_or_default();
        return Err(InternalError(format!("two artifacts are written to `{path}`")));
    }
    Ok(artifacts)
}

/// `dir/name`, without a leading `./`.
pub fn join(dir: &str, name: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => name.to_string(),
        d => format!("{}/{name}", d.trim_start_matches("./")),
    }
}
