//! Views: change what streams an instrument produces.
//!
//! A view selects instruments (by name with `*` and `?` wildcards, kind, meter name) and
//! sets the stream's name, description, aggregation, kept attribute keys and cardinality
//! limit. An instrument matched by several views produces one stream per view; one matched
//! by none produces its default stream.
//!
//! ```
//! use prw_sdk::{Aggregation, View};
//!
//! let view = View::builder()
//!     .with_instrument_name("http.server.*")
//!     .with_aggregation(Aggregation::exponential())
//!     .with_allowed_attribute_keys(["http.route", "http.request.method"])
//!     .build()
//!     .unwrap();
//! # let _ = view;
//! ```

use std::borrow::Cow;

use prw_api::{InstrumentKind, Key};

use crate::aggregation::Aggregation;
use crate::error::ConfigError;

/// A configured view; build with [`View::builder`].
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub(crate) name_pattern: Option<String>,
    pub(crate) kind: Option<InstrumentKind>,
    pub(crate) meter_name: Option<String>,
    pub(crate) rename: Option<Cow<'static, str>>,
    pub(crate) description: Option<Cow<'static, str>>,
    pub(crate) aggregation: Option<Aggregation>,
    pub(crate) allowed_keys: Option<Vec<Key>>,
    pub(crate) cardinality_limit: Option<usize>,
}

impl View {
    /// Starts a view.
    pub fn builder() -> ViewBuilder {
        ViewBuilder {
            view: View {
                name_pattern: None,
                kind: None,
                meter_name: None,
                rename: None,
                description: None,
                aggregation: None,
                allowed_keys: None,
                cardinality_limit: None,
            },
        }
    }

    pub(crate) fn matches(&self, name: &str, kind: InstrumentKind, meter: &str) -> bool {
        self.name_pattern.as_deref().is_none_or(|p| glob_match(p, name))
            && self.kind.is_none_or(|k| k == kind)
            && self.meter_name.as_deref().is_none_or(|m| m == meter)
    }
}

/// Builds a [`View`].
#[derive(Debug)]
#[must_use = "call .build() to get the view"]
pub struct ViewBuilder {
    view: View,
}

impl ViewBuilder {
    /// Selects instruments by name; `*` matches any run of characters and `?` one character.
    /// Names compare case-insensitively, as the specification says.
    pub fn with_instrument_name(mut self, pattern: impl Into<String>) -> Self {
        self.view.name_pattern = Some(pattern.into());
        self
    }
    /// Selects instruments of one kind.
    pub fn with_instrument_kind(mut self, kind: InstrumentKind) -> Self {
        self.view.kind = Some(kind);
        self
    }
    /// Selects instruments of the meter with this name.
    pub fn with_meter_name(mut self, name: impl Into<String>) -> Self {
        self.view.meter_name = Some(name.into());
        self
    }
    /// Renames the stream (the view must select one instrument by exact name).
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.view.rename = Some(name.into());
        self
    }
    /// Replaces the description.
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.view.description = Some(description.into());
        self
    }
    /// Sets the aggregation.
    pub fn with_aggregation(mut self, aggregation: Aggregation) -> Self {
        self.view.aggregation = Some(aggregation);
        self
    }
    /// Keeps only these attribute keys; measurements' other attributes are dropped and
    /// their series merged.
    pub fn with_allowed_attribute_keys<K: Into<Key>>(
        mut self,
        keys: impl IntoIterator<Item = K>,
    ) -> Self {
        self.view.allowed_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }
    /// Sets this stream's cardinality limit (counting the overflow series).
    pub fn with_cardinality_limit(mut self, limit: usize) -> Self {
        self.view.cardinality_limit = Some(limit);
        self
    }
    /// Checks and returns the view.
    pub fn build(self) -> Result<View, ConfigError> {
        let v = self.view;
        if v.name_pattern.is_none() && v.kind.is_none() && v.meter_name.is_none() {
            return Err(ConfigError::EmptySelector);
        }
        if let Some(new) = &v.rename {
            match &v.name_pattern {
                Some(p) if !p.contains(['*', '?']) => {}
                other => {
                    return Err(ConfigError::RenameWithWildcard(
                        other.clone().unwrap_or_else(|| "*".into()),
                    ));
                }
            }
            prw_api::name::validate_name(new)
                .map_err(|e| ConfigError::InvalidName(new.to_string(), e))?;
        }
        if let Some(a) = &v.aggregation {
            a.validate()?;
        }
        if let Some(n) = v.cardinality_limit {
            if n < 2 {
                return Err(ConfigError::InvalidCardinalityLimit(n));
            }
        }
        Ok(v)
    }
}

/// `*` and `?` glob over ASCII-case-insensitive text.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("*", "anything", true),
            ("http.*", "http.server.duration", true),
            ("http.*", "grpc.server", false),
            ("*.duration", "http.server.duration", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("HTTP.*", "http.x", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn invalid_views() {
        assert_eq!(View::builder().build(), Err(ConfigError::EmptySelector));
        assert!(matches!(
            View::builder().with_instrument_name("a*").with_name("b").build(),
            Err(ConfigError::RenameWithWildcard(_))
        ));
        assert!(matches!(
            View::builder().with_instrument_name("a").with_name("1b").build(),
            Err(ConfigError::InvalidName(..))
        ));
        assert!(matches!(
            View::builder()
                .with_instrument_name("a")
                .with_aggregation(Aggregation::histogram(vec![2.0, 1.0]))
                .build(),
            Err(ConfigError::InvalidBoundaries(_))
        ));
        assert!(View::builder().with_instrument_name("a").with_name("b").build().is_ok());
    }
}
