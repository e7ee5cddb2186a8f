//! `data "sops_file"` and `ssmform import`, end to end with the real binary.
//!
//! - The data source: plan and apply from a SOPS file (flattened keys, list elements by index,
//!   numbers as text), a changed value shown as a masked key-level diff, `validate` with and
//!   without a key.
//! - Every error, at the data block's file:line:col, exit 1, no value in any output: not a SOPS
//!   file, a tampered value, a tampered MAC, no matching key (the recipients listed), an unreadable
//!   key file, a malformed `ENC[…]`, several key groups (Shamir), PGP-only recipients, a bad
//!   `input_type`, a path out of the configuration directory.
//! - `import` on a seeded emulator (strings, JSON, binary, several versions, a disabled secret,
//!   tags): `plan --detailed-exitcode` right after exits 0, the values file decrypts with
//!   `sops-age`, and a second import refuses to overwrite.

use std::path::Path;

use serde_json::json;
use ssmform::sops::Format;

use crate::support::sops::{
    OTHER_RECIPIENT, TEST_KEY, TEST_RECIPIENT, encrypt_to, sops_age_decrypt,
};
use crate::support::{Leaks, Output, Seed, TestEmulator, Workspace};

const PASSWORD: &str = "cnrySopsPassword4Kd8Qw";
const HOST: &str = "cnrySopsHost7Zx2Pl";
const NEW_PASSWORD: &str = "cnrySopsRotated1Mv5Tr";

/// Starts at line 1: the data block is `cfg/main.hcl:1:1`.
const CONFIG: &str = r#"data "sops_file" "app" {
  source_file = "values.enc.yaml"
}

secret "pw" {
  secret_name   = "sops-pw"
  version_id    = "v1"
  secret_string = data.sops_file.app.data["db.password"]
}

secret "host" {
  secret_name   = "sops-host"
  version_id    = "v1"
  secret_string = data.sops_file.app.data["db.hosts.1"]
}

secret "doc" {
  secret_name   = "sops-doc"
  version_id    = "v1"
  secret_string = jsonencode({ for k, v in data.sops_file.app.data : k => v if startswith(k, "db.") })
}
"#;

const AT: &str = "--> cfg/main.hcl:1:1";

fn plaintext(password: &str) -> String {
    format!(
        "db:\n    password: {password}\n    hosts:\n        - h0.internal\n        - {HOST}\n    port: 5432\n    tls: true\n"
    )
}

fn leaks() -> Leaks {
    Leaks::named([
        ("SOPS value", PASSWORD),
        ("SOPS list value", HOST),
        ("rotated SOPS value", NEW_PASSWORD),
        ("age identity", TEST_KEY),
    ])
}

/// A workspace on `emu` with [`CONFIG`], its SOPS file encrypted to the test key, and the key in
/// `SOPS_AGE_KEY`.
fn workspace(emu: &TestEmulator) -> Workspace {
    let ws = Workspace::new(emu)
        .config(CONFIG)
        .env("SOPS_AGE_KEY", TEST_KEY);
    ws.file(
        "cfg/values.enc.yaml",
        encrypt_to(&plaintext(PASSWORD), Format::Yaml, TEST_RECIPIENT),
    );
    ws
}

