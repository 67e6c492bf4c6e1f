//! The SDK's meter: turns instrument descriptors into streams in every pipeline.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use prw_api::diagnostics::{self, Severity};
use prw_api::{
    Callback, InstrumentDescriptor, InstrumentKind, InstrumentProvider, InstrumentationScope,
    SyncInstrument,
};

use crate::aggregation::Aggregation;
use crate::internal::aggregators::Aggregator;
use crate::internal::aggregators::{HistogramAgg, LastValueAgg, MmscAgg, SumAgg};
use crate::internal::exponential::ExpoAggregator;
use crate::internal::number::Num;
use crate::internal::pipeline::{Pipeline, ResolvedStream};
use crate::internal::stream::{
    AsyncAgg, AsyncStream, Callbacks, Collect, Fanout, Stats, SyncStream,
};

type InstrumentKey = (String, InstrumentKind, TypeId);

struct Registered {
    description: String,
    unit: String,
    /// `Option<Arc<dyn SyncInstrument<T>>>` or `Callbacks<T>`.
    handle: Box<dyn Any + Send + Sync>,
}

/// One instrumentation scope's instrument factory.
pub(crate) struct SdkMeter {
    scope: InstrumentationScope,
    pipelines: Arc<[Arc<Pipeline>]>,
    instruments: Mutex<HashMap<InstrumentKey, Registered>>,
}

impl SdkMeter {
    pub(crate) fn new(scope: InstrumentationScope, pipelines: Arc<[Arc<Pipeline>]>) -> Self {
        SdkMeter { scope, pipelines, instruments: Mutex::new(HashMap::new()) }
    }

    /// The registered instrument with this identity, if any; warns when the same name comes
    /// back with another description or unit (the first registration wins).
    fn existing<H: Clone + 'static>(
        &self,
        map: &HashMap<InstrumentKey, Registered>,
        key: &InstrumentKey,
        d: &InstrumentDescriptor,
    ) -> Option<H> {
        let r = map.get(key)?;
        if r.description != d.description || r.unit != d.unit {
            diagnostics::report_once(
                &format!("dup:{}:{}", self.scope.name(), d.name),
                Severity::Warning,
                || {
                    format!(
                        "instrument {:?} was created again with a different description or unit; \
                         the first registration is used",
                        d.name
                    )
                },
            );
        }
        r.handle.downcast_ref::<H>().cloned()
    }

    fn sync<T: Num>(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<T>>> {
        let key = (d.name.to_ascii_lowercase(), d.kind, TypeId::of::<T>());
        let mut map = self.instruments.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = self.existing::<Option<Arc<dyn SyncInstrument<T>>>>(&map, &key, &d) {
            return h;
        }
        let mut parts: Vec<Arc<dyn SyncInstrument<T>>> = Vec::new();
        for p in self.pipelines.iter() {
            for rs in p.resolve(&d, self.scope.name()) {
                if let Some((inst, collect)) = make_sync::<T>(d.kind, &rs, &p.stats) {
                    p.register(&self.scope, collect);
                    parts.push(inst);
                }
            }
        }
        let handle = match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Arc::new(Fanout(parts)) as Arc<dyn SyncInstrument<T>>),
        };
        map.insert(
            key,
            Registered {
                description: d.description.to_string(),
                unit: d.unit.to_string(),
                handle: Box::new(handle.clone()),
            },
        );
        handle
    }

    fn observable<T: Num>(&self, d: InstrumentDescriptor, callbacks: Vec<Callback<T>>) {
        let key = (d.name.to_ascii_lowercase(), d.kind, TypeId::of::<T>());
        let mut map = self.instruments.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = self.existing::<Callbacks<T>>(&map, &key, &d) {
            existing.write().unwrap_or_else(PoisonError::into_inner).extend(callbacks);
            return;
        }
        let shared: Callbacks<T> = Arc::new(RwLock::new(callbacks));
        for p in self.pipelines.iter() {
            for rs in p.resolve(&d, self.scope.name()) {
                let agg = match rs.aggregation {
                    Aggregation::LastValue => AsyncAgg::LastValue,
                    _ => AsyncAgg::Sum { monotonic: d.kind == InstrumentKind::ObservableCounter },
                };
                let stream = AsyncStream::new(
                    shared.clone(),
                    agg,
                    rs.desc,
                    rs.temporality,
                    rs.limit,
                    rs.filter,
                    p.stats.clone(),
                );
                p.register(&self.scope, Arc::new(stream));
            }
        }
        map.insert(
            key,
            Registered {
                description: d.description.to_string(),
                unit: d.unit.to_string(),
                handle: Box::new(shared),
            },
        );
    }
}

type Made<T> = (Arc<dyn SyncInstrument<T>>, Arc<dyn Collect>);

fn make_sync<T: Num>(
    kind: InstrumentKind,
    rs: &ResolvedStream,
    stats: &Arc<Stats>,
) -> Option<Made<T>> {
    fn build<A: Aggregator>(agg: A, rs: &ResolvedStream, stats: &Arc<Stats>) -> Made<A::Input> {
        let s = Arc::new(SyncStream::new(
            agg,
            rs.desc.clone(),
            rs.temporality,
            rs.limit,
            rs.filter.clone(),
            stats.clone(),
        ));
        (s.clone(), s)
    }
    // A histogram's sum only means something when values cannot be negative.
    let record_sum = matches!(kind, InstrumentKind::Counter | InstrumentKind::Histogram);
    Some(match &rs.aggregation {
        Aggregation::Drop => return None,
        Aggregation::Sum => build(SumAgg::<T>::new(kind == InstrumentKind::Counter), rs, stats),
        Aggregation::LastValue => build(LastValueAgg::<T>::new(), rs, stats),
        Aggregation::ExplicitBucketHistogram { boundaries, record_min_max } => build(
            HistogramAgg::<T>::new(boundaries.clone(), *record_min_max, record_sum),
            rs,
            stats,
        ),
        Aggregation::Base2ExponentialHistogram { max_size, max_scale, record_min_max } => build(
            ExpoAggregator::<T>::new(*max_size, *max_scale, *record_min_max, record_sum),
            rs,
            stats,
        ),
        Aggregation::MinMaxSumCount => build(MmscAgg::<T>::new(), rs, stats),
        // Resolved away by the pipeline.
        Aggregation::Default => return None,
    })
}

impl InstrumentProvider for SdkMeter {
    fn u64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<u64>>> {
        self.sync(d)
    }
    fn i64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<i64>>> {
        self.sync(d)
    }
    fn f64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<f64>>> {
        self.sync(d)
    }
    fn u64_observable(&self, d: InstrumentDescriptor, callbacks: Vec<Callback<u64>>) {
        self.observable(d, callbacks)
    }
    fn i64_observable(&self, d: InstrumentDescriptor, callbacks: Vec<Callback<i64>>) {
        self.observable(d, callbacks)
    }
    fn f64_observable(&self, d: InstrumentDescriptor, callbacks: Vec<Callback<f64>>) {
        self.observable(d, callbacks)
    }
}
