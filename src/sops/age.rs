//! age: recipients to wrap a file's data key for, identities to unwrap it, and where identities
//! are found — in the order sops' `age/keysource.go` looks:
//!
//! 1. `SOPS_AGE_SSH_PRIVATE_KEY_FILE`: an SSH private key (ed25519 or RSA);
//! 2. `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`, when they exist;
//! 3. `SOPS_AGE_KEY`: identities in the variable itself (several per line allowed);
//! 4. `SOPS_AGE_KEY_FILE`: an identities file (one `AGE-SECRET-KEY-1…` per line, `#` comments);
//! 5. `$XDG_CONFIG_HOME/sops/age/keys.txt`, by default `~/.config/sops/age/keys.txt`
//!    (`~/Library/Application Support/sops/age/keys.txt` on macOS unless `XDG_CONFIG_HOME` is set).
//!
//! Every source that is present is loaded, and the data key is unwrapped with whichever
//! identity fits. A source named by a variable that cannot be read or parsed is an error; a
//! default SSH key that cannot be used (passphrase-protected, unsupported type) is skipped with
//! a note. Not supported: `SOPS_AGE_KEY_CMD` and `SOPS_AGE_SSH_PRIVATE_KEY_CMD` (ssmform runs no
//! key commands), passphrase-protected identity files and SSH keys (nothing can prompt), age
//! plugins (`AGE-PLUGIN-…`, `age1…1…` recipients) and post-quantum hybrid keys
//! (`AGE-SECRET-KEY-PQ-1…`, `age1pq1…`), which the age crate does not implement.
//!
//! The environment is read through a [`KeyEnv`], so tests and callers decide what it holds.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::{Zeroize, Zeroizing};

use super::cipher::DataKey;
use super::error::SopsError;
use super::metadata::AgeStanza;

pub const SOPS_AGE_KEY: &str = "SOPS_AGE_KEY";
pub const SOPS_AGE_KEY_FILE: &str = "SOPS_AGE_KEY_FILE";
pub const SOPS_AGE_KEY_CMD: &str = "SOPS_AGE_KEY_CMD";
pub const SOPS_AGE_SSH_PRIVATE_KEY_FILE: &str = "SOPS_AGE_SSH_PRIVATE_KEY_FILE";
pub const SOPS_AGE_SSH_PRIVATE_KEY_CMD: &str = "SOPS_AGE_SSH_PRIVATE_KEY_CMD";
/// Identity files larger than this are refused (sops' limit for encrypted identity files).
const KEY_FILE_LIMIT: u64 = 1 << 24;

type Lookup = dyn Fn(&str) -> Option<OsString> + Send + Sync;

/// The environment identities are looked up in: variable lookups and the platform convention.
pub struct KeyEnv {
    lookup: Box<Lookup>,
    macos: bool,
}

impl std::fmt::Debug for KeyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyEnv {{ macos: {} }}", self.macos)
    }
}

impl KeyEnv {
    /// The process environment, on this platform.
    pub fn process() -> Self {
        KeyEnv {
            lookup: Box::new(|k: &str| std::env::var_os(k)),
            macos: cfg!(target_os = "macos"),
        }
    }

