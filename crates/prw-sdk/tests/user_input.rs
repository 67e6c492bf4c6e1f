//! Property tests for what users (and the environment) hand the SDK: nothing panics, and
//! what is accepted is what the rules say.
#![allow(clippy::unwrap_used)] // tests: a failure should stop them

mod common;

use common::*;
use proptest::prelude::*;
use prw_api::KeyValue;
use prw_api::name::validate_name;

fn valid_by_rule(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && name.len() <= 255
}

proptest! {
    #[test]
    fn name_validation_matches_the_rule(name in "\\PC{0,8}|[A-Za-z][A-Za-z0-9_./-]{0,300}") {
        prop_assert_eq!(validate_name(&name).is_ok(), valid_by_rule(&name));
    }

    #[test]
    fn any_name_gives_an_instrument_that_records_or_does_nothing(name in "\\PC{0,20}") {
        let (_p, reader, meter) = provider();
        let c = meter.u64_counter(name.clone()).build();
        c.add(1, &[KeyValue::new("k", "v")]);
        let rm = reader.collect().unwrap();
        let exported = find(&rm, &name).is_some();
        prop_assert_eq!(exported, valid_by_rule(&name));
    }

    #[test]
    fn attribute_values_of_any_kind_and_order_round_trip(
        pairs in proptest::collection::btree_map("[a-z]{1,8}", any::<i64>(), 0..6),
        texts in proptest::collection::vec("\\PC{0,12}", 0..4),
        reverse in any::<bool>(),
    ) {
        let (_p, reader, meter) = provider();
        let c = meter.u64_counter("c").build();
        let mut attrs: Vec<KeyValue> = pairs.iter().map(|(k, v)| KeyValue::new(k.clone(), *v)).collect();
        for (i, t) in texts.iter().enumerate() {
            attrs.push(KeyValue::new(format!("text{i}"), t.clone()));
        }
        c.add(1, &attrs);
        if reverse {
            attrs.reverse();
        }
        c.add(2, &attrs);
        let rm = reader.collect().unwrap();
        let points = number_points(metric(&rm, "c"));
        prop_assert_eq!(points.len(), 1);
        prop_assert_eq!(points[0].1, 3.0);
        prop_assert_eq!(points[0].0.len(), attrs.len());
    }
}
