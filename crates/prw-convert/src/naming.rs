//! Metric, unit and label names, as Prometheus' `otlptranslator` builds them.
//!
//! These follow `otlptranslator` (the code the OpenTelemetry Collector and Prometheus' own OTLP
//! endpoint call), so a metric gets the same name through us as straight into Prometheus.

use std::borrow::Cow;

use crate::options::TranslationStrategy;

/// The kind of a metric as far as naming cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A gauge (`_ratio` for unit `1`).
    Gauge,
    /// A monotonic sum (`_total`).
    MonotonicCounter,
    /// A non-monotonic sum (no type suffix).
    NonMonotonicCounter,
    /// An explicit-bucket histogram.
    Histogram,
    /// An exponential histogram.
    ExponentialHistogram,
    /// A summary.
    Summary,
}

/// OTLP (UCUM) units to Prometheus unit words. As in `otlptranslator` (including its `KBy` and
/// `TiBy` spellings), so names match Prometheus' OTLP endpoint.
fn unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// `buildUnitSuffixes`: the main and `per_` parts of a unit, mapped but not escaped.
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m, Some(p)),
        None => (unit, None),
    };
    let main = main.trim();
    let main_suffix = if !main.is_empty() && !main.contains(['{', '}']) {
        unit_word(main).unwrap_or(main).to_string()
    } else {
        String::new()
    };
    let mut per_suffix = String::new();
    if let Some(per) = per.filter(|p| !p.is_empty()) {
        let per = per.trim();
        if !per.is_empty() && !per.contains(['{', '}']) {
            per_suffix = format!("per_{}", per_unit_word(per).unwrap_or(per));
        }
    }
    (main_suffix, per_suffix)
}

/// `cleanUpUnit`: invalid characters to `_`, runs collapsed, one leading `_` trimmed.
fn clean_up_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) || c == '_' { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    match out.strip_prefix('_') {
        Some(rest) => rest.to_string(),
        None => out,
    }
}

/// The unit metadata string (`UnitNamer.Build`): `s` → `seconds`, `By/s` → `bytes_per_second`,
/// `1` → empty, `{packets}` → empty.
pub fn unit_name(unit: &str, escape: bool) -> String {
    let (mut main, mut per) = unit_suffixes(unit);
    if escape {
        main = clean_up_unit(&main);
        per = clean_up_unit(&per);
    }
    let mut u = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    if u.starts_with('_') {
        u.remove(0);
    }
    if u.ends_with('_') {
        u.pop();
    }
    u
}

/// Builds the Prometheus metric name, or `None` when nothing valid is left (an empty or
/// all-underscore name).
pub fn metric_name(
    name: &str,
    unit: &str,
    kind: NameKind,
    namespace: Option<&str>,
    strategy: TranslationStrategy,
) -> Option<String> {
    let ns = namespace.unwrap_or("");
    let out = match strategy {
        TranslationStrategy::UnderscoreEscapingWithSuffixes => {
            let out = normalize_with_suffixes(name, unit, kind, ns);
            if out != name && out.bytes().all(|b| b == b'_') {
                return None;
            }
            out
        }
        TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
            let out = escape_without_suffixes(name, ns);
            if out != name && out.bytes().all(|b| b == b'_') {
                return None;
            }
            out
        }
        TranslationStrategy::NoUtf8EscapingWithSuffixes => utf8_name(name, unit, kind, ns, true),
        TranslationStrategy::NoTranslation => utf8_name(name, unit, kind, ns, false),
    };
    if out.is_empty() { None } else { Some(out) }
}

