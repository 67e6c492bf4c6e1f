//! One reader's view of the provider: the streams registered for it and how to collect them.

use std::sync::{Arc, Mutex, PoisonError};

use prw_api::diagnostics::{self, Severity};
use prw_api::{InstrumentDescriptor, InstrumentKind, InstrumentationScope};
use prw_proto::otlp::common::InstrumentationScope as PScope;
use prw_proto::otlp::metrics::{Metric, ResourceMetrics, ScopeMetrics};
use prw_proto::otlp::resource::Resource as PResource;

use super::aggregators::DEFAULT_BOUNDARIES;
use super::convert::{attributes, write_resource, write_scope, write_str};
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

#[derive(Clone)]
struct ScopeEntry {
    scope: InstrumentationScope,
    proto: PScope,
    schema_url: String,
    streams: Vec<Arc<dyn Collect>>,
}

pub(crate) struct Pipeline {
    resource: PResource,
    schema_url: String,
    views: Arc<[View]>,
    temporality: Temporality,
    default_limit: usize,
    /// Copied on write (registering an instrument is rare), so that a collection takes the
    /// list by cloning one `Arc`: no allocation, and a callback creating an instrument
    /// cannot deadlock on the lock.
    scopes: Mutex<Arc<Vec<ScopeEntry>>>,
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
            scopes: Mutex::new(Arc::new(Vec::new())),
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
        let scopes = Arc::make_mut(&mut scopes);
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
            schema_url: scope.schema_url().unwrap_or_default().to_owned(),
            streams: vec![stream],
        });
    }

    /// Collects every stream over `rm`, a previous collection (or a default one) reused for
    /// its memory. Whatever shape `rm` has, the result equals a collection into a default
    /// `ResourceMetrics`: scopes and metrics are written in registration order over the
    /// ones there, and what is left over is dropped.
    pub(crate) fn collect_into(&self, rm: &mut ResourceMetrics) {
        let scopes = self.scopes.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let now = now_unix_nanos();
        let mut used = 0;
        for entry in scopes.iter() {
            if used == rm.scope_metrics.len() {
                rm.scope_metrics.push(ScopeMetrics::default());
            }
            let sm = &mut rm.scope_metrics[used];
            let mut n = 0;
            for stream in &entry.streams {
                if n == sm.metrics.len() {
                    sm.metrics.push(Metric::default());
                }
                n += usize::from(stream.collect_into(now, &mut sm.metrics[n]));
            }
            if n > 0 {
                // A scope without metrics leaves its place (and memory) to the next one.
                sm.metrics.truncate(n);
                write_scope(&entry.proto, sm.scope.get_or_insert_with(PScope::default));
                write_str(&entry.schema_url, &mut sm.schema_url);
                used += 1;
            }
        }
        rm.scope_metrics.truncate(used);
        write_resource(&self.resource, rm.resource.get_or_insert_with(PResource::default));
        write_str(&self.schema_url, &mut rm.schema_url);
    }
}
