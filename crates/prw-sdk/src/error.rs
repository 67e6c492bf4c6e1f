//! Configuration errors, returned when a view or provider is built.

use std::fmt;

/// Why a view, aggregation or provider setting was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// Explicit bucket boundaries must be finite and strictly increasing.
    InvalidBoundaries(Vec<f64>),
    /// An exponential histogram needs at least 2 buckets per side.
    InvalidMaxSize(u32),
    /// An exponential histogram's scale must be within -10..=20.
    InvalidMaxScale(i8),
    /// A view selects nothing: give it an instrument name, kind or meter name.
    EmptySelector,
    /// A view that renames the stream must select one instrument by its exact name.
    RenameWithWildcard(String),
    /// The new name is not a valid instrument name.
    InvalidName(String, prw_api::name::InvalidName),
    /// A cardinality limit must be at least 2 (one attribute set and the overflow series).
    InvalidCardinalityLimit(usize),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidBoundaries(b) => {
                write!(f, "bucket boundaries {b:?} must be finite and strictly increasing")
            }
            ConfigError::InvalidMaxSize(n) => {
                write!(f, "exponential histogram max_size {n} is too small, use at least 2 (default 160)")
            }
            ConfigError::InvalidMaxScale(s) => {
                write!(f, "exponential histogram max_scale {s} is outside -10..=20 (default 20)")
            }
            ConfigError::EmptySelector => f.write_str(
                "the view selects no instrument: set with_instrument_name, with_instrument_kind or with_meter_name",
            ),
            ConfigError::RenameWithWildcard(p) => write!(
                f,
                "the view renames its stream but selects instruments with the pattern {p:?}; \
                 renaming needs one exact instrument name"
            ),
            ConfigError::InvalidName(n, e) => write!(f, "view stream name {n:?} is invalid: {e}"),
            ConfigError::InvalidCardinalityLimit(n) => {
                write!(f, "cardinality limit {n} is too small, use at least 2 (default 2000)")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_how_to_fix() {
        assert_eq!(
            ConfigError::InvalidCardinalityLimit(1).to_string(),
            "cardinality limit 1 is too small, use at least 2 (default 2000)"
        );
        assert!(ConfigError::EmptySelector.to_string().contains("with_instrument_name"));
    }
}
