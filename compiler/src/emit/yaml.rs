//! The one place YAML is written. serde_yaml is deprecated upstream; everything goes through
//! [`to_string`] so that the writer can be replaced without touching an emitter.

use serde::Serialize;

use crate::emit::InternalError;

/// Serializes a typed value as a YAML document (no `---`, one final line break).
pub fn to_string<T: Serialize>(value: &T) -> Result<String, InternalError> {
    let text = serde_yaml::to_string(value).map_err(|e| InternalError(format!("YAML serialization failed: {e}")))?;
    Ok(text.trim_start_matches("---\n").to_string())
}

/// A header followed by the YAML document.
pub fn document<T: Serialize>(header: &str, value: &T) -> Result<String, InternalError> {
    Ok(format!("{header}{}", to_string(value)?))
}
