//! Scalars as Go reads and writes them: `strconv.Atoi`/`ParseFloat`/`ParseBool`, the float formats
//! of `FormatFloat` ('f', 'g', 'G'), `encoding/json` and `fmt`, and the RFC 3339 timestamps of the
//! `lastmodified` field and of YAML `time` values.
//!
//! sops hashes and encrypts values in these textual forms, so matching them byte for byte is what
//! makes a MAC computed here equal to one computed by sops.

use crate::secret::SecretValue;

/// `strconv.Atoi`: optional sign, decimal digits, 64-bit range.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `strconv.ParseFloat(s, 64)` for decimal input, `Inf`/`Infinity`/`NaN` in any case.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = unsigned.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    let ok = !unsigned.is_empty()
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && unsigned.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    s.parse::<f64>().ok()
}

/// The shortest decimal digits of `|f|` (no leading or trailing zeros) and the decimal point
/// position: `f = 0.DIGITS × 10^dp`, as Go's `decimalSlice` holds them.
fn shortest_digits(f: f64) -> (String, i32) {
    if f == 0.0 {
        return ("0".to_string(), 1);
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_string(), exp + 1)
}

fn special(f: f64, inf: &str, nan: &str) -> Option<String> {
    if f.is_nan() {
        Some(nan.to_string())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            inf.to_string()
        } else {
            format!("-{}", inf.trim_start_matches('+'))
        })
    } else {
        None
    }
}

fn fmt_f(neg: bool, digits: &str, dp: i32, min_frac: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push('0');
    } else {
        let dp = dp as usize;
        for i in 0..dp {
            out.push(digits.as_bytes().get(i).map_or('0', |b| *b as char));
        }
    }
    let mut frac = String::new();
    if dp < 0 {
        frac.push_str(&"0".repeat((-dp) as usize));
    }
    let start = dp.max(0) as usize;
    if start < digits.len() {
        frac.push_str(&digits[start..]);
    }
    while frac.len() < min_frac {
        frac.push('0');
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

fn fmt_e(neg: bool, digits: &str, dp: i32, e: char) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push(e);
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: what sops encrypts and hashes for a float.
pub fn format_float_f(f: f64) -> String {
    if let Some(s) = special(f, "+Inf", "NaN") {
        return s;
    }
    let (digits, dp) = shortest_digits(f);
    fmt_f(f.is_sign_negative(), &digits, dp, 0)
}

/// `strconv.FormatFloat(f, 'g' or 'G', -1, 64)`.
pub fn format_float_g(f: f64, upper: bool) -> String {
    if let Some(s) = special(f, "+Inf", "NaN") {
        return s;
    }
    let (digits, dp) = shortest_digits(f);
    let exp = dp - 1;
    let neg = f.is_sign_negative();
    // Shortest 'g' switches to %e below 1e-4 and from 1e6 on (strconv's eprec = 6).
    if !(-4..6).contains(&exp) {
        fmt_e(neg, &digits, dp, if upper { 'E' } else { 'e' })
    } else {
        fmt_f(neg, &digits, dp, 0)
    }
}

/// Go's `fmt.Sprint` of a float64 (what terraform-provider-sops shows), from canonical text.
pub fn go_float_g(text: &SecretValue) -> String {
    match text.expose_str().and_then(parse_go_float) {
        Some(f) => format_float_g(f, false),
        None => String::from_utf8_lossy(text.expose()).into_owned(),
    }
}

/// `encoding/json`'s float encoding (`'f'`, or `'e'` outside 1e-6..1e21, with `e-09` as `e-9`).
pub fn format_float_json(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, dp) = shortest_digits(f);
        let s = fmt_e(f.is_sign_negative(), &digits, dp, 'e');
        // fmt_e writes at least two exponent digits; JSON cleans "e-09" to "e-9".
        let s = match s.rsplit_once('e') {
            Some((m, e)) if e.len() == 3 && e.as_bytes()[1] == b'0' => {
                format!("{m}e{}{}", &e[..1], &e[2..])
            }
            _ => s,
        };
        Some(s)
    } else {
        Some(format_float_f(f))
    }
}

