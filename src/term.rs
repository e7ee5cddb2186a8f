//! Terminal conventions shared by every command: colour only on a terminal and never with
//! `NO_COLOR` (<https://no-color.org>), and a tiny ANSI painter so no colour crate is needed.

use std::io::IsTerminal;

/// Which standard stream a piece of output goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// Set by `--no-color` (`-no-color`): no colour for the rest of the process, as with `NO_COLOR`.
static NO_COLOR_FLAG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turn colour off for the rest of the process (the command line's `--no-color`).
pub fn disable_color() {
    NO_COLOR_FLAG.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// True when `NO_COLOR` is set to a non-empty value, or colour was turned off with
/// [`disable_color`].
pub fn no_color() -> bool {
    NO_COLOR_FLAG.load(std::sync::atomic::Ordering::Relaxed)
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether output to `stream` may be coloured.
pub fn color_enabled(stream: Stream) -> bool {
    !no_color() && stream.is_terminal()
}

/// Wraps text in ANSI colour codes when enabled, and leaves it alone otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint {
    pub enabled: bool,
}

impl Paint {
    pub fn for_stream(stream: Stream) -> Self {
        Paint {
            enabled: color_enabled(stream),
        }
    }

    pub fn plain() -> Self {
        Paint { enabled: false }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(self, t: &str) -> String {
        self.wrap("1", t)
    }
    pub fn dim(self, t: &str) -> String {
        self.wrap("2", t)
    }
    pub fn red(self, t: &str) -> String {
        self.wrap("31", t)
    }
    pub fn green(self, t: &str) -> String {
        self.wrap("32", t)
    }
    pub fn yellow(self, t: &str) -> String {
        self.wrap("33", t)
    }
    pub fn blue(self, t: &str) -> String {
        self.wrap("34", t)
    }
    pub fn cyan(self, t: &str) -> String {
        self.wrap("36", t)
    }
    pub fn bold_red(self, t: &str) -> String {
        self.wrap("1;31", t)
    }
    pub fn bold_yellow(self, t: &str) -> String {
        self.wrap("1;33", t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_paint_is_identity() {
        let p = Paint::plain();
        assert_eq!(p.red("x"), "x");
        assert_eq!(p.bold("x"), "x");
    }

    #[test]
    fn enabled_paint_wraps_and_resets() {
        let p = Paint { enabled: true };
        assert_eq!(p.green("ok"), "\x1b[32mok\x1b[0m");
    }
}
