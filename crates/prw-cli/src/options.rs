//! The conversion flags as `prw::convert::ConvertOptions`.

use prw::convert::{self, ConvertOptions, ExpHistogramMode, PromoteResourceAttributes};

use crate::cli::{ConversionArgs, TranslationStrategy};

impl From<TranslationStrategy> for convert::TranslationStrategy {
    fn from(strategy: TranslationStrategy) -> Self {
        match strategy {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => {
                Self::UnderscoreEscapingWithSuffixes
            }
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
                Self::UnderscoreEscapingWithoutSuffixes
            }
            TranslationStrategy::NoUtf8EscapingWithSuffixes => Self::NoUtf8EscapingWithSuffixes,
            TranslationStrategy::NoTranslation => Self::NoTranslation,
        }
    }
}

/// The options the flags ask for, for the given protocol (which decides the names allowed).
pub(crate) fn convert_options(
    args: &ConversionArgs,
    protocol: convert::Protocol,
) -> ConvertOptions {
    ConvertOptions {
        translation_strategy: args.translation_strategy.into(),
        protocol,
        namespace: args.namespace.clone(),
        target_info: !args.no_target_info,
        scope_labels: !args.no_scope_labels,
        promote_resource_attributes: if args.promote_all_resource_attributes {
            PromoteResourceAttributes::All
        } else if args.promote_resource_attributes.is_empty() {
            PromoteResourceAttributes::None
        } else {
            PromoteResourceAttributes::Keys(args.promote_resource_attributes.clone())
        },
        external_labels: args.external_labels.clone(),
        exponential_histograms: if args.classic_histograms {
            ExpHistogramMode::Classic
        } else {
            ExpHistogramMode::Native
        },
    }
}