    /// Exactly these variables (nothing else is set), with the Linux conventions.
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        let map: std::collections::BTreeMap<String, OsString> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        KeyEnv {
            lookup: Box::new(move |k| map.get(k).cloned()),
            macos: false,
        }
    }

    /// Any lookup function (e.g. a test's view of the environment).
    pub fn from_fn(lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static) -> Self {
        KeyEnv {
            lookup: Box::new(lookup),
            macos: false,
        }
    }

    /// Use macOS' default configuration directory.
    pub fn macos(mut self, yes: bool) -> Self {
        self.macos = yes;
        self
    }

    fn var(&self, name: &str) -> Option<OsString> {
        (self.lookup)(name)
    }

    fn home(&self) -> Option<PathBuf> {
        self.var("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    }

    /// Go's `os.UserConfigDir` as sops uses it, or why there is none.
    fn user_config_dir(&self) -> Result<PathBuf, String> {
        if let Some(x) = self.var("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            let p = PathBuf::from(x);
            if !self.macos && !p.is_absolute() {
                return Err("$XDG_CONFIG_HOME is a relative path".into());
            }
            return Ok(p);
        }
        let home = self
            .home()
            .ok_or("neither $XDG_CONFIG_HOME nor $HOME is set")?;
        Ok(if self.macos {
            home.join("Library/Application Support")
        } else {
            home.join(".config")
        })
    }
}

/// Loaded identities, and a record of where they were looked for. `Debug` shows counts only.
pub struct Identities {
    ids: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// One line per place looked at, with what was found there.
    pub searched: Vec<String>,
    /// Sources that were present but not used, and why.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} loaded)", self.ids.len())
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let fail = |reason: String| SopsError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut buf = Zeroizing::new(Vec::new());
    file.take(KEY_FILE_LIMIT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| fail(e.to_string()))?;
    if buf.len() as u64 > KEY_FILE_LIMIT {
        return Err(fail("larger than 16 MiB".into()));
    }
    Ok(buf)
}

/// Parse one identity (`AGE-SECRET-KEY-1…`).
fn parse_identity(word: &str) -> Result<age::x25519::Identity, String> {
    if word.starts_with("AGE-SECRET-KEY-PQ-1") {
        return Err("post-quantum hybrid age identities are not supported".into());
    }
    if word.starts_with("AGE-PLUGIN-") {
        return Err("age plugin identities are not supported".into());
    }
    if !word.starts_with("AGE-SECRET-KEY-1") {
        return Err("not an age identity (expected AGE-SECRET-KEY-1…)".into());
    }
    age::x25519::Identity::from_str(word).map_err(|_| "malformed age identity".to_string())
}

/// Identities from text: one per line, or (for `SOPS_AGE_KEY`) several per line separated by
/// whitespace; empty lines and `#` lines skipped. Errors name the line, never its content.
pub fn parse_identities(
    text: &[u8],
    location: &str,
    many_per_line: bool,
) -> Result<Vec<age::x25519::Identity>, SopsError> {
    if text.starts_with(b"age-encryption") || text.starts_with(b"-----BEGIN AGE") {
        return Err(SopsError::BadIdentity {
            location: location.to_string(),
            line: 1,
            reason: "a passphrase-protected identity file is not supported (nothing can prompt \
                     for the passphrase); decrypt it to a file readable only by you"
                .into(),
        });
    }
    let text = std::str::from_utf8(text).map_err(|_| SopsError::BadIdentity {
        location: location.to_string(),
        line: 1,
        reason: "not UTF-8 text".into(),
    })?;
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = if many_per_line {
            line.split_whitespace().collect()
        } else {
            vec![line]
        };
        for w in words {
            let id = parse_identity(w).map_err(|reason| SopsError::BadIdentity {
                location: location.to_string(),
                line: n + 1,
                reason,
            })?;
            out.push(id);
        }
    }
    Ok(out)
}

enum SshKey {
    Usable(age::ssh::Identity),
    Unusable(String),
}

fn parse_ssh_key(bytes: &[u8], path: &Path) -> Result<SshKey, String> {
    let id = age::ssh::Identity::from_buffer(bytes, Some(path.display().to_string()))
        .map_err(|_| "not an SSH private key ssmform can read (ed25519 or RSA)".to_string())?;
    Ok(match id {
        age::ssh::Identity::Unencrypted(_) => SshKey::Usable(id),
        age::ssh::Identity::Encrypted(_) => SshKey::Unusable(
            "passphrase-protected SSH keys are not supported (nothing can prompt)".into(),
        ),
        age::ssh::Identity::Unsupported(_) => {
            SshKey::Unusable("this SSH key type is not supported by age".into())
        }
    })
}

