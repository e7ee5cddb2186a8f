//! SOPS files (`ssmform::sops` and `ssmform sops encrypt`).
//!
//! - Files written by the real sops, from public test suites with their published test keys
//!   (`tests/fixtures/sops/README.md` says where each came from), decrypt to their known
//!   plaintext with the MAC verified. sops' own functional-test files are wrapped for PGP only:
//!   `gpg` unwraps their data key with sops' published test key, and the files (YAML with
//!   comments, JSON, dotenv, both INI layouts) must print exactly as `sops decrypt` prints them.
//! - Round trips through every format, value type and encryption rule, with X25519 and SSH keys.
//! - Independent implementations: `sops-age` (Node) decrypts what ssmform writes; Debian's `age`
//!   makes the identity ssmform loads and unwraps the data key ssmform wrapped.
//! - Every error: message text, exit 1 for the command, and no plaintext canary anywhere.
//!
//! The Node packages come from `tests/node/setup.sh` (called here; `.ci/run` calls it first). A
//! missing `node`, `age`, `gpg` or `ssh-keygen` fails these tests with the install to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use ssmform::sops::{
    self, Decrypted, EncryptOptions, Format, Identities, KeyEnv, Recipient, SopsError,
};

use crate::support::{Leaks, Ssmform, temp_dir};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The published test key of humphd/sops-age (`tests/fixtures/sops/humphd-sops-age/key.txt`).
const TEST_KEY: &str = "AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P";
const TEST_RECIPIENT: &str = "age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr";
/// Another published test recipient (fluxcd/kustomize-controller), whose key we do not use.
const OTHER_RECIPIENT: &str = "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29";

const CANARY: &str = "cnrySopsQ7x2Lm9Vt4";
const CANARY2: &str = "cnryHiddenK8p3Zw6Ye";

fn fixture(rel: &str) -> PathBuf {
    Path::new(ROOT).join("tests/fixtures/sops").join(rel)
}

/// Identities from one key file, and nothing else (no HOME, no other variable).
fn key_env(key_file: &Path) -> KeyEnv {
    KeyEnv::from_vars([("SOPS_AGE_KEY_FILE", key_file.as_os_str().to_owned())])
}

fn test_identities() -> Identities {
    Identities::from_text(TEST_KEY.as_bytes(), "test key").unwrap()
}

fn data(d: &Decrypted) -> BTreeMap<String, String> {
    d.data()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.expose().to_vec()).unwrap()))
        .collect()
}

fn raw(d: &Decrypted) -> String {
    String::from_utf8(d.raw().unwrap().expose().to_vec()).unwrap()
}

fn pairs(p: &[(&str, &str)]) -> BTreeMap<String, String> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn decrypt_fixture(file: &str, key: &str) -> Decrypted {
    sops::decrypt_file(&fixture(file), None, &key_env(&fixture(key)))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn tool(name: &str, package: &str) -> PathBuf {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("sh runs");
    assert!(
        found.status.success(),
        "`{name}` is not installed: run `apt-get install {package}` (.ci/run installs it)"
    );
    PathBuf::from(String::from_utf8(found.stdout).unwrap().trim())
}

// ---------------------------------------------------------------------------------------------
// Files written by the real sops (age)

#[test]
fn sops_age_suite_yaml_json_and_dotenv_decrypt_to_their_published_plaintext() {
    let common = [
        ("boolean", "true"),
        ("complex.array.0", "one"),
        ("complex.array.1", "two"),
        ("complex.array.2", "three"),
        ("complex.value", "this is a secret"),
        ("float", "3.14"),
        ("int", "7"),
        ("secret", "this is a secret"),
        ("string", "string"),
    ];
    let yaml = decrypt_fixture("humphd-sops-age/secret.enc.yaml", "humphd-sops-age/key.txt");
    assert_eq!(data(&yaml), pairs(&common));
    assert_eq!(yaml.recipients().len(), 3);
    let json = decrypt_fixture("humphd-sops-age/secret.enc.json", "humphd-sops-age/key.txt");
    let mut with_word = common.to_vec();
    with_word.push(("0word", "gotta match go"));
    assert_eq!(data(&json), pairs(&with_word));
    // The published plaintext, re-serialised as sops prints JSON (tab indentation).
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("humphd-sops-age/secret.json")).unwrap(),
    )
    .unwrap();
    let printed: serde_json::Value = serde_json::from_str(&raw(&json)).unwrap();
    assert_eq!(printed, published);
    assert!(raw(&json).starts_with("{\n\t\"secret\": "));
    let env = decrypt_fixture("humphd-sops-age/secret.enc.env", "humphd-sops-age/key.txt");
    assert_eq!(
        data(&env),
        pairs(&[("another_secret", "7"), ("secret", "this is a secret")])
    );
    assert_eq!(raw(&env), "secret=this is a secret\nanother_secret=7\n");
}

