//! Instrument name and unit rules from the OpenTelemetry specification.

use std::fmt;

/// The longest instrument name the specification allows.
pub const MAX_NAME_LEN: usize = 255;
/// The longest unit the specification allows.
pub const MAX_UNIT_LEN: usize = 63;

/// Why an instrument name or unit was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidName {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    TooLong(usize),
    /// The name does not start with an ASCII letter.
    BadFirstChar(char),
    /// The name has a character other than ASCII letters, digits, `_`, `.`, `-` and `/`.
    BadChar(char),
    /// The unit is longer than [`MAX_UNIT_LEN`] or is not ASCII.
    BadUnit,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidName::Empty => f.write_str("instrument name is empty"),
            InvalidName::TooLong(n) => {
                write!(
                    f,
                    "instrument name is {n} characters long, at most {MAX_NAME_LEN} are allowed"
                )
            }
            InvalidName::BadFirstChar(c) => {
                write!(f, "instrument name must start with an ASCII letter, not {c:?}")
            }
            InvalidName::BadChar(c) => write!(
                f,
                "instrument name may only hold ASCII letters, digits, '_', '.', '-' and '/', not {c:?}"
            ),
            InvalidName::BadUnit => {
                write!(f, "unit must be ASCII and at most {MAX_UNIT_LEN} characters long")
            }
        }
    }
}

impl std::error::Error for InvalidName {}

/// Checks a name against `^[A-Za-z][A-Za-z0-9_./-]{0,254}$`.
///
/// ```
/// use prw_api::name::validate_name;
/// assert!(validate_name("http.server.request.duration").is_ok());
/// assert!(validate_name("2xx").is_err());
/// ```
pub fn validate_name(name: &str) -> Result<(), InvalidName> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(InvalidName::Empty);
    };
    if !first.is_ascii_alphabetic() {
        return Err(InvalidName::BadFirstChar(first));
    }
    if let Some(c) =
        chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
    {
        return Err(InvalidName::BadChar(c));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(InvalidName::TooLong(name.len()));
    }
    Ok(())
}

/// Checks a unit: ASCII, at most [`MAX_UNIT_LEN`] characters.
pub fn validate_unit(unit: &str) -> Result<(), InvalidName> {
    if unit.len() > MAX_UNIT_LEN || !unit.is_ascii() {
        return Err(InvalidName::BadUnit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names() {
        let ok = ["a", "A1", "http.server.duration", "a_b-c/d.e", &"x".repeat(255)];
        for n in ok {
            assert_eq!(validate_name(n), Ok(()), "{n}");
        }
        let bad: [(&str, InvalidName); 6] = [
            ("", InvalidName::Empty),
            ("1a", InvalidName::BadFirstChar('1')),
            ("_a", InvalidName::BadFirstChar('_')),
            ("a b", InvalidName::BadChar(' ')),
            ("aé", InvalidName::BadChar('é')),
            ("a:b", InvalidName::BadChar(':')),
        ];
        for (n, e) in bad {
            assert_eq!(validate_name(n), Err(e), "{n}");
        }
        assert_eq!(validate_name(&"x".repeat(256)), Err(InvalidName::TooLong(256)));
    }

    #[test]
    fn units() {
        assert!(validate_unit("ms").is_ok());
        assert!(validate_unit("").is_ok());
        assert!(validate_unit(&"s".repeat(64)).is_err());
        assert!(validate_unit("µs").is_err());
    }
}