fn normalize_with_suffixes(name: &str, unit: &str, kind: NameKind, ns: &str) -> String {
    let mut tokens: Vec<&str> =
        name.split(|c: char| !is_metric_char(c)).filter(|t| !t.is_empty()).collect();
    let (main, per) = unit_suffixes(unit);
    let mut main = clean_up_unit(&main);
    let mut per = clean_up_unit(&per);
    // addUnitTokens
    if tokens.contains(&main.as_str()) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        if per.ends_with('_') {
            per.pop();
        }
        if tokens.contains(&per.as_str()) {
            per.clear();
        }
    }
    if !per.is_empty() && main.ends_with('_') {
        main.pop();
    }
    if !main.is_empty() {
        tokens.push(&main);
    }
    if !per.is_empty() {
        tokens.push(&per);
    }
    if kind == NameKind::MonotonicCounter {
        tokens.retain(|t| *t != "total");
        tokens.push("total");
    }
    if unit == "1" && kind == NameKind::Gauge {
        tokens.retain(|t| *t != "ratio");
        tokens.push("ratio");
    }
    if !ns.is_empty() {
        tokens.insert(0, ns);
    }
    let joined = tokens.join("_");
    if joined.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        format!("_{joined}")
    } else {
        joined
    }
}

fn escape_without_suffixes(name: &str, ns: &str) -> String {
    let split = |s: &str| -> String {
        s.split(|c: char| !(is_metric_char(c) || c == '_'))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("_")
    };
    let metric = split(name);
    if !ns.is_empty() {
        return format!("{}_{metric}", split(ns));
    }
    if metric.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        format!("_{metric}")
    } else {
        metric
    }
}

/// `trimSuffixAndDelimiter`.
fn trim_suffix_and_delimiter<'a>(name: &'a str, suffix: &str) -> &'a str {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        &name[..name.len() - suffix.len() - 1]
    } else {
        name
    }
}

fn utf8_name(name: &str, unit: &str, kind: NameKind, ns: &str, suffixes: bool) -> String {
    let full = if ns.is_empty() { name.to_string() } else { format!("{ns}_{name}") };
    if !suffixes {
        return full;
    }
    let mut base: &str = &full;
    let ratio = unit == "1" && kind == NameKind::Gauge;
    if ratio {
        base = trim_suffix_and_delimiter(base, "ratio");
    }
    let total = kind == NameKind::MonotonicCounter;
    if total {
        base = trim_suffix_and_delimiter(base, "total");
    }
    let (main, per) = unit_suffixes(unit);
    if !per.is_empty() {
        base = trim_suffix_and_delimiter(base, &per);
    }
    let mut out = base.to_string();
    if !main.is_empty() && !out.ends_with(&main) {
        out.push('_');
        out.push_str(&main);
    }
    if !per.is_empty() {
        out.push('_');
        out.push_str(&per);
    }
    if total {
        out.push_str("_total");
    }
    if ratio {
        out.push_str("_ratio");
    }
    out
}

/// Whether `otlptranslator`'s label namer would return this escaped name unchanged: the fast
/// path that lets most attribute keys be used without allocating.
fn label_name_is_canonical(label: &str) -> bool {
    let b = label.as_bytes();
    let (start, end) = if b.len() >= 4 && label.starts_with("__") && label.ends_with("__") {
        (2, b.len() - 2)
    } else {
        (0, b.len())
    };
    if b.first().is_none_or(u8::is_ascii_digit) {
        return false;
    }
    let mut prev_underscore = false;
    let mut saw_other = false;
    for &c in &b[start..end] {
        if c == b'_' {
            if prev_underscore {
                return false;
            }
            prev_underscore = true;
        } else if c.is_ascii_alphanumeric() {
            prev_underscore = false;
            saw_other = true;
        } else {
            return false;
        }
    }
    saw_other
}

/// The label name for an attribute key (`LabelNamer.Build`, default options), or `None` if the
/// key is empty or nothing but underscores is left.
///
/// Escaping: characters outside `[a-zA-Z0-9]` become `_`, runs of `_` collapse, `__x__` keeps its
/// wrapping underscores, a leading digit gets `key_`. A single leading `_` is kept (`_test` stays
/// `_test`; the legacy collector made it `key_test`).
pub fn label_name(label: &str, escape: bool) -> Option<Cow<'_, str>> {
    if label.is_empty() {
        return None;
    }
    if !escape {
        return if label.bytes().all(|b| b == b'_') { None } else { Some(Cow::Borrowed(label)) };
    }
    if label_name_is_canonical(label) {
        return Some(Cow::Borrowed(label));
    }
    let mut out = String::with_capacity(label.len() + 4);
    escape_label_into(label, &mut out);
    if out.bytes().all(|b| b == b'_') {
        return None;
    }
    Some(Cow::Owned(out))
}

