//! Calendar arithmetic for the few places that print or sign dates: the TC3 credential scope
//! (`YYYY-MM-DD` in UTC), RFC 3339 timestamps in JSON output and journals.
//!
//! This is a dozen lines of well-known arithmetic (Howard Hinnant's `civil_from_days`), cheaper to
//! own than a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_millis_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the epoch for output that people or machines compare: `SOURCE_DATE_EPOCH`
/// (seconds) when set, the reproducible-builds convention that makes machine-readable output
/// byte-for-byte repeatable; else now.
pub fn output_millis_now() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s * 1000)
        .unwrap_or_else(unix_millis_now)
}

/// (year, month, day) of the UTC calendar date containing `unix_seconds`.
pub fn civil_date(unix_seconds: i64) -> (i64, u32, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of the UTC date containing `unix_seconds`, as the TC3 credential scope wants it.
pub fn utc_date(unix_seconds: i64) -> String {
    let (y, m, d) = civil_date(unix_seconds);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 timestamp with milliseconds and a `Z` offset, e.g. `2026-11-29T15:43:46.123Z`.
pub fn rfc3339_millis(unix_millis: i64) -> String {
    let secs = unix_millis.div_euclid(1000);
    let millis = unix_millis.rem_euclid(1000);
    let (y, mo, d) = civil_date(secs);
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_points() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        assert_eq!(utc_date(1_539_084_154), "2018-10-09");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_date(4_102_444_800), "2100-01-01");
    }

    #[test]
    fn rfc3339_has_millis_and_zulu() {
        assert_eq!(
            rfc3339_millis(1_551_113_065_042),
            "2019-02-25T16:44:25.042Z"
        );
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
    }
}

/// A duration as people write it on command lines and in environment variables: a number with a
/// unit, `ms`, `s`, `m` or `h` (`500ms`, `5s`, `2m`, `1.5s`), Terraform's `-lock-timeout` style;
/// a bare `0` is zero. The error says what is accepted.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "invalid duration `{}`: write a number and a unit, e.g. 500ms, 5s, 2m or 1h",
            t.chars().take(40).collect::<String>()
        )
    };
    if t == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !seconds.is_finite() || !(0.0..=366.0 * 86_400.0).contains(&seconds) {
        return Err(format!("invalid duration `{t}`: at most a year (366 days)"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "s", "5x", "-1s", "1e400s", "99999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("5x").unwrap_err().contains("500ms, 5s"));
    }
}
