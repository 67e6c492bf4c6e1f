//! Conversion options, validated once by [`Converter::new`](crate::Converter::new).

use std::fmt;

/// How OTLP metric and attribute names become Prometheus names.
///
/// The four strategies of the OpenTelemetry Prometheus exporter specification. A counter
/// `foo.bar` with unit `By` becomes `foo_bar_bytes_total`, `foo_bar`, `foo.bar_bytes_total` and
/// `foo.bar` under the four strategies, in the order listed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TranslationStrategy {
    /// Escape every character outside `[a-zA-Z0-9:]` to `_` (runs collapse), add unit, `_total`
    /// and `_ratio` suffixes. The default, and the only choice every backend accepts.
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Escape as above, but add no suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Keep UTF-8 names as they are and add suffixes. Remote Write 2.0 only.
    NoUtf8EscapingWithSuffixes,
    /// Keep names exactly as they are. Remote Write 2.0 only.
    NoTranslation,
}

impl TranslationStrategy {
    /// Whether names are escaped to the classic Prometheus character set.
    pub fn escapes(self) -> bool {
        matches!(
            self,
            Self::UnderscoreEscapingWithSuffixes | Self::UnderscoreEscapingWithoutSuffixes
        )
    }

    /// Whether unit, `_total` and `_ratio` suffixes are added.
    pub fn adds_suffixes(self) -> bool {
        matches!(self, Self::UnderscoreEscapingWithSuffixes | Self::NoUtf8EscapingWithSuffixes)
    }
}

/// Which Remote Write protocol the output is meant for. It only decides which options are
/// allowed: the [`Conversion`](crate::Conversion) itself can be encoded either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Remote Write 1.0 (`prometheus.WriteRequest`). Names must be classic Prometheus names.
    #[default]
    Rw1,
    /// Remote Write 2.0 (`io.prometheus.write.v2.Request`). Names may be any UTF-8.
    Rw2,
}

/// Which resource attributes are copied onto every series of that resource as labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PromoteResourceAttributes {
    /// None (the default): resource attributes go to `target_info` only.
    #[default]
    None,
    /// Every resource attribute except `service.name`, `service.namespace` and
    /// `service.instance.id` (which already become `job` and `instance`).
    All,
    /// Only these attribute keys (as they appear in OTLP, before escaping).
    Keys(Vec<String>),
}

/// What happens to OTLP exponential histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpHistogramMode {
    /// Native histograms (the default).
    #[default]
    Native,
    /// Classic histograms (`_bucket{le}`, `_sum`, `_count`) at the exponential bucket bounds,
    /// for backends without native-histogram support.
    Classic,
}

/// Everything that shapes the conversion. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertOptions {
    /// Naming strategy. Default: [`TranslationStrategy::UnderscoreEscapingWithSuffixes`].
    pub translation_strategy: TranslationStrategy,
    /// Protocol the output is for; only used to validate the options. Default: RW 1.0.
    pub protocol: Protocol,
    /// Prefix for every metric name (`<namespace>_<name>`). Default: none.
    pub namespace: Option<String>,
    /// Emit one `target_info` series per resource with its non-identifying attributes.
    /// Default: true.
    pub target_info: bool,
    /// Add `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels. Default: true.
    pub scope_labels: bool,
    /// Resource attributes copied to every series. Default: none.
    pub promote_resource_attributes: PromoteResourceAttributes,
    /// Labels added to every series that does not already have a label of that name.
    pub external_labels: Vec<(String, String)>,
    /// Native or classic histograms for OTLP exponential histograms. Default: native.
    pub exponential_histograms: ExpHistogramMode,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            translation_strategy: TranslationStrategy::default(),
            protocol: Protocol::default(),
            namespace: None,
            target_info: true,
            scope_labels: true,
            promote_resource_attributes: PromoteResourceAttributes::None,
            external_labels: Vec::new(),
            exponential_histograms: ExpHistogramMode::default(),
        }
    }
}

/// Options that cannot work; each message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionsError {
    /// A UTF-8 translation strategy was chosen for Remote Write 1.0.
    Utf8NeedsRw2(TranslationStrategy),
    /// The namespace is empty or has characters the strategy does not allow.
    InvalidNamespace(String),
    /// An external label name is empty, reserved or has invalid characters.
    InvalidExternalLabelName(String),
    /// An external label has an empty value.
    EmptyExternalLabelValue(String),
    /// The same external label name was given twice.
    DuplicateExternalLabel(String),
    /// A promoted resource attribute key is empty.
    EmptyPromotedAttribute,
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Utf8NeedsRw2(s) => write!(
                f,
                "translation strategy {s:?} keeps UTF-8 names, which Remote Write 1.0 does not allow: \
                 use Remote Write 2.0 or an UnderscoreEscaping strategy"
            ),
            Self::InvalidNamespace(ns) => write!(
                f,
                "invalid namespace {ns:?}: it must be non-empty and, with an UnderscoreEscaping \
                 strategy, match [a-zA-Z_:][a-zA-Z0-9_:]*"
            ),
            Self::InvalidExternalLabelName(n) => write!(
                f,
                "invalid external label name {n:?}: it must be non-empty, must not start with \"__\" \
                 and, with an UnderscoreEscaping strategy, match [a-zA-Z_][a-zA-Z0-9_]*"
            ),
            Self::EmptyExternalLabelValue(n) => {
                write!(f, "external label {n:?} has an empty value: give it a value or remove it")
            }
            Self::DuplicateExternalLabel(n) => {
                write!(f, "external label {n:?} is given more than once: keep one")
            }
            Self::EmptyPromotedAttribute => {
                write!(f, "promote_resource_attributes contains an empty key: remove it")
            }
        }
    }
}