/// sops' `stores.ValToString` for a float (dotenv and INI output): 'G', with `.0` added when the
/// result could be read as an integer.
pub fn format_float_valtostring(f: f64) -> String {
    let s = format_float_g(f, true);
    if !s.contains('.') && !s.contains('E') {
        let (digits, dp) = shortest_digits(f);
        if f.is_finite() {
            return fmt_f(f.is_sign_negative(), &digits, dp, 1);
        }
    }
    s
}

/// yaml.v3's float encoding: 'g' with `.inf`, `-.inf`, `.nan`.
pub fn format_float_yaml(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        format_float_g(f, false)
    }
}

/// Canonical text of a float value.
pub fn canonical_float(f: f64) -> String {
    format_float_f(f)
}

// ---------------------------------------------------------------------------------------------
// Time

/// A date-time as parsed: civil fields, nanoseconds and the UTC offset in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
    pub offset: i32,
}

impl DateTime {
    /// UTC date-time of a Unix timestamp.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            nanos: 0,
            offset: 0,
        }
    }

    /// Go's `Format(time.RFC3339)`: seconds precision, `Z` for offset 0.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.zone()
        )
    }

    /// Go's `MarshalText` (RFC 3339 with the fraction's trailing zeros dropped).
    pub fn rfc3339_nano(&self) -> String {
        let mut frac = String::new();
        if self.nanos > 0 {
            frac = format!(".{:09}", self.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
        }
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.zone()
        )
    }

    fn zone(&self) -> String {
        if self.offset == 0 {
            "Z".to_string()
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let a = self.offset.unsigned_abs();
            format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
        }
    }

    fn valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<u64> {
        let start = self.i;
        while self.i < self.s.len() && self.i - start < max && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }

    fn fraction(&mut self) -> Option<u32> {
        if !self.eat(b'.') {
            return Some(0);
        }
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty() {
            return None;
        }
        let mut nanos = 0u32;
        for k in 0..9 {
            nanos = nanos * 10 + digits.get(k).map_or(0, |d| (d - b'0') as u32);
        }
        Some(nanos)
    }

    fn zone(&mut self) -> Option<i32> {
        if self.eat(b'Z') {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let h = self.digits(2, 2)?;
        if !self.eat(b':') {
            return None;
        }
        let m = self.digits(2, 2)?;
        if h > 23 || m > 59 {
            return None;
        }
        Some(sign * (h * 3600 + m * 60) as i32)
    }
}

/// Go's `time.Parse(time.RFC3339, s)` (fractional seconds accepted, as Go does).
pub fn parse_rfc3339(s: &str) -> Option<DateTime> {
    let mut c = Cursor {
        s: s.as_bytes(),
        i: 0,
    };
    let year = c.digits(4, 4)? as i64;
    let ok = c.eat(b'-');
    let month = c.digits(2, 2)? as u32;
    let ok = ok && c.eat(b'-');
    let day = c.digits(2, 2)? as u32;
    let ok = ok && c.eat(b'T');
    let hour = c.digits(2, 2)? as u32;
    let ok = ok && c.eat(b':');
    let minute = c.digits(2, 2)? as u32;
    let ok = ok && c.eat(b':');
    let second = c.digits(2, 2)? as u32;
    let nanos = c.fraction()?;
    let offset = c.zone()?;
    let dt = DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset,
    };
    (ok && c.done() && dt.valid()).then_some(dt)
}

