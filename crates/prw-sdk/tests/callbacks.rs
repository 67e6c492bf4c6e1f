//! Observable instruments: callbacks once per collection, failures and panics contained,
//! and attribute sets that stop being reported exported once as "no recorded value".
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use prw_api::KeyValue;
use prw_proto::otlp::metrics::DataPointFlags;

#[test]
fn callbacks_run_once_per_collection() {
    let (_p, r, m) = provider();
    let runs = Arc::new(AtomicUsize::new(0));
    let r2 = runs.clone();
    m.u64_observable_gauge("g")
        .with_callback(move |o| {
            r2.fetch_add(1, Ordering::SeqCst);
            o.observe(1, &[]);
        })
        .build();
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    r.collect().unwrap();
    r.collect().unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[test]
fn errors_and_panics_are_contained() {
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let rep = reports.clone();
    prw_api::diagnostics::set_handler(move |d| rep.lock().unwrap().push(d.message().to_owned()));

    let (p, r, m) = provider();
    m.u64_observable_gauge("panics").with_callback(|_| panic!("sensor unplugged")).build();
    m.u64_observable_gauge("fails")
        .with_fallible_callback(|o| {
            o.observe(1, &[]);
            Err("backend unreachable".into())
        })
        .build();
    m.u64_observable_gauge("fine").with_callback(|o| o.observe(42, &[])).build();
    m.u64_counter("sync").build().add(1, &[]);
    let rm = r.collect().unwrap();
    assert_eq!(names(&rm), vec!["fine", "sync"]);
    assert_eq!(single(metric(&rm, "fine")), 42.0);
    assert_eq!(p.stats().callback_failures, 2);

    prw_api::diagnostics::reset_handler();
    let reports = reports.lock().unwrap();
    assert!(reports.iter().any(|m| m.contains("panicked: sensor unplugged")), "{reports:?}");
    assert!(reports.iter().any(|m| m.contains("failed: backend unreachable")), "{reports:?}");
}

#[test]
fn vanished_sets_are_flagged_once() {
    let (_p, r, m) = provider();
    let show_b = Arc::new(AtomicBool::new(true));
    let s = show_b.clone();
    m.i64_observable_gauge("queue")
        .with_callback(move |o| {
            o.observe(1, &[KeyValue::new("q", "a")]);
            if s.load(Ordering::SeqCst) {
                o.observe(2, &[KeyValue::new("q", "b")]);
            }
        })
        .build();
    let flags = |rm: &prw_sdk::ResourceMetrics| {
        let mut v: Vec<(Vec<String>, u32)> = raw_number_points(metric(rm, "queue"))
            .iter()
            .map(|p| (attrs(&p.attributes), p.flags))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        flags(&r.collect().unwrap()),
        vec![(vec!["q=a".into()], 0), (vec!["q=b".into()], 0)]
    );
    show_b.store(false, Ordering::SeqCst);
    let stale = DataPointFlags::NoRecordedValueMask as u32;
    assert_eq!(
        flags(&r.collect().unwrap()),
        vec![(vec!["q=a".into()], 0), (vec!["q=b".into()], stale)]
    );
    // Exported once only.
    assert_eq!(flags(&r.collect().unwrap()), vec![(vec!["q=a".into()], 0)]);
    // Back again: a normal point.
    show_b.store(true, Ordering::SeqCst);
    assert_eq!(
        flags(&r.collect().unwrap()),
        vec![(vec!["q=a".into()], 0), (vec!["q=b".into()], 0)]
    );
}

#[test]
fn a_failing_callback_does_not_mark_its_sets_stale() {
    let (_p, r, m) = provider();
    let fail = Arc::new(AtomicBool::new(false));
    let f = fail.clone();
    m.u64_observable_counter("c")
        .with_fallible_callback(move |o| {
            if f.load(Ordering::SeqCst) {
                return Err("temporarily down".into());
            }
            o.observe(5, &[KeyValue::new("k", "v")]);
            Ok(())
        })
        .build();
    assert_eq!(single(metric(&r.collect().unwrap(), "c")), 5.0);
    fail.store(true, Ordering::SeqCst);
    assert!(find(&r.collect().unwrap(), "c").is_none());
    fail.store(false, Ordering::SeqCst);
    let rm = r.collect().unwrap();
    let p = &raw_number_points(metric(&rm, "c"))[0];
    assert_eq!((num(p), p.flags), (5.0, 0));
}

#[test]
fn last_observation_of_a_set_wins() {
    let (_p, r, m) = provider();
    m.f64_observable_gauge("g")
        .with_callback(|o| {
            o.observe(1.0, &[KeyValue::new("a", 1), KeyValue::new("b", 2)]);
            o.observe(3.0, &[KeyValue::new("b", 2), KeyValue::new("a", 1)]);
        })
        .build();
    assert_eq!(single(metric(&r.collect().unwrap(), "g")), 3.0);
}