async fn live(emu: &TestEmulator, name: &str) -> String {
    let got = emu
        .api()
        .ok(
            "GetSecretValue",
            json!({"SecretName": name, "VersionId": "v1"}),
        )
        .await;
    got["SecretString"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_sops_file_plans_and_applies_and_a_changed_value_is_a_masked_key_diff() {
    let emu = TestEmulator::start();
    let ws = workspace(&emu);
    let leaks = leaks();
    let out = ws.run(["apply", "cfg", "--auto-approve"]);
    out.assert_success()
        .assert_no_leak(&leaks)
        .assert_stdout_contains("Apply complete! Secrets: 3 created, 0 updated, 0 unchanged.");
    assert_eq!(live(&emu, "sops-pw").await, PASSWORD);
    assert_eq!(live(&emu, "sops-host").await, HOST);
    let doc: serde_json::Value = serde_json::from_str(&live(&emu, "sops-doc").await).unwrap();
    assert_eq!(
        doc,
        json!({"db.password": PASSWORD, "db.hosts.0": "h0.internal", "db.hosts.1": HOST,
               "db.port": "5432", "db.tls": "true"})
    );
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_success()
        .assert_stdout_contains("Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged.");

    // Rotate the password in the SOPS file: two secrets change, and the JSON one names the key.
    ws.file(
        "cfg/values.enc.yaml",
        encrypt_to(&plaintext(NEW_PASSWORD), Format::Yaml, TEST_RECIPIENT),
    );
    for format in ["text", "markdown", "json"] {
        for level in ["warn", "trace"] {
            let out = ws.run_with(
                ["plan", "cfg", "--detailed-exitcode", "--format", format],
                &[("SSMFORM_LOG", level)],
            );
            out.assert_exit(2).assert_no_leak(&leaks);
            if format == "text" {
                out.assert_stdout_contains(
                    "Plan: 0 to create, 2 to update, 0 to delete, 1 unchanged.",
                )
                .assert_stdout_contains("db.password")
                .assert_stdout_contains("(sensitive)");
            }
        }
    }
    let out = ws.run_with(
        ["plan", "cfg", "--out", "plan.ssmplan"],
        &[("SSMFORM_LOG", "trace")],
    );
    out.assert_success().assert_no_leak(&leaks);
    ws.run(["show", "plan.ssmplan", "--format", "json"])
        .assert_success()
        .assert_no_leak(&leaks);
    ws.run(["apply", "plan.ssmplan"])
        .assert_success()
        .assert_no_leak(&leaks);
    assert_eq!(live(&emu, "sops-pw").await, NEW_PASSWORD);
    ws.assert_no_leak_in_files(&leaks);
}

#[test]
fn validate_reads_the_file_with_a_key_and_leaves_it_unknown_without_one() {
    let emu = TestEmulator::start();
    let ws = workspace(&emu);
    ws.run(["validate", "cfg"])
        .assert_success()
        .assert_stdout_contains("Success! The configuration is valid: 3 secrets.");
    let ws = ws.without_env("SOPS_AGE_KEY");
    ws.run(["validate", "cfg"])
        .assert_success()
        .assert_stdout_contains("3 depend on data sources")
        .assert_no_leak(&leaks());
    // Plan needs the key, and says where it looked.
    let out = ws.run(["plan", "cfg"]);
    out.assert_exit(1)
        .assert_stderr_contains("no age identity matches the file's recipients")
        .assert_stderr_contains(TEST_RECIPIENT)
        .assert_stderr_contains(AT);
}

/// Replace the first character of the base64 `data:` of the value after `anchor`.
fn flip_after(text: &str, anchor: &str) -> String {
    let at = text.find(anchor).expect("anchor") + anchor.len();
    let data = at + text[at..].find("data:").expect("data:") + "data:".len();
    let c = text.as_bytes()[data];
    let replacement = if c == b'A' { "B" } else { "A" };
    format!("{}{replacement}{}", &text[..data], &text[data + 1..])
}

fn assert_fails_at_the_block(out: &Output, message: &str) {
    out.assert_exit(1)
        .assert_stderr_contains(message)
        .assert_stderr_contains(AT)
        .assert_no_leak(&leaks());
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn every_sops_error_points_at_the_data_block_without_a_value() {
    let emu = TestEmulator::start();
    let good = String::from_utf8(encrypt_to(
        &plaintext(PASSWORD),
        Format::Yaml,
        TEST_RECIPIENT,
    ))
    .unwrap();
    let pgp_only = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops/sops-nix/secrets.ini"),
    )
    .unwrap();
    let malformed = {
        let at = good.find("password: ").unwrap() + "password: ".len();
        let end = at + good[at..].find('\n').unwrap();
        format!(
            "{}ENC[AES256_GCM,data:%%%,iv:x,tag:y,type:str]{}",
            &good[..at],
            &good[end..]
        )
    };
    let key_groups = format!(
        "a: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n\
         sops:\n    key_groups:\n        - age:\n            - recipient: {TEST_RECIPIENT}\n              enc: x\n        \
         - age:\n            - recipient: {OTHER_RECIPIENT}\n              enc: y\n    shamir_threshold: 2\n    \
         lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n    version: 3.8.1\n"
    );
    // (what, the file, the message, extra environment)
    type Case<'a> = (&'a str, Vec<u8>, &'a str, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "not a SOPS file",
            plaintext(PASSWORD).into_bytes(),
            "not a SOPS file",
            vec![],
        ),
        (
            "a tampered value",
            flip_after(&good, "password: ").into_bytes(),
            "values.enc.yaml:2:",
            vec![],
        ),
        (
            "a tampered MAC",
            flip_after(&good, "mac: ").into_bytes(),
            "MAC",
            vec![],
        ),
        (
            "no matching key",
            encrypt_to(&plaintext(PASSWORD), Format::Yaml, OTHER_RECIPIENT),
            OTHER_RECIPIENT,
            vec![],
        ),
        (
            "an unreadable key file",
            good.clone().into_bytes(),
            "cannot read the age key file",
            vec![("SOPS_AGE_KEY_FILE", "/nonexistent/keys.txt")],
        ),
        (
            "a malformed ENC[...]",
            malformed.into_bytes(),
            "malformed encrypted value of key `db.password`",
            vec![],
        ),
        (
            "several key groups",
            key_groups.into_bytes(),
            "single key group (Shamir secret sharing across groups is not supported)",
            vec![],
        ),
    ];
    for (what, file, message, env) in cases {
        let mut ws = Workspace::new(&emu).config(CONFIG);
        ws.file("cfg/values.enc.yaml", &file);
        if env.is_empty() {
            ws = ws.env("SOPS_AGE_KEY", TEST_KEY);
        }
        for (k, v) in env {
            ws = ws.env(k, v);
        }
        let out = ws.run(["plan", "cfg"]);
        assert_fails_at_the_block(&out, message);
        if what == "a tampered value" {
            out.assert_stderr_contains("was tampered with");
        }
        if what == "no matching key" {
            out.assert_stderr_contains("identities were looked for in");
        }
    }

    // PGP-only recipients: named, with what is supported.
    let ws = Workspace::new(&emu)
        .config(&CONFIG.replace(
            "source_file = \"values.enc.yaml\"",
            "source_file = \"secrets.ini\"\n  input_type  = \"ini\"",
        ))
        .env("SOPS_AGE_KEY", TEST_KEY);
    ws.file("cfg/secrets.ini", &pgp_only);
    let out = ws.run(["plan", "cfg"]);
    assert_fails_at_the_block(&out, "wrapped only for PGP");
    out.assert_stderr_contains("supported: age");

    // The file's name and type, checked before it is read.
    let ws = Workspace::new(&emu).config(&CONFIG.replace(
        "source_file = \"values.enc.yaml\"",
        "source_file = \"values.enc.yaml\"\n  input_type  = \"toml\"",
    ));
    let out = ws.run(["validate", "cfg"]);
    out.assert_exit(1)
        .assert_stderr_contains("must be yaml, json, dotenv, ini or binary")
        .assert_stderr_contains("cfg/main.hcl:3:");
    let ws = Workspace::new(&emu).config(&CONFIG.replace("\"values.enc.yaml\"", "\"../x.yaml\""));
    ws.file("x.yaml", &good);
    let out = ws.run(["plan", "cfg"]);
    out.assert_exit(1)
        .assert_stderr_contains("outside the configuration directory")
        .assert_stderr_contains("cfg/main.hcl:2:");
}

