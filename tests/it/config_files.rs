//! What a configuration may read: its own directory only. Configuration files, `*.auto.vars.hcl`
//! and `file()`/`filebase64()` go through one confined reader (`config::files`): a symbolic link
//! out of the directory is refused unread, `.ssmform/` is ssmform's alone, only regular files are
//! read (a FIFO never blocks a run), and `--allow-read DIR` is the operator's way to widen it.

use std::path::Path;
use std::time::Duration;

use crate::support::{Leaks, Output, TestEmulator, Workspace, wait_until};

/// A value in the environment of every ssmform process these tests start: what
/// `/proc/self/environ` would give away.
const ENV_CANARY: &str = "cnryRunnerEnvToken4Vq8Zs2Lm";
/// The content of a file outside the configuration directory.
const OUTSIDE_CANARY: &str = "cnryOutsideFile7Hd3Kw9Pj";
/// A secret in the local store.
const STORE_CANARY: &str = "cnryLocalStoreRow2Bx6Tn8";

const SECRET: &str = r#"
secret "a" {
  secret_name   = "a"
  version_id    = "v1"
  secret_string = "not secret"
}
"#;

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Run to completion, or fail (and kill the run) if it does not end: a read that blocks on a
/// FIFO would hang forever.
#[track_caller]
fn run_to_end(ws: &Workspace, args: &[&str]) -> Output {
    let mut running = ws.start(args.to_vec());
    let done = std::cell::Cell::new(false);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(
            &format!("ssmform {} to end (a read blocked?)", args.join(" ")),
            Duration::from_secs(60),
            || {
                let finished = running.child.try_wait().ok().flatten().is_some();
                done.set(finished);
                finished
            },
        )
    }));
    if outcome.is_err() {
        let _ = running.child.kill();
        panic!("ssmform {} did not end: a read blocked", args.join(" "));
    }
    running.wait()
}

fn env_leaks() -> Leaks {
    Leaks::named([("runner's environment", ENV_CANARY)])
}

/// `ci.hcl -> /proc/self/environ` (git can commit such a link) would make ssmform parse its own
/// environment and quote it in a syntax error. It is refused unread, in every command that reads
/// configuration files, with an error naming the file.
#[test]
fn a_configuration_file_linking_out_of_the_directory_is_refused_unread() {
    let emu = TestEmulator::unlimited();
    let ws = Workspace::new(&emu)
        .config(SECRET)
        .env("CI_DEPLOY_TOKEN", ENV_CANARY);
    std::os::unix::fs::symlink("/proc/self/environ", ws.path("cfg/ci.hcl")).unwrap();
    let leaks = env_leaks();
    for args in [
        &["validate", "cfg"][..],
        &["validate", "cfg", "--format", "json"],
        &["plan", "cfg"],
        &["plan", "cfg", "--format", "json"],
        &["graph", "cfg"],
        &["fmt", "cfg"],
        &["fmt", "cfg", "--check"],
        &["apply", "cfg", "--auto-approve"],
    ] {
        let out = ws.run_with(args.to_vec(), &[("SSMFORM_LOG", "trace")]);
        out.assert_exit(1).assert_no_leak(&leaks);
        let shown = format!("{}{}", out.stdout, out.stderr);
        assert!(
            shown.contains("ci.hcl") && shown.contains("symbolic link"),
            "the error names the file and says why:\n{}",
            out.report()
        );
    }
    ws.assert_no_leak_in_files(&leaks);
}