#[test]
fn flux_suite_encrypted_regex_yaml_dotenv_and_binary() {
    let yaml = decrypt_fixture("flux/age.yaml", "flux/age.txt");
    assert_eq!(
        data(&yaml),
        pairs(&[
            ("apiVersion", "v1"),
            ("kind", "Secret"),
            ("metadata.name", "age"),
            ("stringData.key", "value"),
        ])
    );
    assert_eq!(
        raw(&yaml),
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: age\nstringData:\n    key: value\n"
    );
    let env = decrypt_fixture("flux/env.env", "flux/age.txt");
    assert_eq!(data(&env), pairs(&[("key", "value")]));
    let bin = decrypt_fixture("flux/file.txt", "flux/age.txt");
    assert_eq!(bin.format(), Format::Binary);
    assert_eq!(raw(&bin), "value");
}

#[test]
fn helm_secrets_suite_yaml_with_an_int_and_block_text() {
    let d = decrypt_fixture("helm-secrets/secrets.age.yaml", "helm-secrets/key.txt");
    let m = data(&d);
    assert_eq!(m["global_secret"], "global_age");
    assert_eq!(m["service.port"], "92");
    assert!(m["key"].starts_with("-----BEGIN PGP MESSAGE-----\n\nwcFMA"));
    assert!(m["key"].ends_with("=jf7D\n-----END PGP MESSAGE-----"));
    assert!(raw(&d).contains("key: |-\n    -----BEGIN PGP MESSAGE-----\n\n    wcFMA"));
}

#[test]
fn sops_nix_suite_yaml_wrapped_for_age_and_pgp() {
    let d = decrypt_fixture("sops-nix/secrets.yaml", "sops-nix/age-keys.txt");
    assert_eq!(
        data(&d),
        pairs(&[
            ("a_list.0", "e1"),
            ("a_list.1", "e3"),
            ("nested.test.file", "another value"),
            ("test_key", "test_value"),
        ])
    );
}

/// Parse a plaintext YAML fixture the way `data` shows it.
fn plaintext_data(file: &str) -> BTreeMap<String, String> {
    let doc = sops::stores::yaml::parse(&std::fs::read(fixture(file)).unwrap(), file).unwrap();
    doc.flatten()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.expose().to_vec()).unwrap()))
        .collect()
}