// ---------------------------------------------------------------------------------------------
// import

const IMPORT_STRING: &str = "cnryImportString3Rt8Yu";
const IMPORT_JSON: &str = "cnryImportJson6Gh1Jk";
const IMPORT_BINARY: &str = "cnryImportBinary9Op4As";
const IMPORT_TAGGED: &str = "cnryImportTagged2Df7Gh";
const IMPORT_OFF: &str = "cnryImportDisabled5Zx0Cv";

fn import_leaks() -> Leaks {
    Leaks::named([
        ("imported string", IMPORT_STRING),
        ("imported JSON value", IMPORT_JSON),
        ("imported binary", IMPORT_BINARY),
        ("imported tagged value", IMPORT_TAGGED),
        ("disabled value", IMPORT_OFF),
        ("age identity", TEST_KEY),
    ])
}

fn binary_value() -> Vec<u8> {
    let mut b = vec![0u8, 0xff, 0x80];
    b.extend_from_slice(IMPORT_BINARY.as_bytes());
    b
}

async fn seed_for_import(emu: &TestEmulator) {
    Seed::new()
        .secret("app-db", "v1", IMPORT_STRING)
        .version(
            "app-db",
            "v2.0",
            json!({"password": IMPORT_JSON, "note": "a \"quoted\" ${x}"}).to_string(),
        )
        .binary("app-cert", "1", &binary_value())
        .secret("other-thing", "v1", "not imported")
        .secret("app-off", "v1", IMPORT_OFF)
        .disabled("app-off")
        .write(emu)
        .await;
    emu.api()
        .ok(
            "CreateSecret",
            json!({"SecretName": "app-tagged", "VersionId": "v1", "SecretString": IMPORT_TAGGED,
                   "Description": "tagged \"team\" %{x}",
                   "Tags": [{"TagKey": "team", "TagValue": "payments"}]}),
        )
        .await;
}

