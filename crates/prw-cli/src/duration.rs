//! Durations written like `500ms`, `30s`, `2m`, `1h30m`, `1.5s`.

use std::time::Duration;

/// Parses a duration: one or more `<number><unit>` parts, units `ns`, `us` (`µs`), `ms`, `s`,
/// `m`, `h`, `d`; a number alone is not accepted (is `30` seconds or milliseconds?).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let usage = || format!("invalid duration {text:?}: write it like 500ms, 30s, 2m or 1h30m");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(usage());
    }
    // Whole nanoseconds, so that 3ms is exactly 3 ms.
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(usage)?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(usage()),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') || fraction.len() > 18
        {
            return Err(usage());
        }
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| usage())? };
        let fraction_nanos = if fraction.is_empty() {
            0
        } else {
            let digits: u128 = fraction.parse().map_err(|_| usage())?;
            digits * nanos_per_unit / 10u128.pow(fraction.len() as u32)
        };
        total = whole
            .checked_mul(nanos_per_unit)
            .and_then(|n| n.checked_add(fraction_nanos))
            .and_then(|n| n.checked_add(total))
            .ok_or_else(usage)?;
        rest = after;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| usage())?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_durations() {
        for (text, millis) in [
            ("500ms", 500),
            ("30s", 30_000),
            ("2m", 120_000),
            ("1h30m", 5_400_000),
            ("1.5s", 1_500),
            ("0s", 0),
            ("1d", 86_400_000),
            ("2m30s", 150_000),
            (" 5s ", 5_000),
        ] {
            assert_eq!(parse_duration(text), Ok(Duration::from_millis(millis)), "{text}");
        }
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
    }

    #[test]
    fn bad_durations_say_how_to_write_one() {
        for text in [
            "",
            "30",
            "s",
            "5 s",
            "-1s",
            "1.2.3s",
            "5sec",
            "ms5",
            "1e3s",
            "99999999999999999999999d",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("500ms"), "{text}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,12}") {
            let _ = parse_duration(&text);
        }

        #[test]
        fn whole_milliseconds_round_trip(ms in 0u64..10_000_000_000) {
            proptest::prop_assert_eq!(parse_duration(&format!("{ms}ms")), Ok(Duration::from_millis(ms)));
        }
    }
}
