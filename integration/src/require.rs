//! Which backends are installed, and what a test does when one is not.

use std::env;
use std::path::{Path, PathBuf};

use crate::HarnessError;

/// Whether the tests run under CI (`CI=true`, as CI systems set it), where a missing backend is
/// a failure instead of a skip.
pub fn in_ci() -> bool {
    env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The path of an installed program: searched in `PATH`, then in `/usr/bin`, `/usr/sbin` and
/// `/sbin` (Debian puts daemons in sbin, which a user's `PATH` may lack).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path_dirs =
        env::var_os("PATH").map(|p| env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    path_dirs
        .iter()
        .map(PathBuf::as_path)
        .chain([Path::new("/usr/bin"), Path::new("/usr/sbin"), Path::new("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The rule for a test that needs a program: its path when installed. When it is missing, under
/// CI this panics with the install hint (a missing backend must never pass silently there);
/// elsewhere it prints why the test is skipped and returns `None`.
///
/// Tests usually go through [`require!`](crate::require) instead.
///
/// # Panics
///
/// Under CI, when the program is missing.
pub fn require_binary(name: &str, apt_package: &str) -> Option<PathBuf> {
    if let Some(path) = find_binary(name) {
        return Some(path);
    }
    let missing = HarnessError::MissingBinary {
        binary: name.to_owned(),
        apt_package: apt_package.to_owned(),
    };
    if in_ci() {
        panic!("CI=true and a backend this test needs is missing: {missing}");
    }
    eprintln!("SKIPPED: {missing}; with CI=true this is a failure");
    None
}

/// The binary a backend runs, for [`require!`](crate::require).
pub trait Backend {
    /// The program's file name.
    const BINARY: &'static str;
    /// The Debian package that installs it.
    const APT_PACKAGE: &'static str;

    /// [`require_binary`] for this backend: whether the test can go on.
    fn require() -> bool {
        require_binary(Self::BINARY, Self::APT_PACKAGE).is_some()
    }

    /// The installed binary, or [`HarnessError::MissingBinary`].
    ///
    /// # Errors
    ///
    /// When the program is not installed.
    fn binary() -> Result<PathBuf, HarnessError> {
        find_binary(Self::BINARY).ok_or_else(|| HarnessError::MissingBinary {
            binary: Self::BINARY.to_owned(),
            apt_package: Self::APT_PACKAGE.to_owned(),
        })
    }
}

/// What a skipped test returns: `()`, or `Ok(())` for tests returning `Result`.
pub trait Skipped {
    /// The value.
    fn skipped() -> Self;
}

impl Skipped for () {
    fn skipped() -> Self {}
}

impl<E> Skipped for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}

/// Returns from the calling test (skipping it, with a note) when a backend is not installed;
/// under `CI=true` it fails the test instead, with the `apt-get install` hint. Works in tests
/// returning `()` or `Result<(), E>`.
///
/// ```no_run
/// use prw_integration::{Prometheus, TinyProxy};
///
/// fn a_test() {
///     prw_integration::require!(Prometheus, TinyProxy);
///     let prometheus = Prometheus::builder().start().unwrap();
///     // ...
/// }
/// ```
#[macro_export]
macro_rules! require {
    ($($backend:ty),+ $(,)?) => {
        $(
            if !<$backend as $crate::Backend>::require() {
                return $crate::Skipped::skipped();
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_every_machine_has() {
        let sh = find_binary("sh").unwrap();
        assert!(sh.is_absolute());
        assert_eq!(find_binary("prw-no-such-program-here"), None);
    }

    #[test]
    fn missing_binary_message_has_the_install_hint() {
        let e = HarnessError::MissingBinary {
            binary: "prometheus".into(),
            apt_package: "prometheus".into(),
        };
        assert_eq!(
            e.to_string(),
            "prometheus is not installed: install it with `apt-get install -y prometheus` (scripts/test does this)"
        );
    }

    #[test]
    fn a_missing_program_skips_or_fails_by_ci() {
        let outcome =
            std::panic::catch_unwind(|| require_binary("prw-no-such-program-here", "prw-pkg"));
        if in_ci() {
            let message = outcome.unwrap_err();
            let message = message.downcast_ref::<String>().unwrap();
            assert!(message.contains("apt-get install -y prw-pkg"), "{message}");
        } else {
            assert_eq!(outcome.unwrap(), None);
        }
        assert!(require_binary("sh", "dash").is_some());
    }
}