/// The timestamps yaml.v3 resolves a plain scalar to (`2006-1-2T15:4:5.999999999Z07:00`, the
/// same with `t`, `2006-1-2 15:4:5.999999999`, `2006-1-2`).
pub fn parse_yaml_timestamp(s: &str) -> Option<DateTime> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut c = Cursor { s: b, i: 0 };
    let year = c.digits(4, 4)? as i64;
    c.eat(b'-');
    let month = c.digits(1, 2)? as u32;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(1, 2)? as u32;
    let mut dt = DateTime {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: 0,
    };
    if c.done() {
        return dt.valid().then_some(dt);
    }
    let with_zone = if c.eat(b'T') || c.eat(b't') {
        true
    } else if c.eat(b' ') {
        false
    } else {
        return None;
    };
    dt.hour = c.digits(1, 2)? as u32;
    if !c.eat(b':') {
        return None;
    }
    dt.minute = c.digits(1, 2)? as u32;
    if !c.eat(b':') {
        return None;
    }
    dt.second = c.digits(1, 2)? as u32;
    dt.nanos = c.fraction()?;
    if with_zone {
        dt.offset = c.zone()?;
    }
    (c.done() && dt.valid()).then_some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_as_go_does() {
        for (f, fmt_f, fmt_g, json) in [
            (1234.56789, "1234.56789", "1234.56789", "1234.56789"),
            (1.0, "1", "1", "1"),
            (2.75, "2.75", "2.75", "2.75"),
            (1e21, "1000000000000000000000", "1e+21", "1e+21"),
            (1e6, "1000000", "1e+06", "1000000"),
            (123456.0, "123456", "123456", "123456"),
            (0.0001, "0.0001", "0.0001", "0.0001"),
            (0.00001, "0.00001", "1e-05", "0.00001"),
            (1e-7, "0.0000001", "1e-07", "1e-7"),
            (-2.5, "-2.5", "-2.5", "-2.5"),
            (0.0, "0", "0", "0"),
        ] {
            assert_eq!(format_float_f(f), fmt_f, "'f' of {f}");
            assert_eq!(format_float_g(f, false), fmt_g, "'g' of {f}");
            assert_eq!(format_float_json(f).unwrap(), json, "json of {f}");
        }
        assert_eq!(format_float_f(f64::INFINITY), "+Inf");
        assert_eq!(format_float_f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float_yaml(f64::NEG_INFINITY), "-.inf");
        assert_eq!(format_float_valtostring(3.0), "3.0");
        assert_eq!(format_float_valtostring(1e21), "1E+21");
        assert_eq!(format_float_valtostring(2.5), "2.5");
    }

    #[test]
    fn go_parsers() {
        assert_eq!(parse_go_int("+12"), Some(12));
        assert_eq!(parse_go_int("-0"), Some(0));
        assert_eq!(parse_go_int("1_0"), None);
        assert_eq!(parse_go_int(""), None);
        assert_eq!(parse_go_bool("True"), Some(true));
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(parse_go_float("1e3"), Some(1000.0));
        assert!(parse_go_float("-Inf").unwrap().is_infinite());
        assert_eq!(parse_go_float("0x10"), None);
    }

    #[test]
    fn rfc3339_round_trips_as_go_formats_it() {
        let t = parse_rfc3339("2024-03-25T22:08:10Z").unwrap();
        assert_eq!(t.rfc3339(), "2024-03-25T22:08:10Z");
        let t = parse_rfc3339("2021-03-31T09:51:59.123+02:00").unwrap();
        assert_eq!(t.rfc3339(), "2021-03-31T09:51:59+02:00");
        assert_eq!(t.rfc3339_nano(), "2021-03-31T09:51:59.123+02:00");
        assert_eq!(
            parse_rfc3339("2021-03-31T09:51:59+00:00")
                .unwrap()
                .rfc3339(),
            "2021-03-31T09:51:59Z"
        );
        assert!(parse_rfc3339("2021-02-30T00:00:00Z").is_none());
        assert!(parse_rfc3339("2021-03-31 09:51:59Z").is_none());
        assert_eq!(DateTime::from_unix(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            DateTime::from_unix(1_711_404_490).rfc3339(),
            "2024-03-25T22:08:10Z"
        );
    }

    #[test]
    fn yaml_timestamps() {
        assert_eq!(
            parse_yaml_timestamp("2001-12-14").unwrap().rfc3339_nano(),
            "2001-12-14T00:00:00Z"
        );
        assert_eq!(
            parse_yaml_timestamp("2001-1-2 3:04:05.5")
                .unwrap()
                .rfc3339_nano(),
            "2001-01-02T03:04:05.5Z"
        );
        assert!(parse_yaml_timestamp("2001-12-14x").is_none());
        assert!(parse_yaml_timestamp("20011-12-14").is_none());
    }
}
