//! Test doubles shared by the unit tests: a scripted in-process transport that decodes and
//! records every request, and a payload made of plain RW 1.0 series.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use prw_proto::prost::Message;
use prw_proto::{rw1, rw2};
use prw_transport::{Request, Response, RetryAfter, SendFuture, Transport, Written};
use tokio::time::Instant;

use crate::payload::{Counts, Payload};
use crate::protocol::Wire;

/// Sorted label pairs.
pub(crate) type Labels = Vec<(String, String)>;

/// One decoded series: labels as sent and (timestamp, value) samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) samples: Vec<(i64, f64)>,
}

/// What the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) index: usize,
    pub(crate) at: Instant,
    pub(crate) headers: HeaderMap,
    pub(crate) wire: Wire,
    pub(crate) series: Vec<Decoded>,
    pub(crate) metadata: Vec<rw1::MetricMetadata>,
    /// What the fake answered (set once the responder decided).
    pub(crate) status: Option<StatusCode>,
}

impl Recorded {
    pub(crate) fn sample_count(&self) -> u64 {
        self.series.iter().map(|s| s.samples.len() as u64).sum()
    }
}

/// How the fake answers one request.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<RetryAfter>,
    /// `None`: a well-behaved receiver (RW 2.0 requests get exact Written counts).
    pub(crate) written: Option<Written>,
    pub(crate) body: &'static str,
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn status(code: u16) -> Reply {
        Reply {
            status: StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            retry_after: None,
            written: None,
            body: "",
            delay: Duration::ZERO,
        }
    }
    pub(crate) fn ok() -> Reply {
        Reply::status(204)
    }
    pub(crate) fn body(mut self, body: &'static str) -> Reply {
        self.body = body;
        self
    }
    pub(crate) fn retry_after(mut self, r: RetryAfter) -> Reply {
        self.retry_after = Some(r);
        self
    }
    pub(crate) fn written(mut self, w: Written) -> Reply {
        self.written = Some(w);
        self
    }
    pub(crate) fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

type Responder = Box<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A transport that decodes each request, records it, and answers as the responder says.
pub(crate) struct FakeTransport {
    responder: Responder,
    log: Mutex<Vec<Recorded>>,
}

impl std::fmt::Debug for FakeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTransport").finish_non_exhaustive()
    }
}

impl FakeTransport {
    pub(crate) fn new(responder: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(FakeTransport { responder: Box::new(responder), log: Mutex::new(Vec::new()) })
    }

    /// Answers the listed replies in order, then 204 forever.
    pub(crate) fn scripted(replies: Vec<Reply>) -> Arc<Self> {
        let script = Mutex::new(VecDeque::from(replies));
        FakeTransport::new(move |_| script.lock().unwrap().pop_front().unwrap_or_else(Reply::ok))
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until at least `n` requests arrived.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "only {} of {n} requests arrived", got.len());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Every series accepted (2xx), in arrival order, merged per label set.
    pub(crate) fn samples_by_series(&self) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let mut out: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
        for r in self.requests().into_iter().filter(|r| r.status.is_some_and(|s| s.is_success())) {
            for mut s in r.series {
                // merged whatever the order on the wire (sortedness is checked separately)
                s.labels.sort();
                match out.iter_mut().find(|(l, _)| *l == s.labels) {
                    Some((_, samples)) => samples.extend(s.samples),
                    None => out.push((s.labels, s.samples)),
                }
            }
        }
        out
    }
}

pub(crate) fn decode(
    headers: &HeaderMap,
    body: &[u8],
) -> (Wire, Vec<Decoded>, Vec<rw1::MetricMetadata>) {
    assert_eq!(headers["content-encoding"], "snappy");
    let raw = snap::raw::Decoder::new().decompress_vec(body).expect("snappy block body");
    let ct = headers["content-type"].to_str().unwrap();
    if ct.contains("io.prometheus.write.v2.Request") {
        assert_eq!(headers["x-prometheus-remote-write-version"], "2.0.0");
        let req = rw2::Request::decode(raw.as_slice()).expect("RW 2.0 body");
        assert_eq!(req.symbols.first().map(String::as_str), Some(""));
        let series = req
            .timeseries
            .iter()
            .map(|ts| Decoded {
                labels: ts
                    .labels_refs
                    .chunks(2)
                    .map(|p| {
                        (req.symbols[p[0] as usize].clone(), req.symbols[p[1] as usize].clone())
                    })
                    .collect(),
                samples: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
            })
            .collect();
        (Wire::V2, series, Vec::new())
    } else {
        assert_eq!(ct, "application/x-protobuf");
        assert_eq!(headers["x-prometheus-remote-write-version"], "0.1.0");
        let req = rw1::WriteRequest::decode(raw.as_slice()).expect("RW 1.0 body");
        let series = req
            .timeseries
            .iter()
            .map(|ts| Decoded {
                labels: ts.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect(),
                samples: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
            })
            .collect();
        (Wire::V1, series, req.metadata)
    }
}

impl Transport for FakeTransport {
    fn send(&self, request: Request) -> SendFuture<'_> {
        Box::pin(async move {
            let (wire, series, metadata) = decode(&request.headers, &request.body);
            let recorded = {
                let mut log = self.log.lock().unwrap();
                let r = Recorded {
                    index: log.len(),
                    at: Instant::now(),
                    headers: request.headers.clone(),
                    wire,
                    series,
                    metadata,
                    status: None,
                };
                log.push(r.clone());
                r
            };
            let reply = (self.responder)(&recorded);
            self.log.lock().unwrap()[recorded.index].status = Some(reply.status);
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            let written = match reply.written {
                Some(w) => w,
                None if wire == Wire::V2 => Written {
                    samples: Some(recorded.sample_count() as i64),
                    histograms: Some(0),
                    exemplars: Some(0),
                },
                None => Written::default(),
            };
            Ok(Response {
                status: reply.status,
                retry_after: reply.retry_after,
                written,
                body: Bytes::from_static(reply.body.as_bytes()),
            })
        })
    }
}

