//! How `plan` output behaves on its streams, end to end: colour only on a terminal and never with
//! `NO_COLOR`; text from live values (which whoever can write a secret controls) cannot hide or
//! fake a line of a plan with control characters; the summary line stays the last line.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

use crate::harness::{TestEmulator, Workspace};
use crate::plan_support::*;

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

async fn seeded(emu: &TestEmulator, conf: &str) -> Workspace {
    let api = emu.api();
    create_string(&api, "app-conf", "v1", conf).await;
    create_string(&api, "app-password", "v1", "old-password").await;
    Workspace::new(emu).config(CONFIG)
}

/// Run with stdout on a new pseudo-terminal (stderr piped); returns what the terminal received.
fn run_on_terminal(ws: &Workspace, args: &[&str], no_color: bool) -> (Option<i32>, String) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into the integers; the other arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = ws.command(args);
    if !no_color {
        cmd.env_remove("NO_COLOR");
    }
    cmd.env("TERM", "xterm-256color")
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("ssmform starts");
    drop(cmd); // the parent's copy of the slave side, so the master sees EOF/EIO at exit
    let mut out = Vec::new();
    let mut master = std::fs::File::from(master);
    // Reading a pty master after the slave side closes ends with EIO on Linux.
    let _ = master.read_to_end(&mut out);
    let status = child.wait().unwrap();
    (
        status.code(),
        String::from_utf8_lossy(&out).replace("\r\n", "\n"),
    )
}

#[tokio::test]
async fn colour_only_on_a_terminal_and_never_with_no_color() {
    let emu = TestEmulator::start();
    let ws = seeded(&emu, "line one\nline 2\nline three\n").await;

    // Not a terminal: no escape sequences, even without NO_COLOR.
    let out = ws
        .command(["plan", "cfg"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));

    // A terminal: colour.
    let (code, tty) = run_on_terminal(&ws, &["plan", "cfg"], false);
    assert_eq!(code, Some(0), "{tty}");
    assert!(tty.contains("\u{1b}["), "colour on a terminal: {tty:?}");
    let plain = strip_ansi(&tty);
    assert_eq!(
        plain.trim_end().lines().last(),
        Some("Plan: 0 to create, 2 to update, 0 unchanged.")
    );

    // A terminal with NO_COLOR: none.
    let (code, tty) = run_on_terminal(&ws, &["plan", "cfg"], true);
    assert_eq!(code, Some(0), "{tty}");
    assert!(!tty.contains('\u{1b}'), "{tty:?}");
    assert_eq!(tty, plain, "the same text, without colour");
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
        assert_eq!(code(&out), 0, "{}", out.stderr);
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
        assert!(s.contains("Plan: 0 to create, 2 to update, 0 unchanged."));
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
