//! Progress of long work (reading live state, applying writes): an indicatif bar on a terminal, a
//! plain line every few seconds otherwise (CI logs), nothing for tiny jobs.
//!
//! Progress goes to stderr so that stdout carries only results (the plan, each applied change,
//! the summary) or the JSON stream. Rates are rounded to one decimal (`410.5/s`).
//!
//! The engine knows nothing of this: `plan` reports reads through
//! [`crate::plan::refresh::ReadProgress`], which [`ReadBar`] implements.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::term::Stream;

/// How often a plain progress line is printed when stderr is not a terminal.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// A rate for people: `410/s` from 100 up, `12.5/s` below (never `410.5397/s`).
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() {
        "-/s".to_string()
    } else if per_sec >= 100.0 {
        format!("{per_sec:.0}/s")
    } else {
        format!("{per_sec:.1}/s")
    }
}

/// Progress over a known number of steps.
pub struct Progress {
    inner: Inner,
    what: &'static str,
    /// Failed steps (bar mode; plain mode counts in its state).
    failed: std::sync::atomic::AtomicU64,
}

enum Inner {
    Bar(ProgressBar),
    Plain {
        what: &'static str,
        total: u64,
        state: Mutex<PlainState>,
    },
    Silent,
}

struct PlainState {
    done: u64,
    failed: u64,
    started: Instant,
    last_print: Instant,
}

impl Progress {
    /// Progress for `total` steps described as `what` (e.g. "secrets read"), drawn on stderr as a bar
    /// on a terminal and as periodic lines otherwise.
    pub fn new(what: &'static str, total: u64) -> Self {
        let inner = if total == 0 {
            Inner::Silent
        } else if Stream::Stderr.is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = if crate::term::no_color() {
                "{elapsed_precise} [{bar:30}] {pos}/{len} {msg} ({rate}, ETA {eta})"
            } else {
                "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({rate}, ETA {eta})"
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("the template is valid")
                    .with_key(
                        "rate",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{}", rate(state.per_sec()));
                        },
                    )
                    .progress_chars("=> "),
            );
            bar.set_message(what);
            Inner::Bar(bar)
        } else {
            let now = Instant::now();
            Inner::Plain {
                what,
                total,
                state: Mutex::new(PlainState {
                    done: 0,
                    failed: 0,
                    started: now,
                    last_print: now,
                }),
            }
        };
        Progress {
            inner,
            what,
            failed: Default::default(),
        }
    }

    /// No progress output at all (JSON output, tests).
    pub fn silent() -> Self {
        Progress {
            inner: Inner::Silent,
            what: "",
            failed: Default::default(),
        }
    }

    /// One more step done.
    pub fn inc(&self) {
        self.step(false);
    }

    /// One more step failed: not counted as done, but shown as failed.
    pub fn inc_failed(&self) {
        self.step(true);
    }

    fn step(&self, failed: bool) {
        match &self.inner {
            Inner::Bar(b) if failed => {
                let n = self
                    .failed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                b.set_message(format!("{} ({n} failed)", self.what));
            }
            Inner::Bar(b) => b.inc(1),
            Inner::Plain { what, total, state } => {
                let mut s = state.lock().expect("progress lock");
                if failed {
                    s.failed += 1;
                } else {
                    s.done += 1;
                }
                if s.last_print.elapsed() >= PLAIN_INTERVAL && s.done + s.failed < *total {
                    s.last_print = Instant::now();
                    let secs = s.started.elapsed().as_secs_f64().max(0.001);
                    let failures = if s.failed > 0 {
                        format!(", {} failed", s.failed)
                    } else {
                        String::new()
                    };
                    eprintln!(
                        "{}/{} {what}{failures} ({})",
                        s.done,
                        total,
                        rate(s.done as f64 / secs)
                    );
                }
            }
            Inner::Silent => {}
        }
    }

    /// Remove the bar (plain mode prints nothing more: the caller reports the result).
    pub fn finish(&self) {
        if let Inner::Bar(b) = &self.inner {
            b.finish_and_clear();
        }
    }

    /// Print a line on stdout (a result) without breaking the bar, which is drawn on stderr.
    pub fn println_stdout(&self, line: &str) {
        use std::io::Write as _;
        let print = || {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            // A closed stdout (`| head`) must not stop the apply: the journal has every outcome.
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        };
        match &self.inner {
            Inner::Bar(b) => b.suspend(print),
            _ => print(),
        }
    }

    /// Print a line on stderr (a diagnostic) without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.inner {
            Inner::Bar(b) => b.println(line),
            _ => eprintln!("{line}"),
        }
    }
}

/// Progress of the reads of a refresh, drawn as a [`Progress`] once their number is known.
pub struct ReadBar {
    what: &'static str,
    progress: OnceLock<Progress>,
}

impl ReadBar {
    pub fn new(what: &'static str) -> Self {
        ReadBar {
            what,
            progress: OnceLock::new(),
        }
    }
}

impl crate::plan::refresh::ReadProgress for ReadBar {
    fn started(&self, total: u64) {
        let _ = self.progress.set(Progress::new(self.what, total));
    }

    fn read_done(&self) {
        if let Some(p) = self.progress.get() {
            p.inc();
        }
    }

    fn read_failed(&self) {
        if let Some(p) = self.progress.get() {
            p.inc_failed();
        }
    }

    fn finished(&self) {
        if let Some(p) = self.progress.get() {
            p.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_are_rounded() {
        assert_eq!(super::rate(410.5397), "411/s");
        assert_eq!(super::rate(12.3456), "12.3/s");
        assert_eq!(super::rate(0.0), "0.0/s");
        assert_eq!(super::rate(f64::INFINITY), "-/s");
    }
}
