//! Saved plan files end to end: written private (mode 0600) and whole, and refused by `show` —
//! with a clear error, exit 1 and nothing on stdout — when tampered with, truncated, foreign,
//! from a future format, or checked under another key.

use crate::support::{Output, TestEmulator, Workspace, seed_secrets};

const CONFIG: &str = r#"
secret "db_password" {
  secret_name   = "app-db-password"
  version_id    = "v1"
  secret_string = "new-password"
}

secret "api_key" {
  secret_name   = "app-api-key"
  version_id    = "v1"
  secret_string = "new-api-key"
}
"#;

/// A workspace with a saved plan `plan.ssmplan` (one update, one create).
async fn saved_plan(emu: &TestEmulator) -> Workspace {
    seed_secrets(emu, &[("app-db-password", "v1", "old-password")]).await;
    let ws = Workspace::new(emu).config(CONFIG);
    let out = ws.run(["plan", "cfg", "--out", "plan.ssmplan"]);
    out.assert_success();
    ws
}

/// `show FILE` must fail with a message containing `expect`.
fn assert_refused(ws: &Workspace, file: &str, expect: &str) -> Output {
    for format in ["text", "markdown", "json"] {
        let out = ws.run(["show", file, "--format", format]);
        // Nothing is shown.
        out.assert_exit(1)
            .assert_stdout_eq("")
            .assert_stderr_contains(expect)
            .assert_stderr_not_contains("panicked");
    }
    ws.run(["show", file])
}

fn lines(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let i = bytes.iter().position(|&b| b == b'\n').expect("two lines");
    (bytes[..i].to_vec(), bytes[i + 1..].to_vec())
}

#[cfg(unix)]
#[tokio::test]
async fn plan_files_are_private_and_written_whole() {
    use std::os::unix::fs::PermissionsExt;
    let emu = TestEmulator::start();
    let ws = saved_plan(&emu).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ws.path("plan.ssmplan")), 0o600);

    // An existing, world-readable file is replaced by a private one.
    let existing = ws.path("shared.ssmplan");
    std::fs::write(&existing, b"old").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = ws.run(["plan", "cfg", "--out", "shared.ssmplan"]);
    out.assert_success();
    assert_eq!(mode(&existing), 0o600);
    out.assert_stderr_contains("Saved the plan to shared.ssmplan (mode 0600)");

    // Also under a permissive umask, and in a subdirectory: the same run through `sh` after
    // `umask 000`, with the workspace's environment.
    std::fs::create_dir(ws.path("out")).unwrap();
    let template = ws.command(["plan"]);
    let mut sh = std::process::Command::new("sh");
    sh.args([
        "-c",
        "umask 000 && exec \"$0\" plan cfg --out out/p.ssmplan",
        &crate::support::ssmform_bin().display().to_string(),
    ])
    .env_clear()
    .current_dir(ws.root());
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    Output::of("umask 000 && ssmform plan cfg --out out/p.ssmplan", sh).assert_success();
    assert_eq!(mode(&ws.path("out/p.ssmplan")), 0o600);

    // Nothing but the plan files is left behind (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(ws.root())
        .unwrap()
        .chain(std::fs::read_dir(ws.path("out")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cfg",
            "home",
            "out",
            "p.ssmplan",
            "plan.ssmplan",
            "shared.ssmplan"
        ]
    );

    // Two lines: the body (JSON) and its MAC.
    let bytes = std::fs::read(ws.path("plan.ssmplan")).unwrap();
    let (body, trailer) = lines(&bytes);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["format"], "ssmform-plan");
    assert_eq!(body["format_version"], 1);
    let trailer: serde_json::Value = serde_json::from_slice(trailer.trim_ascii_end()).unwrap();
    assert_eq!(trailer["mac"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn plan_refuses_to_write_where_it_cannot() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu).config(CONFIG);
    let out = ws.run(["plan", "cfg", "--out", "no-such-dir/plan.ssmplan"]);
    out.assert_exit(1)
        .assert_stderr_contains("cannot write plan file no-such-dir/plan.ssmplan");
}

