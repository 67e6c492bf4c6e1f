//! Temporary directories that clean up after themselves.

use std::path::{Path, PathBuf};

use crate::HarnessError;

/// Set this environment variable to keep every test directory (backend data and logs) for a
/// post-mortem; their paths are printed when they are dropped.
pub const KEEP_DIRS_ENV: &str = "PRW_KEEP_TEST_DIRS";

/// A fresh directory under the system temp dir, removed when dropped (unless
/// [`KEEP_DIRS_ENV`] is set).
#[derive(Debug)]
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    /// Creates `prw-<label>-XXXXXX` in the temp dir.
    ///
    /// # Errors
    ///
    /// When the directory cannot be created.
    pub fn new(label: &str) -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("prw-{label}-"))
            .tempdir()
            .map_err(|e| HarnessError::io("creating a test directory", std::env::temp_dir(), e))?;
        Ok(TestDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_DIRS_ENV).is_some() {
            self.dir.disable_cleanup(true);
            eprintln!("{KEEP_DIRS_ENV}: kept {}", self.dir.path().display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_removed_on_drop() {
        let dir = TestDir::new("unit").unwrap();
        let path = dir.path().to_owned();
        assert!(path.is_dir());
        assert!(path.file_name().unwrap().to_string_lossy().starts_with("prw-unit-"));
        assert_eq!(dir.join("x"), path.join("x"));
        if std::env::var_os(KEEP_DIRS_ENV).is_none() {
            drop(dir);
            assert!(!path.exists());
        }
    }
}
