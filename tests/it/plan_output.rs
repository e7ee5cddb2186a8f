//! How `plan` output behaves on its streams, end to end: colour only on a terminal and never with
//! `NO_COLOR`; text from live values (which whoever can write a secret controls) cannot hide or
//! fake a line of a plan with control characters; the summary line stays the last line.

use crate::support::{Output, Seed, TestEmulator, Workspace};

const CONFIG: &str = r#"
secret "conf" {
  secret_name   = "app-conf"
  version_id    = "v1"
  sensitive     = false
  secret_string = "line one\nline two\nline three\n"
}

secret "password" {
  secret_name   = "app-password"
  version_id    = "v1"
  secret_string = "new-password"
}
"#;

/// `app-conf` holds `conf`, written (as far as plans can tell) by ssmform from a `sensitive =
/// false` block, so that plans show its live side.
async fn seeded(emu: &TestEmulator, conf: &str) -> Workspace {
    Seed::new()
        .secret("app-conf", "v1", conf)
        .shown("app-conf", "v1", conf)
        .secret("app-password", "v1", "old-password")
        .write(emu)
        .await;
    Workspace::new(emu).config(CONFIG)
}

#[tokio::test]
async fn colour_only_on_a_terminal_and_never_with_no_color() {
    let emu = TestEmulator::start();
    let ws = seeded(&emu, "line one\nline 2\nline three\n").await;

    // Not a terminal: no escape sequences, even without NO_COLOR.
    let mut command = ws.command(["plan", "cfg"]);
    command.env_remove("NO_COLOR");
    Output::of("ssmform plan cfg (without NO_COLOR)", command)
        .assert_success()
        .assert_stdout_not_contains("\u{1b}")
        .assert_stderr_not_contains("\u{1b}");

    // A terminal: colour.
    let out = ws.run_with_stdout_on_terminal(&["plan", "cfg"], true);
    out.assert_success().assert_stdout_contains("\u{1b}[");
    let plain = strip_ansi(&out.stdout);
    assert_eq!(
        plain.trim_end().lines().last(),
        Some("Plan: 0 to create, 2 to update, 0 to delete, 0 unchanged.")
    );

    // A terminal with NO_COLOR: none.
    let out = ws.run_with_stdout_on_terminal(&["plan", "cfg"], false);
    out.assert_success().assert_stdout_not_contains("\u{1b}");
    assert_eq!(out.stdout, plain, "the same text, without colour");
}

#[tokio::test]
async fn live_text_cannot_hide_or_fake_a_line_of_the_plan() {
    let emu = TestEmulator::start();
    // A live value written to mislead a reviewer: a carriage return that would overwrite the
    // removed line with a fake "added" one, terminal sequences, a bidi override.
    let live = "line one\nsecret=leaked\r          + line two\u{1b}[2K\nline \u{202e}eerht\n";
    let ws = seeded(&emu, live).await;
    for format in ["text", "markdown"] {
        let out = ws.run(["plan", "cfg", "--format", format]);
        out.assert_success();
        let s = &out.stdout;
        assert!(!s.contains(['\r', '\u{1b}', '\u{202e}']), "{format}: {s:?}");
        // The diff splits at the lone `\r` too: the fake "added" line is shown as what it is,
        // a removed line, with its terminal sequence escaped.
        let mark = if format == "text" { "-" } else { "- " };
        assert!(
            s.lines()
                .any(|l| l.trim_start().starts_with(mark) && l.ends_with("+ line two\\u{1b}[2K")),
            "{format}: the line is shown, escaped, as removed: {s}"
        );
        assert!(s.contains("line \\u{202e}eerht"), "{format}: {s}");
        assert!(s.contains("Plan: 0 to create, 2 to update, 0 to delete, 0 unchanged."));
    }
}

/// Remove ANSI SGR sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