#[test]
fn rops_suite_covers_mac_only_encrypted_and_every_selector() {
    for name in [
        "age_example",
        "age_empty_value",
        "age_encrypted_regex",
        "age_encrypted_suffix",
        "age_unencrypted_regex",
        "age_unencrypted_suffix",
        "age_mac_only_encrypted",
    ] {
        let d = decrypt_fixture(&format!("rops/{name}.yaml"), "rops/key.txt");
        assert_eq!(
            data(&d),
            plaintext_data(&format!("rops/{name}_plaintext.yaml")),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// sops' own functional-test files (PGP; gpg unwraps the data key)

/// The data key of a sops file wrapped for sops' published PGP test key, unwrapped by gpg in a
/// throwaway keyring.
fn gpg_data_key(file: &Path) -> Vec<u8> {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    let gpg = tool("gpg", "gnupg");
    let home = HOME.get_or_init(|| {
        let home = temp_dir();
        let out = Command::new(&gpg)
            .args(["--batch", "--quiet", "--import"])
            .arg(fixture("sops-functional/sops_functional_tests_key.asc"))
            .env("GNUPGHOME", home.path())
            .output()
            .expect("gpg runs");
        assert!(
            out.status.success(),
            "gpg --import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        home
    });
    let text = std::fs::read_to_string(file).unwrap().replace("\\n", "\n");
    let start = text
        .find("-----BEGIN PGP MESSAGE-----")
        .expect("a PGP block");
    let end = text.find("-----END PGP MESSAGE-----").expect("its end") + 25;
    let armored: String = text[start..end]
        .lines()
        .map(|l| l.trim().to_string() + "\n")
        .collect();
    let mut child = Command::new(&gpg)
        .args(["--batch", "--quiet", "--decrypt"])
        .env("GNUPGHOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gpg runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(armored.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "gpg --decrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 32, "a sops data key is 32 bytes");
    out.stdout
}

fn decrypt_pgp_fixture(name: &str) -> Decrypted {
    let path = fixture(&format!("sops-functional/{name}"));
    let key = gpg_data_key(&path);
    let bytes = std::fs::read(&path).unwrap();
    sops::decrypt_with_data_key(&bytes, Format::from_path(&path), name, &key)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn sops_yaml_with_encrypted_comments_decrypts_exactly_as_sops_prints_it() {
    let plain = std::fs::read_to_string(fixture("sops-functional/comments.yaml")).unwrap();
    // (The fixture lacks a final newline; sops prints one.)
    let plain = format!("{}\n", plain.trim_end());
    let d = decrypt_pgp_fixture("comments.enc.yaml");
    assert_eq!(raw(&d), plain);
    assert_eq!(data(&d), pairs(&[("dolor", "sit"), ("lorem", "ipsum")]));
    // A file from before sops encrypted comments: clear comments are kept as they are.
    let old = decrypt_pgp_fixture("comments_unencrypted_comments.yaml");
    assert_eq!(raw(&old), plain);
}

#[test]
fn sops_format_files_print_as_sops_decrypt_does() {
    // The expected outputs are those of sops' functional test `decrypt_format`.
    for (name, printed) in [
        ("format.enc.yaml", "foo: bar\n"),
        ("format.enc.json", "{\n\t\"foo\": \"bar\"\n}\n"),
        ("format.enc.env", "foo = bar\n"),
        ("format.enc.ini", "[foo]\nbar = baz\n"),
        ("format-2.enc.ini", "[foo]\nbar = baz\n"),
    ] {
        assert_eq!(raw(&decrypt_pgp_fixture(name)), printed, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips

fn options() -> EncryptOptions {
    EncryptOptions {
        source_name: Some("input".into()),
        ..EncryptOptions::default()
    }
}

fn round_trip(plain: &str, format: Format, opts: &EncryptOptions) -> (String, Decrypted) {
    let recipients = [Recipient::parse(TEST_RECIPIENT).unwrap()];
    let enc = sops::encrypt(plain.as_bytes(), format, &recipients, opts)
        .unwrap_or_else(|e| panic!("{format}: {e}"));
    let text = String::from_utf8(enc).unwrap();
    let d = sops::decrypt(text.as_bytes(), format, "enc", &test_identities())
        .unwrap_or_else(|e| panic!("{format}: {e}\n{text}"));
    (text, d)
}

const YAML_ALL: &str = "\
# a head comment
str: cnrySopsQ7x2Lm9Vt4
int: 42
neg: -7
float: 2.5
bool: false
date: 2024-01-02T03:04:05Z
empty: \"\"
nothing: null
nested:
    # inside
    deeper:
        key: value # inline
list:
    - one
    - 2
    - k: v
      k2: v2
multi: |
    line one
    line two
public_unencrypted: shown
";

#[test]
fn round_trip_yaml_every_value_type_comment_and_the_default_suffix() {
    let (enc, d) = round_trip(YAML_ALL, Format::Yaml, &options());
    assert_eq!(raw(&d), YAML_ALL);
    assert!(enc.contains("public_unencrypted: shown"), "{enc}");
    assert!(enc.contains("type:int]") && enc.contains("type:float]"));
    assert!(enc.contains("type:bool]") && enc.contains("type:time]"));
    assert!(enc.contains("#ENC[AES256_GCM,") && enc.contains("type:comment]"));
    assert!(
        enc.contains("empty: \"\"\n"),
        "empty strings stay empty: {enc}"
    );
    Leaks::new([CANARY, "inside", "line one"]).assert_absent("encrypted YAML", &enc);
    let m = data(&d);
    assert_eq!(m["str"], CANARY);
    assert_eq!(m["float"], "2.5");
    assert_eq!(m["date"], "2024-01-02T03:04:05Z");
    assert_eq!(m["list.2.k2"], "v2");
    assert_eq!(m["nothing"], "null");
}

#[test]
fn round_trip_json_dotenv_ini_and_binary() {
    let json = "{\n\t\"a\": \"cnrySopsQ7x2Lm9Vt4\",\n\t\"n\": 1,\n\t\"f\": 0.25,\n\t\"t\": true,\n\t\"z\": null,\n\t\"o\": {\n\t\t\"l\": [\n\t\t\t\"x\",\n\t\t\t2\n\t\t]\n\t}\n}\n";
    let (enc, d) = round_trip(json, Format::Json, &options());
    assert_eq!(raw(&d), json);
    Leaks::new([CANARY]).assert_absent("encrypted JSON", &enc);

    let env =
        "#comment here\nTOKEN=cnrySopsQ7x2Lm9Vt4\nMULTI=a\\nb\nPUBLIC_unencrypted=yes\nEMPTY=\n";
    let (enc, d) = round_trip(env, Format::Dotenv, &options());
    assert_eq!(raw(&d), env);
    assert!(enc.contains("PUBLIC_unencrypted=yes\n") && enc.contains("sops_mac=ENC["));
    Leaks::new([CANARY, "comment here"]).assert_absent("encrypted dotenv", &enc);

    let ini = "; about the db\n[db]\nuser     = admin\npassword = cnrySopsQ7x2Lm9Vt4\n; note\nhost     = h\n\n[app]\nmode = prod\n";
    let (enc, d) = round_trip(ini, Format::Ini, &options());
    assert_eq!(raw(&d), ini);
    assert_eq!(data(&d)["db.password"], CANARY);
    assert!(enc.contains("\n[sops]\n"), "{enc}");
    Leaks::new([CANARY, "about the db"]).assert_absent("encrypted INI", &enc);

    let binary = "\u{0}\u{1}binary cnrySopsQ7x2Lm9Vt4 \u{ff}\n";
    let (enc, d) = round_trip(binary, Format::Binary, &options());
    assert_eq!(raw(&d), binary);
    assert!(enc.starts_with("{\n\t\"data\": \"ENC[AES256_GCM,"), "{enc}");
    Leaks::new([CANARY]).assert_absent("encrypted binary", &enc);
}

#[test]
fn round_trip_with_each_encryption_rule() {
    let plain = "\
data:
    secret: cnrySopsQ7x2Lm9Vt4
meta_public: shown-in-clear
name_enc: cnryHiddenK8p3Zw6Ye
# sops:enc
after_marker: cnryHiddenK8p3Zw6Ye
";
    let cases: Vec<(EncryptOptions, &[&str], &[&str])> = vec![
        (
            EncryptOptions {
                encrypted_regex: Some("^(data|name_enc|after_marker)$".into()),
                ..options()
            },
            &["meta_public: shown-in-clear"],
            &[CANARY, CANARY2],
        ),
        (
            EncryptOptions {
                unencrypted_regex: Some("^meta_".into()),
                ..options()
            },
            &["meta_public: shown-in-clear"],
            &[CANARY, CANARY2],
        ),
        (
            EncryptOptions {
                encrypted_suffix: Some("_enc".into()),
                ..options()
            },
            &["meta_public: shown-in-clear", "secret: cnrySopsQ7x2Lm9Vt4"],
            &[],
        ),
        (
            EncryptOptions {
                mac_only_encrypted: true,
                unencrypted_suffix: Some("_public".into()),
                ..options()
            },
            &["meta_public: shown-in-clear", "mac_only_encrypted: true"],
            &[CANARY, CANARY2],
        ),
        (
            EncryptOptions {
                encrypted_comment_regex: Some("sops:enc".into()),
                ..options()
            },
            &["# sops:enc", "secret: cnrySopsQ7x2Lm9Vt4"],
            &[],
        ),
    ];
    for (opts, clear, hidden) in cases {
        let (enc, d) = round_trip(plain, Format::Yaml, &opts);
        assert_eq!(raw(&d), plain, "{opts:?}");
        for c in clear {
            assert!(
                enc.contains(c),
                "{opts:?}: `{c}` should be in clear:\n{enc}"
            );
        }
        if !hidden.is_empty() {
            Leaks::new(hidden.iter().copied()).assert_absent(&format!("{opts:?}"), &enc);
        }
    }
    // With the comment regex, only what follows the marker is encrypted.
    let (enc, _) = round_trip(
        plain,
        Format::Yaml,
        &EncryptOptions {
            encrypted_comment_regex: Some("sops:enc".into()),
            ..options()
        },
    );
    Leaks::new([CANARY2]).assert_absent(
        "after the marker comment",
        enc.split("name_enc").nth(2).unwrap_or(""),
    );
}

fn ssh_keygen(dir: &Path, kind: &str) -> (PathBuf, String) {
    let keygen = tool("ssh-keygen", "openssh-client");
    let path = dir.join(format!("id_{kind}"));
    let mut cmd = Command::new(keygen);
    cmd.args(["-q", "-N", "", "-C", "test", "-t", kind, "-f"])
        .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

#[test]
fn ssh_ed25519_and_rsa_identities_from_the_variable_and_from_home() {
    let dir = temp_dir();
    for kind in ["ed25519", "rsa"] {
        let (key, public) = ssh_keygen(dir.path(), kind);
        let recipients = [Recipient::parse(&public).unwrap()];
        let enc = sops::encrypt(
            b"k: cnrySopsQ7x2Lm9Vt4\n",
            Format::Yaml,
            &recipients,
            &options(),
        )
        .unwrap();
        let file = dir.path().join(format!("{kind}.enc.yaml"));
        std::fs::write(&file, &enc).unwrap();
        let by_var = KeyEnv::from_vars([("SOPS_AGE_SSH_PRIVATE_KEY_FILE", key.as_os_str())]);
        let d = sops::decrypt_file(&file, None, &by_var).unwrap();
        assert_eq!(data(&d)["k"], CANARY);
        let home = dir.path().join(format!("home-{kind}"));
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::copy(&key, home.join(".ssh").join(format!("id_{kind}"))).unwrap();
        let by_home = KeyEnv::from_vars([("HOME", home.as_os_str())]);
        let d = sops::decrypt_file(&file, None, &by_home).unwrap();
        assert_eq!(data(&d)["k"], CANARY, "{kind} from ~/.ssh");
    }
}

// ---------------------------------------------------------------------------------------------
// Independent implementations

use crate::support::sops::node_sops;

#[test]
fn files_written_by_ssmform_decrypt_with_sops_age() {
    let dir = node_sops();
    let work = temp_dir();
    for (name, plain, kind, expected) in [
        (
            "s.yaml",
            "user: admin\npassword: cnrySopsQ7x2Lm9Vt4\nport: 5432\nratio: 0.5\non: true\nnested:\n    list:\n        - a\n        - b\n",
            "yaml",
            serde_json::json!({"user": "admin", "password": CANARY, "port": 5432, "ratio": 0.5,
                "on": true, "nested": {"list": ["a", "b"]}}),
        ),
        (
            "s.json",
            "{\"a\": \"cnrySopsQ7x2Lm9Vt4\", \"n\": 3, \"l\": [1, \"x\"], \"o\": {\"b\": false}}",
            "json",
            serde_json::json!({"a": CANARY, "n": 3, "l": [1, "x"], "o": {"b": false}}),
        ),
        (
            "s.env",
            "TOKEN=cnrySopsQ7x2Lm9Vt4\nOTHER=value\n",
            "env",
            serde_json::json!({"TOKEN": CANARY, "OTHER": "value"}),
        ),
    ] {
        let src = work.path().join(name);
        std::fs::write(&src, plain).unwrap();
        let out = Ssmform::new(["sops", "encrypt"])
            .path_arg(&src)
            .arg("--age")
            .arg(TEST_RECIPIENT)
            .run();
        out.assert_success().assert_no_leak(&Leaks::new([CANARY]));
        let enc = work.path().join(format!("enc-{name}"));
        std::fs::write(&enc, &out.stdout).unwrap();
        let node = Command::new("node")
            .arg(dir.join("sops_age_decrypt.mjs"))
            .arg(&enc)
            .arg(kind)
            .env("AGE_SECRET_KEY", TEST_KEY)
            .output()
            .expect("node runs (Node.js 18 or newer must be installed)");
        assert!(
            node.status.success(),
            "sops-age failed on {name}:\n{}\n{}",
            String::from_utf8_lossy(&node.stderr),
            out.stdout
        );
        let got: serde_json::Value = serde_json::from_slice(&node.stdout).unwrap();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn debian_age_makes_the_identity_and_unwraps_the_data_key_ssmform_wrapped() {
    let keygen = tool("age-keygen", "age");
    let age = tool("age", "age");
    let dir = temp_dir();
    let keys = dir.path().join("cfg/sops/age/keys.txt");
    std::fs::create_dir_all(keys.parent().unwrap()).unwrap();
    let out = Command::new(&keygen).arg("-o").arg(&keys).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = Command::new(&keygen).arg("-y").arg(&keys).output().unwrap();
    let public = String::from_utf8(public.stdout).unwrap().trim().to_string();
    let enc = sops::encrypt(
        b"password: cnrySopsQ7x2Lm9Vt4\n",
        Format::Yaml,
        &[Recipient::parse(&public).unwrap()],
        &options(),
    )
    .unwrap();
    // ssmform finds the age-keygen file where sops looks by default.
    let env = KeyEnv::from_vars([
        ("HOME", dir.path().as_os_str().to_owned()),
        ("XDG_CONFIG_HOME", dir.path().join("cfg").into_os_string()),
    ]);
    let file = dir.path().join("s.enc.yaml");
    std::fs::write(&file, &enc).unwrap();
    let d = sops::decrypt_file(&file, None, &env).unwrap();
    assert_eq!(data(&d)["password"], CANARY);
    // The reference implementation unwraps the stanza ssmform wrote, and the key it yields
    // decrypts the file.
    let text = String::from_utf8(enc.clone()).unwrap();
    let start = text.find("-----BEGIN AGE ENCRYPTED FILE-----").unwrap();
    let end = text.find("-----END AGE ENCRYPTED FILE-----").unwrap() + 32;
    let armored: String = text[start..end]
        .lines()
        .map(|l| l.trim().to_string() + "\n")
        .collect();
    let stanza = dir.path().join("datakey.age");
    std::fs::write(&stanza, armored).unwrap();
    let key = Command::new(&age)
        .arg("-d")
        .arg("-i")
        .arg(&keys)
        .arg(&stanza)
        .output()
        .unwrap();
    assert!(
        key.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&key.stderr)
    );
    assert_eq!(key.stdout.len(), 32);
    let d = sops::decrypt_with_data_key(&enc, Format::Yaml, "s.enc.yaml", &key.stdout).unwrap();
    assert_eq!(data(&d)["password"], CANARY);
}

// ---------------------------------------------------------------------------------------------
// The command

#[test]
fn encrypt_to_stdout_and_to_a_new_0600_file_that_is_never_overwritten() {
    let work = temp_dir();
    let src = work.path().join("app.env");
    std::fs::write(&src, format!("TOKEN={CANARY}\n")).unwrap();
    let leaks = Leaks::new([CANARY]);
    let out = Ssmform::new(["sops", "encrypt"])
        .path_arg(&src)
        .arg("--age")
        .arg(format!("{TEST_RECIPIENT},{OTHER_RECIPIENT}"))
        .run();
    out.assert_success()
        .assert_no_leak(&leaks)
        .assert_stdout_contains("TOKEN=ENC[AES256_GCM,")
        .assert_stdout_contains(&format!(
            "sops_age__list_1__map_recipient={OTHER_RECIPIENT}"
        ));
    let dest = work.path().join("app.enc.env");
    Ssmform::new(["sops", "encrypt", "--input-type", "dotenv", "--output"])
        .path_arg(&dest)
        .path_arg(&src)
        .arg("--age")
        .arg(TEST_RECIPIENT)
        .run()
        .assert_success()
        .assert_stdout_eq("")
        .assert_no_leak(&leaks);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let written = std::fs::read(&dest).unwrap();
    leaks.assert_absent("the written file", &written);
    let d = sops::decrypt(&written, Format::Dotenv, "w", &test_identities()).unwrap();
    assert_eq!(data(&d)["TOKEN"], CANARY);
    Ssmform::new(["sops", "encrypt", "--output"])
        .path_arg(&dest)
        .path_arg(&src)
        .arg("--age")
        .arg(TEST_RECIPIENT)
        .run()
        .assert_exit(1)
        .assert_stderr_contains("already exists; refusing to overwrite it")
        .assert_no_leak(&leaks);
    assert_eq!(std::fs::read(&dest).unwrap(), written, "left untouched");
}

#[test]
fn encrypt_takes_recipients_and_rules_from_the_nearest_sops_yaml() {
    let work = temp_dir();
    std::fs::write(
        work.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: >-\n      {TEST_RECIPIENT},\n      {OTHER_RECIPIENT}\n  - path_regex: \\.json$\n    pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n"
        ),
    )
    .unwrap();
    let deep = work.path().join("secrets/prod");
    std::fs::create_dir_all(&deep).unwrap();
    let src = deep.join("db.yaml");
    std::fs::write(
        &src,
        format!("kind: Secret\nstringData:\n    password: {CANARY}\n"),
    )
    .unwrap();
    let out = Ssmform::new(["sops", "encrypt"]).path_arg(&src).run();
    out.assert_success()
        .assert_no_leak(&Leaks::new([CANARY]))
        .assert_stdout_contains("kind: Secret\n")
        .assert_stdout_contains("encrypted_regex: ^(data|stringData)$")
        .assert_stdout_contains(OTHER_RECIPIENT);
    let d = sops::decrypt(out.stdout.as_bytes(), Format::Yaml, "x", &test_identities()).unwrap();
    assert_eq!(data(&d)["stringData.password"], CANARY);
    // A rule that asks for PGP is not silently narrowed to age.
    let json = work.path().join("x.json");
    std::fs::write(&json, format!("{{\"a\": \"{CANARY}\"}}")).unwrap();
    Ssmform::new(["sops", "encrypt"])
        .path_arg(&json)
        .run()
        .assert_exit(1)
        .assert_stderr_contains(
            "creation rule 2 names pgp keys; ssmform can only encrypt for age recipients",
        )
        .assert_no_leak(&Leaks::new([CANARY]));
    // Outside any .sops.yaml and without --age there is nobody to encrypt for.
    let lone = temp_dir();
    let f = lone.path().join("a.yaml");
    std::fs::write(&f, "a: 1\n").unwrap();
    Ssmform::new(["sops", "encrypt"])
        .path_arg(&f)
        .run()
        .assert_exit(1)
        .assert_stderr_contains("no age recipients for")
        .assert_stderr_contains("pass --age RECIPIENT");
}

#[test]
fn encrypt_errors_exit_1_with_the_place_and_no_plaintext() {
    let work = temp_dir();
    let leaks = Leaks::new([CANARY]);
    let bad_yaml = work.path().join("bad.yaml");
    std::fs::write(&bad_yaml, format!("ok: {CANARY}\nok: again {CANARY}\n")).unwrap();
    Ssmform::new(["sops", "encrypt", "--age", TEST_RECIPIENT])
        .path_arg(&bad_yaml)
        .run()
        .assert_exit(1)
        .assert_stderr_contains("bad.yaml:2:1: mapping key `ok` already defined")
        .assert_no_leak(&leaks);
    let bad_json = work.path().join("bad.json");
    std::fs::write(
        &bad_json,
        format!("{{\n  \"a\": \"{CANARY}\",\n  \"b\": nope\n}}"),
    )
    .unwrap();
    Ssmform::new(["sops", "encrypt", "--age", TEST_RECIPIENT])
        .path_arg(&bad_json)
        .run()
        .assert_exit(1)
        .assert_stderr_contains("bad.json:3:8: invalid JSON literal")
        .assert_no_leak(&leaks);
    Ssmform::new(["sops", "encrypt", "--age", "age1notarecipient"])
        .path_arg(&bad_json)
        .run()
        .assert_exit(1)
        .assert_stderr_contains("invalid age recipient `age1notarecipient`");
    Ssmform::new(["sops", "encrypt", "--age", TEST_RECIPIENT])
        .path_arg(work.path().join("missing.yaml"))
        .run()
        .assert_exit(1)
        .assert_stderr_contains("missing.yaml: cannot read");
    let encrypted = work.path().join("twice.yaml");
    std::fs::write(
        &encrypted,
        sops::encrypt(
            b"a: b\n",
            Format::Yaml,
            &[Recipient::parse(TEST_RECIPIENT).unwrap()],
            &options(),
        )
        .unwrap(),
    )
    .unwrap();
    Ssmform::new(["sops", "encrypt", "--age", TEST_RECIPIENT])
        .path_arg(&encrypted)
        .run()
        .assert_exit(1)
        .assert_stderr_contains("already encrypted");
    Ssmform::new(["sops", "encrypt", "--help"])
        .run()
        .assert_success()
        .assert_stdout_contains("--input-type <TYPE>")
        .assert_stdout_contains("--output <FILE>")
        .assert_stdout_contains("--age <RECIPIENT>");
}

// ---------------------------------------------------------------------------------------------
// Errors of reading

/// A YAML SOPS file holding the canaries, for the test key.
fn canary_file() -> String {
    let plain = format!("first: {CANARY}\nsecond: {CANARY2}\npublic_unencrypted: x\n");
    let enc = sops::encrypt(
        plain.as_bytes(),
        Format::Yaml,
        &[Recipient::parse(TEST_RECIPIENT).unwrap()],
        &options(),
    )
    .unwrap();
    String::from_utf8(enc).unwrap()
}

#[track_caller]
fn expect_error(r: Result<Decrypted, SopsError>, want: &[&str]) -> String {
    let e = match r {
        Ok(_) => panic!("expected an error containing {want:?}"),
        Err(e) => e,
    };
    let msg = e.to_string();
    for w in want {
        assert!(msg.contains(w), "`{w}` not in: {msg}");
    }
    let leaks = Leaks::new([CANARY, CANARY2, TEST_KEY]);
    leaks.assert_absent("error message", &msg);
    leaks.assert_absent("error Debug", format!("{e:?}"));
    msg
}

fn decrypt_text(text: &str) -> Result<Decrypted, SopsError> {
    sops::decrypt(
        text.as_bytes(),
        Format::Yaml,
        "f.enc.yaml",
        &test_identities(),
    )
}

#[test]
fn a_file_without_sops_metadata_is_not_a_sops_file() {
    expect_error(
        decrypt_text(&format!("a: {CANARY}\n")),
        &["f.enc.yaml: not a SOPS file: it has no `sops` metadata (no top-level `sops` key)"],
    );
    let env = sops::decrypt(b"A=1\n", Format::Dotenv, "x.env", &test_identities());
    expect_error(env, &["x.env: not a SOPS file", "no `sops_` keys"]);
}

#[test]
fn tampered_values_macs_and_lastmodified_are_refused_before_any_value_is_returned() {
    let file = canary_file();
    // Swap the two encrypted values: each fails its GCM tag (the key path is authenticated).
    let lines: Vec<&str> = file.lines().collect();
    let first = lines[0].split_once(": ").unwrap().1;
    let second = lines[1].split_once(": ").unwrap().1;
    let swapped = file
        .replacen(first, "@@", 1)
        .replacen(second, first, 1)
        .replacen("@@", second, 1);
    expect_error(
        decrypt_text(&swapped),
        &["f.enc.yaml:1:8: the encrypted value of key `first` was tampered with"],
    );
    // Change a value left in clear: every value decrypts, the MAC does not match.
    let changed = file.replace("public_unencrypted: x", "public_unencrypted: y");
    expect_error(decrypt_text(&changed), &["f.enc.yaml: MAC mismatch"]);
    // Remove a value: the MAC does not match either.
    let removed = file.replacen(lines[1], "", 1);
    expect_error(decrypt_text(&removed), &["MAC mismatch"]);
    // Change lastmodified: the MAC's own GCM tag fails.
    let lm = file.lines().find(|l| l.contains("lastmodified:")).unwrap();
    let moved = file.replace(lm, "    lastmodified: \"2001-01-01T00:00:00Z\"");
    expect_error(
        decrypt_text(&moved),
        &["f.enc.yaml: the MAC cannot be decrypted"],
    );
}

#[test]
fn no_matching_key_lists_the_recipients_and_where_keys_were_looked_for() {
    let d = temp_dir();
    let file = fixture("flux/age.yaml");
    let env = KeyEnv::from_vars([
        ("HOME", d.path().as_os_str().to_owned()),
        ("SOPS_AGE_KEY", TEST_KEY.into()),
    ]);
    let msg = expect_error(
        sops::decrypt_file(&file, None, &env),
        &[
            "no age identity matches the file's recipients (1 tried)",
            &format!("age {OTHER_RECIPIENT}"),
            "SOPS_AGE_KEY (1 identity)",
            "SOPS_AGE_KEY_FILE (not set)",
            "SOPS_AGE_SSH_PRIVATE_KEY_FILE (not set)",
            ".ssh/id_ed25519 (not found)",
            ".config/sops/age/keys.txt (not found)",
        ],
    );
    assert!(!msg.contains(TEST_RECIPIENT), "{msg}");
}

#[test]
fn a_key_file_that_cannot_be_read_or_parsed_is_named_with_the_reason() {
    let d = temp_dir();
    let missing = d.path().join("nope.txt");
    expect_error(
        sops::decrypt_file(&fixture("flux/age.yaml"), None, &key_env(&missing)),
        &[
            "cannot read the age key file",
            "nope.txt: No such file or directory",
        ],
    );
    let garbled = d.path().join("keys.txt");
    std::fs::write(&garbled, format!("# comment\n{TEST_KEY}x\n")).unwrap();
    expect_error(
        sops::decrypt_file(&fixture("flux/age.yaml"), None, &key_env(&garbled)),
        &["keys.txt: line 2: malformed age identity"],
    );
    let ssh = d.path().join("id_x");
    std::fs::write(&ssh, "not a key").unwrap();
    let env = KeyEnv::from_vars([("SOPS_AGE_SSH_PRIVATE_KEY_FILE", ssh.as_os_str())]);
    expect_error(
        sops::decrypt_file(&fixture("flux/age.yaml"), None, &env),
        &[
            "cannot read the age key file",
            "id_x: not an SSH private key",
        ],
    );
}

#[test]
fn a_malformed_encrypted_value_is_reported_at_its_line_and_column() {
    let file = canary_file();
    let line = file.lines().nth(1).unwrap();
    let broken = file.replace(
        line,
        "second: ENC[AES256_GCM,data:@@@,iv:AAAA,tag:AAAA,type:str]",
    );
    expect_error(
        decrypt_text(&broken),
        &["f.enc.yaml:2:9: malformed encrypted value of key `second`: its data is not base64"],
    );
    let not_enc = file.replace(line, "second: plain-text-here");
    expect_error(
        decrypt_text(&not_enc),
        &["f.enc.yaml:2:9: malformed encrypted value of key `second`: it does not match ENC["],
    );
    let unknown = file.replace("type:str]", "type:weird]");
    expect_error(decrypt_text(&unknown), &["unknown type `weird`"]);
}

#[test]
fn several_key_groups_are_refused_with_the_threshold() {
    use ssmform::sops::{Branch, Node, stores::yaml};
    let file = canary_file();
    let mut doc = yaml::parse(file.as_bytes(), "f").unwrap();
    let root = &mut doc.branches[0];
    let Some(Node::Map(mut md)) = root.remove("sops") else {
        panic!("no metadata")
    };
    let age = md.remove("age").unwrap();
    let group = |age: &Node| {
        let mut g = Branch::new();
        g.push("age", age.clone());
        Node::Map(g)
    };
    md.push("key_groups", Node::List(vec![group(&age), group(&age)]));
    md.push("shamir_threshold", Node::string("2"));
    root.push("sops", Node::Map(md));
    let two = String::from_utf8(yaml::emit(&doc).to_vec()).unwrap();
    expect_error(
        decrypt_text(&two),
        &[
            "f.enc.yaml: uses 2 key groups with shamir_threshold 2",
            "single key group",
        ],
    );
}

#[test]
fn a_file_wrapped_only_for_pgp_names_what_it_found_and_what_is_supported() {
    let d = temp_dir();
    expect_error(
        sops::decrypt_file(
            &fixture("sops-nix/secrets.ini"),
            None,
            &key_env(&d.path().join("k")),
        ),
        &[
            "secrets.ini: its data key is wrapped only for PGP (2), which ssmform cannot use",
            "supported: age",
        ],
    );
    // A file with age and PGP recipients decrypts with the age identity (see sops-nix above);
    // without a matching identity, the message also lists the PGP recipients.
    let env = KeyEnv::from_vars([("SOPS_AGE_KEY", TEST_KEY)]);
    expect_error(
        sops::decrypt_file(&fixture("sops-nix/secrets.yaml"), None, &env),
        &["pgp (2) (not supported by ssmform)"],
    );
}
