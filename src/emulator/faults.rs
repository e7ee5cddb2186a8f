//! Failure injection (`--faults`, `--seed`): one roll of the dice per API request decides whether
//! it fails and how. With a seed, the same sequence of requests meets the same sequence of faults.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::config::FaultSpec;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `RequestLimitExceeded`, whatever the real count.
    Throttle,
    /// `InternalError`.
    Internal,
    /// HTTP 502 with an HTML body.
    Http502,
    /// The connection is dropped without a response.
    Reset,
    /// The normal answer, held back this long.
    Slow(Duration),
    /// An error quoting the request's values (see [`echo_message`]), for the actions of
    /// `echo_on`.
    Echo,
}

pub struct Faults {
    spec: FaultSpec,
    rng: Mutex<StdRng>,
    seed: u64,
}

impl Faults {
    pub fn new(spec: FaultSpec, seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| rand::rng().random());
        Faults {
            spec,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            seed,
        }
    }

    /// The seed in use (printed at start so a run can be replayed).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Roll for one request.
    pub fn roll(&self) -> Option<Fault> {
        if self.spec.is_none() {
            return None;
        }
        let x: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
        let s = &self.spec;
        let mut edge = 0.0;
        for (rate, fault) in [
            (s.throttle, Fault::Throttle),
            (s.internal, Fault::Internal),
            (s.http502, Fault::Http502),
            (s.reset, Fault::Reset),
            (s.slow, Fault::Slow(s.slow_delay)),
            (s.echo, Fault::Echo),
        ] {
            edge += rate;
            if x < edge {
                return Some(fault);
            }
        }
        None
    }
}

impl Faults {
    /// Whether an `echo` fault applies to `action`.
    pub fn echoes(&self, action: super::action::Action) -> bool {
        self.spec.echo_on.is_empty() || self.spec.echo_on.contains(&action)
    }

    /// The code of an `echo` error.
    pub fn echo_code(&self) -> &'static str {
        self.spec.echo_code
    }
}

/// A message that quotes every one of `values` the ways a careless service might: whole,
/// truncated, upper-cased, JSON-escaped (plain and `\uXXXX`), URL-encoded, with separators
/// changed and added; then an escape sequence that would clear a terminal, a window-title
/// sequence and a line break followed by a fake ssmform line.
pub fn echo_message(values: &[String]) -> String {
    let mut forms: Vec<String> = Vec::new();
    for v in values.iter().filter(|v| !v.is_empty()) {
        let chars: Vec<char> = v.chars().collect();
        let prefix: String = chars.iter().take(chars.len().div_ceil(2).max(8)).collect();
        forms.push(format!("`{v}`"));
        forms.push(format!("starting `{prefix}...`"));
        forms.push(v.to_uppercase());
        forms.push(serde_json::to_string(v).unwrap_or_default());
        forms.push(v.encode_utf16().map(|u| format!("\\u{u:04x}")).collect());
        forms.push(v.bytes().map(|b| format!("%{b:02X}")).collect());
        forms.push(v.replace(['-', '.', '/', ':'], "_"));
        forms.push(
            chars
                .chunks(3)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-"),
        );
    }
    format!(
        "The request was rejected (injected by the emulator's --faults echo): {}\u{1b}[2J\u{1b}]0;pwned\u{7}\r\nApply complete! Resources: 0 added.",
        forms.join(" | ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let spec =
            FaultSpec::parse("throttle=0.2,internal=0.2,http502=0.1,reset=0.1,slow=0.1,echo=0.1")
                .unwrap();
        let a = Faults::new(spec.clone(), Some(7));
        let b = Faults::new(spec, Some(7));
        let ra: Vec<_> = (0..200).map(|_| a.roll()).collect();
        let rb: Vec<_> = (0..200).map(|_| b.roll()).collect();
        assert_eq!(ra, rb);
        for f in [
            Fault::Throttle,
            Fault::Internal,
            Fault::Http502,
            Fault::Reset,
            Fault::Slow(Duration::from_secs(65)),
            Fault::Echo,
        ] {
            assert!(ra.contains(&Some(f)), "{f:?} never drawn in 200 rolls");
        }
        assert!(ra.contains(&None));
    }

    #[test]
    fn echo_quotes_values_in_many_forms() {
        let m = echo_message(&["ab-cd.ef/gh".to_string()]);
        for form in [
            "`ab-cd.ef/gh`",
            "AB-CD.EF/GH",
            "\"ab-cd.ef/gh\"",
            "%61%62%2D",
            "\\u0061\\u0062",
            "ab_cd_ef_gh",
            "ab--cd.-ef/-gh",
            "starting `ab-cd.ef...`",
        ] {
            assert!(m.contains(form), "{form} in {m}");
        }
        assert!(m.contains('\u{1b}') && m.contains("\r\nApply complete!"));
        let spec = FaultSpec::parse(
            "echo=1,echo_on=CreateSecret+PutSecretValue,echo_code=InvalidParameterValue",
        )
        .unwrap();
        let f = Faults::new(spec, Some(1));
        assert_eq!(f.roll(), Some(Fault::Echo));
        assert!(f.echoes(super::super::action::Action::CreateSecret));
        assert!(!f.echoes(super::super::action::Action::GetSecretValue));
        assert_eq!(f.echo_code(), "InvalidParameterValue");
        assert!(FaultSpec::parse("echo=1,echo_on=Nope").is_err());
        assert!(FaultSpec::parse("echo=1,echo_code=Nope").is_err());
    }

    #[test]
    fn rate_one_always_fires_and_zero_never() {
        let always = Faults::new(FaultSpec::parse("internal=1").unwrap(), None);
        assert!((0..100).all(|_| always.roll() == Some(Fault::Internal)));
        let never = Faults::new(FaultSpec::default(), None);
        assert!((0..100).all(|_| never.roll().is_none()));
    }
}