/// The same for a link to a file of the machine, and to one outside that does not exist (whether
/// it exists is not revealed).
#[test]
fn links_out_of_the_directory_are_refused_for_variables_files_and_file_functions() {
    let ws = Workspace::bare();
    ws.file("outside.txt", OUTSIDE_CANARY);
    ws.file(
        "cfg/main.hcl",
        "provider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n\
         variable \"v\" {\n  type = string\n  sensitive = true\n}\n\
         secret \"a\" {\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = file(\"notes.txt\")\n  sensitive = false\n}\n",
    );
    std::os::unix::fs::symlink("../outside.txt", ws.path("cfg/notes.txt")).unwrap();
    std::os::unix::fs::symlink("../outside.txt", ws.path("cfg/x.auto.vars.hcl")).unwrap();
    let leaks = Leaks::new([OUTSIDE_CANARY]);
    ws.run(["validate", "cfg"])
        .assert_exit(1)
        .assert_no_leak(&leaks)
        .assert_stderr_contains("x.auto.vars.hcl is a symbolic link that leads outside");
    std::fs::remove_file(ws.path("cfg/x.auto.vars.hcl")).unwrap();
    ws.run(["validate", "cfg"])
        .assert_exit(1)
        .assert_no_leak(&leaks)
        .assert_stderr_contains("`notes.txt` is a symbolic link that leads outside");

    std::fs::remove_file(ws.path("cfg/notes.txt")).unwrap();
    std::os::unix::fs::symlink("../no-such-file", ws.path("cfg/notes.txt")).unwrap();
    ws.run(["validate", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("`notes.txt` is a symbolic link that leads outside");
}

/// `.ssmform/` holds the local store (secrets in clear), journals and the local plan key: a
/// configuration cannot read it, not even a `sensitive = false` one that would print it.
#[tokio::test]
async fn the_state_directory_cannot_be_read_by_a_configuration() {
    let ws = Workspace::bare().config(
        "provider \"tencentcloud\" {\n  endpoint = \"local\"\n}\n\
         secret \"dump\" {\n  secret_name   = \"dump\"\n  version_id    = \"v1\"\n  secret_string = filebase64(\".ssmform/local.db\")\n  sensitive     = false\n}\n\
         secret \"key\" {\n  secret_name   = \"key\"\n  version_id    = \"v1\"\n  secret_string = file(\"./.ssmform/../.ssmform/plan.key\")\n  sensitive     = false\n}\n"
    );
    let db = ws.path("cfg/.ssmform/local.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    ws.mark_input("cfg/.ssmform/local.db");
    crate::support::Seed::new()
        .secret("stored", "v1", STORE_CANARY)
        .write_store(&db)
        .await;
    std::fs::write(ws.path("cfg/.ssmform/plan.key"), "k".repeat(64)).unwrap();
    ws.mark_input("cfg/.ssmform/plan.key");
    let leaks = Leaks::new([STORE_CANARY]);
    for args in [&["validate"][..], &["plan"], &["plan", "--format", "json"]] {
        let mut a = args.to_vec();
        a.push("cfg");
        let json = a.contains(&"json");
        let out = ws.run(a);
        out.assert_exit(1).assert_no_leak(&leaks);
        // Text on stderr; with --format json the one report is a diagnostic line on stdout.
        if json {
            out.assert_stdout_contains("`.ssmform/local.db` is inside .ssmform/");
        } else {
            out.assert_stderr_contains("`.ssmform/local.db` is inside .ssmform/");
        }
    }
    ws.assert_no_leak_in_files(&leaks);
}

/// A FIFO, a directory or a socket named like a configuration file, a variables file or a file
/// function's argument is refused with an error naming it; nothing blocks.
#[test]
fn fifos_directories_and_sockets_are_refused_without_blocking() {
    let ws = Workspace::bare().config(
        "provider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n\
         secret \"a\" {\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = file(\"pipe\")\n}\n",
    );
    mkfifo(&ws.path("cfg/pipe"));
    mkfifo(&ws.path("cfg/fifo.hcl"));
    mkfifo(&ws.path("cfg/f.auto.vars.hcl"));
    std::fs::create_dir(ws.path("cfg/modules.hcl")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(ws.path("cfg/sock.hcl")).unwrap();
    let out = run_to_end(&ws, &["validate", "cfg"]);
    out.assert_exit(1)
        .assert_stderr_contains("cfg/fifo.hcl is a named pipe (FIFO), not a regular file")
        .assert_stderr_contains("cfg/modules.hcl is a directory, not a regular file")
        .assert_stderr_contains("cfg/sock.hcl is a socket, not a regular file");
    let out = run_to_end(&ws, &["fmt", "cfg"]);
    out.assert_exit(1)
        .assert_stderr_contains("cfg/fifo.hcl is a named pipe (FIFO)");

    for name in ["fifo.hcl", "modules.hcl", "sock.hcl"] {
        let p = ws.path(&format!("cfg/{name}"));
        if p.is_dir() {
            std::fs::remove_dir(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
    let out = run_to_end(&ws, &["validate", "cfg"]);
    out.assert_exit(1)
        .assert_stderr_contains("cfg/f.auto.vars.hcl is a named pipe (FIFO)");
    std::fs::remove_file(ws.path("cfg/f.auto.vars.hcl")).unwrap();
    let out = run_to_end(&ws, &["validate", "cfg"]);
    out.assert_exit(1)
        .assert_stderr_contains("`pipe` is a named pipe (FIFO), not a regular file");
}

/// `--var-file` may name any path (the operator's choice), but a FIFO or a device there is
/// refused, not read: `--var-file /dev/zero` would never end, a FIFO would wait for a writer.
#[test]
fn var_files_must_be_regular_files() {
    let ws = Workspace::bare().config(
        "provider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n\
         variable \"v\" {\n  type = string\n  default = \"x\"\n}\n",
    );
    mkfifo(&ws.path("vars.fifo"));
    let fifo = ws.path("vars.fifo");
    let out = run_to_end(
        &ws,
        &["validate", "cfg", "--var-file", fifo.to_str().unwrap()],
    );
    out.assert_exit(1)
        .assert_stderr_contains("vars.fifo is a named pipe (FIFO), not a regular file");
    let out = run_to_end(&ws, &["validate", "cfg", "--var-file", "/dev/zero"]);
    out.assert_exit(1)
        .assert_stderr_contains("variable file /dev/zero is a character device");
    // An ordinary file anywhere is fine.
    ws.file("elsewhere/v.vars.hcl", "v = \"y\"\n");
    let var_file = ws.path("elsewhere/v.vars.hcl");
    ws.run(["validate", "cfg", "--var-file", var_file.to_str().unwrap()])
        .assert_success();
}

/// A configuration file over the size limit is refused by its size, before it is read.
#[test]
fn oversized_configuration_files_are_refused() {
    let ws =
        Workspace::bare().config("provider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n");
    let big = std::fs::File::create(ws.path("cfg/big.hcl")).unwrap();
    big.set_len(16 * 1024 * 1024 + 1).unwrap();
    ws.run(["validate", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("cfg/big.hcl is larger than 16777216 bytes");
}

/// `--allow-read DIR` lets file functions and linked configuration files read DIR, and nothing
/// beside it; without it they are refused.
#[test]
fn allow_read_opens_one_directory_outside() {
    let ws = Workspace::bare();
    ws.file("common/ca.pem", "-----BEGIN CERTIFICATE-----\n")
        .file(
            "common/common.hcl",
            "variable \"region\" {\n  default = \"ap-guangzhou\"\n}\n",
        )
        .file("other/secret.txt", OUTSIDE_CANARY)
        .file(
            "cfg/main.hcl",
            "provider \"tencentcloud\" {\n  region = var.region\n}\n\
             secret \"ca\" {\n  secret_name   = \"ca\"\n  version_id    = \"v1\"\n  secret_string = file(\"../common/ca.pem\")\n}\n",
        );
    std::os::unix::fs::symlink("../common/common.hcl", ws.path("cfg/common.hcl")).unwrap();
    let shared = ws.path("common");
    ws.run(["validate", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("cfg/common.hcl is a symbolic link that leads outside")
        .assert_stderr_contains("--allow-read DIR");
    ws.run(["validate", "cfg", "--allow-read", shared.to_str().unwrap()])
        .assert_success();

    ws.file(
        "cfg/main.hcl",
        "provider \"tencentcloud\" {\n  region = var.region\n}\n\
         secret \"x\" {\n  secret_name   = \"x\"\n  version_id    = \"v1\"\n  secret_string = file(\"../other/secret.txt\")\n}\n",
    );
    ws.run(["validate", "cfg", "--allow-read", shared.to_str().unwrap()])
        .assert_exit(1)
        .assert_no_leak(&Leaks::new([OUTSIDE_CANARY]))
        .assert_stderr_contains("`../other/secret.txt` is outside the configuration directory");
    ws.run(["validate", "cfg", "--allow-read", "no/such/dir"])
        .assert_exit(1)
        .assert_stderr_contains("--allow-read no/such/dir: cannot resolve the path");
}

/// Links inside the directory keep working.
#[test]
fn links_inside_the_directory_are_followed() {
    let ws = Workspace::bare();
    ws.file("cfg/parts/provider.hcl", "provider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n")
        .file("cfg/parts/value.txt", "hello")
        .file(
            "cfg/main.hcl",
            "secret \"a\" {\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = file(\"value.txt\")\n}\n",
        );
    std::os::unix::fs::symlink("parts/provider.hcl", ws.path("cfg/provider.hcl")).unwrap();
    std::os::unix::fs::symlink("parts/value.txt", ws.path("cfg/value.txt")).unwrap();
    ws.run(["validate", "cfg"]).assert_success();
}
