//! `endpoint = "local"`: the embedded emulator's credentials and the local plan key. Nothing here
//! comes from the emulator's public development credentials.
//!
//! - The embedded emulator accepts one SecretId/SecretKey pair drawn at random for each process
//!   ([`random_credential`]): while `apply` waits at its prompt, nobody else on the machine can
//!   call it, and nothing signed by it can be recomputed elsewhere.
//! - The plan key is random too, kept in `.ssmform/plan.key` ([`plan_key`]): created on first use
//!   (mode 0600 from the first byte, atomically: two processes starting together agree on one),
//!   reused after, so `plan --out` then `apply PLANFILE` and `show` work. Its 64 hex digits are a
//!   passphrase exactly as `SSMFORM_PLAN_KEY` would be, and `SSMFORM_PLAN_KEY` wins when set.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use rand::RngExt as _;
use zeroize::Zeroizing;

use crate::emulator::Credential;
use crate::secret::PlanKey;

/// Why the local plan key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LocalKeyError {
    #[error(
        "there is no local plan key at {}: plans made with endpoint = \"local\" are verified with the key stored there when they were made. Plan again (or set SSMFORM_PLAN_KEY for both)",
        path.display()
    )]
    Missing { path: PathBuf },
    #[error("the local plan key {} is not used: {why}", path.display())]
    Unsafe { path: PathBuf, why: String },
    #[error("cannot {action} the local plan key {}: {error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
}

/// A SecretId/SecretKey pair for the embedded emulator, fresh for each process.
pub fn random_credential() -> Credential {
    let id: [u8; 16] = rand::rng().random();
    let key: [u8; 24] = rand::rng().random();
    Credential::new(format!("AKIDlocal{}", hex::encode(id)), hex::encode(key))
}

/// The plan key of `endpoint = "local"` for the configuration in `config_dir`: `SSMFORM_PLAN_KEY`
/// when set, else the key in `.ssmform/plan.key`, made if there is none and `create` is set.
pub fn plan_key(config_dir: &Path, create: bool) -> Result<PlanKey, LocalKeyError> {
    match PlanKey::from_env() {
        Some(key) => Ok(key),
        None => key_file(config_dir, create),
    }
}

/// The key in `.ssmform/plan.key`, made if there is none and `create` is set.
fn key_file(config_dir: &Path, create: bool) -> Result<PlanKey, LocalKeyError> {
    let path = crate::statedir::local_plan_key(config_dir);
    match read_key(&path) {
        Err(LocalKeyError::Missing { .. }) if create => make_key(config_dir, &path),
        other => other,
    }
}

/// Reads a key file: a regular file (not a link), owned by this user, readable by nobody else,
/// holding 64 hex digits.
fn read_key(path: &Path) -> Result<PlanKey, LocalKeyError> {
    let unsafe_key = |why: String| LocalKeyError::Unsafe {
        path: path.to_path_buf(),
        why,
    };
    let io = |error: std::io::Error| LocalKeyError::Io {
        action: "read",
        path: path.to_path_buf(),
        error,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LocalKeyError::Missing {
                path: path.to_path_buf(),
            });
        }
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(unsafe_key("it is a symbolic link".into()));
        }
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(unsafe_key("it is not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(unsafe_key(format!(
                "it belongs to another user (uid {}); delete it to make a new one",
                meta.uid()
            )));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(unsafe_key(format!(
                "others may read or change it (mode {mode:04o}): `chmod 600` it, or delete it to make a new one (plans saved with it then no longer verify)"
            )));
        }
    }
    let mut text = Zeroizing::new(Vec::new());
    file.take(129).read_to_end(&mut text).map_err(io)?;
    let digits = text.strip_suffix(b"\n").unwrap_or(&text);
    if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(unsafe_key(
            "it does not hold a key (64 hex digits); delete it to make a new one".into(),
        ));
    }
    Ok(PlanKey::from_passphrase(digits))
}

/// Makes a new key file: 32 random bytes as hex, written to a private temporary file and linked
/// into place, so a concurrent process either sees the whole key or makes its own and then reads
/// the one that won.
fn make_key(config_dir: &Path, path: &Path) -> Result<PlanKey, LocalKeyError> {
    let io = |action, error| LocalKeyError::Io {
        action,
        path: path.to_path_buf(),
        error,
    };
    crate::statedir::ensure(config_dir).map_err(|e| io("create the directory of", e))?;
    let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(rand::rng().random());
    let mut text = Zeroizing::new(hex::encode(*bytes).into_bytes());
    text.push(b'\n');
    let (tmp, mut file) = crate::privfile::create_temp_beside(path).map_err(|e| io("create", e))?;
    let written = file
        .write_all(&text)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(PlanKey::from_passphrase(&text[..64])),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(path),
        Err(e) => Err(io("create", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_random_and_not_the_development_ones() {
        let (a, b) = (random_credential(), random_credential());
        assert_ne!(a.secret_id, b.secret_id);
        assert_ne!(a.secret_key, b.secret_key);
        assert_ne!(a.secret_id, crate::emulator::DEV_SECRET_ID);
        assert!(a.secret_id.starts_with("AKID") && a.secret_key.len() == 48);
    }

    #[cfg(unix)]
    #[test]
    fn the_key_is_made_once_private_and_refused_when_others_can_read_it() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = crate::statedir::local_plan_key(dir.path());
        assert!(matches!(
            key_file(dir.path(), false),
            Err(LocalKeyError::Missing { .. })
        ));
        let first = key_file(dir.path(), true).unwrap();
        let again = key_file(dir.path(), false).unwrap();
        assert_eq!(first.mac(b"m"), again.mac(b"m"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Only the key file is left behind.
        let names: Vec<String> = std::fs::read_dir(crate::statedir::path(dir.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");

        let other = tempfile::tempdir().unwrap();
        let different = key_file(other.path(), true).unwrap();
        assert_ne!(first.mac(b"m"), different.mac(b"m"));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = key_file(dir.path(), true).unwrap_err().to_string();
        assert!(e.contains("mode 0644") && e.contains("chmod 600"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &path).unwrap();
        let e = key_file(dir.path(), true).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
    }
}
