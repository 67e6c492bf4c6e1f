//! One reader's view of the provider: the streams registered for it and how to collect them.

use std::sync::{Arc, Mutex, PoisonError};

use prw_api::diagnostics::{self, Severity};
use prw_api::{InstrumentDescriptor, InstrumentKind, InstrumentationScope};
use prw_proto::otlp::common::InstrumentationScope as PScope;
use prw_proto::otlp::metrics::{ResourceMetrics, ScopeMetrics};
use prw_proto::otlp::resource::Resource as PResource;

use super::aggregators::DEFAULT_BOUNDARIES;
use super::convert::attributes;
use super::hash::KeyFilter;
use super::stream::{Collect, Stats, StreamDesc};
use crate::aggregation::Aggregation;
use crate::export::Temporality;
use crate::resource::Resource;
use crate::time::now_unix_nanos;
use crate::view::View;

/// A stream as views configured it, with the aggregation made concrete.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedStream {
    pub(crate) desc: StreamDesc,
    pub(crate) aggregation: Aggregation,
    pub(crate) filter: KeyFilter,
    pub(crate) limit: usize,
    pub(crate) temporality: Temporality,
}

struct ScopeEntry {
    scope: InstrumentationScope,
    proto: PScope,
    streams: Vec<Arc<dyn Collect>>,
}

pub(crate) struct Pipeline {
    resource: PResource,
    schema_url: String,
    views: Arc<[View]>,
    temporality: Temporality,
    default_limit: usize,
    scopes: Mutex<Vec<ScopeEntry>>,
    pub(crate) stats: Arc<Stats>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("temporality", &self.temporality).finish_non_exhaustive()
    }
}

/// The aggregation an instrument kind gets by default.
fn default_aggregation(d: &InstrumentDescriptor) -> Aggregation {
    match d.kind {
        InstrumentKind::Counter
        | InstrumentKind::UpDownCounter
        | InstrumentKind::ObservableCounter
        | InstrumentKind::ObservableUpDownCounter => Aggregation::Sum,
        InstrumentKind::Gauge | InstrumentKind::ObservableGauge => Aggregation::LastValue,
        InstrumentKind::Histogram => Aggregation::ExplicitBucketHistogram {
            boundaries: d.boundaries.clone().unwrap_or_else(|| DEFAULT_BOUNDARIES.to_vec()),
            record_min_max: true,
        },
    }
}

/// Whether `a` makes sense for the instrument kind (the specification's compatibility
/// table; observable instruments here support sums and last values only).
fn compatible(a: &Aggregation, kind: InstrumentKind) -> bool {
    use InstrumentKind::*;
    match a {
        Aggregation::Default | Aggregation::Drop | Aggregation::LastValue => true,
        Aggregation::Sum => !matches!(kind, Gauge | ObservableGauge),
        _ => !kind.is_observable(),
    }
}

impl Pipeline {
    pub(crate) fn new(
        resource: &Resource,
        views: Arc<[View]>,
        temporality: Temporality,
        default_limit: usize,
        stats: Arc<Stats>,
    ) -> Self {
        Pipeline {
            resource: resource.to_proto(),
            schema_url: resource.schema_url().unwrap_or_default().to_owned(),
            views,
            temporality,
            default_limit,
            scopes: Mutex::new(Vec::new()),
            stats,
        }
    }

    /// The streams an instrument produces in this pipeline (empty if all are dropped).
    pub(crate) fn resolve(&self, d: &InstrumentDescriptor, meter: &str) -> Vec<ResolvedStream> {
        // Cumulative everywhere, unless the reader asks for delta; up-down counters stay
        // cumulative even then (the specification's delta preference), since a delta of a
        // value that goes both ways is rarely what a backend wants.
        let temporality = match (self.temporality, d.kind) {
            (
                Temporality::Delta,
                InstrumentKind::Counter
                | InstrumentKind::Histogram
                | InstrumentKind::ObservableCounter,
            ) => Temporality::Delta,
            _ => Temporality::Cumulative,
        };
        let stream = |view: Option<&View>| {
            let mut aggregation =
                view.and_then(|v| v.aggregation.clone()).unwrap_or(Aggregation::Default);
            if !compatible(&aggregation, d.kind) {
                diagnostics::report_once(
                    &format!("incompatible:{}:{:?}", d.name, d.kind),
                    Severity::Warning,
                    || {
                        format!(
                            "a view gives instrument {:?} ({:?}) the aggregation {aggregation:?}, \
                             which does not fit its kind; using the default aggregation",
                            d.name, d.kind
                        )
                    },
                );
                aggregation = Aggregation::Default;
            }
            if aggregation == Aggregation::Default {
                aggregation = default_aggregation(d);
            }
            ResolvedStream {
                desc: StreamDesc {
                    name: view.and_then(|v| v.rename.as_deref()).unwrap_or(&d.name).into(),
                    description: view
                        .and_then(|v| v.description.clone())
                        .unwrap_or_else(|| d.description.clone()),
                    unit: d.unit.clone(),
                },
                aggregation,
                filter: KeyFilter::new(view.and_then(|v| v.allowed_keys.clone())),
                limit: view.and_then(|v| v.cardinality_limit).unwrap_or(self.default_limit),
                temporality,
            }
        };
        let matching: Vec<&View> =
            self.views.iter().filter(|v| v.matches(&d.name, d.kind, meter)).collect();
        let streams: Vec<ResolvedStream> = if matching.is_empty() {
            vec![stream(None)]
        } else {
            matching.into_iter().map(|v| stream(Some(v))).collect()
        };
        streams.into_iter().filter(|s| s.aggregation != Aggregation::Drop).collect()
    }

    pub(crate) fn register(&self, scope: &InstrumentationScope, stream: Arc<dyn Collect>) {
        let mut scopes = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = scopes.iter_mut().find(|e| e.scope == *scope) {
            entry.streams.push(stream);
            return;
        }
        scopes.push(ScopeEntry {
            scope: scope.clone(),
            proto: PScope {
                name: scope.name().to_owned(),
                version: scope.version().unwrap_or_default().to_owned(),
                attributes: attributes(scope.attributes()),
                dropped_attributes_count: 0,
            },
            streams: vec![stream],
        });
    }

    pub(crate) fn collect(&self) -> ResourceMetrics {
        // Copy the stream list out so that a callback creating an instrument cannot deadlock.
        type Snapshot = (PScope, String, Vec<Arc<dyn Collect>>);
        let scopes: Vec<Snapshot> = self
            .scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|e| {
                (
                    e.proto.clone(),
                    e.scope.schema_url().unwrap_or_default().to_owned(),
                    e.streams.clone(),
                )
            })
            .collect();
        let now = now_unix_nanos();
        let mut scope_metrics = Vec::with_capacity(scopes.len());
        for (scope, schema_url, streams) in scopes {
            let mut metrics = Vec::with_capacity(streams.len());
            for s in streams {
                s.collect(now, &mut metrics);
            }
            if !metrics.is_empty() {
                scope_metrics.push(ScopeMetrics { scope: Some(scope), metrics, schema_url });
            }
        }
        ResourceMetrics {
            resource: Some(self.resource.clone()),
            scope_metrics,
            schema_url: self.schema_url.clone(),
        }
    }
}
