//! `endpoint = "local"` derives nothing from the emulator's public development credentials: the
//! embedded emulator accepts only credentials drawn at random for each process, and the plan key
//! is a random key kept in `.ssmform/plan.key` (mode 0600), made on first use and reused, so
//! `plan --out`, `show` and `apply PLANFILE` still work together.

use std::net::SocketAddr;

use ssmform::config::{Mode, VarInputs};
use ssmform::emulator::{Credential, DEV_SECRET_KEY};
use ssmform::secret::{PlanKey, SecretValue};
use ssmform::workflow::Connection;

use crate::support::{Api, Leaks, Workspace};

const CONTENT: &str = "cnryLocalModeContent5Wd8Hq";

fn local_workspace() -> Workspace {
    Workspace::bare()
        .without_plan_key()
        .config(
            "provider \"tencentcloud\" {\n  endpoint = \"local\"\n}\n\n\
             variable \"pw\" {\n  type      = string\n  sensitive = true\n}\n\n\
             secret \"app\" {\n  secret_name   = \"app\"\n  version_id    = \"v1\"\n  secret_string = var.pw\n}\n",
        )
        .env("SSMFORM_VAR_pw", CONTENT)
}

fn key_of(ws: &Workspace) -> PlanKey {
    let text = std::fs::read_to_string(ws.path("cfg/.ssmform/plan.key")).expect("a local plan key");
    let digits = text.trim_end();
    assert_eq!(digits.len(), 64, "64 hex digits");
    PlanKey::from_passphrase(digits.as_bytes())
}

#[test]
fn plans_are_keyed_with_a_random_local_key_not_the_development_one() {
    use std::os::unix::fs::PermissionsExt as _;
    let ws = local_workspace();
    let leaks = Leaks::new([CONTENT]);
    ws.run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success()
        .assert_no_leak(&leaks);
    let key_path = ws.path("cfg/.ssmform/plan.key");
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file is private");

    let plan = ws.path("plan.ssmplan");
    let development =
        PlanKey::derive_from_api_secret_key(&SecretValue::from_string(DEV_SECRET_KEY.into()));
    assert!(
        ssmform::plan::file::read(&plan, &development).is_err(),
        "a local plan must not verify under a key anyone can compute"
    );
    ssmform::plan::file::read(&plan, &key_of(&ws)).expect("the plan verifies under the key file");

    // show and apply of the saved plan read the same key.
    ws.run(["show", "plan.ssmplan"])
        .assert_success()
        .assert_stdout_contains("secret.app")
        .assert_no_leak(&leaks);
    ws.run(["apply", "plan.ssmplan"])
        .assert_success()
        .assert_no_leak(&leaks);
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_exit(0);

    // Another configuration directory gets another key.
    let other = local_workspace();
    other
        .run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success();
    assert_ne!(key_of(&ws).mac(b"m"), key_of(&other).mac(b"m"));
    // The local store holds the emulated secrets in clear, by design; nothing else may.
    ws.mark_input("cfg/.ssmform/local.db");
    ws.assert_no_leak_in_files(&leaks);
}

#[test]
fn show_without_the_local_key_says_what_to_do() {
    let ws = local_workspace();
    ws.run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success();
    std::fs::remove_file(ws.path("cfg/.ssmform/plan.key")).unwrap();
    ws.run(["show", "plan.ssmplan"])
        .assert_exit(1)
        .assert_stderr_contains("there is no local plan key at")
        .assert_stderr_contains("cfg/.ssmform/plan.key: plans made with endpoint = \"local\"");
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let ws = local_workspace();
    ws.run(["plan", "cfg"]).assert_success();
    let key_path = ws.path("cfg/.ssmform/plan.key");
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    ws.run(["plan", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("others may read or change it (mode 0644)");
}

/// While a run holds the embedded emulator open (as `apply` does at its prompt), the emulator's
/// public development credentials do not open it.
#[tokio::test]
async fn the_embedded_emulator_refuses_the_development_credentials() {
    let ws = local_workspace();
    let config = ssmform::workflow::load(&ws.config_dir(), &VarInputs::default(), Mode::Validate)
        .expect("the configuration loads");
    let conn = Connection::open(&config).await.expect("local connection");
    let addr: SocketAddr = conn
        .client
        .endpoint()
        .display()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("a loopback address");
    let dev = Api::for_addr(addr, &Credential::development());
    let reply = dev.call("ListSecrets", serde_json::json!({})).await;
    assert_eq!(reply.code(), Some("AuthFailure.SecretIdNotFound"));
    // The connection's own credentials work.
    let own = ssmform::ssm::ListSecretsRequest::default();
    conn.client
        .list_secrets(&own)
        .await
        .expect("the connection's own credentials are accepted");
}
