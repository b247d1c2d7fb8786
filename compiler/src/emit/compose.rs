//! (being written)

use crate::emit::{Artifact, InternalError};
use crate::model::Model;

pub fn emit(model: &Model, dir: &str) -> Result<Vec<Artifact>, InternalError> {
    let _ = (model, dir);
    Ok(Vec::new())
}