#[tokio::test]
async fn import_writes_configuration_that_plans_clean_and_a_sops_file_sops_age_reads() {
    let emu = TestEmulator::start();
    seed_for_import(&emu).await;
    let leaks = import_leaks();
    let ws = Workspace::new(&emu);
    let out = ws.run_with(
        ["import", "cfg", "--match", "app-*", "--age", TEST_RECIPIENT],
        &[("SSMFORM_LOG", "trace")],
    );
    out.assert_success()
        .assert_no_leak(&leaks)
        .assert_stdout_contains("Imported 4 versions of 3 secrets (1 binary).")
        .assert_stderr_contains("Skipped secret \"app-off\": disabled");
    let hcl = std::fs::read_to_string(ws.path("cfg/imported.hcl")).unwrap();
    leaks.assert_absent("imported.hcl", &hcl);
    assert!(hcl.contains("data \"sops_file\" \"imported\""), "{hcl}");
    assert!(
        hcl.contains("secret_binary = data.sops_file.imported.data[\"app-cert.1\"]"),
        "{hcl}"
    );
    assert!(
        hcl.contains("description   = \"tagged \\\"team\\\" %%{x}\""),
        "{hcl}"
    );
    assert!(!hcl.contains("other-thing"), "{hcl}");
    let values = ws.path("cfg/imported.sops.yaml");
    leaks.assert_absent("imported.sops.yaml", std::fs::read(&values).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&values).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    ws.run(["fmt", "--check", "cfg"]).assert_success();

    // Right after, nothing to change.
    let out = ws.run_with(
        ["plan", "cfg", "--detailed-exitcode"],
        &[("SOPS_AGE_KEY", TEST_KEY)],
    );
    out.assert_success()
        .assert_no_leak(&leaks)
        .assert_stdout_contains("Plan: 0 to create, 0 to update, 0 to delete, 4 unchanged.");

    // An independent implementation reads the values.
    use base64::Engine as _;
    let got = sops_age_decrypt(&values, "yaml", TEST_KEY);
    assert_eq!(
        got,
        json!({
            "app-cert.1": base64::engine::general_purpose::STANDARD.encode(binary_value()),
            "app-db.v1": IMPORT_STRING,
            "app-db.v2.0": json!({"password": IMPORT_JSON, "note": "a \"quoted\" ${x}"}).to_string(),
            "app-tagged.v1": IMPORT_TAGGED,
        })
    );

    // Never overwrites: both files stay as they are.
    let before = (
        std::fs::read(ws.path("cfg/imported.hcl")).unwrap(),
        std::fs::read(&values).unwrap(),
    );
    let out = ws.run(["import", "cfg", "--age", TEST_RECIPIENT]);
    out.assert_exit(1)
        .assert_stderr_contains("already exists; import never overwrites a file")
        .assert_no_leak(&leaks);
    let out = ws.run([
        "import",
        "cfg",
        "--age",
        TEST_RECIPIENT,
        "--config-out",
        "cfg/other.hcl",
    ]);
    out.assert_exit(1)
        .assert_stderr_contains("imported.sops.yaml: already exists");
    assert!(!ws.path("cfg/other.hcl").exists());
    assert_eq!(
        before,
        (
            std::fs::read(ws.path("cfg/imported.hcl")).unwrap(),
            std::fs::read(&values).unwrap(),
        )
    );
    ws.assert_no_leak_in_files(&leaks);
}

