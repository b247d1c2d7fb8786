//! (being written)

use crate::emit::{Artifact, InternalError};
use crate::model::Model;

pub fn emit(model: &Model) -> Result<Vec<Artifact>, InternalError> {
    let _ = model;
    Ok(Vec::new())
}
