//! Secrets from files. Each secret setting has a `_FILE` form naming a file that holds it
//! (`OTP_RELAY_SECRET_FILE=/run/secrets/otp-secret`), as container runtimes mount secrets and as
//! systemd hands over credentials (`LoadCredential=`, read from `$CREDENTIALS_DIRECTORY`), so that
//! the secret is in neither the environment (`ps e`, crash dumps, `podman inspect`) nor the
//! command line. Setting both forms refuses to start; the file's line ending is not part of the
//! secret; an error names the variable and the file, never what the file holds.

use super::ConfigError;
use crate::core::secret::SecretString;
use std::path::Path;

/// Fills `value`, the setting `variable`, from `file` (its `_FILE` form), if that is set.
pub(crate) fn read_into(
    value: &mut Option<SecretString>,
    file: Option<&Path>,
    variable: &'static str,
) -> Result<(), ConfigError> {
    let Some(path) = file else {
        return Ok(());
    };
    let refuse = |what: String| ConfigError::new(variable, format!("{variable}_FILE: {what}"));
    if value.is_some() {
        return Err(ConfigError::new(
            variable,
            format!(
                "{variable} and {variable}_FILE are both set: keep one (the file keeps the secret \
                 out of the environment)"
            ),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|error| refuse(format!("cannot read {}: {error}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| refuse(format!("{} is not UTF-8 text", path.display())))?;
    let secret = text.strip_suffix('\n').unwrap_or(&text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.trim().is_empty() {
        return Err(refuse(format!("{} is empty", path.display())));
    }
    *value = Some(SecretString::new(secret.to_string()));
    Ok(())
}
