//! Secrets: passwords, tokens and proxy credentials that never show in `Debug`, logs or errors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A secret value (password, bearer token, proxy password), given directly or as a file.
///
/// A file secret is read again every time it is used, so that a rotated password or token
/// (a Kubernetes secret, a Vault agent file) takes effect on the next request without a restart.
/// Leading and trailing whitespace of a file (the usual final newline) is ignored, as Prometheus
/// does. The value never appears in `Debug` (which prints `Secret(***)`), nor in any error: errors
/// name the file, never its content.
///
/// ```
/// use prw_transport::Secret;
///
/// let password = Secret::new("hunter2");
/// assert_eq!(format!("{password:?}"), "Secret(***)");
/// assert_eq!(&*password.expose().unwrap(), "hunter2");
/// ```
#[derive(Clone)]
pub struct Secret {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Value(Arc<str>),
    File(Arc<Path>),
}

/// Why a file secret could not be read. Names the file, never its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read secret file {}: {source} (check that it exists and is readable by this process)", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("secret file {} is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The secret is empty (a file holding only whitespace counts as empty).
    #[error("{} is empty", describe(path.as_deref()))]
    Empty {
        /// The file, when the secret comes from one.
        path: Option<PathBuf>,
    },
}

fn describe(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("secret file {}", path.display()),
        None => "the secret".to_owned(),
    }
}

impl Secret {
    /// A secret given as a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret { source: Source::Value(Arc::from(value.into())) }
    }

    /// A secret kept in a file, read every time it is used (so rotations are picked up).
    ///
    /// Nothing is read here; [`HttpTransportBuilder::build`](crate::HttpTransportBuilder::build)
    /// reads the file once to check it.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Secret { source: Source::File(Arc::from(path.into())) }
    }

    /// The file the secret is read from, if it comes from one.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            Source::Value(_) => None,
            Source::File(path) => Some(path),
        }
    }

    /// The current value: the given value, or the file's content read now, trimmed.
    ///
    /// # Errors
    /// [`SecretError`] when the file cannot be read, is not UTF-8, or the secret is empty.
    pub fn expose(&self) -> Result<Arc<str>, SecretError> {
        match &self.source {
            Source::Value(value) if value.is_empty() => Err(SecretError::Empty { path: None }),
            Source::Value(value) => Ok(Arc::clone(value)),
            Source::File(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|source| SecretError::Read { path: path.to_path_buf(), source })?;
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| SecretError::NotUtf8 { path: path.to_path_buf() })?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(SecretError::Empty { path: Some(path.to_path_buf()) });
                }
                Ok(Arc::from(text))
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Value(_) => f.write_str("Secret(***)"),
            Source::File(path) => write!(f, "Secret(file {})", path.display()),
        }
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("s3cr3t-value");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret:#?}"), "Secret(***)");
    }

    #[test]
    fn file_secret_is_trimmed_and_reread_when_it_changes() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "first-password").unwrap();
        let secret = Secret::from_file(file.path());
        assert_eq!(&*secret.expose().unwrap(), "first-password");
        assert!(!format!("{secret:?}").contains("first-password"));

        // Same length and written at once: a cache keyed on size or mtime would miss it.
        std::fs::write(file.path(), "secnd-password\n").unwrap();
        assert_eq!(&*secret.expose().unwrap(), "secnd-password");
    }

    #[test]
    fn empty_secrets_are_refused() {
        assert!(matches!(Secret::new("").expose(), Err(SecretError::Empty { path: None })));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), " \n\t\n").unwrap();
        let err = Secret::from_file(file.path()).expose().unwrap_err();
        assert!(matches!(err, SecretError::Empty { path: Some(_) }));
        assert!(err.to_string().contains(&file.path().display().to_string()));
    }

    #[test]
    fn missing_and_non_utf8_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = Secret::from_file(&missing).expose().unwrap_err();
        assert!(matches!(err, SecretError::Read { .. }));
        assert!(err.to_string().contains("missing"), "{err}");

        let binary = dir.path().join("binary");
        std::fs::write(&binary, [0xff, 0xfe, b'p', b'w']).unwrap();
        let err = Secret::from_file(&binary).expose().unwrap_err();
        assert!(matches!(err, SecretError::NotUtf8 { .. }));
    }
}