impl Identities {
    /// No identities at all.
    pub fn none() -> Self {
        Identities {
            ids: Vec::new(),
            searched: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Identities from the text of an identities file (for callers that hold one in memory).
    pub fn from_text(text: &[u8], location: &str) -> Result<Self, SopsError> {
        let ids = parse_identities(text, location, false)?;
        let mut me = Identities::none();
        me.searched
            .push(format!("{location} ({})", plural(ids.len(), "identity")));
        me.ids.extend(ids.into_iter().map(|i| Box::new(i) as _));
        Ok(me)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Look for identities as sops does (see the module documentation).
    pub fn load(env: &KeyEnv) -> Result<Self, SopsError> {
        let mut me = Identities::none();
        // SSH keys first, as sops does.
        match env
            .var(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
            .filter(|v| !v.is_empty())
        {
            Some(p) => {
                let path = PathBuf::from(p);
                let bytes = read_key_file(&path)?;
                match parse_ssh_key(&bytes, &path) {
                    Ok(SshKey::Usable(id)) => {
                        me.ids.push(Box::new(id));
                        me.searched.push(format!(
                            "{SOPS_AGE_SSH_PRIVATE_KEY_FILE}={} (1 SSH key)",
                            path.display()
                        ));
                    }
                    Ok(SshKey::Unusable(reason)) | Err(reason) => {
                        return Err(SopsError::KeyFile {
                            path: path.display().to_string(),
                            reason,
                        });
                    }
                }
            }
            None => me
                .searched
                .push(format!("{SOPS_AGE_SSH_PRIVATE_KEY_FILE} (not set)")),
        }
        if env.var(SOPS_AGE_SSH_PRIVATE_KEY_CMD).is_some() {
            me.notes.push(format!(
                "{SOPS_AGE_SSH_PRIVATE_KEY_CMD} is set, but ssmform does not run key commands"
            ));
        }
        match env.home() {
            Some(home) => {
                for name in ["id_ed25519", "id_rsa"] {
                    let path = home.join(".ssh").join(name);
                    if !path.exists() {
                        me.searched.push(format!("{} (not found)", path.display()));
                        continue;
                    }
                    match read_key_file(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|b| parse_ssh_key(&b, &path))
                    {
                        Ok(SshKey::Usable(id)) => {
                            me.ids.push(Box::new(id));
                            me.searched.push(format!("{} (1 SSH key)", path.display()));
                        }
                        Ok(SshKey::Unusable(reason)) | Err(reason) => {
                            me.searched.push(format!("{} (skipped)", path.display()));
                            me.notes
                                .push(format!("{} skipped: {reason}", path.display()));
                        }
                    }
                }
            }
            None => me
                .notes
                .push("$HOME is not set: no default SSH keys".into()),
        }
        match env.var(SOPS_AGE_KEY) {
            Some(v) => {
                let mut text = v.into_encoded_bytes();
                let ids = parse_identities(&text, SOPS_AGE_KEY, true);
                text.zeroize();
                let ids = ids?;
                me.searched.push(format!(
                    "{SOPS_AGE_KEY} ({})",
                    plural(ids.len(), "identity")
                ));
                me.ids.extend(ids.into_iter().map(|i| Box::new(i) as _));
            }
            None => me.searched.push(format!("{SOPS_AGE_KEY} (not set)")),
        }
        match env.var(SOPS_AGE_KEY_FILE) {
            Some(p) => {
                let path = PathBuf::from(p);
                let text = read_key_file(&path)?;
                let location = path.display().to_string();
                let ids = parse_identities(&text, &location, false)?;
                me.searched.push(format!(
                    "{SOPS_AGE_KEY_FILE}={location} ({})",
                    plural(ids.len(), "identity")
                ));
                me.ids.extend(ids.into_iter().map(|i| Box::new(i) as _));
            }
            None => me.searched.push(format!("{SOPS_AGE_KEY_FILE} (not set)")),
        }
        if env.var(SOPS_AGE_KEY_CMD).is_some() {
            me.notes.push(format!(
                "{SOPS_AGE_KEY_CMD} is set, but ssmform does not run key commands"
            ));
        }
        match env.user_config_dir() {
            Ok(dir) => {
                let path = dir.join("sops/age/keys.txt");
                match std::fs::metadata(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        me.searched.push(format!("{} (not found)", path.display()));
                    }
                    _ => {
                        let text = read_key_file(&path)?;
                        let location = path.display().to_string();
                        let ids = parse_identities(&text, &location, false)?;
                        me.searched
                            .push(format!("{location} ({})", plural(ids.len(), "identity")));
                        me.ids.extend(ids.into_iter().map(|i| Box::new(i) as _));
                    }
                }
            }
            Err(why) => me
                .notes
                .push(format!("no user configuration directory: {why}")),
        }
        Ok(me)
    }

    /// Unwrap the data key from the first stanza an identity fits.
    pub(crate) fn unwrap_data_key(&self, stanzas: &[AgeStanza]) -> Option<DataKey> {
        if self.ids.is_empty() {
            return None;
        }
        for s in stanzas {
            let armored = age::armor::ArmoredReader::new(s.enc.as_bytes());
            let Ok(decryptor) = age::Decryptor::new(armored) else {
                continue;
            };
            let ids = self.ids.iter().map(|i| i.as_ref() as &dyn age::Identity);
            let Ok(mut reader) = decryptor.decrypt(ids) else {
                continue;
            };
            let mut key = Zeroizing::new(Vec::with_capacity(32));
            if reader.read_to_end(&mut key).is_ok()
                && let Some(k) = DataKey::from_bytes(&key)
            {
                return Some(k);
            }
        }
        None
    }
}

/// An age recipient a data key can be wrapped for.
#[derive(Clone)]
pub struct Recipient {
    text: String,
    kind: RecipientKind,
}

#[derive(Clone)]
enum RecipientKind {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient({})", self.text)
    }
}

impl Recipient {
    /// Parse an `age1…` X25519 recipient or an `ssh-ed25519`/`ssh-rsa` public key line.
    pub fn parse(s: &str) -> Result<Self, SopsError> {
        let text = s.trim().to_string();
        let bad = |reason: &str| SopsError::BadRecipient {
            recipient: text.clone(),
            reason: reason.to_string(),
        };
        let kind =
            if text.starts_with("age1pq1") {
                return Err(bad("post-quantum hybrid recipients are not supported"));
            } else if text.starts_with("age1") && text.matches('1').count() > 1 && text.len() > 62 {
                return Err(bad("age plugin recipients are not supported"));
            } else if text.starts_with("age1") {
                RecipientKind::X25519(
                    age::x25519::Recipient::from_str(&text)
                        .map_err(|_| bad("not a valid Bech32 age X25519 recipient"))?,
                )
            } else if text.starts_with("ssh-") {
                RecipientKind::Ssh(age::ssh::Recipient::from_str(&text).map_err(|_| {
                    bad("not an SSH public key age supports (ssh-ed25519, ssh-rsa)")
                })?)
            } else {
                return Err(bad("unknown recipient type (expected age1… or ssh-…)"));
            };
        Ok(Recipient { text, kind })
    }

    /// Several recipients separated by commas, as `--age a,b` and `.sops.yaml` allow.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, SopsError> {
        s.split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(Recipient::parse)
            .collect()
    }

    /// The recipient as written in the file's metadata.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The data key wrapped for this recipient: an ASCII-armored age file, as sops writes it.
    pub(crate) fn wrap(&self, key: &DataKey) -> Result<String, SopsError> {
        let fail = |e: &dyn std::fmt::Display| SopsError::BadRecipient {
            recipient: self.text.clone(),
            reason: format!("cannot wrap the data key: {e}"),
        };
        let recipient: &dyn age::Recipient = match &self.kind {
            RecipientKind::X25519(r) => r,
            RecipientKind::Ssh(r) => r,
        };
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(recipient)).map_err(|e| fail(&e))?;
        let armored =
            age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor)
                .map_err(|e| fail(&e))?;
        let mut w = encryptor.wrap_output(armored).map_err(|e| fail(&e))?;
        w.write_all(key.expose()).map_err(|e| fail(&e))?;
        let armored = w.finish().map_err(|e| fail(&e))?;
        let bytes = armored.finish().map_err(|e| fail(&e))?;
        String::from_utf8(bytes).map_err(|e| fail(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P";
    const PUB: &str = "age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr";

    #[test]
    fn wrap_then_unwrap() {
        let key = DataKey::generate();
        let r = Recipient::parse(PUB).unwrap();
        let enc = r.wrap(&key).unwrap();
        assert!(
            enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "{enc}"
        );
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"), "{enc}");
        let ids = Identities::from_text(KEY.as_bytes(), "test").unwrap();
        let stanza = AgeStanza {
            recipient: PUB.into(),
            enc,
        };
        let got = ids.unwrap_data_key(&[stanza]).unwrap();
        assert_eq!(got.expose(), key.expose());
    }

    #[test]
    fn identity_errors_name_the_line_not_the_content() {
        let text = format!("# created\n{KEY}\nAGE-SECRET-KEY-1BROKENcnryx\n");
        let err = |t: &[u8]| match parse_identities(t, "keys.txt", false) {
            Ok(_) => panic!("parsed"),
            Err(e) => e.to_string(),
        };
        let e = err(text.as_bytes());
        assert_eq!(e, "keys.txt: line 3: malformed age identity");
        let e = err(b"AGE-SECRET-KEY-PQ-1X");
        assert!(e.contains("post-quantum"), "{e}");
        let e = err(b"age-encryption.org/v1\n");
        assert!(e.contains("passphrase-protected"), "{e}");
        let many = format!("{KEY} {KEY}\n");
        assert_eq!(
            parse_identities(many.as_bytes(), SOPS_AGE_KEY, true)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn recipients() {
        assert!(Recipient::parse(PUB).is_ok());
        assert_eq!(
            Recipient::parse_list(&format!(" {PUB} ,{PUB},"))
                .unwrap()
                .len(),
            2
        );
        for bad in ["age1xyz", "pgp:ABC", "ssh-ed25519 AAAA", "age1pq1abc"] {
            let e = Recipient::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn load_follows_sops_order_and_reports_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("cfg/sops/age");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("keys.txt"), format!("{KEY}\n")).unwrap();
        let env = KeyEnv::from_vars([
            ("HOME", dir.path().as_os_str().to_owned()),
            ("XDG_CONFIG_HOME", dir.path().join("cfg").into_os_string()),
            (SOPS_AGE_KEY, KEY.into()),
            (SOPS_AGE_KEY_CMD, "echo".into()),
        ]);
        let ids = Identities::load(&env).unwrap();
        assert_eq!(ids.len(), 2);
        let searched = ids.searched.join("\n");
        assert!(
            searched.contains(".ssh/id_ed25519 (not found)"),
            "{searched}"
        );
        assert!(searched.contains("SOPS_AGE_KEY (1 identity)"), "{searched}");
        assert!(
            searched.contains("cfg/sops/age/keys.txt (1 identity)"),
            "{searched}"
        );
        assert!(ids.notes.join("\n").contains("does not run key commands"));
        assert!(!format!("{ids:?}").contains("AGE-SECRET"));
    }

    #[test]
    fn default_config_dirs() {
        let env = KeyEnv::from_vars([("HOME", "/h")]);
        assert_eq!(env.user_config_dir().unwrap(), PathBuf::from("/h/.config"));
        let env = KeyEnv::from_vars([("HOME", "/h")]).macos(true);
        assert_eq!(
            env.user_config_dir().unwrap(),
            PathBuf::from("/h/Library/Application Support")
        );
        let env = KeyEnv::from_vars([("HOME", "/h"), ("XDG_CONFIG_HOME", "rel")]);
        assert!(env.user_config_dir().is_err());
    }

    #[test]
    fn an_unreadable_key_file_is_an_error_with_path_and_reason() {
        let env = KeyEnv::from_vars([(SOPS_AGE_KEY_FILE, "/nonexistent/keys.txt")]);
        let e = Identities::load(&env).unwrap_err().to_string();
        assert!(
            e.starts_with("cannot read the age key file /nonexistent/keys.txt: "),
            "{e}"
        );
    }
}
