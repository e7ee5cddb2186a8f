//! SOPS helpers: the published test key the SOPS tests use, SOPS files encrypted to it in
//! memory, and `sops-age` (Node, an implementation independent of ssmform) to decrypt what
//! ssmform writes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ssmform::sops::{self, EncryptOptions, Format, Recipient};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The published test key of humphd/sops-age (`tests/fixtures/sops/humphd-sops-age/key.txt`).
pub const TEST_KEY: &str =
    "AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P";
pub const TEST_RECIPIENT: &str = "age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr";
/// Another published test recipient (fluxcd/kustomize-controller), whose key the tests do not
/// hold.
pub const OTHER_RECIPIENT: &str = "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29";

/// `plaintext` of `format` encrypted to `recipient` (default rules: every value encrypted).
pub fn encrypt_to(plaintext: &str, format: Format, recipient: &str) -> Vec<u8> {
    sops::encrypt(
        plaintext.as_bytes(),
        format,
        &[Recipient::parse(recipient).expect("a valid recipient")],
        &EncryptOptions::default(),
    )
    .expect("encrypts")
}

/// `target/node-sops`, installed once per test process by `tests/node/setup.sh`.
pub fn node_sops() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = DIR.get_or_init(|| {
        let out = Command::new("bash")
            .arg(Path::new(ROOT).join("tests/node/setup.sh"))
            .output()
            .map_err(|e| format!("cannot run tests/node/setup.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tests/node/setup.sh failed ({}); these tests need Node.js with npm and the \
                 npm registry once, to install sops-age: run `bash tests/node/setup.sh`\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(Path::new(ROOT).join("target/node-sops"))
    });
    match r {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// What `sops-age` decrypts `file` (`yaml`, `json` or `env`) to with `key`, as JSON.
pub fn sops_age_decrypt(file: &Path, kind: &str, key: &str) -> serde_json::Value {
    let node = Command::new("node")
        .arg(node_sops().join("sops_age_decrypt.mjs"))
        .arg(file)
        .arg(kind)
        .env("AGE_SECRET_KEY", key)
        .output()
        .expect("node runs (Node.js 18 or newer must be installed)");
    assert!(
        node.status.success(),
        "sops-age failed on {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&node.stderr),
    );
    serde_json::from_slice(&node.stdout).expect("sops-age prints JSON")
}