#[tokio::test]
async fn import_filters_by_tag_and_keeps_the_values_file_in_the_directory() {
    let emu = TestEmulator::start();
    seed_for_import(&emu).await;
    let ws = Workspace::new(&emu);
    let out = ws.run([
        "import",
        "cfg",
        "--tag",
        "team=payments",
        "--age",
        TEST_RECIPIENT,
        "--config-out",
        "cfg/payments.hcl",
        "--values-out",
        "cfg/payments.enc.json",
    ]);
    out.assert_success()
        .assert_no_leak(&import_leaks())
        .assert_stdout_contains("Imported 1 versions of 1 secrets (0 binary).");
    let got = sops_age_decrypt(&ws.path("cfg/payments.enc.json"), "json", TEST_KEY);
    assert_eq!(got, json!({"app-tagged.v1": IMPORT_TAGGED}));
    ws.run_with(
        ["plan", "cfg", "--detailed-exitcode"],
        &[("SOPS_AGE_KEY", TEST_KEY)],
    )
    .assert_success();

    // What the configuration declares is not imported twice; then there is nothing left.
    let out = ws.run([
        "import",
        "cfg",
        "--tag",
        "team=payments",
        "--age",
        TEST_RECIPIENT,
        "--config-out",
        "cfg/again.hcl",
        "--values-out",
        "cfg/again.sops.yaml",
    ]);
    out.assert_exit(1)
        .assert_stderr_contains("nothing to import");

    let out = ws.run([
        "import",
        "cfg",
        "--age",
        TEST_RECIPIENT,
        "--values-out",
        "elsewhere.sops.yaml",
    ]);
    out.assert_exit(1)
        .assert_stderr_contains("must be inside the configuration directory");
    let out = ws.run(["import", "cfg", "--match", "app-*"]);
    out.assert_exit(1)
        .assert_stderr_contains("no age recipients");
}

/// A file read through `--allow-read`, outside the reviewed directory: its key names are
/// sensitive too, so a plan shows `(sensitive key)` where it would name them.
#[tokio::test]
async fn keys_of_a_file_outside_the_directory_are_not_shown() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret(
            "sops-doc",
            "v1",
            json!({"db.password": "old", "db.hosts.0": "h0.internal", "db.hosts.1": "old",
                   "db.port": "5432", "db.tls": "true"})
            .to_string(),
        )
        .write(&emu)
        .await;
    let config = CONFIG.replace("\"values.enc.yaml\"", "\"../common/values.enc.yaml\"");
    let ws = Workspace::new(&emu)
        .config(&config)
        .env("SOPS_AGE_KEY", TEST_KEY);
    ws.file(
        "common/values.enc.yaml",
        encrypt_to(&plaintext(PASSWORD), Format::Yaml, TEST_RECIPIENT),
    );
    let out = ws.run([
        "plan",
        "cfg",
        "--target",
        "secret.doc",
        "--allow-read",
        "common",
    ]);
    out.assert_success()
        .assert_no_leak(&leaks())
        .assert_stdout_contains("Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged.")
        .assert_stdout_contains("(sensitive key)")
        .assert_stdout_not_contains("db.password");
    // Inside the directory the same file's keys are named.
    let ws2 = Workspace::new(&emu)
        .config(CONFIG)
        .env("SOPS_AGE_KEY", TEST_KEY);
    ws2.file(
        "cfg/values.enc.yaml",
        encrypt_to(&plaintext(PASSWORD), Format::Yaml, TEST_RECIPIENT),
    );
    ws2.run(["plan", "cfg", "--target", "secret.doc"])
        .assert_success()
        .assert_stdout_contains("db.password");
}