/// A payload of plain series (samples only).
#[derive(Debug, Clone)]
pub(crate) struct TestPayload(pub(crate) Vec<rw1::TimeSeries>);

impl TestPayload {
    /// `n` series `test_metric{i="<k>"}` (k from `first`), one sample each at `ts`.
    pub(crate) fn series(first: usize, n: usize, ts: i64) -> Arc<dyn Payload> {
        Arc::new(TestPayload(
            (first..first + n)
                .map(|k| rw1::TimeSeries {
                    labels: vec![
                        rw1::Label { name: "__name__".into(), value: "test_metric".into() },
                        rw1::Label { name: "i".into(), value: k.to_string() },
                    ],
                    samples: vec![rw1::Sample { value: k as f64, timestamp: ts }],
                    ..Default::default()
                })
                .collect(),
        ))
    }
}

impl Payload for TestPayload {
    fn counts(&self) -> Counts {
        Counts {
            samples: self.0.iter().map(|s| s.samples.len() as u64).sum(),
            histograms: 0,
            exemplars: 0,
        }
    }
    fn size(&self) -> usize {
        rw1::WriteRequest { timeseries: self.0.clone(), metadata: vec![] }.encoded_len()
    }
    fn encode(&self, wire: Wire, out: &mut Vec<u8>) {
        match wire {
            Wire::V1 => rw1::WriteRequest { timeseries: self.0.clone(), metadata: vec![] }
                .encode(out)
                .unwrap(),
            Wire::V2 => {
                let mut symbols = vec![String::new()];
                let mut sym = |s: &str| -> u32 {
                    match symbols.iter().position(|x| x == s) {
                        Some(i) => i as u32,
                        None => {
                            symbols.push(s.to_owned());
                            (symbols.len() - 1) as u32
                        }
                    }
                };
                let timeseries = self
                    .0
                    .iter()
                    .map(|ts| rw2::TimeSeries {
                        labels_refs: ts
                            .labels
                            .iter()
                            .flat_map(|l| [sym(&l.name), sym(&l.value)])
                            .collect(),
                        samples: ts
                            .samples
                            .iter()
                            .map(|s| rw2::Sample {
                                value: s.value,
                                timestamp: s.timestamp,
                                start_timestamp: 0,
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect();
                rw2::Request { symbols, timeseries }.encode(out).unwrap()
            }
        }
    }
    fn split(&self) -> Option<(Arc<dyn Payload>, Arc<dyn Payload>)> {
        if self.0.len() < 2 {
            return None;
        }
        let mid = self.0.len() / 2;
        Some((
            Arc::new(TestPayload(self.0[..mid].to_vec())),
            Arc::new(TestPayload(self.0[mid..].to_vec())),
        ))
    }
}

/// Runs a future to completion on the calling thread, like the SDK's controller does: no
/// tokio runtime involved.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::sync::Arc as StdArc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: StdArc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(StdArc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// OTLP building blocks for tests.
pub(crate) mod otlp {
    use prw_proto::otlp::common::{AnyValue, KeyValue, any_value};
    use prw_proto::otlp::metrics::{
        AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
        metric, number_data_point,
    };
    use prw_proto::otlp::resource::Resource;

    pub(crate) const T0: u64 = 1_700_000_000_000_000_000;

    pub(crate) fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
        }
    }

    pub(crate) fn point(attrs: &[(&str, &str)], value: f64, time: u64) -> NumberDataPoint {
        NumberDataPoint {
            attributes: attrs.iter().map(|(k, v)| kv(k, v)).collect(),
            start_time_unix_nano: T0,
            time_unix_nano: time,
            value: Some(number_data_point::Value::AsDouble(value)),
            ..Default::default()
        }
    }

    pub(crate) fn counter(name: &str, points: Vec<NumberDataPoint>) -> Metric {
        sum(name, points, AggregationTemporality::Cumulative)
    }

    pub(crate) fn sum(
        name: &str,
        points: Vec<NumberDataPoint>,
        t: AggregationTemporality,
    ) -> Metric {
        Metric {
            name: name.into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: points,
                aggregation_temporality: t as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        }
    }

    pub(crate) fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
        Metric {
            name: name.into(),
            data: Some(metric::Data::Gauge(Gauge { data_points: points })),
            ..Default::default()
        }
    }

    pub(crate) fn resource(service: &str, metrics: Vec<Metric>) -> ResourceMetrics {
        ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", service),
                    kv("service.instance.id", "i-1"),
                    kv("host.name", "h"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            schema_url: String::new(),
        }
    }
}

/// A `tracing` subscriber that keeps every event's level and message, to check what the
/// exporter logs (and how little).
#[derive(Debug, Clone, Default)]
pub(crate) struct CapturedLogs(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl CapturedLogs {
    /// Lines at INFO or above.
    pub(crate) fn lines(&self) -> Vec<(tracing::Level, String)> {
        self.0.lock().unwrap().iter().filter(|(l, _)| *l <= tracing::Level::INFO).cloned().collect()
    }
}

impl tracing::Subscriber for CapturedLogs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        self.0.lock().unwrap().push((*event.metadata().level(), m.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
