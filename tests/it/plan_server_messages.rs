//! The server's messages are untrusted: an emulator whose errors quote the request back (the
//! `echo` fault: every parameter, the SecretId and the session token, whole, truncated,
//! upper-cased, JSON-escaped, URL-encoded, separators changed, with terminal escape sequences and
//! a fake line) must not make `plan` or `apply` show any of it, in any format, at any log level,
//! in any file.

use ssmform::emulator::{Credential, EmulatorConfig, FaultSpec, RateLimits};

use crate::support::{Leaks, Output, Seed, TestEmulator, Workspace};

/// The SecretId the emulator accepts (only its last four characters are ever shown).
const SECRET_ID: &str = "AKIDcnryEchoSecretId8Rw3Tz5Yq";
const SECRET_KEY: &str = "cnryEchoSecretKey6Nb2Wd4";
/// A session token sent with every request.
const TOKEN: &str = "cnryEchoSessionToken3Jp7Xc1Mv";
/// The content of a secret, from a sensitive variable.
const CONTENT: &str = "cnry-Echo_Content.7Gk4#Qs9 with words";
/// A secret's name: printed by ssmform itself (names are not secret), so only the server's
/// renditions of it are checked.
const NAME: &str = "app-echo-name";

fn emulator(faults: &str) -> TestEmulator {
    TestEmulator::with(EmulatorConfig {
        credentials: vec![Credential::new(SECRET_ID, SECRET_KEY)],
        faults: FaultSpec::parse(faults).unwrap(),
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    })
}

fn workspace(emu: &TestEmulator, version: &str) -> Workspace {
    Workspace::new(emu)
        .config(&format!(
            "variable \"pw\" {{\n  type      = string\n  sensitive = true\n}}\n\n\
             secret \"app\" {{\n  secret_name   = \"{NAME}\"\n  version_id    = \"{version}\"\n  secret_string = var.pw\n}}\n"
        ))
        .env("SSMFORM_VAR_pw", CONTENT)
        .env("TENCENTCLOUD_SECURITY_TOKEN", TOKEN)
}

fn leaks() -> Leaks {
    Leaks::named([
        ("SecretId", SECRET_ID),
        ("SecretKey", SECRET_KEY),
        ("session token", TOKEN),
        ("secret content", CONTENT),
    ])
}

/// Nothing of the server's text survives as it was sent: no escape sequence, no fake line, no
/// upper-cased or encoded rendition of the name.
#[track_caller]
fn assert_clean_text(out: &Output) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\r'),
            "{stream} holds control characters:\n{}",
            out.report()
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("Apply complete! Resources")),
            "{stream} holds the server's fake line:\n{}",
            out.report()
        );
        for form in [
            NAME.to_uppercase(),
            NAME.replace('-', "_"),
            "%61%70%70".to_string(),
            "\\u0061\\u0070".to_string(),
            "app-ech...".to_string(),
        ] {
            assert!(
                !text.contains(&form),
                "{stream} holds the server's rendition {form:?}:\n{}",
                out.report()
            );
        }
    }
}

#[test]
fn plan_shows_nothing_the_server_echoed() {
    let emu = emulator("echo=1");
    let ws = workspace(&emu, "v1");
    let leaks = leaks();
    for format in ["text", "markdown", "json"] {
        for level in ["", "debug", "trace"] {
            let out = ws.run_with(
                // Without the run lock: its CreateSecret would meet the injected fault first.
                [
                    "plan",
                    "cfg",
                    "--format",
                    format,
                    "--out",
                    "plan.ssmplan",
                    "-lock=false",
                ],
                &[("SSMFORM_LOG", level)],
            );
            out.assert_exit(1).assert_no_leak(&leaks);
            assert_clean_text(&out);
            assert!(
                out.stderr.contains("[redacted]") || out.stdout.contains("[redacted]"),
                "the server's message is shown, cleaned:\n{}",
                out.report()
            );
        }
    }
    ws.assert_no_leak_in_files(&leaks);
}

#[test]
fn apply_shows_nothing_the_server_echoed() {
    // Creating fails with the echo; reads work, so the run gets as far as writing.
    let emu = emulator("echo=1,echo_on=CreateSecret");
    let ws = workspace(&emu, "v1");
    let leaks = leaks();
    for level in ["", "trace"] {
        for format in ["text", "json"] {
            let out = ws.run_with(
                [
                    "apply",
                    "cfg",
                    "--auto-approve",
                    "--format",
                    format,
                    "-lock=false",
                ],
                &[("SSMFORM_LOG", level)],
            );
            out.assert_exit(1).assert_no_leak(&leaks);
            assert_clean_text(&out);
        }
    }
    assert!(!ws.journals().is_empty(), "the runs kept journals");
    ws.assert_no_leak_in_files(&leaks);
}

/// A new version of an existing secret (PutSecretValue), through a saved plan.
#[tokio::test]
async fn apply_of_a_saved_plan_shows_nothing_the_server_echoed() {
    let emu = emulator("echo=1,echo_on=PutSecretValue+UpdateSecret");
    Seed::new()
        .secret(NAME, "v0", "old")
        .write_api(&crate::support::Api::for_addr(
            emu.addr(),
            &Credential::new(SECRET_ID, SECRET_KEY),
        ))
        .await;
    let ws = workspace(&emu, "v1");
    let leaks = leaks();
    ws.run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success()
        .assert_no_leak(&leaks);
    let out = ws.run_with(["apply", "plan.ssmplan"], &[("SSMFORM_LOG", "trace")]);
    out.assert_exit(1).assert_no_leak(&leaks);
    assert_clean_text(&out);
    ws.assert_no_leak_in_files(&leaks);
}

/// For codes whose messages quote parameters, ssmform shows its own wording instead.
#[test]
fn parameter_errors_are_shown_in_ssmform_words() {
    let emu = emulator("echo=1,echo_on=CreateSecret,echo_code=InvalidParameterValue");
    let ws = workspace(&emu, "v1");
    let out = ws.run_with(
        ["apply", "cfg", "--auto-approve"],
        &[("SSMFORM_LOG", "trace")],
    );
    out.assert_exit(1)
        .assert_no_leak(&leaks())
        .assert_stderr_contains("InvalidParameterValue")
        .assert_stderr_contains("its own message is not shown");
    assert_clean_text(&out);
}