#[tokio::test]
async fn show_renders_an_intact_plan() {
    let emu = TestEmulator::start();
    let ws = saved_plan(&emu).await;
    let out = ws.run(["show", "plan.ssmplan"]);
    out.assert_success();
    assert!(
        out.stdout
            .ends_with("Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged.\n"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn show_refuses_a_tampered_plan() {
    let emu = TestEmulator::start();
    let ws = saved_plan(&emu).await;
    let bytes = std::fs::read(ws.path("plan.ssmplan")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();

    // Turn the update into a no-op: still valid JSON, still a plausible plan.
    let edited = text.replacen("\"action\":\"update\"", "\"action\":\"no_op\"", 1);
    assert_ne!(edited, text);
    ws.file("no-op.ssmplan", &edited);
    assert_refused(&ws, "no-op.ssmplan", "failed its integrity check");

    // Change a size by one.
    let edited = text.replacen("\"size\":12", "\"size\":13", 1);
    assert_ne!(edited, text);
    ws.file("size.ssmplan", &edited);
    assert_refused(&ws, "size.ssmplan", "failed its integrity check");

    // Flip one digit of the MAC.
    let (body, trailer) = lines(&bytes);
    let mut trailer = String::from_utf8(trailer).unwrap();
    let at = trailer.find("\"mac\":\"").unwrap() + 7;
    let flipped = if &trailer[at..at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    trailer.replace_range(at..at + 1, flipped);
    let mut file = body.clone();
    file.push(b'\n');
    file.extend_from_slice(trailer.as_bytes());
    ws.file("mac.ssmplan", &file);
    let out = assert_refused(&ws, "mac.ssmplan", "failed its integrity check");
    out.assert_stderr_contains("modified after it was written");

    // Swap in the MAC of another plan: a plan of other changes, same key.
    let other = Workspace::new(&emu).config(&CONFIG.replace("new-api-key", "other-api-key"));
    other
        .run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success();
    let (_, other_trailer) = lines(&std::fs::read(other.path("plan.ssmplan")).unwrap());
    let mut file = body;
    file.push(b'\n');
    file.extend_from_slice(&other_trailer);
    ws.file("swapped.ssmplan", &file);
    assert_refused(&ws, "swapped.ssmplan", "failed its integrity check");
}

#[tokio::test]
async fn show_refuses_a_truncated_plan() {
    let emu = TestEmulator::start();
    let ws = saved_plan(&emu).await;
    let bytes = std::fs::read(ws.path("plan.ssmplan")).unwrap();
    let first_line = bytes.iter().position(|&b| b == b'\n').unwrap();
    for (name, cut) in [
        ("half", bytes.len() / 2),
        ("no-trailer", first_line + 1),
        ("no-newline", first_line),
        ("mac-cut", bytes.len() - 10),
        ("header-only", 40),
    ] {
        let file = format!("{name}.ssmplan");
        ws.file(&file, &bytes[..cut]);
        assert_refused(&ws, &file, "is truncated");
    }
    // The trailing newline is not needed.
    ws.file("no-final-newline.ssmplan", &bytes[..bytes.len() - 1]);
    ws.run(["show", "no-final-newline.ssmplan"])
        .assert_success();
}

#[tokio::test]
async fn show_refuses_foreign_files() {
    let emu = TestEmulator::start();
    let ws = saved_plan(&emu).await;
    let foreign: &[(&str, &[u8])] = &[
        // a Terraform plan is a zip archive
        ("tfplan", b"PK\x03\x04\x14\x00\x08\x00\x08\x00tfplan"),
        ("empty", b""),
        (
            "text",
            b"Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.\n",
        ),
        (
            "json",
            b"{\"format_version\":\"1.2\",\"terraform_version\":\"1.9.0\"}\n",
        ),
        (
            "other-format",
            b"{\"format\":\"other-tool\",\"format_version\":1}\n{\"mac\":\"00\"}\n",
        ),
        ("binary", b"\x00\xff\xfe\x01\x02\x03"),
    ];
    for (name, bytes) in foreign {
        let file = format!("{name}.ssmplan");
        ws.file(&file, bytes);
        assert_refused(&ws, &file, "is not an ssmform plan file");
    }
    // A directory, and a file that does not exist.
    std::fs::create_dir(ws.path("dir.ssmplan")).unwrap();
    assert_refused(&ws, "dir.ssmplan", "cannot read plan file dir.ssmplan");
    let out = assert_refused(
        &ws,
        "missing.ssmplan",
        "cannot read plan file missing.ssmplan",
    );
    assert_eq!(
        out.stderr.matches("No such file or directory").count(),
        1,
        "the cause is printed once: {}",
        out.stderr
    );
}

#[tokio::test]
async fn show_refuses_a_plan_from_a_future_format() {
    let emu = TestEmulator::start();
    let ws = saved_plan(&emu).await;
    let text = std::fs::read_to_string(ws.path("plan.ssmplan")).unwrap();
    let future = text.replacen("\"format_version\":1", "\"format_version\":2", 1);
    assert_ne!(future, text);
    ws.file("future.ssmplan", future);
    assert_refused(&ws, "future.ssmplan", "uses plan file format 2");
}

#[tokio::test]
async fn show_refuses_a_plan_checked_under_another_key() {
    let emu = TestEmulator::start();
    let ws = saved_plan(&emu).await;
    let out = ws.run_with(
        ["show", "plan.ssmplan"],
        &[("SSMFORM_PLAN_KEY", "another-key")],
    );
    // The message names the likely cause.
    out.assert_exit(1)
        .assert_stdout_eq("")
        .assert_stderr_contains("failed its integrity check")
        .assert_stderr_contains(
            "(it was written with the SSMFORM_PLAN_KEY environment variable, as this run uses, \
             but with another value)",
        );

    // Without SSMFORM_PLAN_KEY the key comes from the credentials: another key again.
    let mut command = ws.command(["show", "plan.ssmplan"]);
    command.env_remove("SSMFORM_PLAN_KEY");
    Output::of(
        "ssmform show plan.ssmplan (without SSMFORM_PLAN_KEY)",
        command,
    )
    .assert_exit(1)
    .assert_stderr_contains(
        "(it was written with the SSMFORM_PLAN_KEY environment variable; this run uses a key \
             derived from the API secret key or, for endpoint = \"local\", the key in \
             .ssmform/plan.key)",
    );
}

#[tokio::test]
async fn show_without_a_plan_key_needs_the_configuration_directory() {
    let emu = TestEmulator::start();
    seed_secrets(&emu, &[("app-db-password", "v1", "old-password")]).await;
    let ws = Workspace::new(&emu).config(CONFIG).without_plan_key();
    let out = ws.run(["plan", "cfg", "--out", "plan.ssmplan"]);
    out.assert_success();
    // From the directory the plan was made in, the key is derived from the credentials again.
    let out = ws.run(["show", "plan.ssmplan"]);
    out.assert_success();
    // From another working directory, the plan's absolute configuration path still finds it.
    std::fs::create_dir(ws.path("elsewhere")).unwrap();
    ws.run_in(&ws.path("elsewhere"), ["show", "../plan.ssmplan"])
        .assert_success();
    // Without the configuration directory at all, show says what to do.
    std::fs::rename(ws.path("cfg"), ws.path("moved")).unwrap();
    ws.run_in(&ws.path("elsewhere"), ["show", "../plan.ssmplan"])
        .assert_exit(1)
        .assert_stderr_contains("SSMFORM_PLAN_KEY is not set");
}