/// Appends the escaped form of a (non-canonical) label name to `out`.
fn escape_label_into(label: &str, out: &mut String) {
    let reserved = label.len() >= 4 && label.starts_with("__") && label.ends_with("__");
    let inner = if reserved { &label[2..label.len() - 2] } else { label };
    let start = out.len();
    if reserved {
        out.push_str("__");
    }
    let mut prev_underscore = false;
    for c in inner.chars() {
        if is_label_char(c) {
            out.push(c);
            prev_underscore = false;
        } else if !prev_underscore {
            out.push('_');
            prev_underscore = true;
        }
    }
    if reserved {
        out.push_str("__");
    }
    if out.as_bytes().get(start).is_some_and(u8::is_ascii_digit) {
        out.insert_str(start, "key_");
    }
}

/// Writes the label name for `label` into `text` if it needs escaping; returns `Ok(None)` when
/// `label` can be used as it is, and `Err(())` when no valid name is left.
pub(crate) fn label_name_into(label: &str, escape: bool, text: &mut String) -> Result<bool, ()> {
    if label.is_empty() {
        return Err(());
    }
    if !escape {
        return if label.bytes().all(|b| b == b'_') { Err(()) } else { Ok(false) };
    }
    if label_name_is_canonical(label) {
        return Ok(false);
    }
    let start = text.len();
    escape_label_into(label, text);
    if text.as_bytes()[start..].iter().all(|&b| b == b'_') {
        text.truncate(start);
        return Err(());
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameKind::*;
    use TranslationStrategy::*;

    fn name(n: &str, unit: &str, kind: NameKind) -> String {
        metric_name(n, unit, kind, None, UnderscoreEscapingWithSuffixes).unwrap_or_default()
    }

    #[test]
    fn worked_examples_n1_to_n13() {
        // N1
        assert_eq!(name("system.io", "By", MonotonicCounter), "system_io_bytes_total");
        // N2
        assert_eq!(
            name("network_transmitted_bytes_total", "By", MonotonicCounter),
            "network_transmitted_bytes_total"
        );
        // N3
        assert_eq!(name("system.filesystem.usage", "By", Gauge), "system_filesystem_usage_bytes");
        assert_eq!(
            name("\t system.filesystem.usage  ", "  By\t", Gauge),
            "system_filesystem_usage_bytes"
        );
        // N4
        assert_eq!(name("system.network.dropped", "{packets}", Gauge), "system_network_dropped");
        assert_eq!(
            name("system.network.dropped", "{packets}", MonotonicCounter),
            "system_network_dropped_total"
        );
        // N5
        assert_eq!(
            name("system.network.dropped", "packets", Gauge),
            "system_network_dropped_packets"
        );
        assert_eq!(
            name("system.network.packets.dropped", "packets", Gauge),
            "system_network_packets_dropped"
        );
        assert_eq!(name("system.network.packets", "packets", Gauge), "system_network_packets");
        // N6
        assert_eq!(
            name("hw.gpu.memory.utilization", "1", Gauge),
            "hw_gpu_memory_utilization_ratio"
        );
        assert_eq!(name("hw.fan.speed_ratio", "1", Gauge), "hw_fan_speed_ratio");
        assert_eq!(name("objects", "1", MonotonicCounter), "objects_total");
        // N11
        for (unit, suffix) in [
            ("MiBy", "_mebibytes"),
            ("By/s", "_bytes_per_second"),
            ("GiBy/h", "_gibibytes_per_hour"),
            ("KBy", "_kilobytes"),
            ("us", "_microseconds"),
            ("Hz", "_hertz"),
        ] {
            assert_eq!(name("m", unit, Gauge), format!("m{suffix}"), "unit {unit}");
        }
        assert_eq!(
            name("system.disk.operation_time", "s", MonotonicCounter),
            "system_disk_operation_time_seconds_total"
        );
        // N12
        assert_eq!(name("3.14 digits", "", Gauge), "_3_14_digits");
        // N13
        assert_eq!(
            name("envoy__rule_engine_zlib_buf_error", "", Gauge),
            "envoy_rule_engine_zlib_buf_error"
        );
        assert_eq!(
            metric_name(
                "envoy__rule_engine_zlib_buf_error",
                "",
                Gauge,
                None,
                UnderscoreEscapingWithoutSuffixes
            )
            .as_deref(),
            Some("envoy__rule_engine_zlib_buf_error")
        );
    }

    #[test]
    fn units_table() {
        let table = [
            ("d", "days"),
            ("h", "hours"),
            ("min", "minutes"),
            ("s", "seconds"),
            ("ms", "milliseconds"),
            ("us", "microseconds"),
            ("ns", "nanoseconds"),
            ("By", "bytes"),
            ("KiBy", "kibibytes"),
            ("MiBy", "mebibytes"),
            ("GiBy", "gibibytes"),
            ("TiBy", "tibibytes"),
            ("KBy", "kilobytes"),
            ("MBy", "megabytes"),
            ("GBy", "gigabytes"),
            ("TBy", "terabytes"),
            ("m", "meters"),
            ("V", "volts"),
            ("A", "amperes"),
            ("J", "joules"),
            ("W", "watts"),
            ("g", "grams"),
            ("Cel", "celsius"),
            ("Hz", "hertz"),
            ("%", "percent"),
            ("1", ""),
            ("{packets}", ""),
            ("By/s", "bytes_per_second"),
            ("m/s", "meters_per_second"),
            ("1/s", "per_second"),
            ("{req}/min", "per_min"),
            ("By/w", "bytes_per_week"),
            ("By/mo", "bytes_per_month"),
            ("By/y", "bytes_per_year"),
            ("By/d", "bytes_per_day"),
            ("widgets", "widgets"),
            ("a b/c", "a_b_per_c"),
            ("", ""),
        ];
        for (unit, want) in table {
            assert_eq!(unit_name(unit, true), want, "unit {unit:?}");
        }
        // No escaping for UTF-8 strategies.
        assert_eq!(unit_name("a b", false), "a b");
    }

    #[test]
    fn name_edge_cases() {
        // Counter suffix not duplicated, and moved to the end.
        assert_eq!(name("requests_total_count", "", MonotonicCounter), "requests_count_total");
        // Unit and per-unit tokens.
        assert_eq!(name("requests_per_second", "1/s", Gauge), "requests_per_second_per_second");
        assert_eq!(name("data_rate", "By/s", Gauge), "data_rate_bytes_per_second");
        assert_eq!(name("data.bytes.rate", "By/s", Gauge), "data_bytes_rate_per_second");
        // No _ratio for counters or non-monotonic sums, or for 1/s.
        assert_eq!(name("x", "1", NonMonotonicCounter), "x");
        assert_eq!(name("x", "1/s", Gauge), "x_per_second");
        // Colons are kept.
        assert_eq!(name("a:b.c", "", Gauge), "a:b_c");
        // Non-ASCII letters are escaped (otlptranslator, not the legacy collector).
        assert_eq!(name("café.temp", "Cel", Gauge), "caf_temp_celsius");
        // Namespace.
        assert_eq!(
            metric_name("3x", "", Gauge, Some("ns"), UnderscoreEscapingWithSuffixes).as_deref(),
            Some("ns_3x")
        );
        assert_eq!(
            metric_name("3x", "", Gauge, Some("ns"), UnderscoreEscapingWithoutSuffixes).as_deref(),
            Some("ns_3x")
        );
        assert_eq!(
            metric_name("3x", "", Gauge, None, UnderscoreEscapingWithoutSuffixes).as_deref(),
            Some("_3x")
        );
        // Nothing valid left.
        assert_eq!(metric_name("", "", Gauge, None, UnderscoreEscapingWithSuffixes), None);
        assert_eq!(metric_name("...", "", Gauge, None, UnderscoreEscapingWithSuffixes), None);
        assert_eq!(metric_name("...", "", Gauge, None, UnderscoreEscapingWithoutSuffixes), None);
        assert_eq!(metric_name("", "", Gauge, None, NoTranslation), None);
        // Units alone make a name.
        assert_eq!(name("", "By", Gauge), "bytes");
    }

    #[test]
    fn translation_strategies() {
        let cases = [
            (UnderscoreEscapingWithSuffixes, "foo_bar_bytes_total"),
            (UnderscoreEscapingWithoutSuffixes, "foo_bar"),
            (NoUtf8EscapingWithSuffixes, "foo.bar_bytes_total"),
            (NoTranslation, "foo.bar"),
        ];
        for (s, want) in cases {
            assert_eq!(
                metric_name("foo.bar", "By", MonotonicCounter, None, s).as_deref(),
                Some(want),
                "{s:?}"
            );
        }
        assert_eq!(
            metric_name(
                "foo.bar_total",
                "By",
                MonotonicCounter,
                Some("ns"),
                NoUtf8EscapingWithSuffixes
            )
            .as_deref(),
            Some("ns_foo.bar_bytes_total")
        );
        assert_eq!(
            metric_name("load.ratio", "1", Gauge, None, NoUtf8EscapingWithSuffixes).as_deref(),
            Some("load_ratio")
        );
        assert_eq!(
            metric_name("load.ratio", "1", Gauge, None, NoUtf8EscapingWithSuffixes).as_deref(),
            Some("load_ratio")
        );
        assert_eq!(
            metric_name("rate.bytes_per_second", "By/s", Gauge, None, NoUtf8EscapingWithSuffixes)
                .as_deref(),
            Some("rate.bytes_per_second")
        );
    }

    #[test]
    fn label_names_l1_l6_s3() {
        // L1 (otlptranslator default keeps a single leading underscore; the legacy collector
        // made it key_test).
        assert_eq!(label_name("_test", true).as_deref(), Some("_test"));
        // L2
        assert_eq!(label_name("0test", true).as_deref(), Some("key_0test"));
        // L6
        assert_eq!(label_name("label:with:colons", true).as_deref(), Some("label_with_colons"));
        assert_eq!(
            label_name("label!with&special$chars)", true).as_deref(),
            Some("label_with_special_chars_")
        );
        // S3: test_label11% → test_label11_; ?test_label12 → _test_label12 (the collector's
        // C112 gave key_test_label12; we follow otlptranslator).
        assert_eq!(label_name("test_label11%", true).as_deref(), Some("test_label11_"));
        assert_eq!(label_name("?test_label12", true).as_deref(), Some("_test_label12"));
        // More known cases.
        let table = [
            ("http.method", Some("http_method")),
            ("host", Some("host")),
            ("a__b", Some("a_b")),
            ("__name__", Some("__name__")),
            ("__a.b__", Some("__a_b__")),
            ("__a", Some("_a")),
            ("___", None),
            ("", None),
            ("...", None),
            ("9", Some("key_9")),
            ("é", None),
            ("aé", Some("a_")),
        ];
        for (input, want) in table {
            assert_eq!(label_name(input, true).as_deref(), want, "label {input:?}");
            let mut text = String::new();
            let got = match label_name_into(input, true, &mut text) {
                Err(()) => None,
                Ok(false) => Some(input.to_string()),
                Ok(true) => Some(text),
            };
            assert_eq!(got.as_deref(), want, "label_name_into {input:?}");
        }
        // UTF-8: as it is, but never empty or underscores only.
        assert_eq!(label_name("région.name", false).as_deref(), Some("région.name"));
        assert_eq!(label_name("__", false), None);
    }
}