/// Files that only look like SOPS files, every field a canary, read as every input type: the
/// errors name none of it.
#[test]
fn a_file_that_only_looks_like_sops_is_refused_without_quoting_it() {
    let emu = TestEmulator::start();
    let canaries = Leaks::new([
        "cnryFake1Value",
        "cnryFake2Key",
        "cnryFake3Recipient",
        "cnryFake4Enc",
        "cnryFake5Mac",
        "cnryFake6Time",
        "cnryFake7Line",
    ]);
    let files = [
        "cnryFake2Key: cnryFake1Value\n  broken: [cnryFake7Line\n",
        "{\"cnryFake2Key\": \"cnryFake1Value\", cnryFake7Line",
        "cnryFake2Key=cnryFake1Value\n=cnryFake7Line\nnoequals cnryFake7Line\n",
        "[cnryFake2Key\ncnryFake7Line=cnryFake1Value\n",
        "{\"data\": \"cnryFake1Value\", \"sops\": {\"age\": [{\"recipient\": \"cnryFake3Recipient\", \"enc\": \"cnryFake4Enc\"}], \"lastmodified\": \"2024-01-01T00:00:00Z\", \"mac\": \"cnryFake5Mac\"}}",
        "cnryFake2Key: ENC[cnryFake1Value]\nsops:\n    age:\n        - recipient: cnryFake3Recipient\n          enc: cnryFake4Enc\n    lastmodified: cnryFake6Time\n    mac: cnryFake5Mac\n",
        "cnryFake2Key: cnryFake1Value\nsops:\n    age:\n        - recipient: cnryFake3Recipient\n          enc: cnryFake4Enc\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: cnryFake5Mac\n",
    ];
    for input_type in ["yaml", "json", "dotenv", "ini", "binary"] {
        let ws = Workspace::new(&emu)
            .config(&CONFIG.replace(
                "source_file = \"values.enc.yaml\"",
                &format!("source_file = \"values.enc.yaml\"\n  input_type  = \"{input_type}\""),
            ))
            .env("SOPS_AGE_KEY", TEST_KEY);
        for f in files {
            ws.file("cfg/values.enc.yaml", f);
            // `validate` leaves a file no identity opens unknown (exit 0); `plan` refuses it.
            for (command, exits) in [("plan", &[1][..]), ("validate", &[0, 1][..])] {
                let out = ws.run([command, "cfg"]);
                out.assert_exit_in(exits).assert_no_leak(&canaries);
                assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
            }
        }
    }
}

/// `endpoint = "local"`: import reads the embedded emulator's store like plan does.
#[tokio::test]
async fn import_works_on_the_embedded_emulator() {
    let ws = Workspace::bare()
        .config("provider \"tencentcloud\" {\n  endpoint = \"local\"\n}\n")
        .env("SOPS_AGE_KEY", TEST_KEY);
    let db = ws.path("cfg/.ssmform/local.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    ws.mark_input("cfg/.ssmform/local.db");
    Seed::new()
        .secret("local-a", "v1", IMPORT_STRING)
        .binary("local-b", "v1", &binary_value())
        .write_store(&db)
        .await;
    let out = ws.run(["import", "cfg", "--age", TEST_RECIPIENT]);
    out.assert_success()
        .assert_no_leak(&import_leaks())
        .assert_stdout_contains("Imported 2 versions of 2 secrets (1 binary).");
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_success()
        .assert_stdout_contains("Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged.");
}

/// Without `--age`, the recipients come from the `.sops.yaml` creation rule for the values file;
/// its selectors do not leave a value in clear (every value is encrypted, even under a key
/// ending in `_unencrypted`).
#[tokio::test]
async fn import_takes_recipients_from_sops_yaml_and_encrypts_every_value() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("db_unencrypted", "v1", IMPORT_STRING)
        .write(&emu)
        .await;
    let ws = Workspace::new(&emu);
    ws.file(
        "cfg/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.sops\\.yaml$\n    age: {TEST_RECIPIENT}\n    unencrypted_regex: ^db\n"
        ),
    );
    let out = ws.run(["import", "cfg"]);
    out.assert_success()
        .assert_no_leak(&import_leaks())
        .assert_stdout_contains("Imported 1 versions of 1 secrets (0 binary).");
    let values = std::fs::read_to_string(ws.path("cfg/imported.sops.yaml")).unwrap();
    assert!(values.contains("encrypted_regex: ^"), "{values}");
    import_leaks().assert_absent("imported.sops.yaml", &values);
    assert_eq!(
        sops_age_decrypt(&ws.path("cfg/imported.sops.yaml"), "yaml", TEST_KEY),
        json!({"db_unencrypted.v1": IMPORT_STRING})
    );
    ws.run_with(
        ["plan", "cfg", "--detailed-exitcode"],
        &[("SOPS_AGE_KEY", TEST_KEY)],
    )
    .assert_success();
}
