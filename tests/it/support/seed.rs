//! Live state for a test, written into an emulator in one go.
//!
//! ```ignore
//! Seed::new()
//!     .secret("app-a", "v1", "old-a")
//!     .binary("app-b", "v1", &[0, 1, 2])
//!     .version("app-a", "v2", "newer")
//!     .disabled("app-b")
//!     .write(&emu)
//!     .await;
//! seed_secrets(&emu, &[("x", "v1", "1"), ("y", "v1", "2")]).await;
//! ```
//!
//! [`Seed::write`] goes through the emulator's API, so it obeys the emulator's rules (a secret
//! must be Disabled before deletion...) and shows in its traffic figures; [`Seed::write_store`]
//! fills a store file through a separate emulator without rate limits, which leaves no traffic in
//! the figures of the emulator the test then starts on that store.

use std::path::Path;

use base64::Engine;
use serde_json::json;
use ssmform::emulator::{EmulatorConfig, RateLimits};

use super::emulator::{Api, TestEmulator};

#[derive(Clone, Debug)]
enum Content {
    String(String),
    Binary(Vec<u8>),
}

impl Content {
    fn field(&self) -> (&'static str, String) {
        match self {
            Content::String(s) => ("SecretString", s.clone()),
            Content::Binary(b) => (
                "SecretBinary",
                base64::engine::general_purpose::STANDARD.encode(b),
            ),
        }
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// `CreateSecret` with a first version.
    Create {
        name: String,
        version: String,
        content: Content,
    },
    /// `PutSecretValue`: another version of an existing secret.
    Put {
        name: String,
        version: String,
        content: Content,
    },
    /// `UpdateDescription`.
    Describe { name: String, description: String },
    /// `DisableSecret`.
    Disable(String),
    /// `DisableSecret`, then `DeleteSecret` with a 7-day recovery window (PendingDelete).
    ScheduleDeletion(String),
}

/// Secrets, versions and states to put into an emulator, in order.
#[derive(Clone, Debug, Default)]
pub struct Seed {
    steps: Vec<Step>,
}

impl Seed {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new secret whose first version `version` holds the string `value`.
    pub fn secret(
        mut self,
        name: impl Into<String>,
        version: &str,
        value: impl Into<String>,
    ) -> Self {
        self.steps.push(Step::Create {
            name: name.into(),
            version: version.into(),
            content: Content::String(value.into()),
        });
        self
    }

    /// A new secret whose first version `version` holds the bytes `value`.
    pub fn binary(mut self, name: impl Into<String>, version: &str, value: &[u8]) -> Self {
        self.steps.push(Step::Create {
            name: name.into(),
            version: version.into(),
            content: Content::Binary(value.to_vec()),
        });
        self
    }

    /// Many new secrets: `(name, version, string value)` each.
    pub fn secrets<N, V, X>(mut self, secrets: impl IntoIterator<Item = (N, V, X)>) -> Self
    where
        N: Into<String>,
        V: AsRef<str>,
        X: Into<String>,
    {
        for (name, version, value) in secrets {
            self = self.secret(name, version.as_ref(), value);
        }
        self
    }

    /// Another version of a secret made earlier, holding the string `value`.
    pub fn version(
        mut self,
        name: impl Into<String>,
        version: &str,
        value: impl Into<String>,
    ) -> Self {
        self.steps.push(Step::Put {
            name: name.into(),
            version: version.into(),
            content: Content::String(value.into()),
        });
        self
    }

    /// Record on a secret made earlier that ssmform wrote `value` to `version` from a
    /// `sensitive = false` block (the marker in its description that lets plans show the live
    /// side of its diff), as `apply` does.
    pub fn shown(mut self, name: impl Into<String>, version: &str, value: &str) -> Self {
        let content = ssmform::secret::SecretContent::String(
            ssmform::secret::SecretValue::from_string(value.to_string()),
        );
        let description =
            ssmform::plan::marker::with_entry("", version, &content).expect("the marker fits");
        self.steps.push(Step::Describe {
            name: name.into(),
            description,
        });
        self
    }

    /// Set the description of a secret made earlier.
    pub fn described(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.steps.push(Step::Describe {
            name: name.into(),
            description: description.into(),
        });
        self
    }

    /// Disable a secret made earlier.
    pub fn disabled(mut self, name: impl Into<String>) -> Self {
        self.steps.push(Step::Disable(name.into()));
        self
    }

    /// Schedule a secret made earlier for deletion (Disabled first, as SSM requires): it becomes
    /// PendingDelete.
    pub fn pending_delete(mut self, name: impl Into<String>) -> Self {
        self.steps.push(Step::ScheduleDeletion(name.into()));
        self
    }

    /// Write everything through `emu`'s API; any refusal fails the test.
    pub async fn write(&self, emu: &TestEmulator) {
        self.write_api(&emu.api()).await;
    }

    /// Write everything through `api`.
    pub async fn write_api(&self, api: &Api) {
        for step in &self.steps {
            match step {
                Step::Create {
                    name,
                    version,
                    content,
                } => {
                    api.ok("CreateSecret", body(name, version, content)).await;
                }
                Step::Put {
                    name,
                    version,
                    content,
                } => {
                    api.ok("PutSecretValue", body(name, version, content)).await;
                }
                Step::Describe { name, description } => {
                    api.ok(
                        "UpdateDescription",
                        json!({"SecretName": name, "Description": description}),
                    )
                    .await;
                }
                Step::Disable(name) => {
                    api.ok("DisableSecret", json!({"SecretName": name})).await;
                }
                Step::ScheduleDeletion(name) => {
                    api.ok("DisableSecret", json!({"SecretName": name})).await;
                    api.ok(
                        "DeleteSecret",
                        json!({"SecretName": name, "RecoveryWindowInDays": 7}),
                    )
                    .await;
                }
            }
        }
    }

    /// Write everything into the SQLite store `db` (created if missing), through an emulator of
    /// its own without rate limits, stopped before this returns.
    pub async fn write_store(&self, db: &Path) {
        let emu = TestEmulator::with(EmulatorConfig {
            db: Some(db.to_path_buf()),
            rate_limits: RateLimits::Off,
            ..EmulatorConfig::default()
        });
        self.write(&emu).await;
        emu.stop();
    }
}

/// The body of a `CreateSecret` or `PutSecretValue` request.
fn body(name: &str, version: &str, content: &Content) -> serde_json::Value {
    let (field, value) = content.field();
    let mut body = json!({"SecretName": name, "VersionId": version});
    body[field] = value.into();
    body
}

/// Create each `(name, version, string value)` in `emu`, in order.
pub async fn seed_secrets(emu: &TestEmulator, secrets: &[(&str, &str, &str)]) {
    Seed::new()
        .secrets(secrets.iter().copied())
        .write(emu)
        .await;
}