impl std::error::Error for OptionsError {}

pub(crate) fn is_legacy_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

pub(crate) fn is_legacy_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

impl ConvertOptions {
    /// Checks the options; [`Converter::new`](crate::Converter::new) calls this.
    pub fn validate(&self) -> Result<(), OptionsError> {
        let escapes = self.translation_strategy.escapes();
        if !escapes && self.protocol == Protocol::Rw1 {
            return Err(OptionsError::Utf8NeedsRw2(self.translation_strategy));
        }
        if let Some(ns) = &self.namespace {
            if ns.is_empty() || (escapes && !is_legacy_metric_name(ns)) {
                return Err(OptionsError::InvalidNamespace(ns.clone()));
            }
        }
        let mut seen: Vec<&str> = Vec::with_capacity(self.external_labels.len());
        for (name, value) in &self.external_labels {
            if name.is_empty() || name.starts_with("__") || (escapes && !is_legacy_label_name(name))
            {
                return Err(OptionsError::InvalidExternalLabelName(name.clone()));
            }
            if value.is_empty() {
                return Err(OptionsError::EmptyExternalLabelValue(name.clone()));
            }
            if seen.contains(&name.as_str()) {
                return Err(OptionsError::DuplicateExternalLabel(name.clone()));
            }
            seen.push(name);
        }
        if let PromoteResourceAttributes::Keys(keys) = &self.promote_resource_attributes {
            if keys.iter().any(String::is_empty) {
                return Err(OptionsError::EmptyPromotedAttribute);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(ConvertOptions::default().validate(), Ok(()));
        let o = ConvertOptions::default();
        assert!(o.target_info && o.scope_labels);
        assert_eq!(o.translation_strategy, TranslationStrategy::UnderscoreEscapingWithSuffixes);
    }

    #[test]
    fn utf8_strategies_need_rw2() {
        for s in
            [TranslationStrategy::NoUtf8EscapingWithSuffixes, TranslationStrategy::NoTranslation]
        {
            let mut o = ConvertOptions { translation_strategy: s, ..Default::default() };
            assert_eq!(o.validate(), Err(OptionsError::Utf8NeedsRw2(s)));
            o.protocol = Protocol::Rw2;
            assert_eq!(o.validate(), Ok(()));
        }
    }

    #[test]
    fn bad_options_are_rejected_with_a_fix() {
        let cases: Vec<(ConvertOptions, OptionsError)> = vec![
            (
                ConvertOptions { namespace: Some("my-app".into()), ..Default::default() },
                OptionsError::InvalidNamespace("my-app".into()),
            ),
            (
                ConvertOptions { namespace: Some(String::new()), ..Default::default() },
                OptionsError::InvalidNamespace(String::new()),
            ),
            (
                ConvertOptions {
                    external_labels: vec![("1a".into(), "x".into())],
                    ..Default::default()
                },
                OptionsError::InvalidExternalLabelName("1a".into()),
            ),
            (
                ConvertOptions {
                    external_labels: vec![("__name__".into(), "x".into())],
                    ..Default::default()
                },
                OptionsError::InvalidExternalLabelName("__name__".into()),
            ),
            (
                ConvertOptions {
                    external_labels: vec![("a".into(), String::new())],
                    ..Default::default()
                },
                OptionsError::EmptyExternalLabelValue("a".into()),
            ),
            (
                ConvertOptions {
                    external_labels: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
                    ..Default::default()
                },
                OptionsError::DuplicateExternalLabel("a".into()),
            ),
            (
                ConvertOptions {
                    promote_resource_attributes: PromoteResourceAttributes::Keys(vec![
                        String::new(),
                    ]),
                    ..Default::default()
                },
                OptionsError::EmptyPromotedAttribute,
            ),
        ];
        for (o, want) in cases {
            let got = o.validate().unwrap_err();
            assert_eq!(got, want);
            assert!(got.to_string().contains(':'), "message says how to fix: {got}");
        }
        let ok = ConvertOptions {
            protocol: Protocol::Rw2,
            translation_strategy: TranslationStrategy::NoTranslation,
            namespace: Some("my.app".into()),
            external_labels: vec![("région".into(), "eu".into())],
            ..Default::default()
        };
        assert_eq!(ok.validate(), Ok(()));
    }
}
