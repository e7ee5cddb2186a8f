//! Files and directories ssmform writes, readable by their owner only from the first byte.
//!
//! Plan files, journals, the local plan key, `.ssmform/` itself and `fmt`'s temporary files are
//! created here: a new file is opened with `O_CREAT | O_EXCL` and mode 0600 (so no umask, no
//! earlier file and no symbolic link planted at the name can widen it, and nothing is ever
//! narrowed with a `chmod` after the content is in), a directory is created with mode 0700.
//! Replacing a file goes through a new temporary file with a random name beside it, renamed over
//! the old one once complete.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Creates `path`, which must not exist (not even as a dangling link), readable and writable by
/// its owner only.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates a new temporary file beside `path` (`.<name>.<random>.tmp`), mode 0600.
pub fn create_temp_beside(path: &Path) -> std::io::Result<(PathBuf, File)> {
    use rand::RngExt as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attempts = 0;
    loop {
        let suffix: u64 = rand::rng().random();
        let tmp = dir.join(format!(".{name}.{suffix:016x}.tmp"));
        match create_new(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 8 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Replaces `path` with `bytes` atomically: a new temporary file beside it (mode 0600), written
/// and synced, given `final_mode` if one is asked for (the mode of the file it replaces, which
/// already showed this content's kind), then renamed over `path`.
pub fn replace(path: &Path, bytes: &[u8], final_mode: Option<u32>) -> std::io::Result<()> {
    let (tmp, mut file) = create_temp_beside(path)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        #[cfg(unix)]
        if let Some(mode) = final_mode {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = final_mode;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `e` with `path` in its message (`.ssmform/journal: Permission denied (os error 13)`): an OS
/// error alone does not say which file it is about.
pub fn with_path(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Creates `path` and any missing parents, each new one with mode 0700 (existing ones are left
/// as they are). An error names `path`.
pub fn create_dir_all(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path).map_err(|e| with_path(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_never_an_old_one_or_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&victim, dir.path().join("link")).unwrap();
            assert!(create_new(&dir.path().join("link")).is_err());
            std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling"))
                .unwrap();
            assert!(create_new(&dir.path().join("dangling")).is_err());
            assert!(!dir.path().join("nowhere").exists());
        }
        assert!(create_new(&victim).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn replace_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "old").unwrap();
        replace(&p, b"new", None).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            replace(&p, b"newer", Some(0o640)).unwrap();
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
    }
}
